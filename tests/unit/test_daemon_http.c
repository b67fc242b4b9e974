/* The daemon's HTTP server (core/daemon/http.c), started on port 0 and driven with libcurl
 * in both threading modes: every endpoint's status, Content-Type and body, HEAD, 404 and
 * 405, health callbacks failing with a reason (secrets redacted), a failing /releases,
 * the listen-address parser's messages, a taken port, stop with a client still
 * connected, and `promtool check metrics` on /metrics when promtool is installed. */
#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "base/error.h"
#include "base/log.h"
#include "daemon/http.h"
#include "daemon/rmmetrics.h"
#include "kube/kube.h"

struct reply {
  long status;
  char type[128];
  char allow[64];
  struct strbuf body;
};

static size_t
on_body (char *p, size_t size, size_t n, void *arg)
{
  strbuf_add (arg, p, size * n);
  return size * n;
}

static size_t
on_header (char *p, size_t size, size_t n, void *arg)
{
  struct reply *r = arg;
  size_t len = size * n;
  char line[256];
  snprintf (line, sizeof line, "%.*s", (int) len, p);
  line[strcspn (line, "\r\n")] = '\0';
  if (!strncasecmp (line, "Allow: ", 7))
    snprintf (r->allow, sizeof r->allow, "%.63s", line + 7);
  return len;
}

/* METHOD http://HOST:port/PATH; the reply's body is "" for none. */
static void
request (const char *host, unsigned port, const char *method, const char *path, struct reply *r)
{
  memset (r, 0, sizeof *r);
  strbuf_puts (&r->body, "");
  char url[256];
  snprintf (url, sizeof url, "http://%s:%u%s", host, port, path);
  CURL *c = curl_easy_init ();
  cr_assert_not_null (c);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (c, CURLOPT_NOPROXY, "*");
  if (!strcmp (method, "HEAD"))
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  else if (!strcmp (method, "POST"))
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, "a=1&b=2");
  else if (strcmp (method, "GET"))
    curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
  CURLcode rc = curl_easy_perform (c);
  cr_assert_eq (rc, CURLE_OK, "%s %s: %s", method, url, curl_easy_strerror (rc));
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &r->status);
  char *type = NULL;
  curl_easy_getinfo (c, CURLINFO_CONTENT_TYPE, &type);
  snprintf (r->type, sizeof r->type, "%s", type ? type : "");
  curl_easy_cleanup (c);
}

#define TEXT "text/plain; charset=utf-8"
#define JSON "application/json; charset=utf-8"

static void
expect (unsigned port, const char *method, const char *path, long status, const char *type,
        const char *body)
{
  struct reply r;
  request ("127.0.0.1", port, method, path, &r);
  cr_expect_eq (r.status, status, "%s %s: %ld", method, path, r.status);
  cr_expect_str_eq (r.type, type, "%s %s", method, path);
  if (body)
    cr_expect_str_eq (r.body.data, body, "%s %s", method, path);
  if (status == 405)
    cr_expect_str_eq (r.allow, "GET, HEAD", "%s %s", method, path);
  strbuf_free (&r.body);
}

/* The callbacks' state: what the daemon would hold. */
struct state {
  bool healthy, ready, releases_fail;
};

static bool
healthz (void *arg, struct strbuf *reason)
{
  struct state *s = arg;
  if (!s->healthy)
    strbuf_puts (reason, "2 sync cycles failed in a row: backend put: key=s3cr3t-K3Y-value denied");
  return s->healthy;
}

static bool
readyz (void *arg, struct strbuf *reason)
{
  struct state *s = arg;
  if (!s->ready)
    strbuf_puts (reason, "the first full sync has not finished");
  return s->ready;
}

static int
releases (void *arg, struct strbuf *body, struct rm_error *err)
{
  struct state *s = arg;
  if (s->releases_fail)
    return err_set (err, RM_E_IO, "index.json: unreadable (token s3cr3t-K3Y-value)");
  strbuf_puts (body, "[\"default/web\",\"kube-system/dns\"]");
  return 0;
}

