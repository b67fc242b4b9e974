/* Record keys, the snapshot index and the state file, serialized as JSON with cJSON and
 * stored through the backend wrapper.  The index is the only list of what a snapshot
 * holds: readers trust it, never a listing of the store. */
#include <config.h>

#include <stdlib.h>
#include <string.h>


#include "base/sha256.h"
#include "base/gzip.h"
#include "store/store.h"

char *
store_record_key (const char *namespace, const char *release, int revision)
{
  return xasprintf ("%s%s/%s/%d.json.gz", STORE_RELEASES_PREFIX, namespace, release, revision);
}

struct store_record *
store_index_add (struct store_index *ix)
{
  if (ix->n == ix->cap) {
    ix->cap = ix->cap ? ix->cap * 2 : 64;
    ix->records = xrealloc (ix->records, ix->cap * sizeof *ix->records);
  }
  struct store_record *r = &ix->records[ix->n++];
  memset (r, 0, sizeof *r);
  r->revision = 0;
  return r;
}

static int
cmp_record (const void *a, const void *b)
{
  const struct store_record *x = a, *y = b;
  int c = strcmp (x->namespace, y->namespace);
  if (!c)
    c = strcmp (x->release, y->release);
  if (!c)
    c = (x->revision > y->revision) - (x->revision < y->revision);
  return c;
}

void
store_index_sort (struct store_index *ix)
{
  if (ix->n)
    qsort (ix->records, ix->n, sizeof *ix->records, cmp_record);
}

const struct store_record *
store_index_find (const struct store_index *ix, const char *key)
{
  for (size_t i = 0; ix && i < ix->n; i++)
    if (strcmp (ix->records[i].key, key) == 0)
      return &ix->records[i];
  return NULL;
}

void
store_record_clear (struct store_record *r)
{
  free (r->key);
  free (r->namespace);
  free (r->release);
  free (r->status);
  free (r->chart);
  free (r->chart_version);
  free (r->app_version);
  free (r->updated);
  free (r->driver);
  free (r->source);
  free (r->source_uid);
  free (r->source_version);
}

static char *
dup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

void
store_record_copy (struct store_record *dst, const struct store_record *src)
{
  *dst = *src;
  dst->key = dup_or_null (src->key);
  dst->namespace = dup_or_null (src->namespace);
  dst->release = dup_or_null (src->release);
  dst->status = dup_or_null (src->status);
  dst->chart = dup_or_null (src->chart);
  dst->chart_version = dup_or_null (src->chart_version);
  dst->app_version = dup_or_null (src->app_version);
  dst->updated = dup_or_null (src->updated);
  dst->driver = dup_or_null (src->driver);
  dst->source = dup_or_null (src->source);
  dst->source_uid = dup_or_null (src->source_uid);
  dst->source_version = dup_or_null (src->source_version);
}

void
store_index_free (struct store_index *ix)
{
  if (!ix)
    return;
  for (size_t i = 0; i < ix->n; i++)
    store_record_clear (&ix->records[i]);
  free (ix->records);
  free (ix->cluster_uid);
  free (ix->cluster_server);
  free (ix->exporter);
  free (ix->time);
  free (ix);
}

static void
add_str (cJSON *o, const char *name, const char *v)
{
  if (v)
    cJSON_AddStringToObject (o, name, v);
}

char *
store_index_to_json (const struct store_index *ix)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "apiVersion", STORE_INDEX_API);
  cJSON_AddStringToObject (root, "kind", STORE_INDEX_KIND);
  cJSON *cluster = cJSON_AddObjectToObject (root, "cluster");
  add_str (cluster, "uid", ix->cluster_uid);
  add_str (cluster, "server", ix->cluster_server);
  add_str (root, "exporter", ix->exporter);
  add_str (root, "time", ix->time);
  cJSON *recs = cJSON_AddArrayToObject (root, "records");
  for (size_t i = 0; i < ix->n; i++) {
    const struct store_record *r = &ix->records[i];
    cJSON *o = cJSON_CreateObject ();
    add_str (o, "key", r->key);
    add_str (o, "namespace", r->namespace);
    add_str (o, "release", r->release);
    cJSON_AddNumberToObject (o, "revision", r->revision);
    add_str (o, "status", r->status);
    add_str (o, "chart", r->chart);
    add_str (o, "chartVersion", r->chart_version);
    add_str (o, "appVersion", r->app_version);
    add_str (o, "updated", r->updated);
    add_str (o, "driver", r->driver);
    add_str (o, "source", r->source);
    add_str (o, "sourceUID", r->source_uid);
    add_str (o, "sourceResourceVersion", r->source_version);
    cJSON_AddNumberToObject (o, "size", (double) r->size);
    cJSON_AddNumberToObject (o, "storedSize", (double) r->stored_size);
    cJSON_AddStringToObject (o, "sha256", r->sha256);
    cJSON_AddItemToArray (recs, o);
  }
  char *text = cJSON_Print (root);
  cJSON_Delete (root);
  char *out = xasprintf ("%s\n", text);
  free (text);
  return out;
}

static char *
get_str (const cJSON *o, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
  return cJSON_IsString (v) && v->valuestring ? xstrdup (v->valuestring) : NULL;
}

