/* SHA-256 helpers of the base layer. */
#ifndef RM_BASE_SHA256_H
#define RM_BASE_SHA256_H

#include <stddef.h>

#define SHA256_HEX_SIZE 65   /* 64 hex digits and a NUL */

/* Hex SHA-256 of data into out. */
void sha256_hex (const void *data, size_t len, char out[SHA256_HEX_SIZE]);

#endif
