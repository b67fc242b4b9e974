/* Tests for the Kubernetes client's HTTP layer (core/kube/http.c, auth.c, exec.c, api.c,
 * list.c) against the fake API server's scripted answers (kube_stub.h): headers and keep-alive, gzip, Status
 * errors, retries and Retry-After, TLS (CA, insecure, tls-server-name, client
 * certificates), proxy, basic auth, token files that rotate, exec plugins (caching,
 * expiry, re-run on 401, environment, failures), LIST paging with 410 restarts and the
 * metadata-only fallback, WATCH streams, the write verbs, and parallel requests. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/util.h"
#include "base/base64.h"
#include "kube/kube.h"
#include "kube_stub.h"

static void start (void) { stub_start (false); }
static void start_proxy (void) { stub_start (true); }
static void stop (void) { stub_stop (); }

TestSuite (http, .init = start, .fini = stop, .timeout = 120);
TestSuite (tls, .init = start, .fini = stop, .timeout = 120);
TestSuite (proxy, .init = start_proxy, .fini = stop, .timeout = 120);
TestSuite (auth, .init = start, .fini = stop, .timeout = 120);
TestSuite (exec, .init = start, .fini = stop, .timeout = 120);
TestSuite (list, .init = start, .fini = stop, .timeout = 120);
TestSuite (watch, .init = start, .fini = stop, .timeout = 120);

static const struct kube_client_opts fast = { .backoff_base_ms = 10, .backoff_max_ms = 2000,
                                              .max_retries = 3 };

static const char *
header (const cJSON *entry, const char *name)
{
  const cJSON *h = cJSON_GetObjectItem (cJSON_GetObjectItem (entry, "headers"), name);
  return cJSON_IsString (h) ? h->valuestring : NULL;
}

static const cJSON *
log_entry (const cJSON *log, int i)
{
  const cJSON *e = cJSON_GetArrayItem (log, i);
  cr_assert_not_null (e, "no request %d in the stub's log", i);
  return e;
}

/* ---- basics ---- */

Test (http, get_headers_and_keepalive)
{
  stub_rules ("[{\"path\": \"/api/v1/namespaces/default\", \"times\": -1,"
              "  \"json\": {\"kind\": \"Namespace\", \"metadata\": {\"name\": \"default\", \"uid\": \"u-1\"}}}]");
  struct kube_client *c = stub_client (NULL, NULL, "{token: tok-abc-123}", NULL);
  for (int i = 0; i < 3; i++) {
    cJSON *ns;
    struct rm_error err;
    char *path = kube_path ("v1", NULL, "namespaces", "default");
    cr_assert_eq (kube_get (c, path, &ns, &err), KUBE_OK, "%s", err.message);
    free (path);
    cr_expect_str_eq (cJSON_GetObjectItem (cJSON_GetObjectItem (ns, "metadata"), "uid")->valuestring, "u-1");
    cJSON_Delete (ns);
  }
  cJSON *log = stub_log ();
  cr_assert_eq (cJSON_GetArraySize (log), 3);
  const cJSON *e = log_entry (log, 0);
  cr_expect_str_eq (header (e, "User-Agent"), "releasemanager/" PACKAGE_VERSION);
  cr_expect_str_eq (header (e, "Accept"), "application/json");
  cr_expect_str_eq (header (e, "Authorization"), "Bearer tok-abc-123");
  cr_expect (header (e, "Accept-Encoding") && strstr (header (e, "Accept-Encoding"), "gzip"));
  /* One connection for all three: keep-alive through the shared pool. */
  int port0 = cJSON_GetObjectItem (log_entry (log, 0), "clientPort")->valueint;
  for (int i = 1; i < 3; i++)
    cr_expect_eq (cJSON_GetObjectItem (log_entry (log, i), "clientPort")->valueint, port0,
                  "request %d used a new connection", i);
  struct kube_stats st;
  kube_client_stats (c, &st);
  cr_expect_eq (st.requests, 3);
  cr_expect_eq (st.retries, 0);
  cJSON_Delete (log);
  kube_client_free (c);
}

