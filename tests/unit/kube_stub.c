/* Test-side driver of the fake API server (tests/fakekube/) in scripted mode for the
 * Kubernetes client's unit tests (see kube_stub.h): start it, turn the tests' short rules
 * into its fault rules, read its request log. */
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
#include "kube_stub.h"

struct stub stub;

static bool
have_program (const char *name)
{
  char *cmd = xasprintf ("command -v '%s' >/dev/null 2>&1", name);
  int rc = system (cmd);
  free (cmd);
  return rc == 0;
}

/* Regex for exactly this text (fakekube's rules match paths and queries by regex). */
static char *
literal (const char *text, bool whole)
{
  struct strbuf sb = STRBUF_INIT;
  if (whole)
    strbuf_add (&sb, "^", 1);
  for (const char *p = text; *p; p++) {
    if (strchr (".^$*+?()[]{}|\\", *p))
      strbuf_add (&sb, "\\", 1);
    strbuf_add (&sb, p, 1);
  }
  if (whole)
    strbuf_add (&sb, "$", 1);
  return strbuf_detach (&sb);
}

/* Link dir/name to the fake server's file of that content. */
static void
link_as (const char *target, const char *name)
{
  char *path = xasprintf ("%s/%s", stub.dir, name);
  cr_assert_eq (symlink (target, path), 0, "%s: %s", path, strerror (errno));
  free (path);
}

void
stub_start (bool proxy)
{
  const char *py = getenv ("PYTHON3");
  if (!py || !*py || strcmp (py, "no") == 0)
    py = "python3";
  if (!have_program (py))
    cr_skip_test ("python3 is needed for the fake API server and was not found");
  if (!have_program ("openssl"))
    cr_skip_test ("the openssl command is needed to make the fake API server's certificates and was not found");
  const char *top = getenv ("abs_top_srcdir");
  char *script = xasprintf ("%s/tests/fakekube/fakekube.py", top ? top : ".");
  snprintf (stub.dir, sizeof stub.dir, "%s/rm-kubestub-XXXXXX",
            getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
  cr_assert (mkdtemp (stub.dir));
  char *state = xasprintf ("%s/fakekube", stub.dir);
  int out[2];
  cr_assert_eq (pipe (out), 0);
  stub.pid = fork ();
  cr_assert_geq (stub.pid, 0);
  if (stub.pid == 0) {
    dup2 (out[1], 1);
    close (out[0]);
    close (out[1]);
    /* The certificate is valid for 127.0.0.1 and kubernetes.default.svc, not "localhost",
     * so that tls-server-name can be tested. */
    execlp (py, py, script, "--state-dir", state, "--scripted",
            "--server-names", "IP:127.0.0.1,DNS:kubernetes.default.svc",
            proxy ? "--proxy" : NULL, (char *) NULL);
    _exit (127);
  }
  close (out[1]);
  free (script);
  struct strbuf line = STRBUF_INIT;
  struct pollfd pfd = { out[0], POLLIN, 0 };
  char ch;
  while (poll (&pfd, 1, 60000) > 0 && read (out[0], &ch, 1) == 1 && ch != '\n')
    strbuf_add (&line, &ch, 1);
  close (out[0]);
  char *text = strbuf_detach (&line);
  cJSON *ready = cJSON_Parse (text);
  const cJSON *port = cJSON_GetObjectItem (ready, "port");
  cr_assert (cJSON_IsNumber (port), "the fake API server did not start (said '%s')", text);
  stub.port = port->valueint;
  const cJSON *pp = cJSON_GetObjectItem (ready, "proxyPort");
  stub.proxy_port = cJSON_IsNumber (pp) ? pp->valueint : 0;
  cJSON_Delete (ready);
  free (text);
  /* The names the tests' kubeconfigs use. */
  char *f;
  link_as (f = xasprintf ("%s/ca.crt", state), "ca.pem"), free (f);
  link_as (f = xasprintf ("%s/client.crt", state), "client.pem"), free (f);
  link_as (f = xasprintf ("%s/client.key", state), "client-key.pem"), free (f);
  free (state);
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
  cJSON *rules = cJSON_Parse (json);
  cr_assert (cJSON_IsArray (rules), "stub rules are not a JSON list: %s", json);
  cJSON *faults = cJSON_CreateArray ();
  const cJSON *r;
  cJSON_ArrayForEach (r, rules) {
    cJSON *f = cJSON_CreateObject ();
    const cJSON *e;
    cJSON_ArrayForEach (e, r) {
      const char *k = e->string;
      char *re = NULL;
      if (strcmp (k, "path") == 0)
        cJSON_AddStringToObject (f, "path", re = literal (e->valuestring, true));
      else if (strcmp (k, "query_has") == 0)
        cJSON_AddStringToObject (f, "query", re = literal (e->valuestring, false));
      else if (strcmp (k, "query_lacks") == 0)
        cJSON_AddStringToObject (f, "queryLacks", re = literal (e->valuestring, false));
      else if (strcmp (k, "accept_has") == 0)
        cJSON_AddItemToObject (f, "acceptHas", cJSON_Duplicate (e, true));
      else if (strcmp (k, "client_cn") == 0)
        cJSON_AddItemToObject (f, "clientCN", cJSON_Duplicate (e, true));
      else if (strcmp (k, "times") == 0)
        cJSON_AddItemToObject (f, "count", cJSON_Duplicate (e, true));
      else if (strcmp (k, "drop") == 0)
        cJSON_AddStringToObject (f, "action", cJSON_IsTrue (e) ? "drop" : "respond");
      else      /* method, auth, status, headers, json, body, gzip, stream: the same */
        cJSON_AddItemToObject (f, k, cJSON_Duplicate (e, true));
      free (re);
    }
    if (!cJSON_GetObjectItem (f, "action"))
      cJSON_AddStringToObject (f, "action", "respond");
    cJSON_AddItemToArray (faults, f);
  }
  char *body = cJSON_PrintUnformatted (faults);
  free (control ("POST", "/_fake/faults", body));
  free (body);
  cJSON_Delete (faults);
  cJSON_Delete (rules);
}

cJSON *
stub_log (void)
{
  char *text = control ("GET", "/_fake/requests", NULL);
  cJSON *j = cJSON_Parse (text);
  cr_assert (cJSON_IsArray (j), "fake API server's request log: %s", text);
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
