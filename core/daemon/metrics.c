/* The metrics registry (metrics.h): families in registration order, each holding its
 * series sorted by label values (binary search on update), all behind one mutex; the
 * text exposition format 0.0.4 and expvar-style JSON are rendered under the same lock, so
 * a scrape sees one consistent state. */
#include <config.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "daemon/metrics.h"

struct series {
  char **values;         /* one owned string per label name */
  double value;          /* counter or gauge */
  uint64_t *counts;      /* histogram: per bucket, not cumulative; [nbuckets] is +Inf */
  uint64_t count;
  double sum;
};

struct family {
  struct metric_desc d;
  size_t nlabels;
  struct series **series;   /* sorted by values */
  size_t n, cap;
};

struct metrics {
  pthread_mutex_t lock;
  struct family *f;
  size_t n, cap;
};

struct metrics *
metrics_new (void)
{
  struct metrics *m = xcalloc (1, sizeof *m);
  pthread_mutex_init (&m->lock, NULL);
  return m;
}

static void
series_free (struct series *s, size_t nlabels)
{
  for (size_t i = 0; i < nlabels; i++)
    free (s->values[i]);
  free (s->values);
  free (s->counts);
  free (s);
}

void
metrics_free (struct metrics *m)
{
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++) {
    for (size_t j = 0; j < m->f[i].n; j++)
      series_free (m->f[i].series[j], m->f[i].nlabels);
    free (m->f[i].series);
  }
  free (m->f);
  pthread_mutex_destroy (&m->lock);
  free (m);
}

