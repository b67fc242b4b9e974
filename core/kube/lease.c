/* Leader election with a coordination.k8s.io/v1 Lease, the way client-go's leaderelection
 * package does it: a contender writes its identity into spec.holderIdentity and renews
 * spec.renewTime every retry period; another takes the Lease over only when it has seen
 * the record unchanged for leaseDurationSeconds by its own monotonic clock (remote
 * timestamps are never trusted), and every write carries the resourceVersion read, so of
 * two contenders writing at once one gets 409 Conflict and reads again.  The leader that
 * cannot renew for the renew deadline, or sees another holder, stops leading; one that
 * stops releases the Lease (holder "", leaseDurationSeconds 1: ReleaseOnCancel) so the
 * next one takes over within a second. */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "base/log.h"
#include "kube/internal.h"

#define LEASE_GV "coordination.k8s.io/v1"

/* What client-go calls a LeaderElectionRecord. */
struct record {
  char *holder;            /* "" = nobody */
  long duration_s;
  char *acquire_time, *renew_time;
  long transitions;
};

struct kube_lease {
  struct kube_client *c;
  struct kube_lease_opts o;
  char *ns, *name, *identity;
  char *path, *collection;
  cJSON *obj;                  /* the Lease as last read or written (its resourceVersion) */
  struct record observed;      /* its spec */
  char *observed_raw;          /* the spec as JSON, to notice any change */
  long long observed_ms;       /* our clock when observed last changed */
  atomic_bool leading;
  pthread_mutex_t lock;        /* observed.holder for kube_lease_holder */
};

static long long
mono_ms (void *ud)
{
  (void) ud;
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
now_ms (const struct kube_lease *l)
{
  return l->o.clock (l->o.clock_ud);
}

/* metav1.MicroTime: RFC 3339 with exactly six fraction digits, UTC. */
static char *
micro_time (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r (&ts.tv_sec, &tm);
  char buf[64];
  size_t n = strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf + n, sizeof buf - n, ".%06ldZ", ts.tv_nsec / 1000);
  return xstrdup (buf);
}

static void
record_free (struct record *r)
{
  free (r->holder);
  free (r->acquire_time);
  free (r->renew_time);
  memset (r, 0, sizeof *r);
}

static const char *
str_field (const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, key);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

static long
num_field (const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, key);
  return cJSON_IsNumber (v) ? double_to_long_or (v->valuedouble, 0, 1L << 30, 0) : 0;
}

static void
record_from_spec (const cJSON *spec, struct record *r)
{
  const char *s;
  r->holder = xstrdup ((s = str_field (spec, "holderIdentity")) ? s : "");
  r->duration_s = num_field (spec, "leaseDurationSeconds");
  r->acquire_time = (s = str_field (spec, "acquireTime")) ? xstrdup (s) : NULL;
  r->renew_time = (s = str_field (spec, "renewTime")) ? xstrdup (s) : NULL;
  r->transitions = num_field (spec, "leaseTransitions");
}

static cJSON *
record_to_spec (const struct record *r)
{
  cJSON *spec = cJSON_CreateObject ();
  if (*r->holder)
    cJSON_AddStringToObject (spec, "holderIdentity", r->holder);
  cJSON_AddNumberToObject (spec, "leaseDurationSeconds", (double) r->duration_s);
  if (r->acquire_time)
    cJSON_AddStringToObject (spec, "acquireTime", r->acquire_time);
  if (r->renew_time)
    cJSON_AddStringToObject (spec, "renewTime", r->renew_time);
  cJSON_AddNumberToObject (spec, "leaseTransitions", (double) r->transitions);
  return spec;
}

/* The Lease obj as read or written by us: remember it; when its spec differs from what
 * we saw last, that is a change seen now (client-go's setObservedRecord). */
