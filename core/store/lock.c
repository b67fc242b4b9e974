/* The store lock (lock.h): lock.json written with a conditional put, renewed by a thread
 * of its own every third of the lease, taken over when its holder is gone, removed at
 * the end.  It costs one put at the start, a read and a remove at the end, and a put
 * per TTL/3 only for runs that last that long. */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "base/duration.h"
#include "base/log.h"
#include "store/lock.h"
#include "store/store.h"

static const struct err_name lock_err_names[] = {
  { STORE_E_LOCKED, "STORE_E_LOCKED", "the store is locked by another writer" },
  { STORE_E_LOCK_LOST, "STORE_E_LOCK_LOST", "the store lock was lost" },
  { 0, NULL, NULL },
};
ERR_TABLE (lock_err_table, lock_err_names)

/* At most this long between two polls of a held lock. */
#define LOCK_POLL_MAX 5.0
/* After a failed renewal, the next attempt comes this soon (seconds). */
#define LOCK_RETRY 2.0
/* Takeovers lost to another process in a row before we call the lock held. */
#define LOCK_RACES 8

struct store_lock {
  struct backend *b;
  int ttl;
  bool conditional;          /* the backend honours if-none-match / if_match */
  char id[33];
  char host[256];
  char *user, *command, *cluster;
  time_t acquired;           /* wall clock, for the stored text */
  char etag[RM_ETAG_MAX];    /* of our last write */

  pthread_mutex_t io;        /* one renewal at a time: each needs the etag of the last */
  pthread_mutex_t mu;        /* what follows */
  pthread_cond_t cv;
  pthread_t tid;
  bool started, stopping;
  bool lost;
  double until;              /* monotonic end of the lease we last wrote */
  double last_try;           /* monotonic start of the last renewal */
  bool last_failed;
  struct rm_error why;       /* why lost, or the last renewal's error */
};

/* What a stored lock.json says. */
struct holder {
  char *id, *host, *user, *command, *cluster, *acquired, *expires;
  long pid;
  time_t expires_at;         /* -1 when missing or unreadable */
  bool parsed;
};

