/* The helpers every step of one release's restore shares (struct imp_run in
 * import/import.h): the clock its deadline is measured on, the first failure, and the
 * --dry-run plan.  They call nothing else in core/import/, so apply.c, hooks.c,
 * records.c, values.c and release.c all depend on this file and it on none of them. */
#include <config.h>

#include <stdarg.h>
#include <time.h>

#include "import/import.h"

double
imp_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
imp_fail (struct imp_run *r, const char *fmt, ...)
{
  if (!r->error) {
    va_list ap;
    va_start (ap, fmt);
    struct strbuf sb = STRBUF_INIT;
    strbuf_vprintf (&sb, fmt, ap);
    va_end (ap);
    r->error = strbuf_detach (&sb);
  }
  return -1;
}

void
imp_plan (struct imp_run *r, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (&r->plan, fmt, ap);
  va_end (ap);
}
