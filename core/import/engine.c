/* A whole import run: read the store (index.json or, without one, the original tool's
 * files), group the records into releases, apply the filters and the self-metadata rule
 * (the manager's own release is skipped unless --force or --new-path), then restore the
 * releases in parallel, each with imp_restore_release, holding the import lock
 * (lock.c), and count the outcomes.  It prints nothing but the dry-run plans and never
 * picks an exit status. */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "import/import.h"
#include "store/history.h"
#include "store/legacy.h"
#include "store/store.h"

/* The records of one release, a run of the sorted index. */
struct rel {
  size_t first, count;
  bool self;                        /* the manager's own release */
};

struct run {
  struct backend *b;
  struct store_index *ix;
  bool legacy;
  struct imp_settings s;
  struct rel *rels;                 /* parallel to res->releases */
  struct imp_outcome *out;
  size_t n;
  atomic_size_t next;
  pthread_mutex_t store_lock;
  bool serial_store;                /* the backend wants one call at a time */
  const struct strlist *updates;
  const char *new_path;             /* --new-path, for the manager's own release */
  const char *lock_ns;              /* --lock-namespace */
};

static void
restore (struct run *run, struct rel *rl, struct imp_outcome *o)
{
  struct imp_revision *revs = xcalloc (rl->count, sizeof *revs);
  for (size_t i = 0; i < rl->count; i++) {
    const struct store_record *rec = &run->ix->records[rl->first + i];
    struct strbuf sb = STRBUF_INIT;
    struct rm_error err;
    if (run->serial_store)
      pthread_mutex_lock (&run->store_lock);
    int rc = run->legacy ? store_legacy_get (run->b, rec, &sb, &err)
                         : store_get_record (run->b, rec, &sb, &err);
    if (run->serial_store)
      pthread_mutex_unlock (&run->store_lock);
    revs[i].revision = rec->revision;
    revs[i].key = rec->key;
    revs[i].len = sb.len;
    revs[i].json = strbuf_detach (&sb);
    /* The original tool's files and older indexes say nothing: Secret, Helm's default
     * and the original's (its constants.HelmDriver). */
    revs[i].driver = rec->driver && strcmp (rec->driver, "configmap") == 0
                     ? HELM_DRIVER_CONFIGMAP : HELM_DRIVER_SECRET;
    if (rc != RM_OK) {
      o->state = IMP_FAILED;
      o->why = xasprintf ("stored record unusable: %s", err.message);
      break;
    }
  }
  if (o->state == IMP_PENDING) {
    int rc = imp_restore_release (&run->s, o->ns, o->name, revs, rl->count, run->updates,
                                  rl->self ? run->new_path : NULL, &o->why);
    o->state = rc == 0 ? IMP_RESTORED : rc > 0 ? IMP_SKIPPED : IMP_FAILED;
  }
  for (size_t i = 0; i < rl->count; i++)
    free (revs[i].json);
  free (revs);
}

static void *
worker (void *arg)
{
  struct run *run = arg;
  for (;;) {
    size_t i = atomic_fetch_add (&run->next, 1);
    if (i >= run->n)
      break;
    if (run->out[i].state == IMP_PENDING)
      restore (run, &run->rels[i], &run->out[i]);
  }
  return NULL;
}

/* Run the workers on nt threads.  A thread that cannot be created leaves its share to
 * the others (they take releases from one queue); with none, this thread does it all. */
static void
run_workers (struct run *run, unsigned nt)
{
  pthread_t *tids = xcalloc (nt, sizeof *tids);
  unsigned started = 0;
  for (unsigned t = 0; t < nt; t++) {
    int e = pthread_create (&tids[started], NULL, worker, run);
    if (e) {
      log_warn ("cannot start import thread %u of %u: %s: continuing with %u", t + 1, nt,
                strerror (e), started);
      break;
    }
    started++;
  }
  if (!started)
    worker (run);
  for (unsigned t = 0; t < started; t++)
    pthread_join (tids[t], NULL);
  free (tids);
}

static bool
wanted (const struct imp_request *rq, const struct store_record *r)
{
  if (rq->only_ns->n && !strlist_contains (rq->only_ns, r->namespace))
    return false;
  if (strlist_contains (rq->skip_ns, r->namespace))
    return false;
  return !rq->only_releases || !rq->only_releases->n
         || strlist_contains (rq->only_releases, r->release);
}

/* Releases: runs of records with the same namespace and name, those wanted. */
static void
group (struct run *run, const struct imp_request *rq, const struct store_state *st)
{
  size_t cap = run->ix->n ? run->ix->n : 1;
  run->rels = xcalloc (cap, sizeof *run->rels);
  run->out = xcalloc (cap, sizeof *run->out);
  for (size_t i = 0; i < run->ix->n; i++) {
    const struct store_record *r = &run->ix->records[i];
    struct imp_outcome *last = run->n ? &run->out[run->n - 1] : NULL;
    if (last && strcmp (last->ns, r->namespace) == 0 && strcmp (last->name, r->release) == 0) {
      run->rels[run->n - 1].count++;
      continue;
    }
    if (!wanted (rq, r))
      continue;
    struct rel *rl = &run->rels[run->n];
    struct imp_outcome *o = &run->out[run->n++];
    o->ns = xstrdup (r->namespace);
    o->name = xstrdup (r->release);
    rl->first = i;
    rl->count = 1;
    rl->self = st->release && strcmp (st->release, r->release) == 0
               && (!st->namespace || strcmp (st->namespace, r->namespace) == 0);
    if (rl->self && !rq->force && !rq->new_path) {
      o->state = IMP_SKIPPED;
      o->why = xstrdup ("the manager's own release (named in " STORE_STATE_KEY "): a second "
                        "manager would write to the same path; --force imports it, "
                        "--new-path PATH imports it writing to PATH");
    }
  }
}