static void
serve_everything (enum http_mode mode)
{
  log_add_secret ("s3cr3t-K3Y-value");
  struct metrics *m = rmmetrics_new ();
  metrics_add (m, RMM_ERRORS, (const char *[]) { "backend", NULL }, 2);
  struct state st = { true, false, false };
  struct http_handlers h = { healthz, readyz, releases, m, &st };
  struct rm_error err = { 0, "" };
  struct http_server *s = http_start ("127.0.0.1:0", mode, &h, &err);
  cr_assert_not_null (s, "%s", err.message);
  unsigned port = http_port (s);
  cr_assert_gt (port, 0);

  expect (port, "GET", "/healthz", 200, TEXT, "ok");
  expect (port, "HEAD", "/healthz", 200, TEXT, "");
  expect (port, "GET", "/readyz", 503, TEXT, "the first full sync has not finished");
  st.ready = true;
  expect (port, "GET", "/readyz", 200, TEXT, "ok");
  st.healthy = false;
  expect (port, "GET", "/healthz", 503, TEXT,
          "2 sync cycles failed in a row: backend put: key=*** denied");
  expect (port, "GET", "/releases", 200, JSON, "[\"default/web\",\"kube-system/dns\"]");
  expect (port, "GET", "/releases?x=1", 200, JSON, "[\"default/web\",\"kube-system/dns\"]");
  st.releases_fail = true;
  expect (port, "GET", "/releases", 500, TEXT,
          "error retrieving stored releases: index.json: unreadable (token ***)\n");

  struct strbuf text = STRBUF_INIT, json = STRBUF_INIT;
  metrics_render_text (m, &text);
  metrics_render_json (m, &json);
  strbuf_puts (&json, "\n");
  expect (port, "GET", "/metrics", 200, METRICS_TEXT_CONTENT_TYPE, text.data);
  expect (port, "HEAD", "/metrics", 200, METRICS_TEXT_CONTENT_TYPE, "");
  expect (port, "GET", "/debug/vars", 200, JSON, json.data);
  cr_expect (strstr (json.data, "\"releasemanager_errors_total\":{\"api\":0,\"backend\":2,"),
             "%s", json.data);
  strbuf_free (&text);
  strbuf_free (&json);

  expect (port, "GET", "/", 404, TEXT, "404 page not found\n");
  expect (port, "GET", "/healthz/", 404, TEXT, "404 page not found\n");
  expect (port, "GET", "/debug/pprof", 404, TEXT, "404 page not found\n");
  expect (port, "POST", "/healthz", 405, TEXT, "405 method not allowed: use GET or HEAD\n");
  expect (port, "DELETE", "/releases", 405, TEXT, "405 method not allowed: use GET or HEAD\n");
  expect (port, "PUT", "/metrics", 405, TEXT, "405 method not allowed: use GET or HEAD\n");
  expect (port, "POST", "/nowhere", 404, TEXT, "404 page not found\n");

  http_stop (s);
  metrics_free (m);
  log_clear_secrets ();
}

Test (http, internal_thread)
{
  serve_everything (HTTP_MODE_INTERNAL_THREAD);
}

Test (http, thread_per_connection)
{
  serve_everything (HTTP_MODE_THREAD_PER_CONNECTION);
}

Test (http, no_callbacks)
{
  struct http_handlers h = { NULL, NULL, NULL, NULL, NULL };
  struct rm_error err = { 0, "" };
  struct http_server *s = http_start ("127.0.0.1:0", HTTP_MODE_INTERNAL_THREAD, &h, &err);
  cr_assert_not_null (s, "%s", err.message);
  unsigned port = http_port (s);
  expect (port, "GET", "/healthz", 200, TEXT, "ok");
  expect (port, "GET", "/readyz", 200, TEXT, "ok");
  expect (port, "GET", "/releases", 200, JSON, "[]");
  expect (port, "GET", "/metrics", 200, METRICS_TEXT_CONTENT_TYPE, "");
  expect (port, "GET", "/debug/vars", 200, JSON, "{}\n");
  http_stop (s);
}

