/* gzip of the base layer: an inflate with an output cap, so hostile input (a "gzip
 * bomb") cannot exhaust memory, and a deflate that writes the header Go's compress/gzip
 * writes at BestCompression (as Helm's encodeRelease does).  Used by the Helm codec for
 * records, by the Kubernetes client for whole response bodies and by the store. */
#ifndef RM_BASE_GZIP_H
#define RM_BASE_GZIP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/util.h"

/* data starts with the gzip magic and the deflate method (1f 8b 08). */
bool gzip_is_gzip (const void *data, size_t len);
/* Extended codes (base/error.h, base block 0x01-0x0f). */
enum gzip_code {
  GZIP_E_CORRUPT = ERR_EXT (RM_E_IO, 0x01),        /* truncated, corrupt, trailing garbage */
  GZIP_E_TOO_LARGE = ERR_EXT (RM_E_INVALID, 0x01), /* the output would exceed max_out */
};

/* Inflate data (one or more gzip members), appending to out; 0, or a GZIP_E_* code with a
 * reason in err (which may be NULL).  Stops with GZIP_E_TOO_LARGE once out would grow
 * past max_out bytes. */
int gzip_inflate (const void *data, size_t len, size_t max_out, struct strbuf *out,
                  struct rm_error *err);
/* Deflate data into one gzip member appended to out. */
void gzip_deflate (const void *data, size_t len, struct strbuf *out);

#endif
