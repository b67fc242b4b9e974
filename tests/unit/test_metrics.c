/* The daemon's metrics registry (core/daemon/metrics.c) and its metric set (rmmetrics.c):
 * the text exposition format byte for byte (labels, escaping, a histogram's cumulative
 * buckets, +Inf, _sum and _count), the expvar-style JSON, the checks on names, labels,
 * buckets and updates, and exact totals when several threads update at once. */
#include <config.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "daemon/metrics.h"
#include "daemon/rmmetrics.h"

UNITTEST bool metrics_utf8_valid (const char *s);

static const double small_buckets[] = { 0.1, 1, 2.5 };

static struct metrics *
small_registry (int *req, int *up, int *lat)
{
  struct metrics *m = metrics_new ();
  struct rm_error err = { 0, "" };
  struct metric_desc d1 = { "app_requests_total", "Requests by op\\result\nsecond line? no",
                            METRIC_COUNTER, { "op", "result", NULL }, NULL, 0 };
  /* The help text above has a newline: refused.  The escaped form is tested below. */
  cr_assert_eq (metrics_register (m, &d1, &err), -1);
  cr_assert_str_eq (err.message, "metric app_requests_total: the help text must be one line");
  d1.help = "Requests by op\\result";
  *req = metrics_register (m, &d1, &err);
  cr_assert_eq (*req, 0, "%s", err.message);
  struct metric_desc d2 = { "app_up", "1 when up", METRIC_GAUGE, { NULL }, NULL, 0 };
  *up = metrics_register (m, &d2, &err);
  cr_assert_eq (*up, 1, "%s", err.message);
  struct metric_desc d3 = { "app_latency_seconds", "Latency", METRIC_HISTOGRAM,
                            { "kind", NULL }, small_buckets, 3 };
  *lat = metrics_register (m, &d3, &err);
  cr_assert_eq (*lat, 2, "%s", err.message);
  return m;
}

Test (metrics, text_format_byte_exact)
{
  int req, up, lat;
  struct metrics *m = small_registry (&req, &up, &lat);
  cr_assert_eq (metrics_add (m, req, (const char *[]) { "put", "ok", NULL }, 3), 0);
  cr_assert_eq (metrics_add (m, req, (const char *[]) { "get", "err \"x\"\\y\nz", NULL }, 1), 0);
  cr_assert_eq (metrics_add (m, req, (const char *[]) { "put", "ok", NULL }, 0.5), 0);
  cr_assert_eq (metrics_set (m, up, NULL, 1), 0);
  cr_assert_eq (metrics_observe (m, lat, (const char *[]) { "full", NULL }, 0.05), 0);
  cr_assert_eq (metrics_observe (m, lat, (const char *[]) { "full", NULL }, 1), 0);   /* le=1 */
  cr_assert_eq (metrics_observe (m, lat, (const char *[]) { "full", NULL }, 7), 0);   /* +Inf */
  cr_assert_eq (metrics_observe (m, lat, (const char *[]) { "batch", NULL }, 2), 0);
  struct strbuf out = STRBUF_INIT;
  metrics_render_text (m, &out);
  cr_assert_str_eq (out.data,
    "# HELP app_requests_total Requests by op\\\\result\n"
    "# TYPE app_requests_total counter\n"
    "app_requests_total{op=\"get\",result=\"err \\\"x\\\"\\\\y\\nz\"} 1\n"
    "app_requests_total{op=\"put\",result=\"ok\"} 3.5\n"
    "# HELP app_up 1 when up\n"
    "# TYPE app_up gauge\n"
    "app_up 1\n"
    "# HELP app_latency_seconds Latency\n"
    "# TYPE app_latency_seconds histogram\n"
    "app_latency_seconds_bucket{kind=\"batch\",le=\"0.1\"} 0\n"
    "app_latency_seconds_bucket{kind=\"batch\",le=\"1\"} 0\n"
    "app_latency_seconds_bucket{kind=\"batch\",le=\"2.5\"} 1\n"
    "app_latency_seconds_bucket{kind=\"batch\",le=\"+Inf\"} 1\n"
    "app_latency_seconds_sum{kind=\"batch\"} 2\n"
    "app_latency_seconds_count{kind=\"batch\"} 1\n"
    "app_latency_seconds_bucket{kind=\"full\",le=\"0.1\"} 1\n"
    "app_latency_seconds_bucket{kind=\"full\",le=\"1\"} 2\n"
    "app_latency_seconds_bucket{kind=\"full\",le=\"2.5\"} 2\n"
    "app_latency_seconds_bucket{kind=\"full\",le=\"+Inf\"} 3\n"
    "app_latency_seconds_sum{kind=\"full\"} 8.05\n"
    "app_latency_seconds_count{kind=\"full\"} 3\n");
  cr_expect_eq (metrics_get (m, req, (const char *[]) { "put", "ok", NULL }), 3.5);
  cr_expect_eq (metrics_get (m, lat, (const char *[]) { "full", NULL }), 3);
  cr_expect_eq (metrics_get (m, req, (const char *[]) { "nothing", "here", NULL }), 0);
  strbuf_free (&out);
  metrics_free (m);
}

