/* Tests for the unified line diff (core/base/linediff.c): equal texts, empty files,
 * last lines without a newline, joined and separate hunks, and a property check against
 * /usr/bin/diff -u on random texts (small ones full of ties, and long ones edited in a
 * few places): the same hunks (every @@ header) and the same number of removed and added
 * lines, byte for byte where the shortest edit script is unique, and patch(1) turns a
 * into b with ours. */
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
static void
random_lines (unsigned *seed, size_t n, struct strbuf *sb)
{
  static const char *words[] = { "a", "b", "c", "d", "image: nginx:1.25", "replicas: 2", "" };
  for (size_t i = 0; i < n; i++) {
    strbuf_puts (sb, words[rand_r (seed) % ARRAY_SIZE (words)]);
    strbuf_puts (sb, "\n");
  }
}

/* Maybe drop the last newline (a last line without one). */
static char *
finish (unsigned *seed, struct strbuf *sb, size_t *len)
{
  if (sb->len && rand_r (seed) % 4 == 0)
    sb->data[--sb->len] = 0;
  *len = sb->len;
  return strbuf_detach (sb);
}

/* A pair of texts: small and random (ties everywhere), or a long manifest-like text and
 * a copy of it edited in a few places (deleted, inserted and replaced runs: separate and
 * joined hunks, context at both ends). */
static bool
random_pair (unsigned *seed, char **a, size_t *alen, char **b, size_t *blen)
{
  struct strbuf sa = STRBUF_INIT, sbb = STRBUF_INIT;
  bool small = rand_r (seed) % 3 == 0;
  if (small) {
    random_lines (seed, (size_t) rand_r (seed) % 30, &sa);
    random_lines (seed, (size_t) rand_r (seed) % 30, &sbb);
  }
  else {
    size_t n = 40 + (size_t) rand_r (seed) % 260;
    struct strlist lines = STRLIST_INIT;
    for (size_t i = 0; i < n; i++) {
      /* Mostly distinct lines, some repeated (as "---" and "metadata:" are). */
      if (rand_r (seed) % 4 == 0)
        strlist_push (&lines, rand_r (seed) % 2 ? "---" : "  labels:");
      else
      {
        char line[64];
        snprintf (line, sizeof line, "  key%zu: %u", i, (unsigned) rand_r (seed) % 5);
        strlist_push (&lines, line);
      }
    }
    for (size_t i = 0; i < lines.n; i++)
      strbuf_printf (&sa, "%s\n", lines.items[i]);
    size_t edits = 1 + (size_t) rand_r (seed) % 6, i = 0;
    while (i < lines.n) {
      if ((size_t) rand_r (seed) % lines.n < edits) {
        size_t run = 1 + (size_t) rand_r (seed) % 4;
        int what = rand_r (seed) % 3;            /* delete, insert, replace */
        if (what != 1)
          i += run;
        if (what != 0)
          random_lines (seed, run, &sbb);
        if (what == 1 && i < lines.n)
          strbuf_printf (&sbb, "%s\n", lines.items[i++]);
        continue;
      }
      strbuf_printf (&sbb, "%s\n", lines.items[i++]);
    }
    strlist_free (&lines);
  }
  *a = finish (seed, &sa, alen);
  *b = finish (seed, &sbb, blen);
  return small;
}

static void
write_file (const char *path, const char *s, size_t len)
{
  FILE *f = fopen (path, "w");
  cr_assert_not_null (f, "%s", path);
  cr_assert_eq (fwrite (s, 1, len, f), len);
  fclose (f);
}

static char *
read_all (const char *path)
{
  FILE *f = fopen (path, "r");
  struct strbuf sb = STRBUF_INIT;
  if (!f)
    return strbuf_detach (&sb);
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    strbuf_add (&sb, buf, n);
  fclose (f);
  return strbuf_detach (&sb);
}

/* The hunk headers (when asked) and the number of '-' and '+' lines of a unified diff. */
static char *
shape (const char *d, bool headers)
{
  struct strbuf sb = STRBUF_INIT;
  size_t minus = 0, plus = 0;
  for (const char *l = d; *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : l + strlen (l)) {
    if (strncmp (l, "@@", 2) == 0 && headers) {
      strbuf_add (&sb, l, (size_t) (strchr (l, '\n') - l));
      strbuf_puts (&sb, "\n");
    }
    else if (strncmp (l, "@@", 2) == 0)
      ;
    else if (l[0] == '-' && strncmp (l, "--- ", 4) != 0)
      minus++;
    else if (l[0] == '+' && strncmp (l, "+++ ", 4) != 0)
      plus++;
  }
  strbuf_printf (&sb, "-%zu +%zu\n", minus, plus);
  return strbuf_detach (&sb);
}

