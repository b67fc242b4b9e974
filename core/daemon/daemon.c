/* The daemon loop (daemon.h).  Threads: the main thread runs the export engine (the
 * first full sync, each batch of watched changes, each resync) and decides health; one
 * watch thread per listed collection (release Secrets and ConfigMaps, cluster-wide or
 * per --namespace) LISTs it metadata-only and WATCHes it from the list's
 * resourceVersion, marking the daemon dirty on each change; with --leader-elect, one
 * thread contends for the Lease; the HTTP server's threads answer from a state guarded
 * by one mutex.  The engine itself compares each run with the snapshot it holds in
 * memory, so a run that finds nothing changed reads and writes no record. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "daemon/http.h"
#include "daemon/rmmetrics.h"
#include "store/lock.h"
#include "store/store.h"

/* A burst of events is exported once no event came for DEBOUNCE_MS, or DEBOUNCE_CAP_MS
 * after its first event, whichever is first.  A batch makes no API request and costs a
 * few ms besides its commit (export_engine_apply), so the wait is what a change's
 * latency was made of (bench/RESULTS.md: with 200/800 ms, p50 0.77 s at 1000 releases):
 * helm's writes of one upgrade, spread over its run, are exported as they come rather
 * than held together (a snapshot per batch; retention keeps the store bounded). */
#define DEBOUNCE_MS 50
#define DEBOUNCE_CAP_MS 250
/* Failed cycles and failed watches retry after BACKOFF_BASE_MS, doubled each time, with
 * +-25% jitter, capped. */
#define BACKOFF_BASE_MS 1000
#define BACKOFF_CAP_MS 30000
#define RELEASE_SELECTOR "owner=helm"
/* The watchers' metadata-only LIST pages (export/plan.c's reasoning: a page of
 * PartialObjectMetadata items is ~10x smaller than one of full objects). */
#define METADATA_PAGE 5000
/* More changes than this waiting for one batch (a store down for long): they are dropped
 * and the batch lists the cluster instead. */
#define MAX_PENDING_CHANGES 1000

static volatile sig_atomic_t sig_stop, sig_hup;

static void
on_stop_signal (int sig)
{
  (void) sig;
  /* A second signal while the batch finishes: give up the waits too. */
  if (sig_stop)
    backend_request_stop ();
  sig_stop = 1;
}

static void
on_hup_signal (int sig)
{
  (void) sig;
  sig_hup = 1;
}

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) != 0 && errno == EINTR && !sig_stop)
    ;
}

/* The delay before retry number n (1, 2, ...): exponential, +-25% jitter, capped. */
static long
backoff_ms (unsigned n)
{
  double d = BACKOFF_BASE_MS;
  for (unsigned i = 1; i < n && d < BACKOFF_CAP_MS; i++)
    d *= 2;
  if (d > BACKOFF_CAP_MS)
    d = BACKOFF_CAP_MS;
  d *= 0.75 + 0.5 * ((double) rand () / RAND_MAX);
  return (long) d;
}

struct daemon;

struct watcher {
  struct daemon *d;
  char *path;                /* the collection */
  const char *what;          /* "secrets" or "configmaps", for messages */
  pthread_t thread;
  bool started;
};

struct daemon {
  struct backend *b;
  struct kube_client *kc;
  const struct daemon_opts *_Atomic o;   /* swapped by SIGHUP (reload); each stays valid */
  struct metrics *m;
  struct export_engine *engine;
  struct store_lock *lock;
  struct kube_lease *lease;
  pthread_t lease_thread;
  bool lease_started;
  atomic_bool leading;
  atomic_bool stopping;      /* the watches and the lease stop */
  struct watcher *w;
  size_t nw;