Test (metrics, json_rendering)
{
  int req, up, lat;
  struct metrics *m = small_registry (&req, &up, &lat);
  metrics_add (m, req, (const char *[]) { "put", "ok", NULL }, 2);
  metrics_add (m, req, (const char *[]) { "put", "error", NULL }, 1);
  metrics_add (m, req, (const char *[]) { "get", "ok", NULL }, 4);
  metrics_observe (m, lat, (const char *[]) { "full", NULL }, 0.5);
  struct strbuf out = STRBUF_INIT;
  metrics_render_json (m, &out);
  cr_assert_str_eq (out.data,
    "{\"app_requests_total\":{\"get\":{\"ok\":4},\"put\":{\"error\":1,\"ok\":2}},"
    "\"app_up\":0,"
    "\"app_latency_seconds\":{\"full\":{\"count\":1,\"sum\":0.5,"
    "\"buckets\":{\"0.1\":0,\"1\":1,\"2.5\":1,\"+Inf\":1}}}}");
  strbuf_free (&out);
  metrics_free (m);
}

Test (metrics, labelled_metric_without_series_has_only_help_and_type)
{
  int req, up, lat;
  struct metrics *m = small_registry (&req, &up, &lat);
  struct strbuf out = STRBUF_INIT;
  metrics_render_text (m, &out);
  cr_assert_str_eq (out.data,
    "# HELP app_requests_total Requests by op\\\\result\n"
    "# TYPE app_requests_total counter\n"
    "# HELP app_up 1 when up\n"
    "# TYPE app_up gauge\n"
    "app_up 0\n"
    "# HELP app_latency_seconds Latency\n"
    "# TYPE app_latency_seconds histogram\n");
  strbuf_free (&out);
  cr_assert_eq (metrics_touch (m, req, (const char *[]) { "list", "ok", NULL }), 0);
  metrics_render_text (m, &out);
  cr_assert (strstr (out.data, "\napp_requests_total{op=\"list\",result=\"ok\"} 0\n"), "%s", out.data);
  strbuf_free (&out);
  metrics_free (m);
}

