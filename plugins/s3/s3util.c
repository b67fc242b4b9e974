/* Small helpers for the s3 plugin: growable buffers, digests, base64, time parsing.
 * Everything here is thread-safe and allocation failures are reported, never fatal. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "s3util.h"

const char s3_empty_sha256_hex[] =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

static int
grow (struct s3buf *b, size_t extra)
{
  size_t need = b->len + extra + 1, cap;
  char *p;
  if (need <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  p = realloc (b->data, cap);
  if (p == NULL)
    return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int
s3buf_add (struct s3buf *b, const void *data, size_t len)
{
  if (grow (b, len) < 0)
    return -1;
  if (len)
    memcpy (b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int
s3buf_puts (struct s3buf *b, const char *s)
{
  return s3buf_add (b, s, strlen (s));
}

int
s3buf_putc (struct s3buf *b, char c)
{
  return s3buf_add (b, &c, 1);
}

int
s3buf_printf (struct s3buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;
  char small[256];
  va_start (ap, fmt);
  n = vsnprintf (small, sizeof small, fmt, ap);
  va_end (ap);
  if (n < 0)
    return -1;
  if ((size_t) n < sizeof small)
    return s3buf_add (b, small, (size_t) n);
  if (grow (b, (size_t) n) < 0)
    return -1;
  va_start (ap, fmt);
  vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
  va_end (ap);
  b->len += (size_t) n;
  return 0;
}

void
s3buf_reset (struct s3buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void
s3buf_free (struct s3buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *
s3buf_detach (struct s3buf *b)
{
  char *p = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return p ? p : strdup ("");
}

void
s3_hex (const unsigned char *in, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = '\0';
}

void
s3_sha256_hex (const void *data, size_t len, char out[S3_SHA256_HEX_LEN + 1])
{
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_Digest (data, len, md, &mdlen, EVP_sha256 (), NULL);
  s3_hex (md, 32, out);
}

void
s3_base64 (const unsigned char *in, size_t n, char *out)
{
  EVP_EncodeBlock ((unsigned char *) out, in, (int) n);
}

void
s3_amz_date (time_t t, char out[17])
{
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static long long
days_from_civil (long long y, unsigned m, unsigned d)
{
  /* Howard Hinnant's algorithm: days since 1970-01-01, no timegm() needed. */
  long long era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned) (y - era * 400);
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long) doe - 719468;
}

long long
s3_parse_time (const char *s)
{
  int y, mo, d, h, mi, sec, n = 0;
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char mon[4], tz[8];
  if (s == NULL)
    return -1;
  while (isspace ((unsigned char) *s))
    s++;
  if (sscanf (s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6) {
    const char *rest = s + n;
    if (*rest == '.')
      for (rest++; isdigit ((unsigned char) *rest); rest++)
        ;
    if (*rest != 'Z' && *rest != '\0' && strncmp (rest, "+00:00", 6) != 0)
      return -1;
  }
  else if (sscanf (s, "%*3s, %2d %3s %4d %2d:%2d:%2d %7s", &d, mon, &y, &h, &mi, &sec, tz) == 7) {
    const char *p = strstr (months, mon);
    if (p == NULL || strlen (mon) != 3 || (p - months) % 3 != 0 || strcmp (tz, "GMT") != 0)
      return -1;
    mo = (int) ((p - months) / 3) + 1;
  }
  else
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  return days_from_civil (y, (unsigned) mo, (unsigned) d) * 86400 + h * 3600 + mi * 60 + sec;
}

char *
s3_strdup0 (const char *s)
{
  return s ? strdup (s) : NULL;
}

int
s3_strcaseeq (const char *a, const char *b)
{
  return strcasecmp (a, b) == 0;
}

static int
hexval (int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void
s3_percent_decode (char *s, bool plus_is_space)
{
  char *o = s;
  for (; *s; s++) {
    if (s[0] == '%' && hexval (s[1]) >= 0 && hexval (s[2]) >= 0) {
      *o++ = (char) (hexval (s[1]) * 16 + hexval (s[2]));
      s += 2;
    }
    else
      *o++ = plus_is_space && *s == '+' ? ' ' : *s;
  }
  *o = '\0';
}
