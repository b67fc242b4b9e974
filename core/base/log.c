/* Log lines go to stderr as "releasemanager: [level: ]message" or, with --log-format
 * json, as one JSON object per line.  Every line, from the core or a plugin, first
 * passes through the redactor, which replaces registered secret values with "***". */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "base/util.h"

static int level = RM_LOG_WARN;
static enum log_format format = LOG_TEXT;
static struct strlist secrets = STRLIST_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void log_set_level (int l) { level = l; }
int log_get_level (void) { return level; }
void log_set_format (enum log_format f) { format = f; }

void
log_add_secret (const char *value)
{
  if (!value || !*value)
    return;
  pthread_mutex_lock (&lock);
  if (!strlist_contains (&secrets, value))
    strlist_push (&secrets, value);
  pthread_mutex_unlock (&lock);
}

void
log_clear_secrets (void)
{
  pthread_mutex_lock (&lock);
  strlist_free (&secrets);
  pthread_mutex_unlock (&lock);
}

/* Return a copy of text with every registered secret replaced by "***".  Caller holds
 * the lock. */
static char *
redact_dup_locked (const char *text)
{
  struct strbuf out = STRBUF_INIT;
  const char *p = text;
  while (*p) {
    size_t best = 0;
    for (size_t i = 0; i < secrets.n; i++) {
      size_t n = strlen (secrets.items[i]);
      if (n > best && strncmp (p, secrets.items[i], n) == 0)
        best = n;
    }
    if (best) {
      strbuf_puts (&out, "***");
      p += best;
    }
    else
      strbuf_add (&out, p++, 1);
  }
  return strbuf_detach (&out);
}

void
log_redact (char *buf, size_t size)
{
  if (size == 0)
    return;
  pthread_mutex_lock (&lock);
  char *r = redact_dup_locked (buf);
  pthread_mutex_unlock (&lock);
  snprintf (buf, size, "%s", r);
  free (r);
}

/* ---- structured fields ---- */

enum field_type { FIELD_STR, FIELD_INT, FIELD_NUM, FIELD_NULL };

struct field {
  char *key;
  enum field_type type;
  char *str;
  long long i;
  double d;
};

struct log_fields {
  struct field *f;
  size_t n, cap;
};

static _Thread_local struct log_fields tl_fields;

size_t log_fields_mark (void) { return tl_fields.n; }

static struct field *
field_push (const char *key, enum field_type type)
{
  struct log_fields *fs = &tl_fields;
  if (fs->n == fs->cap) {
    fs->cap = fs->cap ? fs->cap * 2 : 8;
    fs->f = xrealloc (fs->f, fs->cap * sizeof *fs->f);
  }
  struct field *f = &fs->f[fs->n++];
  memset (f, 0, sizeof *f);
  f->key = xstrdup (key);
  f->type = type;
  return f;
}

void
log_field (const char *key, const char *value)
{
  if (value)
    field_push (key, FIELD_STR)->str = xstrdup (value);
  else
    field_push (key, FIELD_NULL);
}

void log_field_int (const char *key, long long value) { field_push (key, FIELD_INT)->i = value; }
void log_field_num (const char *key, double value) { field_push (key, FIELD_NUM)->d = value; }

void
log_fields_pop (size_t mark)
{
  struct log_fields *fs = &tl_fields;
  while (fs->n > mark) {
    struct field *f = &fs->f[--fs->n];
    free (f->key);
    free (f->str);
  }
  if (fs->n == 0) {
    /* A thread that ends with pop (0) leaves nothing allocated. */
    free (fs->f);
    fs->f = NULL;
    fs->cap = 0;
  }
}

struct log_fields *
log_fields_copy (void)
{
  if (!tl_fields.n)
    return NULL;
  struct log_fields *c = xcalloc (1, sizeof *c);
  c->f = xcalloc (tl_fields.n, sizeof *c->f);
  for (size_t i = 0; i < tl_fields.n; i++) {
    c->f[i] = tl_fields.f[i];
    c->f[i].key = xstrdup (tl_fields.f[i].key);
    c->f[i].str = tl_fields.f[i].str ? xstrdup (tl_fields.f[i].str) : NULL;
  }
  c->n = c->cap = tl_fields.n;
  return c;
}

void
log_fields_adopt (const struct log_fields *c)
{
  for (size_t i = 0; c && i < c->n; i++) {
    struct field *f = field_push (c->f[i].key, c->f[i].type);
    f->str = c->f[i].str ? xstrdup (c->f[i].str) : NULL;
    f->i = c->f[i].i;
    f->d = c->f[i].d;
  }
}

void
log_fields_free (struct log_fields *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++) {
    free (c->f[i].key);
    free (c->f[i].str);
  }
  free (c->f);
  free (c);
}

/* This thread's fields into o, the latest value of each key; values pass through the
 * redactor as the message does.  Caller holds the lock. */
static void
add_fields_locked (cJSON *o)
{
  for (size_t i = tl_fields.n; i-- > 0;) {
    const struct field *f = &tl_fields.f[i];
    if (cJSON_GetObjectItemCaseSensitive (o, f->key))
      continue;     /* time, level, msg, or a key pushed again later */
    switch (f->type) {
    case FIELD_STR: {
      char *v = secrets.n ? redact_dup_locked (f->str) : xstrdup (f->str);
      cJSON_AddStringToObject (o, f->key, v);
      free (v);
      break;
    }
    case FIELD_INT:
      cJSON_AddNumberToObject (o, f->key, (double) f->i);
      break;
    case FIELD_NUM:
      cJSON_AddNumberToObject (o, f->key, f->d);
      break;
    case FIELD_NULL:
      cJSON_AddNullToObject (o, f->key);
      break;
    }
  }
}

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
log_vmsg (int l, const char *fmt, va_list ap)
{
  if (l > level)
    return;
  if (l < RM_LOG_ERROR)
    l = RM_LOG_ERROR;
  if (l > RM_LOG_DEBUG)
    l = RM_LOG_DEBUG;

  struct strbuf sb = STRBUF_INIT;
  strbuf_vprintf (&sb, fmt, ap);
  while (sb.len && sb.data[sb.len - 1] == '\n')
    sb.data[--sb.len] = '\0';
  pthread_mutex_lock (&lock);
  char *text = secrets.n ? redact_dup_locked (sb.data) : strbuf_detach (&sb);
  if (format == LOG_JSON) {
    char ts[64];
    struct timespec now;
    struct tm tm;
    clock_gettime (CLOCK_REALTIME, &now);
    gmtime_r (&now.tv_sec, &tm);
    snprintf (ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
              now.tv_nsec / 1000000);
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "time", ts);
    cJSON_AddStringToObject (o, "level", level_names[l]);
    cJSON_AddStringToObject (o, "msg", text);
    add_fields_locked (o);
    char *line = cJSON_PrintUnformatted (o);
    if (line)
      fprintf (stderr, "%s\n", line);
    free (line);
    cJSON_Delete (o);
  }
  else if (l == RM_LOG_ERROR || l == RM_LOG_INFO)
    fprintf (stderr, "releasemanager: %s\n", text);
  else
    fprintf (stderr, "releasemanager: %s: %s\n", level_names[l], text);
  fflush (stderr);
  pthread_mutex_unlock (&lock);
  free (text);
  strbuf_free (&sb);
}

void
log_msg (int l, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  log_vmsg (l, fmt, ap);
  va_end (ap);
}
