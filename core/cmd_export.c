/* `releasemanager export`: back up every Helm release record of the cluster.
 *
 * 1. List the release Secrets (or ConfigMaps) as metadata only and compare each with
 *    the stored index: an object whose uid and resourceVersion are unchanged is not
 *    read again.  2. GET, decode and store the others in parallel; a record whose JSON
 *    hash is already stored is not uploaded again.  3. Write index.json LAST, then the
 *    state file.  4. Delete records the new index no longer lists.
 * A corrupt record is reported by name and skipped; the exit status then says partial. */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/sha256.h"
#include "commands.h"
#include "helm/helm.h"
#include "kube/kube.h"
#include "base/log.h"
#include "store/store.h"

static const struct cli_option export_options[] = {
  { "namespace", 'n', CLI_LIST, "NS", NULL, "export only releases in NS", 0 },
  { "exclude-namespaces", 0, CLI_LIST, "NS,NS", NULL, "skip releases in these namespaces", 0 },
  { "release-name", 0, CLI_VALUE, "NAME", NULL, "export only the release NAME", 0 },
  { "helm-driver", 0, CLI_VALUE, "DRIVER", "secret",
    "where Helm keeps releases: secret, configmap, or auto (both)", 0 },
  { "threads", 0, CLI_VALUE, "N", "8", "parallel reads and uploads", 0 },
  { "self-release", 0, CLI_VALUE, "NAME", NULL,
    "the Helm release this manager runs as (recorded in the state file)", 0 },
  { "self-namespace", 0, CLI_VALUE, "NS", NULL, "namespace of --self-release", 0 },
  { NULL, 0, 0, NULL, NULL, NULL, 0 },
};

/* Items per page of the full LIST: a page is fetched while the last one is processed. */
#define FULL_PAGE 100

/* One release object found in the cluster. */
struct item {
  enum helm_driver driver;
  char *namespace, *object, *uid, *rv;
  char *release;
  int revision;
  char *key;
  const struct store_record *old;   /* in the previous index, or NULL */
  /* results */
  int state;                        /* 0 pending, 1 unchanged, 2 written, 3 same hash, 4 skipped, 5 failed,
                                       6 ConfigMap superseded by the Secret of the same revision */
  struct store_record rec;          /* the new index entry when state 1-3 */
  char *why;                        /* skipped/failed reason */
  cJSON *obj;                       /* the full object, when a LIST delivered it */
  bool queued;                      /* handed to the workers by the full LIST */
  bool corrupt;                     /* skipped because it does not decode */
};

struct export {
  struct cli *cli;
  struct backend *b;
  struct kube_client *kc;
  struct store_index *old;
  struct item *items;
  size_t n, cap;
  bool dry;
  struct strlist only_ns, skip_ns;
  const char *only_release;
  atomic_size_t next;               /* run_workers: the next item to take */
  atomic_size_t done;
  atomic_ullong bytes;              /* release JSON bytes read so far */
  size_t progress_total;
  struct timespec started;
  bool tty;
};

static char *
dup_or_null (const char *s)
{
  return s ? xstrdup (s) : NULL;
}

static const char *
json_str (const cJSON *o, const char *path1, const char *path2)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, path1);
  if (path2)
    v = cJSON_GetObjectItemCaseSensitive (v, path2);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

/* Release name and revision from Helm's object name "sh.helm.release.v1.NAME.vREV". */
static bool
parse_object_name (const char *obj, char **name, int *rev)
{
  if (!str_has_prefix (obj, HELM_KEY_PREFIX))
    return false;
  const char *s = obj + strlen (HELM_KEY_PREFIX);
  const char *dot = strrchr (s, '.');
  if (!dot || dot == s || dot[1] != 'v' || !dot[2])
    return false;
  char *end;
  long v = strtol (dot + 2, &end, 10);
  if (*end || v < 1 || v > 1000000000)
    return false;
  *name = strndup (s, (size_t) (dot - s));
  *rev = (int) v;
  return true;
}

static bool
wanted (struct export *e, const char *ns, const char *release)
{
  if (e->only_ns.n && !strlist_contains (&e->only_ns, ns))
    return false;
  if (strlist_contains (&e->skip_ns, ns))
    return false;
  if (e->only_release && strcmp (e->only_release, release) != 0)
    return false;
  return true;
}

