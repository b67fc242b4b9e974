/* The snapshot protocol: the order of writes and deletes that keeps index.json from ever
 * listing a missing record (commit: index, state file, then stale deletes; clear: index,
 * records, state file), and the early listing of the stored record keys. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/history.h"
#include "store/legacy.h"
#include "store/snapshot.h"

struct snapshot_keys {
  struct backend *b;
  struct strlist keys;
  struct strlist legacy;              /* the original tool's .release files */
  struct strlist snaps;               /* the keys under snapshots/ */
  long long *sizes;                   /* of keys, as listed (-1: unknown) */
  size_t sizes_cap;
  struct rm_error err;
  int rc;
  pthread_t tid;
  bool started;
};

static int
collect_name (void *opaque, const struct rm_list_entry *entry)
{
  strlist_push (opaque, entry->key);
  return 0;
}

static int
collect_key (void *opaque, const struct rm_list_entry *entry)
{
  struct snapshot_keys *s = opaque;
  if (strncmp (entry->key, STORE_RELEASES_PREFIX, strlen (STORE_RELEASES_PREFIX)) != 0) {
    if (str_has_prefix (entry->key, STORE_SNAPSHOTS_PREFIX))
      strlist_push (&s->snaps, entry->key);
    else if (store_legacy_key (entry->key))
      strlist_push (&s->legacy, entry->key);
    return 0;
  }
  if (s->keys.n == s->sizes_cap) {
    s->sizes_cap = s->sizes_cap ? 2 * s->sizes_cap : 256;
    s->sizes = xrealloc (s->sizes, s->sizes_cap * sizeof *s->sizes);
  }
  s->sizes[s->keys.n] = entry->size;
  strlist_push (&s->keys, entry->key);
  return 0;
}

static void *
list_keys (void *arg)
{
  struct snapshot_keys *s = arg;
  /* The whole store, not only releases/: the few other keys cost nothing, and the
   * original tool's files sit at the top. */
  s->rc = backend_list_all (s->b, "", collect_key, s, &s->err);
  return NULL;
}

struct snapshot_keys *
snapshot_keys_start (struct backend *b)
{
  struct snapshot_keys *s = xcalloc (1, sizeof *s);
  s->b = b;
  s->keys = (struct strlist) STRLIST_INIT;
  s->legacy = (struct strlist) STRLIST_INIT;
  s->snaps = (struct strlist) STRLIST_INIT;
  s->rc = RM_OK;
  s->started = pthread_create (&s->tid, NULL, list_keys, s) == 0;
  if (!s->started)
    list_keys (s);
  return s;
}

int
snapshot_keys_finish (struct snapshot_keys *s, struct strlist *keys, struct rm_error *err)
{
  return snapshot_keys_finish_sizes (s, keys, NULL, NULL, err);
}

int
snapshot_keys_finish_sizes (struct snapshot_keys *s, struct strlist *keys, long long **sizes,
                            struct strlist *legacy, struct rm_error *err)
{
  return snapshot_keys_finish_all (s, keys, sizes, legacy, NULL, err);
}

int
snapshot_keys_finish_all (struct snapshot_keys *s, struct strlist *keys, long long **sizes,
                          struct strlist *legacy, struct strlist *snaps, struct rm_error *err)
{
  if (s->started)
    pthread_join (s->tid, NULL);
  size_t base = keys->n;
  for (size_t i = 0; i < s->keys.n; i++)
    strlist_push (keys, s->keys.items[i]);
  if (sizes) {
    *sizes = xrealloc (*sizes, (keys->n ? keys->n : 1) * sizeof **sizes);
    for (size_t i = 0; i < s->keys.n; i++)
      (*sizes)[base + i] = s->sizes[i];
  }
  for (size_t i = 0; legacy && i < s->legacy.n; i++)
    strlist_push (legacy, s->legacy.items[i]);
  for (size_t i = 0; snaps && i < s->snaps.n; i++)
    strlist_push (snaps, s->snaps.items[i]);
  int rc = s->rc;
  if (rc != RM_OK && err)
    *err = s->err;
  strlist_free (&s->keys);
  strlist_free (&s->legacy);
  strlist_free (&s->snaps);
  free (s->sizes);
  free (s);
  return rc;
}

