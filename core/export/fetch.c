/* Reading the changed release objects: a GET per object on worker threads, or, when
 * most objects changed, a full LIST in pages whose objects a bounded queue hands to the
 * workers.  Each object goes to export_record; progress goes to a terminal. */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "export/internal.h"

/* Items per page of the full LIST: a page is fetched while the last one is processed. */
#define FULL_PAGE 100

/* GET one release object (unless a full LIST delivered it), then record it. */
static void
process (struct export_engine *e, struct item *it)
{
  if (it->obj) {
    export_record (e, it, it->obj);
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
    it->state = ITEM_SKIPPED;
    it->why = xasprintf ("%s %s/%s was deleted while exporting", kind, it->namespace, it->object);
  }
  else if (rc != KUBE_OK) {
    it->state = ITEM_FAILED;
    it->why = xasprintf ("%s %s/%s: %s", kind, it->namespace, it->object, kerr.message);
  }
  else
    export_record (e, it, obj);
  cJSON_Delete (obj);
}

/* GET one object of item it into *obj; false with it->state and it->why set (as process
 * does) when it cannot be read. */
static bool
get_object (struct export_engine *e, struct item *it, cJSON **obj)
{
  const char *kind = it->driver == HELM_DRIVER_SECRET ? "secret" : "configmap";
  char *path = kube_path ("v1", it->namespace,
                          it->driver == HELM_DRIVER_SECRET ? "secrets" : "configmaps", it->object);
  struct rm_error kerr;
  *obj = NULL;
  int rc = kube_get (e->kc, path, obj, &kerr);
  free (path);
  if (rc == KUBE_OK)
    return true;
  it->state = rc == KUBE_E_NOT_FOUND ? ITEM_SKIPPED : ITEM_FAILED;
  free (it->why);
  it->why = rc == KUBE_E_NOT_FOUND
            ? xasprintf ("%s %s/%s was deleted while exporting", kind, it->namespace, it->object)
            : xasprintf ("%s %s/%s: %s", kind, it->namespace, it->object, kerr.message);
  return false;
}

/* Decode obj and check it against its object (name, labels, namespace): true when it is
 * intact; else *why (the caller's) says what is wrong with it. */
static bool
intact (const struct item *it, const cJSON *obj, struct helm_release *rel, char **why)
{
  struct rm_error herr;
  int rc = helm_release_decode (obj, it->driver, NULL, rel, &herr);
  if (rc == HELM_OK && helm_release_matches_object (rel, obj, &herr))
    return true;
  *why = xstrdup (herr.message);
  return false;
}

/* --helm-driver auto: a Secret and a ConfigMap hold the same revision (a move between
 * drivers, a restore into the other one).  plan.c superseded the ConfigMap unread; here
 * both are read, and the intact one is exported: a corrupt copy (bad base64, gzip or JSON,
 * or a release that is not the one its name and labels say) never wins over an intact
 * one.  When both are intact and differ, the Secret wins, as in Helm, whose default
 * driver is the Secret one; the warning says so.  A Secret unchanged since the last
 * export was intact then and still wins unread.  Duplicates are rare, so this runs
 * before the parallel part, one pair at a time. */
