/* One object into the target cluster: its namespace (the release's for namespaced kinds
 * that name none), Helm's ownership metadata, then create it; an object that already
 * exists is taken over only when this release owns it (its meta.helm.sh annotations) or
 * with --replace.  Also deletion (hooks, --atomic) and Helm's readiness rules (--wait,
 * hook Jobs). */
#include <config.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import/import.h"
#include "base/log.h"

#define ANN_NAME "meta.helm.sh/release-name"
#define ANN_NS "meta.helm.sh/release-namespace"

static cJSON *
object_at (cJSON *parent, const char *key)
{
  cJSON *o = cJSON_GetObjectItemCaseSensitive (parent, key);
  if (!cJSON_IsObject (o)) {
    cJSON_DeleteItemFromObjectCaseSensitive (parent, key);
    o = cJSON_AddObjectToObject (parent, key);
  }
  return o;
}

static void
set_string (cJSON *obj, const char *key, const char *value)
{
  cJSON_DeleteItemFromObjectCaseSensitive (obj, key);
  cJSON_AddStringToObject (obj, key, value);
}

static const char *
str_at (const cJSON *o, const char *k1, const char *k2)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, k1);
  if (k2)
    v = cJSON_GetObjectItemCaseSensitive (v, k2);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

/* "Kind ns/name" or "Kind name", for messages. */
static char *
describe (const struct imp_object *o)
{
  const char *ns = str_at (o->obj, "metadata", "namespace");
  return ns ? xasprintf ("%s %s/%s", o->kind, ns, o->name) : xasprintf ("%s %s", o->kind, o->name);
}

int
imp_prepare (struct imp_run *r, struct imp_object *o, enum imp_apply_mode mode, char **coll,
             char **path)
{
  *coll = *path = NULL;
  char *resource = NULL;
  bool namespaced = false;
  struct rm_error err;
  int rc = imp_discover (r->s->disc, o->api_version, o->kind, &resource, &namespaced, &err);
  if (rc == KUBE_E_NOT_FOUND && r->s->dry)
    return 1;   /* a custom resource whose CRD this import would create first */
  if (rc != KUBE_OK)
    return imp_fail (r, "%s %s: %s", o->kind, o->name, err.message);
  cJSON *md = object_at (o->obj, "metadata");
  o->name = str_at (o->obj, "metadata", "name");
  const char *ns = NULL;
  if (namespaced) {
    ns = str_at (o->obj, "metadata", "namespace");
    /* Default to the release namespace; with --target-namespace an object that named the
     * original release namespace follows the release. */
    if (!ns || !*ns || (r->s->target_ns && strcmp (ns, r->orig_ns) == 0)) {
      set_string (md, "namespace", r->ns);
      ns = r->ns;
    }
    ns = str_at (o->obj, "metadata", "namespace");
  }
  else
    cJSON_DeleteItemFromObjectCaseSensitive (md, "namespace");
  if (mode == IMP_RESOURCE) {
    /* What Helm 3.2+ checks before it adopts an object (helm pkg/action/validate.go). */
    set_string (object_at (md, "labels"), "app.kubernetes.io/managed-by", "Helm");
    cJSON *ann = object_at (md, "annotations");
    set_string (ann, ANN_NAME, r->name);
    set_string (ann, ANN_NS, r->ns);
  }
  *coll = kube_path (o->api_version, ns, resource, NULL);
  *path = kube_path (o->api_version, ns, resource, o->name);
  free (resource);
  return 0;
}

