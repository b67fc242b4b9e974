/* The core's one error convention, SQLite-style: a fallible function returns a code and
 * fills a caller-owned struct rm_error (the SDK's, so a plugin's error and the core's are
 * the same thing).  A code is either a primary RM_E_* code from the SDK, never renumbered
 * and the only kind a plugin returns, or an extended code PRIMARY | (N << 8) that a module
 * defines in its own header under the name its callers use (KUBE_E_FORBIDDEN is
 * RM_E_PERMISSION | ...).  rm_primary() gives the primary back, so a caller that only
 * cares about "not found" need not know which module said it.
 *
 * N is allocated in blocks of 16 per module so two modules never mint the same code:
 *   0x01-0x0f base   0x10-0x1f kube   0x20-0x2f helm   0x30-0x3f store
 *   0x40-0x4f conffile, cli, plugin loader   0x50-0x5f import   0x60-0x6f export
 * A module lists its extended codes with their names in an err_table (ERR_TABLE below),
 * so err_strerror() can name any code without this layer including the modules. */
#ifndef RM_BASE_ERROR_H
#define RM_BASE_ERROR_H

#include <stdarg.h>

#include <releasemanager/backend.h>   /* struct rm_error, RM_E_* */

/* The extended code N of a primary.  n must lie in the block of the module. */
#define ERR_EXT(primary, n) ((primary) | ((n) << 8))

/* The primary RM_E_* code of any code (a primary is its own primary). */
static inline int
rm_primary (int code)
{
  return code & 0xff;
}

/* Fill err (which may be NULL) with code and a printf message; returns code.  The message
 * passes through the log redactor, so no registered secret reaches it. */
int err_set (struct rm_error *err, int code, const char *fmt, ...)
  __attribute__((format (printf, 3, 4)));
int err_vset (struct rm_error *err, int code, const char *fmt, va_list ap)
  __attribute__((format (printf, 3, 0)));
/* Prepend context to err's message ("secret ns/x: " + message), keeping the code;
 * returns err->code (0 when err is NULL).  Truncates at RM_ERROR_MESSAGE_MAX - 1. */
int err_prefix (struct rm_error *err, const char *fmt, ...)
  __attribute__((format (printf, 2, 3)));
/* Empty err (code 0, message ""); err may be NULL. */
void err_clear (struct rm_error *err);
/* Copy a message of a retired convention (a char buffer) into err with code. */
int err_from_text (struct rm_error *err, int code, const char *text);

/* Fixed text of a code: the module's text for an extended code ("forbidden"), else the
 * text of its primary ("permission denied"); 0 is "success". */
const char *err_strerror (int code);
/* Symbolic name of a code ("KUBE_E_FORBIDDEN", "RM_E_PERMISSION"); NULL if unknown. */
const char *err_name (int code);

/* A module's extended codes.  The list ends with a { 0 } entry. */
struct err_name {
  int code;
  const char *name;    /* "KUBE_E_FORBIDDEN" */
  const char *text;    /* "forbidden" */
};
struct err_table {
  const struct err_name *names;
  struct err_table *next;
};
/* Make a module's table known to err_strerror.  Called before main by ERR_TABLE, so no
 * lock is needed; the table must outlive the program. */
void err_register (struct err_table *t);
/* Register names (an array of struct err_name) at program start, from the module that
 * defines the codes (and is linked whenever those codes can occur). */
#define ERR_TABLE(id, names_)                                                          \
  static struct err_table id = { names_, 0 };                                          \
  __attribute__((constructor)) static void id##_register (void) { err_register (&id); }

#endif
