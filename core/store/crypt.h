/* Client-side encryption of a store (issue 15): the plaintext marker that says a store is
 * encrypted and with which key, and attaching the key to the backend so that every
 * object but the marker and the lock is sealed (base/seal.h has the object format).
 *
 *   encryption.json   {"apiVersion": "releasemanager.io/v1", "kind": "Encryption",
 *                      "format": 1, "cipher": "AES-256-GCM", "keyId": "<16 hex>"}
 *
 * A store is encrypted or not as a whole: the marker is written before the first object
 * of an encrypted store, and neither an encrypted export into a store that holds plain
 * objects nor a plain one into an encrypted store is allowed.  `rekey` adds "rekeyTo"
 * (the new key's id) while it rewrites the objects and drops it at its commit. */
#ifndef RM_STORE_CRYPT_H
#define RM_STORE_CRYPT_H

#include <stdbool.h>

#include "backend_wrap.h"
#include "base/seal.h"

#define STORE_CRYPT_KEY "encryption.json"

/* Wrong key, no key, or a plain store given a key. */
#define STORE_E_CRYPT ERR_EXT (RM_E_CONFIG, 0x51)

/* What the marker says. */
struct store_crypt {
  bool present;
  int format;
  char key_id[SEAL_KEY_ID_HEX];
  char rekey_to[SEAL_KEY_ID_HEX];     /* "" unless a rekey is under way */
};

/* Read encryption.json: RM_OK (c->present false when absent) or an error naming it. */
int store_crypt_read (struct backend *b, struct store_crypt *c, struct rm_error *err);
/* Write it (plain) with key_id and, when not NULL, rekey_to. */
int store_crypt_write (struct backend *b, const char *key_id, const char *rekey_to,
                       struct rm_error *err);

/* Check the store against k (NULL: no key given) and attach k to b:
 *   - an encrypted store without a key, or with another key: STORE_E_CRYPT naming the
 *     store and the key ids ("pass --encrypt-key-file");
 *   - a key for a store that already holds plain objects: STORE_E_CRYPT ("not encrypted;
 *     refusing to mix");
 *   - a key for an empty store: when writing, the marker is written first;
 *   - a rekey stopped between its commit's two writes (store_crypt_committed): the new
 *     key reads, a write with it or any use of the old key but rekeying is refused
 *     STORE_E_CRYPT saying to run the rekey again to finish it.
 * k must outlive b. */
int store_crypt_attach (struct backend *b, const struct seal_key *k, bool writing,
                        bool rekeying, struct rm_error *err);

/* Whether the rekey the marker c names (c->rekey_to) was stopped between its two commit
 * writes: index.json is sealed with the key of rekeyTo while the marker still names the
 * old key.  Then (store_crypt_attach) the new key reads but does not write, the old key
 * is refused, both saying to run the rekey again, which finishes it (rekeying: the rekey
 * verb, given the old key). */
int store_crypt_committed (struct backend *b, const struct store_crypt *c, bool *committed,
                           struct rm_error *err);

/* What rekey did. */
struct store_rekey_result {
  size_t records, snapshots;   /* rewritten under the new key */
  size_t deleted, failed;      /* old objects removed after the commit, and not */
  size_t leftovers;            /* objects of an unfinished rekey removed before it */
  bool finished;               /* it finished one stopped between its commit's writes */
};
/* Re-encrypt the store b (attached to old) to new, the caller holding its lock: the
 * marker first says "rekeyTo"; every record any snapshot references is read, checked,
 * and written under its new name (the HMAC under new's address key), then every
 * snapshot's index pointing at them under its new name; then the commit: index.json
 * and the marker naming new; then the state file; then the old records and snapshots
 * are deleted.  Until the commit nothing the old key reads is changed: a run stopped
 * before it leaves the store as it was, plus objects under new names: records no
 * snapshot references, and snapshots sealed with the key of "rekeyTo", which
 * store_history_read sets aside (h->leftover).  The next export or prune removes them;
 * the next rekey (to that key or another) removes them first and starts over.  On
 * return b is attached to new when the commit happened. */
int store_rekey (struct backend *b, const struct seal_key *old, const struct seal_key *new,
                 struct store_rekey_result *res, struct rm_error *err);

/* The keys that stay plain on an encrypted store (NULL-terminated). */
extern const char *const store_crypt_plain_keys[];

#endif
