/* Test-side driver of tests/kube/stub_apiserver.py (see stub.h). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "base/util.h"
#include "stub.h"

struct stub stub;

static bool
have_program (const char *name)
{
  char *cmd = xasprintf ("command -v '%s' >/dev/null 2>&1", name);
  int rc = system (cmd);
  free (cmd);
  return rc == 0;
}

void
stub_start (bool proxy)
{
  const char *py = getenv ("PYTHON3");
  if (!py || !*py || strcmp (py, "no") == 0)
    py = "python3";
  if (!have_program (py))
    cr_skip_test ("python3 is needed for the stub API server and was not found");
  if (!have_program ("openssl"))
    cr_skip_test ("the openssl command is needed to make the stub's certificates and was not found");
  const char *top = getenv ("abs_top_srcdir");
  char *script = xasprintf ("%s/tests/kube/stub_apiserver.py", top ? top : ".");
  snprintf (stub.dir, sizeof stub.dir, "%s/rm-kubestub-XXXXXX",
            getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
  cr_assert (mkdtemp (stub.dir));
  int out[2];
  cr_assert_eq (pipe (out), 0);
  stub.pid = fork ();
  cr_assert_geq (stub.pid, 0);
  if (stub.pid == 0) {
    dup2 (out[1], 1);
    close (out[0]);
    close (out[1]);
    execlp (py, py, script, "--dir", stub.dir, proxy ? "--proxy" : NULL, (char *) NULL);
    _exit (127);
  }
  close (out[1]);
  free (script);
  char line[128];
  size_t n = 0;
  struct pollfd pfd = { out[0], POLLIN, 0 };
  while (n < sizeof line - 1 && poll (&pfd, 1, 60000) > 0) {
    ssize_t r = read (out[0], line + n, 1);
    if (r <= 0 || line[n] == '\n')
      break;
    n++;
  }
  line[n] = '\0';
  close (out[0]);
  stub.proxy_port = 0;
  int got = sscanf (line, "READY %d %d", &stub.port, &stub.proxy_port);
  cr_assert_geq (got, 1, "the stub API server did not start (said '%s')", line);
}

void
stub_stop (void)
{
  if (stub.pid > 0) {
    kill (stub.pid, SIGTERM);
    waitpid (stub.pid, NULL, 0);
    stub.pid = 0;
  }
  if (stub.dir[0]) {
    char *cmd = xasprintf ("rm -rf '%s'", stub.dir);
    if (system (cmd) != 0)
      fprintf (stderr, "cannot remove %s\n", stub.dir);
    free (cmd);
    stub.dir[0] = '\0';
  }
}

static size_t
collect (char *data, size_t size, size_t n, void *ud)
{
  strbuf_add (ud, data, size * n);
  return size * n;
}

static char *
control (const char *method, const char *path, const char *body)
{
  CURL *h = curl_easy_init ();
  char *url = xasprintf ("https://127.0.0.1:%d%s", stub.port, path);
  char *ca = xasprintf ("%s/ca.pem", stub.dir);
  struct strbuf sb = STRBUF_INIT;
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_CAINFO, ca);
  curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
  if (body)
    curl_easy_setopt (h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &sb);
  CURLcode rc = curl_easy_perform (h);
  cr_assert_eq (rc, CURLE_OK, "stub control %s %s: %s", method, path, curl_easy_strerror (rc));
  curl_easy_cleanup (h);
  free (url);
  free (ca);
  return strbuf_detach (&sb);
}

void
stub_rules (const char *json)
{
  free (control ("POST", "/_stub/rules", json));
}

cJSON *
stub_log (void)
{
  char *text = control ("GET", "/_stub/log", NULL);
  cJSON *j = cJSON_Parse (text);
  cr_assert (cJSON_IsArray (j), "stub log: %s", text);
  free (text);
  return j;
}

int
stub_count (const char *path)
{
  cJSON *log = stub_log ();
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach (e, log) {
    const cJSON *p = cJSON_GetObjectItem (e, "path");
    if (!path || (cJSON_IsString (p) && strcmp (p->valuestring, path) == 0))
      n++;
  }
  cJSON_Delete (log);
  return n;
}

char *
stub_file (const char *name, const char *content, int mode)
{
  char *path = xasprintf ("%s/%s", stub.dir, name);
  FILE *f = fopen (path, "w");
  cr_assert (f, "%s: %s", path, strerror (errno));
  fputs (content, f);
  fclose (f);
  chmod (path, (mode_t) mode);
  return path;
}

struct kube_client *
stub_client (const char *server, const char *cluster_extra, const char *user_yaml,
             const struct kube_client_opts *opts)
{
  char *srv = server ? xstrdup (server) : xasprintf ("https://127.0.0.1:%d", stub.port);
  char *text = xasprintf (
    "apiVersion: v1\nkind: Config\n"
    "clusters:\n- name: stub\n  cluster:\n    server: %s\n%s%s"
    "users:\n- name: u\n  user: %s\n"
    "contexts:\n- name: stub\n  context: {cluster: stub, user: u}\n"
    "current-context: stub\n",
    srv, cluster_extra ? cluster_extra : "    certificate-authority: ca.pem\n",
    cluster_extra && *cluster_extra && cluster_extra[strlen (cluster_extra) - 1] != '\n' ? "\n" : "",
    user_yaml ? user_yaml : "{}");
  char *kc = stub_file ("kubeconfig", text, 0600);
  struct kube_config_opts o = { .kubeconfig = kc };
  struct kube_config *cfg;
  struct rm_error err;
  cr_assert_eq (kube_config_load (&o, &cfg, &err), KUBE_OK, "%s", err.message);
  struct kube_client *c;
  cr_assert_eq (kube_client_new (cfg, opts, &c, &err), KUBE_OK, "%s", err.message);
  free (kc);
  free (text);
  free (srv);
  return c;
}
