/* The retention options (--keep-last, --keep-within, --keep-daily) that export and prune
 * share: parsed once here, applied by store/history.c. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "base/log.h"
#include "commands.h"
#include "store/history.h"

/* A --keep-* count: a whole number from 0 (the rule off) up. */
static bool
count (const struct cli *c, const char *name, int *n)
{
  const char *v = cli_get (c, name);
  char *end;
  errno = 0;
  long l = strtol (v, &end, 10);
  if (*v < '0' || *v > '9' || *end || errno || l > INT_MAX) {
    log_error ("--%s: '%s' is not a whole number of snapshots (0 and up)", name, v);
    return false;
  }
  *n = (int) l;
  return true;
}

int
cmd_retention_parse (const struct cli *c, struct store_retention *r)
{
  const char *last = cli_get (c, "keep-last"), *within = cli_get (c, "keep-within");
  const char *daily = cli_get (c, "keep-daily");
  *r = (struct store_retention) { 0 };
  /* The rules given replace the defaults: --keep-last 1 alone keeps one snapshot. */
  if (!last && !within && !daily) {
    r->last = STORE_KEEP_LAST_DEFAULT;
    r->daily = STORE_KEEP_DAILY_DEFAULT;
    return EXIT_OK;
  }
  if ((last && !count (c, "keep-last", &r->last)) || (daily && !count (c, "keep-daily", &r->daily)))
    return EXIT_USAGE;
  struct rm_error err;
  if (within && store_retention_parse_within (within, &r->within, &err) != RM_OK) {
    log_error ("--keep-within: '%s' %s", within, err.message);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}