static void
observe (struct kube_lease *l, cJSON *obj)
{
  cJSON_Delete (l->obj);
  l->obj = obj;
  const cJSON *spec = cJSON_GetObjectItemCaseSensitive (obj, "spec");
  char *raw = spec ? cJSON_PrintUnformatted (spec) : xstrdup ("");
  if (l->observed_raw && strcmp (raw, l->observed_raw) == 0) {
    free (raw);
    return;
  }
  free (l->observed_raw);
  l->observed_raw = raw;
  pthread_mutex_lock (&l->lock);
  record_free (&l->observed);
  record_from_spec (spec, &l->observed);
  pthread_mutex_unlock (&l->lock);
  l->observed_ms = now_ms (l);
}

static bool
is_leader (const struct kube_lease *l)
{
  return l->observed.holder && strcmp (l->observed.holder, l->identity) == 0;
}

/* The record we last saw has not changed for its own lease duration (by our clock). */
static bool
lease_valid (const struct kube_lease *l, long long now)
{
  return l->observed_raw && now < l->observed_ms + (long long) l->observed.duration_s * 1000;
}

static long
duration_s (const struct kube_lease *l)
{
  long s = (l->o.lease_duration_ms + 999) / 1000;
  return s > 0 ? s : 1;
}

/* PUT spec onto the Lease last seen (its resourceVersion: 409 when it changed since). */
static int
update (struct kube_lease *l, cJSON *spec, struct rm_error *err)
{
  if (!l->obj) {
    cJSON_Delete (spec);
    return err_set (err, KUBE_E_CONFLICT, "Lease %s/%s: not read yet", l->ns, l->name);
  }
  cJSON *body = cJSON_Duplicate (l->obj, true);
  cJSON_DeleteItemFromObjectCaseSensitive (body, "spec");
  cJSON_AddItemToObject (body, "spec", spec);
  cJSON *out = NULL;
  int rc = kube_replace (l->c, l->path, body, &out, err);
  cJSON_Delete (body);
  if (rc == KUBE_OK)
    observe (l, out);
  else
    cJSON_Delete (out);
  return rc;
}

static void
set_leading (struct kube_lease *l, bool on)
{
  atomic_store (&l->leading, on);
}

int
kube_lease_try (struct kube_lease *l, bool *leading, struct rm_error *err)
{
  err_clear (err);
  long long now = now_ms (l);
  struct record want = { .holder = l->identity, .duration_s = duration_s (l) };
  char *stamp = micro_time ();
  want.acquire_time = want.renew_time = stamp;
  int rc = KUBE_OK;
  struct rm_error fast_err;

  /* 1. The leader renews what it wrote last without reading first. */
  if (is_leader (l) && lease_valid (l, now)) {
    want.acquire_time = l->observed.acquire_time;
    want.transitions = l->observed.transitions;
    if (update (l, record_to_spec (&want), &fast_err) == KUBE_OK)
      goto done;
    log_debug ("Lease %s/%s: renewing failed (%s); reading it again", l->ns, l->name,
               fast_err.message);
    want.acquire_time = stamp;
  }

  /* 2. Read it, or create it when there is none. */
  cJSON *obj = NULL;
  rc = kube_get (l->c, l->path, &obj, err);
  if (rc == KUBE_E_NOT_FOUND) {
    cJSON_Delete (obj);
    obj = cJSON_CreateObject ();
    cJSON_AddStringToObject (obj, "apiVersion", LEASE_GV);
    cJSON_AddStringToObject (obj, "kind", "Lease");
    cJSON *md = cJSON_AddObjectToObject (obj, "metadata");
    cJSON_AddStringToObject (md, "name", l->name);
    cJSON_AddStringToObject (md, "namespace", l->ns);
    cJSON_AddItemToObject (obj, "spec", record_to_spec (&want));
    cJSON *out = NULL;
    rc = kube_create (l->c, l->collection, obj, &out, err);
    cJSON_Delete (obj);
    if (rc == KUBE_OK)
      observe (l, out);
    else
      cJSON_Delete (out);
    goto done;
  }
  if (rc != KUBE_OK) {
    cJSON_Delete (obj);
    goto done;
  }
  observe (l, obj);

  /* 3. Someone else holds it and we saw it change less than a lease duration ago. */
  if (*l->observed.holder && lease_valid (l, now_ms (l)) && !is_leader (l))
    goto done;

  /* 4. Take it (a new holder counts a transition) or renew it. */
  if (is_leader (l)) {
    want.acquire_time = l->observed.acquire_time;
    want.transitions = l->observed.transitions;
  }
  else
    want.transitions = l->observed.transitions + 1;
  if (l->o.before_update)
    l->o.before_update (l->o.clock_ud);
  rc = update (l, record_to_spec (&want), err);

done:
  free (stamp);
  set_leading (l, rc == KUBE_OK && is_leader (l));
  if (leading)
    *leading = atomic_load (&l->leading);
  return rc;
}

