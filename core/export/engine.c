/* The export engine's life cycle and one run: identify the cluster, plan against the
 * last committed snapshot, fetch what changed, build the new index, and commit it with
 * the snapshot protocol (store/snapshot.c).  The committed index stays in memory, so the
 * next run of the same engine compares with it without reading the store again. */
#include <config.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "export/internal.h"
#include "store/legacy.h"
#include "store/lock.h"
#include "store/snapshot.h"

static void
copy_list (struct strlist *dst, const struct strlist *src)
{
  for (size_t i = 0; src && i < src->n; i++)
    strlist_push (dst, src->items[i]);
}

struct export_engine *
export_engine_new (struct backend *b, struct kube_client *kc, const struct export_opts *opts)
{
  struct export_engine *e = xcalloc (1, sizeof *e);
  e->b = b;
  e->kc = kc;
  e->o = *opts;
  e->only_ns = (struct strlist) STRLIST_INIT;
  e->skip_ns = (struct strlist) STRLIST_INIT;
  e->only_release = (struct strlist) STRLIST_INIT;
  e->skipped = (struct strlist) STRLIST_INIT;
  copy_list (&e->only_ns, opts->only_ns);
  copy_list (&e->skip_ns, opts->skip_ns);
  copy_list (&e->only_release, opts->only_release);
  e->o.only_ns = &e->only_ns;
  e->o.skip_ns = &e->skip_ns;
  e->o.only_release = &e->only_release;
  e->o.self_release = e->self_release = xstrdup_or_null (opts->self_release);
  e->o.self_namespace = e->self_namespace = xstrdup_or_null (opts->self_namespace);
  e->o.path = e->path = xstrdup_or_null (opts->path);
  e->snap_keys = (struct strlist) STRLIST_INIT;
  if (e->o.threads < 1)
    e->o.threads = 1;
  return e;
}

void
export_engine_free (struct export_engine *e)
{
  if (!e)
    return;
  export_items_free (e);
  store_index_free (e->old);
  strlist_free (&e->only_ns);
  strlist_free (&e->skip_ns);
  strlist_free (&e->only_release);
  strlist_free (&e->skipped);
  free (e->self_release);
  free (e->self_namespace);
  free (e->path);
  for (size_t i = 0; i < e->snap_keys.n; i++)
    strlist_free (&e->snap_records[i]);
  free (e->snap_records);
  strlist_free (&e->snap_keys);
  free (e->old_snap);
  free (e->cluster_uid);
  free (e);
}

/* The record keys the snapshot key references into ref: the engine's own last snapshot
 * from memory, another from the engine's cache, else read (and cached).  False when it
 * cannot be read (err filled). */
static bool
snapshot_refs (struct export_engine *e, const struct store_history *h,
               const struct store_snapshot *s, struct strlist *ref, struct rm_error *err)
{
  if (e->old && e->old_snap && strcmp (e->old_snap, s->key) == 0) {
    /* The entries this run took over into the new index are gone from e->old (their
     * keys are the new index's, never stale); the others are still there. */
    for (size_t i = 0; i < e->old->n; i++)
      if (e->old->records[i].key)
        strlist_push (ref, e->old->records[i].key);
    return true;
  }
  for (size_t i = 0; i < e->snap_keys.n; i++)
    if (strcmp (e->snap_keys.items[i], s->key) == 0) {
      for (size_t j = 0; j < e->snap_records[i].n; j++)
        strlist_push (ref, e->snap_records[i].items[j]);
      return true;
    }
  struct store_index *ix;
  if (store_snapshot_load (e->b, h, s, &ix, err) != RM_OK)
    return false;
  e->snap_records = xrealloc (e->snap_records, (e->snap_keys.n + 1) * sizeof *e->snap_records);
  struct strlist *keys = &e->snap_records[e->snap_keys.n];
  *keys = (struct strlist) STRLIST_INIT;
  strlist_push (&e->snap_keys, s->key);
  for (size_t i = 0; i < ix->n; i++) {
    strlist_push (keys, ix->records[i].key);
    strlist_push (ref, ix->records[i].key);
  }
  store_index_free (ix);
  return true;
}