static void
resolve_duplicates (struct export_engine *e)
{
  for (size_t i = 0; i + 1 < e->n; i++) {
    struct item *sec = &e->items[i], *cm = &e->items[i + 1];
    if (sec->driver != HELM_DRIVER_SECRET || cm->driver != HELM_DRIVER_CONFIGMAP
        || strcmp (sec->key, cm->key) != 0 || (sec->state != ITEM_PENDING && !sec->queued)
        || cm->state != ITEM_SUPERSEDED)
      continue;
    if (sec->state != ITEM_PENDING) {
      /* A first export recorded the Secret from its LIST (export_fetch_listing): decide
       * again, with both read. */
      store_record_clear (&sec->rec);
      memset (&sec->rec, 0, sizeof sec->rec);
      free (sec->why);
      sec->why = NULL;
      sec->corrupt = false;
      sec->state = ITEM_PENDING;
    }
    cJSON *sobj = NULL, *cobj = NULL;
    if (!get_object (e, sec, &sobj)) {
      if (sec->state == ITEM_SKIPPED) {
        /* The Secret is gone: its ConfigMap is the record now. */
        cm->state = ITEM_PENDING;
        free (cm->why);
        cm->why = NULL;
      }
      continue;
    }
    struct helm_release srel, crel;
    memset (&crel, 0, sizeof crel);
    char *swhy = NULL, *cwhy = NULL;
    bool s_ok = intact (sec, sobj, &srel, &swhy);
    bool c_ok = false;
    if (get_object (e, cm, &cobj))
      c_ok = intact (cm, cobj, &crel, &cwhy);
    else {
      cwhy = cm->why;
      cm->why = NULL;
    }
    struct item *win = sec, *lose = cm;
    cJSON *wobj = sobj;
    char *why;
    if (!s_ok && c_ok) {
      win = cm;
      lose = sec;
      wobj = cobj;
      why = xasprintf ("%s: configmap %s/%s of the same revision is intact and exported instead",
                       swhy, cm->namespace, cm->object);
    }
    else if (s_ok && !c_ok)
      why = xasprintf ("%s: secret %s/%s of the same revision is intact and exported instead",
                       cwhy, sec->namespace, sec->object);
    else if (!s_ok)
      why = xasprintf ("%s (secret %s/%s of the same revision is not intact either: it is "
                       "the one exported, as Helm reads Secrets by default)", cwhy,
                       sec->namespace, sec->object);
    else if (srel.json_len != crel.json_len || memcmp (srel.json, crel.json, srel.json_len) != 0)
      why = xasprintf ("secret %s/%s and configmap %s/%s hold different data for release %s/%s "
                       "revision %d: the Secret is exported (Helm reads Secrets by default)",
                       sec->namespace, sec->object, cm->namespace, cm->object, sec->namespace,
                       sec->release, sec->revision);
    else
      why = NULL;   /* the same record twice: plan.c's reason stands */
    if (why || lose != cm) {
      lose->state = ITEM_SUPERSEDED;
      free (lose->why);
      lose->why = why;
    }
    win->state = ITEM_PENDING;
    free (win->why);
    win->why = NULL;
    export_record (e, win, wobj);
    helm_release_free (&srel);
    helm_release_free (&crel);
    free (swhy);
    free (cwhy);
    cJSON_Delete (sobj);
    cJSON_Delete (cobj);
  }
}

/* The line itself: d of the total, or d alone while the total is unknown (a first
 * export's single LIST: it is known at the end, when the last line shows it). */
static void
progress_line (struct export_engine *e, size_t d)
{
  unsigned long long bytes = atomic_load (&e->bytes);
  struct timespec now;
  clock_gettime (CLOCK_MONOTONIC, &now);
  double secs = (double) (now.tv_sec - e->started.tv_sec)
                + (double) (now.tv_nsec - e->started.tv_nsec) / 1e9;
  double mib = (double) bytes / (1024.0 * 1024.0);
  if (e->progress_total)
    fprintf (stderr, "\rreleasemanager: %zu/%zu records, %.1f MiB, %.1f MiB/s   ", d,
             e->progress_total, mib, secs > 0 ? mib / secs : 0.0);
  else
    fprintf (stderr, "\rreleasemanager: %zu records, %.1f MiB, %.1f MiB/s   ", d, mib,
             secs > 0 ? mib / secs : 0.0);
  if (d == e->progress_total)
    fputc ('\n', stderr);
}

/* On a terminal: count/total, bytes and rate on one rewritten line of stderr. */
static void
progress (struct export_engine *e, const struct item *it)
{
  unsigned long long size = it->rec.size > 0 ? (unsigned long long) it->rec.size : 0;
  atomic_fetch_add (&e->bytes, size);
  size_t d = atomic_fetch_add (&e->done, 1) + 1;
  if (!e->o.progress || (d % 10 != 0 && d != e->progress_total))
    return;
  progress_line (e, d);
}

