/* The one parser of durations on the command line and in configuration files: groups of
 * NUMBER[.FRACTION]UNIT, units ms, s, m (minutes), h, d, w and y (365 days), as in "90s",
 * "1m30s", "1.5h", "1d12h", "500ms".  A bare number alone means seconds where the option
 * allows it (the original tool's --polling-interval 30, --lock-timeout 90). */
#ifndef RM_BASE_DURATION_H
#define RM_BASE_DURATION_H

#include <stdbool.h>

struct rm_error;

/* Seconds of text into *secs; RM_E_INVALID with a message that completes "--opt: 'TEXT' "
 * when text is not a duration, is a bare number where bare_seconds is false, or is longer
 * than max_secs (named in the largest whole unit, e.g. "is longer than 1 week"). */
int duration_parse (const char *text, bool bare_seconds, double max_secs, double *secs,
                    struct rm_error *err);

#endif