/* Drop from the cache the snapshots not in keep (by key). */
static void
snapshot_cache_trim (struct export_engine *e, const struct strlist *kept)
{
  size_t w = 0;
  for (size_t i = 0; i < e->snap_keys.n; i++)
    if (strlist_contains (kept, e->snap_keys.items[i])) {
      e->snap_keys.items[w] = e->snap_keys.items[i];
      e->snap_records[w++] = e->snap_records[i];
    }
    else {
      free (e->snap_keys.items[i]);
      strlist_free (&e->snap_records[i]);
    }
  e->snap_keys.n = w;
}

/* The retention rules over the stored snapshots (snaps, as listed) and the new one
 * (key, or NULL: none is to be written): forget receives the snapshots not kept, and the keys any kept snapshot
 * references leave stale.  False when a kept snapshot cannot be read: nothing is to be
 * deleted then (logged). */
static bool
plan_retention (struct export_engine *e, const struct strlist *snaps, const char *key,
                struct strlist *stale, struct strlist *forget)
{
  struct store_history h = { 0 };
  for (size_t i = 0; i < snaps->n; i++)
    if ((!key || strcmp (snaps->items[i], key) != 0) && !store_history_add (&h, snaps->items[i]))
      log_warn ("%s: not a snapshot's name (snapshots/YYYYMMDDTHHMMSSZ-ID.json): ignored",
                snaps->items[i]);
  /* A stopped rekey's new copies are neither kept nor counted: deleted. */
  struct rm_error err;
  if (store_history_drop_leftovers (e->b, &h, &err) != RM_OK) {
    log_warn ("%s", err.message);
    store_history_free (&h);
    return false;
  }
  for (size_t i = 0; i < h.leftover.n; i++)
    strlist_push (forget, h.leftover.items[i]);
  struct store_snapshot self;
  if (key && store_history_add (&h, key) && store_snapshot_key_parse (key, &self))
    store_history_finish (&h, self.id, NULL);
  else
    store_history_finish (&h, NULL, NULL);
  bool *keep = xcalloc (h.n ? h.n : 1, sizeof *keep);
  store_retention_apply (&e->o.retention, &h, keep);
  struct strlist ref = STRLIST_INIT, kept = STRLIST_INIT;
  bool ok = true;
  for (size_t i = 0; i < h.n; i++) {
    if (key && strcmp (h.v[i].key, key) == 0)
      continue;
    if (!keep[i])
      strlist_push (forget, h.v[i].key);
    else if (ok && !snapshot_refs (e, &h, &h.v[i], &ref, &err)) {
      log_warn ("%s (kept): %s", h.v[i].key, err.message);
      ok = false;
    }
    if (keep[i])
      strlist_push (&kept, h.v[i].key);
  }
  if (ok)
    store_keys_subtract (stale, &ref);
  snapshot_cache_trim (e, &kept);
  strlist_free (&ref);
  strlist_free (&kept);
  free (keep);
  store_history_free (&h);
  return ok;
}

/* The new index says nothing the stored one does not (its time aside), given that no
 * entry of it differs from the stored entry of its key (build_index). */
static bool
same_snapshot (const struct store_index *a, const struct store_index *b, bool differs)
{
  return !differs && a->n == b->n && str_same (a->cluster_uid, b->cluster_uid)
         && str_same (a->cluster_server, b->cluster_server) && str_same (a->exporter, b->exporter);
}

/* The stored state file already says what st says (asked once per engine). */
static bool
state_unchanged (struct export_engine *e, const struct store_state *st)
{
  if (e->state_saved)
    return true;
  struct store_state cur;
  struct rm_error err;
  if (store_state_load (e->b, &cur, &err) != RM_OK)
    return false;
  bool same = str_same (cur.release, st->release) && str_same (cur.namespace, st->namespace)
              && str_same (cur.path, st->path) && str_same (cur.backend, st->backend);
  store_state_free (&cur);
  return e->state_saved = same;
}

/* The kube-system namespace's uid, or NULL when it may not be read.  False when the
 * cluster is unreachable or refuses us (err filled). */