  pthread_mutex_t mu;        /* guards what follows */
  bool dirty;                /* a change was seen since the last run started */
  /* The changes seen since the last run started, in order, for the next batch
   * (export_engine_apply); relisted: a watch listed again since then (what happened
   * between its watches is known to a LIST only), or the changes overflowed: the next
   * batch lists the cluster (export_engine_run). */
  struct export_change *changes;
  size_t nchanges, capchanges;
  bool relisted;
  size_t first_lists;        /* watchers that tried their first LIST: the first full sync
                                waits for them all, so that it lists after them and their
                                watches miss nothing it did not list */
  long long first_event, last_event;   /* monotonic ms of the burst's first and last */
  struct timespec first_event_real;    /* the burst's first event, real time */
  unsigned failed_cycles;
  bool ready;                /* the first full sync is done (or we stand by) */
  char last_error[512];
  char *releases_json;       /* /releases: the keys of the committed index */
  unsigned long long cycles; /* sync cycles run: the id of the last (log field "cycle") */
};

/* ---- HTTP callbacks (the server's threads) ---- */

static bool
healthz (void *arg, struct strbuf *reason)
{
  struct daemon *d = arg;
  pthread_mutex_lock (&d->mu);
  bool ok = d->failed_cycles < d->o->unhealthy_after;
  if (!ok)
    strbuf_printf (reason, "%u sync cycles failed in a row (--unhealthy-after %u); last: %s",
                   d->failed_cycles, d->o->unhealthy_after, d->last_error);
  pthread_mutex_unlock (&d->mu);
  return ok;
}

static bool
readyz (void *arg, struct strbuf *reason)
{
  struct daemon *d = arg;
  pthread_mutex_lock (&d->mu);
  bool ok = d->ready;
  pthread_mutex_unlock (&d->mu);
  if (!ok)
    strbuf_puts (reason, "the first full sync has not finished yet");
  return ok;
}

static int
releases (void *arg, struct strbuf *body, struct rm_error *err)
{
  (void) err;
  struct daemon *d = arg;
  pthread_mutex_lock (&d->mu);
  strbuf_puts (body, d->releases_json ? d->releases_json : "[]");
  pthread_mutex_unlock (&d->mu);
  return 0;
}

/* ---- watches ---- */

static bool
watch_stop (void *ud)
{
  struct daemon *d = ud;
  return sig_stop || atomic_load (&d->stopping);
}

static void
mark_dirty (struct daemon *d)
{
  pthread_mutex_lock (&d->mu);
  long long t = now_ms ();
  if (!d->dirty) {
    d->dirty = true;
    d->first_event = t;
    clock_gettime (CLOCK_REALTIME, &d->first_event_real);
  }
  d->last_event = t;
  pthread_mutex_unlock (&d->mu);
}

static void
changes_free (struct export_change *c, size_t n)
{
  for (size_t i = 0; i < n; i++)
    cJSON_Delete (c[i].object);
  free (c);
}

/* Queue one watched change for the next batch (copied: the event owns obj). */
static void
queue_change (struct watcher *w, enum kube_watch_type type, const cJSON *obj)
{
  struct daemon *d = w->d;
  cJSON *copy = cJSON_Duplicate (obj, true);
  pthread_mutex_lock (&d->mu);
  if (d->relisted || d->nchanges >= MAX_PENDING_CHANGES) {
    /* The batch lists anyway. */
    changes_free (d->changes, d->nchanges);
    d->changes = NULL;
    d->nchanges = d->capchanges = 0;
    d->relisted = true;
    cJSON_Delete (copy);
  }
  else {
    if (d->nchanges == d->capchanges) {
      d->capchanges = d->capchanges ? 2 * d->capchanges : 16;
      d->changes = xrealloc (d->changes, d->capchanges * sizeof *d->changes);
    }
    d->changes[d->nchanges++] = (struct export_change) {
      .deleted = type == KUBE_WATCH_DELETED, .configmap = strcmp (w->what, "configmaps") == 0,
      .object = copy,
    };
  }
  pthread_mutex_unlock (&d->mu);
}

static int
on_event (void *ud, enum kube_watch_type type, const cJSON *obj)
{
  struct watcher *w = ud;
  if (type == KUBE_WATCH_BOOKMARK)
    return 0;
  queue_change (w, type, obj);
  struct kube_meta meta;
  if (kube_object_meta (obj, &meta))
    log_debug ("watch %s: %s %s/%s (resourceVersion %s)", w->what,
               type == KUBE_WATCH_ADDED ? "added" : type == KUBE_WATCH_MODIFIED ? "modified"
               : "deleted", meta.namespace ? meta.namespace : "", meta.name ? meta.name : "",
               meta.resource_version ? meta.resource_version : "");
  mark_dirty (w->d);
  return 0;
}

