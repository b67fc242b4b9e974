/* The HTTP layer of the Kubernetes client, on libcurl.  One CURLSH shares connections,
 * DNS and TLS sessions between the easy handles of all threads (a locked pool of them),
 * so requests keep connections alive and reuse TLS sessions; HTTP/2 is used when the
 * server offers it.  Each request gets fresh credentials from auth.c, is retried with
 * exponential backoff (honouring Retry-After) on 429/5xx and connection failures, once
 * more after a 401 when the credentials can be refreshed, and a failure is described
 * from the server's Status object. */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "base/gzip.h"
#include "base/util.h"
#include "base/log.h"
#include "kube/internal.h"

struct kube_client {
  struct kube_config *cfg;
  struct kube_client_opts opts;
  struct kube_auth *auth;
  char *base;                   /* URL prefix requests are made against */
  char *host_header;            /* "Host: ..." when tls-server-name rewrites the URL */
  struct curl_slist *connect_to;
  char *user_agent;

  CURLSH *share;
  pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

  pthread_mutex_t lock;         /* pool and stats */
  CURL **pool;
  size_t npool, cappool;
  struct kube_stats stats;
  kube_observer_fn observer;    /* set before the client is shared */
  void *observer_ud;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void
global_init (void)
{
  global_rc = curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
share_lock (CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
  (void) h;
  (void) access;
  struct kube_client *c = ud;
  pthread_mutex_lock (&c->share_locks[data]);
}

static void
share_unlock (CURL *h, curl_lock_data data, void *ud)
{
  (void) h;
  struct kube_client *c = ud;
  pthread_mutex_unlock (&c->share_locks[data]);
}

const struct kube_config *
kube_client_config (const struct kube_client *c)
{
  return c->cfg;
}

void
kube_client_stats (struct kube_client *c, struct kube_stats *out)
{
  pthread_mutex_lock (&c->lock);
  *out = c->stats;
  pthread_mutex_unlock (&c->lock);
  out->exec_runs = kube_auth_exec_runs (c->auth);
}

void
kube_client_set_observer (struct kube_client *c, kube_observer_fn fn, void *ud)
{
  c->observer = fn;
  c->observer_ud = ud;
}

const char *
kube_request_verb (const char *method, const char *path, char *buf, size_t size)
{
  /* /api/v1/REST or /apis/GROUP/VERSION/REST, REST = [namespaces/NS/]RESOURCE[/NAME[/SUB]]
   * (namespaces/NS alone is the Namespace NS). */
  const char *seg[8];
  size_t len[8], n = 0;
  const char *q = strchr (path, '?');
  const char *end = q ? q : path + strlen (path);
  for (const char *p = path; p < end && n < ARRAY_SIZE (seg);) {
    while (p < end && *p == '/')
      p++;
    if (p == end)
      break;
    const char *e = memchr (p, '/', (size_t) (end - p));
    if (!e)
      e = end;
    seg[n] = p;
    len[n++] = (size_t) (e - p);
    p = e;
  }
  size_t skip = n && len[0] == 3 && !memcmp (seg[0], "api", 3) ? 2
                : n && len[0] == 4 && !memcmp (seg[0], "apis", 4) ? 3 : n;
  size_t rest = n > skip ? n - skip : 0, res = skip;
  bool named = rest >= 2;
  if (rest >= 3 && len[skip] == 10 && !memcmp (seg[skip], "namespaces", 10)) {
    res = skip + 2;
    named = rest >= 4;
  }
  size_t rlen = rest ? len[res] : 0;
  if (size) {
    if (rlen >= size)
      rlen = size - 1;
    memcpy (buf, rest ? seg[res] : "", rlen);
    buf[rlen] = '\0';
  }
  bool watch = false;
  for (const char *w = q; w && !watch; w = strchr (w + 1, '&'))
    watch = !strncmp (w + 1, "watch=1", 7) || !strncmp (w + 1, "watch=true", 10);
  if (!strcmp (method, "GET") || !strcmp (method, "HEAD"))
    return watch ? "watch" : named || !rest ? "get" : "list";
  if (!strcmp (method, "POST"))
    return "create";
  if (!strcmp (method, "PUT"))
    return "update";
  if (!strcmp (method, "PATCH"))
    return "patch";
  if (!strcmp (method, "DELETE"))
    return named || !rest ? "delete" : "deletecollection";
  return "other";
}

static void
observe (struct kube_client *c, const struct kube_http_req *req, int rc, curl_off_t got)
{
  if (!c->observer)
    return;
  char resource[64];
  const char *verb = kube_request_verb (req->method, req->path, resource, sizeof resource);
  if (req->stream)
    verb = "watch";
  c->observer (c->observer_ud, verb, resource, rc, got > 0 ? (unsigned long) got : 0);
}

/* tls-server-name: curl takes SNI and the name it verifies from the URL, so the URL
 * names tls-server-name and CURLOPT_CONNECT_TO sends the connection to the real host;
 * the Host header keeps the real host, as Go's client sends it. */
static int
setup_server_name (struct kube_client *c, struct rm_error *err)
{
  const struct kube_config *cfg = c->cfg;
  /* server_url: the URL with its user:password, which curl sends as basic auth. */
  const char *url_in = cfg->server_url ? cfg->server_url : cfg->server;
  if (!cfg->tls_server_name) {
    c->base = xstrdup (url_in);
    return 0;
  }
  CURLU *u = curl_url ();
  char *host = NULL, *port = NULL, *url = NULL;
  int rc = KUBE_OK;
  if (curl_url_set (u, CURLUPART_URL, url_in, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_HOST, &host, 0) != CURLUE_OK
      || curl_url_get (u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    rc = err_set (err, KUBE_E_CONFIG, "cannot parse server URL %s", cfg->server);
    goto out;
  }
  curl_url_set (u, CURLUPART_HOST, cfg->tls_server_name, 0);
  curl_url_set (u, CURLUPART_PORT, port, 0);
  curl_url_get (u, CURLUPART_URL, &url, 0);
  c->base = xstrdup (url);
  size_t n = strlen (c->base);
  while (n && c->base[n - 1] == '/')
    c->base[--n] = '\0';
  char *ct = xasprintf ("%s:%s:%s:%s", cfg->tls_server_name, port, host, port);
  c->connect_to = curl_slist_append (NULL, ct);
  free (ct);
  c->host_header = str_has_suffix (cfg->server, port) || strstr (cfg->server + 8, ":")
                     ? xasprintf ("Host: %s:%s", host, port) : xasprintf ("Host: %s", host);
out:
  curl_free (host);
  curl_free (port);
  curl_free (url);
  curl_url_cleanup (u);
  return rc;
}

int
kube_client_new (struct kube_config *cfg, const struct kube_client_opts *opts,
                 struct kube_client **out, struct rm_error *err)
{
  *out = NULL;
  err_clear (err);
  pthread_once (&global_once, global_init);
  if (global_rc != CURLE_OK) {
    kube_config_free (cfg);
    return err_set (err, KUBE_E_CONFIG, "libcurl initialisation failed: %s", curl_easy_strerror (global_rc));
  }
#if LIBCURL_VERSION_NUM < 0x074d00
  if (cfg->ca.len || cfg->client_cert.len || cfg->exec) {
    kube_config_free (cfg);
    return err_set (err, KUBE_E_CONFIG, "this build's libcurl is older than 7.77: in-memory certificates are not supported");
  }
#endif
  struct kube_client *c = xcalloc (1, sizeof *c);
  c->cfg = cfg;
  if (opts)
    c->opts = *opts;
  if (!c->opts.connect_timeout_ms) c->opts.connect_timeout_ms = 10000;
  if (!c->opts.stall_timeout_s) c->opts.stall_timeout_s = 60;
  if (!c->opts.max_retries) c->opts.max_retries = 5;
  if (c->opts.max_retries < 0) c->opts.max_retries = 0;
  if (!c->opts.backoff_base_ms) c->opts.backoff_base_ms = 200;
  if (!c->opts.backoff_max_ms) c->opts.backoff_max_ms = 30000;
  if (!c->opts.exec_timeout_ms) c->opts.exec_timeout_ms = 60000;
  c->user_agent = xstrdup (c->opts.user_agent ? c->opts.user_agent : "releasemanager/" PACKAGE_VERSION);
  c->opts.user_agent = NULL;
  pthread_mutex_init (&c->lock, NULL);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init (&c->share_locks[i], NULL);
  c->auth = kube_auth_new (cfg, c->opts.exec_timeout_ms);

  c->share = curl_share_init ();
  curl_share_setopt (c->share, CURLSHOPT_LOCKFUNC, share_lock);
  curl_share_setopt (c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
  curl_share_setopt (c->share, CURLSHOPT_USERDATA, c);
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt (c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

  if (setup_server_name (c, err) != KUBE_OK) {
    kube_client_free (c);
    return err->code;
  }
  *out = c;
  return KUBE_OK;
}

void
kube_client_free (struct kube_client *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->npool; i++)
    curl_easy_cleanup (c->pool[i]);
  free (c->pool);
  if (c->share)
    curl_share_cleanup (c->share);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy (&c->share_locks[i]);
  pthread_mutex_destroy (&c->lock);
  kube_auth_free (c->auth);
  curl_slist_free_all (c->connect_to);
  free (c->host_header);
  free (c->base);
  free (c->user_agent);
  kube_config_free (c->cfg);
  free (c);
}

static CURL *
pool_get (struct kube_client *c)
{
  CURL *h = NULL;
  pthread_mutex_lock (&c->lock);
  if (c->npool)
    h = c->pool[--c->npool];
  pthread_mutex_unlock (&c->lock);
  if (h)
    curl_easy_reset (h);
  else if (!(h = curl_easy_init ())) {
    fputs ("releasemanager: out of memory\n", stderr);
    exit (1);
  }
  return h;
}

static void
pool_put (struct kube_client *c, CURL *h)
{
  pthread_mutex_lock (&c->lock);
  if (c->npool == c->cappool) {
    c->cappool = c->cappool ? 2 * c->cappool : 8;
    c->pool = xrealloc (c->pool, c->cappool * sizeof *c->pool);
  }
  c->pool[c->npool++] = h;
  pthread_mutex_unlock (&c->lock);
}

void
kube_response_free (struct kube_response *r)
{
  strbuf_free (&r->body);
  free (r->content_type);
  memset (r, 0, sizeof *r);
}

/* ---- one exchange ---- */

struct exchange {
  const struct kube_http_req *req;
  struct kube_response *resp;
  long retry_after_ms;          /* -1 = none */
  bool got_data;
  bool aborted;
  bool own_gzip;                /* we asked for gzip ourselves and inflate the body */
  bool gzip;                    /* ... and this response is gzip'd */
};

/* Whole bodies (not streams) are inflated here in one call rather than by curl's
 * streaming zlib: a LIST page of release Secrets is megabytes, and libdeflate through
 * gzip_inflate does it ~2.5x faster. */
static bool
own_gzip (const struct kube_client *c, const struct kube_http_req *req)
{
  return !c->cfg->disable_compression && !req->stream && !req->sink;
}

static size_t
on_body (char *data, size_t size, size_t n, void *ud)
{
  struct exchange *x = ud;
  size_t len = size * n;
  x->got_data = true;
  if (x->req->sink && x->resp->status >= 200 && x->resp->status < 300) {
    if (x->req->sink (x->req->sink_ud, data, len) != 0) {
      x->aborted = true;
      return 0;
    }
    return len;
  }
  strbuf_add (&x->resp->body, data, len);
  return len;
}

/* CURLOPT_XFERINFOFUNCTION: curl calls it often while data moves and about once a second
 * while it waits, so a cancelled WATCH ends within a second even when nothing arrives. */
static int
on_progress (void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
  (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
  struct exchange *x = ud;
  if (x->req->cancel && x->req->cancel (x->req->sink_ud)) {
    x->aborted = true;
    return 1;
  }
  return 0;
}

static size_t
on_header (char *data, size_t size, size_t n, void *ud)
{
  struct exchange *x = ud;
  size_t len = size * n;
  if (len > 5 && strncmp (data, "HTTP/", 5) == 0) {
    /* A new response (after a 100 Continue or a redirect): forget the last one's. */
    int code = 0;
    const char *sp = memchr (data, ' ', len);
    /* Exactly three digits; anything else (atoi would overflow on a long run) is no
     * status. */
    size_t left = sp ? len - (size_t) (sp + 1 - data) : 0;
#define DIGIT(c) ((c) >= '0' && (c) <= '9')
    if (left >= 3 && DIGIT (sp[1]) && DIGIT (sp[2]) && DIGIT (sp[3]) && (left == 3 || !DIGIT (sp[4])))
      code = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
#undef DIGIT
    x->resp->status = code;
    x->retry_after_ms = -1;
    x->gzip = false;
    free (x->resp->content_type);
    x->resp->content_type = NULL;
    return len;
  }
  const char *colon = memchr (data, ':', len);
  if (!colon)
    return len;
  size_t klen = (size_t) (colon - data);
  const char *v = colon + 1;
  const char *end = data + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  char *value = xmalloc ((size_t) (end - v) + 1);
  memcpy (value, v, (size_t) (end - v));
  value[end - v] = '\0';
  if (x->own_gzip && klen == 16 && strncasecmp (data, "Content-Encoding", 16) == 0)
    x->gzip = strcasecmp (value, "gzip") == 0;
  if (klen == 11 && strncasecmp (data, "Retry-After", 11) == 0) {
    char *e;
    long s = strtol (value, &e, 10);
    if (e != value && !*e && s >= 0)
      x->retry_after_ms = (s < 86400 ? s : 86400) * 1000;   /* no overflow; a day is plenty */
    else {
      time_t t = curl_getdate (value, NULL);
      if (t > 0)
        x->retry_after_ms = t > time (NULL) ? (long) (t - time (NULL)) * 1000 : 0;
    }
  }
  else if (klen == 12 && strncasecmp (data, "Content-Type", 12) == 0) {
    free (x->resp->content_type);
    x->resp->content_type = value;
    value = NULL;
  }
  free (value);
  return len;
}

static bool
idempotent (const char *method)
{
  return !strcmp (method, "GET") || !strcmp (method, "HEAD") || !strcmp (method, "PUT")
         || !strcmp (method, "DELETE");
}

/* Failures of the connection itself that a new attempt may cure. */
static bool
connection_error (CURLcode rc, bool *before_send)
{
  *before_send = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST
                 || rc == CURLE_COULDNT_RESOLVE_PROXY;
  switch (rc) {
  case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_OPERATION_TIMEDOUT:
  case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
    return true;
  default:
    return false;
  }
}

static bool
tls_error (CURLcode rc)
{
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH: case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE: case CURLE_SSL_ENGINE_NOTFOUND: case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED: case CURLE_SSL_CLIENTCERT:
    return true;
  default:
    return false;
  }
}

static void
sleep_ms (long ms)
{
  if (ms <= 0)
    return;
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

static long
backoff (const struct kube_client *c, int attempt, long retry_after_ms)
{
  long d;
  if (retry_after_ms >= 0)
    d = retry_after_ms;
  else {
    d = c->opts.backoff_base_ms;
    for (int i = 0; i < attempt && d < c->opts.backoff_max_ms; i++)
      d *= 2;
    /* +-25% jitter so parallel workers do not retry in lock step. */
    unsigned seed = (unsigned) time (NULL) ^ (unsigned) (uintptr_t) &d ^ (unsigned) attempt;
    d = d * 3 / 4 + (long) (rand_r (&seed) % (unsigned) (d / 2 + 1));
  }
  return d > c->opts.backoff_max_ms ? c->opts.backoff_max_ms : d;
}

static struct curl_slist *
build_headers (const struct kube_client *c, const struct kube_http_req *req,
               const struct kube_creds *cr)
{
  struct curl_slist *h = NULL;
  char *s = xasprintf ("Accept: %s", req->accept ? req->accept : "application/json");
  h = curl_slist_append (h, s);
  free (s);
  if (req->body) {
    s = xasprintf ("Content-Type: %s", req->content_type ? req->content_type : "application/json");
    h = curl_slist_append (h, s);
    free (s);
  }
  else
    h = curl_slist_append (h, "Content-Type:");
  if (cr->token) {
    s = xasprintf ("Authorization: Bearer %s", cr->token);
    h = curl_slist_append (h, s);
    free (s);
  }
  if (own_gzip (c, req))
    h = curl_slist_append (h, "Accept-Encoding: gzip");
  const struct kube_config *cfg = c->cfg;
  if (cfg->impersonate_user) {
    s = xasprintf ("Impersonate-User: %s", cfg->impersonate_user);
    h = curl_slist_append (h, s);
    free (s);
  }
  if (cfg->impersonate_uid) {
    s = xasprintf ("Impersonate-Uid: %s", cfg->impersonate_uid);
    h = curl_slist_append (h, s);
    free (s);
  }
  for (size_t i = 0; i < cfg->impersonate_groups.n; i++) {
    s = xasprintf ("Impersonate-Group: %s", cfg->impersonate_groups.items[i]);
    h = curl_slist_append (h, s);
    free (s);
  }
  if (c->host_header)
    h = curl_slist_append (h, c->host_header);
  /* No "Expect: 100-continue" round trip before bodies. */
  h = curl_slist_append (h, "Expect:");
  return h;
}

static void
setup_handle (struct kube_client *c, CURL *h, const struct kube_http_req *req,
              const struct kube_creds *cr, struct curl_slist *headers, const char *url,
              struct exchange *x, char *errbuf)
{
  const struct kube_config *cfg = c->cfg;
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_SHARE, c->share);
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt (h, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt (h, CURLOPT_TCP_KEEPALIVE, 1L);
  /* The shared cache keeps at most this many connections (curl's default is 5, which
   * makes more parallel workers than that close and reopen connections all the time). */
  curl_easy_setopt (h, CURLOPT_MAXCONNECTS, 64L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, headers);
  if (!cfg->disable_compression && !own_gzip (c, req))
    curl_easy_setopt (h, CURLOPT_ACCEPT_ENCODING, "gzip");
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
  if (c->opts.timeout_ms && !req->stream)
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
  /* A WATCH the server promised to end: do not wait much longer than that for a
   * connection that died without a word. */
  if (req->stream && req->stream_timeout_ms)
    curl_easy_setopt (h, CURLOPT_TIMEOUT_MS, req->stream_timeout_ms);
  if (!req->stream) {
    curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, c->opts.stall_timeout_s);
  }
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, x);
  if (req->cancel) {
    curl_easy_setopt (h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt (h, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt (h, CURLOPT_NOPROGRESS, 0L);
  }

  if (strcmp (req->method, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else if (strcmp (req->method, "GET") != 0)
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, req->method);
  if (req->body) {
    curl_easy_setopt (h, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
  }
  if (c->connect_to)
    curl_easy_setopt (h, CURLOPT_CONNECT_TO, c->connect_to);
  if (cfg->proxy_url)
    curl_easy_setopt (h, CURLOPT_PROXY, cfg->proxy_url);

  if (cfg->insecure) {
    curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
#if LIBCURL_VERSION_NUM >= 0x074d00
  if (cfg->ca.len) {
    struct curl_blob b = { cfg->ca.data, cfg->ca.len, CURL_BLOB_NOCOPY };
    curl_easy_setopt (h, CURLOPT_CAINFO_BLOB, &b);
  }
  if (cr->cert.len) {
    struct curl_blob cb = { cr->cert.data, cr->cert.len, CURL_BLOB_COPY };
    struct curl_blob kb = { cr->key.data, cr->key.len, CURL_BLOB_COPY };
    curl_easy_setopt (h, CURLOPT_SSLCERT_BLOB, &cb);
    curl_easy_setopt (h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt (h, CURLOPT_SSLKEY_BLOB, &kb);
    curl_easy_setopt (h, CURLOPT_SSLKEYTYPE, "PEM");
  }
#endif
  if (cfg->username || cfg->password) {
    curl_easy_setopt (h, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
    curl_easy_setopt (h, CURLOPT_USERNAME, cfg->username ? cfg->username : "");
    curl_easy_setopt (h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
  }
}

/* Map an HTTP status to a KUBE_* code. */
int
kube_code_for_status (long status)
{
  switch (status) {
  case 400: case 422: return KUBE_E_INVALID;
  case 401: return KUBE_E_AUTH;
  case 403: return KUBE_E_FORBIDDEN;
  case 404: return KUBE_E_NOT_FOUND;
  case 406: case 415: return KUBE_E_UNSUPPORTED;
  case 409: return KUBE_E_CONFLICT;
  case 410: return KUBE_E_GONE;
  case 429: return KUBE_E_TRANSIENT;
  default:
    return status >= 500 ? KUBE_E_TRANSIENT : KUBE_E_HTTP;
  }
}

/* Describe a non-2xx answer from its Status object (or its body when there is none). */
void
kube_status_error (const struct kube_client *c, const char *method, const char *path, long status,
              const char *body, size_t len, struct rm_error *err)
{
  int code = kube_code_for_status (status);
  cJSON *st = body && len ? cJSON_ParseWithLength (body, len) : NULL;
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive (st, "kind");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive (st, "message");
  const cJSON *reason = cJSON_GetObjectItemCaseSensitive (st, "reason");
  const char *hint = "";
  bool in_cluster = c && c->cfg->in_cluster;
  if (status == 401)
    hint = in_cluster ? " (check the service account token)" : " (check the credentials of your kubeconfig user)";
  else if (status == 403)
    hint = in_cluster ? " (check the RBAC of the service account)" : " (check the RBAC of your kubeconfig user)";
  if (cJSON_IsString (kind) && strcmp (kind->valuestring, "Status") == 0 && cJSON_IsString (msg)) {
    const char *r = cJSON_IsString (reason) && *reason->valuestring ? reason->valuestring : NULL;
    if (status == 409 && r && strcmp (r, "AlreadyExists") == 0)
      code = KUBE_E_ALREADY_EXISTS;
    if (r && strcmp (r, msg->valuestring) != 0)
      err_set (err, code, "%s: %s%s", r, msg->valuestring, hint);
    else
      err_set (err, code, "%s%s", msg->valuestring, hint);
  }
  else {
    /* Not a Status: a proxy or load balancer answered.  Show a bit of what it said. */
    char snippet[201];
    size_t n = 0;
    for (size_t i = 0; body && i < len && n < sizeof snippet - 1; i++)
      snippet[n++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
    snippet[n] = '\0';
    err_set (err, code, "HTTP %ld from %s %s%s%s%s", status, method, path,
             n ? ": " : "", snippet, hint);
  }
  cJSON_Delete (st);
}

/* Replace a gzip'd body with its content. */
static bool
inflate_body (struct kube_response *resp, struct rm_error *why)
{
  if (!resp->body.len)
    return true;
  struct strbuf out = STRBUF_INIT;
  if (gzip_inflate (resp->body.data, resp->body.len, SIZE_MAX / 2, &out, why) != 0) {
    strbuf_free (&out);
    return false;
  }
  if (!out.data)
    strbuf_add (&out, "", 0);
  strbuf_free (&resp->body);
  resp->body = out;
  return true;
}

int
kube_http_do (struct kube_client *c, const struct kube_http_req *req, struct kube_response *resp,
              struct rm_error *err)
{
  err_clear (err);
  memset (resp, 0, sizeof *resp);
  char *url = xasprintf ("%s%s", c->base, req->path);
  bool auth_retried = false;
  int rc = KUBE_OK, retries = 0;
  char errbuf[CURL_ERROR_SIZE];

  for (int attempt = 0;; attempt++) {
    struct kube_creds cr;
    rc = kube_auth_get (c->auth, &cr, err);
    if (rc != KUBE_OK)
      break;
    kube_response_free (resp);
    struct exchange x = { req, resp, -1, false, false, own_gzip (c, req), false };
    struct curl_slist *headers = build_headers (c, req, &cr);
    CURL *h = pool_get (c);
    errbuf[0] = '\0';
    setup_handle (c, h, req, &cr, headers, url, &x, errbuf);
    CURLcode cc = curl_easy_perform (h);
    long status = 0;
    curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t got = 0;
    curl_easy_getinfo (h, CURLINFO_SIZE_DOWNLOAD_T, &got);
    pool_put (c, h);
    curl_slist_free_all (headers);
    resp->status = status;
    pthread_mutex_lock (&c->lock);
    c->stats.requests++;
    c->stats.bytes_received += (unsigned long) got;
    pthread_mutex_unlock (&c->lock);

    bool retry = false;
    long retry_after = -1;
    struct rm_error why;
    if (cc == CURLE_OK && !x.aborted && x.gzip && !inflate_body (resp, &why)) {
      rc = err_set (err, KUBE_E_PROTOCOL, "%s %s%s: the response body is corrupt: %s",
                    req->method, c->cfg->server, req->path, why.message);
      retry = idempotent (req->method);
    }
    else if (x.aborted) {
      rc = err_set (err, KUBE_E_ABORTED, "%s %s: stopped by the caller", req->method, req->path);
    }
    else if (cc != CURLE_OK) {
      bool before_send;
      const char *detail = errbuf[0] ? errbuf : curl_easy_strerror (cc);
      if (tls_error (cc))
        rc = err_set (err, KUBE_E_TLS, "TLS error talking to %s (%s): %s", c->cfg->server,
                      c->cfg->source, detail);
      else {
        rc = err_set (err, KUBE_E_NETWORK, "%s %s%s: %s", req->method, c->cfg->server, req->path, detail);
        retry = connection_error (cc, &before_send) && !(req->stream && x.got_data)
                && (idempotent (req->method) || before_send);
      }
    }
    else if (status >= 200 && status < 300)
      rc = KUBE_OK;
    else {
      kube_status_error (c, req->method, req->path, status, resp->body.data, resp->body.len, err);
      rc = err->code;
      if (status == 401 && !auth_retried && cr.refreshable
          && kube_auth_unauthorized (c->auth, &cr)) {
        observe (c, req, rc, got);
        auth_retried = true;
        kube_creds_free (&cr);
        attempt--;
        continue;
      }
      if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504) {
        /* A request that changes things is repeated only when the server said it did not
         * process it (Retry-After, as client-go's checkWait) or was throttled (429). */
        retry = idempotent (req->method) || status == 429 || x.retry_after_ms >= 0;
        retry_after = x.retry_after_ms;
      }
    }
    kube_creds_free (&cr);
    observe (c, req, rc, got);
    if (!retry || attempt >= c->opts.max_retries)
      break;
    if (req->cancel && req->cancel (req->sink_ud)) {
      rc = err_set (err, KUBE_E_ABORTED, "%s %s: stopped by the caller", req->method, req->path);
      break;
    }
    long d = backoff (c, attempt, retry_after);
    log_debug ("%s %s: %s; retry %d/%d in %ld ms", req->method, req->path, err->message,
               attempt + 1, c->opts.max_retries, d);
    pthread_mutex_lock (&c->lock);
    c->stats.retries++;
    pthread_mutex_unlock (&c->lock);
    retries++;
    /* In slices, so that a cancelled request does not sleep out a long backoff. */
    for (long left = d; left > 0 && !(req->cancel && req->cancel (req->sink_ud)); left -= 100)
      sleep_ms (left < 100 ? left : 100);
    if (req->on_retry)
      req->on_retry (req->sink_ud);
  }
  if (rc != KUBE_OK && retries > 0) {
    size_t n = strlen (err->message);
    snprintf (err->message + n, sizeof err->message - n, " (after %d %s)", retries,
              retries == 1 ? "retry" : "retries");
  }
  free (url);
  return rc;
}

int
kube_request (struct kube_client *c, const char *method, const char *path,
              const char *content_type, const char *body, size_t body_len, const char *accept,
              struct kube_response *resp, struct rm_error *err)
{
  struct kube_http_req req = { .method = method, .path = path, .content_type = content_type,
                               .body = body, .body_len = body_len, .accept = accept };
  struct kube_response local;
  int rc = kube_http_do (c, &req, resp ? resp : &local, err);
  if (!resp)
    kube_response_free (&local);
  return rc;
}