static int
take_over (struct imp_run *r, struct imp_object *o, const char *path, const char *what)
{
  struct rm_error err;
  cJSON *live = NULL;
  if (kube_get (r->s->kc, path, &live, &err) != KUBE_OK)
    return imp_fail (r, "%s exists but cannot be read: %s", what, err.message);
  const char *owner = str_at (cJSON_GetObjectItemCaseSensitive (live, "metadata"), "annotations",
                              ANN_NAME);
  const char *owner_ns = str_at (cJSON_GetObjectItemCaseSensitive (live, "metadata"),
                                 "annotations", ANN_NS);
  bool owned = owner && owner_ns && strcmp (owner, r->name) == 0 && strcmp (owner_ns, r->ns) == 0;
  if (!owned && !r->s->replace) {
    /* owner and owner_ns point into live: the message first, then free it */
    if (owner)
      imp_fail (r, "%s already exists and belongs to release %s/%s, not %s/%s: delete it, or "
                "import with --replace to take it over", what, owner_ns ? owner_ns : "?", owner,
                r->ns, r->name);
    else
      imp_fail (r, "%s already exists and is not managed by release %s/%s: delete it, or "
                "import with --replace to take it over", what, r->ns, r->name);
    cJSON_Delete (live);
    return -1;
  }
  cJSON_Delete (live);
  /* Server-side apply under Helm's field manager: fields of the live object that the
   * manifest does not mention (a Service's clusterIP...) are kept. */
  char *body = cJSON_PrintUnformatted (o->obj);
  char *p = xasprintf ("%s?fieldManager=helm&force=true", path);
  int rc = kube_patch (r->s->kc, p, KUBE_PATCH_APPLY, body, NULL, &err);
  free (p);
  free (body);
  if (rc != KUBE_OK)
    return imp_fail (r, "taking over %s: %s", what, err.message);
  if (owned)
    r->found++;
  log_info ("%s/%s: took over %s%s", r->ns, r->name, what, owned ? "" : " (--replace)");
  return 0;
}

/* The owner check of take_over, before any write (the preflight, convert.c): where the
 * object would go is worked out as imp_prepare does, without changing it. */
int
imp_check_owner (struct imp_run *r, const struct imp_object *o, char **problem)
{
  *problem = NULL;
  const char *name = str_at (o->obj, "metadata", "name");
  if (!name || !o->api_version || !o->kind)
    return 0;
  char *resource = NULL;
  bool namespaced = false;
  struct rm_error err;
  int rc = imp_discover (r->s->disc, o->api_version, o->kind, &resource, &namespaced, &err);
  if (rc == KUBE_E_NOT_FOUND)
    return 0;   /* a kind its own CRD defines, or one not served (a problem of its own) */
  if (rc != KUBE_OK) {
    *problem = xasprintf ("%s %s: %s", o->kind, name, err.message);
    return -1;
  }
  const char *ns = NULL;
  if (namespaced) {
    ns = str_at (o->obj, "metadata", "namespace");
    if (!ns || !*ns || (r->s->target_ns && strcmp (ns, r->orig_ns) == 0))
      ns = r->ns;
  }
  char *path = kube_path (o->api_version, ns, resource, name);
  char *what = ns ? xasprintf ("%s %s/%s", o->kind, ns, name) : xasprintf ("%s %s", o->kind, name);
  free (resource);
  cJSON *live = NULL;
  rc = kube_get (r->s->kc, path, &live, &err);
  int result = 0;
  if (rc == KUBE_E_NOT_FOUND)
    ;
  else if (rc != KUBE_OK) {
    *problem = xasprintf ("reading %s: %s", what, err.message);
    result = -1;
  }
  else {
    const cJSON *md = cJSON_GetObjectItemCaseSensitive (live, "metadata");
    const char *owner = str_at (md, "annotations", ANN_NAME);
    const char *owner_ns = str_at (md, "annotations", ANN_NS);
    if (owner && owner_ns && strcmp (owner, r->name) == 0 && strcmp (owner_ns, r->ns) == 0)
      ;   /* this release's: an interrupted import left it, it is taken over */
    else if (owner)
      *problem = xasprintf ("%s already exists and belongs to release %s/%s, not %s/%s: delete "
                            "it, or import with --replace to take it over", what,
                            owner_ns ? owner_ns : "?", owner, r->ns, r->name);
    else
      *problem = xasprintf ("%s already exists and is not managed by release %s/%s (nor by "
                            "any Helm release): delete it, or import with --replace to take "
                            "it over", what, r->ns, r->name);
    if (*problem)
      result = 1;
  }
  cJSON_Delete (live);
  free (path);
  free (what);
  return result;
}

/* --dry-run: whether the object is there already and whose it is, said in the plan
 * (an interrupted import left it: it is taken over).  False when it is not there. */