static int
ignore_item (void *ud, const cJSON *item)
{
  (void) ud;
  (void) item;
  return 0;
}

static void *
watch_main (void *arg)
{
  struct watcher *w = arg;
  struct daemon *d = w->d;
  char *rv = NULL;
  unsigned failures = 0;
  bool first = true;
  while (!watch_stop (d)) {
    struct rm_error err;
    if (!rv) {
      /* Where to watch from: a metadata-only LIST (its items are not needed, the engine
       * lists for itself). */
      struct kube_list_opts lo = { .label_selector = RELEASE_SELECTOR, .limit = METADATA_PAGE,
                                   .metadata_only = true };
      struct kube_list_info info = { 0 };
      int lrc = kube_list (d->kc, w->path, &lo, ignore_item, NULL, NULL, &info, &err);
      if (first) {
        /* Tried: the first full sync may start.  Failed: listed later, as a restart. */
        pthread_mutex_lock (&d->mu);
        d->first_lists++;
        pthread_mutex_unlock (&d->mu);
        first = lrc == KUBE_OK;
      }
      if (lrc != KUBE_OK) {
        kube_list_info_free (&info);
        metrics_add (d->m, RMM_ERRORS, (const char *[]) { "api", NULL }, 1);
        long ms = backoff_ms (++failures);
        log_warn ("listing %s to watch them: %s; again in %.1f s", w->what, err.message,
                  ms / 1000.0);
        for (long t = 0; t < ms && !watch_stop (d); t += 100)
          sleep_ms (100);
        continue;
      }
      rv = info.resource_version;
      info.resource_version = NULL;
      kube_list_info_free (&info);
      /* Whatever changed between the watch that ended and this list: the next batch
       * lists the cluster and finds it by comparing (the first list is covered by the
       * first full sync, which waits for it). */
      if (!first) {
        pthread_mutex_lock (&d->mu);
        d->relisted = true;
        pthread_mutex_unlock (&d->mu);
        mark_dirty (d);
      }
      first = false;
    }
    struct kube_watch_opts wo = {
      .label_selector = RELEASE_SELECTOR, .resource_version = rv,
      .timeout_seconds = 240 + rand () % 120, .bookmarks = true,
      .stop = watch_stop, .stop_ud = d,
    };
    char *last = NULL;
    int wrc = kube_watch (d->kc, w->path, &wo, on_event, w, &last, &err);
    free (rv);
    rv = last;
    if (wrc == KUBE_E_ABORTED)
      break;
    if (wrc == KUBE_OK) {
      failures = 0;
      continue;        /* the server's timeout: on from the last resourceVersion */
    }
    const char *reason = wrc == KUBE_E_GONE ? "gone" : wrc == KUBE_E_NETWORK ? "dropped"
                         : "error";
    metrics_add (d->m, RMM_WATCH_RESTARTS, (const char *[]) { reason, NULL }, 1);
    /* 410, a dropped stream or any error: list again (metadata only) and resume. */
    free (rv);
    rv = NULL;
    if (wrc == KUBE_E_GONE || wrc == KUBE_E_NETWORK) {
      log_info ("watch of %s %s (%s): listing again", w->what,
                wrc == KUBE_E_GONE ? "expired" : "dropped", err.message);
      failures = 0;
      continue;
    }
    metrics_add (d->m, RMM_ERRORS, (const char *[]) { "api", NULL }, 1);
    long ms = backoff_ms (++failures);
    log_warn ("watching %s: %s; again in %.1f s", w->what, err.message, ms / 1000.0);
    for (long t = 0; t < ms && !watch_stop (d); t += 100)
      sleep_ms (100);
  }
  free (rv);
  return NULL;
}

static void
add_watcher (struct daemon *d, const char *ns, const char *resource)
{
  d->w = xrealloc (d->w, (d->nw + 1) * sizeof *d->w);
  struct watcher *w = &d->w[d->nw++];
  memset (w, 0, sizeof *w);
  w->d = d;
  w->path = kube_path ("v1", ns, resource, NULL);
  w->what = resource;
}

