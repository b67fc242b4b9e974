/* One-pass validating JSON scanner with value capture at fixed key paths (jscan.h).
 * Iterative, so a document nested 10000 deep costs 10 KB of stack bytes, not frames.
 * Strings, nearly all of a release's bytes, are skipped eight bytes at a time. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/jscan.h"

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* Nonzero when a byte of x is zero / below n (n <= 128): the classic SWAR tests. */
#define HAS_ZERO(x) (((x) - ONES) & ~(x) & HIGHS)
#define HAS_LESS(x, n) (((x) - ONES * (n)) & ~(x) & HIGHS)

static bool
is_ws (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* p is just past the opening quote; returns the closing quote, or NULL with *bad at the
 * offending byte. */
static const char *
scan_string (const char *p, const char *end, bool *escaped, const char **bad)
{
  *escaped = false;
  for (;;) {
    while (end - p >= 8) {
      uint64_t v;
      memcpy (&v, p, 8);
      uint64_t m = HAS_ZERO (v ^ (ONES * '"')) | HAS_ZERO (v ^ (ONES * '\\')) | HAS_LESS (v, 0x20);
      if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
        /* The lowest flagged byte is exact (false positives only sit above a hit). */
        p += __builtin_ctzll (m) >> 3;
#endif
        break;
      }
      p += 8;
    }
    if (p == end) {
      *bad = end;
      return NULL;
    }
    unsigned char c = (unsigned char) *p;
    if (c == '"')
      return p;
    if (c < 0x20) {
      *bad = p;
      return NULL;
    }
    if (c == '\\') {
      *escaped = true;
      if (end - p < 2) {
        *bad = end;
        return NULL;
      }
      switch (p[1]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        p += 2;
        break;
      case 'u':
        for (int i = 2; i < 6; i++)
          if (p + i >= end || hexval (p[i]) < 0) {
            *bad = p + i < end ? p + i : end;
            return NULL;
          }
        p += 6;
        break;
      default:
        *bad = p + 1;
        return NULL;
      }
      continue;
    }
    p++;
  }
}

