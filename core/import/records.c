/* The release records written back as Helm's own storage, so that Helm owns the restored
 * release: one Secret (or ConfigMap) per stored revision, named, typed, labelled and
 * encoded exactly as Helm's storage driver does (helm/encode.c), in the namespace the
 * release is restored into, with the driver the release was stored from unless
 * --helm-driver says otherwise.  A release that already has records in the target
 * namespace (under either driver) is skipped, as the original tool does, unless
 * --replace, which overwrites them and deletes the others. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import/import.h"
#include "base/log.h"

static const char *
resource_of (enum helm_driver d)
{
  return d == HELM_DRIVER_CONFIGMAP ? "configmaps" : "secrets";
}

static const char *
resource (const struct imp_run *r)
{
  return resource_of (r->driver);
}

static int
collect (void *ud, const cJSON *item)
{
  const cJSON *n = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (item, "metadata"), "name");
  if (cJSON_IsString (n))
    strlist_push (ud, n->valuestring);
  return 0;
}

/* The names of this release's records under driver d in the target namespace into out:
 * 0, or -1 (r->error).  A namespace that does not exist yet holds none. */
static int
list_records (struct imp_run *r, enum helm_driver d, struct strlist *out)
{
  char *path = kube_path ("v1", r->ns, resource_of (d), NULL);
  char *sel = xasprintf ("owner=helm,name=%s", r->name);
  struct kube_list_opts lo = { sel, NULL, 500, true };
  struct rm_error err;
  int rc = kube_list (r->s->kc, path, &lo, collect, NULL, out, NULL, &err);
  free (sel);
  free (path);
  if (rc == KUBE_E_NOT_FOUND)
    return 0;
  if (rc != KUBE_OK)
    return imp_fail (r, "listing the release records (%s) in %s: %s", resource_of (d), r->ns,
                     err.message);
  return 0;
}

int
imp_check_existing (struct imp_run *r, struct strlist *existing, char **why)
{
  enum helm_driver other = r->driver == HELM_DRIVER_CONFIGMAP ? HELM_DRIVER_SECRET
                                                              : HELM_DRIVER_CONFIGMAP;
  struct strlist elsewhere = STRLIST_INIT;
  if (list_records (r, r->driver, existing) < 0 || list_records (r, other, &elsewhere) < 0) {
    strlist_free (&elsewhere);
    return -1;
  }
  size_t n = existing->n + elsewhere.n;
  int rc = 0;
  /* Skipping changes nothing in the cluster: the safe reading of "already there". */
  if (n && !r->s->replace) {
    *why = xasprintf ("release %s already exists in namespace %s: skipped; --replace to "
                      "overwrite", r->name, r->ns);
    rc = 1;
  }
  else if (elsewhere.n)
    log_warn ("%s/%s: --replace: the %zu release record%s kept as %s stay%s (Helm reads "
              "one driver); the restored release is written as %s", r->ns, r->name, elsewhere.n,
              elsewhere.n == 1 ? "" : "s", resource_of (other), elsewhere.n == 1 ? "s" : "",
              resource_of (r->driver));
  strlist_free (&elsewhere);
  return rc;
}

int
imp_write_records (struct imp_run *r, char **json, size_t n, const struct strlist *existing)
{
  struct strlist written = STRLIST_INIT;
  int rc = 0;
  time_t now = time (NULL);
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct helm_encode_opts eo = { NULL, now, r->ns, false };
    struct rm_error herr;
    cJSON *obj = NULL;
    if (helm_release_encode (json[i], strlen (json[i]), r->driver, &eo, &obj, &herr)
        != HELM_OK) {
      rc = imp_fail (r, "encoding the release record: %s", herr.message);
      break;
    }
    const char *name = cJSON_GetObjectItemCaseSensitive (
      cJSON_GetObjectItemCaseSensitive (obj, "metadata"), "name")->valuestring;
    const char *status = cJSON_GetObjectItemCaseSensitive (
      cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (obj, "metadata"),
                                        "labels"), "status")->valuestring;
    char *coll = kube_path ("v1", r->ns, resource (r), NULL);
    char *path = kube_path ("v1", r->ns, resource (r), name);
    strlist_push (&written, name);
    if (r->s->dry)
      imp_plan (r, "  record %s (%s): POST %s\n", name, status, coll);
    else {
      struct rm_error err;
      int krc = kube_create (r->s->kc, coll, obj, NULL, &err);
      if (krc == KUBE_OK)
        strlist_push (&r->created, path);
      else if (rm_primary (krc) == RM_E_EXISTS && r->s->replace)
        krc = kube_replace (r->s->kc, path, obj, NULL, &err);
      if (krc != KUBE_OK)
        rc = imp_fail (r, "writing the release record %s/%s: %s", r->ns, name, err.message);
      else
        log_info ("%s/%s: wrote release record %s (%s)", r->ns, r->name, name, status);
    }
    free (coll);
    free (path);
    cJSON_Delete (obj);
  }
  /* --replace: records of the release that the stored history does not have. */
  for (size_t i = 0; rc == 0 && existing && i < existing->n; i++) {
    if (strlist_contains (&written, existing->items[i]))
      continue;
    char *path = kube_path ("v1", r->ns, resource (r), existing->items[i]);
    if (r->s->dry)
      imp_plan (r, "  delete record %s: DELETE %s (--replace)\n", existing->items[i], path);
    else {
      struct rm_error err;
      if (imp_delete (r, path, false, &err) != KUBE_OK)
        rc = imp_fail (r, "deleting the old release record %s/%s: %s", r->ns,
                       existing->items[i], err.message);
    }
    free (path);
  }
  strlist_free (&written);
  return rc;
}