/* The property check: CASES pairs written at once, diff -u and patch(1) run over all of
 * them by one shell (no shell per case), then compared here.  Case r is generated from
 * seed SEED + r alone, so a failure names the one seed that reproduces it. */
#define SEED 15u
#define CASES 60

Test (linediff, agrees_with_diff_u)
{
  if (access ("/usr/bin/diff", X_OK) != 0 || access ("/usr/bin/patch", X_OK) != 0)
    cr_skip_test ("no /usr/bin/diff or /usr/bin/patch");
  char dir[] = "/tmp/rm-linediff.XXXXXX";
  cr_assert_not_null (mkdtemp (dir));
  char *a[CASES], *ours[CASES];
  size_t hunks[CASES], lines = 0;
  bool small[CASES];
  for (size_t r = 0; r < CASES; r++) {
    unsigned seed = SEED + (unsigned) r;
    size_t alen, blen;
    char *b, *path;
    small[r] = random_pair (&seed, &a[r], &alen, &b, &blen);
    struct strbuf sb = STRBUF_INIT;
    hunks[r] = linediff_unified (a[r], alen, b, blen, "A", "B", 3, &sb);
    ours[r] = strbuf_detach (&sb);
    write_file (path = xasprintf ("%s/a%zu", dir, r), a[r], alen), free (path);
    write_file (path = xasprintf ("%s/b%zu", dir, r), b, blen), free (path);
    write_file (path = xasprintf ("%s/d%zu", dir, r), ours[r], strlen (ours[r])), free (path);
    for (size_t i = 0; i < alen; i++)
      lines += a[r][i] == '\n';
    free (b);
  }
  /* w$i: diff -u's own; p$i: "ok" when our diff, patched onto a$i, gives b$i. */
  char *cmd = xasprintf ("cd %s && i=0; while [ $i -lt %d ]; do "
                         "/usr/bin/diff -u --minimal --label A --label B a$i b$i > w$i; "
                         "if [ -s d$i ]; then /usr/bin/patch -s -o o$i a$i < d$i >/dev/null 2>&1 "
                         "&& cmp -s o$i b$i && echo ok > p$i; fi; i=$((i+1)); done", dir, CASES);
  cr_assert_eq (system (cmd), 0, "%s", cmd);
  free (cmd);
  size_t exact = 0, multi = 0;
  for (size_t r = 0; r < CASES; r++) {
    char *path = xasprintf ("%s/w%zu", dir, r), *want = read_all (path);
    free (path);
    unsigned seed = SEED + (unsigned) r;
    cr_assert_eq (hunks[r] == 0, want[0] == 0, "case %zu (seed %u): equal for one, not the "
                  "other:\n%s\nvs diff -u:\n%s", r, seed, ours[r], want);
    if (strcmp (ours[r], want) == 0)
      exact++;
    else {
      /* Small texts: the same hunks.  Long ones with repeated lines: where ties shift
       * a hunk's context, the same number of lines removed and added (both scripts
       * shortest). */
      char *s1 = shape (ours[r], small[r]), *s2 = shape (want, small[r]);
      cr_assert_str_eq (s1, s2, "case %zu (seed %u): hunks differ from diff -u:\n%s\nvs\n%s",
                        r, seed, ours[r], want);
      free (s1);
      free (s2);
    }
    if (hunks[r]) {
      char *ok = read_all (path = xasprintf ("%s/p%zu", dir, r));
      free (path);
      cr_assert_str_eq (ok, "ok\n", "case %zu (seed %u): patch did not give b from a:\n%s",
                        r, seed, ours[r]);
      free (ok);
    }
    multi += hunks[r] > 1;
    free (want);
    free (ours[r]);
    free (a[r]);
  }
  /* Where several shortest scripts exist, diff and we may pick different ones (the same
   * counts): say how often the bytes were diff's own. */
  cr_log_info ("%zu of %d diffs byte-identical to diff -u; %zu with several hunks; %zu lines "
               "(seeds %u..%u)", exact, CASES, multi, lines, SEED, SEED + CASES - 1);
  cr_assert_gt (exact, 0);
  cr_assert_gt (multi, CASES / 4, "too few cases with several hunks: the generator changed?");
  char *rm = xasprintf ("rm -rf %s", dir);
  cr_assert_eq (system (rm), 0);
  free (rm);
}
