/* Tests for the small helpers of core/base/util.c that guard against undefined behaviour:
 * double_to_ll, the checked conversion every number read from outside goes through
 * (UBSan's float-cast-overflow found the unchecked casts it replaced, issue 11); and
 * strbuf_read_file, the one whole-file reader of the core. */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/util.h"

Test (double_to_ll, integers_in_range)
{
  static const double ok[] = { 0.0, -0.0, 1.0, -1.0, 4096.0, 9007199254740993.0,
                               -9223372036854775808.0, 9223372036854774784.0 };
  for (size_t i = 0; i < ARRAY_SIZE (ok); i++) {
    long long v = 42;
    cr_expect_eq (double_to_ll (ok[i], LLONG_MIN, LLONG_MAX, &v), 0, "%.17g", ok[i]);
    cr_expect_eq ((double) v, ok[i], "%.17g -> %lld", ok[i], v);
  }
}

Test (double_to_ll, rejects_without_undefined_behaviour)
{
  static const struct { double d; long long min, max; int want; } cases[] = {
    { 9223372036854775808.0, LLONG_MIN, LLONG_MAX, DOUBLE_OUT_OF_RANGE },   /* 2^63 */
    { 9e18 * 10, LLONG_MIN, LLONG_MAX, DOUBLE_OUT_OF_RANGE },
    { -1e300, LLONG_MIN, LLONG_MAX, DOUBLE_OUT_OF_RANGE },
    { 1e300, LLONG_MIN, LLONG_MAX, DOUBLE_OUT_OF_RANGE },
    { HUGE_VAL, LLONG_MIN, LLONG_MAX, DOUBLE_OUT_OF_RANGE },
    { -HUGE_VAL, LLONG_MIN, LLONG_MAX, DOUBLE_OUT_OF_RANGE },
    { NAN, LLONG_MIN, LLONG_MAX, DOUBLE_NOT_INTEGRAL },
    { 1.5, LLONG_MIN, LLONG_MAX, DOUBLE_NOT_INTEGRAL },
    { -0.25, LLONG_MIN, LLONG_MAX, DOUBLE_NOT_INTEGRAL },
    { 600.0, 100, 599, DOUBLE_OUT_OF_RANGE },
    { 99.0, 100, 599, DOUBLE_OUT_OF_RANGE },
    { 2147483648.0, INT_MIN, INT_MAX, DOUBLE_OUT_OF_RANGE },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++) {
    long long v = 42;
    cr_expect_eq (double_to_ll (cases[i].d, cases[i].min, cases[i].max, &v), cases[i].want,
                  "case %zu (%.17g)", i, cases[i].d);
    cr_expect_eq (v, 42, "case %zu: *out changed on failure", i);
  }
  cr_expect_str_eq (double_strerror (DOUBLE_OUT_OF_RANGE), "out of range");
  cr_expect_str_eq (double_strerror (DOUBLE_NOT_INTEGRAL), "not an integer");
}

Test (double_to_ll, long_with_default)
{
  cr_expect_eq (double_to_long_or (404.0, 100, 599, 500), 404);
  cr_expect_eq (double_to_long_or (1e30, 100, 599, 500), 500);
  cr_expect_eq (double_to_long_or (NAN, LONG_MIN, LONG_MAX, -1), -1);
  cr_expect_eq (double_to_long_or (3.0, LONG_MIN, LONG_MAX, -1), 3);
}

Test (strbuf_read_file, appends_the_file_or_keeps_the_buffer)
{
  char dir[] = "/tmp/rm-test-util-XXXXXX";
  cr_assert_not_null (mkdtemp (dir));
  char *path = xasprintf ("%s/f", dir);
  FILE *f = fopen (path, "wb");
  cr_assert_not_null (f);
  /* Bigger than one read, with a NUL inside. */
  for (int i = 0; i < 40000; i++)
    fputc (i == 5 ? 0 : 'a' + i % 26, f);
  fclose (f);
  struct strbuf sb = STRBUF_INIT;
  strbuf_puts (&sb, "head:");
  cr_assert_eq (strbuf_read_file (&sb, path), 0);
  cr_expect_eq (sb.len, 5 + 40000);
  cr_expect_eq (memcmp (sb.data, "head:abcde", 10), 0);
  cr_expect_eq (sb.data[10], 0);
  cr_expect_eq (sb.data[sb.len - 1], 'a' + 39999 % 26);
  /* A missing file and a directory (opened, but unreadable): -1, errno, buffer kept. */
  char *missing = xasprintf ("%s/none", dir);
  strbuf_free (&sb);
  strbuf_puts (&sb, "kept");
  errno = 0;
  cr_expect_eq (strbuf_read_file (&sb, missing), -1);
  cr_expect_eq (errno, ENOENT);
  errno = 0;
  cr_expect_eq (strbuf_read_file (&sb, dir), -1);
  cr_expect_eq (errno, EISDIR);
  cr_expect_str_eq (sb.data, "kept");
  cr_expect_eq (sb.len, 4);
  strbuf_free (&sb);
  unlink (path);
  rmdir (dir);
  free (missing);
  free (path);
}