Test (http, gzip_and_disable_compression)
{
  stub_rules ("[{\"path\": \"/big\", \"times\": -1, \"gzip\": true,"
              "  \"json\": {\"data\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct kube_response r;
  struct rm_error err;
  cr_assert_eq (kube_request (c, "GET", "/big", NULL, NULL, 0, NULL, &r, &err), KUBE_OK, "%s", err.message);
  cr_expect (strstr (r.body.data, "\"data\": \"aaaa"), "body not decoded: %s", r.body.data);
  kube_response_free (&r);
  kube_client_free (c);
  c = stub_client (NULL, "    certificate-authority: ca.pem\n    disable-compression: true", NULL, NULL);
  cr_assert_eq (kube_request (c, "GET", "/big", NULL, NULL, 0, NULL, &r, &err), KUBE_OK, "%s", err.message);
  kube_response_free (&r);
  cJSON *log = stub_log ();
  cr_expect_null (header (log_entry (log, 1), "Accept-Encoding"));
  cJSON_Delete (log);
  kube_client_free (c);
}

/* A body that says gzip and is not: a clear error naming the request, retried like a
 * broken connection (a GET is idempotent), never handed on as JSON. */
Test (http, corrupt_gzip_body_is_an_error)
{
  stub_rules ("[{\"path\": \"/badgz\", \"times\": -1, \"body\": \"this is not gzip\","
              "  \"headers\": {\"Content-Encoding\": \"gzip\"}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, &fast);
  struct kube_response r;
  struct rm_error err;
  cr_expect_eq (kube_request (c, "GET", "/badgz", NULL, NULL, 0, NULL, &r, &err), KUBE_E_PROTOCOL);
  cr_expect (strstr (err.message, "GET ") && strstr (err.message, "/badgz: the response body is corrupt"),
             "%s", err.message);
  kube_response_free (&r);
  cr_expect_eq (stub_count ("/badgz"), 4, "1 try + 3 retries");
  kube_client_free (c);
}

Test (http, status_errors_are_explained)
{
  stub_rules ("["
    "{\"path\": \"/api/v1/secrets\", \"status\": 403, \"json\": {\"kind\": \"Status\", \"apiVersion\": \"v1\","
    "  \"status\": \"Failure\", \"reason\": \"Forbidden\", \"code\": 403, \"message\": \"secrets is forbidden: User \\\"x\\\""
    " cannot list resource \\\"secrets\\\" in API group \\\"\\\" at the cluster scope\"}},"
    "{\"path\": \"/api/v1/namespaces/a/secrets/s\", \"status\": 404, \"json\": {\"kind\": \"Status\", \"status\": \"Failure\","
    "  \"reason\": \"NotFound\", \"code\": 404, \"message\": \"secrets \\\"s\\\" not found\"}},"
    "{\"path\": \"/api/v1/namespaces/a/secrets\", \"method\": \"POST\", \"status\": 409, \"json\": {\"kind\": \"Status\","
    "  \"status\": \"Failure\", \"reason\": \"AlreadyExists\", \"code\": 409, \"message\": \"secrets \\\"s\\\" already exists\"}},"
    "{\"path\": \"/lb\", \"status\": 418, \"body\": \"<html>\\n<b>teapot</b></html>\"},"
    "{\"path\": \"/unauth\", \"status\": 401, \"json\": {\"kind\": \"Status\", \"status\": \"Failure\","
    "  \"reason\": \"Unauthorized\", \"code\": 401, \"message\": \"Unauthorized\"}}"
    "]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/api/v1/secrets", NULL, &err), KUBE_E_FORBIDDEN);
  cr_expect_str_eq (err.message, "Forbidden: secrets is forbidden: User \"x\" cannot list resource \"secrets\" "
                    "in API group \"\" at the cluster scope (check the RBAC of your kubeconfig user)");
  cr_expect_eq (rm_primary (err.code), RM_E_PERMISSION);
  cr_expect_eq (kube_get (c, "/api/v1/namespaces/a/secrets/s", NULL, &err), KUBE_E_NOT_FOUND);
  cr_expect_str_eq (err.message, "NotFound: secrets \"s\" not found");
  cJSON *obj = cJSON_Parse ("{\"metadata\": {\"name\": \"s\"}}");
  cr_expect_eq (kube_create (c, "/api/v1/namespaces/a/secrets", obj, NULL, &err), KUBE_E_ALREADY_EXISTS);
  cr_expect_str_eq (err.message, "AlreadyExists: secrets \"s\" already exists");
  cr_expect_eq (rm_primary (err.code), RM_E_EXISTS);
  cJSON_Delete (obj);
  cr_expect_eq (kube_get (c, "/lb", NULL, &err), KUBE_E_HTTP);
  cr_expect_str_eq (err.message, "HTTP 418 from GET /lb: <html> <b>teapot</b></html>");
  cr_expect_eq (kube_get (c, "/unauth", NULL, &err), KUBE_E_AUTH);
  cr_expect_str_eq (err.message, "Unauthorized (check the credentials of your kubeconfig user)");
  cr_expect_eq (kube_get (c, "/nothing-here", NULL, &err), KUBE_E_NOT_FOUND);
  kube_client_free (c);
}

Test (http, retries_5xx_and_drops_then_succeeds)
{
  /* The drop comes first, on a fresh connection: curl itself silently retries a request
   * whose reused connection turned out dead, which would hide it from the count. */
  stub_rules ("["
    "{\"path\": \"/flaky\", \"drop\": true},"
    "{\"path\": \"/flaky\", \"status\": 500, \"json\": {\"kind\": \"Status\", \"message\": \"boom\", \"reason\": \"InternalError\", \"code\": 500}},"
    "{\"path\": \"/flaky\", \"status\": 503, \"body\": \"unavailable\"},"
    "{\"path\": \"/flaky\", \"json\": {\"ok\": true}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, &fast);
  struct rm_error err;
  cJSON *out;
  cr_assert_eq (kube_get (c, "/flaky", &out, &err), KUBE_OK, "%s", err.message);
  cr_expect (cJSON_IsTrue (cJSON_GetObjectItem (out, "ok")));
  cJSON_Delete (out);
  struct kube_stats st;
  kube_client_stats (c, &st);
  cr_expect_eq (st.retries, 3);
  cr_expect_eq (stub_count ("/flaky"), 4);
  kube_client_free (c);
}

/* The observer (a daemon's metrics): each exchange, retries included, with its verb,
 * resource and result. */
struct observed {
  pthread_mutex_t mu;
  char log[512];
  unsigned long bytes;
};

static void
observe_exchange (void *ud, const char *verb, const char *resource, int rc, unsigned long bytes)
{
  struct observed *s = ud;
  pthread_mutex_lock (&s->mu);
  size_t n = strlen (s->log);
  snprintf (s->log + n, sizeof s->log - n, "%s %s %s;", verb, resource,
            rc == KUBE_OK ? "ok" : "error");
  s->bytes += bytes;
  pthread_mutex_unlock (&s->mu);
}

Test (http, observer_sees_every_exchange)
{
  stub_rules ("["
    "{\"path\": \"/api/v1/namespaces/a/secrets/x\", \"status\": 503, \"body\": \"no\"},"
    "{\"path\": \"/api/v1/namespaces/a/secrets/x\", \"json\": {\"ok\": true}},"
    "{\"path\": \"/apis/coordination.k8s.io/v1/namespaces/a/leases/l\", \"status\": 404,"
    " \"json\": {\"kind\": \"Status\", \"reason\": \"NotFound\", \"code\": 404, \"message\": \"no\"}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, &fast);
  struct observed s = { PTHREAD_MUTEX_INITIALIZER, "", 0 };
  kube_client_set_observer (c, observe_exchange, &s);
  struct rm_error err;
  cr_assert_eq (kube_get (c, "/api/v1/namespaces/a/secrets/x", NULL, &err), KUBE_OK, "%s",
                err.message);
  cr_expect_eq (kube_get (c, "/apis/coordination.k8s.io/v1/namespaces/a/leases/l", NULL, &err),
                KUBE_E_NOT_FOUND);
  cr_expect_str_eq (s.log, "get secrets error;get secrets ok;get leases error;");
  cr_expect_geq (s.bytes, strlen ("{\"ok\":true}"));
  kube_client_set_observer (c, NULL, NULL);
  kube_get (c, "/api/v1/namespaces/a/secrets/x", NULL, &err);
  cr_expect_str_eq (s.log, "get secrets error;get secrets ok;get leases error;");
  kube_client_free (c);
}

Test (http, request_verbs)
{
  static const char *const cases[][4] = {
    { "GET", "/api/v1/secrets?labelSelector=owner%3Dhelm", "list", "secrets" },
    { "GET", "/api/v1/namespaces/ns/secrets?limit=500", "list", "secrets" },
    { "GET", "/api/v1/namespaces/ns/secrets/sh.helm.release.v1.a.v1", "get", "secrets" },
    { "GET", "/api/v1/namespaces/kube-system", "get", "namespaces" },
    { "GET", "/api/v1/namespaces", "list", "namespaces" },
    { "GET", "/api/v1/secrets?watch=1&resourceVersion=5", "watch", "secrets" },
    { "GET", "/api/v1/secrets?allowWatchBookmarks=true&watch=true", "watch", "secrets" },
    { "GET", "/api/v1/secrets?labelSelector=nowatch%3D1", "list", "secrets" },
    { "GET", "/apis/coordination.k8s.io/v1/namespaces/rm/leases/x", "get", "leases" },
    { "PUT", "/apis/coordination.k8s.io/v1/namespaces/rm/leases/x", "update", "leases" },
    { "POST", "/apis/coordination.k8s.io/v1/namespaces/rm/leases", "create", "leases" },
    { "PATCH", "/api/v1/namespaces/ns/configmaps/c", "patch", "configmaps" },
    { "DELETE", "/api/v1/namespaces/ns/configmaps/c", "delete", "configmaps" },
    { "DELETE", "/api/v1/namespaces/ns/configmaps", "deletecollection", "configmaps" },
    { "GET", "/version", "get", "" },
    { "GET", "/apis/apps/v1", "get", "" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    char res[64];
    const char *verb = kube_request_verb (cases[i][0], cases[i][1], res, sizeof res);
    cr_expect_str_eq (verb, cases[i][2], "%s %s", cases[i][0], cases[i][1]);
    cr_expect_str_eq (res, cases[i][3], "%s %s", cases[i][0], cases[i][1]);
  }
  char tiny[4];
  kube_request_verb ("GET", "/api/v1/secrets", tiny, sizeof tiny);
  cr_expect_str_eq (tiny, "sec");
}

Test (http, gives_up_after_max_retries)
{
  stub_rules ("[{\"path\": \"/down\", \"times\": -1, \"status\": 503, \"json\": {\"kind\": \"Status\","
              " \"reason\": \"ServiceUnavailable\", \"code\": 503, \"message\": \"etcd is down\"}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, &fast);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/down", NULL, &err), KUBE_E_TRANSIENT);
  cr_expect_str_eq (err.message, "ServiceUnavailable: etcd is down (after 3 retries)");
  cr_expect_eq (stub_count ("/down"), 4);
  kube_client_free (c);
}

Test (http, retry_after_is_honoured)
{
  stub_rules ("[{\"path\": \"/slow\", \"status\": 429, \"headers\": {\"Retry-After\": \"1\"},"
              "  \"json\": {\"kind\": \"Status\", \"reason\": \"TooManyRequests\", \"code\": 429, \"message\": \"slow down\"}},"
              " {\"path\": \"/slow\", \"json\": {}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, &fast);
  struct rm_error err;
  cr_assert_eq (kube_get (c, "/slow", NULL, &err), KUBE_OK, "%s", err.message);
  /* As the server saw it: the 429, then one retry no sooner than Retry-After said. */
  cJSON *log = stub_log ();
  cr_assert_eq (cJSON_GetArraySize (log), 2);
  cr_expect_eq (cJSON_GetObjectItem (log_entry (log, 0), "status")->valueint, 429);
  cr_expect_eq (cJSON_GetObjectItem (log_entry (log, 1), "status")->valueint, 200);
  double s = cJSON_GetObjectItem (log_entry (log, 1), "time")->valuedouble
             - cJSON_GetObjectItem (log_entry (log, 0), "time")->valuedouble;
  cr_expect_geq (s, 0.95, "retried after %.3f s, Retry-After said 1 s", s);
  cJSON_Delete (log);
  kube_client_free (c);
}

Test (http, writes_are_not_blindly_repeated)
{
  /* A POST that failed with 500 may have happened: no retry.  503 with Retry-After (the
   * server did not process it) and 429: retried. */
  stub_rules ("["
    "{\"path\": \"/c\", \"method\": \"POST\", \"status\": 500, \"json\": {\"kind\": \"Status\", \"message\": \"x\", \"code\": 500}},"
    "{\"path\": \"/d\", \"method\": \"POST\", \"status\": 503, \"headers\": {\"Retry-After\": \"0\"}, \"body\": \"\"},"
    "{\"path\": \"/d\", \"method\": \"POST\", \"status\": 429, \"body\": \"\"},"
    "{\"path\": \"/d\", \"method\": \"POST\", \"status\": 201, \"json\": {}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, &fast);
  struct rm_error err;
  cJSON *obj = cJSON_CreateObject ();
  cr_expect_eq (kube_create (c, "/c", obj, NULL, &err), KUBE_E_TRANSIENT);
  cr_expect_eq (stub_count ("/c"), 1);
  cr_expect_eq (kube_create (c, "/d", obj, NULL, &err), KUBE_OK, "%s", err.message);
  cr_expect_eq (stub_count ("/d"), 3);
  cJSON_Delete (obj);
  kube_client_free (c);
}

Test (http, connection_refused)
{
  /* A port nobody listens on (the stub's own, once it is gone). */
  int port = stub.port;
  struct kube_client *c = stub_client (NULL, NULL, NULL, &fast);
  stub_stop ();
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/api", NULL, &err), KUBE_E_NETWORK);
  char want[100];
  snprintf (want, sizeof want, "GET https://127.0.0.1:%d/api: ", port);
  cr_expect (strstr (err.message, want) && strstr (err.message, "(after 3 retries)"), "%s", err.message);
  kube_client_free (c);
}

Test (http, verbs_and_content_types)
{
  stub_rules ("[{\"path\": \"/o\", \"method\": \"PUT\", \"json\": {}}, {\"path\": \"/o\", \"method\": \"DELETE\", \"json\": {}},"
              " {\"path\": \"/o\", \"method\": \"PATCH\", \"times\": -1, \"json\": {\"patched\": 1}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct rm_error err;
  cJSON *obj = cJSON_Parse ("{\"a\": 1}"), *out = NULL;
  cr_expect_eq (kube_replace (c, "/o", obj, NULL, &err), KUBE_OK, "%s", err.message);
  cr_expect_eq (kube_delete (c, "/o", NULL, &err), KUBE_OK, "%s", err.message);
  static const char *const types[] = { "application/merge-patch+json", "application/strategic-merge-patch+json",
                                       "application/json-patch+json", "application/apply-patch+yaml" };
  for (int t = KUBE_PATCH_MERGE; t <= KUBE_PATCH_APPLY; t++) {
    cr_expect_eq (kube_patch (c, "/o", t, "{\"b\":2}", &out, &err), KUBE_OK, "%s", err.message);
    cJSON_Delete (out);
  }
  cJSON *log = stub_log ();
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 0), "method")->valuestring, "PUT");
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 0), "body")->valuestring, "{\"a\":1}");
  cr_expect_str_eq (header (log_entry (log, 0), "Content-Type"), "application/json");
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 1), "method")->valuestring, "DELETE");
  for (int t = 0; t < 4; t++) {
    cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 2 + t), "method")->valuestring, "PATCH");
    cr_expect_str_eq (header (log_entry (log, 2 + t), "Content-Type"), types[t]);
    cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 2 + t), "body")->valuestring, "{\"b\":2}");
  }
  cr_expect_null (header (log_entry (log, 0), "Expect"));
  cJSON_Delete (log);
  cJSON_Delete (obj);
  kube_client_free (c);
}