struct list_ctx {
  struct export *e;
  enum helm_driver driver;
  size_t start;
};

static void
list_restart (void *ud)
{
  struct list_ctx *l = ud;
  struct export *e = l->e;
  for (size_t i = l->start; i < e->n; i++) {
    free (e->items[i].namespace);
    free (e->items[i].object);
    free (e->items[i].uid);
    free (e->items[i].rv);
    free (e->items[i].release);
    free (e->items[i].key);
  }
  e->n = l->start;
}

static int
list_item (void *ud, const cJSON *obj)
{
  struct list_ctx *l = ud;
  struct export *e = l->e;
  const char *ns = json_str (obj, "metadata", "namespace");
  const char *name = json_str (obj, "metadata", "name");
  if (!ns || !name)
    return 0;
  char *release = NULL;
  int rev = 0;
  if (!parse_object_name (name, &release, &rev)) {
    log_warn ("%s %s/%s has label owner=helm but is not named like a Helm release record "
              "(sh.helm.release.v1.NAME.vN): skipped",
              l->driver == HELM_DRIVER_SECRET ? "secret" : "configmap", ns, name);
    return 0;
  }
  if (!wanted (e, ns, release)) {
    free (release);
    return 0;
  }
  if (e->n == e->cap) {
    e->cap = e->cap ? e->cap * 2 : 256;
    e->items = xrealloc (e->items, e->cap * sizeof *e->items);
  }
  struct item *it = &e->items[e->n++];
  memset (it, 0, sizeof *it);
  it->driver = l->driver;
  it->namespace = xstrdup (ns);
  it->object = xstrdup (name);
  it->uid = dup_or_null (json_str (obj, "metadata", "uid"));
  it->rv = dup_or_null (json_str (obj, "metadata", "resourceVersion"));
  it->release = release;
  it->revision = rev;
  it->key = store_record_key (ns, release, rev);
  return 0;
}

/* The collections to list: one per --namespace, else the cluster-wide one. */
static void
collection_paths (const struct export *e, enum helm_driver driver, struct strlist *paths)
{
  const char *resource = driver == HELM_DRIVER_SECRET ? "secrets" : "configmaps";
  for (size_t i = 0; i < (e->only_ns.n ? e->only_ns.n : 1); i++) {
    char *p = kube_path ("v1", e->only_ns.n ? e->only_ns.items[i] : NULL, resource, NULL);
    strlist_push (paths, p);
    free (p);
  }
}

static int
list_driver (struct export *e, enum helm_driver driver, struct rm_error *kerr)
{
  struct kube_list_opts lo = { "owner=helm", NULL, 500, true };
  struct strlist paths = STRLIST_INIT;
  collection_paths (e, driver, &paths);
  int rc = KUBE_OK;
  for (size_t i = 0; i < paths.n && rc == KUBE_OK; i++) {
    struct list_ctx l = { e, driver, e->n };
    struct kube_list_info info = { 0 };
    rc = kube_list (e->kc, paths.items[i], &lo, list_item, list_restart, &l, &info, kerr);
    log_debug ("listed %s: %lu items in %u pages%s", paths.items[i], info.items, info.pages,
               info.metadata_only ? " (metadata only)" : "");
    kube_list_info_free (&info);
  }
  strlist_free (&paths);
  return rc;
}

static int
stop_at_first (void *ud, const cJSON *item)
{
  (void) item;
  *(bool *) ud = true;
  return 1;
}

/* Whether any object of resource matches selector, reading at most one. */
static bool
any_object (struct export *e, const char *resource, const char *selector)
{
  struct kube_list_opts lo = { selector, NULL, 1, true };
  struct rm_error kerr;
  bool found = false;
  char *p = kube_path ("v1", NULL, resource, NULL);
  kube_list (e->kc, p, &lo, stop_at_first, NULL, &found, NULL, &kerr);
  free (p);
  return found;
}

