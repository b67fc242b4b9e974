/* One writer per store (core/store/lock.c), through the real local plugin: acquire and
 * release, a second writer refused with the holder's name, --lock-timeout waiting for
 * the holder to finish, stale locks (a dead pid on this host, an expired lease) taken
 * over, a lost lease noticed before the commit, and the --lock-timeout syntax. */
#include <config.h>

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "backend_wrap.h"
#include "plugin.h"
#include "store/lock.h"

#define STORE_FIXTURE_TEMPLATE "/tmp/rm-lock-XXXXXX"
#include "store_fixture.h"

TestSuite (lock, .init = store_fixture_setup, .fini = store_fixture_teardown);

/* lock.json as stored, parsed; NULL when there is none. */
static cJSON *
stored_lock (struct backend *b)
{
  struct strbuf sb = STRBUF_INIT;
  struct rm_error err;
  int rc = backend_get_mem (b, STORE_LOCK_KEY, &sb, NULL, &err);
  if (rc == RM_E_NOT_FOUND) {
    strbuf_free (&sb);
    return NULL;
  }
  cr_assert_eq (rc, RM_OK, "%s", err.message);
  cJSON *j = cJSON_ParseWithLength (sb.data, sb.len);
  strbuf_free (&sb);
  cr_assert_not_null (j, "lock.json is JSON");
  return j;
}

static const char *
jstr (const cJSON *o, const char *a, const char *b)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, a);
  if (b)
    v = cJSON_GetObjectItemCaseSensitive (v, b);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

/* Put a lock.json of another holder. */
static void
plant_lock (struct backend *b, const char *id, const char *host, long pid, const char *expires)
{
  char *text = xasprintf ("{\"apiVersion\":\"releasemanager.io/v1\",\"kind\":\"Lock\","
                          "\"id\":\"%s\",\"holder\":{\"host\":\"%s\",\"pid\":%ld,"
                          "\"user\":\"someone\"},\"command\":\"export\","
                          "\"acquired\":\"2026-01-01T00:00:00Z\","
                          "\"renewed\":\"2026-01-01T00:00:00Z\",\"expires\":\"%s\"}",
                          id, host, pid, expires);
  struct rm_error err;
  cr_assert_eq (backend_put_mem (b, STORE_LOCK_KEY, text, strlen (text), NULL, NULL, &err),
                RM_OK, "%s", err.message);
  free (text);
}

static char host[256];

static void
get_host (void)
{
  cr_assert_eq (gethostname (host, sizeof host - 1), 0);
}

Test (lock, acquire_writes_the_holder_and_release_removes_it)
{
  struct backend *b = open_local ();
  get_host ();
  struct store_lock_opts o = { .command = "export", .cluster = "uid-1" };
  struct store_lock *l;
  struct rm_error err;
  cr_assert_eq (store_lock_acquire (b, &o, &l, &err), RM_OK, "%s", err.message);
  cJSON *j = stored_lock (b);
  cr_assert_not_null (j, "lock.json written");
  cr_assert_str_eq (jstr (j, "apiVersion", NULL), "releasemanager.io/v1");
  cr_assert_str_eq (jstr (j, "kind", NULL), "Lock");
  cr_assert_str_eq (jstr (j, "command", NULL), "export");
  cr_assert_str_eq (jstr (j, "cluster", NULL), "uid-1");
  cr_assert_str_eq (jstr (j, "holder", "host"), host);
  cr_assert_not_null (jstr (j, "holder", "user"));
  cr_assert_eq (cJSON_GetObjectItem (cJSON_GetObjectItem (j, "holder"), "pid")->valuedouble,
                (double) getpid ());
  cr_assert_eq (strlen (jstr (j, "id", NULL)), 32);
  const char *acq = jstr (j, "acquired", NULL), *exp = jstr (j, "expires", NULL);
  cr_assert (acq && exp && strlen (acq) == 20 && strlen (exp) == 20 && acq[19] == 'Z');
  cr_assert_gt (strcmp (exp, acq), 0, "expires %s after acquired %s", exp, acq);
  cJSON_Delete (j);
  cr_assert_eq (store_lock_check (l, &err), RM_OK, "%s", err.message);
  /* A renewal keeps it ours. */
  cr_assert_eq (store_lock_renew (l, &err), RM_OK, "%s", err.message);
  cr_assert_eq (store_lock_check (l, &err), RM_OK, "%s", err.message);
  cr_assert_eq (store_lock_release (l, &err), RM_OK, "%s", err.message);
  cr_assert_null (stored_lock (b), "lock.json removed at release");
  cr_assert_eq (store_lock_release (NULL, &err), RM_OK);
  backend_close (b);
}

