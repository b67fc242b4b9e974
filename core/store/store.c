/* Records (gzip'd, verified against the index on the way back) and the state file,
 * stored through the backend wrapper.  The index itself is in index.c: it is the only
 * list of what a snapshot holds, readers trust it, never a listing of the store. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "base/gzip.h"
#include "base/seal.h"
#include "store/store.h"

static void
add_str (cJSON *o, const char *name, const char *v)
{
  if (v)
    cJSON_AddStringToObject (o, name, v);
}

static char *
get_str (const cJSON *o, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
  return cJSON_IsString (v) && v->valuestring ? xstrdup (v->valuestring) : NULL;
}

void
store_digest_hex (struct backend *b, const void *data, size_t len, char out[65])
{
  const struct seal_key *k = backend_seal (b);
  if (k)
    seal_address_hex (k, data, len, out);
  else
    sha256_hex (data, len, out);
}

int
store_put_record (struct backend *b, struct store_record *rec, const char *json, size_t len,
                  struct rm_error *err)
{
  struct strbuf gz = STRBUF_INIT;
  gzip_deflate (json, len, &gz);
  int rc = store_put_record_gz (b, rec, json, len, gz.data, gz.len, err);
  strbuf_free (&gz);
  return rc;
}

int
store_put_record_gz (struct backend *b, struct store_record *rec, const char *json, size_t len,
                     const void *gz, size_t gz_len, struct rm_error *err)
{
  if (len > (size_t) STORE_RECORD_MAX)
    return rm_error_set (err, RM_E_INVALID, "%s/%s revision %d: the release JSON of %zu bytes "
                         "is larger than a record may be (%lld bytes)", rec->namespace,
                         rec->release, rec->revision, len, STORE_RECORD_MAX);
  if (!rec->sha256[0])
    store_digest_hex (b, json, len, rec->sha256);
  if (!rec->key)
    rec->key = store_record_key_sha (rec->namespace, rec->release, rec->revision, rec->sha256);
  rec->size = (long long) len;
  rec->stored_size = (long long) gz_len + (backend_seal (b) ? SEAL_OVERHEAD : 0);
  struct rm_put_options o = { sizeof o, 0, NULL, "application/gzip" };
  return backend_put_mem (b, rec->key, gz, gz_len, &o, NULL, err);
}

int
store_get_record (struct backend *b, const struct store_record *rec, struct strbuf *json,
                  struct rm_error *err)
{
  struct strbuf gz = STRBUF_INIT;
  int rc = backend_get_mem (b, rec->key, &gz, NULL, err);
  if (rc != RM_OK) {
    strbuf_free (&gz);
    return rc;
  }
  struct rm_error gerr;
  json->len = 0;
  /* A fixed cap: the index's size is checked after, never trusted as the limit. */
  if (gzip_inflate (gz.data ? gz.data : "", gz.len, (size_t) STORE_RECORD_MAX, json, &gerr) != 0) {
    strbuf_free (&gz);
    return rm_error_set (err, RM_E_IO, "%s: corrupt record: %s", rec->key, gerr.message);
  }
  strbuf_free (&gz);
  char sha[65];
  store_digest_hex (b, json->data ? json->data : "", json->len, sha);
  if ((long long) json->len != rec->size || strcmp (sha, rec->sha256) != 0)
    return rm_error_set (err, RM_E_IO, "%s: corrupt record: content does not match the "
                         "index (%zu bytes, sha256 %.12s..., index says %lld bytes, %.12s...)",
                         rec->key, json->len, sha, rec->size, rec->sha256);
  return RM_OK;
}

int
store_state_load (struct backend *b, struct store_state *st, struct rm_error *err)
{
  memset (st, 0, sizeof *st);
  struct strbuf sb = STRBUF_INIT;
  int rc = backend_get_mem (b, STORE_STATE_KEY, &sb, NULL, err);
  if (rc != RM_OK) {
    strbuf_free (&sb);
    return rc;
  }
  cJSON *root = cJSON_ParseWithLength (sb.data ? sb.data : "", sb.len);
  strbuf_free (&sb);
  if (!cJSON_IsObject (root)) {
    cJSON_Delete (root);
    return rm_error_set (err, RM_E_IO, "%s: not a JSON object", STORE_STATE_KEY);
  }
  /* Our own field names, and the original Go tool's (it writes ReleaseName, and no
   * namespace). */
  st->release = get_str (root, "release");
  if (!st->release)
    st->release = get_str (root, "ReleaseName");
  if (!st->release)
    st->release = get_str (root, "releaseName");
  if (!st->release) {
    /* Go's encoding/json matches field names case-insensitively, so may a hand edit. */
    const cJSON *v = cJSON_GetObjectItem (root, "ReleaseName");
    if (cJSON_IsString (v) && *v->valuestring)
      st->release = xstrdup (v->valuestring);
  }
  st->namespace = get_str (root, "namespace");
  if (!st->namespace)
    st->namespace = get_str (root, "releaseNamespace");
  st->path = get_str (root, "path");
  st->backend = get_str (root, "backend");
  cJSON_Delete (root);
  return RM_OK;
}

int
store_state_save (struct backend *b, const struct store_state *st, struct rm_error *err)
{
  cJSON *root = cJSON_CreateObject ();
  add_str (root, "release", st->release);
  add_str (root, "namespace", st->namespace);
  add_str (root, "path", st->path);
  add_str (root, "backend", st->backend);
  char *text = cJSON_Print (root);
  cJSON_Delete (root);
  struct rm_put_options o = { sizeof o, 0, NULL, "application/json" };
  int rc = backend_put_mem (b, STORE_STATE_KEY, text, strlen (text), &o, NULL, err);
  free (text);
  return rc;
}

void
store_state_free (struct store_state *st)
{
  free (st->release);
  free (st->namespace);
  free (st->path);
  free (st->backend);
  memset (st, 0, sizeof *st);
}
