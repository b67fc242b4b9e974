/* Client-side encryption of stored objects (issue 15): AES-256-GCM with a fresh random
 * 96-bit nonce per object, the object's key (relative to --path) authenticated with it,
 * and the key file that holds the 32-byte store key.  The format, byte by byte, is
 * releasemanager(1)'s ENCRYPTION FORMAT section:
 *
 *   offset  0   6  magic "RMSEAL"
 *           6   1  format version (1)
 *           7   1  algorithm (1 = AES-256-GCM)
 *           8   8  key id: the first 8 bytes of HMAC-SHA256(store key, "releasemanager key id")
 *          16  12  nonce
 *          28   n  ciphertext
 *        28+n  16  GCM tag
 *
 * The associated data is the 28 header bytes followed by the object's key.  The AES key
 * is HKDF-SHA256(store key, no salt, info "releasemanager encryption v1"), and records
 * are addressed by HMAC-SHA256 under HKDF(..., "releasemanager address v1") instead of
 * SHA-256, so equal plaintexts under different store keys get unrelated names. */
#ifndef RM_BASE_SEAL_H
#define RM_BASE_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#include <releasemanager/backend.h>

#include "base/util.h"

#define SEAL_MAGIC "RMSEAL"
#define SEAL_MAGIC_LEN 6
#define SEAL_VERSION 1
#define SEAL_ALG_AES256GCM 1
#define SEAL_KEY_ID_LEN 8
#define SEAL_NONCE_LEN 12
#define SEAL_HEADER_LEN 28
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_HEADER_LEN + SEAL_TAG_LEN)
#define SEAL_KEY_LEN 32
#define SEAL_KEY_ID_HEX (2 * SEAL_KEY_ID_LEN + 1)

struct seal_key {
  unsigned char enc[SEAL_KEY_LEN];    /* the AES-256-GCM key (HKDF subkey) */
  unsigned char addr[SEAL_KEY_LEN];   /* the record address HMAC key (HKDF subkey) */
  unsigned char id[SEAL_KEY_ID_LEN];
  char id_hex[SEAL_KEY_ID_HEX];
};

/* Derive the subkeys and the id of a 32-byte store key. */
void seal_key_from_raw (const unsigned char raw[SEAL_KEY_LEN], struct seal_key *k);
/* Read a key file: exactly 32 raw bytes, or the base64 of 32 bytes (surrounding
 * whitespace and a trailing newline allowed).  RM_E_CONFIG with err naming the file and
 * the problem (never its content).  A key file other users may read is warned about. */
int seal_key_load (const char *path, struct seal_key *k, struct rm_error *err);
/* Wipe the key material. */
void seal_key_clear (struct seal_key *k);

/* HMAC-SHA256 of data under the address subkey, as 64 lowercase hex digits. */
void seal_address_hex (const struct seal_key *k, const void *data, size_t len, char out[65]);

/* Whether buf starts with a sealed object's header; *key_id_hex (SEAL_KEY_ID_HEX bytes,
 * may be NULL) receives the id of the key it was sealed with. */
bool seal_is_sealed (const void *buf, size_t len, char *key_id_hex);

/* Sealing as a stream: the header, then the plaintext of src encrypted as the reader
 * asks for it, then the tag; seal_reader_rewind starts again with the same nonce (the
 * same bytes: a retried upload).  No copy of the plaintext is made. */
struct seal_reader {
  const struct seal_key *k;
  const char *ad;                      /* the object's key */
  const unsigned char *src;
  size_t len, pos;                     /* plaintext bytes, bytes of it encrypted so far */
  unsigned char header[SEAL_HEADER_LEN];
  unsigned char tag[SEAL_TAG_LEN];
  size_t out;                          /* bytes of the sealed object given so far */
  void *ctx;                           /* EVP_CIPHER_CTX */
  bool failed;
};
/* Fresh nonce (RAND_bytes); RM_E_INTERNAL when there is no randomness. */
int seal_reader_init (struct seal_reader *s, const struct seal_key *k, const char *ad,
                      const void *src, size_t len, struct rm_error *err);
long long seal_reader_read (void *opaque, void *buf, size_t len);
int seal_reader_rewind (void *opaque);
void seal_reader_free (struct seal_reader *s);

/* Seal src into out (appended): for small objects and tests. */
int seal_buf (const struct seal_key *k, const char *ad, const void *src, size_t len,
              struct strbuf *out, struct rm_error *err);

/* Open a sealed object in place: on RM_OK, buf[0..*len) is the plaintext (shorter by
 * SEAL_OVERHEAD).  RM_E_IO with err saying why: not sealed, another format version,
 * sealed with another key (both ids), truncated, or not authentic (tampered, or another
 * object's bytes under this key).  The caller names the object. */
int seal_open (const struct seal_key *k, const char *ad, unsigned char *buf, size_t *len,
               struct rm_error *err);

#endif