static void *
worker (void *arg)
{
  struct export_engine *e = arg;
  /* The caller's log fields (the daemon's cycle); this may be the caller itself. */
  size_t m = log_fields_mark ();
  log_fields_adopt (e->log_fields);
  for (;;) {
    size_t i = atomic_fetch_add (&e->next, 1);
    if (i >= e->n || backend_stop_requested ())   /* SIGTERM/SIGINT: no commit follows */
      break;
    if (e->items[i].state == ITEM_PENDING) {
      size_t im = export_log_item (&e->items[i], NULL);
      process (e, &e->items[i]);
      log_fields_pop (im);
      progress (e, &e->items[i]);
    }
  }
  log_fields_pop (m);
  return NULL;
}

/* Start up to n threads running fn (arg); returns how many started.  A thread that
 * cannot be created is reported once; the caller copes with fewer. */
static unsigned
start_threads (pthread_t *tids, unsigned n, void *(*fn) (void *), void *arg)
{
  unsigned t;
  for (t = 0; t < n; t++) {
    int rc = pthread_create (&tids[t], NULL, fn, arg);
    if (rc != 0) {
      log_debug ("export: started %u of %u worker threads: %s", t, n, strerror (rc));
      break;
    }
  }
  return t;
}

/* Process every pending item on nt threads, each read with a GET.  When no thread can
 * be started, this thread does the work. */
static void
run_workers (struct export_engine *e, unsigned nt)
{
  atomic_store (&e->next, 0);
  if (nt > e->n)
    nt = e->n ? (unsigned) e->n : 1;
  pthread_t *tids = xcalloc (nt, sizeof *tids);
  unsigned started = start_threads (tids, nt, worker, e);
  if (started < nt)
    worker (e);
  for (unsigned t = 0; t < started; t++)
    pthread_join (tids[t], NULL);
  free (tids);
}

/* Many records to read (a first export, a big change): one full LIST in pages beats a
 * GET per record.  The LIST runs on this thread and hands each object it delivers to
 * the workers through a bounded queue, so fetching the next page overlaps decoding and
 * storing this one, and memory stays at about a page. */
struct full_ctx {
  struct export_engine *e;
  enum helm_driver driver;
  pthread_mutex_t lock;
  pthread_cond_t not_empty, not_full;
  struct item **q;                  /* ring of the items handed over */
  size_t head, count, cap;
  bool closed;                      /* the LIST is over: workers drain and leave */
  size_t busy;                      /* items a worker is processing */
  pthread_cond_t idle;              /* busy dropped to 0 */
  /* export_fetch_listing: the LIST makes the items (it->mem etc. on the heap, one
   * struct each, so that a worker's pointer stays valid while more are added); they
   * join e->items after the LIST. */
  bool plan;
  struct item **made;
  size_t n_made, cap_made;
  bool inline_only;                 /* no worker thread: record on the listing thread */
};

/* Hand it to the workers, waiting while the queue is full. */
static void
enqueue (struct full_ctx *f, struct item *it)
{
  pthread_mutex_lock (&f->lock);
  while (f->count == f->cap)
    pthread_cond_wait (&f->not_full, &f->lock);
  f->q[(f->head + f->count++) % f->cap] = it;
  pthread_cond_signal (&f->not_empty);
  pthread_mutex_unlock (&f->lock);
}

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
  struct export_engine *e = f->e;
  const cJSON *md = cJSON_GetObjectItemCaseSensitive (obj, "metadata");
  const cJSON *ns = cJSON_GetObjectItemCaseSensitive (md, "namespace");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive (md, "name");
  char *release = NULL;
  int rev;
  /* The LIST gives each object away (kube_list_owned): kept without a copy, or deleted. */
  cJSON *own = (cJSON *) obj;
  if (!cJSON_IsString (ns) || !cJSON_IsString (name)
      || !helm_object_name_parse (name->valuestring, &release, &rev)) {
    cJSON_Delete (own);
    return 0;
  }
  char *key = store_record_key (ns->valuestring, release, rev);
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
  if (!it || it->driver != f->driver || it->queued || it->state != ITEM_PENDING) {
    cJSON_Delete (own);
    return 0;
  }
  it->obj = own;
  it->queued = true;
  enqueue (f, it);
  return 0;
}