static bool
valid_hex64 (const char *s)
{
  if (strlen (s) != 64)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

struct store_index *
store_index_from_json (const char *text, size_t len, char **error)
{
  cJSON *root = cJSON_ParseWithLength (text, len);
  if (!root) {
    const char *at = cJSON_GetErrorPtr ();
    *error = xasprintf ("not valid JSON (near byte %zu)",
                        at && at >= text && at <= text + len ? (size_t) (at - text) : len);
    return NULL;
  }
  struct store_index *ix = xcalloc (1, sizeof *ix);
  const cJSON *api = cJSON_GetObjectItemCaseSensitive (root, "apiVersion");
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive (root, "records");
  if (!cJSON_IsString (api) || strcmp (api->valuestring, STORE_INDEX_API) != 0) {
    *error = xasprintf ("apiVersion is not %s: not a releasemanager snapshot index, or one "
                        "written by a newer releasemanager", STORE_INDEX_API);
    goto fail;
  }
  if (!cJSON_IsArray (recs)) {
    *error = xstrdup ("has no records array");
    goto fail;
  }
  const cJSON *cluster = cJSON_GetObjectItemCaseSensitive (root, "cluster");
  ix->cluster_uid = get_str (cluster, "uid");
  ix->cluster_server = get_str (cluster, "server");
  ix->exporter = get_str (root, "exporter");
  ix->time = get_str (root, "time");
  size_t i = 0;
  const cJSON *o;
  cJSON_ArrayForEach (o, recs) {
    struct store_record *r = store_index_add (ix);
    r->key = get_str (o, "key");
    r->namespace = get_str (o, "namespace");
    r->release = get_str (o, "release");
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive (o, "revision");
    r->revision = cJSON_IsNumber (rev) ? rev->valueint : 0;
    r->status = get_str (o, "status");
    r->chart = get_str (o, "chart");
    r->chart_version = get_str (o, "chartVersion");
    r->app_version = get_str (o, "appVersion");
    r->updated = get_str (o, "updated");
    r->driver = get_str (o, "driver");
    r->source = get_str (o, "source");
    r->source_uid = get_str (o, "sourceUID");
    r->source_version = get_str (o, "sourceResourceVersion");
    const cJSON *sz = cJSON_GetObjectItemCaseSensitive (o, "size");
    const cJSON *ssz = cJSON_GetObjectItemCaseSensitive (o, "storedSize");
    r->size = cJSON_IsNumber (sz) ? (long long) sz->valuedouble : -1;
    r->stored_size = cJSON_IsNumber (ssz) ? (long long) ssz->valuedouble : -1;
    char *sha = get_str (o, "sha256");
    if (sha && valid_hex64 (sha))
      memcpy (r->sha256, sha, 65);
    free (sha);
    if (!r->key || !r->namespace || !r->release || r->revision < 1 || !r->sha256[0]
        || r->size < 0) {
      *error = xasprintf ("record %zu is incomplete (needs key, namespace, release, revision, "
                          "size and sha256)", i + 1);
      goto fail;
    }
    char *want = store_record_key (r->namespace, r->release, r->revision);
    bool same = strcmp (want, r->key) == 0;
    free (want);
    if (!same) {
      *error = xasprintf ("record %zu: key '%s' does not match its namespace, release and "
                          "revision", i + 1, r->key);
      goto fail;
    }
    i++;
  }
  cJSON_Delete (root);
  return ix;
fail:
  cJSON_Delete (root);
  store_index_free (ix);
  return NULL;
}

int
store_index_load (struct backend *b, struct store_index **out, struct rm_error *err)
{
  struct strbuf sb = STRBUF_INIT;
  *out = NULL;
  int rc = backend_get_mem (b, STORE_INDEX_KEY, &sb, NULL, err);
  if (rc != RM_OK) {
    strbuf_free (&sb);
    return rc;
  }
  char *why = NULL;
  *out = store_index_from_json (sb.data ? sb.data : "", sb.len, &why);
  strbuf_free (&sb);
  if (!*out) {
    rc = rm_error_set (err, RM_E_IO, "%s: %s", STORE_INDEX_KEY, why);
    free (why);
  }
  return rc;
}

int
store_index_save (struct backend *b, const struct store_index *ix, struct rm_error *err)
{
  char *text = store_index_to_json (ix);
  struct rm_put_options o = { sizeof o, 0, NULL, "application/json" };
  int rc = backend_put_mem (b, STORE_INDEX_KEY, text, strlen (text), &o, NULL, err);
  free (text);
  return rc;
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
  if (!rec->sha256[0])
    sha256_hex (json, len, rec->sha256);
  rec->size = (long long) len;
  rec->stored_size = (long long) gz_len;
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
  size_t cap = rec->size > 0 ? (size_t) rec->size : 1;
  if (gzip_inflate (gz.data ? gz.data : "", gz.len, cap, json, &gerr) != 0) {
    strbuf_free (&gz);
    return rm_error_set (err, RM_E_IO, "%s: corrupt record: %s", rec->key, gerr.message);
  }
  strbuf_free (&gz);
  char sha[65];
  sha256_hex (json->data ? json->data : "", json->len, sha);
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