int
kube_lease_release (struct kube_lease *l, struct rm_error *err)
{
  err_clear (err);
  if (!is_leader (l))
    return KUBE_OK;
  char *stamp = micro_time ();
  struct record r = { .holder = "", .duration_s = 1, .acquire_time = stamp, .renew_time = stamp,
                      .transitions = l->observed.transitions };
  set_leading (l, false);
  int rc = update (l, record_to_spec (&r), err);
  free (stamp);
  return rc;
}

bool
kube_lease_leading (const struct kube_lease *l)
{
  return atomic_load (&l->leading);
}

char *
kube_lease_holder (struct kube_lease *l)
{
  pthread_mutex_lock (&l->lock);
  char *h = xstrdup (l->observed.holder ? l->observed.holder : "");
  pthread_mutex_unlock (&l->lock);
  return h;
}

long
kube_lease_transitions (const struct kube_lease *l)
{
  return l->observed.transitions;
}

int
kube_lease_new (struct kube_client *c, const struct kube_lease_opts *opts,
                struct kube_lease **out, struct rm_error *err)
{
  *out = NULL;
  err_clear (err);
  if (!opts || !opts->namespace || !*opts->namespace || !opts->name || !*opts->name)
    return err_set (err, KUBE_E_INVALID, "leader election: the Lease needs a namespace and a name");
  if (!opts->identity || !*opts->identity)
    return err_set (err, KUBE_E_INVALID, "leader election: Lease %s/%s: the identity is empty",
                    opts->namespace, opts->name);
  struct kube_lease *l = xcalloc (1, sizeof *l);
  l->c = c;
  l->o = *opts;
  if (!l->o.lease_duration_ms) l->o.lease_duration_ms = 15000;
  if (!l->o.renew_deadline_ms) l->o.renew_deadline_ms = 10000;
  if (!l->o.retry_period_ms) l->o.retry_period_ms = 2000;
  if (!l->o.clock) l->o.clock = mono_ms;
  /* client-go's NewLeaderElector checks. */
  if (l->o.lease_duration_ms <= l->o.renew_deadline_ms
      || l->o.renew_deadline_ms <= l->o.retry_period_ms * 6 / 5) {
    int rc = err_set (err, KUBE_E_INVALID,
                      "leader election: Lease %s/%s: the lease duration (%ld ms) must exceed the renew "
                      "deadline (%ld ms), which must exceed 1.2 x the retry period (%ld ms)",
                      opts->namespace, opts->name, l->o.lease_duration_ms,
                      l->o.renew_deadline_ms, l->o.retry_period_ms);
    free (l);
    return rc;
  }
  l->ns = xstrdup (opts->namespace);
  l->name = xstrdup (opts->name);
  l->identity = xstrdup (opts->identity);
  l->o.namespace = l->ns;
  l->o.name = l->name;
  l->o.identity = l->identity;
  l->path = kube_path (LEASE_GV, l->ns, "leases", l->name);
  l->collection = kube_path (LEASE_GV, l->ns, "leases", NULL);
  pthread_mutex_init (&l->lock, NULL);
  atomic_init (&l->leading, false);
  *out = l;
  return KUBE_OK;
}

