#include <config.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/duration.h"
#include "base/error.h"
#include "base/util.h"

static const struct unit {
  const char *suffix, *name;
  double secs;
} units[] = {
  /* Longest suffix first: "ms" before "m". */
  { "ms", "millisecond", 0.001 }, { "s", "second", 1 }, { "m", "minute", 60 },
  { "h", "hour", 3600 }, { "d", "day", 86400 }, { "w", "week", 7 * 86400 },
  { "y", "year", 365 * 86400 },
};

/* The unit whose suffix starts p, or NULL. */
static const struct unit *
unit_at (const char *p)
{
  for (size_t i = 0; i < ARRAY_SIZE (units); i++) {
    size_t n = strlen (units[i].suffix);
    if (strncmp (p, units[i].suffix, n) == 0)
      return &units[i];
  }
  return NULL;
}

/* max as "1 week", "24 hours", "10 seconds": the largest unit that divides it. */
static void
name_of (double max, char *out, size_t size)
{
  for (size_t i = ARRAY_SIZE (units); i-- > 1;) {
    double n = max / units[i].secs;
    if (n >= 1 && n == floor (n)) {
      snprintf (out, size, "%.0f %s%s", n, units[i].name, n == 1 ? "" : "s");
      return;
    }
  }
  snprintf (out, size, "%g seconds", max);
}

int
duration_parse (const char *text, bool bare_seconds, double max_secs, double *secs,
                struct rm_error *err)
{
  const char *bad = bare_seconds
    ? "is not a duration (like 30s, 5m, 1h30m, 2d, 500ms, or a number of seconds)"
    : "is not a duration (a number and a unit ms, s, m, h, d, w or y, like 30d or 1h30m)";
  *secs = 0;
  const char *p = text;
  double total = 0;
  bool any = false;
  while (*p) {
    if (*p < '0' || *p > '9')
      return err_set (err, RM_E_INVALID, "%s", bad);
    double v = 0, scale = 1;
    for (; *p >= '0' && *p <= '9'; p++)
      v = v * 10 + (*p - '0');
    if (*p == '.') {
      if (p[1] < '0' || p[1] > '9')
        return err_set (err, RM_E_INVALID, "%s", bad);
      for (p++; *p >= '0' && *p <= '9'; p++)
        v += (*p - '0') * (scale /= 10);
    }
    const struct unit *u = unit_at (p);
    if (u)
      p += strlen (u->suffix);
    else if (*p || any || !bare_seconds)
      return err_set (err, RM_E_INVALID, "%s", bad);
    total += v * (u ? u->secs : 1);
    any = true;
    if (total > max_secs) {
      char name[64];
      name_of (max_secs, name, sizeof name);
      return err_set (err, RM_E_INVALID, "is longer than %s", name);
    }
  }
  if (!any)
    return err_set (err, RM_E_INVALID, "%s", bad);
  *secs = total;
  return RM_OK;
}