int
snapshot_commit (struct backend *b, const struct store_index *ix, const struct store_state *st,
                 const struct strlist *stale, struct snapshot_commit_opts *o,
                 struct rm_error *err)
{
  o->deleted = o->deleted_legacy = o->forgotten = 0;
  size_t nforget = o->forget ? o->forget->n : 0;
  if (o->dry) {
    if (o->snapshot_key)
      printf ("would write %s\n", o->snapshot_key);
    for (size_t i = 0; i < nforget; i++)
      printf ("would %s %s\n", o->keep_stale ? "keep (not kept by the retention rules)"
                                              : "forget", o->forget->items[i]);
    for (size_t i = 0; i < stale->n; i++)
      printf ("would %s %s\n", o->keep_stale ? "keep (stale)" : "delete", stale->items[i]);
    printf ("would write %s (%zu records) and %s\n", STORE_INDEX_KEY, ix->n, STORE_STATE_KEY);
    return RM_OK;
  }
  char *text = o->text ? NULL : store_index_to_json (ix);
  const char *t = o->text ? o->text : text;
  /* Every record the new index names is durable before the index names it; its snapshot
   * object is durable before index.json is that snapshot. */
  int rc = backend_sync (b, err);
  if (rc == RM_OK && o->snapshot_key) {
    struct rm_put_options po = { sizeof po, RM_PUT_IF_NONE_MATCH, NULL, "application/json" };
    rc = backend_put_mem (b, o->snapshot_key, t, strlen (t), &po, NULL, err);
    /* The same key is the same text (its id is the text's hash): already there. */
    if (rm_primary (rc) == RM_E_EXISTS || rm_primary (rc) == RM_E_PRECONDITION)
      rc = RM_OK;
    if (rc == RM_OK)
      rc = backend_sync (b, err);
  }
  if (rc == RM_OK)
    rc = o->base ? store_index_commit_text (b, t, o->base, err)
                 : store_index_save (b, ix, err);
  free (text);
  if (rc != RM_OK && o->snapshot_key && rm_primary (rc) == RM_E_PRECONDITION) {
    /* Another writer committed: this snapshot never became index.json; drop it (were it
     * left, it would be a whole snapshot all the same). */
    struct rm_error derr;
    backend_remove (b, o->snapshot_key, &derr);
  }
  if (rc == RM_OK)
    rc = backend_sync (b, err);
  if (rc == RM_OK)
    rc = store_state_save (b, st, err);
  /* Only after the new index is in place, and only after a run without failure: the
   * forgotten snapshots first, then the records (no kept snapshot references them), so
   * an interruption never leaves a snapshot without its records. */
  if (rc != RM_OK || o->keep_stale)
    return rc;
  if (nforget) {
    int *fcodes = xcalloc (nforget, sizeof *fcodes);
    struct rm_error ferr;
    size_t failed = 0;
    if (backend_remove_many (b, (const char *const *) o->forget->items, nforget, fcodes,
                             &ferr) != RM_OK) {
      log_warn ("%s (old snapshots remain; the next export retries)", ferr.message);
      failed = nforget;
    }
    else
      for (size_t i = 0; i < nforget; i++)
        if (fcodes[i] == RM_OK || fcodes[i] == RM_E_NOT_FOUND) {
          log_info ("deleted %s (not kept by the retention rules)", o->forget->items[i]);
          o->forgotten++;
        }
        else {
          log_warn ("delete %s: %s (the next export retries)", o->forget->items[i],
                    rm_strerror (fcodes[i]));
          failed++;
        }
    free (fcodes);
    /* A snapshot still there may reference the stale records: keep them. */
    if (failed)
      return RM_OK;
  }
  if (stale->n == 0)
    return RM_OK;
  int *codes = xcalloc (stale->n, sizeof *codes);
  struct rm_error derr;
  if (backend_remove_many (b, (const char *const *) stale->items, stale->n, codes, &derr) != RM_OK)
    log_warn ("%s (stale records remain; the next export retries)", derr.message);
  else
    for (size_t i = 0; i < stale->n; i++)
      if (codes[i] == RM_OK) {
        log_info ("deleted %s (no longer in the snapshot)", stale->items[i]);
        o->deleted++;
        o->deleted_legacy += store_legacy_key (stale->items[i]);
      }
      else if (codes[i] != RM_E_NOT_FOUND)
        log_warn ("delete %s: %s (the next export retries)", stale->items[i],
                  rm_strerror (codes[i]));
  free (codes);
  return RM_OK;
}