Test (metrics, registration_checks)
{
  static const double inc[] = { 1, 2 }, flat[] = { 1, 1 }, inf[] = { 1, INFINITY };
  static const struct { struct metric_desc d; const char *msg; } bad[] = {
    { { "1abc_total", "h", METRIC_COUNTER, { NULL }, NULL, 0 },
      "metric 1abc_total: not a valid metric name" },
    { { "a-b", "h", METRIC_GAUGE, { NULL }, NULL, 0 }, "metric a-b: not a valid metric name" },
    { { "", "h", METRIC_GAUGE, { NULL }, NULL, 0 }, "metric : not a valid metric name" },
    { { "reqs", "h", METRIC_COUNTER, { NULL }, NULL, 0 },
      "metric reqs: a counter's name ends in _total" },
    { { "g", "h", METRIC_GAUGE, { "__x", NULL }, NULL, 0 }, "metric g: label name __x is not allowed" },
    { { "g", "h", METRIC_GAUGE, { "a:b", NULL }, NULL, 0 }, "metric g: label name a:b is not allowed" },
    { { "g", "h", METRIC_GAUGE, { "a", "a", NULL }, NULL, 0 }, "metric g: label a twice" },
    { { "h", "h", METRIC_HISTOGRAM, { "le", NULL }, inc, 2 }, "metric h: label name le is not allowed" },
    { { "h", "h", METRIC_HISTOGRAM, { NULL }, NULL, 0 }, "metric h: a histogram needs buckets" },
    { { "h", "h", METRIC_HISTOGRAM, { NULL }, flat, 2 },
      "metric h: buckets must be finite and strictly increasing" },
    { { "h", "h", METRIC_HISTOGRAM, { NULL }, inf, 2 },
      "metric h: buckets must be finite and strictly increasing" },
    { { "app_up", "h", METRIC_GAUGE, { NULL }, NULL, 0 }, "metric app_up: the name is taken by app_up" },
    { { "app_latency_seconds_sum", "h", METRIC_GAUGE, { NULL }, NULL, 0 },
      "metric app_latency_seconds_sum: the name is taken by app_latency_seconds" },
    { { "app", "h", METRIC_HISTOGRAM, { NULL }, inc, 2 }, NULL },   /* fine */
    { { "app_count", "h", METRIC_GAUGE, { NULL }, NULL, 0 },
      "metric app_count: the name is taken by app" },
  };
  int req, up, lat;
  struct metrics *m = small_registry (&req, &up, &lat);
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    struct rm_error err = { 0, "" };
    int id = metrics_register (m, &bad[i].d, &err);
    if (!bad[i].msg) {
      cr_expect_geq (id, 0, "%zu: %s", i, err.message);
      continue;
    }
    cr_expect_eq (id, -1, "%zu", i);
    cr_expect_eq (err.code, RM_E_INVALID, "%zu", i);
    cr_expect_str_eq (err.message, bad[i].msg, "%zu", i);
  }
  metrics_free (m);
}

Test (metrics, update_checks)
{
  int req, up, lat;
  struct metrics *m = small_registry (&req, &up, &lat);
  const char *const one[] = { "put", NULL };
  const char *const three[] = { "put", "ok", "x", NULL };
  const char *const ok[] = { "put", "ok", NULL };
  const char *const latin1[] = { "put", "caf\xe9", NULL };
  const char *const overlong[] = { "put", "\xc0\xaf", NULL };
  const char *const surrogate[] = { "put", "\xed\xa0\x80", NULL };
  cr_expect_eq (metrics_add (m, req, one, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, req, three, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, req, NULL, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, req, latin1, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, req, overlong, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, req, surrogate, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, req, ok, -1), RM_E_INVALID);      /* a counter never goes down */
  cr_expect_eq (metrics_add (m, req, ok, NAN), RM_E_INVALID);
  cr_expect_eq (metrics_set (m, req, ok, 5), RM_E_INVALID);       /* set: gauges only */
  cr_expect_eq (metrics_observe (m, req, ok, 5), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, lat, (const char *[]) { "full", NULL }, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, up, (const char *[]) { "x", NULL }, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, 99, NULL, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, -1, NULL, 1), RM_E_INVALID);
  cr_expect_eq (metrics_add (m, up, NULL, -2), 0);                /* a gauge may */
  cr_expect_eq (metrics_get (m, up, NULL), -2);
  cr_expect_eq (metrics_add (m, req, (const char *[]) { "put", "caf\xc3\xa9 \xf0\x9f\x9a\x80", NULL }, 1), 0);
  struct strbuf out = STRBUF_INIT;
  metrics_render_text (m, &out);
  /* Nothing refused above left a series behind. */
  cr_assert_str_eq (out.data,
    "# HELP app_requests_total Requests by op\\\\result\n"
    "# TYPE app_requests_total counter\n"
    "app_requests_total{op=\"put\",result=\"caf\xc3\xa9 \xf0\x9f\x9a\x80\"} 1\n"
    "# HELP app_up 1 when up\n"
    "# TYPE app_up gauge\n"
    "app_up -2\n"
    "# HELP app_latency_seconds Latency\n"
    "# TYPE app_latency_seconds histogram\n");
  strbuf_free (&out);
  metrics_free (m);
}