Test (http, paths_and_escaping)
{
  char *p = kube_path ("v1", "ns-1", "secrets", "sh.helm.release.v1.web.v3");
  cr_expect_str_eq (p, "/api/v1/namespaces/ns-1/secrets/sh.helm.release.v1.web.v3");
  free (p);
  p = kube_path ("apps/v1", NULL, "deployments", NULL);
  cr_expect_str_eq (p, "/apis/apps/v1/deployments");
  free (p);
  p = kube_escape ("owner=helm,name in (a b)");
  cr_expect_str_eq (p, "owner%3Dhelm%2Cname%20in%20%28a%20b%29");
  free (p);
}

Test (http, impersonation_headers)
{
  stub_rules ("[{\"path\": \"/x\", \"json\": {}}]");
  struct kube_client *c = stub_client (NULL, NULL, "{as: alice, as-groups: [dev, ops], as-uid: u-9}", NULL);
  struct rm_error err;
  cr_assert_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  cJSON *log = stub_log ();
  cr_expect_str_eq (header (log_entry (log, 0), "Impersonate-User"), "alice");
  cr_expect_str_eq (header (log_entry (log, 0), "Impersonate-Uid"), "u-9");
  cr_expect (header (log_entry (log, 0), "Impersonate-Group"));
  cJSON_Delete (log);
  kube_client_free (c);
}

