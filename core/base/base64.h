/* Standard base64 (RFC 4648 section 4, with padding), as Go's base64.StdEncoding reads and
 * writes it.  Used by the Helm codec for its two encoding layers and by the Kubernetes
 * client for *-data kubeconfig fields and basic auth. */
#ifndef RM_BASE64_H
#define RM_BASE64_H

#include <stddef.h>

#include "base/error.h"

/* Extended code (base/error.h, base block 0x01-0x0f). */
enum base64_code {
  BASE64_E_INVALID = ERR_EXT (RM_E_INVALID, 0x03),   /* not base64 */
};

/* Encode len bytes.  Returns a NUL-terminated string the caller frees; *out_len (may be
 * NULL) gets its length.  Never fails. */
char *base64_encode (const void *data, size_t len, size_t *out_len);

/* Decode text[0..len).  CR, LF, tab and space are skipped (kubectl and editors wrap long
 * lines); anything else outside the alphabet, wrong padding, or a length that is not a
 * multiple of 4 is an error.  Returns a buffer the caller frees (NUL-terminated for
 * convenience, the NUL not counted in *out_len), or NULL with BASE64_E_INVALID and a
 * reason in err (which may be NULL), e.g. "invalid character '!' at offset 12". */
unsigned char *base64_decode (const char *text, size_t len, size_t *out_len,
                              struct rm_error *err);

#endif