Test (lock, a_second_writer_is_refused_with_the_holders_name)
{
  struct backend *b = open_local ();
  get_host ();
  struct store_lock_opts o1 = { .command = "export" }, o2 = { .command = "clear" };
  struct store_lock *l1, *l2 = NULL;
  struct rm_error err;
  cr_assert_eq (store_lock_acquire (b, &o1, &l1, &err), RM_OK, "%s", err.message);
  cr_assert_eq (store_lock_acquire (b, &o2, &l2, &err), STORE_E_LOCKED, "%s", err.message);
  cr_assert_null (l2);
  char *want = xasprintf ("lock.json: held by export on host %s (pid %ld, user ", host,
                          (long) getpid ());
  cr_assert (strstr (err.message, want), "%s", err.message);
  cr_assert (strstr (err.message, "lease until 20"), "%s", err.message);
  cr_assert (strstr (err.message, "--lock-timeout"), "%s", err.message);
  free (want);
  /* The refused writer left the holder's lock as it was. */
  cJSON *j = stored_lock (b);
  cr_assert_str_eq (jstr (j, "command", NULL), "export");
  cJSON_Delete (j);
  cr_assert_eq (store_lock_release (l1, &err), RM_OK, "%s", err.message);
  cr_assert_eq (store_lock_acquire (b, &o2, &l2, &err), RM_OK, "%s", err.message);
  cr_assert_eq (store_lock_release (l2, &err), RM_OK, "%s", err.message);
  backend_close (b);
}

/* A second writer waiting with a timeout, on a thread of its own. */
struct waiter {
  struct backend *b;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int waits;
  int rc;
  struct rm_error err;
  struct store_lock *l;
};

static void
on_wait (void *opaque, const struct rm_error *held)
{
  struct waiter *w = opaque;
  cr_assert (strstr (held->message, "held by export"), "%s", held->message);
  pthread_mutex_lock (&w->mu);
  w->waits++;
  pthread_cond_signal (&w->cv);
  pthread_mutex_unlock (&w->mu);
}

static void *
wait_for_lock (void *arg)
{
  struct waiter *w = arg;
  struct store_lock_opts o = { .command = "clear", .timeout = 3600, .on_wait = on_wait,
                               .opaque = w };
  w->rc = store_lock_acquire (w->b, &o, &w->l, &w->err);
  return NULL;
}