/* Many threads, one client: every request succeeds and connections are reused. */
struct par {
  struct kube_client *c;
  int failures;
};

static void *
par_worker (void *ud)
{
  struct par *p = ud;
  for (int i = 0; i < 25; i++) {
    struct rm_error err;
    cJSON *out;
    if (kube_get (p->c, "/api/v1/namespaces/default", &out, &err) != KUBE_OK)
      __atomic_add_fetch (&p->failures, 1, __ATOMIC_SEQ_CST);
    else
      cJSON_Delete (out);
  }
  return NULL;
}

Test (http, parallel_requests_share_connections)
{
  stub_rules ("[{\"path\": \"/api/v1/namespaces/default\", \"times\": -1, \"json\": {\"kind\": \"Namespace\"}}]");
  struct kube_client *c = stub_client (NULL, NULL, "{token: par-token-1}", NULL);
  struct par p = { c, 0 };
  pthread_t t[6];
  for (int i = 0; i < 6; i++)
    pthread_create (&t[i], NULL, par_worker, &p);
  for (int i = 0; i < 6; i++)
    pthread_join (t[i], NULL);
  cr_expect_eq (p.failures, 0);
  cJSON *log = stub_log ();
  cr_expect_eq (cJSON_GetArraySize (log), 150);
  int ports[200], nports = 0;
  const cJSON *e;
  cJSON_ArrayForEach (e, log) {
    int port = cJSON_GetObjectItem (e, "clientPort")->valueint;
    bool seen = false;
    for (int i = 0; i < nports; i++)
      seen |= ports[i] == port;
    if (!seen)
      ports[nports++] = port;
  }
  cr_expect_leq (nports, 12, "%d connections for 150 requests from 6 threads", nports);
  cJSON_Delete (log);
  kube_client_free (c);
}

/* ---- TLS ---- */

Test (tls, wrong_ca_is_a_tls_error_and_insecure_skips_it)
{
  stub_rules ("[{\"path\": \"/x\", \"times\": -1, \"json\": {}}]");
  char *other = stub_file ("other-ca.pem", "", 0600);
  char *cmd = xasprintf ("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=other -keyout %s/other-key.pem -out %s 2>/dev/null",
                         stub.dir, other);
  cr_assert_eq (system (cmd), 0);
  struct kube_client *c = stub_client (NULL, "    certificate-authority: other-ca.pem", NULL, &fast);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_E_TLS);
  cr_expect (strstr (err.message, "TLS error talking to https://127.0.0.1:") && strstr (err.message, "context \"stub\""),
             "%s", err.message);
  kube_client_free (c);
  c = stub_client (NULL, "    insecure-skip-tls-verify: true", NULL, &fast);
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  kube_client_free (c);
  free (cmd);
  free (other);
}

Test (tls, ca_data_and_tls_server_name)
{
  stub_rules ("[{\"path\": \"/x\", \"times\": -1, \"json\": {}}]");
  char *ca_path = xasprintf ("%s/ca.pem", stub.dir);
  FILE *f = fopen (ca_path, "r");
  char pem[8192];
  size_t n = fread (pem, 1, sizeof pem, f);
  fclose (f);
  char *b64 = base64_encode (pem, n, NULL);
  char *extra = xasprintf ("    certificate-authority-data: %s\n    tls-server-name: kubernetes.default.svc", b64);
  /* The certificate is not valid for "localhost": only tls-server-name makes this work. */
  char *server = xasprintf ("https://localhost:%d", stub.port);
  struct kube_client *c = stub_client (server, extra, NULL, &fast);
  struct rm_error err;
  cr_assert_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  kube_client_free (c);
  cJSON *log = stub_log ();
  char host[64];
  snprintf (host, sizeof host, "localhost:%d", stub.port);
  cr_expect_str_eq (header (log_entry (log, 0), "Host"), host);
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 0), "sni")->valuestring, "kubernetes.default.svc");
  cJSON_Delete (log);
  free (extra);
  extra = xasprintf ("    certificate-authority-data: %s", b64);
  c = stub_client (server, extra, NULL, &fast);
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_E_TLS, "%s", err.message);
  kube_client_free (c);
  free (extra);
  free (server);
  free (b64);
  free (ca_path);
}

Test (tls, client_certificate)
{
  stub_rules ("[{\"path\": \"/x\", \"times\": -1, \"client_cn\": \"fakekube-admin\", \"json\": {}}]");
  struct kube_client *c = stub_client (NULL, NULL, "{client-certificate: client.pem, client-key: client-key.pem}", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  kube_client_free (c);
  c = stub_client (NULL, NULL, NULL, NULL);
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_E_AUTH);
  kube_client_free (c);
}

Test (proxy, proxy_url_tunnels)
{
  stub_rules ("[{\"path\": \"/x\", \"json\": {}}]");
  char *extra = xasprintf ("    certificate-authority: ca.pem\n    proxy-url: http://127.0.0.1:%d", stub.proxy_port);
  struct kube_client *c = stub_client (NULL, extra, NULL, NULL);
  struct rm_error err;
  cr_assert_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  cJSON *log = stub_log ();
  char want[64];
  snprintf (want, sizeof want, "127.0.0.1:%d", stub.port);
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 0), "method")->valuestring, "CONNECT");
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 0), "path")->valuestring, want);
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 1), "path")->valuestring, "/x");
  cJSON_Delete (log);
  kube_client_free (c);
  free (extra);
}

/* ---- credentials ---- */