Test (metrics, format_double)
{
  static const struct { double v; const char *want; } cases[] = {
    { 0, "0" }, { 1, "1" }, { -3, "-3" }, { 0.1, "0.1" }, { 2.5, "2.5" }, { 0.005, "0.005" },
    { 1e6, "1000000" }, { 123456, "123456" }, { 123456.5, "123456.5" }, { -0.0, "0" },
    { 1.7e9, "1700000000" }, { 1e15, "1e+15" }, { 1.5e300, "1.5e+300" }, { 5e-324, "5e-324" }, { 1.0 / 3, "0.3333333333333333" },
    { 9007199254740993.0, "9007199254740992" }, { 1e-9, "1e-09" },
    { INFINITY, "+Inf" }, { -INFINITY, "-Inf" }, { NAN, "NaN" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    char buf[32];
    metrics_format_double (cases[i].v, buf, sizeof buf);
    cr_expect_str_eq (buf, cases[i].want, "%.17g", cases[i].v);
  }
}

Test (metrics, utf8)
{
  cr_expect (metrics_utf8_valid (""));
  cr_expect (metrics_utf8_valid ("plain"));
  cr_expect (metrics_utf8_valid ("\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf"));   /* é € U+10FFFF */
  cr_expect (!metrics_utf8_valid ("\xf4\x90\x80\x80"));   /* above U+10FFFF */
  cr_expect (!metrics_utf8_valid ("\xe0\x80\xaf"));       /* overlong */
  cr_expect (!metrics_utf8_valid ("\xc3"));               /* cut short */
  cr_expect (!metrics_utf8_valid ("\x80"));
}

/* Several threads update the same series and new ones at once: nothing is lost. */
#define THREADS 8
#define ROUNDS 20000

struct worker { struct metrics *m; int req, lat, n; };

static void *
work (void *arg)
{
  struct worker *w = arg;
  char own[16];
  snprintf (own, sizeof own, "t%d", w->n);
  for (int i = 0; i < ROUNDS; i++) {
    metrics_add (w->m, w->req, (const char *[]) { "put", "ok", NULL }, 1);
    metrics_add (w->m, w->req, (const char *[]) { own, i % 2 ? "ok" : "error", NULL }, 1);
    metrics_observe (w->m, w->lat, (const char *[]) { "full", NULL }, (i % 4) * 1.0);
    if (i % 1000 == 0) {   /* a scrape in the middle */
      struct strbuf out = STRBUF_INIT;
      metrics_render_text (w->m, &out);
      strbuf_free (&out);
    }
  }
  return NULL;
}

Test (metrics, concurrent_updates_are_exact)
{
  int req, up, lat;
  struct metrics *m = small_registry (&req, &up, &lat);
  pthread_t t[THREADS];
  struct worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (struct worker) { m, req, lat, i };
    cr_assert_eq (pthread_create (&t[i], NULL, work, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join (t[i], NULL);
  cr_expect_eq (metrics_get (m, req, (const char *[]) { "put", "ok", NULL }), THREADS * ROUNDS);
  for (int i = 0; i < THREADS; i++) {
    char own[16];
    snprintf (own, sizeof own, "t%d", i);
    cr_expect_eq (metrics_get (m, req, (const char *[]) { own, "ok", NULL }), ROUNDS / 2);
    cr_expect_eq (metrics_get (m, req, (const char *[]) { own, "error", NULL }), ROUNDS / 2);
  }
  struct strbuf out = STRBUF_INIT;
  metrics_render_text (m, &out);
  /* Values 0, 1, 2, 3 in turn: le=0.1 holds a quarter, le=1 half, le=2.5 three quarters. */
  char want[512];
  snprintf (want, sizeof want,
    "app_latency_seconds_bucket{kind=\"full\",le=\"0.1\"} %d\n"
    "app_latency_seconds_bucket{kind=\"full\",le=\"1\"} %d\n"
    "app_latency_seconds_bucket{kind=\"full\",le=\"2.5\"} %d\n"
    "app_latency_seconds_bucket{kind=\"full\",le=\"+Inf\"} %d\n"
    "app_latency_seconds_sum{kind=\"full\"} %d\n"
    "app_latency_seconds_count{kind=\"full\"} %d\n",
    THREADS * ROUNDS / 4, THREADS * ROUNDS / 2, THREADS * ROUNDS / 4 * 3, THREADS * ROUNDS,
    THREADS * ROUNDS / 4 * 6, THREADS * ROUNDS);
  cr_expect (strstr (out.data, want), "%s", out.data);
  strbuf_free (&out);
  metrics_free (m);
}

/* The daemon's metric set: every name registers (rmmetrics_new aborts otherwise), in enum
 * order, with the build's labels and the error kinds at 0. */
Test (rmmetrics, names_and_initial_series)
{
  struct metrics *m = rmmetrics_new ();
  struct strbuf out = STRBUF_INIT;
  metrics_render_text (m, &out);
  char build[256];
  snprintf (build, sizeof build, "\nreleasemanager_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n",
            PACKAGE_VERSION, RM_BACKEND_ABI_MAJOR, RM_BACKEND_ABI_MINOR);
  cr_expect (strstr (out.data, build), "%s", out.data);
  static const char *const lines[] = {
    "# TYPE releasemanager_store_records gauge\nreleasemanager_store_records 0\n",
    "# TYPE releasemanager_store_bytes gauge\n",
    "# TYPE releasemanager_last_successful_sync_timestamp_seconds gauge\n",
    "# TYPE releasemanager_sync_duration_seconds histogram\n",
    "releasemanager_change_to_backup_latency_seconds_bucket{le=\"1\"} 0\n",
    "releasemanager_change_to_backup_latency_seconds_count 0\n",
    "releasemanager_errors_total{kind=\"api\"} 0\n",
    "releasemanager_errors_total{kind=\"record\"} 0\n",
    "# TYPE releasemanager_api_requests_total counter\n",
    "# TYPE releasemanager_backend_requests_total counter\n",
    "releasemanager_watch_restarts_total{reason=\"gone\"} 0\n",
    "releasemanager_leader 0\n",
    "releasemanager_consecutive_failed_cycles 0\n",
  };
  for (size_t i = 0; i < ARRAY_SIZE (lines); i++)
    cr_expect (strstr (out.data, lines[i]), "missing: %s", lines[i]);
  cr_expect_eq (metrics_add (m, RMM_ERRORS, (const char *[]) { "backend", NULL }, 1), 0);
  cr_expect_eq (metrics_add (m, RMM_API_REQUESTS, (const char *[]) { "list", "ok", NULL }, 1), 0);
  cr_expect_eq (metrics_observe (m, RMM_SYNC_DURATION, (const char *[]) { "resync", NULL }, 0.2), 0);
  cr_expect_eq (metrics_set (m, RMM_LEADER, NULL, 1), 0);
  cr_expect_eq (metrics_get (m, RMM_ERRORS, (const char *[]) { "backend", NULL }), 1);
  strbuf_free (&out);
  metrics_free (m);
}