static bool
cluster_identity (struct export_engine *e, char **uid, struct rm_error *err)
{
  cJSON *ks = NULL;
  struct rm_error kerr;
  *uid = NULL;
  if (e->cluster_known) {
    *uid = xstrdup_or_null (e->cluster_uid);
    return true;
  }
  int krc = kube_get (e->kc, "/api/v1/namespaces/kube-system", &ks, &kerr);
  if (krc == KUBE_OK) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (ks,
                                                       "metadata"), "uid");
    *uid = cJSON_IsString (v) ? xstrdup (v->valuestring) : NULL;
    free (e->cluster_uid);
    e->cluster_uid = xstrdup_or_null (*uid);
    e->cluster_known = true;
  }
  else if (krc == KUBE_E_FORBIDDEN || krc == KUBE_E_NOT_FOUND)
    log_warn ("cannot read namespace kube-system for the cluster identity: %s", kerr.message);
  cJSON_Delete (ks);
  if (krc == KUBE_OK || krc == KUBE_E_FORBIDDEN || krc == KUBE_E_NOT_FOUND)
    return true;
  rm_error_set (err, RM_E_IO, "%s", kerr.message);
  return false;
}

/* The previous entry of it, for the new index: taken out of the engine's copy of the
 * previous snapshot when take (that copy is then replaced or dropped, see
 * export_engine_run), else copied. */
static void
reuse_old (struct store_index *ix, struct item *it, bool take)
{
  struct store_record *dst = store_index_add (ix);
  if (take) {
    *dst = *it->old;
    memset (it->old, 0, sizeof *it->old);
  }
  else
    store_record_copy (dst, it->old);
}

/* The new index from the items, counting them into r and logging each skip and
 * failure.  A failed or corrupt record keeps its previous copy in the snapshot.
 * *differs: whether any entry differs from the previous snapshot's entry of its key
 * (with the same number of entries and the same cluster, false means the same
 * snapshot: each key is in at most one entry).  take: move the unchanged entries out of
 * e->old rather than copy them, so an unchanged re-export holds each entry once. */
static struct store_index *
build_index (struct export_engine *e, char *cluster_uid, struct export_result *r, bool take,
             bool *differs)
{
  /* What the filters leave out of this run: the entries of the previous snapshot outside
   * the scope that no item took over (an item takes the entry of its revision, of
   * whichever driver), kept as they were. */
  size_t nold = e->old ? e->old->n : 0, outside = 0;
  bool *keep = xcalloc (nold ? nold : 1, sizeof *keep);
  for (size_t j = 0; j < nold; j++)
    keep[j] = true;
  for (size_t i = 0; i < e->n; i++)
    if (e->items[i].old)
      keep[e->items[i].old - e->old->records] = false;
  for (size_t j = 0; j < nold; j++) {
    const struct store_record *o = &e->old->records[j];
    keep[j] = keep[j] && !e->foreign
              && !export_in_scope (e, o->namespace, o->release, o->driver);
    outside += keep[j];
  }
  r->outside = outside;
  struct store_index *ix = xcalloc (1, sizeof *ix);
  ix->cluster_uid = cluster_uid;
  ix->cluster_server = xstrdup (kube_client_config (e->kc)->server);
  ix->exporter = xstrdup (PACKAGE_NAME " " PACKAGE_VERSION);
  char ts[32];
  time_t now = time (NULL);
  struct tm tm;
  gmtime_r (&now, &tm);
  strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  ix->time = xstrdup (ts);
  /* At most one entry per item: sized once rather than grown by doubling. */
  ix->cap = e->n + outside ? e->n + outside : 1;
  ix->records = xmalloc (ix->cap * sizeof *ix->records);
  *differs = false;
  struct strlist skipped = STRLIST_INIT;
  for (size_t j = 0; j < nold; j++)
    if (keep[j]) {
      struct item it = { .old = &e->old->records[j] };
      reuse_old (ix, &it, take);
    }
  free (keep);
  for (size_t i = 0; i < e->n; i++) {
    struct item *it = &e->items[i];
    switch (it->state) {
    case ITEM_UNCHANGED:
      reuse_old (ix, it, take);
      r->unchanged++;
      break;
    case ITEM_WRITTEN:
    case ITEM_SAME_HASH:
      if (it->state == ITEM_WRITTEN || !it->old || !store_record_same (&it->rec, it->old))
        *differs = true;
      /* Moved, not copied: the item is done with it. */
      *store_index_add (ix) = it->rec;
      memset (&it->rec, 0, sizeof it->rec);
      if (it->state == ITEM_WRITTEN)
        r->written++;
      else
        r->unchanged++;
      break;
    case ITEM_SKIPPED: {
      r->skipped++;
      char *id = xasprintf ("%s@%s", it->uid ? it->uid : it->key, it->rv ? it->rv : "");
      bool again = strlist_contains (&e->skipped, id);
      if (!again)
        r->skipped_new++;
      strlist_push (&skipped, id);
      free (id);
      size_t m = export_log_item (it, "skip");
      /* A record that was intact before and is corrupt now: keep the intact copy. */
      if (it->old && it->corrupt) {
        log_msg (again ? RM_LOG_DEBUG : RM_LOG_WARN,
                 "%s (keeping the copy stored by an earlier export)", it->why);
        reuse_old (ix, it, take);
      }
      else
        log_msg (again ? RM_LOG_DEBUG : RM_LOG_WARN, "%s", it->why);
      log_fields_pop (m);
      break;
    }
    case ITEM_SUPERSEDED: {
      size_t m = export_log_item (it, "supersede");
      log_warn ("%s", it->why);   /* the record itself is exported: not a skip */
      log_fields_pop (m);
      break;
    }
    case ITEM_FAILED: {
      r->failed++;
      size_t m = export_log_item (it, "fail");
      log_error ("%s", it->why);
      log_fields_pop (m);
      /* Keep the previous copy in the snapshot rather than lose the record. */
      if (it->old)
        reuse_old (ix, it, take);
      break;
    }
    case ITEM_PENDING:
      /* Not read: the run was interrupted (a signal stops the workers).  Keep the
       * previous copy; the run does not commit anyway. */
      r->failed++;
      if (it->old)
        reuse_old (ix, it, take);
      break;
    }
  }
  strlist_free (&e->skipped);
  e->skipped = skipped;
  store_index_sort (ix);
  return ix;
}