/* The cluster, checked once: fail fast when it is unreachable.  What it read is the
 * discovery of the core group version. */
static int
check_cluster (struct kube_client *kc, struct imp_discovery *disc, struct rm_error *err)
{
  struct rm_error kerr;
  cJSON *list = NULL;
  if (kube_get (kc, "/api/v1", &list, &kerr) != KUBE_OK)
    return rm_error_set (err, RM_E_IO, "%s", kerr.message);
  imp_discovery_prime (disc, "v1", list);
  return RM_OK;
}

/* A run between imp_engine_load and imp_engine_free. */
struct imp_engine {
  struct run run;
  unsigned threads;
  pthread_mutex_t out_lock;
};

int
imp_engine_load (const struct imp_request *rq, struct imp_result *res, struct imp_engine **out,
                 struct rm_error *err)
{
  struct imp_engine *e = xcalloc (1, sizeof *e);
  struct run *run = &e->run;
  memset (res, 0, sizeof *res);
  *out = e;
  e->threads = rq->threads;
  run->b = rq->b;
  run->s = rq->s;
  run->updates = rq->updates;
  run->serial_store = backend_max_parallel (run->b, 2) < 2;
  pthread_mutex_init (&e->out_lock, NULL);
  run->s.out_lock = &e->out_lock;
  pthread_mutex_init (&run->store_lock, NULL);
  struct store_state st = { 0 };
  res->where = backend_describe (run->b);

  int rc = store_snapshot_load_any (run->b, rq->snapshot, imp_describe_record, &run->ix,
                                    &run->legacy, &res->bad, err);
  res->legacy = run->legacy;
  if (rc == RM_OK && run->legacy)
    log_info ("%s has no %s but the original tool's files: %zu release revisions, %zu "
              "unreadable", res->where, STORE_INDEX_KEY, run->ix->n, res->bad.n);
  if (rc == RM_E_NOT_FOUND)
    rm_error_set (err, rc, "no snapshot in %s (no %s, no NAME-VERSION-N%s files): run export "
                  "first", res->where, STORE_INDEX_KEY, STORE_LEGACY_EXT);
  if (rc != RM_OK)
    return rc;
  struct rm_error serr;
  int src = store_state_load (run->b, &st, &serr);
  if (src != RM_OK && src != RM_E_NOT_FOUND)
    log_warn ("%s (the manager's own release cannot be recognised)", serr.message);
  run->new_path = rq->new_path;
  run->lock_ns = rq->lock_ns ? rq->lock_ns : "default";
  if (rq->new_path && !st.release)
    log_warn ("--new-path: %s names no manager's release (no %s, or none in it): --new-path "
              "changes nothing", res->where, STORE_STATE_KEY);
  store_index_sort (run->ix);
  group (run, rq, &st);
  store_state_free (&st);
  return RM_OK;
}

int
imp_engine_run (struct imp_engine *e, struct kube_client *kc, struct imp_result *res,
                struct rm_error *err)
{
  struct run *run = &e->run;
  run->s.kc = kc;
  run->s.disc = imp_discovery_new (kc);
  int rc = check_cluster (kc, run->s.disc, err);
  if (rc != RM_OK)
    goto out;
  /* One import of this store into this cluster at a time; a dry run writes nothing. */
  struct imp_lock *lock = NULL;
  if (!run->s.dry
      && (rc = imp_lock_take (kc, run->lock_ns, res->where, &lock, err)) != RM_OK)
    goto out;
  log_info ("importing %zu releases from %s into %s", run->n, res->where,
            kube_client_config (kc)->source);
  unsigned nt = e->threads;
  if (nt > run->n)
    nt = run->n ? (unsigned) run->n : 1;
  run_workers (run, nt);
  imp_lock_release (lock);

  for (size_t i = 0; i < run->n; i++) {
    res->restored += run->out[i].state == IMP_RESTORED;
    res->skipped += run->out[i].state == IMP_SKIPPED;
    res->failed += run->out[i].state == IMP_FAILED;
  }
  res->failed += res->bad.n;
out:
  /* The outcomes are the result's now. */
  res->releases = run->out;
  res->n = run->n;
  run->out = NULL;
  run->n = 0;
  return rc;
}

void
imp_engine_free (struct imp_engine *e)
{
  if (!e)
    return;
  struct run *run = &e->run;
  for (size_t i = 0; i < run->n; i++) {
    free (run->out[i].ns);
    free (run->out[i].name);
    free (run->out[i].why);
  }
  free (run->out);
  free (run->rels);
  imp_discovery_free (run->s.disc);
  store_index_free (run->ix);
  pthread_mutex_destroy (&run->store_lock);
  pthread_mutex_destroy (&e->out_lock);
  free (e);
}

void
imp_result_free (struct imp_result *res)
{
  for (size_t i = 0; i < res->n; i++) {
    free (res->releases[i].ns);
    free (res->releases[i].name);
    free (res->releases[i].why);
  }
  free (res->releases);
  strlist_free (&res->bad);
  free (res->where);
  memset (res, 0, sizeof *res);
}