static bool
valid_name (const char *s, bool colon)
{
  if (!s || !*s)
    return false;
  for (const char *p = s; *p; p++) {
    bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'
                 || (colon && *p == ':');
    if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
      return false;
  }
  return true;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
UNITTEST bool metrics_utf8_valid (const char *s);
UNITTEST bool
metrics_utf8_valid (const char *s)
{
  const unsigned char *p = (const unsigned char *) s;
  while (*p) {
    unsigned c = *p, n;
    uint32_t cp;
    if (c < 0x80) { p++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return false;
    for (unsigned i = 1; i <= n; i++) {
      if ((p[i] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    p += n + 1;
  }
  return true;
}

int
metrics_register (struct metrics *m, const struct metric_desc *d, struct rm_error *err)
{
  const char *name = d->name ? d->name : "(null)";
  if (!valid_name (d->name, true))
    return err_set (err, RM_E_INVALID, "metric %s: not a valid metric name", name), -1;
  if (!d->help || strchr (d->help, '\n'))
    return err_set (err, RM_E_INVALID, "metric %s: the help text must be one line", name), -1;
  if (d->type == METRIC_COUNTER && !str_has_suffix (d->name, "_total"))
    return err_set (err, RM_E_INVALID, "metric %s: a counter's name ends in _total", name), -1;
  size_t nl = 0;
  for (; nl <= METRICS_MAX_LABELS && d->labels[nl]; nl++) {
    const char *l = d->labels[nl];
    if (!valid_name (l, false) || str_has_prefix (l, "__")
        || (d->type == METRIC_HISTOGRAM && !strcmp (l, "le")))
      return err_set (err, RM_E_INVALID, "metric %s: label name %s is not allowed", name, l), -1;
    for (size_t j = 0; j < nl; j++)
      if (!strcmp (d->labels[j], l))
        return err_set (err, RM_E_INVALID, "metric %s: label %s twice", name, l), -1;
  }
  if (nl > METRICS_MAX_LABELS)
    return err_set (err, RM_E_INVALID, "metric %s: more than %d labels", name,
                    METRICS_MAX_LABELS), -1;
  if (d->type == METRIC_HISTOGRAM) {
    if (!d->buckets || d->nbuckets == 0)
      return err_set (err, RM_E_INVALID, "metric %s: a histogram needs buckets", name), -1;
    for (size_t i = 0; i < d->nbuckets; i++)
      if (!isfinite (d->buckets[i]) || (i > 0 && !(d->buckets[i] > d->buckets[i - 1])))
        return err_set (err, RM_E_INVALID,
                        "metric %s: buckets must be finite and strictly increasing", name), -1;
  } else if (d->type != METRIC_COUNTER && d->type != METRIC_GAUGE) {
    return err_set (err, RM_E_INVALID, "metric %s: unknown type %d", name, (int) d->type), -1;
  }

  pthread_mutex_lock (&m->lock);
  for (size_t i = 0; i < m->n; i++) {
    const char *o = m->f[i].d.name;
    size_t lo = strlen (o), ln = strlen (d->name);
    /* A histogram's series names (_bucket, _sum, _count) collide too. */
    bool clash = !strcmp (o, d->name);
    if (!clash && m->f[i].d.type == METRIC_HISTOGRAM && ln > lo && !strncmp (o, d->name, lo))
      clash = !strcmp (d->name + lo, "_bucket") || !strcmp (d->name + lo, "_sum")
              || !strcmp (d->name + lo, "_count");
    if (!clash && d->type == METRIC_HISTOGRAM && lo > ln && !strncmp (o, d->name, ln))
      clash = !strcmp (o + ln, "_bucket") || !strcmp (o + ln, "_sum") || !strcmp (o + ln, "_count");
    if (clash) {
      pthread_mutex_unlock (&m->lock);
      return err_set (err, RM_E_INVALID, "metric %s: the name is taken by %s", name, o), -1;
    }
  }
  if (m->n == m->cap) {
    m->cap = m->cap ? 2 * m->cap : 16;
    m->f = xrealloc (m->f, m->cap * sizeof *m->f);
  }
  struct family *f = &m->f[m->n];
  memset (f, 0, sizeof *f);
  f->d = *d;
  f->nlabels = nl;
  int id = (int) m->n++;
  pthread_mutex_unlock (&m->lock);
  if (nl == 0)
    metrics_touch (m, id, NULL);
  return id;
}

static int
cmp_values (char *const *a, const char *const *b, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    int c = strcmp (a[i], b[i]);
    if (c)
      return c;
  }
  return 0;
}

/* The family of id, after checking values against it; NULL when either is wrong.  Called
 * with the lock held. */
static struct family *
family_of (struct metrics *m, int id, const char *const *values)
{
  if (id < 0 || (size_t) id >= m->n)
    return NULL;
  struct family *f = &m->f[id];
  size_t n = 0;
  if (values)
    for (; values[n]; n++)
      if (n >= f->nlabels || !metrics_utf8_valid (values[n]))
        return NULL;
  return n == f->nlabels ? f : NULL;
}

/* The series of values in f, created at zero when create; NULL when absent.  Lock held. */
static struct series *
series_of (struct family *f, const char *const *values, bool create)
{
  size_t lo = 0, hi = f->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = cmp_values (f->series[mid]->values, values, f->nlabels);
    if (c == 0)
      return f->series[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (!create)
    return NULL;
  struct series *s = xcalloc (1, sizeof *s);
  s->values = xcalloc (f->nlabels ? f->nlabels : 1, sizeof *s->values);
  for (size_t i = 0; i < f->nlabels; i++)
    s->values[i] = xstrdup (values[i]);
  if (f->d.type == METRIC_HISTOGRAM)
    s->counts = xcalloc (f->d.nbuckets + 1, sizeof *s->counts);
  if (f->n == f->cap) {
    f->cap = f->cap ? 2 * f->cap : 8;
    f->series = xrealloc (f->series, f->cap * sizeof *f->series);
  }
  memmove (&f->series[lo + 1], &f->series[lo], (f->n - lo) * sizeof *f->series);
  f->series[lo] = s;
  f->n++;
  return s;
}

enum op { OP_ADD, OP_SET, OP_OBSERVE, OP_TOUCH };

static int
update (struct metrics *m, int id, const char *const *values, double v, enum op op)
{
  int rc = RM_E_INVALID;
  pthread_mutex_lock (&m->lock);
  struct family *f = family_of (m, id, values);
  if (!f)
    goto out;
  enum metric_type t = f->d.type;
  if ((op == OP_ADD && t == METRIC_HISTOGRAM) || (op == OP_SET && t != METRIC_GAUGE)
      || (op == OP_OBSERVE && t != METRIC_HISTOGRAM) || (op == OP_ADD && t == METRIC_COUNTER && !(v >= 0)))
    goto out;
  struct series *s = series_of (f, values, true);
  switch (op) {
  case OP_ADD: s->value += v; break;
  case OP_SET: s->value = v; break;
  case OP_OBSERVE: {
    size_t b = 0;
    while (b < f->d.nbuckets && !(v <= f->d.buckets[b]))
      b++;
    s->counts[b]++;
    s->count++;
    s->sum += v;
    break;
  }
  case OP_TOUCH: break;
  }
  rc = 0;
out:
  pthread_mutex_unlock (&m->lock);
  return rc;
}

int
metrics_add (struct metrics *m, int id, const char *const *values, double v)
{
  return update (m, id, values, v, OP_ADD);
}

int
metrics_set (struct metrics *m, int id, const char *const *values, double v)
{
  return update (m, id, values, v, OP_SET);
}

int
metrics_observe (struct metrics *m, int id, const char *const *values, double v)
{
  return update (m, id, values, v, OP_OBSERVE);
}

int
metrics_touch (struct metrics *m, int id, const char *const *values)
{
  return update (m, id, values, 0, OP_TOUCH);
}

double
metrics_get (struct metrics *m, int id, const char *const *values)
{
  double v = 0;
  pthread_mutex_lock (&m->lock);
  struct family *f = family_of (m, id, values);
  struct series *s = f ? series_of (f, values, false) : NULL;
  if (s)
    v = f->d.type == METRIC_HISTOGRAM ? (double) s->count : s->value;
  pthread_mutex_unlock (&m->lock);
  return v;
}

void
metrics_format_double (double v, char *buf, size_t size)
{
  if (isnan (v)) {
    snprintf (buf, size, "NaN");
    return;
  }
  if (isinf (v)) {
    snprintf (buf, size, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  /* Whole numbers (counts, bytes, Unix times) in full, as people read them. */
  if (v == floor (v) && fabs (v) < 1e15) {
    snprintf (buf, size, "%.0f", v == 0 ? 0.0 : v);
    return;
  }
  for (int p = 1; p <= 17; p++) {
    snprintf (buf, size, "%.*g", p, v);
    if (strtod (buf, NULL) == v)
      return;
  }
}

/* Escape HELP text (\ and newline) or, with quote, a label value (also "). */
static void
put_escaped (struct strbuf *out, const char *s, bool quote)
{
  for (; *s; s++) {
    if (*s == '\\')
      strbuf_puts (out, "\\\\");
    else if (*s == '\n')
      strbuf_puts (out, "\\n");
    else if (quote && *s == '"')
      strbuf_puts (out, "\\\"");
    else
      strbuf_add (out, s, 1);
  }
}

/* NAME{l1="v1",...[,le="B"]} VALUE\n */
static void
put_sample (struct strbuf *out, const struct family *f, const struct series *s,
            const char *suffix, const char *le, double v)
{
  char num[32];
  strbuf_puts (out, f->d.name);
  strbuf_puts (out, suffix);
  if (f->nlabels || le) {
    strbuf_puts (out, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
      strbuf_printf (out, "%s%s=\"", i ? "," : "", f->d.labels[i]);
      put_escaped (out, s->values[i], true);
      strbuf_puts (out, "\"");
    }
    if (le)
      strbuf_printf (out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    strbuf_puts (out, "}");
  }
  metrics_format_double (v, num, sizeof num);
  strbuf_printf (out, " %s\n", num);
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

void
metrics_render_text (struct metrics *m, struct strbuf *out)
{
  pthread_mutex_lock (&m->lock);
  for (size_t i = 0; i < m->n; i++) {
    const struct family *f = &m->f[i];
    strbuf_printf (out, "# HELP %s ", f->d.name);
    put_escaped (out, f->d.help, false);
    strbuf_printf (out, "\n# TYPE %s %s\n", f->d.name, type_names[f->d.type]);
    for (size_t j = 0; j < f->n; j++) {
      const struct series *s = f->series[j];
      if (f->d.type != METRIC_HISTOGRAM) {
        put_sample (out, f, s, "", NULL, s->value);
        continue;
      }
      uint64_t cum = 0;
      char le[32];
      for (size_t b = 0; b < f->d.nbuckets; b++) {
        cum += s->counts[b];
        metrics_format_double (f->d.buckets[b], le, sizeof le);
        put_sample (out, f, s, "_bucket", le, (double) cum);
      }
      put_sample (out, f, s, "_bucket", "+Inf", (double) s->count);
      put_sample (out, f, s, "_sum", NULL, s->sum);
      put_sample (out, f, s, "_count", NULL, (double) s->count);
    }
  }
  pthread_mutex_unlock (&m->lock);
}

static cJSON *
series_json (const struct family *f, const struct series *s)
{
  if (f->d.type != METRIC_HISTOGRAM)
    return cJSON_CreateNumber (s->value);
  cJSON *h = cJSON_CreateObject ();
  cJSON_AddNumberToObject (h, "count", (double) s->count);
  cJSON_AddNumberToObject (h, "sum", s->sum);
  cJSON *b = cJSON_AddObjectToObject (h, "buckets");
  uint64_t cum = 0;
  char le[32];
  for (size_t i = 0; i < f->d.nbuckets; i++) {
    cum += s->counts[i];
    metrics_format_double (f->d.buckets[i], le, sizeof le);
    cJSON_AddNumberToObject (b, le, (double) cum);
  }
  cJSON_AddNumberToObject (b, "+Inf", (double) s->count);
  return h;
}

void
metrics_render_json (struct metrics *m, struct strbuf *out)
{
  cJSON *root = cJSON_CreateObject ();
  pthread_mutex_lock (&m->lock);
  for (size_t i = 0; i < m->n; i++) {
    const struct family *f = &m->f[i];
    if (f->nlabels == 0) {
      cJSON_AddItemToObject (root, f->d.name, series_json (f, f->series[0]));
      continue;
    }
    cJSON *top = cJSON_AddObjectToObject (root, f->d.name);
    for (size_t j = 0; j < f->n; j++) {
      const struct series *s = f->series[j];
      cJSON *o = top;
      for (size_t l = 0; l + 1 < f->nlabels; l++) {
        cJSON *next = cJSON_GetObjectItemCaseSensitive (o, s->values[l]);
        o = next ? next : cJSON_AddObjectToObject (o, s->values[l]);
      }
      cJSON_AddItemToObject (o, s->values[f->nlabels - 1], series_json (f, s));
    }
  }
  pthread_mutex_unlock (&m->lock);
  char *text = cJSON_PrintUnformatted (root);
  strbuf_puts (out, text);
  free (text);
  cJSON_Delete (root);
}