static bool
dry_found (struct imp_run *r, const char *path, const char *what)
{
  cJSON *live = NULL;
  struct rm_error err;
  if (kube_get (r->s->kc, path, &live, &err) != KUBE_OK) {
    cJSON_Delete (live);
    return false;
  }
  const cJSON *md = cJSON_GetObjectItemCaseSensitive (live, "metadata");
  const char *owner = str_at (md, "annotations", ANN_NAME);
  const char *owner_ns = str_at (md, "annotations", ANN_NS);
  if (owner && owner_ns && strcmp (owner, r->name) == 0 && strcmp (owner_ns, r->ns) == 0) {
    r->found++;
    imp_plan (r, "  %s: there already, this release's: PATCH %s (take it over)\n", what, path);
  }
  else
    imp_plan (r, "  %s: there already, not this release's: %s\n", what,
              r->s->replace ? "taken over (--replace)" : "fails without --replace");
  cJSON_Delete (live);
  return true;
}

int
imp_apply (struct imp_run *r, struct imp_object *o, enum imp_apply_mode mode)
{
  char *coll, *path;
  int rc = imp_prepare (r, o, mode, &coll, &path);
  if (rc < 0)
    return -1;
  char *what = describe (o);
  if (r->s->dry) {
    const char *how = mode == IMP_CRD_FILE ? " (skipped if it exists)"
                      : mode == IMP_HOOK ? "" : " (or take it over if this release owns it)";
    if (rc == 1)
      imp_plan (r, "  create %s: POST (its resource path is known once its CRD exists)\n", what);
    else if (mode == IMP_RESOURCE && dry_found (r, path, what))
      ;
    else
      imp_plan (r, "  create %s: POST %s%s\n", what, coll, how);
    free (what);
    free (coll);
    free (path);
    return 0;
  }
  struct rm_error err;
  char *p = xasprintf ("%s?fieldManager=helm", coll);
  rc = kube_create (r->s->kc, p, o->obj, NULL, &err);
  free (p);
  if (rc == KUBE_OK) {
    strlist_push (&r->created, path);
    log_info ("%s/%s: created %s", r->ns, r->name, what);
    if (strcmp (o->kind, "CustomResourceDefinition") == 0)
      imp_discovery_invalidate (r->s->disc);
    rc = 0;
  }
  else if (rc == KUBE_E_ALREADY_EXISTS) {
    if (mode == IMP_CRD_FILE) {
      log_info ("%s/%s: %s exists: skipped (as helm does)", r->ns, r->name, what);
      rc = 0;
    }
    else if (mode == IMP_HOOK)
      rc = imp_fail (r, "hook %s already exists", what);
    else
      rc = take_over (r, o, path, what);
  }
  else
    rc = imp_fail (r, "creating %s: %s", what, err.message);
  free (what);
  free (coll);
  free (path);
  return rc;
}

/* Callers pass small constants; the checks keep the conversions defined for any value
 * (a negative or NaN pause sleeps not at all, a huge one a day). */
static void
nap (double seconds)
{
  if (!(seconds > 0))
    return;
  if (seconds > 86400)
    seconds = 86400;
  long whole = (long) seconds;
  struct timespec ts = { whole, (long) ((seconds - (double) whole) * 1e9) };
  if (ts.tv_nsec > 999999999)
    ts.tv_nsec = 999999999;
  nanosleep (&ts, NULL);
}

int
imp_delete (struct imp_run *r, const char *path, bool wait, struct rm_error *err)
{
  cJSON *opts = cJSON_CreateObject ();
  cJSON_AddStringToObject (opts, "kind", "DeleteOptions");
  cJSON_AddStringToObject (opts, "apiVersion", "v1");
  cJSON_AddStringToObject (opts, "propagationPolicy", "Background");
  int rc = kube_delete (r->s->kc, path, opts, err);
  cJSON_Delete (opts);
  if (rc == KUBE_E_NOT_FOUND)
    return KUBE_OK;
  if (rc != KUBE_OK || !wait)
    return rc;
  while (imp_now () < r->deadline) {
    rc = kube_get (r->s->kc, path, NULL, err);
    if (rc == KUBE_E_NOT_FOUND)
      return KUBE_OK;
    if (rc != KUBE_OK)
      return rc;
    nap (0.2);
  }
  snprintf (err->message, sizeof err->message, "%s: still there at the release timeout", path);
  return err->code = KUBE_E_TRANSIENT;
}