static const char *
or_unknown (const char *s)
{
  return s ? s : "unknown time";
}

/* A store whose index names another cluster is not ours to replace, unless forced.
 * RM_OK, or RM_E_INVALID with err naming both clusters. */
static int
check_cluster (struct export_engine *e, const char *uid, struct rm_error *err)
{
  const char *stored = e->old ? e->old->cluster_uid : NULL;
  e->foreign = false;
  if (!stored || !uid || strcmp (stored, uid) == 0)
    return RM_OK;
  if (e->o.force) {
    /* Replaced whole: no filter keeps another cluster's records. */
    e->foreign = true;
    log_warn ("%s holds the snapshot of another cluster (kube-system UID %s): replacing it "
              "with this cluster's (%s), --force", STORE_INDEX_KEY, stored, uid);
    return RM_OK;
  }
  char *where = backend_describe (e->b);
  rm_error_set (err, RM_E_INVALID, "%s in %s is the snapshot of another cluster (kube-system "
                "UID %s), not of this one (%s): nothing written; export to another --path, or "
                "use --force to replace it", STORE_INDEX_KEY, where, stored, uid);
  free (where);
  return RM_E_INVALID;
}

/* Items the previous snapshot holds unchanged whose stored record is missing from the
 * listing (keys, sorted as every backend lists) or listed with another size than the
 * index says: read again (a record whose key is current is rewritten with the content
 * it names).  Returns how many. */