void
kube_lease_free (struct kube_lease *l)
{
  if (!l)
    return;
  cJSON_Delete (l->obj);
  record_free (&l->observed);
  free (l->observed_raw);
  free (l->ns);
  free (l->name);
  free (l->identity);
  free (l->path);
  free (l->collection);
  pthread_mutex_destroy (&l->lock);
  free (l);
}

/* ---- the loop ---- */

static bool
stopping (const struct kube_lease_callbacks *cb)
{
  return cb->stop && cb->stop (cb->ud);
}

/* Sleep ms of the real clock in slices, ending early when asked to stop. */
static void
nap (const struct kube_lease_callbacks *cb, long ms)
{
  while (ms > 0 && !stopping (cb)) {
    long d = ms < 50 ? ms : 50;
    struct timespec ts = { 0, d * 1000000L };
    nanosleep (&ts, NULL);
    ms -= d;
  }
}

/* The retry period with client-go's jitter (JitterFactor 1.2: up to +120%) while waiting. */
static long
jittered (const struct kube_lease *l, unsigned *seed)
{
  return l->o.retry_period_ms + (long) (rand_r (seed) % (unsigned) (l->o.retry_period_ms * 6 / 5 + 1));
}

int
kube_lease_run (struct kube_lease *l, const struct kube_lease_callbacks *cb, struct rm_error *err)
{
  static const struct kube_lease_callbacks none;
  if (!cb)
    cb = &none;
  err_clear (err);
  unsigned seed = (unsigned) time (NULL) ^ (unsigned) (uintptr_t) l;
  char *last_holder = NULL;
  bool was_leading = false;
  long long last_renew = 0;
  while (!stopping (cb)) {
    if (was_leading && now_ms (l) - last_renew >= l->o.renew_deadline_ms) {
      /* Not renewed for the renew deadline (the process was stopped or starved?): others
       * may take the Lease from now on, so stop leading before anything else. */
      log_warn ("leader election: Lease %s/%s: %s could not renew for %ld ms: it stops leading",
                l->ns, l->name, l->identity, l->o.renew_deadline_ms);
      set_leading (l, false);
      was_leading = false;
      if (cb->stopped_leading)
        cb->stopped_leading (cb->ud);
    }
    bool leading = false;
    struct rm_error e;
    int rc = kube_lease_try (l, &leading, &e);
    long long now = now_ms (l);
    if (rc != KUBE_OK && rc != KUBE_E_CONFLICT)
      log_warn ("leader election: Lease %s/%s: %s", l->ns, l->name, e.message);
    else if (rc == KUBE_E_CONFLICT)
      log_debug ("leader election: Lease %s/%s: %s", l->ns, l->name, e.message);
    if (leading)
      last_renew = now;
    else if (was_leading && rc != KUBE_OK && now - last_renew < l->o.renew_deadline_ms) {
      /* Renewing failed: keep leading and try again until the renew deadline. */
      set_leading (l, true);
      leading = true;
    }
    char *holder = kube_lease_holder (l);
    if (cb->new_leader && *holder && (!last_holder || strcmp (holder, last_holder) != 0))
      cb->new_leader (cb->ud, holder);
    free (last_holder);
    last_holder = holder;
    if (leading && !was_leading) {
      log_info ("leader election: Lease %s/%s: %s is the leader now", l->ns, l->name, l->identity);
      if (cb->started_leading)
        cb->started_leading (cb->ud);
    }
    else if (!leading && was_leading) {
      log_warn ("leader election: Lease %s/%s: %s lost the lease", l->ns, l->name, l->identity);
      if (cb->stopped_leading)
        cb->stopped_leading (cb->ud);
    }
    was_leading = leading;
    nap (cb, leading ? l->o.retry_period_ms : jittered (l, &seed));
  }
  free (last_holder);
  int rc = KUBE_OK;
  if (was_leading) {
    rc = kube_lease_release (l, err);
    if (cb->stopped_leading)
      cb->stopped_leading (cb->ud);
  }
  return rc;
}