static long
num_at (const cJSON *o, const char *k1, const char *k2, long def)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, k1);
  if (k2)
    v = cJSON_GetObjectItemCaseSensitive (v, k2);
  /* A status the API server wrote, but a number from outside all the same: one that is
   * not an integer a long holds counts as absent. */
  return cJSON_IsNumber (v) ? double_to_long_or (v->valuedouble, LONG_MIN, LONG_MAX, def) : def;
}

static bool
condition (const cJSON *obj, const char *type)
{
  const cJSON *c;
  cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (
                           cJSON_GetObjectItemCaseSensitive (obj, "status"), "conditions")) {
    const char *t = str_at (c, "type", NULL), *s = str_at (c, "status", NULL);
    if (t && s && strcmp (t, type) == 0 && strcmp (s, "True") == 0)
      return true;
  }
  return false;
}

/* 1 ready, 0 not yet, -1 failed for good (*why set). */
static int
readiness (const char *kind, const cJSON *obj, char **why)
{
  long gen = num_at (obj, "metadata", "generation", 0);
  long observed = num_at (obj, "status", "observedGeneration", -1);
  long replicas = num_at (obj, "spec", "replicas", 1);
  if (strcmp (kind, "Deployment") == 0) {
    if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (
          cJSON_GetObjectItemCaseSensitive (obj, "spec"), "paused")))
      return 1;
    return observed >= gen && num_at (obj, "status", "updatedReplicas", 0) >= replicas
           && num_at (obj, "status", "availableReplicas", 0) >= replicas;
  }
  if (strcmp (kind, "StatefulSet") == 0)
    return observed >= gen && num_at (obj, "status", "readyReplicas", 0) >= replicas
           && num_at (obj, "status", "updatedReplicas", replicas) >= replicas;
  if (strcmp (kind, "DaemonSet") == 0) {
    long want = num_at (obj, "status", "desiredNumberScheduled", -1);
    return want >= 0 && observed >= gen && num_at (obj, "status", "numberReady", 0) >= want
           && num_at (obj, "status", "updatedNumberScheduled", want) >= want;
  }
  if (strcmp (kind, "Job") == 0) {
    if (condition (obj, "Failed")) {
      *why = xstrdup ("the Job failed");
      return -1;
    }
    return condition (obj, "Complete");
  }
  if (strcmp (kind, "Pod") == 0) {
    const char *phase = str_at (obj, "status", "phase");
    if (phase && strcmp (phase, "Failed") == 0) {
      *why = xstrdup ("the Pod failed");
      return -1;
    }
    if (phase && strcmp (phase, "Succeeded") == 0)
      return 1;
    const char *rp = str_at (obj, "spec", "restartPolicy");
    /* A run-to-completion Pod (hooks) must succeed; others must be ready. */
    return (!rp || strcmp (rp, "Always") == 0) && phase && strcmp (phase, "Running") == 0
           && condition (obj, "Ready");
  }
  return 1;
}

int
imp_wait_ready (struct imp_run *r, const struct imp_object *o, const char *path)
{
  double pause = 0.1;
  char *what = describe (o);
  for (;;) {
    cJSON *live = NULL;
    struct rm_error err;
    int rc = kube_get (r->s->kc, path, &live, &err);
    if (rc != KUBE_OK) {
      imp_fail (r, "waiting for %s: %s", what, err.message);
      free (what);
      return -1;
    }
    char *why = NULL;
    int ready = readiness (o->kind, live, &why);
    cJSON_Delete (live);
    if (ready < 0) {
      imp_fail (r, "%s: %s", what, why);
      free (why);
      free (what);
      return -1;
    }
    if (ready) {
      free (what);
      return 0;
    }
    double left = r->deadline - imp_now ();
    if (left <= 0) {
      imp_fail (r, "%s is not ready within the release timeout (%lds)", what, r->s->timeout_s);
      free (what);
      return -1;
    }
    nap (pause < left ? pause : left);
    if (pause < 1.0)
      pause *= 1.5;
  }
}

void
imp_undo (struct imp_run *r)
{
  for (size_t i = r->created.n; i-- > 0;) {
    struct rm_error err;
    if (imp_delete (r, r->created.items[i], false, &err) != KUBE_OK)
      log_warn ("%s/%s: undo: could not delete %s: %s", r->ns, r->name, r->created.items[i],
                err.message);
    else
      log_info ("%s/%s: undo: deleted %s", r->ns, r->name, r->created.items[i]);
  }
}