Test (auth, basic_auth)
{
  char *want = base64_encode ("admin:pa55-word-x", 17, NULL);
  char *rules = xasprintf ("[{\"path\": \"/x\", \"auth\": \"Basic %s\", \"json\": {}}]", want);
  stub_rules (rules);
  struct kube_client *c = stub_client (NULL, NULL, "{username: admin, password: pa55-word-x}", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  kube_client_free (c);
  free (rules);
  free (want);
}

Test (auth, token_file_rotates)
{
  stub_rules ("[{\"path\": \"/x\", \"auth\": \"Bearer tok-a\", \"json\": {}},"
              " {\"path\": \"/y\", \"times\": -1, \"auth\": \"Bearer tok-b\", \"json\": {}}]");
  char *tf = stub_file ("token", "tok-a\n", 0600);
  struct kube_client *c = stub_client (NULL, NULL, "{tokenFile: token}", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  /* The server wants the next token before the file has it: 401, the file is read
   * again, still the same: the error stands. */
  cr_expect_eq (kube_get (c, "/y", NULL, &err), KUBE_E_AUTH);
  /* The kubelet rotates the token (a new file renamed over the old one). */
  char *next = stub_file ("token.new", "tok-b", 0600);
  cr_assert_eq (rename (next, tf), 0);
  cr_expect_eq (kube_get (c, "/y", NULL, &err), KUBE_OK, "%s", err.message);
  /* Rewritten in place, same size: noticed through mtime/ctime. */
  free (stub_file ("token", "tok-c", 0600));
  stub_rules ("[{\"path\": \"/z\", \"auth\": \"Bearer tok-c\", \"json\": {}}]");
  cr_expect_eq (kube_get (c, "/z", NULL, &err), KUBE_OK, "%s", err.message);
  kube_client_free (c);
  free (next);
  free (tf);
}

Test (auth, in_cluster_rotating_token)
{
  char *sa = xasprintf ("%s/sa", stub.dir);
  mkdir (sa, 0700);
  char *cmd = xasprintf ("cp %s/ca.pem %s/ca.crt && printf 'ns-x\\n' > %s/namespace && printf 'sa-1' > %s/token",
                         stub.dir, sa, sa, sa);
  cr_assert_eq (system (cmd), 0);
  char port[16];
  snprintf (port, sizeof port, "%d", stub.port);
  setenv ("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
  setenv ("KUBERNETES_SERVICE_PORT", port, 1);
  unsetenv ("KUBECONFIG");
  setenv ("HOME", stub.dir, 1);
  stub_rules ("[{\"path\": \"/x\", \"auth\": \"Bearer sa-1\", \"json\": {}},"
              " {\"path\": \"/x\", \"auth\": \"Bearer sa-2\", \"json\": {}}]");
  struct kube_config_opts o = { .serviceaccount_dir = sa };
  struct kube_config *cfg;
  struct kube_client *c;
  struct rm_error err;
  cr_assert_eq (kube_config_load (&o, &cfg, &err), KUBE_OK, "%s", err.message);
  cr_expect (cfg->in_cluster);
  cr_expect_str_eq (cfg->namespace, "ns-x");
  cr_assert_eq (kube_client_new (cfg, NULL, &c, &err), KUBE_OK, "%s", err.message);
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  free (cmd);
  cmd = xasprintf ("printf 'sa-2' > %s/token.tmp && mv %s/token.tmp %s/token", sa, sa, sa);
  cr_assert_eq (system (cmd), 0);
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  stub_rules ("[{\"path\": \"/forbidden\", \"status\": 403, \"json\": {\"kind\": \"Status\", \"reason\": \"Forbidden\","
              " \"code\": 403, \"message\": \"nope\"}}]");
  cr_expect_eq (kube_get (c, "/forbidden", NULL, &err), KUBE_E_FORBIDDEN);
  cr_expect_str_eq (err.message, "Forbidden: nope (check the RBAC of the service account)");
  kube_client_free (c);
  free (cmd);
  free (sa);
}

/* ---- exec plugins ---- */

/* A credential plugin in shell: counts its runs, records what it was given, and answers
 * according to MODE. */
static const char plugin_sh[] =
  "#!/bin/sh\n"
  "d=$(dirname \"$0\")\n"
  "n=$(cat \"$d/runs\" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > \"$d/runs\"\n"
  "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$d/info\"\n"
  "printf '%s|' \"$@\" > \"$d/args\"\n"
  "printf '%s' \"$FOO\" > \"$d/foo\"\n"
  "case \"$MODE\" in\n"
  "fail) echo 'first line' >&2; echo 'error: you must be logged in to the server' >&2; exit 3 ;;\n"
  "beta) echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"beta-tok\"}}' ;;\n"
  "badversion) echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"t\"}}' ;;\n"
  "nostatus) echo '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\"}' ;;\n"
  "garbage) echo 'hello' ;;\n"
  "slow) sleep 5 ;;\n"
  "cert)\n"
  "  c=$(awk '{printf \"%s\\\\n\", $0}' \"$d/client.pem\"); k=$(awk '{printf \"%s\\\\n\", $0}' \"$d/client-key.pem\")\n"
  "  echo \"{\\\"kind\\\":\\\"ExecCredential\\\",\\\"apiVersion\\\":\\\"client.authentication.k8s.io/v1\\\",\\\"status\\\":{\\\"clientCertificateData\\\":\\\"$c\\\",\\\"clientKeyData\\\":\\\"$k\\\"}}\" ;;\n"
  "*)\n"
  "  exp=''\n"
  "  [ -n \"$EXP\" ] && exp=\",\\\"expirationTimestamp\\\":\\\"$EXP\\\"\"\n"
  "  echo \"{\\\"kind\\\":\\\"ExecCredential\\\",\\\"apiVersion\\\":\\\"client.authentication.k8s.io/v1\\\",\\\"status\\\":{\\\"token\\\":\\\"tok-$n\\\"$exp}}\" ;;\n"
  "esac\n";

static struct kube_client *
exec_client (const char *mode, const char *exp, const char *extra)
{
  free (stub_file ("plugin.sh", plugin_sh, 0755));
  char *user = xasprintf ("\n    exec:\n"
                          "      apiVersion: client.authentication.k8s.io/v1\n"
                          "      command: ./plugin.sh\n"
                          "      args: [get-token, --cluster, c1]\n"
                          "      interactiveMode: Never\n"
                          "      provideClusterInfo: true\n"
                          "      installHint: 'brew install stub-auth'\n"
                          "      env: [{name: MODE, value: '%s'}, {name: EXP, value: '%s'}, {name: FOO, value: bar}]\n%s",
                          mode, exp, extra ? extra : "");
  struct kube_client *c = stub_client (NULL,
    "    certificate-authority: ca.pem\n"
    "    extensions:\n    - {name: client.authentication.k8s.io/exec, extension: {audience: stub}}",
    user, &fast);
  free (user);
  return c;
}

static char *
slurp (const char *name)
{
  char *p = xasprintf ("%s/%s", stub.dir, name);
  FILE *f = fopen (p, "r");
  cr_assert (f, "%s missing", p);
  struct strbuf sb = STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    strbuf_add (&sb, buf, n);
  fclose (f);
  free (p);
  return strbuf_detach (&sb);
}

Test (exec, token_is_cached_and_environment_passed)
{
  stub_rules ("[{\"path\": \"/x\", \"times\": -1, \"auth\": \"Bearer tok-1\", \"json\": {}}]");
  struct kube_client *c = exec_client ("token", "", NULL);
  struct rm_error err;
  for (int i = 0; i < 3; i++)
    cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  struct kube_stats st;
  kube_client_stats (c, &st);
  cr_expect_eq (st.exec_runs, 1);
  char *args = slurp ("args"), *foo = slurp ("foo"), *info = slurp ("info");
  cr_expect_str_eq (args, "get-token|--cluster|c1|");
  cr_expect_str_eq (foo, "bar");
  cJSON *j = cJSON_Parse (info);
  cr_assert (j, "KUBERNETES_EXEC_INFO is not JSON: %s", info);
  cr_expect_str_eq (cJSON_GetObjectItem (j, "kind")->valuestring, "ExecCredential");
  cr_expect_str_eq (cJSON_GetObjectItem (j, "apiVersion")->valuestring, "client.authentication.k8s.io/v1");
  const cJSON *spec = cJSON_GetObjectItem (j, "spec");
  cr_expect (cJSON_IsFalse (cJSON_GetObjectItem (spec, "interactive")));
  const cJSON *cl = cJSON_GetObjectItem (spec, "cluster");
  char server[64];
  snprintf (server, sizeof server, "https://127.0.0.1:%d", stub.port);
  cr_expect_str_eq (cJSON_GetObjectItem (cl, "server")->valuestring, server);
  cr_expect (cJSON_IsString (cJSON_GetObjectItem (cl, "certificate-authority-data")));
  cr_expect_str_eq (cJSON_GetObjectItem (cJSON_GetObjectItem (cl, "config"), "audience")->valuestring, "stub");
  cJSON_Delete (j);
  free (args);
  free (foo);
  free (info);
  kube_client_free (c);
}

Test (exec, expired_credentials_are_renewed)
{
  stub_rules ("[{\"path\": \"/x\", \"times\": -1, \"json\": {}}]");
  struct kube_client *c = exec_client ("token", "2001-01-01T00:00:00Z", NULL);
  struct rm_error err;
  for (int i = 0; i < 3; i++)
    cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  struct kube_stats st;
  kube_client_stats (c, &st);
  cr_expect_eq (st.exec_runs, 3);
  cJSON *log = stub_log ();
  cr_expect_str_eq (header (log_entry (log, 2), "Authorization"), "Bearer tok-3");
  cJSON_Delete (log);
  kube_client_free (c);
  /* Far in the future: one run. */
  free (stub_file ("runs", "0", 0600));
  c = exec_client ("token", "2999-01-01T00:00:00+02:00", NULL);
  for (int i = 0; i < 3; i++)
    cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  kube_client_stats (c, &st);
  cr_expect_eq (st.exec_runs, 1);
  kube_client_free (c);
}

Test (exec, rerun_on_401)
{
  /* The first token is refused: the plugin runs again and the request is repeated. */
  stub_rules ("[{\"path\": \"/x\", \"times\": -1, \"auth\": \"Bearer tok-2\", \"json\": {}}]");
  struct kube_client *c = exec_client ("token", "", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  struct kube_stats st;
  kube_client_stats (c, &st);
  cr_expect_eq (st.exec_runs, 2);
  cr_expect_eq (stub_count ("/x"), 3);
  kube_client_free (c);
}

Test (exec, client_certificate_from_plugin)
{
  stub_rules ("[{\"path\": \"/x\", \"client_cn\": \"fakekube-admin\", \"json\": {}}]");
  struct kube_client *c = exec_client ("cert", "", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  kube_client_free (c);
}

static void
exec_fails (const char *mode, const char *want1, const char *want2)
{
  struct kube_client *c = exec_client (mode, "", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_E_AUTH);
  cr_expect (strstr (err.message, want1), "%s: '%s' lacks '%s'", mode, err.message, want1);
  if (want2)
    cr_expect (strstr (err.message, want2), "%s: '%s' lacks '%s'", mode, err.message, want2);
  cr_expect_eq (stub_count ("/x"), 0);
  kube_client_free (c);
}

Test (exec, failures_are_explained)
{
  exec_fails ("fail", "failed with exit code 3: error: you must be logged in to the server", "plugin.sh");
  exec_fails ("badversion", "is configured to use API version client.authentication.k8s.io/v1, "
              "plugin returned version client.authentication.k8s.io/v1beta1", NULL);
  exec_fails ("nostatus", "didn't return a status field", NULL);
  exec_fails ("garbage", "decoding stdout", NULL);
}

Test (exec, missing_plugin_shows_install_hint)
{
  free (stub_file ("plugin.sh", plugin_sh, 0755));
  struct kube_client *c = stub_client (NULL, NULL,
    "\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: no-such-auth-plugin,"
    " interactiveMode: IfAvailable, installHint: 'brew install no-such-auth-plugin'}", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_E_AUTH);
  cr_expect (strstr (err.message, "exec: executable no-such-auth-plugin not found"), "%s", err.message);
  cr_expect (strstr (err.message, "brew install no-such-auth-plugin"), "%s", err.message);
  kube_client_free (c);
}

Test (exec, v1beta1_plugin)
{
  /* interactiveMode defaults to IfAvailable: interactive only with a terminal on stdin. */
  cr_assert_not_null (freopen ("/dev/null", "r", stdin));
  stub_rules ("[{\"path\": \"/x\", \"auth\": \"Bearer beta-tok\", \"json\": {}}]");
  free (stub_file ("plugin.sh", plugin_sh, 0755));
  struct kube_client *c = stub_client (NULL, NULL,
    "\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: ./plugin.sh,"
    " env: [{name: MODE, value: beta}]}", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_OK, "%s", err.message);
  char *info = slurp ("info");
  cr_expect (strstr (info, "\"apiVersion\":\"client.authentication.k8s.io/v1beta1\""), "%s", info);
  cr_expect (strstr (info, "\"interactive\":false"), "%s", info);
  cr_expect_null (strstr (info, "\"cluster\""), "cluster info without provideClusterInfo: %s", info);
  free (info);
  kube_client_free (c);
}

Test (exec, interactive_always_needs_a_terminal)
{
  struct kube_client *c = stub_client (NULL, NULL,
    "\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: x, interactiveMode: Always}", NULL);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_E_AUTH);
  cr_expect (strstr (err.message, "cannot support interactive mode"), "%s", err.message);
  kube_client_free (c);
}

Test (exec, timeout)
{
  free (stub_file ("plugin.sh", plugin_sh, 0755));
  struct kube_client_opts o = fast;
  o.exec_timeout_ms = 300;
  struct kube_client *c = stub_client (NULL, NULL,
    "\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, interactiveMode: Never,"
    " env: [{name: MODE, value: slow}]}", &o);
  struct rm_error err;
  cr_expect_eq (kube_get (c, "/x", NULL, &err), KUBE_E_AUTH);
  cr_expect (strstr (err.message, "did not finish within 300 ms"), "%s", err.message);
  kube_client_free (c);
}

/* ---- LIST ---- */

struct seen {
  struct strlist names;
  int restarts;
  int stop_after;
};

static int
on_item (void *ud, const cJSON *item)
{
  struct seen *s = ud;
  const cJSON *n = cJSON_GetObjectItem (cJSON_GetObjectItem (item, "metadata"), "name");
  strlist_push (&s->names, cJSON_IsString (n) ? n->valuestring : "?");
  return s->stop_after && (int) s->names.n >= s->stop_after;
}

static void
on_restart (void *ud)
{
  struct seen *s = ud;
  strlist_free (&s->names);
  s->restarts++;
}

#define ITEM(n) "{\"metadata\": {\"name\": \"" n "\"}}"

Test (list, pages_with_continue)
{
  stub_rules ("["
    "{\"path\": \"/api/v1/secrets\", \"query_has\": \"continue=c2\", \"json\": {\"kind\": \"SecretList\","
    "  \"metadata\": {\"resourceVersion\": \"103\"}, \"items\": [" ITEM ("e") "]}},"
    "{\"path\": \"/api/v1/secrets\", \"query_has\": \"continue=c1\", \"json\": {\"kind\": \"SecretList\","
    "  \"metadata\": {\"resourceVersion\": \"102\", \"continue\": \"c2\"}, \"items\": [" ITEM ("c") "," ITEM ("d") "]}},"
    "{\"path\": \"/api/v1/secrets\", \"query_lacks\": \"continue=\", \"json\": {\"kind\": \"SecretList\","
    "  \"metadata\": {\"resourceVersion\": \"101\", \"continue\": \"c1\"}, \"items\": [" ITEM ("a") "," ITEM ("b") "]}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct seen s = { STRLIST_INIT, 0, 0 };
  struct kube_list_opts o = { .label_selector = "owner=helm", .limit = 2 };
  struct kube_list_info info;
  struct rm_error err;
  cr_assert_eq (kube_list (c, "/api/v1/secrets", &o, on_item, on_restart, &s, &info, &err), KUBE_OK, "%s", err.message);
  cr_expect_eq (s.names.n, 5);
  cr_expect_str_eq (s.names.items[4], "e");
  cr_expect_eq (info.items, 5);
  cr_expect_eq (info.pages, 3);
  cr_expect_eq (info.restarts, 0);
  cr_expect_not (info.metadata_only);
  cr_expect_str_eq (info.resource_version, "103");
  cJSON *log = stub_log ();
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 0), "query")->valuestring, "limit=2&labelSelector=owner%3Dhelm");
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 1), "query")->valuestring,
                    "limit=2&labelSelector=owner%3Dhelm&continue=c1");
  cJSON_Delete (log);
  kube_list_info_free (&info);
  strlist_free (&s.names);
  kube_client_free (c);
}

