/* Exec credential plugins (client.authentication.k8s.io v1 and v1beta1), run the way
 * client-go runs them: the kubeconfig's args and env on top of ours, KUBERNETES_EXEC_INFO
 * describing the request (and the cluster, with provideClusterInfo), stdin passed only
 * when interactive, and the ExecCredential on stdout checked field by field. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "base/log.h"
#include "base/base64.h"
#include "kube/internal.h"

extern char **environ;

#define MAX_OUTPUT (1 << 20)

void
kube_exec_result_free (struct kube_exec_result *r)
{
  free (r->token);
  kube_blob_free (&r->cert);
  kube_blob_free (&r->key);
  memset (r, 0, sizeof *r);
}

static char *
exec_info (const struct kube_config *cfg, bool interactive)
{
  const struct kube_exec *x = cfg->exec;
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "kind", "ExecCredential");
  cJSON_AddStringToObject (o, "apiVersion", x->api_version);
  cJSON *spec = cJSON_AddObjectToObject (o, "spec");
  if (x->provide_cluster_info) {
    cJSON *c = cJSON_AddObjectToObject (spec, "cluster");
    cJSON_AddStringToObject (c, "server", cfg->server);
    if (cfg->tls_server_name)
      cJSON_AddStringToObject (c, "tls-server-name", cfg->tls_server_name);
    if (cfg->insecure)
      cJSON_AddBoolToObject (c, "insecure-skip-tls-verify", true);
    if (cfg->ca.len) {
      char *b = base64_encode (cfg->ca.data, cfg->ca.len, NULL);
      cJSON_AddStringToObject (c, "certificate-authority-data", b);
      free (b);
    }
    if (cfg->proxy_url)
      cJSON_AddStringToObject (c, "proxy-url", cfg->proxy_url);
    if (cfg->disable_compression)
      cJSON_AddBoolToObject (c, "disable-compression", true);
    if (x->cluster_config) {
      cJSON *conf = cJSON_Parse (x->cluster_config);
      if (conf)
        cJSON_AddItemToObject (c, "config", conf);
    }
  }
  cJSON_AddBoolToObject (spec, "interactive", interactive);
  char *s = cJSON_PrintUnformatted (o);
  cJSON_Delete (o);
  return s;
}

/* environ, minus names the plugin config sets, plus those, plus KUBERNETES_EXEC_INFO. */
static char **
build_env (const struct kube_exec *x, const char *info, struct strlist *keep)
{
  for (char **e = environ; *e; e++) {
    bool overridden = str_has_prefix (*e, "KUBERNETES_EXEC_INFO=");
    for (size_t i = 0; i < x->env.n && !overridden; i++) {
      size_t n = strcspn (x->env.items[i], "=");
      overridden = strncmp (*e, x->env.items[i], n) == 0 && (*e)[n] == '=';
    }
    if (!overridden)
      strlist_push (keep, *e);
  }
  for (size_t i = 0; i < x->env.n; i++)
    strlist_push (keep, x->env.items[i]);
  char *kv = xasprintf ("KUBERNETES_EXEC_INFO=%s", info);
  strlist_push (keep, kv);
  free (kv);
  char **env = xcalloc (keep->n + 1, sizeof *env);
  for (size_t i = 0; i < keep->n; i++)
    env[i] = keep->items[i];
  return env;
}

static long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* The last line of stderr that has something on it, for the error message. */
static void
stderr_tail (const struct strbuf *sb, char *out, size_t size)
{
  out[0] = '\0';
  if (!sb->len)
    return;
  size_t end = sb->len;
  while (end && strchr ("\r\n \t", sb->data[end - 1]))
    end--;
  size_t start = end;
  while (start && sb->data[start - 1] != '\n')
    start--;
  if (end > start)
    snprintf (out, size, ": %.*s", (int) (end - start > 300 ? 300 : end - start), sb->data + start);
}