/* Decode, compare and store one release object (from a GET or a full LIST). */
static void
handle_object (struct export *e, struct item *it, const cJSON *obj)
{
  const char *kind = it->driver == HELM_DRIVER_SECRET ? "secret" : "configmap";
  struct helm_release rel;
  struct rm_error herr;
  memset (&rel, 0, sizeof rel);
  int rc = helm_release_decode (obj, it->driver, NULL, &rel, &herr);
  if (rc == HELM_V2) {
    it->state = 4;
    it->why = xasprintf ("%s %s/%s is a Helm 2 record: skipped", kind, it->namespace, it->object);
    helm_release_free (&rel);
    return;
  }
  if (rc != HELM_OK) {
    it->state = 4;
    it->corrupt = true;
    it->why = xstrdup (herr.message);
    helm_release_free (&rel);
    return;
  }
  struct store_record *r = &it->rec;
  r->key = xstrdup (it->key);
  r->namespace = xstrdup (it->namespace);
  r->release = xstrdup (it->release);
  r->revision = it->revision;
  r->status = dup_or_null (rel.status);
  r->chart = dup_or_null (rel.chart_name);
  r->chart_version = dup_or_null (rel.chart_version);
  r->app_version = dup_or_null (rel.app_version);
  r->updated = dup_or_null (rel.last_deployed);
  r->driver = xstrdup (kind);
  r->source = xasprintf ("%s/%s", it->namespace, it->object);
  r->source_uid = dup_or_null (it->uid);
  r->source_version = dup_or_null (it->rv);
  if (rel.name && strcmp (rel.name, it->release) != 0)
    log_warn ("%s %s/%s holds release '%s' revision %d; stored under its object name", kind,
              it->namespace, it->object, rel.name, rel.version);
  /* Hashed once: compared with the index here, and stored with the record below. */
  sha256_hex (rel.json, rel.json_len, r->sha256);
  if (it->old && strcmp (it->old->sha256, r->sha256) == 0) {
    r->size = (long long) rel.json_len;
    r->stored_size = it->old->stored_size;
    it->state = 3;
  }
  else if (e->dry) {
    r->size = (long long) rel.json_len;
    printf ("would put %s (%zu bytes of release JSON)\n", it->key, rel.json_len);
    it->state = 2;
  }
  else {
    struct rm_error err;
    /* Helm's own gzip of the record, when it has one, saves compressing it again. */
    int prc = rel.gzip ? store_put_record_gz (e->b, r, rel.json, rel.json_len, rel.gzip,
                                              rel.gzip_len, &err)
                       : store_put_record (e->b, r, rel.json, rel.json_len, &err);
    if (prc != RM_OK) {
      it->state = 5;
      it->why = xstrdup (err.message);
    }
    else {
      log_info ("stored %s (%lld bytes, %lld gzip)", it->key, r->size, r->stored_size);
      it->state = 2;
    }
  }
  helm_release_free (&rel);
}

/* GET one release object, then handle it. */
static void
process (struct export *e, struct item *it)
{
  if (it->obj) {
    handle_object (e, it, it->obj);
    cJSON_Delete (it->obj);
    it->obj = NULL;
    return;
  }
  const char *resource = it->driver == HELM_DRIVER_SECRET ? "secrets" : "configmaps";
  const char *kind = it->driver == HELM_DRIVER_SECRET ? "secret" : "configmap";
  char *path = kube_path ("v1", it->namespace, resource, it->object);
  cJSON *obj = NULL;
  struct rm_error kerr;
  int rc = kube_get (e->kc, path, &obj, &kerr);
  free (path);
  if (rc == KUBE_E_NOT_FOUND) {
    it->state = 4;
    it->why = xasprintf ("%s %s/%s was deleted while exporting", kind, it->namespace, it->object);
  }
  else if (rc != KUBE_OK) {
    it->state = 5;
    it->why = xasprintf ("%s %s/%s: %s", kind, it->namespace, it->object, kerr.message);
  }
  else
    handle_object (e, it, obj);
  cJSON_Delete (obj);
}

/* On a terminal: count/total, bytes and rate on one rewritten line of stderr. */
static void
progress (struct export *e, const struct item *it)
{
  unsigned long long bytes = atomic_fetch_add (&e->bytes, it->rec.size > 0
                                               ? (unsigned long long) it->rec.size : 0)
                             + (it->rec.size > 0 ? (unsigned long long) it->rec.size : 0);
  size_t d = atomic_fetch_add (&e->done, 1) + 1;
  if (!e->tty || (d % 10 != 0 && d != e->progress_total))
    return;
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  double secs = (double) (now.tv_sec - e->started.tv_sec)
                + (double) (now.tv_nsec - e->started.tv_nsec) / 1e9;
  double mib = (double) bytes / (1024.0 * 1024.0);
  fprintf (stderr, "\rreleasemanager: %zu/%zu records, %.1f MiB, %.1f MiB/s   ", d,
           e->progress_total, mib, secs > 0 ? mib / secs : 0.0);
  if (d == e->progress_total)
    fputc ('\n', stderr);
}

