/* A registry of metrics for the daemon: counters, gauges and histograms with fixed buckets,
 * each with an optional set of label names, updated from any thread (one mutex per
 * registry) and rendered in the Prometheus text exposition format 0.0.4 (for /metrics) or
 * as expvar-style JSON (for /debug/vars).  Generic: the daemon's own metric names live in
 * rmmetrics.h. */
#ifndef RM_DAEMON_METRICS_H
#define RM_DAEMON_METRICS_H

#include <stddef.h>

#include "base/util.h"
#include <releasemanager/backend.h>   /* struct rm_error */

/* Content-Type of metrics_render_text's output. */
#define METRICS_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#define METRICS_MAX_LABELS 4

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* What a metric is.  The strings and the bucket array are not copied: they must outlive
 * the registry (string literals and static arrays, in practice). */
struct metric_desc {
  const char *name;        /* [a-zA-Z_:][a-zA-Z0-9_:]*; a counter's ends in _total */
  const char *help;        /* one line of text */
  enum metric_type type;
  /* Label names, NULL-terminated (at most METRICS_MAX_LABELS): [a-zA-Z_][a-zA-Z0-9_]*,
   * not starting with "__", and never "le" on a histogram.  No labels: { NULL }. */
  const char *labels[METRICS_MAX_LABELS + 1];
  /* A histogram's upper bounds, finite and strictly increasing; +Inf is implied. */
  const double *buckets;
  size_t nbuckets;
};

struct metrics;

struct metrics *metrics_new (void);
void metrics_free (struct metrics *m);

/* Add a metric; returns its id (0, 1, 2... in the order of registration) or -1 with err
 * filled (RM_E_INVALID) for a bad name, label name or bucket list, or a name taken.  A
 * metric without labels has its one series at 0 from the start; a labelled one shows a
 * series once it is touched or updated. */
int metrics_register (struct metrics *m, const struct metric_desc *d, struct rm_error *err);

/* Updates.  values holds one label value per label name of the metric, in order (valid
 * UTF-8), then NULL: (const char *[]) { "put", "ok", NULL }; NULL for a metric without
 * labels.  Each returns 0, or RM_E_INVALID when the id is unknown, the number of values is
 * wrong, a value is not UTF-8, the update does not fit the type (add or
 * set on a histogram, observe on a counter or gauge) or a counter would go down (v < 0 or
 * NaN); the registry is then unchanged. */
int metrics_add (struct metrics *m, int id, const char *const *values, double v);
int metrics_set (struct metrics *m, int id, const char *const *values, double v);  /* gauge */
int metrics_observe (struct metrics *m, int id, const char *const *values, double v);
/* Create the series of values at 0 if it does not exist (so a rate over it starts at 0). */
int metrics_touch (struct metrics *m, int id, const char *const *values);

/* The value of a series (a histogram's count); 0 when it does not exist.  For tests and
 * for the daemon's own decisions. */
double metrics_get (struct metrics *m, int id, const char *const *values);

/* Append the whole registry to out, in the text format 0.0.4: per metric, in the order
 * of registration, # HELP and # TYPE lines, then its series sorted by label values; a
 * histogram as NAME_bucket{...,le="B"} (cumulative, ending with le="+Inf"), NAME_sum and
 * NAME_count. */
void metrics_render_text (struct metrics *m, struct strbuf *out);
/* Append the registry as one JSON object: each metric's name maps to its value without
 * labels, or to objects nested by label value (in label order); a histogram's value is
 * {"count": N, "sum": S, "buckets": {"B": cumulative count, ..., "+Inf": N}}. */
void metrics_render_json (struct metrics *m, struct strbuf *out);

/* A double for the text format: a whole number below 10^15 in full ("160000"), any other
 * the shortest %g text that reads back the same ("0.1", "1e-09", "1e+15"), and +Inf, -Inf,
 * NaN.  buf needs 32 bytes. */
void metrics_format_double (double v, char *buf, size_t size);

#endif
