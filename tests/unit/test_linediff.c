/* Tests for the unified line diff (core/base/linediff.c): equal texts, empty files,
 * last lines without a newline, joined and separate hunks, and a property check against
 * /usr/bin/diff -u on random texts: the same hunks (every @@ header) and the same
 * number of removed and added lines, byte for byte where the shortest edit script is
 * unique, and patch(1) turns a into b with ours. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "base/util.h"
#include "base/linediff.h"

static char *
udiff (const char *a, const char *b, size_t *hunks)
{
  struct strbuf sb = STRBUF_INIT;
  *hunks = linediff_unified (a, strlen (a), b, strlen (b), "A", "B", 3, &sb);
  return strbuf_detach (&sb);
}

Test (linediff, equal_texts_give_nothing)
{
  size_t h;
  char *d = udiff ("a\nb\n", "a\nb\n", &h);
  cr_assert_eq (h, 0);
  cr_assert_str_eq (d, "");
  free (d);
  d = udiff ("", "", &h);
  cr_assert_eq (h, 0);
  cr_assert_str_eq (d, "");
  free (d);
}

Test (linediff, empty_files)
{
  size_t h;
  char *d = udiff ("", "x\ny\n", &h);
  cr_assert_eq (h, 1);
  cr_assert_str_eq (d, "--- A\n+++ B\n@@ -0,0 +1,2 @@\n+x\n+y\n");
  free (d);
  d = udiff ("x\n", "", &h);
  cr_assert_str_eq (d, "--- A\n+++ B\n@@ -1 +0,0 @@\n-x\n");
  free (d);
}

Test (linediff, no_trailing_newline)
{
  size_t h;
  char *d = udiff ("a\nb", "a\nb\n", &h);
  cr_assert_eq (h, 1);
  cr_assert_str_eq (d, "--- A\n+++ B\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
  free (d);
  d = udiff ("a\nb", "a\nc", &h);
  cr_assert_str_eq (d, "--- A\n+++ B\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
                    "+c\n\\ No newline at end of file\n");
  free (d);
}

Test (linediff, one_changed_line_in_context)
{
  size_t h;
  char *d = udiff ("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n", &h);
  cr_assert_eq (h, 1);
  cr_assert_str_eq (d, "--- A\n+++ B\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n");
  free (d);
}

/* Random texts over a small alphabet of lines (many equal lines: many ties). */
static char *
random_text (unsigned *seed, size_t *len)
{
  static const char *words[] = { "a", "b", "c", "d", "image: nginx:1.25", "replicas: 2", "" };
  size_t n = (size_t) rand_r (seed) % 30;
  struct strbuf sb = STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    strbuf_puts (&sb, words[rand_r (seed) % ARRAY_SIZE (words)]);
    if (i + 1 < n || rand_r (seed) % 4)
      strbuf_puts (&sb, "\n");
  }
  *len = sb.len;
  return strbuf_detach (&sb);
}

static void
write_file (const char *path, const char *s, size_t len)
{
  FILE *f = fopen (path, "w");
  cr_assert_not_null (f);
  cr_assert_eq (fwrite (s, 1, len, f), len);
  fclose (f);
}

static char *
run (const char *cmd)
{
  FILE *p = popen (cmd, "r");
  cr_assert_not_null (p);
  struct strbuf sb = STRBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, p)) > 0)
    strbuf_add (&sb, buf, n);
  pclose (p);
  return strbuf_detach (&sb);
}

/* The hunk headers and the number of '-' and '+' lines of a unified diff. */
static char *
shape (const char *d)
{
  struct strbuf sb = STRBUF_INIT;
  size_t minus = 0, plus = 0;
  for (const char *l = d; *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : l + strlen (l)) {
    if (strncmp (l, "@@", 2) == 0) {
      strbuf_add (&sb, l, (size_t) (strchr (l, '\n') - l));
      strbuf_puts (&sb, "\n");
    }
    else if (l[0] == '-' && strncmp (l, "--- ", 4) != 0)
      minus++;
    else if (l[0] == '+' && strncmp (l, "+++ ", 4) != 0)
      plus++;
  }
  strbuf_printf (&sb, "-%zu +%zu\n", minus, plus);
  return strbuf_detach (&sb);
}

Test (linediff, agrees_with_diff_u)
{
  if (access ("/usr/bin/diff", X_OK) != 0 || access ("/usr/bin/patch", X_OK) != 0)
    cr_skip_test ("no /usr/bin/diff or /usr/bin/patch");
  char dir[] = "/tmp/rm-linediff.XXXXXX";
  cr_assert_not_null (mkdtemp (dir));
  char *pa = xasprintf ("%s/a", dir), *pb = xasprintf ("%s/b", dir), *pd = xasprintf ("%s/d", dir);
  unsigned seed = 15;
  size_t exact = 0, runs = 120;
  for (size_t r = 0; r < runs; r++) {
    size_t alen, blen;
    char *a = random_text (&seed, &alen), *b = random_text (&seed, &blen);
    write_file (pa, a, alen);
    write_file (pb, b, blen);
    struct strbuf sb = STRBUF_INIT;
    size_t h = linediff_unified (a, alen, b, blen, "A", "B", 3, &sb);
    char *cmd = xasprintf ("/usr/bin/diff -u --label A --label B %s %s", pa, pb);
    char *want = run (cmd);
    cr_assert_eq (h == 0, want[0] == 0, "run %zu: equal for one, not the other", r);
    if (strcmp (sb.data ? sb.data : "", want) == 0)
      exact++;
    else {
      char *s1 = shape (sb.data), *s2 = shape (want);
      cr_assert_str_eq (s1, s2, "run %zu: hunks differ from diff -u:\n%s\nvs\n%s", r,
                        sb.data, want);
      free (s1);
      free (s2);
    }
    /* Our diff, applied to a, gives b. */
    if (h) {
      write_file (pd, sb.data, sb.len);
      char *p = xasprintf ("/usr/bin/patch -s -o %s/out %s < %s && cmp -s %s/out %s && echo ok",
                           dir, pa, pd, dir, pb);
      char *ok = run (p);
      cr_assert_str_eq (ok, "ok\n", "run %zu: patch did not give b:\n%s", r, sb.data);
      free (ok);
      free (p);
      char *rm = xasprintf ("rm -f %s/out", dir);
      cr_assert_eq (system (rm), 0);
      free (rm);
    }
    free (cmd);
    free (want);
    strbuf_free (&sb);
    free (a);
    free (b);
  }
  /* Where several shortest scripts exist, diff and we may pick different ones (the same
   * hunks, the same counts): say how often the bytes were diff's own. */
  cr_log_info ("%zu of %zu diffs byte-identical to diff -u", exact, runs);
  cr_assert_gt (exact, 0);
  char *rm = xasprintf ("rm -rf %s", dir);
  cr_assert_eq (system (rm), 0);
  free (rm);
  free (pa);
  free (pb);
  free (pd);
}