/* export_fetch_listing: each listed object becomes an item, handed to the workers with
 * its object. */
static int
plan_item (void *ud, const cJSON *obj)
{
  struct full_ctx *f = ud;
  struct export_engine *e = f->e;
  cJSON *own = (cJSON *) obj;     /* kube_list_owned: ours */
  struct item *it = xmalloc (sizeof *it);
  if (!export_item_init (e, f->driver, obj, it)) {
    free (it);
    cJSON_Delete (own);
    return 0;
  }
  if (f->n_made == f->cap_made) {
    f->cap_made = f->cap_made ? 2 * f->cap_made : 256;
    f->made = xrealloc (f->made, f->cap_made * sizeof *f->made);
  }
  f->made[f->n_made++] = it;
  if (f->driver == HELM_DRIVER_SECRET && e->n
      && bsearch (it->key, e->items, e->n, sizeof *e->items, cmp_key_item)) {
    /* A ConfigMap of the same revision (export_plan_first listed them first): which of
     * the two is exported is resolve_duplicates' to decide, with both read. */
    cJSON_Delete (own);
    return 0;
  }
  it->obj = own;
  it->queued = true;
  if (!f->inline_only) {
    enqueue (f, it);
    return 0;
  }
  size_t im = export_log_item (it, NULL);
  process (f->e, it);
  log_fields_pop (im);
  progress (f->e, it);
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
    struct item *it = f->q[f->head];
    cJSON_Delete (it->obj);
    it->obj = NULL;
    it->queued = false;
  }
  pthread_cond_broadcast (&f->not_full);
  if (f->plan) {
    /* The items this LIST made go, once no worker holds one (what was stored is stored
     * again under the same keys). */
    while (f->busy)
      pthread_cond_wait (&f->idle, &f->lock);
    for (size_t i = 0; i < f->n_made; i++) {
      export_item_free (f->made[i]);
      free (f->made[i]);
    }
    f->n_made = 0;
  }
  pthread_mutex_unlock (&f->lock);
}

static void *
full_worker (void *arg)
{
  struct full_ctx *f = arg;
  log_fields_adopt (f->e->log_fields);    /* always a thread of its own */
  for (;;) {
    pthread_mutex_lock (&f->lock);
    while (f->count == 0 && !f->closed)
      pthread_cond_wait (&f->not_empty, &f->lock);
    if (f->count == 0) {
      pthread_mutex_unlock (&f->lock);
      log_fields_pop (0);
      return NULL;
    }
    struct item *it = f->q[f->head];
    f->head = (f->head + 1) % f->cap;
    f->count--;
    f->busy++;
    pthread_cond_signal (&f->not_full);
    pthread_mutex_unlock (&f->lock);
    size_t im = export_log_item (it, NULL);
    process (f->e, it);
    log_fields_pop (im);
    progress (f->e, it);
    pthread_mutex_lock (&f->lock);
    if (--f->busy == 0)
      pthread_cond_broadcast (&f->idle);
    pthread_mutex_unlock (&f->lock);
  }
}

/* Returns a KUBE_* code.  Without a single worker thread the queue would never drain:
 * then nothing is listed and run_workers reads every item with a GET (plan: the
 * listing thread records each item itself). */
