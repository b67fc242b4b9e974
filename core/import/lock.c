/* The import lock: two imports of the same store into one cluster would race for the
 * same releases, so an import holds a coordination.k8s.io/v1 Lease in the target cluster
 * (namespace --lock-namespace, default "default", named after the store) from before
 * its first write to its end,
 * renewed by a thread while it runs and given up when it finishes (kube/lease.c does
 * the Lease protocol).  A second import waits while the holder renews it.  The holder
 * names its host and process id: a holder on this host whose process is gone (a killed
 * import) is cleared at once, any other dead holder once its Lease has not been renewed
 * for its duration.  Without the right to use Leases there (403) or without the
 * namespace, the import stops before its first write with an error naming the namespace
 * and --lock-namespace (an unlocked import could race another one); a cluster that does
 * not serve Leases at all is imported unlocked after a warning. */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sha256.h"
#include "import/import.h"

#define LOCK_DURATION_MS 15000
#define LOCK_RENEW_MS 10000
#define LOCK_RETRY_MS 2000

struct imp_lock {
  struct kube_client *kc;
  char *ns;
  struct kube_lease *lease;
  char *name, *path;
  pthread_t renewer;
  bool renewing;               /* renewer runs */
  atomic_bool stop;
};

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

/* "HOST pid N" of a holder on this host whose process is gone. */
static bool
holder_dead_here (const char *holder)
{
  const char *p = strrchr (holder, ' ');
  char host[256];
  if (!p || p - holder < 5 || strncmp (p - 4, " pid", 4) != 0 || gethostname (host, sizeof host))
    return false;
  host[sizeof host - 1] = '\0';
  size_t hl = (size_t) (p - 4 - holder);
  char *end;
  long pid = strtol (p + 1, &end, 10);
  if (*end || pid <= 0 || strlen (host) != hl || strncmp (holder, host, hl) != 0)
    return false;
  return kill ((pid_t) pid, 0) < 0 && errno == ESRCH;
}

/* Empty the holder of the Lease as read (its resourceVersion: a change since is a 409,
 * and the next attempt reads again). */
static void
clear_holder (struct imp_lock *l, const char *holder)
{
  cJSON *obj = NULL;
  struct rm_error err;
  if (kube_get (l->kc, l->path, &obj, &err) == KUBE_OK) {
    cJSON *spec = cJSON_GetObjectItemCaseSensitive (obj, "spec");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive (spec, "holderIdentity");
    if (cJSON_IsObject (spec) && cJSON_IsString (h) && strcmp (h->valuestring, holder) == 0) {
      cJSON_DeleteItemFromObjectCaseSensitive (spec, "holderIdentity");
      cJSON_AddStringToObject (spec, "holderIdentity", "");
      if (kube_replace (l->kc, l->path, obj, NULL, &err) == KUBE_OK)
        log_warn ("import lock (Lease %s/%s): its holder, %s, is no longer running (an "
                  "interrupted import): taken over", l->ns, l->name, holder);
    }
  }
  cJSON_Delete (obj);
}

static void *
renew (void *arg)
{
  struct imp_lock *l = arg;
  bool lost = false;
  while (!atomic_load (&l->stop)) {
    for (long t = 0; t < LOCK_RETRY_MS && !atomic_load (&l->stop); t += 50)
      sleep_ms (50);
    if (atomic_load (&l->stop))
      break;
    bool leading = false;
    struct rm_error err;
    int rc = kube_lease_try (l->lease, &leading, &err);
    if (!leading && !lost) {
      lost = true;
      log_warn ("import lock (Lease %s/%s): could not renew it (%s): importing on; "
                "releases already restored are recognised by the import that runs next",
                l->ns, l->name, rc == KUBE_OK ? "another holder" : err.message);
    }
  }
  return NULL;
}

/* Whether namespace ns does not exist (an error reading it counts as "it does": the
 * Lease's own error is then the one reported). */
static bool
namespace_missing (struct kube_client *kc, const char *ns)
{
  char *path = kube_path ("v1", NULL, "namespaces", ns);
  struct rm_error err;
  int rc = kube_get (kc, path, NULL, &err);
  free (path);
  return rc == KUBE_E_NOT_FOUND;
}