/* Whether key exists: RM_OK, RM_E_NOT_FOUND or an error. */
static int
exists (struct backend *b, const char *key, struct rm_error *err)
{
  struct strbuf probe = STRBUF_INIT;
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  int rc = backend_has_stat (b) ? backend_stat (b, key, &info, err)
                                : backend_get_mem (b, key, &probe, NULL, err);
  strbuf_free (&probe);
  return rc;
}

/* Delete keys in one remove_many call; failures are logged and counted into res. */
static void
remove_keys (struct backend *b, char **keys, size_t n, struct snapshot_clear_result *res)
{
  int *codes = xcalloc (n, sizeof *codes);
  struct rm_error derr;
  if (backend_remove_many (b, (const char *const *) keys, n, codes, &derr) != RM_OK) {
    log_error ("%s", derr.message);
    res->failed += n;
  }
  else
    for (size_t i = 0; i < n; i++)
      if (codes[i] != RM_OK && codes[i] != RM_E_NOT_FOUND) {
        log_error ("delete %s: %s", keys[i], rm_strerror (codes[i]));
        res->failed++;
      }
      else
        log_info ("deleted %s", keys[i]);
  free (codes);
}

int
snapshot_clear (struct backend *b, bool dry, struct snapshot_clear_result *res,
                struct rm_error *err)
{
  memset (res, 0, sizeof *res);
  res->keys = (struct strlist) STRLIST_INIT;
  struct strlist records = STRLIST_INIT;
  int rc = backend_list_all (b, STORE_RELEASES_PREFIX, collect_name, &records, err);
  if (rc == RM_OK) {
    /* A store of the original tool: its NAME-VERSION-S.release files are records too
     * (its state file is ours, rlsmgrstate.json, checked below). */
    struct strlist legacy = STRLIST_INIT;
    rc = store_legacy_keys (b, &legacy, err);
    for (size_t i = 0; rc == RM_OK && i < legacy.n; i++)
      if (strcmp (legacy.items[i], STORE_STATE_KEY) != 0)
        strlist_push (&records, legacy.items[i]);
    strlist_free (&legacy);
    if (rc == RM_E_NOT_FOUND)
      rc = RM_OK;
  }
  struct strlist snaps = STRLIST_INIT;
  if (rc == RM_OK)
    rc = backend_list_all (b, STORE_SNAPSHOTS_PREFIX, collect_name, &snaps, err);
  if (rc == RM_OK) {
    rc = exists (b, STORE_INDEX_KEY, err);
    res->index = rc == RM_OK;
  }
  if (rc == RM_OK || rc == RM_E_NOT_FOUND) {
    rc = exists (b, STORE_STATE_KEY, err);
    res->state = rc == RM_OK;
  }
  if (rc != RM_OK && rc != RM_E_NOT_FOUND) {
    strlist_free (&records);
    strlist_free (&snaps);
    return rc;
  }
  /* The index and state file, when present, bracket the records; the past snapshots go
   * right after the index, before any record they reference. */
  if (res->index)
    strlist_push (&res->keys, STORE_INDEX_KEY);
  for (size_t i = 0; i < snaps.n; i++)
    strlist_push (&res->keys, snaps.items[i]);
  res->snapshots = snaps.n;
  strlist_free (&snaps);
  for (size_t i = 0; i < records.n; i++)
    strlist_push (&res->keys, records.items[i]);
  if (res->state)
    strlist_push (&res->keys, STORE_STATE_KEY);
  res->records = records.n;
  strlist_free (&records);
  if (res->keys.n == 0)
    return RM_OK;
  if (dry) {
    for (size_t i = 0; i < res->keys.n; i++)
      printf ("would delete %s\n", res->keys.items[i]);
    return RM_OK;
  }
  /* Four steps, each finished before the next starts (a backend may delete the keys of
   * one batch in any order): the index, the past snapshots, the records in one call (the
   * backend batches them as its store allows), the state file.  A failed step stops
   * those after it. */
  size_t n = res->keys.n;
  size_t first = res->index ? 1 : 0, snaps_end = first + res->snapshots;
  size_t last = n - (res->state ? 1 : 0);
  const size_t steps[4][2] = { { 0, first }, { first, snaps_end }, { snaps_end, last },
                               { last, n } };
  for (int i = 0; i < 4; i++) {
    size_t from = steps[i][0], cnt = steps[i][1] - steps[i][0];
    if (cnt == 0)
      continue;
    if (res->failed)
      res->failed += cnt;
    else
      remove_keys (b, res->keys.items + from, cnt, res);
  }
  return RM_OK;
}
