/* The release records written back as Helm's own storage, so that Helm owns the restored
 * release: one Secret (or ConfigMap) per stored revision, named, typed, labelled and
 * encoded exactly as Helm's storage driver does (helm/encode.c), in the namespace the
 * release is restored into, with the driver the release was stored from unless
 * --helm-driver says otherwise.  The records are what makes a release exist for Helm,
 * so they are written last (release.c); records found already there are compared with
 * the ones this import would write: all of them identical is a release already restored
 * (skipped), some of them an interrupted import of the same store (resumed: the rest are
 * written), anything else another release, skipped as the original tool does unless
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

/* What list_records learns of the records of the release that are already there. */
struct seen {
  struct imp_run *r;
  enum helm_driver driver;
  char **json;               /* the records this import would write, by revision */
  const int *versions;
  size_t n;
  struct strlist *names;     /* every record's object name (under r->driver) */
  struct strlist *same;      /* those identical to one this import would write */
  size_t others;             /* records that are not this import's */
};

/* A record is this import's when it is the one it would write for that revision: the
 * same object name, driver and release JSON, byte for byte (Helm's encoding is
 * deterministic, so the same content means the same JSON). */
static bool
same_record (const struct seen *sn, const cJSON *item, const char *name)
{
  if (sn->driver != sn->r->driver)
    return false;
  struct helm_release rel;
  struct rm_error err;
  if (helm_release_decode (item, sn->driver, NULL, &rel, &err) != HELM_OK)
    return false;
  bool same = false;
  for (size_t i = 0; i < sn->n && !same; i++) {
    if (sn->versions[i] != rel.version)
      continue;
    char *key = helm_release_key (sn->r->name, sn->versions[i]);
    same = strcmp (key, name) == 0 && rel.json_len == strlen (sn->json[i])
           && memcmp (rel.json, sn->json[i], rel.json_len) == 0;
    free (key);
  }
  helm_release_free (&rel);
  return same;
}

static int
collect (void *ud, const cJSON *item)
{
  struct seen *sn = ud;
  const cJSON *n = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (item, "metadata"), "name");
  if (!cJSON_IsString (n))
    return 0;
  if (sn->names)
    strlist_push (sn->names, n->valuestring);
  if (same_record (sn, item, n->valuestring))
    strlist_push (sn->same, n->valuestring);
  else
    sn->others++;
  return 0;
}

static void
restart (void *ud)
{
  struct seen *sn = ud;
  if (sn->names)
    strlist_free (sn->names);
  strlist_free (sn->same);
  sn->others = 0;
}

/* The records of this release under driver d in the target namespace, into sn: 0, or -1
 * (r->error).  A namespace that does not exist yet holds none. */
static int
list_records (struct seen *sn, enum helm_driver d)
{
  struct imp_run *r = sn->r;
  sn->driver = d;
  char *path = kube_path ("v1", r->ns, resource_of (d), NULL);
  char *sel = xasprintf ("owner=helm,name=%s", r->name);
  struct kube_list_opts lo = { sel, NULL, 500, false };
  struct rm_error err;
  int rc = kube_list (r->s->kc, path, &lo, collect, restart, sn, NULL, &err);
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
imp_check_existing (struct imp_run *r, char **json, const int *versions, size_t n,
                    struct strlist *existing, struct strlist *present, char **why)
{
  enum helm_driver other = r->driver == HELM_DRIVER_CONFIGMAP ? HELM_DRIVER_SECRET
                                                              : HELM_DRIVER_CONFIGMAP;
  struct strlist elsewhere = STRLIST_INIT, same_elsewhere = STRLIST_INIT;
  struct seen sn = { r, r->driver, json, versions, n, existing, present, 0 };
  struct seen so = { r, other, json, versions, n, &elsewhere, &same_elsewhere, 0 };
  if (list_records (&sn, r->driver) < 0 || list_records (&so, other) < 0) {
    strlist_free (&elsewhere);
    strlist_free (&same_elsewhere);
    return -1;
  }
  int rc;
  if (sn.others || so.others)
    rc = IMP_EXIST_OTHER;
  else if (present->n == n)
    rc = IMP_EXIST_SAME;
  else
    rc = present->n ? IMP_EXIST_PARTIAL : IMP_EXIST_NONE;
  /* Skipping changes nothing in the cluster: the safe reading of "already there". */
  if (rc == IMP_EXIST_OTHER && !r->s->replace)
    *why = xasprintf ("release %s already exists in namespace %s: skipped; --replace to "
                      "overwrite", r->name, r->ns);
  else if (rc == IMP_EXIST_SAME && !r->s->replace)
    *why = xasprintf ("already restored: its %zu record%s in %s match the store", n,
                      n == 1 ? "" : "s", r->ns);
  else if (elsewhere.n)
    log_warn ("%s/%s: --replace: the %zu release record%s kept as %s stay%s (Helm reads "
              "one driver); the restored release is written as %s", r->ns, r->name, elsewhere.n,
              elsewhere.n == 1 ? "" : "s", resource_of (other), elsewhere.n == 1 ? "s" : "",
              resource_of (r->driver));
  if (r->s->replace)
    strlist_free (present);   /* --replace writes them all again */
  strlist_free (&elsewhere);
  strlist_free (&same_elsewhere);
  return rc;
}

int
imp_write_records (struct imp_run *r, char **json, size_t n, const struct strlist *existing,
                   const struct strlist *present)
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
    if (present && strlist_contains (present, name)) {
      if (r->s->dry)
        imp_plan (r, "  record %s (%s): there already (an earlier import)\n", name, status);
    }
    else if (r->s->dry)
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