Test (lock, lock_timeout_waits_for_the_holder)
{
  struct backend *b = open_local ();
  struct store_lock_opts o = { .command = "export" };
  struct store_lock *l1;
  struct rm_error err;
  cr_assert_eq (store_lock_acquire (b, &o, &l1, &err), RM_OK, "%s", err.message);
  struct waiter w = { .b = b, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
  pthread_t t;
  cr_assert_eq (pthread_create (&t, NULL, wait_for_lock, &w), 0);
  /* Release only once the waiter has found the lock held. */
  pthread_mutex_lock (&w.mu);
  while (w.waits == 0)
    pthread_cond_wait (&w.cv, &w.mu);
  pthread_mutex_unlock (&w.mu);
  cr_assert_eq (store_lock_release (l1, &err), RM_OK, "%s", err.message);
  pthread_join (t, NULL);
  cr_assert_eq (w.rc, RM_OK, "%s", w.err.message);
  cr_assert_geq (w.waits, 1);
  cJSON *j = stored_lock (b);
  cr_assert_str_eq (jstr (j, "command", NULL), "clear", "the waiter holds it now");
  cJSON_Delete (j);
  cr_assert_eq (store_lock_release (w.l, &err), RM_OK, "%s", err.message);
  backend_close (b);
}

Test (lock, a_dead_process_on_this_host_is_taken_over_at_once)
{
  struct backend *b = open_local ();
  get_host ();
  pid_t pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    _exit (0);
  cr_assert_eq (waitpid (pid, NULL, 0), pid);
  plant_lock (b, "dead", host, (long) pid, "2099-01-01T00:00:00Z");
  struct store_lock_opts o = { .command = "export" };
  struct store_lock *l;
  struct rm_error err;
  cr_assert_eq (store_lock_acquire (b, &o, &l, &err), RM_OK, "%s", err.message);
  cJSON *j = stored_lock (b);
  cr_assert_str_neq (jstr (j, "id", NULL), "dead");
  cJSON_Delete (j);
  cr_assert_eq (store_lock_release (l, &err), RM_OK, "%s", err.message);

  /* The same pid on another host may be alive there: held until the lease expires. */
  plant_lock (b, "elsewhere", "another-host.example", (long) pid, "2099-01-01T00:00:00Z");
  cr_assert_eq (store_lock_acquire (b, &o, &l, &err), STORE_E_LOCKED);
  cr_assert (strstr (err.message, "on host another-host.example (pid"), "%s", err.message);
  backend_close (b);
}

Test (lock, an_expired_lease_is_taken_over)
{
  struct backend *b = open_local ();
  plant_lock (b, "old", "another-host.example", 1, "2020-01-01T00:00:00Z");
  struct store_lock_opts o = { .command = "export" };
  struct store_lock *l;
  struct rm_error err;
  cr_assert_eq (store_lock_acquire (b, &o, &l, &err), RM_OK, "%s", err.message);
  cJSON *j = stored_lock (b);
  cr_assert_str_neq (jstr (j, "id", NULL), "old");
  cJSON_Delete (j);
  cr_assert_eq (store_lock_release (l, &err), RM_OK, "%s", err.message);
  /* A lock.json we cannot read, written just now, counts as held. */
  const char junk[] = "not a lock";
  cr_assert_eq (backend_put_mem (b, STORE_LOCK_KEY, junk, strlen (junk), NULL, NULL, &err),
                RM_OK);
  cr_assert_eq (store_lock_acquire (b, &o, &l, &err), STORE_E_LOCKED);
  cr_assert (strstr (err.message, "unreadable"), "%s", err.message);
  backend_close (b);
}

Test (lock, a_lost_lease_is_noticed_before_the_commit)
{
  struct backend *b = open_local ();
  struct store_lock_opts o = { .command = "export" };
  struct store_lock *l;
  struct rm_error err;
  cr_assert_eq (store_lock_acquire (b, &o, &l, &err), RM_OK, "%s", err.message);
  /* Another writer took it over (as after our lease expired). */
  plant_lock (b, "thief", "another-host.example", 7, "2099-01-01T00:00:00Z");
  cr_assert_eq (store_lock_check (l, &err), RM_OK, "not known before a renewal");
  cr_assert_eq (store_lock_renew (l, &err), STORE_E_LOCK_LOST, "%s", err.message);
  cr_assert_eq (store_lock_check (l, &err), STORE_E_LOCK_LOST);
  cr_assert (strstr (err.message, "the store lock was lost: lock.json: changed by another "
                     "process"), "%s", err.message);
  cr_assert_eq (store_lock_renew (l, &err), STORE_E_LOCK_LOST, "stays lost");
  /* Release leaves the new holder's lock alone. */
  cr_assert_eq (store_lock_release (l, &err), STORE_E_LOCK_LOST);
  cr_assert (strstr (err.message, "left alone"), "%s", err.message);
  cJSON *j = stored_lock (b);
  cr_assert_str_eq (jstr (j, "id", NULL), "thief");
  cJSON_Delete (j);

  /* Removed under us: lost too. */
  cr_assert_eq (backend_remove (b, STORE_LOCK_KEY, &err), RM_OK);
  cr_assert_eq (store_lock_acquire (b, &o, &l, &err), RM_OK, "%s", err.message);
  cr_assert_eq (backend_remove (b, STORE_LOCK_KEY, &err), RM_OK);
  cr_assert_eq (store_lock_renew (l, &err), STORE_E_LOCK_LOST);
  cr_assert (strstr (err.message, "removed"), "%s", err.message);
  cr_assert_eq (store_lock_check (l, &err), STORE_E_LOCK_LOST);
  cr_assert_eq (store_lock_release (l, &err), RM_OK, "%s", err.message);
  backend_close (b);
}

Test (lock, timeout_syntax)
{
  static const struct { const char *text; double seconds; } good[] = {
    { "0", 0 }, { "90", 90 }, { "30s", 30 }, { "5m", 300 }, { "1h", 3600 },
    { "1m30s", 90 }, { "1.5m", 90 }, { "0.25", 0.25 },
  };
  static const char *const bad[] = {
    "", "-1", "5x", "m", "1.", ".5", "1e3", "0x10", " 5", "5 ", "inf", "1s2", "8d", "200h",
  };
  struct rm_error err;
  double s;
  for (size_t i = 0; i < ARRAY_SIZE (good); i++) {
    cr_assert_eq (store_lock_parse_timeout (good[i].text, &s, &err), RM_OK, "%s: %s",
                  good[i].text, err.message);
    cr_assert_float_eq (s, good[i].seconds, 1e-9, "%s", good[i].text);
  }
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++) {
    cr_assert_eq (store_lock_parse_timeout (bad[i], &s, &err), RM_E_INVALID, "%s", bad[i]);
    cr_assert (strstr (err.message, "is not a duration") || strstr (err.message, "week"),
               "%s: %s", bad[i], err.message);
  }
}
