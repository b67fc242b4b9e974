/* The helpers of the core's error convention (see error.h): filling and prefixing a
 * struct rm_error, and naming codes from the tables the modules register. */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"

static struct err_table *tables;

static const char *const primary_names[] = {
  "RM_OK", "RM_E_NOT_FOUND", "RM_E_EXISTS", "RM_E_PRECONDITION", "RM_E_AUTH",
  "RM_E_PERMISSION", "RM_E_TRANSIENT", "RM_E_INVALID", "RM_E_IO", "RM_E_NOSPACE",
  "RM_E_UNSUPPORTED", "RM_E_NOMEM", "RM_E_CONFIG", "RM_E_ABORTED", "RM_E_INTERNAL",
};

void
err_register (struct err_table *t)
{
  t->next = tables;
  tables = t;
}

static const struct err_name *
lookup (int code)
{
  for (const struct err_table *t = tables; t; t = t->next)
    for (const struct err_name *n = t->names; n->name; n++)
      if (n->code == code)
        return n;
  return NULL;
}

const char *
err_strerror (int code)
{
  const struct err_name *n = code > 0xff ? lookup (code) : NULL;
  if (n)
    return n->text;
  return rm_strerror (code < 0 ? code : rm_primary (code));
}

const char *
err_name (int code)
{
  if (code >= 0 && code <= RM_E_LAST_)
    return primary_names[code];
  const struct err_name *n = code > 0xff ? lookup (code) : NULL;
  return n ? n->name : NULL;
}

int
err_vset (struct rm_error *err, int code, const char *fmt, va_list ap)
{
  if (!err)
    return code;
  err->code = code;
  vsnprintf (err->message, sizeof err->message, fmt, ap);
  log_redact (err->message, sizeof err->message);
  return code;
}

int
err_set (struct rm_error *err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  err_vset (err, code, fmt, ap);
  va_end (ap);
  return code;
}

int
err_prefix (struct rm_error *err, const char *fmt, ...)
{
  if (!err)
    return 0;
  char head[RM_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (head, sizeof head, fmt, ap);
  va_end (ap);
  if (n > 0) {
    size_t hl = (size_t) n < sizeof head ? (size_t) n : sizeof head - 1;
    size_t ml = strlen (err->message);
    if (hl + ml > sizeof err->message - 1)
      ml = sizeof err->message - 1 - hl;
    memmove (err->message + hl, err->message, ml);
    memcpy (err->message, head, hl);
    err->message[hl + ml] = '\0';
    log_redact (err->message, sizeof err->message);
  }
  return err->code;
}

void
err_clear (struct rm_error *err)
{
  if (err) {
    err->code = 0;
    err->message[0] = '\0';
  }
}

int
err_from_text (struct rm_error *err, int code, const char *text)
{
  return err_set (err, code, "%s", text);
}
