/* The original Go tool's store layout (see store/legacy.h): which keys are its records,
 * every key it holds (for clear), and its records read and parsed into a struct
 * store_index, so that import and list treat it like one of our snapshots. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/gzip.h"
#include "base/log.h"
#include "base/sha256.h"
#include "store/legacy.h"

bool
store_legacy_key (const char *key)
{
  size_t n = strlen (key), e = strlen (STORE_LEGACY_EXT);
  if (strchr (key, '/') || n <= e || strcmp (key + n - e, STORE_LEGACY_EXT) != 0)
    return false;
  /* at least "-VERSION" before the extension */
  const char *p = key + n - e;
  while (p > key && p[-1] >= '0' && p[-1] <= '9')
    p--;
  return p < key + n - e && p > key + 1 && p[-1] == '-';
}

struct collect {
  struct strlist releases;
  bool state;
};

static int
collect (void *opaque, const struct rm_list_entry *entry)
{
  struct collect *c = opaque;
  if (store_legacy_key (entry->key))
    strlist_push (&c->releases, entry->key);
  else if (strcmp (entry->key, STORE_STATE_KEY) == 0)
    c->state = true;
  return 0;
}

/* One listing of the whole store: the .release keys, and whether a state file exists. */
static int
list_legacy (struct backend *b, struct collect *c, struct rm_error *err)
{
  memset (c, 0, sizeof *c);
  int rc = backend_list_all (b, "", collect, c, err);
  if (rc == RM_OK && !c->releases.n)
    rc = RM_E_NOT_FOUND;
  if (rc != RM_OK)
    strlist_free (&c->releases);
  return rc;
}

int
store_legacy_keys (struct backend *b, struct strlist *keys, struct rm_error *err)
{
  struct collect c;
  int rc = list_legacy (b, &c, err);
  if (rc != RM_OK)
    return rc;
  for (size_t i = 0; i < c.releases.n; i++)
    strlist_push (keys, c.releases.items[i]);
  if (c.state)
    strlist_push (keys, STORE_STATE_KEY);
  strlist_free (&c.releases);
  return RM_OK;
}

int
store_legacy_read (struct backend *b, const char *key, struct strbuf *json, struct rm_error *err)
{
  struct strbuf raw = STRBUF_INIT;
  int rc = backend_get_mem (b, key, &raw, NULL, err);
  json->len = 0;
  /* The gzip magic alone, not gzip_is_gzip: a file starting 1f 8b is a damaged gzip. */
  if (rc == RM_OK && raw.len >= 2 && (unsigned char) raw.data[0] == 0x1f
      && (unsigned char) raw.data[1] == 0x8b) {
    struct rm_error why;
    if (gzip_inflate (raw.data, raw.len, (size_t) STORE_RECORD_MAX, json, &why) != 0)
      rc = rm_error_set (err, RM_E_IO, "%s: corrupt gzip: %s", key, why.message);
  }
  else if (rc == RM_OK) {
    strbuf_free (json);
    *json = raw;
    return RM_OK;
  }
  strbuf_free (&raw);
  return rc;
}

int
store_legacy_get (struct backend *b, const struct store_record *rec, struct strbuf *json,
                  struct rm_error *err)
{
  int rc = store_legacy_read (b, rec->key, json, err);
  if (rc != RM_OK)
    return rc;
  char sha[65];
  sha256_hex (json->data ? json->data : "", json->len, sha);
  if (strcmp (sha, rec->sha256) != 0)
    return rm_error_set (err, RM_E_IO, "%s: changed while importing", rec->key);
  return RM_OK;
}

/* One file into ix, or its "KEY: why" into bad. */
static void
add_file (struct backend *b, store_describe_fn describe, const char *key,
          struct store_index *ix, struct strlist *bad)
{
  struct strbuf json = STRBUF_INIT;
  struct rm_error gerr;
  if (store_legacy_read (b, key, &json, &gerr) != RM_OK) {
    char *line = xasprintf ("%s: %s", key, gerr.message);
    strlist_push (bad, line);
    free (line);
    strbuf_free (&json);
    return;
  }
  struct store_record r;
  struct rm_error derr;
  memset (&r, 0, sizeof r);
  if (describe (json.data ? json.data : "", json.len, key, &r, &derr) != RM_OK) {
    char *line = xasprintf ("%s: not a Helm 3 release: %s", key, derr.message);
    strlist_push (bad, line);
    free (line);
    store_record_clear (&r);
  }
  else {
    r.key = xstrdup (key);
    r.size = (long long) json.len;
    sha256_hex (json.data ? json.data : "", json.len, r.sha256);
    *store_index_add (ix) = r;
  }
  strbuf_free (&json);
}

/* Sorted ix: of two records with the same revision of a release, keep the one deployed
 * last (the release was reinstalled; the original tool kept both files). */
static void
drop_duplicates (struct store_index *ix)
{
  size_t w = 0;
  for (size_t i = 0; i < ix->n; i++) {
    struct store_record *r = &ix->records[i];
    if (w && strcmp (ix->records[w - 1].namespace, r->namespace) == 0
        && strcmp (ix->records[w - 1].release, r->release) == 0
        && ix->records[w - 1].revision == r->revision) {
      struct store_record *keep = &ix->records[w - 1];
      bool later = r->updated && (!keep->updated || strcmp (r->updated, keep->updated) > 0);
      log_warn ("%s and %s hold the same revision %d of %s/%s: using %s", keep->key, r->key,
                r->revision, r->namespace, r->release, later ? r->key : keep->key);
      if (later) {
        store_record_clear (keep);
        *keep = *r;
      }
      else
        store_record_clear (r);
      continue;
    }
    if (w != i)
      ix->records[w] = *r;
    w++;
  }
  ix->n = w;
}

int
store_legacy_load (struct backend *b, store_describe_fn describe, struct store_index **out,
                   struct strlist *bad, struct rm_error *err)
{
  struct collect c;
  *out = NULL;
  int rc = list_legacy (b, &c, err);
  if (rc != RM_OK)
    return rc;
  struct store_index *ix = xcalloc (1, sizeof *ix);
  for (size_t i = 0; i < c.releases.n; i++)
    add_file (b, describe, c.releases.items[i], ix, bad);
  strlist_free (&c.releases);
  store_index_sort (ix);
  drop_duplicates (ix);
  *out = ix;
  return RM_OK;
}

int
store_legacy_load_any (struct backend *b, store_describe_fn describe,
                       struct store_index **out, bool *legacy,
                       struct strlist *bad, struct rm_error *err)
{
  *legacy = false;
  int rc = store_index_load (b, out, err);
  if (rc != RM_E_NOT_FOUND)
    return rc;
  *legacy = true;
  return store_legacy_load (b, describe, out, bad, err);
}
