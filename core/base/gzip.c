/* gzip for the Helm codec: an inflate with an output cap, so a hostile record (a "gzip
 * bomb") cannot exhaust memory, and a deflate that writes the header Go's compress/gzip
 * writes at BestCompression, as Helm's encodeRelease does.  Inflating is most of an
 * export's work, so a record is first inflated in one call by libdeflate (about 2.5x
 * zlib's speed here, CRC included) into a buffer sized from the gzip trailer; anything
 * that path does not take cleanly (several members, a size over the cap, a trailer that
 * lies, corrupt data) goes through zlib's streaming inflate, which says precisely what
 * is wrong. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdeflate.h>
#include <zlib.h>

#include "base/util.h"
#include "base/gzip.h"

bool
gzip_is_gzip (const void *data, size_t len)
{
  const unsigned char *p = data;
  return len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08;
}

/* The one-call path for the usual single-member record: 1 on success, 0 to take the
 * streaming path (nothing appended). */
static int
gunzip_fast (const unsigned char *in, size_t len, size_t max_out, struct strbuf *out)
{
  if (len < 18)
    return 0;
  /* ISIZE: the member's uncompressed size mod 2^32, little-endian, in the last 4 bytes. */
  size_t isize = (size_t) in[len - 4] | (size_t) in[len - 3] << 8 | (size_t) in[len - 2] << 16
                 | (size_t) in[len - 1] << 24;
  if (isize > max_out || out->len + isize > max_out)
    return 0;
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor ();
  if (!d)
    return 0;
  strbuf_reserve (out, isize);
  size_t used = 0, got = 0;
  enum libdeflate_result r = libdeflate_gzip_decompress_ex (d, in, len, out->data + out->len,
                                                            isize, &used, &got);
  libdeflate_free_decompressor (d);
  if (r != LIBDEFLATE_SUCCESS || used != len || got != isize)
    return 0;
  out->len += got;
  out->data[out->len] = '\0';
  return 1;
}

static const struct err_name gzip_names[] = {
  { GZIP_E_CORRUPT, "GZIP_E_CORRUPT", "corrupt gzip data" },
  { GZIP_E_TOO_LARGE, "GZIP_E_TOO_LARGE", "decompressed data too large" },
  { 0, NULL, NULL }
};
ERR_TABLE (gzip_table, gzip_names)

/* Like Go's gzip.Reader (multistream): members may follow each other; anything else after
 * the first member is an error, as is a stream that ends early. */
int
gzip_inflate (const void *data, size_t len, size_t max_out, struct strbuf *out,
              struct rm_error *err)
{
  if (gunzip_fast (data, len, max_out, out))
    return 0;
  z_stream zs;
  memset (&zs, 0, sizeof zs);
  if (inflateInit2 (&zs, 16 + MAX_WBITS) != Z_OK) {
    return err_set (err, RM_E_NOMEM, "zlib initialisation failed");
  }
  /* zlib counts in uInt; feed large inputs in slices. */
  const unsigned char *in = data;
  size_t in_left = len;
  int rc = GZIP_E_CORRUPT;
  unsigned char chunk[65536];

  for (;;) {
    if (zs.avail_in == 0 && in_left > 0) {
      size_t n = in_left > (1u << 30) ? (1u << 30) : in_left;
      zs.next_in = (unsigned char *) in;
      zs.avail_in = (uInt) n;
      in += n;
      in_left -= n;
    }
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    int z = inflate (&zs, Z_NO_FLUSH);
    size_t got = sizeof chunk - zs.avail_out;
    if (got) {
      if (out->len + got > max_out) {
        rc = err_set (err, GZIP_E_TOO_LARGE, "decompressed size exceeds the limit of %zu bytes",
                      max_out);
        goto done;
      }
      strbuf_add (out, chunk, got);
    }
    if (z == Z_STREAM_END) {
      size_t rest = zs.avail_in + in_left;
      if (rest == 0) {
        rc = 0;
        goto done;
      }
      /* Another member must start right here. */
      const unsigned char *next = zs.next_in;
      if (!gzip_is_gzip (next, zs.avail_in)) {
        err_set (err, GZIP_E_CORRUPT, "%zu bytes of trailing garbage after the gzip stream", rest);
        goto done;
      }
      inflateReset (&zs);
      continue;
    }
    if (z == Z_BUF_ERROR || (z == Z_OK && got == 0 && zs.avail_in == 0 && in_left == 0)) {
      if (zs.avail_in == 0 && in_left == 0) {
        err_set (err, GZIP_E_CORRUPT, "gzip stream is truncated (ends after %zu compressed bytes)",
                 len);
        goto done;
      }
      continue;
    }
    if (z != Z_OK) {
      err_set (err, GZIP_E_CORRUPT, "gzip stream is corrupt (%s)", zs.msg ? zs.msg : zError (z));
      goto done;
    }
  }
done:
  inflateEnd (&zs);
  return rc;
}

void
gzip_deflate (const void *data, size_t len, struct strbuf *out)
{
  z_stream zs;
  memset (&zs, 0, sizeof zs);
  /* 9 = gzip.BestCompression; windowBits 15 + 16 = gzip wrapper; memLevel 8 is zlib's
   * default.  Go writes mtime 0, XFL 2 (best compression) and OS 255 (unknown): zlib
   * writes the same XFL at level 9, and deflateSetHeader gives the rest. */
  if (deflateInit2 (&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    fputs ("releasemanager: zlib deflateInit2 failed\n", stderr);
    abort ();
  }
  gz_header h;
  memset (&h, 0, sizeof h);
  h.os = 255;
  deflateSetHeader (&zs, &h);

  const unsigned char *in = data;
  size_t in_left = len;
  unsigned char chunk[65536];
  int z;
  do {
    if (zs.avail_in == 0 && in_left > 0) {
      size_t n = in_left > (1u << 30) ? (1u << 30) : in_left;
      zs.next_in = (unsigned char *) in;
      zs.avail_in = (uInt) n;
      in += n;
      in_left -= n;
    }
    zs.next_out = chunk;
    zs.avail_out = sizeof chunk;
    z = deflate (&zs, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    strbuf_add (out, chunk, sizeof chunk - zs.avail_out);
  } while (z != Z_STREAM_END);
  deflateEnd (&zs);
}