static void *
worker (void *arg)
{
  struct export *e = arg;
  for (;;) {
    size_t i = atomic_fetch_add (&e->next, 1);
    if (i >= e->n)
      break;
    if (e->items[i].state == 0) {
      process (e, &e->items[i]);
      progress (e, &e->items[i]);
    }
  }
  return NULL;
}

/* Process every pending item on nt threads, each read with a GET. */
static void
run_workers (struct export *e, unsigned nt)
{
  atomic_store (&e->next, 0);
  if (nt > e->n)
    nt = e->n ? (unsigned) e->n : 1;
  pthread_t *tids = xcalloc (nt, sizeof *tids);
  for (unsigned t = 0; t < nt; t++)
    pthread_create (&tids[t], NULL, worker, e);
  for (unsigned t = 0; t < nt; t++)
    pthread_join (tids[t], NULL);
  free (tids);
}

/* Many records to read (a first export, a big change): one full LIST in pages beats a
 * GET per record.  The LIST runs on this thread and hands each object it delivers to
 * the workers through a bounded queue, so fetching the next page overlaps decoding and
 * storing this one, and memory stays at about a page. */
struct full_ctx {
  struct export *e;
  enum helm_driver driver;
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
  size_t *q;                        /* ring of item indexes */
  size_t head, count, cap;
  bool closed;                      /* the LIST is over: workers drain and leave */
};

static int
cmp_key_item (const void *key, const void *elem)
{
  const struct item *it = elem;
  return strcmp (key, it->key);
}

static int
full_item (void *ud, const cJSON *obj)
{
  struct full_ctx *f = ud;
  struct export *e = f->e;
  const char *ns = json_str (obj, "metadata", "namespace");
  const char *name = json_str (obj, "metadata", "name");
  char *release = NULL;
  int rev;
  if (!ns || !name || !parse_object_name (name, &release, &rev))
    return 0;
  char *key = store_record_key (ns, release, rev);
  free (release);
  struct item *it = bsearch (key, e->items, e->n, sizeof *e->items, cmp_key_item);
  free (key);
  /* With the auto driver a key may have two items; take the one of this driver. */
  while (it && it > e->items && strcmp (it[-1].key, it->key) == 0)
    it--;
  while (it && it->driver != f->driver && it + 1 < e->items + e->n
         && strcmp (it[1].key, it->key) == 0)
    it++;
  /* queued first: a queued item belongs to the workers, who write its state. */
  if (!it || it->driver != f->driver || it->queued || it->state != 0)
    return 0;
  it->obj = cJSON_Duplicate (obj, true);
  it->queued = true;
  pthread_mutex_lock (&f->lock);
  while (f->count == f->cap)
    pthread_cond_wait (&f->not_full, &f->lock);
  f->q[(f->head + f->count++) % f->cap] = (size_t) (it - e->items);
  pthread_cond_signal (&f->not_empty);
  pthread_mutex_unlock (&f->lock);
  return 0;
}

/* The LIST starts over (its continue token expired): what is still queued will be
 * delivered again. */
static void
full_restart (void *ud)
{
  struct full_ctx *f = ud;
  pthread_mutex_lock (&f->lock);
  for (; f->count; f->count--, f->head = (f->head + 1) % f->cap) {
    struct item *it = &f->e->items[f->q[f->head]];
    cJSON_Delete (it->obj);
    it->obj = NULL;
    it->queued = false;
  }
  pthread_cond_broadcast (&f->not_full);
  pthread_mutex_unlock (&f->lock);
}

static void *
full_worker (void *arg)
{
  struct full_ctx *f = arg;
  for (;;) {
    pthread_mutex_lock (&f->lock);
    while (f->count == 0 && !f->closed)
      pthread_cond_wait (&f->not_empty, &f->lock);
    if (f->count == 0) {
      pthread_mutex_unlock (&f->lock);
      return NULL;
    }
    size_t i = f->q[f->head];
    f->head = (f->head + 1) % f->cap;
    f->count--;
    pthread_cond_signal (&f->not_full);
    pthread_mutex_unlock (&f->lock);
    process (f->e, &f->e->items[i]);
    progress (f->e, &f->e->items[i]);
  }
}