/* ---- leader election ---- */

static void
started_leading (void *ud)
{
  struct daemon *d = ud;
  log_info ("leader election: this replica leads (Lease %s/%s): writing the store",
            d->o->lease_namespace, d->o->lease_name);
  atomic_store (&d->leading, true);
  metrics_set (d->m, RMM_LEADER, NULL, 1);
}

static void
stopped_leading (void *ud)
{
  struct daemon *d = ud;
  if (atomic_load (&d->leading))
    log_info ("leader election: this replica no longer leads: standing by");
  atomic_store (&d->leading, false);
  metrics_set (d->m, RMM_LEADER, NULL, 0);
}

static void
new_leader (void *ud, const char *identity)
{
  (void) ud;
  log_info ("leader election: the leader is %s", identity);
}

/* The Lease is given up only once the last batch is committed (daemon_run). */
static bool
lease_stop (void *ud)
{
  struct daemon *d = ud;
  return atomic_load (&d->stopping);
}

static void *
lease_main (void *arg)
{
  struct daemon *d = arg;
  struct kube_lease_callbacks cb = { started_leading, stopped_leading, new_leader, lease_stop,
                                     d };
  struct rm_error err;
  if (kube_lease_run (d->lease, &cb, &err) != KUBE_OK) {
    metrics_add (d->m, RMM_ERRORS, (const char *[]) { "lease", NULL }, 1);
    log_warn ("releasing the Lease %s/%s: %s", d->o->lease_namespace, d->o->lease_name,
              err.message);
  }
  return NULL;
}

/* ---- one cycle ---- */

static void
publish (struct daemon *d)
{
  const struct store_index *ix = export_engine_snapshot (d->engine);
  cJSON *arr = cJSON_CreateArray ();
  long long bytes = 0;
  size_t n = ix ? ix->n : 0;
  for (size_t i = 0; i < n; i++) {
    cJSON_AddItemToArray (arr, cJSON_CreateString (ix->records[i].key));
    bytes += ix->records[i].stored_size;
  }
  char *json = cJSON_PrintUnformatted (arr);
  cJSON_Delete (arr);
  metrics_set (d->m, RMM_STORE_RECORDS, NULL, (double) n);
  metrics_set (d->m, RMM_STORE_BYTES, NULL, (double) bytes);
  pthread_mutex_lock (&d->mu);
  free (d->releases_json);
  d->releases_json = json;
  pthread_mutex_unlock (&d->mu);
}

static void
cycle_failed (struct daemon *d, const char *kind, const char *message)
{
  metrics_add (d->m, RMM_ERRORS, (const char *[]) { kind, NULL }, 1);
  pthread_mutex_lock (&d->mu);
  d->failed_cycles++;
  snprintf (d->last_error, sizeof d->last_error, "%s", message);
  unsigned n = d->failed_cycles;
  pthread_mutex_unlock (&d->mu);
  metrics_set (d->m, RMM_FAILED_CYCLES, NULL, n);
}

/* One run of the engine; true when it committed without failure.  apply: a batch of
 * these changes only (export_engine_apply), else a run that lists the cluster. */