static int
parse_credential (const struct kube_config *cfg, const char *text, struct kube_exec_result *out,
                  struct rm_error *err)
{
  const char *cmd = cfg->exec->command;
  cJSON *o = cJSON_Parse (text);
  int rc = KUBE_E_AUTH;
  if (!cJSON_IsObject (o)) {
    err_set (err, rc, "exec plugin %s: decoding stdout: not an ExecCredential JSON object", cmd);
    goto out;
  }
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive (o, "kind");
  const cJSON *av = cJSON_GetObjectItemCaseSensitive (o, "apiVersion");
  if (!cJSON_IsString (kind) || strcmp (kind->valuestring, "ExecCredential") != 0) {
    err_set (err, rc, "exec plugin %s: decoding stdout: kind is not ExecCredential", cmd);
    goto out;
  }
  if (!cJSON_IsString (av) || strcmp (av->valuestring, cfg->exec->api_version) != 0) {
    err_set (err, rc, "exec plugin %s is configured to use API version %s, plugin returned version %s",
             cmd, cfg->exec->api_version, cJSON_IsString (av) ? av->valuestring : "(none)");
    goto out;
  }
  const cJSON *st = cJSON_GetObjectItemCaseSensitive (o, "status");
  if (!cJSON_IsObject (st)) {
    err_set (err, rc, "exec plugin %s didn't return a status field", cmd);
    goto out;
  }
  const cJSON *tok = cJSON_GetObjectItemCaseSensitive (st, "token");
  const cJSON *cert = cJSON_GetObjectItemCaseSensitive (st, "clientCertificateData");
  const cJSON *key = cJSON_GetObjectItemCaseSensitive (st, "clientKeyData");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive (st, "expirationTimestamp");
  bool has_tok = cJSON_IsString (tok) && *tok->valuestring;
  bool has_cert = cJSON_IsString (cert) && *cert->valuestring;
  bool has_key = cJSON_IsString (key) && *key->valuestring;
  if (!has_tok && !has_cert && !has_key) {
    err_set (err, rc, "exec plugin %s didn't return a token or cert/key pair", cmd);
    goto out;
  }
  if (has_cert != has_key) {
    err_set (err, rc, "exec plugin %s returned only certificate or key, not both", cmd);
    goto out;
  }
  out->expiry = 0;
  if (exp && !cJSON_IsNull (exp)) {
    out->expiry = cJSON_IsString (exp) ? kube_parse_time (exp->valuestring) : -1;
    if (out->expiry == -1) {
      err_set (err, rc, "exec plugin %s returned a malformed expirationTimestamp", cmd);
      goto out;
    }
  }
  if (has_tok) {
    out->token = xstrdup (tok->valuestring);
    log_add_secret (out->token);
  }
  if (has_cert) {
    out->cert.data = (unsigned char *) xstrdup (cert->valuestring);
    out->cert.len = strlen (cert->valuestring);
    out->key.data = (unsigned char *) xstrdup (key->valuestring);
    out->key.len = strlen (key->valuestring);
    log_add_secret (key->valuestring);
  }
  rc = KUBE_OK;
out:
  cJSON_Delete (o);
  if (rc != KUBE_OK)
    kube_exec_result_free (out);
  return rc;
}

int
kube_exec_run (const struct kube_config *cfg, long timeout_ms, struct kube_exec_result *out,
               struct rm_error *err)
{
  const struct kube_exec *x = cfg->exec;
  memset (out, 0, sizeof *out);
  if (timeout_ms <= 0)
    timeout_ms = 60000;

  /* client-go: interactive when stdin is a terminal, unless the plugin says Never. */
  bool tty = isatty (STDIN_FILENO);
  if (strcmp (x->interactive_mode, "Always") == 0 && !tty)
    return err_set (err, KUBE_E_AUTH,
                    "exec plugin %s cannot support interactive mode: standard input is not a terminal "
                    "(interactiveMode is Always)", x->command);
  bool interactive = tty && strcmp (x->interactive_mode, "Never") != 0;

  char *info = exec_info (cfg, interactive);
  struct strlist envl = STRLIST_INIT;
  char **env = build_env (x, info, &envl);
  free (info);
  char **argv = xcalloc (x->args.n + 2, sizeof *argv);
  argv[0] = x->command;
  for (size_t i = 0; i < x->args.n; i++)
    argv[i + 1] = x->args.items[i];