static int
full_list (struct export *e, enum helm_driver driver, unsigned threads, struct rm_error *kerr)
{
  struct kube_list_opts lo = { "owner=helm", NULL, FULL_PAGE, false };
  struct full_ctx f = { .e = e, .driver = driver, .cap = 2 * FULL_PAGE + (size_t) threads * 4 };
  f.q = xcalloc (f.cap, sizeof *f.q);
  pthread_mutex_init (&f.lock, NULL);
  pthread_cond_init (&f.not_empty, NULL);
  pthread_cond_init (&f.not_full, NULL);
  pthread_t *tids = xcalloc (threads, sizeof *tids);
  for (unsigned t = 0; t < threads; t++)
    pthread_create (&tids[t], NULL, full_worker, &f);
  struct strlist paths = STRLIST_INIT;
  collection_paths (e, driver, &paths);
  int rc = KUBE_OK;
  for (size_t i = 0; i < paths.n && rc == KUBE_OK; i++)
    rc = kube_list (e->kc, paths.items[i], &lo, full_item, full_restart, &f, NULL, kerr);
  strlist_free (&paths);
  pthread_mutex_lock (&f.lock);
  f.closed = true;
  pthread_cond_broadcast (&f.not_empty);
  pthread_mutex_unlock (&f.lock);
  for (unsigned t = 0; t < threads; t++)
    pthread_join (tids[t], NULL);
  free (tids);
  pthread_cond_destroy (&f.not_full);
  pthread_cond_destroy (&f.not_empty);
  pthread_mutex_destroy (&f.lock);
  free (f.q);
  return rc;
}

static int
cmp_item (const void *a, const void *b)
{
  const struct item *x = a, *y = b;
  int c = strcmp (x->key, y->key);
  /* Secrets before ConfigMaps for the same record (auto driver). */
  return c ? c : (int) x->driver - (int) y->driver;
}

static const char *
or_unknown (const char *s)
{
  return s ? s : "unknown time";
}

static bool
same_str (const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp (a, b) == 0);
}

/* The new index says nothing the stored one does not (its time aside). */
static bool
same_snapshot (const struct store_index *a, const struct store_index *b)
{
  if (a->n != b->n || !same_str (a->cluster_uid, b->cluster_uid)
      || !same_str (a->cluster_server, b->cluster_server) || !same_str (a->exporter, b->exporter))
    return false;
  char *ta = store_index_to_json (&(struct store_index) { .records = a->records, .n = a->n });
  char *tb = store_index_to_json (&(struct store_index) { .records = b->records, .n = b->n });
  bool same = strcmp (ta, tb) == 0;
  free (ta);
  free (tb);
  return same;
}

/* The stored state file already says what st says. */
static bool
state_unchanged (struct backend *b, const struct store_state *st)
{
  struct store_state cur;
  struct rm_error err;
  if (store_state_load (b, &cur, &err) != RM_OK)
    return false;
  bool same = same_str (cur.release, st->release) && same_str (cur.namespace, st->namespace)
              && same_str (cur.path, st->path) && same_str (cur.backend, st->backend);
  store_state_free (&cur);
  return same;
}

static int
collect_key (void *opaque, const struct rm_list_entry *entry)
{
  strlist_push (opaque, entry->key);
  return 0;
}

/* The keys under releases/ when the export starts, listed on a thread of their own while
 * the export runs: only those can be stale (what this run stores is in the new index),
 * and against a big store the listing (a request per 1000 keys) is off the critical path. */
struct stored_keys {
  struct backend *b;
  struct strlist keys;
  struct rm_error err;
  int rc;
  pthread_t tid;
  bool started;
};

static void *
list_stored (void *arg)
{
  struct stored_keys *s = arg;
  s->rc = backend_list_all (s->b, STORE_RELEASES_PREFIX, collect_key, &s->keys, &s->err);
  return NULL;
}

static void
stored_keys_start (struct stored_keys *s, struct backend *b)
{
  s->b = b;
  s->rc = RM_OK;
  s->started = pthread_create (&s->tid, NULL, list_stored, s) == 0;
  if (!s->started)
    list_stored (s);
}

