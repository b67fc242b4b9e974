/* API discovery for import: which resource (plural name) serves apiVersion + kind and
 * whether it is namespaced, read from /api/v1 or /apis/GROUP/VERSION once per group
 * version and cached for every release of the run.  A re-render (--update-values) reads
 * the whole served set into the same cache (imp_discovery_capabilities), so the
 * conversion after it asks the server nothing more.  Custom resources appear after their
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
  char *kube_version;      /* GET /version's gitVersion, read once ("" when none) */
  struct strlist gvs;      /* the served group versions (/api, /apis) ... */
  unsigned gvs_generation; /* ... as of this generation; gvs_read: read at all */
  bool gvs_read;
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
  free (d->kube_version);
  strlist_free (&d->gvs);
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

/* The entry of gv, with res (taken) read at generation gen.  Called locked. */
static struct gv_entry *
put_entry (struct imp_discovery *d, const char *gv, cJSON *res, unsigned gen)
{
  struct gv_entry *e = NULL;
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
  return e;
}

void
imp_discovery_prime (struct imp_discovery *d, const char *gv, cJSON *list)
{
  cJSON *res = cJSON_DetachItemFromObjectCaseSensitive (list, "resources");
  cJSON_Delete (list);
  pthread_mutex_lock (&d->lock);
  put_entry (d, gv, res, d->generation);
  pthread_mutex_unlock (&d->lock);
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
  e = put_entry (d, gv, res, gen);
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

/* ---- the served set as Helm's Capabilities have it ---- */

/* /version's gitVersion, read once per run. */
static int
kube_version (struct imp_discovery *d, char **out, struct rm_error *err)
{
  pthread_mutex_lock (&d->lock);
  char *v = d->kube_version ? xstrdup (d->kube_version) : NULL;
  pthread_mutex_unlock (&d->lock);
  if (!v) {
    cJSON *doc = NULL;
    int rc = kube_get (d->kc, "/version", &doc, err);
    if (rc != KUBE_OK)
      return rc;
    const cJSON *g = cJSON_GetObjectItemCaseSensitive (doc, "gitVersion");
    v = xstrdup (cJSON_IsString (g) ? g->valuestring : "");
    cJSON_Delete (doc);
    pthread_mutex_lock (&d->lock);
    if (!d->kube_version)
      d->kube_version = xstrdup (v);
    pthread_mutex_unlock (&d->lock);
  }
  *out = v;
  return KUBE_OK;
}

/* The served group versions: /api's versions and every version of /apis's groups, read
 * again when CRDs were created since (they add groups). */
static int
group_versions (struct imp_discovery *d, struct strlist *out, struct rm_error *err)
{
  pthread_mutex_lock (&d->lock);
  bool fresh = d->gvs_read && d->gvs_generation == d->generation;
  unsigned gen = d->generation;
  if (fresh)
    for (size_t i = 0; i < d->gvs.n; i++)
      strlist_push (out, d->gvs.items[i]);
  pthread_mutex_unlock (&d->lock);
  if (fresh)
    return KUBE_OK;
  cJSON *core = NULL, *groups = NULL;
  int rc = kube_get (d->kc, "/api", &core, err);
  if (rc == KUBE_OK)
    rc = kube_get (d->kc, "/apis", &groups, err);
  if (rc == KUBE_OK) {
    const cJSON *v, *g;
    cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive (core, "versions"))
      if (cJSON_IsString (v) && !strlist_contains (out, v->valuestring))
        strlist_push (out, v->valuestring);
    cJSON_ArrayForEach (g, cJSON_GetObjectItemCaseSensitive (groups, "groups"))
      cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive (g, "versions")) {
        const cJSON *gv = cJSON_GetObjectItemCaseSensitive (v, "groupVersion");
        if (cJSON_IsString (gv) && !strlist_contains (out, gv->valuestring))
          strlist_push (out, gv->valuestring);
      }
    pthread_mutex_lock (&d->lock);
    strlist_free (&d->gvs);
    for (size_t i = 0; i < out->n; i++)
      strlist_push (&d->gvs, out->items[i]);
    d->gvs_generation = gen;
    d->gvs_read = true;
    pthread_mutex_unlock (&d->lock);
  }
  cJSON_Delete (core);
  cJSON_Delete (groups);
  return rc;
}

/* Add gv and gv/KIND of each of resources (subresources too, as Helm lists them). */
static void
add_kinds (struct strlist *out, const char *gv, const cJSON *resources)
{
  strlist_push (out, gv);
  const cJSON *r;
  cJSON_ArrayForEach (r, resources) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive (r, "kind");
    if (!cJSON_IsString (k) || !*k->valuestring)
      continue;
    char *id = xasprintf ("%s/%s", gv, k->valuestring);
    if (!strlist_contains (out, id))
      strlist_push (out, id);
    free (id);
  }
}

int
imp_discovery_capabilities (struct imp_discovery *d, char **version, struct strlist *api_versions,
                            struct rm_error *err)
{
  *version = NULL;
  struct strlist gvs = STRLIST_INIT;
  int rc = kube_version (d, version, err);
  if (rc == KUBE_OK)
    rc = group_versions (d, &gvs, err);
  for (size_t i = 0; rc == KUBE_OK && i < gvs.n; i++) {
    const char *gv = gvs.items[i];
    pthread_mutex_lock (&d->lock);
    struct gv_entry *e = NULL;
    for (size_t j = 0; j < d->n; j++)
      if (strcmp (d->v[j].gv, gv) == 0 && d->v[j].generation == d->generation)
        e = &d->v[j];
    if (e && e->resources)
      add_kinds (api_versions, gv, e->resources);
    unsigned gen = d->generation;
    pthread_mutex_unlock (&d->lock);
    if (e)
      continue;   /* read at this generation: served with its kinds, or not at all */
    cJSON *res;
    if ((rc = fetch (d, gv, &res, err)) != KUBE_OK)
      break;
    pthread_mutex_lock (&d->lock);
    e = put_entry (d, gv, res, gen);
    if (e->resources)
      add_kinds (api_versions, gv, e->resources);
    pthread_mutex_unlock (&d->lock);
  }
  strlist_free (&gvs);
  if (rc != KUBE_OK) {
    free (*version);
    *version = NULL;
  }
  return rc;
}
