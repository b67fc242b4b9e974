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