static bool
cycle_run (struct daemon *d, const char *kind, bool had_event, struct timespec event_real,
           bool apply, const struct export_change *changes, size_t nchanges)
{
  struct rm_error err;
  if (d->o->write && !d->lock) {
    struct store_lock_opts lo = { .command = "export --daemon", .cluster = d->o->cluster_uid };
    int lrc = store_lock_acquire (d->b, &lo, &d->lock, &err);
    if (lrc != RM_OK) {
      d->lock = NULL;
      log_error ("cannot lock the store: %s", err.message);
      cycle_failed (d, "backend", err.message);
      return false;
    }
    /* The engine checks the lock it was made with before each commit: a new lock, a new
     * engine (it reads index.json again, and no record that did not change). */
    export_engine_free (d->engine);
    d->engine = NULL;
  }
  if (!d->engine) {
    struct export_opts eo = d->o->export;
    eo.lock = d->lock;
    d->engine = export_engine_new (d->b, d->kc, &eo);
  }
  if (!strcmp (kind, "resync")) {
    bool changed;
    int rrc = export_engine_recheck (d->engine, &changed, &err);
    if (rrc != RM_OK) {
      log_error ("resync: reading %s: %s", STORE_INDEX_KEY, err.message);
      cycle_failed (d, "backend", err.message);
      return false;
    }
    if (changed)
      log_warn ("resync: %s changed behind this daemon's back (deleted, edited or replaced): "
                "reading it again and repairing it from the cluster", STORE_INDEX_KEY);
  }
  long long t0 = now_ms ();
  struct export_result r;
  bool listed = true;
  int rc = apply ? export_engine_apply (d->engine, changes, nchanges, &r, &listed, &err)
                 : export_engine_run (d->engine, &r, &err);
  double secs = (now_ms () - t0) / 1000.0;
  if (apply)
    log_debug ("batch of %zu watched changes%s", nchanges,
               listed ? ": the cluster was listed" : ", applied without listing the cluster");
  /* The lines that report the run: its outcome and duration as fields too. */
  log_field ("action", "sync");
  log_field_num ("duration", secs);
  /* Each corrupt record once, not again on every resync that finds it still there. */
  metrics_add (d->m, RMM_ERRORS, (const char *[]) { "record", NULL }, (double) r.skipped_new);
  if (rc != RM_OK) {
    if (rc == STORE_E_LOCK_LOST) {
      /* Taken over or expired: take it again next cycle. */
      struct rm_error rerr;
      store_lock_release (d->lock, &rerr);
      d->lock = NULL;
    }
    const char *ekind = !r.complete ? "api" : "commit";
    log_error ("%s sync: %s", kind, err.message);
    cycle_failed (d, ekind, err.message);
    return false;
  }
  if (r.failed) {
    char msg[160];
    snprintf (msg, sizeof msg, "%zu release records could not be read or stored", r.failed);
    log_error ("%s sync: %s", kind, msg);
    cycle_failed (d, "backend", msg);
    return false;
  }
  if (r.written || r.deleted)
    log_info ("%s sync: %zu release records: %zu written, %zu unchanged, %zu deleted, "
              "%zu skipped (%.3f s)", kind, r.records, r.written, r.unchanged, r.deleted,
              r.skipped, secs);
  else
    log_debug ("%s sync: nothing changed (%zu release records, %.3f s)", kind, r.records, secs);
  metrics_observe (d->m, RMM_SYNC_DURATION, (const char *[]) { kind, NULL }, secs);
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  metrics_set (d->m, RMM_LAST_SYNC, NULL, (double) now.tv_sec + now.tv_nsec / 1e9);
  if (had_event)
    metrics_observe (d->m, RMM_CHANGE_LATENCY, NULL,
                     (now.tv_sec - event_real.tv_sec) + (now.tv_nsec - event_real.tv_nsec) / 1e9);
  publish (d);
  pthread_mutex_lock (&d->mu);
  d->failed_cycles = 0;
  d->ready = true;
  pthread_mutex_unlock (&d->mu);
  metrics_set (d->m, RMM_FAILED_CYCLES, NULL, 0);
  return true;
}

/* cycle_run with the cycle's log fields: every line it logs, from this thread or the
 * engine's workers, carries "cycle" (a number counting from 1) and "sync" (full, batch
 * or resync) with --log-format json. */
static bool
run_cycle (struct daemon *d, const char *kind, bool had_event, struct timespec event_real,
           bool apply, const struct export_change *changes, size_t nchanges)
{
  size_t m = log_fields_mark ();
  log_field_int ("cycle", (long long) ++d->cycles);
  log_field ("sync", kind);
  bool ok = cycle_run (d, kind, had_event, event_real, apply, changes, nchanges);
  log_fields_pop (m);
  fflush (stdout);          /* a dry run's "would put" lines, as the cycle ends */
  return ok;
}

static bool
same_list (const struct strlist *a, const struct strlist *b)
{
  size_t na = a ? a->n : 0, nb = b ? b->n : 0;
  for (size_t i = 0; na == nb && i < na; i++)
    if (strcmp (a->items[i], b->items[i]) != 0)
      return false;
  return na == nb;
}