static int
full_list (struct export_engine *e, enum helm_driver driver, unsigned threads, bool plan,
           struct rm_error *kerr)
{
  struct kube_list_opts lo = { "owner=helm", NULL, FULL_PAGE, false };
  struct full_ctx f = { .e = e, .driver = driver, .cap = 2 * FULL_PAGE + (size_t) threads * 4,
                        .plan = plan };
  f.q = xcalloc (f.cap, sizeof *f.q);
  pthread_mutex_init (&f.lock, NULL);
  pthread_cond_init (&f.not_empty, NULL);
  pthread_cond_init (&f.not_full, NULL);
  pthread_cond_init (&f.idle, NULL);
  pthread_t *tids = xcalloc (threads, sizeof *tids);
  unsigned started = start_threads (tids, threads, full_worker, &f);
  f.inline_only = started == 0;
  int rc = KUBE_OK;
  if (started > 0 || plan) {
    struct strlist paths = STRLIST_INIT;
    export_collection_paths (e, driver, &paths);
    for (size_t i = 0; i < paths.n && rc == KUBE_OK; i++)
      rc = kube_list_owned (e->kc, paths.items[i], &lo, plan ? plan_item : full_item,
                            full_restart, &f, NULL, kerr);
    strlist_free (&paths);
  }
  pthread_mutex_lock (&f.lock);
  f.closed = true;
  pthread_cond_broadcast (&f.not_empty);
  pthread_mutex_unlock (&f.lock);
  for (unsigned t = 0; t < started; t++)
    pthread_join (tids[t], NULL);
  free (tids);
  /* The items made join e->items (a failed LIST's too: each holds its state). */
  export_items_reserve (e, e->n + f.n_made);
  for (size_t i = 0; i < f.n_made; i++) {
    e->items[e->n++] = *f.made[i];
    free (f.made[i]);
  }
  free (f.made);
  pthread_cond_destroy (&f.idle);
  pthread_cond_destroy (&f.not_full);
  pthread_cond_destroy (&f.not_empty);
  pthread_mutex_destroy (&f.lock);
  free (f.q);
  return rc;
}

int
export_fetch_listing (struct export_engine *e, enum helm_driver driver, struct rm_error *kerr)
{
  e->progress_total = 0;             /* not known before the end */
  atomic_store (&e->done, 0);
  atomic_store (&e->bytes, 0);
  clock_gettime (CLOCK_MONOTONIC, &e->started);
  e->log_fields = log_fields_copy ();
  int rc = full_list (e, driver, backend_max_parallel (e->b, e->o.threads), true, kerr);
  log_fields_free (e->log_fields);
  e->log_fields = NULL;
  size_t done = atomic_load (&e->done);
  if (e->o.progress && done) {
    /* The last line says the total. */
    e->progress_total = done;
    progress_line (e, done);
  }
  e->progress_total = 0;
  return rc;
}

void
export_fetch (struct export_engine *e)
{
  if (e->o.secrets && e->o.configmaps)
    resolve_duplicates (e);
  size_t todo = 0, unread = 0;
  for (size_t i = 0; i < e->n; i++) {
    todo += e->items[i].state == ITEM_PENDING;
    /* A batch's items carry their objects (the watch delivered them): not to read. */
    unread += e->items[i].state == ITEM_PENDING && !e->items[i].obj;
  }
  e->progress_total = todo;
  atomic_store (&e->done, 0);
  atomic_store (&e->bytes, 0);
  clock_gettime (CLOCK_MONOTONIC, &e->started);
  unsigned nt = backend_max_parallel (e->b, e->o.threads);
  e->log_fields = log_fields_copy ();
  if (unread > 32 && unread * 4 > e->n) {
    /* Most records changed: read them with full LIST pages instead of a GET each.
     * What the LIST did not deliver (deleted meanwhile, or new) is read one by one. */
    struct rm_error kerr;
    log_debug ("%zu of %zu records to read: using full LIST pages", todo, e->n);
    if ((e->list_secrets && full_list (e, HELM_DRIVER_SECRET, nt, false, &kerr) != KUBE_OK)
        || (e->list_configmaps
            && full_list (e, HELM_DRIVER_CONFIGMAP, nt, false, &kerr) != KUBE_OK))
      log_warn ("%s (reading the remaining records one by one)", kerr.message);
  }
  run_workers (e, nt);
  log_fields_free (e->log_fields);
  e->log_fields = NULL;
}
