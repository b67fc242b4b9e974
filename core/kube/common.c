/* Small pieces every file of the Kubernetes client uses: error filling (always through
 * the log redactor, so no registered secret reaches a message), files into memory,
 * RFC 3339 times, and freeing a kube_config (kubeconfig.c and incluster.c both build one).
 * Nothing here calls another file of the client. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/util.h"
#include "base/log.h"
#include "kube/internal.h"

static const struct err_name kube_names[] = {
  { KUBE_E_CONFIG, "KUBE_E_CONFIG", "Kubernetes configuration error" },
  { KUBE_E_AUTH, "KUBE_E_AUTH", "authentication failed" },
  { KUBE_E_FORBIDDEN, "KUBE_E_FORBIDDEN", "forbidden" },
  { KUBE_E_NOT_FOUND, "KUBE_E_NOT_FOUND", "not found" },
  { KUBE_E_CONFLICT, "KUBE_E_CONFLICT", "conflict" },
  { KUBE_E_GONE, "KUBE_E_GONE", "resource version expired" },
  { KUBE_E_INVALID, "KUBE_E_INVALID", "invalid request" },
  { KUBE_E_TRANSIENT, "KUBE_E_TRANSIENT", "server unavailable" },
  { KUBE_E_NETWORK, "KUBE_E_NETWORK", "network error" },
  { KUBE_E_TLS, "KUBE_E_TLS", "TLS error" },
  { KUBE_E_PROTOCOL, "KUBE_E_PROTOCOL", "unexpected response" },
  { KUBE_E_HTTP, "KUBE_E_HTTP", "HTTP error" },
  { KUBE_E_ABORTED, "KUBE_E_ABORTED", "aborted" },
  { KUBE_E_UNSUPPORTED, "KUBE_E_UNSUPPORTED", "not supported" },
  { KUBE_E_ALREADY_EXISTS, "KUBE_E_ALREADY_EXISTS", "already exists" },
  { 0, NULL, NULL }
};
ERR_TABLE (kube_table, kube_names)

const char *
kube_strerror (int code)
{
  return err_strerror (code);
}

int
kube_read_file (const char *path, struct kube_blob *b)
{
  memset (b, 0, sizeof *b);
  struct strbuf sb = STRBUF_INIT;
  if (strbuf_read_file (&sb, path) != 0) {
    int e = errno;
    strbuf_free (&sb);
    errno = e;
    return -1;
  }
  b->len = sb.len;
  b->data = (unsigned char *) strbuf_detach (&sb);
  return 0;
}

void
kube_blob_free (struct kube_blob *b)
{
  free (b->data);
  b->data = NULL;
  b->len = 0;
}

void
kube_blob_copy (struct kube_blob *dst, const struct kube_blob *src)
{
  dst->len = src->len;
  dst->data = NULL;
  if (src->data) {
    dst->data = xmalloc (src->len + 1);
    memcpy (dst->data, src->data, src->len);
    dst->data[src->len] = '\0';
  }
}

time_t
kube_parse_time (const char *s)
{
  int y, mo, d, h, mi, sec, n = 0;
  if (!s || sscanf (s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6
      || n == 0)
    return -1;
  const char *p = s + n;
  if (*p == '.')
    for (p++; isdigit ((unsigned char) *p); p++)
      ;
  long off = 0;
  if (*p == 'Z' || *p == 'z')
    p++;
  else if (*p == '+' || *p == '-') {
    int oh, om, m = 0;
    if (sscanf (p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
      return -1;
    off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
    p += 6;
  }
  else
    return -1;
  if (*p)
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  struct tm tm;
  memset (&tm, 0, sizeof tm);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return timegm (&tm) - off;
}

/* Here rather than in kubeconfig.c: incluster.c builds a kube_config too, and the two
 * must not call each other. */
void
kube_config_free (struct kube_config *cfg)
{
  if (!cfg)
    return;
  free (cfg->source);
  free (cfg->context);
  free (cfg->cluster_name);
  free (cfg->user_name);
  free (cfg->namespace);
  free (cfg->server);
  free (cfg->server_url);
  free (cfg->ca_file);
  kube_blob_free (&cfg->ca);
  free (cfg->tls_server_name);
  free (cfg->proxy_url);
  free (cfg->token);
  free (cfg->token_file);
  free (cfg->client_cert_file);
  free (cfg->client_key_file);
  kube_blob_free (&cfg->client_cert);
  kube_blob_free (&cfg->client_key);
  free (cfg->username);
  free (cfg->password);
  if (cfg->exec) {
    struct kube_exec *x = cfg->exec;
    free (x->api_version);
    free (x->command);
    strlist_free (&x->args);
    strlist_free (&x->env);
    free (x->install_hint);
    free (x->interactive_mode);
    free (x->cluster_config);
    free (x);
  }
  free (cfg->impersonate_user);
  free (cfg->impersonate_uid);
  strlist_free (&cfg->impersonate_groups);
  free (cfg);
}

const char *
kube_url_userinfo (const char *url, const char **auth)
{
  const char *a = strstr (url, "://");
  a = a ? a + 3 : url;
  size_t alen = strcspn (a, "/?#");
  const char *at = NULL;
  for (const char *p = a; p < a + alen; p++)
    if (*p == '@')
      at = p;   /* the last one: a password may hold an unescaped '@' */
  *auth = a;
  return at;
}

char *
kube_server_display (const char *url)
{
  const char *auth, *at = kube_url_userinfo (url, &auth);
  if (!at)
    return xstrdup (url);
  return xasprintf ("%.*s%s", (int) (auth - url), url, at + 1);
}
