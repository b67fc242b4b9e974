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

#define log_error(...) log_msg (RM_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg (RM_LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg (RM_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg (RM_LOG_DEBUG, __VA_ARGS__)

#endif
