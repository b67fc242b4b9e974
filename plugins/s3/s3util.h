/* Small helpers shared by the s3 plugin's modules: a growable byte buffer, hex and
 * SHA-256/MD5 digests, base64 and time formatting.  No knowledge of S3 or HTTP. */
#ifndef S3_UTIL_H
#define S3_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Helpers that tests call but the plugin keeps file-private. */
#ifdef RM_UNITTEST
#define S3_UNITTEST
#else
#define S3_UNITTEST static
#endif

/* A growable, always NUL-terminated buffer.  All functions return 0, or -1 when memory
 * runs out (the buffer is then unchanged and still valid). */
struct s3buf {
  char *data;
  size_t len;
  size_t cap;
};
#define S3BUF_INIT { NULL, 0, 0 }
int s3buf_add (struct s3buf *b, const void *data, size_t len);
int s3buf_puts (struct s3buf *b, const char *s);
int s3buf_putc (struct s3buf *b, char c);
int s3buf_printf (struct s3buf *b, const char *fmt, ...) __attribute__((format (printf, 2, 3)));
void s3buf_reset (struct s3buf *b);          /* len = 0, keeps the memory */
void s3buf_free (struct s3buf *b);
char *s3buf_detach (struct s3buf *b);        /* caller frees; "" rather than NULL */

#define S3_SHA256_HEX_LEN 64
extern const char s3_empty_sha256_hex[];     /* SHA-256 of "" in hex */

void s3_hex (const unsigned char *in, size_t n, char *out);   /* out: 2n + 1 bytes */
/* Decode %XX escapes in place (malformed ones are kept as they are); with plus_is_space,
 * also '+' -> ' ' (form encoding, as in ListObjectsV2's encoding-type=url). */
void s3_percent_decode (char *s, bool plus_is_space);
void s3_sha256_hex (const void *data, size_t len, char out[S3_SHA256_HEX_LEN + 1]);
/* base64 of in[0..n) into out (at least 4 * ((n + 2) / 3) + 1 bytes). */
void s3_base64 (const unsigned char *in, size_t n, char *out);

/* "20150830T123600Z" (17 bytes with NUL). */
void s3_amz_date (time_t t, char out[17]);
/* Parse ISO 8601 "2015-08-30T12:36:00Z" (fractional seconds and "+00:00" accepted) or
 * RFC 1123 "Sun, 30 Aug 2015 12:36:00 GMT".  Returns -1 if unparsable. */
long long s3_parse_time (const char *s);

/* strdup that returns NULL for NULL. */
char *s3_strdup0 (const char *s);
/* Constant-free case-insensitive ASCII compare. */
int s3_strcaseeq (const char *a, const char *b);

#endif
