/* The release records written back as Helm's own storage, so that Helm owns the restored
 * release: one Secret (or ConfigMap) per stored revision, named, typed, labelled and
 * encoded exactly as Helm's storage driver does (helm/encode.c), in the namespace the
 * release is restored into, with the driver the release was stored from unless
 * --helm-driver says otherwise.  The records are what makes a release exist for Helm,
 * so they are written last (release.c); records found already there are compared with
 * the ones this import would write: all of them identical is a release already restored
 * (skipped), some of them an interrupted import of the same store (resumed: the rest are
 * written), anything else another release, skipped as the original tool does unless
 * --replace, which overwrites them and deletes the others.  The check reads no more than
 * it must: a metadata-only LIST (label selector owner=helm,name=RELEASE in the target
 * namespace) per driver gives the names; only a record named as one this import writes
 * is compared, by the SHA-256 annotation this import puts on the records it writes, or,
 * without it (written by helm or an earlier version), by one GET and its bytes. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import/import.h"
#include "base/log.h"
#include "base/sha256.h"

/* The SHA-256 of the release JSON a record was written with, on the records the import
 * writes.  Helm rewrites a record whole when it changes it (its status, at the next
 * upgrade), which drops the annotation. */
#define RECORD_SHA256 "releasemanager.io/record-sha256"

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
  struct strlist compare;    /* named as one of ours, without a matching hash: GET them */
};

/* Which of the records this import would write is named name, or -1. */
static long
ours (const struct seen *sn, const char *name)
{
  for (size_t i = 0; i < sn->n; i++) {
    char *key = helm_release_key (sn->r->name, sn->versions[i]);
    bool hit = strcmp (key, name) == 0;
    free (key);
    if (hit)
      return (long) i;
  }
  return -1;
}

/* A record is this import's when it is the one it would write for that revision: the
 * same object name, driver and release JSON, byte for byte (Helm's encoding is
 * deterministic, so the same content means the same JSON).  item is the full object. */
static bool
same_record (const struct seen *sn, const cJSON *item, size_t i)
{
  struct helm_release rel;
  struct rm_error err;
  if (helm_release_decode (item, sn->driver, NULL, &rel, &err) != HELM_OK)
    return false;
  bool same = sn->versions[i] == rel.version && rel.json_len == strlen (sn->json[i])
              && memcmp (rel.json, sn->json[i], rel.json_len) == 0;
  helm_release_free (&rel);
  return same;
}

/* One item of the metadata-only LIST: a name, and maybe the hash annotation. */
static int
collect (void *ud, const cJSON *item)
{
  struct seen *sn = ud;
  const cJSON *md = cJSON_GetObjectItemCaseSensitive (item, "metadata");
  const cJSON *n = cJSON_GetObjectItemCaseSensitive (md, "name");
  if (!cJSON_IsString (n))
    return 0;
  if (sn->names)
    strlist_push (sn->names, n->valuestring);
  /* Under the other driver nothing is ours (Helm reads one driver). */
  long i = sn->driver == sn->r->driver ? ours (sn, n->valuestring) : -1;
  if (i < 0) {
    sn->others++;
    return 0;
  }
  const cJSON *h = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (md, "annotations"), RECORD_SHA256);
  char hex[SHA256_HEX_SIZE];
  if (cJSON_IsString (h)) {
    sha256_hex (sn->json[i], strlen (sn->json[i]), hex);
    if (strcmp (h->valuestring, hex) == 0) {
      strlist_push (sn->same, n->valuestring);
      return 0;
    }
  }
  strlist_push (&sn->compare, n->valuestring);
  return 0;
}

static void
restart (void *ud)
{
  struct seen *sn = ud;
  if (sn->names)
    strlist_free (sn->names);
  strlist_free (sn->same);
  strlist_free (&sn->compare);
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
  struct kube_list_opts lo = { sel, NULL, 500, true };
  struct rm_error err;
  int rc = kube_list (r->s->kc, path, &lo, collect, restart, sn, NULL, &err);
  free (sel);
  if (rc == KUBE_E_NOT_FOUND)
    rc = KUBE_OK;
  else if (rc != KUBE_OK)
    rc = imp_fail (r, "listing the release records (%s) in %s: %s", resource_of (d), r->ns,
                   err.message);
  /* The records named as ours that the hash did not settle: read and compared. */
  for (size_t k = 0; rc == KUBE_OK && k < sn->compare.n; k++) {
    const char *name = sn->compare.items[k];
    char *one = kube_path ("v1", r->ns, resource_of (d), name);
    cJSON *item = NULL;
    int grc = kube_get (r->s->kc, one, &item, &err);
    free (one);
    if (grc == KUBE_OK && same_record (sn, item, (size_t) ours (sn, name)))
      strlist_push (sn->same, name);
    else if (grc == KUBE_OK)
      sn->others++;
    else if (grc != KUBE_E_NOT_FOUND)   /* deleted since the LIST: not there */
      rc = imp_fail (r, "reading the release record %s/%s: %s", r->ns, name, err.message);
    cJSON_Delete (item);
  }
  strlist_free (&sn->compare);
  free (path);
  return rc == KUBE_OK ? 0 : -1;
}

int
imp_check_existing (struct imp_run *r, char **json, const int *versions, size_t n,
                    struct strlist *existing, struct strlist *present, char **why)
{
  enum helm_driver other = r->driver == HELM_DRIVER_CONFIGMAP ? HELM_DRIVER_SECRET
                                                              : HELM_DRIVER_CONFIGMAP;
  struct strlist elsewhere = STRLIST_INIT, same_elsewhere = STRLIST_INIT;
  struct seen sn = { r, r->driver, json, versions, n, existing, present, 0, STRLIST_INIT };
  struct seen so = { r, other, json, versions, n, &elsewhere, &same_elsewhere, 0,
                     STRLIST_INIT };
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
    cJSON *md = cJSON_GetObjectItemCaseSensitive (obj, "metadata");
    const char *name = cJSON_GetObjectItemCaseSensitive (md, "name")->valuestring;
    /* what a later import compares without reading the record */
    char hex[SHA256_HEX_SIZE];
    sha256_hex (json[i], strlen (json[i]), hex);
    cJSON *ann = cJSON_GetObjectItemCaseSensitive (md, "annotations");
    if (!cJSON_IsObject (ann))
      ann = cJSON_AddObjectToObject (md, "annotations");
    cJSON_AddStringToObject (ann, RECORD_SHA256, hex);
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
