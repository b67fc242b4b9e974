/* API discovery for import: which resource (plural name) serves apiVersion + kind and
 * whether it is namespaced, read from /api/v1 or /apis/GROUP/VERSION once per group
 * version and cached for every release of the run.  Custom resources appear after their
 * CRD is created, so a miss looks again (and, right after CRDs were created, waits a
 * little for them to be served, as a real API server takes a moment). */
#include <config.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import/import.h"

struct gv_entry {
  char *gv;
  cJSON *resources;        /* APIResourceList.resources, or NULL: not served */
  unsigned generation;     /* imp_discovery.generation when read */
};

struct imp_discovery {
  struct kube_client *kc;
  pthread_mutex_t lock;
  struct gv_entry *v;
  size_t n, cap;
  unsigned generation;     /* bumped by imp_discovery_invalidate */
};

struct imp_discovery *
imp_discovery_new (struct kube_client *kc)
{
  struct imp_discovery *d = xcalloc (1, sizeof *d);
  d->kc = kc;
  pthread_mutex_init (&d->lock, NULL);
  return d;
}

void
imp_discovery_free (struct imp_discovery *d)
{
  if (!d)
    return;
  for (size_t i = 0; i < d->n; i++) {
    free (d->v[i].gv);
    cJSON_Delete (d->v[i].resources);
  }
  free (d->v);
  pthread_mutex_destroy (&d->lock);
  free (d);
}

void
imp_discovery_invalidate (struct imp_discovery *d)
{
  pthread_mutex_lock (&d->lock);
  d->generation++;
  pthread_mutex_unlock (&d->lock);
}

/* Look kind up in a resources array (subresources like deployments/scale skipped). */
static bool
find_kind (const cJSON *resources, const char *kind, char **resource, bool *namespaced)
{
  const cJSON *r;
  cJSON_ArrayForEach (r, resources) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive (r, "kind");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive (r, "name");
    if (!cJSON_IsString (k) || !cJSON_IsString (n) || strchr (n->valuestring, '/'))
      continue;
    if (strcmp (k->valuestring, kind) == 0) {
      *resource = xstrdup (n->valuestring);
      *namespaced = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (r, "namespaced"));
      return true;
    }
  }
  return false;
}

/* Read one group version's resources (NULL when not served).  Called unlocked. */
static int
fetch (struct imp_discovery *d, const char *gv, cJSON **resources, struct rm_error *err)
{
  char *path = xasprintf ("%s%s", strchr (gv, '/') ? "/apis/" : "/api/", gv);
  cJSON *list = NULL;
  int rc = kube_get (d->kc, path, &list, err);
  free (path);
  *resources = NULL;
  if (rc == KUBE_E_NOT_FOUND)
    return KUBE_OK;
  if (rc != KUBE_OK)
    return rc;
  *resources = cJSON_DetachItemFromObjectCaseSensitive (list, "resources");
  cJSON_Delete (list);
  return KUBE_OK;
}

static int
lookup (struct imp_discovery *d, const char *gv, const char *kind, bool fresh, char **resource,
        bool *namespaced, struct rm_error *err)
{
  pthread_mutex_lock (&d->lock);
  struct gv_entry *e = NULL;
  for (size_t i = 0; i < d->n; i++)
    if (strcmp (d->v[i].gv, gv) == 0)
      e = &d->v[i];
  if (e && (!fresh || e->generation == d->generation)
      && find_kind (e->resources, kind, resource, namespaced)) {
    pthread_mutex_unlock (&d->lock);
    return KUBE_OK;
  }
  bool known_missing = e && e->generation == d->generation && !fresh;
  unsigned gen = d->generation;
  pthread_mutex_unlock (&d->lock);
  if (known_missing)
    return KUBE_E_NOT_FOUND;

  cJSON *res;
  int rc = fetch (d, gv, &res, err);
  if (rc != KUBE_OK)
    return rc;
  pthread_mutex_lock (&d->lock);
  e = NULL;
  for (size_t i = 0; i < d->n; i++)
    if (strcmp (d->v[i].gv, gv) == 0)
      e = &d->v[i];
  if (!e) {
    if (d->n == d->cap) {
      d->cap = d->cap ? d->cap * 2 : 16;
      d->v = xrealloc (d->v, d->cap * sizeof *d->v);
    }
    e = &d->v[d->n++];
    e->gv = xstrdup (gv);
    e->resources = NULL;
  }
  cJSON_Delete (e->resources);
  e->resources = res;
  e->generation = gen;
  bool found = find_kind (res, kind, resource, namespaced);
  pthread_mutex_unlock (&d->lock);
  return found ? KUBE_OK : KUBE_E_NOT_FOUND;
}

int
imp_discover (struct imp_discovery *d, const char *api_version, const char *kind,
              char **resource, bool *namespaced, struct rm_error *err)
{
  *resource = NULL;
  int rc = lookup (d, api_version, kind, false, resource, namespaced, err);
  if (rc != KUBE_E_NOT_FOUND)
    return rc;
  /* Not (yet) served: look again, a few times when CRDs were created in this run. */
  pthread_mutex_lock (&d->lock);
  bool crds = d->generation > 0;
  pthread_mutex_unlock (&d->lock);
  for (int attempt = 0; attempt < (crds ? 20 : 1); attempt++) {
    if (attempt) {
      struct timespec ts = { 0, 250 * 1000 * 1000 };
      nanosleep (&ts, NULL);
      imp_discovery_invalidate (d);
    }
    rc = lookup (d, api_version, kind, true, resource, namespaced, err);
    if (rc != KUBE_E_NOT_FOUND)
      return rc;
  }
  return err_set (err, KUBE_E_NOT_FOUND,
                  "the server does not serve kind %s in apiVersion %s (is its CRD installed?)",
                  kind, api_version);
}

int
imp_discovery_serves (struct imp_discovery *d, const char *api_version, const char *kind,
                      bool *served, struct rm_error *err)
{
  char *resource = NULL;
  bool namespaced;
  *served = false;
  int rc = lookup (d, api_version, kind, false, &resource, &namespaced, err);
  free (resource);
  if (rc == KUBE_E_NOT_FOUND)
    return RM_OK;
  if (rc == KUBE_OK)
    *served = true;
  return rc == KUBE_OK ? RM_OK : rc;
}