/* ":PORT" listens on every address: IPv4 loopback answers, and IPv6 loopback too where
 * the machine has it. */
Test (http, every_address)
{
  struct http_handlers h = { NULL, NULL, NULL, NULL, NULL };
  struct rm_error err = { 0, "" };
  struct http_server *s = http_start (":0", HTTP_MODE_INTERNAL_THREAD, &h, &err);
  cr_assert_not_null (s, "%s", err.message);
  unsigned port = http_port (s);
  expect (port, "GET", "/healthz", 200, TEXT, "ok");
  int fd = socket (AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons (port),
                            .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  if (fd >= 0 && connect (fd, (struct sockaddr *) &a, sizeof a) == 0) {
    struct reply r;
    request ("[::1]", port, "GET", "/readyz", &r);
    cr_expect_eq (r.status, 200);
    strbuf_free (&r.body);
  } else {
    cr_log_info ("no IPv6 loopback here: only IPv4 checked");
  }
  if (fd >= 0)
    close (fd);
  http_stop (s);
}

Test (http, ipv6_literal)
{
  struct http_handlers h = { NULL, NULL, NULL, NULL, NULL };
  struct rm_error err = { 0, "" };
  struct http_server *s = http_start ("[::1]:0", HTTP_MODE_INTERNAL_THREAD, &h, &err);
  if (!s)
    cr_skip_test ("no IPv6 loopback here: %s", err.message);
  struct reply r;
  request ("[::1]", http_port (s), "GET", "/healthz", &r);
  cr_expect_eq (r.status, 200);
  cr_expect_str_eq (r.body.data, "ok");
  strbuf_free (&r.body);
  http_stop (s);
}

Test (http, host_name_and_taken_port)
{
  struct http_handlers h = { NULL, NULL, NULL, NULL, NULL };
  struct rm_error err = { 0, "" };
  struct http_server *s = http_start ("localhost:0", HTTP_MODE_INTERNAL_THREAD, &h, &err);
  cr_assert_not_null (s, "%s", err.message);
  char addr[64];
  snprintf (addr, sizeof addr, "127.0.0.1:%u", http_port (s));
  struct http_server *again = http_start (addr, HTTP_MODE_INTERNAL_THREAD, &h, &err);
  /* localhost may have resolved to ::1 first; then 127.0.0.1 of the same port is free. */
  if (again) {
    http_stop (again);
    http_stop (s);
    s = http_start ("127.0.0.1:0", HTTP_MODE_INTERNAL_THREAD, &h, &err);
    cr_assert_not_null (s, "%s", err.message);
    snprintf (addr, sizeof addr, "127.0.0.1:%u", http_port (s));
    again = http_start (addr, HTTP_MODE_INTERNAL_THREAD, &h, &err);
  }
  cr_assert_null (again);
  char want[128];
  snprintf (want, sizeof want, "listen address '%s': Address already in use", addr);
  cr_expect_str_eq (err.message, want);
  cr_expect_eq (err.code, RM_E_IO);
  http_stop (s);

  s = http_start ("no-such-host.invalid:80", HTTP_MODE_INTERNAL_THREAD, &h, &err);
  cr_assert_null (s);
  cr_expect (!strncmp (err.message, "listen address 'no-such-host.invalid:80': cannot resolve "
                       "no-such-host.invalid: ", 77), "%s", err.message);
}

/* Stop returns while clients are still connected: one idle after connecting, one in the
 * middle of its request line, one with a keep-alive connection that was served. */
static void
stop_with_clients (enum http_mode mode)
{
  struct http_handlers h = { NULL, NULL, NULL, NULL, NULL };
  struct rm_error err = { 0, "" };
  struct http_server *s = http_start ("127.0.0.1:0", mode, &h, &err);
  cr_assert_not_null (s, "%s", err.message);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (http_port (s)),
                           .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  int fds[3];
  for (int i = 0; i < 3; i++) {
    fds[i] = socket (AF_INET, SOCK_STREAM, 0);
    cr_assert_eq (connect (fds[i], (struct sockaddr *) &a, sizeof a), 0);
  }
  cr_assert_gt (write (fds[1], "GET /hea", 8), 0);
  const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert_eq (write (fds[2], req, strlen (req)), (ssize_t) strlen (req));
  char buf[512];
  ssize_t n = read (fds[2], buf, sizeof buf - 1);
  cr_assert_gt (n, 0);
  buf[n] = '\0';
  cr_expect (!strncmp (buf, "HTTP/1.1 200", 12), "%s", buf);
  http_stop (s);
  for (int i = 0; i < 3; i++)
    close (fds[i]);
}

Test (http, stop_with_clients_internal_thread)
{
  stop_with_clients (HTTP_MODE_INTERNAL_THREAD);
}

Test (http, stop_with_clients_thread_per_connection)
{
  stop_with_clients (HTTP_MODE_THREAD_PER_CONNECTION);
}

Test (http, listen_address_parser)
{
  static const struct { const char *text; const char *host; unsigned port; } good[] = {
    { ":8080", "", 8080 }, { ":0", "", 0 }, { "127.0.0.1:9090", "127.0.0.1", 9090 },
    { "localhost:65535", "localhost", 65535 }, { "[::1]:80", "::1", 80 },
    { "[::]:8080", "::", 8080 }, { "[fe80::1:2]:1", "fe80::1:2", 1 },
    { "metrics.example-1.internal:00080", "metrics.example-1.internal", 80 },
  };
  for (size_t i = 0; i < ARRAY_SIZE (good); i++) {
    struct http_addr a;
    struct rm_error err = { 0, "" };
    cr_expect_eq (http_addr_parse (good[i].text, &a, &err), 0, "%s: %s", good[i].text, err.message);
    cr_expect_str_eq (a.host, good[i].host, "%s", good[i].text);
    cr_expect_eq (a.port, good[i].port, "%s", good[i].text);
  }
  static const struct { const char *text; const char *why; } bad[] = {
    { "", "empty" },
    { "8080", "no port" },
    { "localhost", "no port" },
    { ":", "the port is not a number" },
    { ":80a", "the port is not a number" },
    { ":-1", "the port is not a number" },
    { ":+80", "the port is not a number" },
    { ": 80", "the port is not a number" },
    { ":65536", "the port is above 65535" },
    { ":123456", "the port is above 65535" },
    { "::1:80", "an IPv6 address needs brackets" },
    { "[::1]", "no ':PORT' after the brackets" },
    { "[::1]80", "no ':PORT' after the brackets" },
    { "[::1:80", "no ']' after the IPv6 address" },
    { "[]:80", "not an IPv6 address in the brackets" },
    { "[127.0.0.1]:80", "not an IPv6 address in the brackets" },
    { "[::1]:", "the port is not a number" },
    { "host name:80", "not a host name or IPv4 address before the port" },
    { "http://x:80", "an IPv6 address needs brackets" },
    { "x/y:80", "not a host name or IPv4 address before the port" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    struct http_addr a;
    struct rm_error err = { 0, "" };
    cr_expect_eq (http_addr_parse (bad[i].text, &a, &err), RM_E_INVALID, "%s", bad[i].text);
    char want[256];
    snprintf (want, sizeof want,
              "listen address '%s': %s (expected :PORT, HOST:PORT or [IPV6]:PORT)",
              bad[i].text, bad[i].why);
    cr_expect_str_eq (err.message, want);
  }
  struct http_handlers h = { NULL, NULL, NULL, NULL, NULL };
  struct rm_error err = { 0, "" };
  cr_expect_null (http_start (":99999", HTTP_MODE_INTERNAL_THREAD, &h, &err));
  cr_expect_str_eq (err.message, "listen address ':99999': the port is above 65535 "
                    "(expected :PORT, HOST:PORT or [IPV6]:PORT)");
}

/* Prometheus' own parser and linter on the daemon's /metrics, with every kind of series
 * present (labels, a histogram with observations, the build info). */
Test (http, promtool_check_metrics)
{
  if (system ("command -v promtool >/dev/null 2>&1") != 0)
    cr_skip_test ("promtool not installed (Debian package prometheus): /metrics not checked "
                  "by Prometheus");
  struct metrics *m = rmmetrics_new ();
  metrics_set (m, RMM_STORE_RECORDS, NULL, 1200);
  metrics_set (m, RMM_STORE_BYTES, NULL, 5.5e6);
  metrics_set (m, RMM_LAST_SYNC, NULL, 1.7e9);
  metrics_observe (m, RMM_SYNC_DURATION, (const char *[]) { "full", NULL }, 3.2);
  metrics_observe (m, RMM_SYNC_DURATION, (const char *[]) { "resync", NULL }, 0.04);
  metrics_observe (m, RMM_CHANGE_LATENCY, NULL, 0.3);
  metrics_add (m, RMM_ERRORS, (const char *[]) { "api", NULL }, 1);
  metrics_add (m, RMM_API_REQUESTS, (const char *[]) { "watch", "error", NULL }, 2);
  metrics_add (m, RMM_BACKEND_REQUESTS, (const char *[]) { "put", "ok", NULL }, 40);
  rmmetrics_observe_kube (m, "update", "leases", KUBE_E_CONFLICT, 120);
  rmmetrics_observe_backend (m, "get", RM_E_NOT_FOUND);
  metrics_add (m, RMM_WATCH_RESTARTS, (const char *[]) { "gone", NULL }, 1);
  metrics_set (m, RMM_LEADER, NULL, 1);
  struct http_handlers h = { NULL, NULL, NULL, m, NULL };
  struct rm_error err = { 0, "" };
  struct http_server *s = http_start ("127.0.0.1:0", HTTP_MODE_INTERNAL_THREAD, &h, &err);
  cr_assert_not_null (s, "%s", err.message);
  struct reply r;
  request ("127.0.0.1", http_port (s), "GET", "/metrics", &r);
  cr_assert_eq (r.status, 200);
  char path[] = "/tmp/rm-metrics-XXXXXX";
  int fd = mkstemp (path);
  cr_assert_geq (fd, 0);
  cr_assert_eq (write (fd, r.body.data, r.body.len), (ssize_t) r.body.len);
  close (fd);
  char cmd[256];
  snprintf (cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
  FILE *p = popen (cmd, "r");
  cr_assert_not_null (p);
  struct strbuf out = STRBUF_INIT;
  char buf[256];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, p)) > 0)
    strbuf_add (&out, buf, n);
  int rc = pclose (p);
  strbuf_puts (&out, "");
  cr_expect_eq (rc, 0, "promtool check metrics failed:\n%s\non:\n%s", out.data, r.body.data);
  cr_expect_str_eq (out.data, "", "promtool: %s", out.data);
  cr_expect (strstr (r.body.data, "releasemanager_api_requests_total{operation=\"lease_update\","
                                  "result=\"conflict\"} 1\n"), "%s", r.body.data);
  cr_expect (strstr (r.body.data, "releasemanager_backend_requests_total{operation=\"get\","
                                  "result=\"not_found\"} 1\n"), "%s", r.body.data);
  cr_expect (strstr (r.body.data, "\nreleasemanager_api_received_bytes_total 120\n"), "%s",
             r.body.data);
  unlink (path);
  strbuf_free (&out);
  strbuf_free (&r.body);
  http_stop (s);
  metrics_free (m);
}
