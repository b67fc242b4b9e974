/* The encryption marker of a store and the check that a key fits it (crypt.h). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "base/log.h"
#include "store/crypt.h"
#include "store/lock.h"
#include "store/store.h"

const char *const store_crypt_plain_keys[] = { STORE_CRYPT_KEY, STORE_LOCK_KEY, NULL };

static bool
hex_id (const char *s)
{
  if (!s || strlen (s) != SEAL_KEY_ID_HEX - 1)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

int
store_crypt_read (struct backend *b, struct store_crypt *c, struct rm_error *err)
{
  memset (c, 0, sizeof *c);
  struct strbuf sb = STRBUF_INIT;
  int rc = backend_get_mem (b, STORE_CRYPT_KEY, &sb, NULL, err);
  if (rm_primary (rc) == RM_E_NOT_FOUND) {
    strbuf_free (&sb);
    return RM_OK;
  }
  if (rc != RM_OK) {
    strbuf_free (&sb);
    return rc;
  }
  cJSON *root = cJSON_ParseWithLength (sb.data ? sb.data : "", sb.len);
  strbuf_free (&sb);
  const cJSON *f = cJSON_GetObjectItemCaseSensitive (root, "format");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive (root, "keyId");
  const cJSON *to = cJSON_GetObjectItemCaseSensitive (root, "rekeyTo");
  if (!cJSON_IsObject (root) || !cJSON_IsNumber (f) || !cJSON_IsString (id)
      || !hex_id (id->valuestring) || (to && (!cJSON_IsString (to) || !hex_id (to->valuestring)))) {
    cJSON_Delete (root);
    return err_set (err, RM_E_IO, "%s: not a valid encryption marker (format and a keyId of "
                    "16 hex digits)", STORE_CRYPT_KEY);
  }
  c->present = true;
  c->format = f->valueint;
  snprintf (c->key_id, sizeof c->key_id, "%s", id->valuestring);
  if (to)
    snprintf (c->rekey_to, sizeof c->rekey_to, "%s", to->valuestring);
  cJSON_Delete (root);
  if (c->format != SEAL_VERSION)
    return err_set (err, RM_E_IO, "%s: encryption format %d; this releasemanager knows %d",
                    STORE_CRYPT_KEY, c->format, SEAL_VERSION);
  return RM_OK;
}

int
store_crypt_write (struct backend *b, const char *key_id, const char *rekey_to,
                   struct rm_error *err)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "apiVersion", STORE_INDEX_API);
  cJSON_AddStringToObject (root, "kind", "Encryption");
  cJSON_AddNumberToObject (root, "format", SEAL_VERSION);
  cJSON_AddStringToObject (root, "cipher", "AES-256-GCM");
  cJSON_AddStringToObject (root, "keyId", key_id);
  if (rekey_to)
    cJSON_AddStringToObject (root, "rekeyTo", rekey_to);
  char *text = cJSON_Print (root);
  cJSON_Delete (root);
  struct rm_put_options o = { sizeof o, 0, NULL, "application/json" };
  int rc = backend_put_mem (b, STORE_CRYPT_KEY, text, strlen (text), &o, NULL, err);
  free (text);
  return rc;
}

int
store_crypt_committed (struct backend *b, const struct store_crypt *c, bool *committed,
                       struct rm_error *err)
{
  *committed = false;
  if (!c->rekey_to[0])
    return RM_OK;
  char id[SEAL_KEY_ID_HEX] = "";
  int rc = backend_sealed_key_id (b, STORE_INDEX_KEY, id, err);
  if (rm_primary (rc) == RM_E_NOT_FOUND)
    return RM_OK;
  *committed = rc == RM_OK && strcmp (id, c->rekey_to) == 0;
  return rc;
}

struct any_ctx {
  char *first;
};

static int
any_key (void *opaque, const struct rm_list_entry *e)
{
  struct any_ctx *a = opaque;
  if (!a->first && strcmp (e->key, STORE_LOCK_KEY) != 0 && strcmp (e->key, STORE_CRYPT_KEY) != 0)
    a->first = xstrdup (e->key);
  return 0;
}

int
store_crypt_attach (struct backend *b, const struct seal_key *k, bool writing,
                    bool rekeying, struct rm_error *err)
{
  struct store_crypt c;
  int rc = store_crypt_read (b, &c, err);
  if (rc != RM_OK)
    return rc;
  char *where = backend_describe (b);
  if (c.present && !k)
    rc = err_set (err, STORE_E_CRYPT, "store %s is encrypted (key id %s); pass "
                  "--encrypt-key-file FILE (or RELEASEMANAGER_ENCRYPT_KEY_FILE)", where, c.key_id);
  else if (c.present && strcmp (c.key_id, k->id_hex) != 0 && strcmp (c.rekey_to, k->id_hex) != 0)
    rc = err_set (err, STORE_E_CRYPT, "store %s is encrypted with key id %s; the key given has "
                  "id %s: wrong --encrypt-key-file", where, c.key_id, k->id_hex);
  else if (c.present && c.rekey_to[0]) {
    /* A rekey under way: did its commit's first write (index.json) happen? */
    bool committed = false;
    rc = store_crypt_committed (b, &c, &committed, err);
    if (rc == RM_OK && !committed && strcmp (c.rekey_to, k->id_hex) == 0)
      rc = err_set (err, STORE_E_CRYPT, "store %s is encrypted with key id %s; the key given has "
                    "id %s, the key of a rekey that did not commit: wrong --encrypt-key-file",
                    where, c.key_id, k->id_hex);
    else if (rc == RM_OK && committed && !rekeying && strcmp (c.key_id, k->id_hex) == 0)
      rc = err_set (err, STORE_E_CRYPT, "store %s: a rekey from key id %s to %s was stopped "
                    "between its two commit writes: %s is sealed with key id %s, which key id %s "
                    "cannot open; run `rekey --encrypt-key-file OLD --new-key-file NEW` again "
                    "(OLD of key id %s, NEW of key id %s) to finish it", where, c.key_id,
                    c.rekey_to, STORE_INDEX_KEY, c.rekey_to, c.key_id, c.key_id, c.rekey_to);
    else if (rc == RM_OK && committed && writing && strcmp (c.rekey_to, k->id_hex) == 0)
      rc = err_set (err, STORE_E_CRYPT, "store %s: a rekey from key id %s to %s was stopped "
                    "between its two commit writes (%s is sealed with key id %s, %s still names "
                    "key id %s): it reads with key id %s but takes no write until you run "
                    "`rekey --encrypt-key-file OLD --new-key-file NEW` again (OLD of key id %s, "
                    "NEW of key id %s) to finish it", where, c.key_id, c.rekey_to,
                    STORE_INDEX_KEY, c.rekey_to, STORE_CRYPT_KEY, c.key_id, c.rekey_to, c.key_id,
                    c.rekey_to);
  }
  else if (!c.present && k) {
    /* A few keys are enough to tell an empty store from one with plain objects. */
    struct any_ctx a = { NULL };
    char next[RM_LIST_TOKEN_MAX];
    rc = backend_list (b, "", NULL, 4, any_key, &a, next, sizeof next, err);
    if (rc == RM_OK && a.first)
      rc = err_set (err, STORE_E_CRYPT, "store %s is not encrypted (it holds %s): refusing to "
                    "mix encrypted and plain objects; drop --encrypt-key-file, or use an "
                    "empty store", where, a.first);
    else if (rc == RM_OK && writing)
      rc = store_crypt_write (b, k->id_hex, NULL, err);
    free (a.first);
  }
  free (where);
  if (rc == RM_OK && k)
    backend_set_seal (b, k, store_crypt_plain_keys);
  return rc;
}
