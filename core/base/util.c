/* Checked allocation, growable strings and string lists for the core.  Running out of
 * memory is reported once and ends the program: no caller can do better. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static void
oom (void)
{
  fputs ("releasemanager: out of memory\n", stderr);
  exit (1);
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (!p)
    oom ();
  return p;
}

void *
xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (!p)
    oom ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (!p)
    oom ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *p = strdup (s);
  if (!p)
    oom ();
  return p;
}

char *
xasprintf (const char *fmt, ...)
{
  struct strbuf sb = STRBUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (&sb, fmt, ap);
  va_end (ap);
  return strbuf_detach (&sb);
}

void
strbuf_reserve (struct strbuf *sb, size_t extra)
{
  if (sb->len + extra + 1 <= sb->cap)
    return;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < sb->len + extra + 1)
    cap *= 2;
  sb->data = xrealloc (sb->data, cap);
  sb->cap = cap;
}

void
strbuf_add (struct strbuf *sb, const void *data, size_t len)
{
  strbuf_reserve (sb, len);
  if (len)
    memcpy (sb->data + sb->len, data, len);
  sb->len += len;
  sb->data[sb->len] = '\0';
}

void
strbuf_puts (struct strbuf *sb, const char *s)
{
  strbuf_add (sb, s, strlen (s));
}

void
strbuf_vprintf (struct strbuf *sb, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy (ap2, ap);
  int n = vsnprintf (NULL, 0, fmt, ap2);
  va_end (ap2);
  if (n < 0)
    return;
  strbuf_reserve (sb, (size_t) n);
  vsnprintf (sb->data + sb->len, (size_t) n + 1, fmt, ap);
  sb->len += (size_t) n;
}

void
strbuf_printf (struct strbuf *sb, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (sb, fmt, ap);
  va_end (ap);
}

char *
strbuf_detach (struct strbuf *sb)
{
  char *p = sb->data ? sb->data : xstrdup ("");
  sb->data = NULL;
  sb->len = sb->cap = 0;
  return p;
}

void
strbuf_free (struct strbuf *sb)
{
  free (sb->data);
  sb->data = NULL;
  sb->len = sb->cap = 0;
}

int
strbuf_read_file (struct strbuf *sb, const char *path)
{
  FILE *f = fopen (path, "rb");
  if (!f)
    return -1;
  size_t had = sb->len;
  char buf[16384];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    strbuf_add (sb, buf, n);
  int e = ferror (f) ? (errno ? errno : EIO) : 0;
  fclose (f);
  if (e) {
    sb->len = had;
    if (sb->data)
      sb->data[had] = '\0';
    errno = e;
    return -1;
  }
  return 0;
}

void
strlist_push (struct strlist *l, const char *s)
{
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->items = xrealloc (l->items, l->cap * sizeof *l->items);
  }
  l->items[l->n++] = xstrdup (s);
}

void
strlist_push_split (struct strlist *l, const char *s, char sep)
{
  const char *p = s;
  while (*p) {
    const char *e = strchr (p, sep);
    size_t n = e ? (size_t) (e - p) : strlen (p);
    if (n) {
      char *part = xmalloc (n + 1);
      memcpy (part, p, n);
      part[n] = '\0';
      strlist_push (l, part);
      free (part);
    }
    if (!e)
      break;
    p = e + 1;
  }
}

bool
strlist_contains (const struct strlist *l, const char *s)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->items[i], s) == 0)
      return true;
  return false;
}

void
strlist_free (struct strlist *l)
{
  for (size_t i = 0; i < l->n; i++)
    free (l->items[i]);
  free (l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

bool
str_has_suffix (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && memcmp (s + a - b, suffix, b) == 0;
}

bool
str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

char *
xstrdup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

bool
str_same (const char *a, const char *b)
{
  return a == b || (a && b && strcmp (a, b) == 0);
}

int
double_to_ll (double d, long long min, long long max, long long *out)
{
  /* -2^63 and 2^63 are exact doubles; every double in [-2^63, 2^63) converts. */
  if (d != d)
    return DOUBLE_NOT_INTEGRAL;
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
    return DOUBLE_OUT_OF_RANGE;
  long long v = (long long) d;
  if ((double) v != d)
    return DOUBLE_NOT_INTEGRAL;
  if (v < min || v > max)
    return DOUBLE_OUT_OF_RANGE;
  *out = v;
  return 0;
}

const char *
double_strerror (int code)
{
  return code == DOUBLE_NOT_INTEGRAL ? "not an integer"
       : code == DOUBLE_OUT_OF_RANGE ? "out of range" : "an integer";
}

long
double_to_long_or (double d, long min, long max, long def)
{
  long long v;
  return double_to_ll (d, min, max, &v) == 0 ? (long) v : def;
}
