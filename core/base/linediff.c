/* A unified line diff: the texts split into lines, each line numbered by its content
 * (a hash table), the shortest edit script found with Myers' linear-space algorithm
 * (the middle snake, then both halves), and the changes written as `diff -u` writes
 * them.  A line is its bytes with its newline, so a last line without one differs from
 * the same line with one, as in diff. */
#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/linediff.h"

struct line {
  const char *p;
  size_t len;              /* with the newline, when there is one */
};

struct lines {
  struct line *v;
  size_t n;
};

static void
split_lines (const char *s, size_t len, struct lines *out)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += s[i] == '\n';
  n += len && s[len - 1] != '\n';
  out->v = xcalloc (n ? n : 1, sizeof *out->v);
  out->n = 0;
  size_t start = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] == '\n' || i + 1 == len) {
      out->v[out->n++] = (struct line) { s + start, i + 1 - start };
      start = i + 1;
    }
}

static uint64_t
hash_bytes (const char *p, size_t len)
{
  uint64_t h = 1469598103934665603ULL;      /* FNV-1a */
  for (size_t i = 0; i < len; i++)
    h = (h ^ (unsigned char) p[i]) * 1099511628211ULL;
  return h;
}

/* Number every line of a and b by its content: equal lines, equal numbers. */
static void
number_lines (const struct lines *a, const struct lines *b, long *ida, long *idb)
{
  size_t total = a->n + b->n, cap = 16;
  while (cap < total * 2)
    cap *= 2;
  struct slot { const struct line *l; long id; } *tab = xcalloc (cap, sizeof *tab);
  long next = 0;
  for (size_t s = 0; s < 2; s++) {
    const struct lines *ls = s ? b : a;
    long *ids = s ? idb : ida;
    for (size_t i = 0; i < ls->n; i++) {
      const struct line *l = &ls->v[i];
      size_t h = (size_t) hash_bytes (l->p, l->len) & (cap - 1);
      while (tab[h].l && (tab[h].l->len != l->len || memcmp (tab[h].l->p, l->p, l->len) != 0))
        h = (h + 1) & (cap - 1);
      if (!tab[h].l) {
        tab[h].l = l;
        tab[h].id = next++;
      }
      ids[i] = tab[h].id;
    }
  }
  free (tab);
}

struct ld {
  const long *a, *b;       /* line numbers by content */
  char *del, *ins;         /* the edit script: a's lines deleted, b's inserted */
  long *vf, *vb;           /* furthest x per diagonal, forward and backward */
};

/* The middle snake of a[a0, a0+n) and b[b0, b0+m) (both non-empty): the diagonal run
 * in the middle of a shortest edit script, (sx, sy) to (ex, ey), relative to a0, b0. */
static void
middle_snake (struct ld *d, long a0, long n, long b0, long m, long *sx, long *sy, long *ex,
              long *ey)
{
  const long *a = d->a + a0, *b = d->b + b0;
  long delta = n - m, max = (n + m + 1) / 2;
  bool odd = delta & 1;
  long *vf = d->vf, *vb = d->vb;
  vf[1] = vb[1] = 0;
  for (long D = 0; D <= max; D++) {
    for (long k = -D; k <= D; k += 2) {
      long x = k == -D || (k != D && vf[k - 1] < vf[k + 1]) ? vf[k + 1] : vf[k - 1] + 1;
      long y = x - k, x0 = x, y0 = y;
      while (x < n && y < m && a[x] == b[y])
        x++, y++;
      vf[k] = x;
      if (odd && delta - k >= -(D - 1) && delta - k <= D - 1 && x + vb[delta - k] >= n) {
        *sx = x0, *sy = y0, *ex = x, *ey = y;
        return;
      }
    }
    for (long k = -D; k <= D; k += 2) {
      long x = k == -D || (k != D && vb[k - 1] < vb[k + 1]) ? vb[k + 1] : vb[k - 1] + 1;
      long y = x - k, x0 = x, y0 = y;
      while (x < n && y < m && a[n - 1 - x] == b[m - 1 - y])
        x++, y++;
      vb[k] = x;
      if (!odd && delta - k >= -D && delta - k <= D && x + vf[delta - k] >= n) {
        *sx = n - x, *sy = m - y, *ex = n - x0, *ey = m - y0;
        return;
      }
    }
  }
  abort ();                /* unreachable: a path of at most n + m edits exists */
}