Test (list, restarts_when_continue_expires)
{
  stub_rules ("["
    "{\"path\": \"/api/v1/secrets\", \"query_has\": \"continue=old\", \"status\": 410, \"json\": {\"kind\": \"Status\","
    "  \"reason\": \"Expired\", \"code\": 410, \"message\": \"The provided continue parameter is too old\"}},"
    "{\"path\": \"/api/v1/secrets\", \"query_has\": \"continue=new\", \"json\": {\"metadata\": {}, \"items\": [" ITEM ("z") "]}},"
    "{\"path\": \"/api/v1/secrets\", \"query_lacks\": \"continue=\", \"json\": {\"metadata\": {\"continue\": \"old\"},"
    "  \"items\": [" ITEM ("x") "]}},"
    "{\"path\": \"/api/v1/secrets\", \"query_lacks\": \"continue=\", \"json\": {\"metadata\": {\"continue\": \"new\"},"
    "  \"items\": [" ITEM ("y") "]}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct seen s = { STRLIST_INIT, 0, 0 };
  struct kube_list_info info;
  struct rm_error err;
  cr_assert_eq (kube_list (c, "/api/v1/secrets", NULL, on_item, on_restart, &s, &info, &err), KUBE_OK, "%s", err.message);
  cr_expect_eq (s.restarts, 1);
  cr_expect_eq (info.restarts, 1);
  cr_assert_eq (s.names.n, 2);
  cr_expect_str_eq (s.names.items[0], "y");
  cr_expect_str_eq (s.names.items[1], "z");
  kube_list_info_free (&info);
  strlist_free (&s.names);
  kube_client_free (c);
}

Test (list, metadata_only_and_fallback)
{
  stub_rules ("["
    "{\"path\": \"/api/v1/secrets\", \"accept_has\": \"as=PartialObjectMetadataList\", \"json\": {"
    "  \"kind\": \"PartialObjectMetadataList\", \"apiVersion\": \"meta.k8s.io/v1\", \"metadata\": {},"
    "  \"items\": [" ITEM ("m1") "]}},"
    "{\"path\": \"/api/v1/configmaps\", \"accept_has\": \"as=PartialObjectMetadataList\", \"status\": 406,"
    "  \"json\": {\"kind\": \"Status\", \"reason\": \"NotAcceptable\", \"code\": 406, \"message\": \"only application/json\"}},"
    "{\"path\": \"/api/v1/configmaps\", \"json\": {\"kind\": \"ConfigMapList\", \"metadata\": {}, \"items\": [" ITEM ("f1") "]}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct seen s = { STRLIST_INIT, 0, 0 };
  struct kube_list_opts o = { .metadata_only = true };
  struct kube_list_info info;
  struct rm_error err;
  cr_assert_eq (kube_list (c, "/api/v1/secrets", &o, on_item, NULL, &s, &info, &err), KUBE_OK, "%s", err.message);
  cr_expect (info.metadata_only);
  kube_list_info_free (&info);
  cr_assert_eq (kube_list (c, "/api/v1/configmaps", &o, on_item, NULL, &s, &info, &err), KUBE_OK, "%s", err.message);
  cr_expect_not (info.metadata_only);
  cr_expect_eq (s.names.n, 2);
  cr_expect_str_eq (s.names.items[1], "f1");
  cJSON *log = stub_log ();
  cr_expect (strstr (header (log_entry (log, 0), "Accept"),
                     "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"));
  cr_expect_str_eq (header (log_entry (log, 2), "Accept"), "application/json");
  cJSON_Delete (log);
  kube_list_info_free (&info);
  strlist_free (&s.names);
  kube_client_free (c);
}

Test (list, callback_can_stop_and_errors_pass_through)
{
  stub_rules ("[{\"path\": \"/api/v1/secrets\", \"json\": {\"metadata\": {\"continue\": \"more\"},"
              "  \"items\": [" ITEM ("a") "," ITEM ("b") "," ITEM ("c") "]}},"
              " {\"path\": \"/api/v1/pods\", \"status\": 403, \"json\": {\"kind\": \"Status\", \"reason\": \"Forbidden\","
              "  \"code\": 403, \"message\": \"pods is forbidden\"}}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct seen s = { STRLIST_INIT, 0, 2 };
  struct rm_error err;
  cr_expect_eq (kube_list (c, "/api/v1/secrets", NULL, on_item, NULL, &s, NULL, &err), KUBE_E_ABORTED);
  cr_expect_eq (s.names.n, 2);
  cr_expect_eq (stub_count ("/api/v1/secrets"), 1);
  cr_expect_eq (kube_list (c, "/api/v1/pods", NULL, on_item, NULL, &s, NULL, &err), KUBE_E_FORBIDDEN);
  cr_expect (strstr (err.message, "Forbidden: pods is forbidden"), "%s", err.message);
  strlist_free (&s.names);
  kube_client_free (c);
}

/* ---- WATCH ---- */

struct events {
  struct strbuf text;
  int stop_after, n;
};

static int
on_event (void *ud, enum kube_watch_type type, const cJSON *obj)
{
  static const char *const names[] = { "ADDED", "MODIFIED", "DELETED", "BOOKMARK" };
  struct events *e = ud;
  const cJSON *n = cJSON_GetObjectItem (cJSON_GetObjectItem (obj, "metadata"), "name");
  strbuf_printf (&e->text, "%s %s;", names[type], cJSON_IsString (n) ? n->valuestring : "-");
  return e->stop_after && ++e->n >= e->stop_after;
}

#define EVENT(t, n, rv) "{\"line\": \"{\\\"type\\\": \\\"" t "\\\", \\\"object\\\": {\\\"metadata\\\": {\\\"name\\\": \\\"" n "\\\", \\\"resourceVersion\\\": \\\"" rv "\\\"}}}\", \"delay\": 0.05}"

Test (watch, events_in_order)
{
  stub_rules ("[{\"path\": \"/api/v1/secrets\", \"query_has\": \"watch=1\", \"stream\": ["
              EVENT ("ADDED", "a", "5") "," EVENT ("MODIFIED", "a", "6") "," EVENT ("BOOKMARK", "", "7") ","
              EVENT ("DELETED", "a", "8") "]}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct events e = { STRBUF_INIT, 0, 0 };
  struct kube_watch_opts o = { .label_selector = "owner=helm", .resource_version = "4", .timeout_seconds = 30,
                               .bookmarks = true };
  char *rv = NULL;
  struct rm_error err;
  cr_assert_eq (kube_watch (c, "/api/v1/secrets", &o, on_event, &e, &rv, &err), KUBE_OK, "%s", err.message);
  cr_expect_str_eq (e.text.data, "ADDED a;MODIFIED a;BOOKMARK ;DELETED a;");
  cr_expect_str_eq (rv, "8");
  cJSON *log = stub_log ();
  cr_expect_str_eq (cJSON_GetObjectItem (log_entry (log, 0), "query")->valuestring,
                    "watch=1&labelSelector=owner%3Dhelm&resourceVersion=4&timeoutSeconds=30&allowWatchBookmarks=true");
  cJSON_Delete (log);
  free (rv);
  strbuf_free (&e.text);
  kube_client_free (c);
}

/* A Status whose code no integer holds (1e300, 410.5) is an error of its own kind, not
 * undefined behaviour (UBSan float-cast-overflow, issue 11): it counts as a 500. */
Test (watch, error_code_out_of_range)
{
  stub_rules ("[{\"path\": \"/w1\", \"stream\": ["
              "{\"line\": \"{\\\"type\\\": \\\"ERROR\\\", \\\"object\\\": {\\\"kind\\\": \\\"Status\\\", \\\"code\\\": 1e300,"
              " \\\"message\\\": \\\"huge\\\"}}\"}]},"
              " {\"path\": \"/w2\", \"stream\": ["
              "{\"line\": \"{\\\"type\\\": \\\"ERROR\\\", \\\"object\\\": {\\\"kind\\\": \\\"Status\\\", \\\"code\\\": 410.5,"
              " \\\"message\\\": \\\"fraction\\\"}}\"}]}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct events e = { STRBUF_INIT, 0, 0 };
  struct rm_error err;
  int rc = kube_watch (c, "/w1", NULL, on_event, &e, NULL, &err);
  cr_expect_neq (rc, KUBE_OK);
  cr_expect_neq (rc, KUBE_E_GONE, "a code of 1e300 read as 410: %s", err.message);
  cr_expect (strstr (err.message, "huge"), "%s", err.message);
  rc = kube_watch (c, "/w2", NULL, on_event, &e, NULL, &err);
  cr_expect_neq (rc, KUBE_E_GONE, "a code of 410.5 read as 410: %s", err.message);
  strbuf_free (&e.text);
  kube_client_free (c);
}

Test (watch, expired_and_stopped)
{
  stub_rules ("[{\"path\": \"/w1\", \"stream\": [" EVENT ("ADDED", "a", "5") ","
              "{\"line\": \"{\\\"type\\\": \\\"ERROR\\\", \\\"object\\\": {\\\"kind\\\": \\\"Status\\\", \\\"code\\\": 410,"
              " \\\"reason\\\": \\\"Expired\\\", \\\"message\\\": \\\"too old resource version: 4 (50)\\\"}}\"}]},"
              " {\"path\": \"/w2\", \"stream\": [" EVENT ("ADDED", "a", "5") "," EVENT ("ADDED", "b", "6") ","
              EVENT ("ADDED", "c", "7") "]}]");
  struct kube_client *c = stub_client (NULL, NULL, NULL, NULL);
  struct events e = { STRBUF_INIT, 0, 0 };
  struct rm_error err;
  cr_expect_eq (kube_watch (c, "/w1", NULL, on_event, &e, NULL, &err), KUBE_E_GONE);
  cr_expect_str_eq (err.message, "Expired: too old resource version: 4 (50)");
  cr_expect_str_eq (e.text.data, "ADDED a;");
  e.stop_after = 2;
  e.text.len = 0;
  char *rv;
  cr_expect_eq (kube_watch (c, "/w2", NULL, on_event, &e, &rv, &err), KUBE_E_ABORTED);
  cr_expect_str_eq (e.text.data, "ADDED a;ADDED b;");
  cr_expect_str_eq (rv, "6");
  free (rv);
  strbuf_free (&e.text);
  kube_client_free (c);
}
