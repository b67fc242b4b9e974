/* SHA-256 as lowercase hex, the digest the store index keeps for every record. */
#include <config.h>

#include <stdio.h>

#include <openssl/evp.h>

#include "base/sha256.h"

void
sha256_hex (const void *data, size_t len, char out[SHA256_HEX_SIZE])
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest (data, len, md, &n, EVP_sha256 (), NULL);
  for (unsigned i = 0; i < 32; i++)
    snprintf (out + 2 * i, 3, "%02x", md[i]);
}