static void
compare (struct ld *d, long a0, long a1, long b0, long b1)
{
  while (a0 < a1 && b0 < b1 && d->a[a0] == d->b[b0])
    a0++, b0++;
  while (a0 < a1 && b0 < b1 && d->a[a1 - 1] == d->b[b1 - 1])
    a1--, b1--;
  if (a0 == a1 || b0 == b1) {
    for (long i = a0; i < a1; i++)
      d->del[i] = 1;
    for (long j = b0; j < b1; j++)
      d->ins[j] = 1;
    return;
  }
  long sx, sy, ex, ey;
  middle_snake (d, a0, a1 - a0, b0, b1 - b0, &sx, &sy, &ex, &ey);
  compare (d, a0, a0 + sx, b0, b0 + sy);
  compare (d, a0 + ex, a1, b0 + ey, b1);
}

struct change {
  size_t a0, a1, b0, b1;   /* a's lines [a0, a1) replaced by b's [b0, b1) */
};

static void
put_line (struct strbuf *out, char mark, const struct line *l)
{
  strbuf_add (out, &mark, 1);
  strbuf_add (out, l->p, l->len);
  if (l->p[l->len - 1] != '\n')
    strbuf_puts (out, "\n\\ No newline at end of file\n");
}

/* "START,LEN" as diff -u writes a range: LEN omitted when 1, START the line before when
 * the range is empty. */
static void
put_range (struct strbuf *out, size_t start, size_t len)
{
  if (len == 1)
    strbuf_printf (out, "%zu", start + 1);
  else
    strbuf_printf (out, "%zu,%zu", len ? start + 1 : start, len);
}

static void
put_hunk (struct strbuf *out, const struct lines *a, const struct lines *b,
          const struct change *c, size_t nc, size_t context)
{
  size_t as = c[0].a0 > context ? c[0].a0 - context : 0;
  size_t bs = c[0].b0 - (c[0].a0 - as);
  size_t ae = c[nc - 1].a1 + context < a->n ? c[nc - 1].a1 + context : a->n;
  size_t be = c[nc - 1].b1 + (ae - c[nc - 1].a1);
  strbuf_puts (out, "@@ -");
  put_range (out, as, ae - as);
  strbuf_puts (out, " +");
  put_range (out, bs, be - bs);
  strbuf_puts (out, " @@\n");
  size_t i = as;
  for (size_t k = 0; k < nc; k++) {
    for (; i < c[k].a0; i++)
      put_line (out, ' ', &a->v[i]);
    for (; i < c[k].a1; i++)
      put_line (out, '-', &a->v[i]);
    for (size_t j = c[k].b0; j < c[k].b1; j++)
      put_line (out, '+', &b->v[j]);
  }
  for (; i < ae; i++)
    put_line (out, ' ', &a->v[i]);
}

size_t
linediff_unified (const char *a, size_t alen, const char *b, size_t blen, const char *label_a,
                  const char *label_b, unsigned context, struct strbuf *out)
{
  struct lines la, lb;
  split_lines (a, alen, &la);
  split_lines (b, blen, &lb);
  long *ida = xcalloc (la.n + 1, sizeof *ida), *idb = xcalloc (lb.n + 1, sizeof *idb);
  number_lines (&la, &lb, ida, idb);
  long max = (long) (la.n + lb.n + 1) / 2 + 2;
  long *vf = xcalloc (2 * (size_t) max + 1, sizeof *vf);
  long *vb = xcalloc (2 * (size_t) max + 1, sizeof *vb);
  struct ld d = { ida, idb, xcalloc (la.n + 1, 1), xcalloc (lb.n + 1, 1), vf + max, vb + max };
  compare (&d, 0, (long) la.n, 0, (long) lb.n);

  /* The changes, in order: a run of deleted lines, then a run of inserted ones. */
  struct change *c = NULL;
  size_t nc = 0, cap = 0, i = 0, j = 0;
  while (i < la.n || j < lb.n) {
    if (i < la.n && j < lb.n && !d.del[i] && !d.ins[j]) {
      i++, j++;
      continue;
    }
    struct change ch = { i, i, j, j };
    while (i < la.n && d.del[i])
      i++;
    while (j < lb.n && d.ins[j])
      j++;
    ch.a1 = i, ch.b1 = j;
    if (nc == cap)
      c = xrealloc (c, (cap = cap ? cap * 2 : 16) * sizeof *c);
    c[nc++] = ch;
  }

  size_t hunks = 0;
  if (nc)
    strbuf_printf (out, "--- %s\n+++ %s\n", label_a, label_b);
  for (size_t k = 0; k < nc;) {
    size_t e = k + 1;
    while (e < nc && c[e].a0 - c[e - 1].a1 <= 2 * (size_t) context)
      e++;
    put_hunk (out, &la, &lb, &c[k], e - k, context);
    hunks++;
    k = e;
  }
  free (c);
  free (d.del);
  free (d.ins);
  free (vf);
  free (vb);
  free (ida);
  free (idb);
  free (la.v);
  free (lb.v);
  return hunks;
}