static double
mono_now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
rfc3339 (time_t t, char buf[32])
{
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "2026-12-01T23:48:26Z" (fractions and offsets are not ours: -1). */
static time_t
parse_rfc3339 (const char *s)
{
  struct tm tm;
  memset (&tm, 0, sizeof tm);
  const char *end = s ? strptime (s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
  if (!end || *end)
    return -1;
  return timegm (&tm);
}

static char *
str_of (const cJSON *o, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
  return cJSON_IsString (v) && v->valuestring ? xstrdup (v->valuestring) : NULL;
}

static void
holder_free (struct holder *h)
{
  free (h->id);
  free (h->host);
  free (h->user);
  free (h->command);
  free (h->cluster);
  free (h->acquired);
  free (h->expires);
  memset (h, 0, sizeof *h);
}

static void
holder_parse (const struct strbuf *text, struct holder *h)
{
  memset (h, 0, sizeof *h);
  h->expires_at = -1;
  cJSON *root = cJSON_ParseWithLength (text->data ? text->data : "", text->len);
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive (root, "kind");
  if (cJSON_IsObject (root) && cJSON_IsString (kind)
      && strcmp (kind->valuestring, STORE_LOCK_KIND) == 0) {
    const cJSON *ho = cJSON_GetObjectItemCaseSensitive (root, "holder");
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive (ho, "pid");
    h->id = str_of (root, "id");
    h->host = str_of (ho, "host");
    h->user = str_of (ho, "user");
    /* A pid is a positive int; anything else never counts as a dead process. */
    if (cJSON_IsNumber (pid) && pid->valuedouble >= 1 && pid->valuedouble <= 0x7fffffff)
      h->pid = (long) pid->valuedouble;
    h->command = str_of (root, "command");
    h->cluster = str_of (root, "cluster");
    h->acquired = str_of (root, "acquired");
    h->expires = str_of (root, "expires");
    h->expires_at = parse_rfc3339 (h->expires);
    h->parsed = h->id != NULL;
  }
  cJSON_Delete (root);
}

static const char *
or_q (const char *s)
{
  return s ? s : "?";
}

/* err = "lock.json: held by ..." and what to do; returns STORE_E_LOCKED. */
static int
held_error (const struct holder *h, double waited, struct rm_error *err)
{
  char w[64] = "";
  if (waited > 0)
    snprintf (w, sizeof w, " (waited %.0fs)", waited);
  if (!h->parsed)
    return err_set (err, STORE_E_LOCKED, "%s: held by a writer whose lock is unreadable%s: "
                    "another writer may be using this store; if none is, delete %s",
                    STORE_LOCK_KEY, w, STORE_LOCK_KEY);
  return err_set (err, STORE_E_LOCKED,
                  "%s: held by %s on host %s (pid %ld, user %s) since %s, lease until %s%s: "
                  "another writer is using this store; wait for it with --lock-timeout "
                  "DURATION, or, if that run is gone, run again: the lock is taken over "
                  "once its lease expires (at once by a run on host %s)", STORE_LOCK_KEY, or_q (h->command), or_q (h->host),
                  h->pid, or_q (h->user), or_q (h->acquired), or_q (h->expires), w,
                  or_q (h->host));
}

/* Whether the stored lock may be taken over, and why (for the warning). */
static bool
holder_stale (const struct store_lock *l, const struct holder *h, long long mtime,
              const char **why)
{
  time_t now = time (NULL);
  if (!h->parsed) {
    /* Not a lock we can read: gone once a lease has passed since it was written. */
    *why = "unreadable and older than a lease";
    return mtime < 0 || now - mtime > l->ttl;
  }
  if (h->expires_at >= 0 && now >= h->expires_at) {
    *why = "its lease expired";
    return true;
  }
  if (h->expires_at < 0) {
    *why = "it has no valid expiry";
    return mtime < 0 || now - mtime > l->ttl;
  }
  if (h->host && strcmp (h->host, l->host) == 0 && h->pid > 0
      && kill ((pid_t) h->pid, 0) < 0 && errno == ESRCH) {
    *why = "its process is gone";
    return true;
  }
  return false;
}

static char *
lock_text (struct store_lock *l, time_t now)
{
  char acq[32], ren[32], exp[32];
  rfc3339 (l->acquired, acq);
  rfc3339 (now, ren);
  rfc3339 (now + l->ttl, exp);
  cJSON *root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "apiVersion", STORE_INDEX_API);
  cJSON_AddStringToObject (root, "kind", STORE_LOCK_KIND);
  cJSON_AddStringToObject (root, "id", l->id);
  cJSON *ho = cJSON_AddObjectToObject (root, "holder");
  cJSON_AddStringToObject (ho, "host", l->host);
  cJSON_AddNumberToObject (ho, "pid", (double) getpid ());
  cJSON_AddStringToObject (ho, "user", l->user);
  cJSON_AddStringToObject (root, "command", l->command);
  if (l->cluster)
    cJSON_AddStringToObject (root, "cluster", l->cluster);
  cJSON_AddStringToObject (root, "acquired", acq);
  cJSON_AddStringToObject (root, "renewed", ren);
  cJSON_AddStringToObject (root, "expires", exp);
  char *text = cJSON_Print (root);
  cJSON_Delete (root);
  return text;
}

/* Read lock.json: its text parsed into h and its etag and mtime into info. */
static int
read_lock (struct store_lock *l, struct holder *h, struct rm_object_info *info,
           struct rm_error *err)
{
  struct strbuf sb = STRBUF_INIT;
  memset (h, 0, sizeof *h);
  h->expires_at = -1;
  *info = (struct rm_object_info) { sizeof *info, -1, -1, "" };
  int rc = backend_get_mem (l->b, STORE_LOCK_KEY, &sb, info, err);
  if (rc == RM_OK)
    holder_parse (&sb, h);
  strbuf_free (&sb);
  return rc;
}

/* Write our lock.json (flags and if_match as given) and remember its etag.  started is
 * the monotonic time before the write: the lease runs from then. */
static int
write_lock (struct store_lock *l, unsigned flags, const char *if_match, double started,
            struct rm_error *err)
{
  char *text = lock_text (l, time (NULL));
  struct rm_put_options o = { sizeof o, flags, if_match, "application/json" };
  struct rm_object_info info = { sizeof info, -1, -1, "" };
  int rc = backend_put_mem (l->b, STORE_LOCK_KEY, text, strlen (text), &o, &info, err);
  free (text);
  if (rc != RM_OK)
    return rc;
  if (!info.etag[0] || !l->conditional) {
    /* No etag from the put, or no condition to trust: read it back, and it must be
     * ours (on an advisory backend another writer may have put in between). */
    struct holder h;
    rc = read_lock (l, &h, &info, err);
    bool ours = rc == RM_OK && h.id && strcmp (h.id, l->id) == 0;
    if (rc == RM_OK && !ours)
      rc = held_error (&h, 0, err);
    else if (rc == RM_E_NOT_FOUND)
      rc = err_set (err, STORE_E_LOCKED, "%s: removed by another writer right after we "
                    "wrote it", STORE_LOCK_KEY);
    holder_free (&h);
    if (rc != RM_OK)
      return rc;
  }
  pthread_mutex_lock (&l->mu);
  snprintf (l->etag, sizeof l->etag, "%s", info.etag);
  l->until = started + l->ttl;
  pthread_mutex_unlock (&l->mu);
  return RM_OK;
}

/* One attempt: RM_OK (ours), STORE_E_LOCKED (err names the holder) or the backend's
 * error. */
static int
try_acquire (struct store_lock *l, struct rm_error *err)
{
  for (int race = 0; race < LOCK_RACES; race++) {
    double started = mono_now ();
    int rc;
    if (l->conditional) {
      rc = write_lock (l, RM_PUT_IF_NONE_MATCH, NULL, started, err);
      if (rc != RM_E_EXISTS)
        return rc;
    }
    struct holder h;
    struct rm_object_info info;
    rc = read_lock (l, &h, &info, err);
    if (rc == RM_E_NOT_FOUND && l->conditional)
      continue;                  /* released in between: create it again */
    if (rc == RM_E_NOT_FOUND)
      return write_lock (l, 0, NULL, started, err);
    if (rc != RM_OK)
      return rc;
    const char *why = NULL;
    if (!holder_stale (l, &h, info.mtime, &why)) {
      rc = held_error (&h, 0, err);
      holder_free (&h);
      return rc;
    }
    log_warn ("%s: taking over the lock of %s on host %s (pid %ld, since %s): %s",
              STORE_LOCK_KEY, or_q (h.command), or_q (h.host), h.pid, or_q (h.acquired), why);
    holder_free (&h);
    bool cond = l->conditional && info.etag[0];
    rc = write_lock (l, 0, cond ? info.etag : NULL, started, err);
    if (!cond || (rc != RM_E_PRECONDITION && rc != RM_E_NOT_FOUND))
      return rc;
    /* Another writer took it over (or released it) first: look again. */
  }
  return err_set (err, STORE_E_LOCKED, "%s: other writers keep taking the lock over",
                  STORE_LOCK_KEY);
}

int
store_lock_renew (struct store_lock *l, struct rm_error *err)
{
  pthread_mutex_lock (&l->io);
  pthread_mutex_lock (&l->mu);
  bool lost = l->lost;
  char etag[RM_ETAG_MAX];
  snprintf (etag, sizeof etag, "%s", l->etag);
  l->last_try = mono_now ();
  double started = l->last_try;
  pthread_mutex_unlock (&l->mu);
  int rc;
  struct rm_error e;
  if (lost)
    rc = err_set (&e, STORE_E_LOCK_LOST, "%s", l->why.message);
  else if (l->conditional) {
    rc = write_lock (l, 0, etag, started, &e);
    if (rc == RM_E_PRECONDITION || rc == RM_E_NOT_FOUND || rc == STORE_E_LOCKED) {
      struct rm_error why = e;
      if (rc == STORE_E_LOCKED)
        rc = err_set (&e, STORE_E_LOCK_LOST, "taken over: %s", why.message);
      else
        rc = err_set (&e, STORE_E_LOCK_LOST, "%s: %s by another process", STORE_LOCK_KEY,
                      rc == RM_E_NOT_FOUND ? "removed" : "changed");
    }
  }
  else {
    /* Advisory: it must still be ours before we write it again. */
    struct holder h;
    struct rm_object_info info;
    rc = read_lock (l, &h, &info, &e);
    bool ours = rc == RM_OK && h.id && strcmp (h.id, l->id) == 0;
    if (rc == RM_E_NOT_FOUND || (rc == RM_OK && !ours))
      rc = err_set (&e, STORE_E_LOCK_LOST, "%s: %s by another process", STORE_LOCK_KEY,
                    rc == RM_E_NOT_FOUND ? "removed" : "taken over");
    holder_free (&h);
    if (rc == RM_OK)
      rc = write_lock (l, 0, NULL, started, &e);
    if (rc == STORE_E_LOCKED)
      rc = err_set (&e, STORE_E_LOCK_LOST, "%s: taken over by another process", STORE_LOCK_KEY);
  }
  pthread_mutex_lock (&l->mu);
  l->last_failed = rc != RM_OK;
  if (rc != RM_OK)
    l->why = e;
  if (rc == STORE_E_LOCK_LOST)
    l->lost = true;
  pthread_mutex_unlock (&l->mu);
  pthread_mutex_unlock (&l->io);
  if (rc != RM_OK && !lost) {
    if (rc == STORE_E_LOCK_LOST)
      log_error ("lost the store lock: %s", e.message);
    else
      log_warn ("renewing the store lock: %s (retrying)", e.message);
  }
  if (err && rc != RM_OK)
    *err = e;
  return rc;
}

static void *
renew_thread (void *arg)
{
  struct store_lock *l = arg;
  pthread_mutex_lock (&l->mu);
  while (!l->stopping && !l->lost) {
    double next = l->last_try + (l->last_failed ? LOCK_RETRY : l->ttl / 3.0);
    double now = mono_now ();
    if (now < next) {
      struct timespec ts;
      clock_gettime (CLOCK_MONOTONIC, &ts);
      double wait = next - now;
      ts.tv_sec += (time_t) wait;
      ts.tv_nsec += (long) ((wait - (double) (time_t) wait) * 1e9);
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait (&l->cv, &l->mu, &ts);
      continue;
    }
    pthread_mutex_unlock (&l->mu);
    store_lock_renew (l, NULL);
    pthread_mutex_lock (&l->mu);
  }
  pthread_mutex_unlock (&l->mu);
  return NULL;
}

static void
lock_free (struct store_lock *l)
{
  pthread_mutex_destroy (&l->io);
  pthread_mutex_destroy (&l->mu);
  pthread_cond_destroy (&l->cv);
  free (l->user);
  free (l->command);
  free (l->cluster);
  free (l);
}

static struct store_lock *
lock_new (struct backend *b, const struct store_lock_opts *o)
{
  struct store_lock *l = xcalloc (1, sizeof *l);
  l->b = b;
  l->ttl = o->ttl > 0 ? o->ttl : STORE_LOCK_TTL;
  l->conditional = (backend_caps (b) & RM_CAP_CONDITIONAL_PUT) != 0;
  unsigned char rnd[16];
  if (RAND_bytes (rnd, sizeof rnd) != 1) {
    /* Unique enough to tell our own lock from another's. */
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    snprintf (l->id, sizeof l->id, "%08lx%08lx%016llx", (unsigned long) getpid (),
              (unsigned long) ts.tv_nsec, (unsigned long long) ts.tv_sec);
  }
  else
    for (size_t i = 0; i < sizeof rnd; i++)
      snprintf (l->id + 2 * i, 3, "%02x", rnd[i]);
  if (gethostname (l->host, sizeof l->host - 1) != 0 || !l->host[0])
    snprintf (l->host, sizeof l->host, "unknown");
  struct passwd *pw = getpwuid (geteuid ());
  l->user = pw && pw->pw_name ? xstrdup (pw->pw_name)
                              : xasprintf ("uid %lu", (unsigned long) geteuid ());
  l->command = xstrdup (o->command ? o->command : "releasemanager");
  l->cluster = xstrdup_or_null (o->cluster);
  l->acquired = time (NULL);
  pthread_mutex_init (&l->io, NULL);
  pthread_mutex_init (&l->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
  pthread_cond_init (&l->cv, &ca);
  pthread_condattr_destroy (&ca);
  return l;
}

int
store_lock_acquire (struct backend *b, const struct store_lock_opts *o, struct store_lock **out,
                    struct rm_error *err)
{
  static bool warned;
  *out = NULL;
  struct store_lock *l = lock_new (b, o);
  if (!l->conditional && !warned) {
    warned = true;
    log_warn ("%s: this backend has no conditional writes: the store lock is advisory (two "
              "writers starting at the same moment may both get it)", backend_name (b));
  }
  double start = mono_now (), deadline = start + (o->timeout > 0 ? o->timeout : 0);
  double delay = 0.25;
  bool waited = false;
  struct rm_error e;
  int rc;
  for (;;) {
    rc = try_acquire (l, &e);
    double now = mono_now ();
    if (rc != STORE_E_LOCKED || now >= deadline || backend_stop_requested ())
      break;
    if (o->on_wait)
      o->on_wait (o->opaque, &e);
    if (!waited)
      log_info ("waiting up to %.0fs for the store lock: %s", deadline - now, e.message);
    double nap = deadline - now < delay ? deadline - now : delay;
    struct timespec ts = { (time_t) nap, (long) ((nap - (double) (time_t) nap) * 1e9) };
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR && !backend_stop_requested ())
      ;
    waited = true;
    delay = delay * 2 < LOCK_POLL_MAX ? delay * 2 : LOCK_POLL_MAX;
  }
  if (rc == STORE_E_LOCKED && o->timeout > 0)
    err_prefix (&e, "after waiting %.0fs: ", mono_now () - start);
  if (rc != RM_OK) {
    if (err)
      *err = e;
    lock_free (l);
    return rc;
  }
  l->last_try = mono_now ();
  l->started = pthread_create (&l->tid, NULL, renew_thread, l) == 0;
  if (!l->started)
    log_warn ("%s: no thread to renew the store lock: a run longer than %ds will not commit",
              STORE_LOCK_KEY, l->ttl * 2 / 3);
  log_debug ("%s: locked (id %s, lease %ds%s)", STORE_LOCK_KEY, l->id, l->ttl,
             l->conditional ? "" : ", advisory");
  *out = l;
  return RM_OK;
}

int
store_lock_check (struct store_lock *l, struct rm_error *err)
{
  pthread_mutex_lock (&l->mu);
  int rc = RM_OK;
  double left = l->until - mono_now ();
  if (l->lost)
    rc = err_set (err, STORE_E_LOCK_LOST, "the store lock was lost: %s", l->why.message);
  else if (left < l->ttl / 3.0)
    rc = err_set (err, STORE_E_LOCK_LOST, "the store lock's lease ends in %.0fs and could "
                  "not be renewed: %s", left > 0 ? left : 0,
                  l->last_failed ? l->why.message : "no renewal yet");
  pthread_mutex_unlock (&l->mu);
  return rc;
}

int
store_lock_release (struct store_lock *l, struct rm_error *err)
{
  if (!l)
    return RM_OK;
  if (l->started) {
    pthread_mutex_lock (&l->mu);
    l->stopping = true;
    pthread_cond_signal (&l->cv);
    pthread_mutex_unlock (&l->mu);
    pthread_join (l->tid, NULL);
  }
  /* The backend's remove has no condition: read it back and remove it only if it is
   * still ours (a takeover in between these two calls is the one window left). */
  struct holder h;
  struct rm_object_info info;
  int rc = read_lock (l, &h, &info, err);
  if (rc == RM_OK && h.id && strcmp (h.id, l->id) == 0)
    rc = backend_remove (l->b, STORE_LOCK_KEY, err);
  else if (rc == RM_OK)
    rc = err_set (err, STORE_E_LOCK_LOST, "%s: now held by %s on host %s (pid %ld): "
                  "left alone", STORE_LOCK_KEY, or_q (h.command), or_q (h.host), h.pid);
  if (rc == RM_E_NOT_FOUND)
    rc = RM_OK;
  holder_free (&h);
  lock_free (l);
  return rc;
}

int
store_lock_parse_timeout (const char *text, double *seconds, struct rm_error *err)
{
  return duration_parse (text, true, 7 * 24 * 3600.0, seconds, err);
}
