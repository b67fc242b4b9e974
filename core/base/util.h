/* Small helpers shared by the core: checked allocation, growable strings and string
 * lists.  Nothing here knows about backends, Kubernetes or Helm. */
#ifndef RM_UTIL_H
#define RM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* File-private helpers are `UNITTEST` instead of `static`, so the Criterion tests
 * (built with -DRM_UNITTEST) can call them without making them part of an interface. */
#ifdef RM_UNITTEST
#define UNITTEST
#else
#define UNITTEST static
#endif

#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

/* Allocation that cannot fail: on exhaustion the program reports it and exits 1. */
void *xmalloc (size_t n);
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xasprintf (const char *fmt, ...) __attribute__((format (printf, 1, 2)));

/* A growable NUL-terminated buffer. */
struct strbuf {
  char *data;
  size_t len;
  size_t cap;
};
#define STRBUF_INIT { NULL, 0, 0 }
void strbuf_reserve (struct strbuf *sb, size_t extra);   /* room for extra bytes + NUL */
void strbuf_add (struct strbuf *sb, const void *data, size_t len);
void strbuf_puts (struct strbuf *sb, const char *s);
void strbuf_printf (struct strbuf *sb, const char *fmt, ...) __attribute__((format (printf, 2, 3)));
void strbuf_vprintf (struct strbuf *sb, const char *fmt, va_list ap)
  __attribute__((format (printf, 2, 0)));
char *strbuf_detach (struct strbuf *sb);   /* returns "" rather than NULL when empty */
void strbuf_free (struct strbuf *sb);
/* The whole of the file at path appended to sb: 0, or -1 with errno set (fopen's, or
 * the read's: EIO when the stream says no more); sb keeps what it had on failure. */
int strbuf_read_file (struct strbuf *sb, const char *path);

/* A growable list of owned strings. */
struct strlist {
  char **items;
  size_t n;
  size_t cap;
};
#define STRLIST_INIT { NULL, 0, 0 }
void strlist_push (struct strlist *l, const char *s);           /* copies s */
void strlist_push_split (struct strlist *l, const char *s, char sep);  /* non-empty parts */
bool strlist_contains (const struct strlist *l, const char *s);
void strlist_free (struct strlist *l);

bool str_has_suffix (const char *s, const char *suffix);
bool str_has_prefix (const char *s, const char *prefix);
char *xstrdup_or_null (const char *s);             /* NULL stays NULL */
bool str_same (const char *a, const char *b);      /* equal, or both NULL */

/* A double (a JSON number as cJSON holds it) as an integer in [min, max]: converting a
 * double outside the range of the integer type is undefined behaviour in C, so every
 * conversion of a number read from outside goes through this.  Returns 0 and *out, or
 * DOUBLE_NOT_INTEGRAL (NaN or a fraction) or DOUBLE_OUT_OF_RANGE (infinities too; *out is
 * then left alone); double_strerror says which in words. */
enum { DOUBLE_NOT_INTEGRAL = 1, DOUBLE_OUT_OF_RANGE = 2 };
int double_to_ll (double d, long long min, long long max, long long *out);
const char *double_strerror (int code);
/* The same for a long, for callers that want one: def when d is not an integer in
 * [min, max]. */
long double_to_long_or (double d, long min, long max, long def);

#endif