static bool
same_str (const char *a, const char *b)
{
  return a == b || (a && b && strcmp (a, b) == 0);
}

static bool
same_export (const struct export_opts *a, const struct export_opts *b)
{
  return a->secrets == b->secrets && a->configmaps == b->configmaps
         && same_list (a->only_ns, b->only_ns) && same_list (a->skip_ns, b->skip_ns)
         && same_list (a->only_release, b->only_release) && a->threads == b->threads
         && a->dry_run == b->dry_run && same_str (a->self_release, b->self_release)
         && same_str (a->self_namespace, b->self_namespace) && same_str (a->path, b->path)
         && a->force == b->force;
}

/* SIGHUP: the configuration file read again (daemon_opts.reload) and what may change
 * live applied from the next cycle; true when the export engine's options changed (the
 * engine is dropped: the next cycle makes one and runs in full, which reads no record
 * that did not change).  A dry run turned on gives up the store lock. */
static bool
reload (struct daemon *d)
{
  const struct daemon_opts *n = d->o->reload ? d->o->reload (d->o->reload_ud) : NULL;
  if (!d->o->reload)
    log_warn ("SIGHUP: no configuration to read again: ignored");
  if (!n) {
    metrics_add (d->m, RMM_ERRORS, (const char *[]) { "config", NULL }, 1);
    return false;
  }
  bool engine = !same_export (&d->o->export, &n->export);
  if (d->lock && !n->write) {
    struct rm_error err;
    if (store_lock_release (d->lock, &err) != RM_OK)
      log_warn ("releasing the store lock: %s", err.message);
    d->lock = NULL;
  }
  pthread_mutex_lock (&d->mu);      /* the HTTP threads read unhealthy_after */
  d->o = n;
  pthread_mutex_unlock (&d->mu);
  if (engine) {
    export_engine_free (d->engine);
    d->engine = NULL;
  }
  return engine;
}

/* ---- the loop ---- */