static bool
digits (const char **pp, const char *end)
{
  const char *p = *pp;
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  bool any = p > *pp;
  *pp = p;
  return any;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; returns the end or NULL (*bad set). */
static const char *
scan_number (const char *p, const char *end, const char **bad)
{
  if (p < end && *p == '-')
    p++;
  if (p < end && *p == '0')
    p++;
  else if (!digits (&p, end))
    goto fail;
  if (p < end && *p == '.') {
    p++;
    if (!digits (&p, end))
      goto fail;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (!digits (&p, end))
      goto fail;
  }
  return p;
fail:
  *bad = p;
  return NULL;
}

/* The key between k and k+klen (raw, maybe escaped) equals the plain string s. */
static bool
key_equals (const char *k, size_t klen, bool escaped, const char *s)
{
  if (!escaped)
    return strlen (s) == klen && memcmp (k, s, klen) == 0;
  struct jscan_field f = { .type = JSCAN_STRING, .at = k, .len = klen, .escaped = true };
  char *u = jscan_string (&f);
  bool eq = strcmp (u, s) == 0;
  free (u);
  return eq;
}

/* Record the value at p (type t, token [at, at+len)) in every field of mask. */
static void
capture (struct jscan_field *fields, uint32_t mask, enum jscan_type t, const char *at,
         size_t len, bool escaped)
{
  for (unsigned i = 0; mask; i++, mask >>= 1)
    if (mask & 1) {
      fields[i].type = t;
      fields[i].at = at;
      fields[i].len = len;
      fields[i].escaped = escaped;
    }
}

static const char *
skip_ws (const char *p, const char *end)
{
  while (p < end && is_ws (*p))
    p++;
  return p;
}

int
jscan (const char *json, size_t len, struct jscan_field *fields, size_t n,
       size_t *err_at, const char **why)
{
  const char *p = json, *end = json + len, *bad = NULL;
  unsigned char *stack = xmalloc (JSCAN_MAX_DEPTH);   /* '{' or '[' per open container */
  size_t depth = 0;
  /* lenmask[d]: fields whose path has d keys.  live[d]: fields with at least d keys
   * whose first d-1 keys lead to the object open at depth d.  cur: fields whose path
   * so far leads to the value about to be read. */
  uint32_t lenmask[JSCAN_MAX_PATH + 1] = { 0 }, live[JSCAN_MAX_PATH + 1] = { 0 }, cur;
  if (n > JSCAN_MAX_FIELDS)
    n = JSCAN_MAX_FIELDS;
  for (size_t i = 0; i < n; i++) {
    size_t l = 0;
    while (l < JSCAN_MAX_PATH && fields[i].path[l])
      l++;
    lenmask[l] |= 1u << i;
    fields[i].type = JSCAN_ABSENT;
    fields[i].at = NULL;
    fields[i].len = 0;
    fields[i].escaped = false;
  }
  cur = n == 32 ? ~0u : (1u << n) - 1u;
  *why = NULL;

value:
  p = skip_ws (p, end);
  if (p == end)
    goto truncated;
  {
    uint32_t here = depth <= JSCAN_MAX_PATH ? cur & lenmask[depth] : 0;
    const char *q;
    bool esc;
    switch (*p) {
    case '{':
    case '[':
      if (depth == JSCAN_MAX_DEPTH) {
        bad = p;
        *why = "exceeded max depth";
        goto fail;
      }
      capture (fields, here, *p == '{' ? JSCAN_OBJECT : JSCAN_ARRAY, p, 1, false);
      {
        uint32_t cont = *p == '{' && depth < JSCAN_MAX_PATH ? cur & ~lenmask[depth] : 0;
        stack[depth++] = (unsigned char) *p;
        if (depth <= JSCAN_MAX_PATH)
          live[depth] = cont;
      }
      p = skip_ws (p + 1, end);
      if (p == end)
        goto truncated;
      if (stack[depth - 1] == '{') {
        if (*p == '}') {
          p++;
          depth--;
          goto next;
        }
        goto key;
      }
      if (*p == ']') {
        p++;
        depth--;
        goto next;
      }
      cur = 0;
      goto value;
    case '"':
      q = scan_string (p + 1, end, &esc, &bad);
      if (!q)
        goto bad_string;
      capture (fields, here, JSCAN_STRING, p + 1, (size_t) (q - p - 1), esc);
      p = q + 1;
      goto next;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      q = scan_number (p, end, &bad);
      if (!q) {
        *why = bad == end ? "unexpected end of JSON input" : "invalid character in numeric literal";
        goto fail;
      }
      capture (fields, here, JSCAN_NUMBER, p, (size_t) (q - p), false);
      p = q;
      goto next;
    case 't':
    case 'f':
    case 'n': {
      const char *lit = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
      size_t ll = strlen (lit), i;
      for (i = 0; i < ll && p + i < end && p[i] == lit[i]; i++)
        ;
      if (i < ll) {
        bad = p + i;
        if (bad == end)
          goto truncated;
        *why = "invalid character in literal";
        goto fail;
      }
      capture (fields, here, *p == 't' ? JSCAN_TRUE : *p == 'f' ? JSCAN_FALSE : JSCAN_NULL,
               p, ll, false);
      p += ll;
      goto next;
    }
    default:
      bad = p;
      *why = "invalid character looking for beginning of value";
      goto fail;
    }
  }

key:
  /* p is at the first non-blank byte after '{' or ','. */
  p = skip_ws (p, end);
  if (p == end)
    goto truncated;
  if (*p != '"') {
    bad = p;
    *why = "invalid character looking for beginning of object key string";
    goto fail;
  }
  {
    bool esc;
    const char *q = scan_string (p + 1, end, &esc, &bad);
    if (!q)
      goto bad_string;
    cur = 0;
    if (depth <= JSCAN_MAX_PATH && live[depth]) {
      uint32_t m = live[depth];
      for (unsigned i = 0; m; i++, m >>= 1)
        if ((m & 1) && key_equals (p + 1, (size_t) (q - p - 1), esc, fields[i].path[depth - 1]))
          cur |= 1u << i;
    }
    p = skip_ws (q + 1, end);
    if (p == end)
      goto truncated;
    if (*p != ':') {
      bad = p;
      *why = "invalid character after object key";
      goto fail;
    }
    p++;
    goto value;
  }

next:
  p = skip_ws (p, end);
  if (depth == 0) {
    if (p != end) {
      free (stack);
      *err_at = (size_t) (p - json);
      *why = "invalid character after top-level value";
      return JSCAN_E_TRAILING;
    }
    free (stack);
    return 0;
  }
  if (p == end)
    goto truncated;
  if (stack[depth - 1] == '{') {
    if (*p == ',') {
      p++;
      goto key;
    }
    if (*p == '}') {
      p++;
      depth--;
      goto next;
    }
    bad = p;
    *why = "invalid character after object key:value pair";
    goto fail;
  }
  if (*p == ',') {
    p++;
    cur = 0;
    goto value;
  }
  if (*p == ']') {
    p++;
    depth--;
    goto next;
  }
  bad = p;
  *why = "invalid character after array element";
  goto fail;

bad_string:
  *why = bad == end ? "unexpected end of JSON input"
       : (unsigned char) *bad < 0x20 ? "invalid control character in string literal"
       : "invalid escape in string literal";
  goto fail;
truncated:
  bad = end;
  *why = "unexpected end of JSON input";
fail:
  free (stack);
  *err_at = (size_t) (bad - json);
  return JSCAN_E_INVALID;
}

static void
put_utf8 (struct strbuf *sb, uint32_t c)
{
  char b[4];
  size_t n;
  if (c < 0x80) {
    b[0] = (char) c;
    n = 1;
  }
  else if (c < 0x800) {
    b[0] = (char) (0xc0 | c >> 6);
    b[1] = (char) (0x80 | (c & 0x3f));
    n = 2;
  }
  else if (c < 0x10000) {
    b[0] = (char) (0xe0 | c >> 12);
    b[1] = (char) (0x80 | ((c >> 6) & 0x3f));
    b[2] = (char) (0x80 | (c & 0x3f));
    n = 3;
  }
  else {
    b[0] = (char) (0xf0 | c >> 18);
    b[1] = (char) (0x80 | ((c >> 12) & 0x3f));
    b[2] = (char) (0x80 | ((c >> 6) & 0x3f));
    b[3] = (char) (0x80 | (c & 0x3f));
    n = 4;
  }
  strbuf_add (sb, b, n);
}

/* The four hex digits at p (already validated by the scan). */
static uint32_t
hex4 (const char *p)
{
  return (uint32_t) (hexval (p[0]) << 12 | hexval (p[1]) << 8 | hexval (p[2]) << 4
                     | hexval (p[3]));
}

char *
jscan_string (const struct jscan_field *f)
{
  if (f->type != JSCAN_STRING)
    return NULL;
  struct strbuf sb = STRBUF_INIT;
  if (!f->escaped) {
    strbuf_add (&sb, f->at, f->len);
    return strbuf_detach (&sb);
  }
  const char *p = f->at, *end = f->at + f->len;
  while (p < end) {
    const char *bs = memchr (p, '\\', (size_t) (end - p));
    if (!bs) {
      strbuf_add (&sb, p, (size_t) (end - p));
      break;
    }
    strbuf_add (&sb, p, (size_t) (bs - p));
    char c = bs[1];
    p = bs + 2;
    switch (c) {
    case 'b': strbuf_add (&sb, "\b", 1); break;
    case 'f': strbuf_add (&sb, "\f", 1); break;
    case 'n': strbuf_add (&sb, "\n", 1); break;
    case 'r': strbuf_add (&sb, "\r", 1); break;
    case 't': strbuf_add (&sb, "\t", 1); break;
    case 'u': {
      uint32_t u = hex4 (p);
      p += 4;
      if (u >= 0xd800 && u < 0xdc00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
        uint32_t lo = hex4 (p + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
          u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
          p += 6;
        }
      }
      if (u >= 0xd800 && u < 0xe000)
        u = 0xfffd;   /* unpaired surrogate, as Go decodes it */
      put_utf8 (&sb, u);
      break;
    }
    default:      /* '"', '\\', '/' */
      strbuf_add (&sb, &c, 1);
      break;
    }
  }
  return strbuf_detach (&sb);
}
