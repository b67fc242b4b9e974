/* The one duration parser (core/base/duration.c) that --lock-timeout, --release-timeout,
 * --polling-interval, the daemon's --lease-* options and --keep-within share. */
#include <config.h>

#include <criterion/criterion.h>
#include <string.h>

#include "base/duration.h"
#include "base/error.h"
#include "base/util.h"

Test (duration, forms)
{
  static const struct { const char *text; double secs; } good[] = {
    { "0", 0 }, { "90", 90 }, { "0.25", 0.25 }, { "30s", 30 }, { "500ms", 0.5 },
    { "5m", 300 }, { "1.5m", 90 }, { "1m30s", 90 }, { "1h", 3600 }, { "1d12h", 129600 },
    { "2w", 14 * 86400 }, { "1y90m", 365 * 86400 + 5400 }, { "1h0m0s", 3600 },
    { "10ms", 0.01 }, { "1s500ms", 1.5 },
  };
  struct rm_error err;
  double s;
  for (size_t i = 0; i < ARRAY_SIZE (good); i++) {
    cr_assert_eq (duration_parse (good[i].text, true, 1e12, &s, &err), RM_OK, "%s: %s",
                  good[i].text, err.message);
    cr_assert_float_eq (s, good[i].secs, 1e-9, "%s", good[i].text);
  }
}

Test (duration, rejects)
{
  static const char *const bad[] = {
    "", "-1", "5x", "m", "1.", ".5", "1e3", "0x10", " 5", "5 ", "inf", "nan", "1s2", "1m 30s",
    "5M", "1.5.5s", "s5", "+5s", "5mss",
  };
  struct rm_error err;
  double s = 42;
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    cr_assert_eq (duration_parse (bad[i], true, 1e12, &s, &err), RM_E_INVALID, "%s", bad[i]);
    cr_assert (strstr (err.message, "is not a duration"), "%s: %s", bad[i], err.message);
    cr_assert_eq (s, 0, "%s: the output is reset", bad[i]);
  }
}

Test (duration, bare_number_only_where_allowed)
{
  struct rm_error err;
  double s;
  cr_assert_eq (duration_parse ("30", false, 1e12, &s, &err), RM_E_INVALID);
  cr_assert (strstr (err.message, "a number and a unit"), "%s", err.message);
  cr_assert_eq (duration_parse ("30s", false, 1e12, &s, &err), RM_OK);
  cr_assert_float_eq (s, 30, 1e-9);
}

Test (duration, longest_names_the_limit)
{
  static const struct { double max; const char *text, *says; } cases[] = {
    { 7 * 86400, "8d", "is longer than 1 week" },
    { 7 * 86400, "169h", "is longer than 1 week" },
    { 86400, "25h", "is longer than 1 day" },
    { 2 * 3600, "121m", "is longer than 2 hours" },
    { 366 * 86400, "1y2d", "is longer than 366 days" },
    { 10, "11", "is longer than 10 seconds" },
    { 100 * 365 * 86400.0, "99999999999999999999999y", "is longer than 100 years" },
  };
  struct rm_error err;
  double s;
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    cr_assert_eq (duration_parse (cases[i].text, true, cases[i].max, &s, &err), RM_E_INVALID,
                  "%s", cases[i].text);
    cr_assert_str_eq (err.message, cases[i].says, "%s", cases[i].text);
  }
  cr_assert_eq (duration_parse ("1w", true, 7 * 86400, &s, &err), RM_OK, "the limit itself");
}