static void
main_loop (struct daemon *d)
{
  bool need_full = true, retry = false;
  bool applicable = false;       /* the last cycle succeeded: a batch may apply changes */
  unsigned failures = 0;
  long long next_resync = 0, retry_at = 0;
  bool was_leading = false;
  while (!sig_stop) {
    if (sig_hup) {
      sig_hup = 0;
      if (reload (d))
        need_full = true;         /* the engine's options changed: a new engine */
      if (!retry)
        next_resync = now_ms () + d->o->polling_interval_ms;
    }
    bool leading = atomic_load (&d->leading);
    if (!leading) {
      if (was_leading) {
        /* Another replica writes now: stop writing, and start over with a full sync
         * when leading again (the store may have changed meanwhile). */
        struct rm_error err;
        if (d->lock && store_lock_release (d->lock, &err) != RM_OK)
          log_warn ("releasing the store lock: %s", err.message);
        d->lock = NULL;
        need_full = true;
      }
      was_leading = false;
      pthread_mutex_lock (&d->mu);
      /* Standing by keeps no changes: leading starts with a full sync. */
      changes_free (d->changes, d->nchanges);
      d->changes = NULL;
      d->nchanges = d->capchanges = 0;
      d->ready = true;    /* standing by is ready */
      d->failed_cycles = 0;
      pthread_mutex_unlock (&d->mu);
      sleep_ms (50);
      continue;
    }
    if (!was_leading) {
      was_leading = true;
      need_full = true;
      pthread_mutex_lock (&d->mu);
      d->ready = false;
      pthread_mutex_unlock (&d->mu);
    }
    long long t = now_ms ();
    pthread_mutex_lock (&d->mu);
    bool dirty = d->dirty;
    bool settled = dirty && (t - d->last_event >= DEBOUNCE_MS
                             || t - d->first_event >= DEBOUNCE_CAP_MS);
    pthread_mutex_unlock (&d->mu);
    pthread_mutex_lock (&d->mu);
    bool watchers_listed = d->first_lists >= d->nw;
    pthread_mutex_unlock (&d->mu);
    const char *kind = NULL;
    if (need_full && d->cycles == 0 && !watchers_listed)
      ;      /* the first full sync lists after the watches did */
    else if (retry ? t >= retry_at : true) {
      if (need_full)
        kind = "full";
      else if (settled || (retry && dirty))
        kind = "batch";
      else if (retry || t >= next_resync)
        kind = "resync";
    }
    if (!kind) {
      sleep_ms (20);
      continue;
    }
    /* The batch: every change seen up to now (later ones start the next).  A run that
     * lists the cluster covers them all, and any watch's list before it. */
    pthread_mutex_lock (&d->mu);
    bool had_event = d->dirty;
    struct timespec ev = d->first_event_real;
    d->dirty = false;
    bool batch = strcmp (kind, "batch") == 0;
    bool apply = batch && applicable && !d->relisted;
    struct export_change *changes = d->changes;
    size_t nchanges = d->nchanges;
    d->changes = NULL;
    d->nchanges = d->capchanges = 0;
    d->relisted = false;
    pthread_mutex_unlock (&d->mu);
    bool ok = run_cycle (d, kind, had_event, ev, apply, changes, nchanges);
    changes_free (changes, nchanges);
    applicable = ok;
    if (ok) {
      need_full = false;
      retry = false;
      failures = 0;
      next_resync = now_ms () + d->o->polling_interval_ms;
    }
    else {
      if (had_event)
        mark_dirty (d);      /* the batch is retried */
      long ms = backoff_ms (++failures);
      retry = true;
      retry_at = now_ms () + ms;
      log_warn ("sync cycle failed (%u in a row): again in %.1f s", failures, ms / 1000.0);
    }
  }
  /* Stopping: one last resync, so that the store holds what the cluster holds now: the
   * changes seen but not yet exported, and those the watches have not delivered yet (an
   * upgrade just before the stop: helm's last writes may still be on their way, and a
   * blue/green switch imports what this stop leaves).  It lists metadata only and reads
   * only the records that changed.  Not after a failed cycle with nothing pending: the
   * cluster or the store was unreachable a moment ago. */
  pthread_mutex_lock (&d->mu);
  bool pending = d->dirty;
  struct timespec ev = d->first_event_real;
  d->dirty = false;
  struct export_change *changes = d->changes;
  size_t nchanges = d->nchanges;
  d->changes = NULL;
  d->nchanges = d->capchanges = 0;
  pthread_mutex_unlock (&d->mu);
  if (atomic_load (&d->leading) && !need_full && (applicable || pending)) {
    log_info ("stopping: a last resync, for the changes not exported yet");
    if (!run_cycle (d, "resync", pending, ev, false, NULL, 0))
      log_warn ("stopping: the last resync failed: the store holds the cluster as of the "
                "last successful cycle");
  }
  changes_free (changes, nchanges);
}

static char *
identity (void)
{
  char host[256] = "";
  if (gethostname (host, sizeof host - 1) != 0 || !host[0])
    snprintf (host, sizeof host, "unknown");
  struct strbuf sb = STRBUF_INIT;
  strbuf_printf (&sb, "%s_%ld", host, (long) getpid ());
  return strbuf_detach (&sb);
}

int
daemon_run (struct backend *b, struct kube_client *kc, const struct daemon_opts *o,
            struct rm_error *err)
{
  struct daemon *d = xcalloc (1, sizeof *d);
  d->b = b;
  d->kc = kc;
  d->o = o;
  d->m = rmmetrics_new ();
  /* Every API and backend request, the engine's included, counted where it is made. */
  kube_client_set_observer (kc, rmmetrics_observe_kube, d->m);
  backend_set_observer (b, rmmetrics_observe_backend, d->m);
  pthread_mutex_init (&d->mu, NULL);
  srand ((unsigned) (getpid () ^ time (NULL)));
  int rc = RM_OK;
  char *id = identity ();

  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sigemptyset (&sa.sa_mask);
  sa.sa_handler = on_stop_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  sa.sa_handler = on_hup_signal;
  sigaction (SIGHUP, &sa, NULL);

