/* gzip of the base layer: an inflate with an output cap, so hostile input (a "gzip
 * bomb") cannot exhaust memory, and a deflate that writes the header Go's compress/gzip
 * writes at BestCompression (as Helm's encodeRelease does).  Used by the Helm codec for
 * records, by the Kubernetes client for whole response bodies and by the store. */
#ifndef RM_BASE_GZIP_H
#define RM_BASE_GZIP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* data starts with the gzip magic and the deflate method (1f 8b 08). */
bool gzip_is_gzip (const void *data, size_t len);
/* Inflate data (one or more gzip members), appending to out; 0, or -1 with a reason in
 * err.  Stops with an error once out would grow past max_out bytes. */
int gzip_inflate (const void *data, size_t len, size_t max_out, struct strbuf *out,
                 char *err, size_t err_size);
/* Deflate data into one gzip member appended to out. */
void gzip_deflate (const void *data, size_t len, struct strbuf *out);

#endif