static size_t
mark_damaged (struct export_engine *e, const struct strlist *keys, const long long *sizes)
{
  size_t n = 0;
  for (size_t i = 0; i < e->n; i++) {
    struct item *it = &e->items[i];
    if (it->state != ITEM_UNCHANGED || !it->old)
      continue;
    size_t lo = 0, hi = keys->n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (strcmp (keys->items[mid], it->old->key) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
    bool found = lo < keys->n && strcmp (keys->items[lo], it->old->key) == 0;
    if (found && (sizes[lo] < 0 || it->old->stored_size < 0 || sizes[lo] == it->old->stored_size))
      continue;
    size_t m = export_log_item (it, "repair");
    if (found)
      log_warn ("%s: stored record is damaged (%lld bytes, the index says %lld): reading it "
                "from the cluster again", it->old->key, sizes[lo], it->old->stored_size);
    else
      log_warn ("%s: stored record is missing: reading it from the cluster again",
                it->old->key);
    log_fields_pop (m);
    it->state = ITEM_PENDING;
    it->repair = true;
    n++;
  }
  return n;
}

/* Keep in stored only the keys of this run's scope: a key of the previous snapshot by its
 * entry's namespace, release and driver; any other key (left by an interrupted run) by
 * its namespace and release, when every driver was listed.  A key outside the scope is
 * never stale. */
static void
scope_keys (const struct export_engine *e, struct strlist *stored)
{
  if (export_whole_cluster (e) || e->foreign)
    return;
  size_t w = 0;
  for (size_t i = 0; i < stored->n; i++) {
    char *key = stored->items[i];
    const struct store_record *o = e->old ? store_index_find (e->old, key) : NULL;
    struct store_key k;
    bool in;
    if (o)
      in = export_in_scope (e, o->namespace, o->release, o->driver);
    else if (store_key_parse (key, &k)) {
      char *ns = xasprintf ("%.*s", (int) k.namespace_len, k.namespace);
      char *rel = xasprintf ("%.*s", (int) k.release_len, k.release);
      in = export_in_scope (e, ns, rel, NULL);
      free (ns);
      free (rel);
    }
    else
      in = false;
    if (in)
      stored->items[w++] = key;
    else
      free (key);
  }
  stored->n = w;
}

/* Whether ix holds the release revision the original tool's file key names:
 * NAME-VERSION-S.release, or NAME-VERSION.release of its older versions (a name may end
 * in -DIGITS, so both readings are tried). */
static bool
legacy_covered (const struct store_index *ix, const char *key)
{
  size_t end = strlen (key) - strlen (STORE_LEGACY_EXT);
  for (int reading = 0; reading < 2; reading++) {
    size_t p = end;
    for (int skip = reading; skip >= 0; skip--) {
      size_t q = p;
      while (q > 0 && key[q - 1] >= '0' && key[q - 1] <= '9')
        q--;
      if (q == p || q < 2 || key[q - 1] != '-')
        goto next;
      if (skip == 0) {
        long rev = strtol (key + q, NULL, 10);
        for (size_t i = 0; i < ix->n; i++) {
          const struct store_record *r = &ix->records[i];
          if (r->revision == rev && strlen (r->release) == q - 1
              && strncmp (r->release, key, q - 1) == 0)
            return true;
        }
      }
      p = q - 1;
    }
  next:;
  }
  return false;
}

/* Reading index.json, on a thread of its own or not. */
struct index_reader {
  struct backend *b;
  struct store_index *ix;
  struct store_index_base base;
  struct rm_error err;
  int rc;
  pthread_t tid;
  bool started;
};

static void *
read_index (void *arg)
{
  struct index_reader *rd = arg;
  rd->rc = store_index_read (rd->b, &rd->ix, &rd->base, &rd->err);
  return NULL;
}

/* The engine's previous snapshot is the one rd read. */
static void
index_loaded (struct export_engine *e, struct index_reader *rd)
{
  e->old = rd->ix;
  e->base = rd->base;
  e->unreadable = rd->rc != RM_OK && rd->rc != RM_E_NOT_FOUND;
  if (e->unreadable)
    log_warn ("%s: the previous snapshot is unreadable: rebuilding the index from the "
              "cluster; no stored record is deleted in this run%s", rd->err.message,
              e->only_ns.n || e->skip_ns.n || e->only_release.n
              ? " (the rebuilt index holds the releases of this export's filter only, until "
                "an export without filters; the records of the others stay stored)" : "");
  e->loaded = true;
}

int
export_engine_run (struct export_engine *e, struct export_result *r, struct rm_error *err)
{
  memset (r, 0, sizeof *r);
  /* The previous snapshot, to skip what has not changed: from the store the first
   * time (on a thread of its own, while the cluster is listed), then the one this
   * engine committed.  Its etag is the commit's condition. */
  struct index_reader rd = { .b = e->b };
  if (!e->loaded) {
    /* Whether there is one decides how the cluster is listed (a first export plans and
     * reads in one LIST): one stat says it before the read is over. */
    if (backend_has_stat (e->b) && backend_max_parallel (e->b, 2) >= 2
        && store_index_may_exist (e->b))
      rd.started = pthread_create (&rd.tid, NULL, read_index, &rd) == 0;
    if (!rd.started) {
      read_index (&rd);
      index_loaded (e, &rd);
    }
  }
  struct snapshot_keys *listing = snapshot_keys_start (e->b);
  struct strlist stored = STRLIST_INIT;
  char *cluster_uid = NULL;
  struct rm_error kerr;
  int rc = RM_OK, krc = KUBE_OK;
  bool identified = cluster_identity (e, &cluster_uid, err);
  if (rd.started) {
    /* The metadata LISTs need no snapshot: they run while it is read. */
    if (identified)
      krc = export_plan_list (e, &kerr);
    pthread_join (rd.tid, NULL);
    index_loaded (e, &rd);
  }
  if (!identified)
    rc = RM_E_IO;
  else if ((rc = check_cluster (e, cluster_uid, err)) != RM_OK)
    free (cluster_uid);
  else {
    /* A daemon's batch applies its watch events to the snapshot held (no LIST); a
     * first export (nothing to compare with) plans and reads in one full LIST. */
    if (rd.started) {
      if (krc == KUBE_OK)
        export_plan_finish (e);
    } else if (e->changes)
      krc = export_plan_changes (e, &kerr);
    else
      krc = !e->old || e->old->n == 0 ? export_plan_first (e, &kerr) : export_plan (e, &kerr);
    if (krc != KUBE_OK) {
      rc = rm_error_set (err, RM_E_IO, "%s", kerr.message);
      free (cluster_uid);
    }
  }
  if (rc != RM_OK) {
    /* The cluster is unreachable or refuses us, or the store is not ours: touch
     * nothing; and read the cluster's identity again next time. */
    e->cluster_known = false;
    snapshot_keys_finish (listing, &stored, NULL);
    strlist_free (&stored);
    export_items_free (e);
    return rc;
  }

  /* The stored keys, listed meanwhile: a record the previous snapshot references that
   * is missing or has another size than the index says is damaged; it is read from the
   * cluster again and put back under its key (same content, so the same key). */
  long long *sizes = NULL;
  struct rm_error lerr;
  struct strlist legacy = STRLIST_INIT;
  struct strlist snaps = STRLIST_INIT;
  int lrc = snapshot_keys_finish_all (listing, &stored, &sizes, &legacy, &snaps, &lerr);
  if (lrc == RM_OK && legacy.n && !e->old && !e->unreadable
      && (e->only_ns.n || e->skip_ns.n || e->only_release.n)) {
    /* Its index would list the filter's releases only, and readers read the index. */
    char *where = backend_describe (e->b);
    rc = rm_error_set (err, RM_E_INVALID, "%s holds a store of the original tool (%zu "
                       "NAME-VERSION-N.release files) and no %s yet: its first export converts "
                       "it and may not be filtered by namespace or release, or the other "
                       "releases would no longer be listed or imported; nothing written: run "
                       "export once without --namespace, --namespaces, --exclude-namespaces "
                       "and --release", where, legacy.n, STORE_INDEX_KEY);
    free (where);
    free (sizes);
    free (cluster_uid);
    strlist_free (&legacy);
    strlist_free (&snaps);
    strlist_free (&stored);
    export_items_free (e);
    return rc;
  }
  if (lrc != RM_OK) {
    log_error ("%s", lerr.message);
    r->failed++;
  }
  else
    r->repaired = mark_damaged (e, &stored, sizes);
  free (sizes);
  scope_keys (e, &stored);

  /* Read, decode and store what changed, in parallel when the backend allows.  Every
   * record goes to a key of its content: nothing the stored index references changes
   * (a damaged one is rewritten with the content its key names). */
  export_fetch (e);
  /* Unless this is a dry run (which keeps comparing with what is stored), the previous
   * snapshot's entries move into the new one instead of being copied. */
  bool take = !e->o.dry_run && e->old, differs;
  struct store_index *ix = build_index (e, cluster_uid, r, take, &differs);
  r->records = ix->n - r->outside;
  r->scoped = !export_whole_cluster (e);
  r->complete = true;
  /* The items are counted and their entries in ix: free them before the commit prints
   * the index. */
  export_items_free (e);

  /* Records in the store that the new index does not list: only those listed when the
   * run started can be stale (what this run stored is in the new index). */
  struct strlist stale = STRLIST_INIT;
  store_index_unreferenced (ix, &stored, &stale);
  /* The original tool's files, once this index holds their releases (or, exporting the
   * whole cluster, all: a release it no longer has is gone), as the original tool would
   * delete them; not before the commit (snapshot_commit). */
  size_t legacy_stale = 0;
  for (size_t i = 0; i < legacy.n; i++)
    if (export_whole_cluster (e) || legacy_covered (ix, legacy.items[i])) {
      strlist_push (&stale, legacy.items[i]);
      legacy_stale++;
    }
  /* A run with any failure deletes nothing: what it could not read may be what a stale
   * key holds (the next clean run removes them). */
  struct snapshot_commit_opts co = { .base = &e->base, .dry = e->o.dry_run };
  if (r->failed)
    r->kept_why = "this export had failures";
  else if (e->unreadable || !e->base.known)
    r->kept_why = "the previous index.json was unreadable";
  co.keep_stale = r->kept_why != NULL;

  struct store_state st = { e->self_release, e->self_namespace, e->path,
                            (char *) backend_name (e->b) };
  bool committed = false;
  char *text = NULL, *snap_key = NULL;
  struct strlist forget = STRLIST_INIT;
  bool unchanged = !e->o.dry_run && e->old && same_snapshot (e->old, ix, differs)
                   && state_unchanged (e, &st);
  if (unchanged && stale.n && lrc == RM_OK && snaps.n) {
    /* Records that kept past snapshots reference are not stale: nothing to do unless
     * the retention rules drop something. */
    struct strlist left = STRLIST_INIT, drop = STRLIST_INIT;
    for (size_t i = 0; i < stale.n; i++)
      strlist_push (&left, stale.items[i]);
    unchanged = plan_retention (e, &snaps, NULL, &left, &drop) && left.n == 0 && drop.n == 0;
    strlist_free (&left);
    strlist_free (&drop);
  }
  else if (unchanged)
    unchanged = stale.n == 0;
  if (unchanged) {
    log_info ("nothing changed since the snapshot of %s: nothing written", or_unknown (e->old->time));
    /* The new index holds the entries now (taken from e->old): it is what is stored,
     * under the stored snapshot's time. */
    free (ix->time);
    ix->time = e->old->time;
    e->old->time = NULL;
    store_index_free (e->old);
    e->old = ix;
    ix = NULL;
    r->committed = true;
  }
  else if (e->o.dry_run || r->failed == 0 || ix->n) {
    /* The new index is kept as a snapshot too; the retention rules say which of the
     * others stay, and what they reference is not stale. */
    text = store_index_to_json (ix);
    snap_key = store_snapshot_key (store_snapshot_next_ms (&snaps), text, strlen (text));
    co.text = text;
    co.snapshot_key = snap_key;
    co.forget = &forget;
    if (lrc != RM_OK)
      ;   /* no listing: nothing is deleted anyway (r->failed) */
    else if (!plan_retention (e, &snaps, snap_key, &stale, &forget)) {
      r->kept_why = "a kept snapshot could not be read";
      co.keep_stale = true;
    }
    /* Only a writer that still holds the store lock, and was not asked to stop, may
     * commit. */
    rc = e->o.lock && !e->o.dry_run ? store_lock_check (e->o.lock, err) : RM_OK;
    if (rc == RM_OK && !e->o.dry_run && backend_stop_requested ())
      rc = rm_error_set (err, RM_E_ABORTED, "interrupted by a signal before the commit: "
                         "the previous snapshot stays as it was");
    if (rc == RM_OK) {
      size_t m = log_fields_mark ();
      log_field ("action", "commit");
      rc = snapshot_commit (e->b, ix, &st, &stale, &co, err);
      log_fields_pop (m);
    }
    committed = rc == RM_OK && !e->o.dry_run;
    r->committed = committed;
    /* A failed state file write leaves the stored one unknown. */
    if (!e->o.dry_run)
      e->state_saved = committed;
  }
  if (e->o.dry_run) {
    r->deleted = co.keep_stale ? 0 : stale.n;
    r->legacy = co.keep_stale ? 0 : legacy_stale;
    r->forgotten = co.keep_stale ? 0 : forget.n;
  }
  else {
    r->deleted = co.deleted;
    r->legacy = co.deleted_legacy;
    r->forgotten = co.forgotten;
  }
  if (!co.keep_stale && !committed && !e->o.dry_run && stale.n)
    r->kept_why = "the new index was not written";
  r->kept = e->o.dry_run ? (co.keep_stale ? stale.n : 0) : stale.n - co.deleted;
  if (!r->kept)
    r->kept_why = NULL;
  else if (!r->kept_why)
    r->kept_why = "deleting them failed (the next export retries)";
  /* What is in the store now is what the next run compares with. */
  if (committed) {
    store_index_free (e->old);
    e->old = ix;
    ix = NULL;
    e->unreadable = false;
    free (e->old_snap);
    e->old_snap = snap_key;
    snap_key = NULL;
  }
  else if (rc != RM_OK) {
    /* The index may or may not have been written: read it again next time. */
    store_index_free (e->old);
    e->old = NULL;
    free (e->old_snap);
    e->old_snap = NULL;
    e->loaded = false;
  }
  store_index_free (ix);
  free (text);
  free (snap_key);
  strlist_free (&forget);
  strlist_free (&snaps);
  strlist_free (&stale);
  strlist_free (&stored);
  strlist_free (&legacy);
  export_items_free (e);
  return rc;
}

const struct store_index *
export_engine_snapshot (const struct export_engine *e)
{
  return e->old;
}

int
export_engine_recheck (struct export_engine *e, bool *changed, struct rm_error *err)
{
  *changed = false;
  if (!e->loaded)
    return RM_OK;   /* the next run reads it anyway */
  struct store_index *ix = NULL;
  struct store_index_base base;
  int rc = store_index_read (e->b, &ix, &base, err);
  if (rc == RM_E_NOT_FOUND)
    *changed = e->old != NULL || !e->base.absent;
  else if (rc != RM_OK)
    return rc;
  else
    *changed = !e->old || (base.etag[0] && e->base.etag[0] && strcmp (base.etag, e->base.etag))
               || !store_index_same_records (e->old, ix)
               || !str_same (e->old->cluster_uid, ix->cluster_uid);
  store_index_free (ix);
  if (*changed) {
    store_index_free (e->old);
    e->old = NULL;
    free (e->old_snap);
    e->old_snap = NULL;
    e->loaded = false;
  }
  return RM_OK;
}

/* A daemon's batch (export.h); its plan is incremental.c's. */
int
export_engine_apply (struct export_engine *e, const struct export_change *changes, size_t n,
                     struct export_result *r, bool *listed, struct rm_error *err)
{
  /* The previous run's snapshot and scope are the plan's base: only after a run that
   * read the store and the cluster (the caller knows whether it succeeded). */
  bool can = e->loaded && e->old && !e->unreadable && !e->foreign
             && (e->list_secrets || e->list_configmaps);
  if (listed)
    *listed = !can;
  if (!can)
    return export_engine_run (e, r, err);
  /* The objects the earlier runs skipped are not items of a batch: keep them known, so
   * that the next full run does not warn of them again. */
  struct strlist skipped = STRLIST_INIT;
  for (size_t i = 0; i < e->skipped.n; i++)
    strlist_push (&skipped, e->skipped.items[i]);
  e->changes = changes;
  e->nchanges = n;
  int rc = export_engine_run (e, r, err);
  e->changes = NULL;
  e->nchanges = 0;
  if (listed)
    *listed = e->changes_listed;
  for (size_t i = 0; !e->changes_listed && i < skipped.n; i++)
    if (!strlist_contains (&e->skipped, skipped.items[i]))
      strlist_push (&e->skipped, skipped.items[i]);
  strlist_free (&skipped);
  return rc;
}