  int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
  int rc = KUBE_E_AUTH;
  struct strbuf sout = STRBUF_INIT, serr = STRBUF_INIT;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  if (pipe2 (outp, O_CLOEXEC) < 0 || (!interactive && pipe2 (errp, O_CLOEXEC) < 0)) {
    err_set (err, rc, "exec plugin %s: pipe: %s", x->command, strerror (errno));
    goto out;
  }
  if (!interactive)
    posix_spawn_file_actions_addopen (&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, outp[1], STDOUT_FILENO);
  if (!interactive)
    posix_spawn_file_actions_adddup2 (&fa, errp[1], STDERR_FILENO);

  pid_t pid;
  int e = posix_spawnp (&pid, x->command, &fa, NULL, argv, env);
  close (outp[1]);
  outp[1] = -1;
  if (errp[1] >= 0) {
    close (errp[1]);
    errp[1] = -1;
  }
  if (e != 0) {
    if (e == ENOENT || e == EACCES)
      err_set (err, rc, "exec: executable %s %s. It looks like you are trying to use a client-go "
               "credential plugin that is not installed (see https://kubernetes.io/docs/reference/"
               "access-authn-authz/authentication/#client-go-credential-plugins)%s%s",
               x->command, e == ENOENT ? "not found" : "is not executable",
               x->install_hint ? ". " : "", x->install_hint ? x->install_hint : "");
    else
      err_set (err, rc, "exec: %s: %s", x->command, strerror (e));
    goto out;
  }

  long deadline = now_ms () + timeout_ms;
  bool timed_out = false, too_big = false;
  struct pollfd pfd[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
  int open_fds = errp[0] >= 0 ? 2 : 1;
  while (open_fds > 0) {
    long left = deadline - now_ms ();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    int n = poll (pfd, 2, (int) (left > 1000 ? 1000 : left));
    if (n < 0 && errno != EINTR)
      break;
    for (int i = 0; i < 2; i++) {
      if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      char buf[8192];
      ssize_t r = read (pfd[i].fd, buf, sizeof buf);
      if (r > 0) {
        struct strbuf *sb = i == 0 ? &sout : &serr;
        if (sb->len + (size_t) r > MAX_OUTPUT)
          too_big = true;
        else
          strbuf_add (sb, buf, (size_t) r);
      }
      else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        pfd[i].fd = -1;
        open_fds--;
      }
    }
    if (too_big)
      break;
  }
  if (timed_out || too_big)
    kill (pid, SIGKILL);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  char tail[400];
  stderr_tail (&serr, tail, sizeof tail);
  if (serr.len)
    log_debug ("exec plugin %s stderr: %.*s", x->command, (int) serr.len, serr.data);
  if (timed_out) {
    err_set (err, rc, "exec: executable %s did not finish within %ld ms%s", x->command, timeout_ms, tail);
    goto out;
  }
  if (too_big) {
    err_set (err, rc, "exec: executable %s wrote more than %d bytes", x->command, MAX_OUTPUT);
    goto out;
  }
  if (WIFSIGNALED (status)) {
    err_set (err, rc, "exec: executable %s was killed by signal %d%s", x->command, WTERMSIG (status), tail);
    goto out;
  }
  if (WEXITSTATUS (status) != 0) {
    err_set (err, rc, "exec: executable %s failed with exit code %d%s", x->command,
             WEXITSTATUS (status), tail);
    goto out;
  }
  rc = parse_credential (cfg, sout.data ? sout.data : "", out, err);
out:
  posix_spawn_file_actions_destroy (&fa);
  for (int i = 0; i < 2; i++) {
    if (outp[i] >= 0)
      close (outp[i]);
    if (errp[i] >= 0)
      close (errp[i]);
  }
  strbuf_free (&sout);
  strbuf_free (&serr);
  free (argv);
  free (env);
  strlist_free (&envl);
  return rc;
}