  bool elect = o->leader_elect;
  if (elect && !o->leader_elect_given) {
    /* On by default: a service account without access to Leases (the original tool's
     * chart grants none) runs alone, as the original did, rather than standing by
     * forever. */
    char *lp = kube_path ("coordination.k8s.io/v1", o->lease_namespace, "leases", o->lease_name);
    struct rm_error kerr;
    int krc = kube_get (kc, lp, NULL, &kerr);
    free (lp);
    if (krc == KUBE_E_FORBIDDEN) {
      log_warn ("leader election off: %s; this replica writes alone (grant get, create and "
                "update on leases in namespace %s, or pass --leader-elect=false to silence "
                "this)", kerr.message, o->lease_namespace);
      metrics_add (d->m, RMM_ERRORS, (const char *[]) { "lease", NULL }, 1);
      elect = false;
    }
  }
  if (elect) {
    struct kube_lease_opts lo = {
      .namespace = o->lease_namespace, .name = o->lease_name, .identity = id,
      .lease_duration_ms = o->lease_duration_ms, .renew_deadline_ms = o->renew_deadline_ms,
      .retry_period_ms = o->retry_period_ms,
    };
    if ((rc = kube_lease_new (kc, &lo, &d->lease, err)) != KUBE_OK) {
      rc = rm_error_set (err, RM_E_INVALID, "leader election: %s", err->message);
      goto out;
    }
  }
  else
    atomic_store (&d->leading, true);
  metrics_set (d->m, RMM_LEADER, NULL, atomic_load (&d->leading) ? 1 : 0);

  struct http_handlers h = { healthz, readyz, releases, d->m, d };
  struct http_server *srv = http_start (o->listen, HTTP_MODE_INTERNAL_THREAD, &h, err);
  if (!srv) {
    rc = err->code ? err->code : RM_E_INVALID;
    goto out;
  }
  log_info ("daemon: serving /healthz /readyz /releases /metrics /debug/vars on port %u; "
            "resync every %g s%s", http_port (srv), o->polling_interval_ms / 1000.0,
            elect ? "; leader election on" : "");

  /* The watches: the collections the engine lists. */
  const struct strlist *only = o->export.only_ns;
  for (int drv = 0; drv < 2; drv++) {
    const char *res = drv == 0 ? "secrets" : "configmaps";
    if (drv == 0 ? !o->export.secrets : !o->export.configmaps)
      continue;
    if (only && only->n)
      for (size_t i = 0; i < only->n; i++)
        add_watcher (d, only->items[i], res);
    else
      add_watcher (d, NULL, res);
  }
  for (size_t i = 0; i < d->nw; i++) {
    d->w[i].started = pthread_create (&d->w[i].thread, NULL, watch_main, &d->w[i]) == 0;
    if (!d->w[i].started) {
      log_warn ("cannot start the watch of %s: changes wait for the resync", d->w[i].what);
      pthread_mutex_lock (&d->mu);
      d->first_lists++;       /* the first full sync waits for none */
      pthread_mutex_unlock (&d->mu);
    }
  }
  if (d->lease)
    d->lease_started = pthread_create (&d->lease_thread, NULL, lease_main, d) == 0;

  main_loop (d);

  log_info ("daemon: stopping");
  atomic_store (&d->stopping, true);
  for (size_t i = 0; i < d->nw; i++)
    if (d->w[i].started)
      pthread_join (d->w[i].thread, NULL);
  if (d->lease_started)
    pthread_join (d->lease_thread, NULL);   /* releases the Lease */
  struct rm_error lerr;
  if (d->lock && store_lock_release (d->lock, &lerr) != RM_OK)
    log_warn ("releasing the store lock: %s", lerr.message);
  d->lock = NULL;
  http_stop (srv);
  log_info ("daemon: stopped");

out:
  for (size_t i = 0; i < d->nw; i++)
    free (d->w[i].path);
  free (d->w);
  export_engine_free (d->engine);
  kube_lease_free (d->lease);
  kube_client_set_observer (kc, NULL, NULL);
  backend_set_observer (b, NULL, NULL);
  metrics_free (d->m);
  free (d->releases_json);
  changes_free (d->changes, d->nchanges);
  pthread_mutex_destroy (&d->mu);
  free (id);
  free (d);
  return rc;
}
