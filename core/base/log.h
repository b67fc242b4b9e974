/* Logging for the core and, through the host table, for plugins: levels, text or JSON
 * lines on stderr, and redaction of secret values from every line. */
#ifndef RM_LOG_H
#define RM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include <releasemanager/backend.h>   /* RM_LOG_* levels */

enum log_format { LOG_TEXT, LOG_JSON };

void log_set_level (int level);          /* highest RM_LOG_* level shown */
int log_get_level (void);
void log_set_format (enum log_format f);
/* Register a secret: it is replaced by "***" in every later log line and in text that
 * passes through log_redact().  Values shorter than 4 bytes are still redacted. */
void log_add_secret (const char *value);
void log_clear_secrets (void);
/* Replace registered secrets in buf (NUL-terminated, of size bytes) in place. */
void log_redact (char *buf, size_t size);

void log_msg (int level, const char *fmt, ...) __attribute__((format (printf, 2, 3)));
void log_vmsg (int level, const char *fmt, va_list ap) __attribute__((format (printf, 2, 0)));

/* Structured fields (--log-format json): key/value pairs this thread adds to every line
 * it logs, as JSON keys beside "msg" (text lines are unchanged: the message says it).
 * A stack per thread: push fields, log, then drop back to a mark; a key pushed again
 * hides the earlier value until popped.  "time", "level" and "msg" cannot be set.
 *
 *   size_t m = log_fields_mark ();
 *   log_field ("release", name);
 *   log_field_int ("revision", rev);
 *   log_info ("stored %s", key);
 *   log_fields_pop (m);
 *
 * A worker thread inherits its starter's fields through log_fields_copy (in the
 * starter) and log_fields_adopt (in the worker), and ends with log_fields_pop (0). */
struct log_fields;
size_t log_fields_mark (void);
void log_field (const char *key, const char *value);   /* NULL value: JSON null */
void log_field_int (const char *key, long long value);
void log_field_num (const char *key, double value);
void log_fields_pop (size_t mark);
struct log_fields *log_fields_copy (void);             /* NULL when there are none */
void log_fields_adopt (const struct log_fields *f);    /* push a copy of f's fields */
void log_fields_free (struct log_fields *f);

#define log_error(...) log_msg (RM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg (RM_LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg (RM_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg (RM_LOG_DEBUG, __VA_ARGS__)

#endif