static void
stored_keys_wait (struct stored_keys *s)
{
  if (s->started)
    pthread_join (s->tid, NULL);
  s->started = false;
}

static void
free_items (struct export *e)
{
  for (size_t i = 0; i < e->n; i++) {
    struct item *it = &e->items[i];
    free (it->namespace);
    free (it->object);
    free (it->uid);
    free (it->rv);
    free (it->release);
    free (it->key);
    free (it->why);
    cJSON_Delete (it->obj);
    store_record_clear (&it->rec);
  }
  free (e->items);
}

static int
run_export (struct cli *c)
{
  if (c->positional.n > 1) {
    log_error ("export: unexpected operand '%s'", c->positional.items[1]);
    return EXIT_USAGE;
  }
  struct export e;
  memset (&e, 0, sizeof e);
  struct stored_keys stored = { .keys = STRLIST_INIT };
  e.cli = c;
  e.dry = cli_flag (c, "dry-run");
  e.tty = isatty (2) && log_get_level () < RM_LOG_INFO;
  const char *driver = cli_get (c, "helm-driver");
  if (strcmp (driver, "secret") && strcmp (driver, "configmap") && strcmp (driver, "auto")) {
    log_error ("--helm-driver: '%s' is not secret, configmap or auto", driver);
    return EXIT_USAGE;
  }
  const char *why;
  char *tv = backend_normalize_value (RM_KEY_INT, cli_get (c, "threads"), &why);
  long threads = tv ? atol (tv) : 0;
  free (tv);
  if (threads < 1 || threads > 256) {
    log_error ("--threads: '%s' is not a number from 1 to 256", cli_get (c, "threads"));
    return EXIT_USAGE;
  }
  /* Both are repeatable and comma-separated. */
  cli_get_list (c, "namespace", ',', &e.only_ns);
  cli_get_list (c, "exclude-namespaces", ',', &e.skip_ns);
  e.only_release = cli_get (c, "release-name");

  int rc = EXIT_OK;
  char *error = NULL;
  bool usage;
  e.b = cli_open_backend (c, true, &error, &usage);
  if (!e.b) {
    log_error ("%s", error);
    free (error);
    strlist_free (&e.only_ns);
    strlist_free (&e.skip_ns);
    return usage ? EXIT_USAGE : EXIT_ERROR;
  }
  char *where = backend_describe (e.b);

  struct kube_config_opts ko = { cli_get (c, "kubeconfig"), cli_get (c, "kubecontext"), NULL };
  struct kube_config *kcfg = NULL;
  struct rm_error kerr;
  if (kube_config_load (&ko, &kcfg, &kerr) != KUBE_OK
      || kube_client_new (kcfg, NULL, &e.kc, &kerr) != KUBE_OK) {
    log_error ("%s", kerr.message);
    rc = EXIT_ERROR;
    goto out;
  }
  log_info ("exporting from %s to %s", kube_client_config (e.kc)->source, where);

  /* The previous snapshot, to skip what has not changed. */
  struct rm_error err;
  int lrc = store_index_load (e.b, &e.old, &err);
  if (lrc != RM_OK && lrc != RM_E_NOT_FOUND) {
    log_warn ("%s: the previous snapshot is unreadable, exporting everything again", err.message);
  }
  stored_keys_start (&stored, e.b);

  /* Cluster identity. */
  cJSON *ks = NULL;
  char *cluster_uid = NULL;
  int krc = kube_get (e.kc, "/api/v1/namespaces/kube-system", &ks, &kerr);
  if (krc == KUBE_OK)
    cluster_uid = dup_or_null (json_str (ks, "metadata", "uid"));
  else if (krc == KUBE_E_FORBIDDEN || krc == KUBE_E_NOT_FOUND)
    log_warn ("cannot read namespace kube-system for the cluster identity: %s", kerr.message);
  else {
    /* The cluster is unreachable or refuses us: say so once, touch nothing. */
    log_error ("%s", kerr.message);
    cJSON_Delete (ks);
    rc = EXIT_ERROR;
    goto out;
  }
  cJSON_Delete (ks);

  bool want_secret = strcmp (driver, "configmap") != 0;
  bool want_cm = strcmp (driver, "secret") != 0;
  if ((want_secret && list_driver (&e, HELM_DRIVER_SECRET, &kerr) != KUBE_OK)
      || (want_cm && list_driver (&e, HELM_DRIVER_CONFIGMAP, &kerr) != KUBE_OK)) {
    log_error ("%s", kerr.message);
    free (cluster_uid);
    rc = EXIT_ERROR;
    goto out;
  }
  /* Helm 2 (Tiller) records are not restorable: say so once. */
  if (any_object (&e, "configmaps", "OWNER=TILLER"))
    log_warn ("the cluster has Helm 2 (Tiller) release records (ConfigMaps labelled "
              "OWNER=TILLER): they are not exported; migrate them to Helm 3 with helm-2to3");
  if (e.n == 0 && strcmp (driver, "secret") == 0 && any_object (&e, "configmaps", "owner=helm"))
    log_warn ("no Helm release Secrets found, but release ConfigMaps exist: use "
              "--helm-driver configmap (or auto)");

  /* One record per key: with --helm-driver auto, a Secret wins over a ConfigMap. */
  if (e.n)
    qsort (e.items, e.n, sizeof *e.items, cmp_item);
  for (size_t i = 1; i < e.n; i++)
    if (strcmp (e.items[i].key, e.items[i - 1].key) == 0 && e.items[i].state == 0) {
      e.items[i].state = 6;
      e.items[i].why = xasprintf ("configmap %s/%s duplicates the Secret of the same release "
                                  "revision: the Secret is exported", e.items[i].namespace,
                                  e.items[i].object);
    }
  for (size_t i = 0; i < e.n; i++) {
    struct item *it = &e.items[i];
    it->old = store_index_find (e.old, it->key);
    if (it->state == 0 && it->old && it->uid && it->rv && it->old->source_uid
        && it->old->source_version && strcmp (it->old->source_uid, it->uid) == 0
        && strcmp (it->old->source_version, it->rv) == 0) {
      store_record_copy (&it->rec, it->old);
      it->state = 1;
    }
  }

  /* Read, decode and store what changed, in parallel when the backend allows. */
  size_t todo = 0;
  for (size_t i = 0; i < e.n; i++)
    todo += e.items[i].state == 0;
  e.progress_total = todo;
  clock_gettime (CLOCK_MONOTONIC, &e.started);
  unsigned nt = backend_max_parallel (e.b, (unsigned) threads);
  if (todo > 32 && todo * 4 > e.n) {
    /* Most records changed: read them with full LIST pages instead of a GET each.
     * What the LIST did not deliver (deleted meanwhile, or new) is read one by one. */
    log_debug ("%zu of %zu records to read: using full LIST pages", todo, e.n);
    if ((want_secret && full_list (&e, HELM_DRIVER_SECRET, nt, &kerr) != KUBE_OK)
        || (want_cm && full_list (&e, HELM_DRIVER_CONFIGMAP, nt, &kerr) != KUBE_OK))
      log_warn ("%s (reading the remaining records one by one)", kerr.message);
  }
  run_workers (&e, nt);

  /* The new index: every record stored or unchanged. */
  struct store_index *ix = xcalloc (1, sizeof *ix);
  ix->cluster_uid = cluster_uid;
  ix->cluster_server = xstrdup (kube_client_config (e.kc)->server);
  ix->exporter = xstrdup (PACKAGE_NAME " " PACKAGE_VERSION);
  char ts[32];
  time_t now = time (NULL);
  struct tm tm;
  gmtime_r (&now, &tm);
  strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  ix->time = xstrdup (ts);
  size_t written = 0, unchanged = 0, skipped = 0, failed = 0;
  for (size_t i = 0; i < e.n; i++) {
    struct item *it = &e.items[i];
    if (it->state >= 1 && it->state <= 3) {
      store_record_copy (store_index_add (ix), &it->rec);
      if (it->state == 2)
        written++;
      else
        unchanged++;
    }
    else if (it->state == 4) {
      skipped++;
      /* A record that was intact before and is corrupt now: keep the intact copy. */
      if (it->old && it->corrupt) {
        log_warn ("%s (keeping the copy stored by an earlier export)", it->why);
        store_record_copy (store_index_add (ix), it->old);
      }
      else
        log_warn ("%s", it->why);
    }
    else if (it->state == 6)
      log_warn ("%s", it->why);   /* the record itself is exported: not a skip */
    else if (it->state == 5) {
      failed++;
      log_error ("%s", it->why);
      /* Keep the previous copy in the snapshot rather than lose the record. */
      if (it->old)
        store_record_copy (store_index_add (ix), it->old);
    }
  }
  store_index_sort (ix);

  /* Records in the store that the new index does not list. */
  struct strlist stale = STRLIST_INIT;
  stored_keys_wait (&stored);
  if (stored.rc != RM_OK) {
    log_error ("%s", stored.err.message);
    failed++;
  }
  for (size_t i = 0; i < stored.keys.n; i++)
    if (!store_index_find (ix, stored.keys.items[i]))
      strlist_push (&stale, stored.keys.items[i]);

  if (e.dry) {
    for (size_t i = 0; i < stale.n; i++)
      printf ("would delete %s\n", stale.items[i]);
    printf ("would write %s (%zu records) and %s\n", STORE_INDEX_KEY, ix->n, STORE_STATE_KEY);
  }
  else if (e.old && same_snapshot (e.old, ix) && stale.n == 0
           && state_unchanged (e.b, &(struct store_state) { (char *) cli_get (c, "self-release"),
                                 (char *) cli_get (c, "self-namespace"),
                                 (char *) cli_get (c, "path"), (char *) backend_name (e.b) }))
    log_info ("nothing changed since the snapshot of %s: nothing written", or_unknown (e.old->time));
  else if (failed == 0 || ix->n) {
    if (store_index_save (e.b, ix, &err) != RM_OK) {
      log_error ("%s", err.message);
      rc = EXIT_ERROR;
    }
    else {
      struct store_state st = { (char *) cli_get (c, "self-release"),
                                (char *) cli_get (c, "self-namespace"),
                                (char *) cli_get (c, "path"), (char *) backend_name (e.b) };
      if (store_state_save (e.b, &st, &err) != RM_OK) {
        log_error ("%s", err.message);
        rc = EXIT_ERROR;
      }
      /* Only after the new index is in place. */
      for (size_t i = 0; i < stale.n && rc == EXIT_OK; i += 1000) {
        size_t m = stale.n - i < 1000 ? stale.n - i : 1000;
        int *codes = xcalloc (m, sizeof *codes);
        if (backend_remove_many (e.b, (const char *const *) stale.items + i, m, codes, &err))
          log_warn ("%s (stale records remain; the next export retries)", err.message);
        for (size_t j = 0; j < m; j++)
          if (codes[j] == RM_OK)
            log_info ("deleted %s (no longer in the cluster)", stale.items[i + j]);
        free (codes);
      }
    }
  }
  printf ("%s %zu release records%s to %s: %zu written, %zu unchanged, %zu deleted, "
          "%zu skipped, %zu failed\n", e.dry ? "dry run: would export" : "exported", ix->n,
          e.dry ? "" : "", where, written, unchanged, stale.n, skipped, failed);
  if (rc == EXIT_OK && failed)
    rc = EXIT_ERROR;
  else if (rc == EXIT_OK && skipped)
    rc = EXIT_PARTIAL;
  strlist_free (&stale);
  store_index_free (ix);
out:
  stored_keys_wait (&stored);
  strlist_free (&stored.keys);
  free_items (&e);
  store_index_free (e.old);
  kube_client_free (e.kc);
  strlist_free (&e.only_ns);
  strlist_free (&e.skip_ns);
  free (where);
  backend_close (e.b);
  return rc;
}

const struct command cmd_export = {
  "export",
  "back up every Helm release record of the cluster",
  "[BACKEND] [BACKEND OPTIONS] [--namespace NS]... [--exclude-namespaces A,B] "
  "[--release-name NAME]",
  "Reads every Helm release record (all revisions Helm keeps) through the Kubernetes API\n"
  "and stores it under --path: releases/NAMESPACE/RELEASE/REVISION.json.gz, then\n"
  "index.json, then rlsmgrstate.json.  Unchanged records cost no upload and, when the\n"
  "release object is unchanged, no read.  Records no longer in the cluster (or no longer\n"
  "selected by the filters) are deleted after the new index is written.  A corrupt\n"
  "record is reported and skipped (exit status 3).  --dry-run prints every write and\n"
  "delete it would do and does none.",
  export_options,
  run_export,
};