int
imp_lock_take (struct kube_client *kc, const char *ns, const char *where,
               struct imp_lock **out, struct rm_error *err_out)
{
  *out = NULL;
  struct imp_lock *l = xcalloc (1, sizeof *l);
  char hex[SHA256_HEX_SIZE], host[256];
  sha256_hex (where, strlen (where), hex);
  l->kc = kc;
  l->ns = xstrdup (ns);
  l->name = xasprintf ("releasemanager-import-%.16s", hex);
  l->path = kube_path ("coordination.k8s.io/v1", ns, "leases", l->name);
  if (gethostname (host, sizeof host))
    strcpy (host, "unknown-host");
  host[sizeof host - 1] = '\0';
  char *identity = xasprintf ("%s pid %ld", host, (long) getpid ());
  struct kube_lease_opts o = { l->ns, l->name, identity, LOCK_DURATION_MS, LOCK_RENEW_MS,
                               LOCK_RETRY_MS, NULL, NULL, NULL };
  struct rm_error err;
  int rc = kube_lease_new (kc, &o, &l->lease, &err);
  free (identity);
  bool said = false;
  for (; rc == KUBE_OK;) {
    bool leading = false;
    rc = kube_lease_try (l->lease, &leading, &err);
    if (rc == KUBE_E_CONFLICT) {
      rc = KUBE_OK;
      continue;
    }
    if (rc != KUBE_OK || leading)
      break;
    char *holder = kube_lease_holder (l->lease);
    if (holder_dead_here (holder))
      clear_holder (l, holder);
    else {
      if (!said)
        log_warn ("another import of %s into this cluster is running (%s holds the import "
                  "lock, Lease %s/%s): waiting for it to finish", where, holder, l->ns,
                  l->name);
      said = true;
      sleep_ms (LOCK_RETRY_MS / 2);
    }
    free (holder);
  }
  if (rc == KUBE_E_FORBIDDEN) {
    err_set (err_out, RM_E_PERMISSION, "import lock: this import may not use Leases in "
             "namespace %s (Lease %s: %s): give it a namespace where it may with "
             "--lock-namespace NS (RELEASEMANAGER_LOCK_NAMESPACE); nothing was imported",
             l->ns, l->name, err.message);
    imp_lock_release (l);
    return RM_E_PERMISSION;
  }
  if (rc == KUBE_E_NOT_FOUND && namespace_missing (kc, l->ns)) {
    err_set (err_out, RM_E_NOT_FOUND, "import lock: namespace %s does not exist, so the "
             "import lock (Lease %s) cannot be kept there: create it, or name another with "
             "--lock-namespace NS (RELEASEMANAGER_LOCK_NAMESPACE); nothing was imported",
             l->ns, l->name);
    imp_lock_release (l);
    return RM_E_NOT_FOUND;
  }
  if (rc != KUBE_OK) {
    log_warn ("import lock (Lease %s/%s): %s: importing without it (a second import of this "
              "store into this cluster at the same time would not be stopped)", l->ns,
              l->name, err.message);
    imp_lock_release (l);
    return RM_OK;
  }
  if (said)
    log_info ("the other import finished: import lock taken");
  log_debug ("import lock: Lease %s/%s taken", l->ns, l->name);
  l->renewing = pthread_create (&l->renewer, NULL, renew, l) == 0;
  if (!l->renewing)
    log_warn ("import lock: cannot start the thread renewing it: it may lapse during a long "
              "import");
  *out = l;
  return RM_OK;
}

void
imp_lock_release (struct imp_lock *l)
{
  if (!l)
    return;
  atomic_store (&l->stop, true);
  if (l->renewing)
    pthread_join (l->renewer, NULL);
  struct rm_error err;
  if (l->lease && kube_lease_leading (l->lease) && kube_lease_release (l->lease, &err) != KUBE_OK)
    log_warn ("import lock (Lease %s/%s): giving it up: %s (it lapses by itself in %d s)",
              l->ns, l->name, err.message, LOCK_DURATION_MS / 1000);
  kube_lease_free (l->lease);
  free (l->ns);
  free (l->name);
  free (l->path);
  free (l);
}
