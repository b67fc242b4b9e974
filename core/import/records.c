/* The release records written back as Helm's own storage, so that Helm owns the restored
 * release: one Secret (or ConfigMap) per stored revision, named, typed, labelled and
 * encoded exactly as Helm's storage driver does (helm/encode.c), in the namespace the
 * release is restored into.  A target namespace that already holds records of the
 * release is refused unless --replace, which overwrites them and deletes the others. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import/import.h"
#include "base/log.h"

static const char *
resource (const struct imp_run *r)
{
  return r->s->driver == HELM_DRIVER_CONFIGMAP ? "configmaps" : "secrets";
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

int
imp_check_existing (struct imp_run *r, struct strlist *existing)
{
  char *path = kube_path ("v1", r->ns, resource (r), NULL);
  char *sel = xasprintf ("owner=helm,name=%s", r->name);
  struct kube_list_opts lo = { sel, NULL, 500, true };
  struct rm_error err;
  int rc = kube_list (r->s->kc, path, &lo, collect, NULL, existing, NULL, &err);
  free (sel);
  free (path);
  if (rc == KUBE_E_NOT_FOUND)
    return 0;   /* the namespace does not exist yet */
  if (rc != KUBE_OK)
    return imp_fail (r, "listing the release records in %s: %s", r->ns, err.message);
  if (existing->n && !r->s->replace)
    return imp_fail (r, "release %s already exists in namespace %s (%zu record%s, see helm "
                     "history): uninstall it there first, or import with --replace to overwrite "
                     "it", r->name, r->ns, existing->n, existing->n == 1 ? "" : "s");
  return 0;
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
    if (helm_release_encode (json[i], strlen (json[i]), r->s->driver, &eo, &obj, &herr)
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
