/* Strict standard base64 with padding.  Strict because Helm's decoder (Go's StdEncoding)
 * is strict: a record we accept must be a record Helm accepts. */
#include <config.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "base/base64.h"

static const char alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
base64_encode (const void *data, size_t len, size_t *out_len)
{
  const unsigned char *in = data;
  size_t n = (len + 2) / 3 * 4;
  char *out = xmalloc (n + 1), *o = out;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8 | in[i + 2];
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = alphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t) in[i] << 16;
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = '=';
    *o++ = '=';
  }
  else if (len - i == 2) {
    uint32_t v = (uint32_t) in[i] << 16 | (uint32_t) in[i + 1] << 8;
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = '=';
  }
  *o = '\0';
  if (out_len)
    *out_len = n;
  return out;
}

/* Value of each byte in the alphabet, or -1. */
static int8_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
init_table (void)
{
  memset (table, -1, sizeof table);
  for (int i = 0; i < 64; i++)
    table[(unsigned char) alphabet[i]] = (int8_t) i;
}

static int
value_of (unsigned char c)
{
  return table[c];
}

static const struct err_name base64_names[] = {
  { BASE64_E_INVALID, "BASE64_E_INVALID", "invalid base64" },
  { 0, NULL, NULL }
};
ERR_TABLE (base64_table, base64_names)

unsigned char *
base64_decode (const char *text, size_t len, size_t *out_len, struct rm_error *err)
{
  unsigned char *out = xmalloc (len / 4 * 3 + 4);
  size_t o = 0;
  uint32_t quad = 0;
  int nq = 0, pad = 0;
  size_t i = 0;

  pthread_once (&table_once, init_table);
  /* Fast path: whole quads of alphabet characters (all but the end of a record). */
  const unsigned char *t = (const unsigned char *) text;
  while (i + 4 <= len) {
    int a = table[t[i]], b = table[t[i + 1]], c = table[t[i + 2]], d = table[t[i + 3]];
    if ((a | b | c | d) < 0)
      break;
    uint32_t v = (uint32_t) a << 18 | (uint32_t) b << 12 | (uint32_t) c << 6 | (uint32_t) d;
    out[o++] = (unsigned char) (v >> 16);
    out[o++] = (unsigned char) (v >> 8);
    out[o++] = (unsigned char) v;
    i += 4;
  }
  for (; i < len; i++) {
    unsigned char c = (unsigned char) text[i];
    if (c == '\r' || c == '\n' || c == '\t' || c == ' ')
      continue;
    if (c == '=') {
      /* Padding may only fill the last one or two places of the final quad. */
      if (nq < 2) {
        err_set (err, BASE64_E_INVALID, "misplaced padding at offset %zu", i);
        goto fail;
      }
      pad++;
      nq++;
      quad <<= 6;
      if (nq == 4) {
        if (pad == 1) {
          out[o++] = quad >> 16;
          out[o++] = quad >> 8;
        }
        else
          out[o++] = quad >> 16;
        nq = 0;
      }
      continue;
    }
    if (pad) {
      err_set (err, BASE64_E_INVALID, "data after padding at offset %zu", i);
      goto fail;
    }
    int v = value_of (c);
    if (v < 0) {
      if (c >= 0x20 && c < 0x7f)
        err_set (err, BASE64_E_INVALID, "invalid character '%c' at offset %zu", c, i);
      else
        err_set (err, BASE64_E_INVALID, "invalid byte 0x%02x at offset %zu", c, i);
      goto fail;
    }
    quad = quad << 6 | (uint32_t) v;
    if (++nq == 4) {
      out[o++] = quad >> 16;
      out[o++] = quad >> 8;
      out[o++] = quad;
      nq = 0;
      quad = 0;
    }
  }
  if (nq != 0) {
    err_set (err, BASE64_E_INVALID, "truncated input (%d stray characters at the end)", nq);
    goto fail;
  }
  out[o] = '\0';
  if (out_len)
    *out_len = o;
  return out;

fail:
  free (out);
  return NULL;
}
