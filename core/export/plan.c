/* The plan of one export: list the release Secrets (or ConfigMaps) as metadata only, one
 * item per object, and compare each with the previous snapshot: an object whose uid and
 * resourceVersion are unchanged is not read again. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "export/internal.h"

/* Items per page of the metadata-only LIST.  kubectl pages full objects by 500; a
 * metadata item (PartialObjectMetadata: name, namespace, uid, resourceVersion, labels,
 * ~200-400 bytes as JSON) is ~10x smaller than even a small release Secret, so a page of
 * 5000 is no bigger than kubectl's 500 and lists 5000 release records in one request. */
#define METADATA_PAGE 5000

struct list_ctx {
  struct export_engine *e;
  enum helm_driver driver;
  size_t start;
};

/* The LIST starts over: drop what this collection delivered so far. */
static void
list_restart (void *ud)
{
  struct list_ctx *l = ud;
  for (size_t i = l->start; i < l->e->n; i++)
    export_item_free (&l->e->items[i]);
  l->e->n = l->start;
}

static int
list_item (void *ud, const cJSON *obj)
{
  struct list_ctx *l = ud;
  struct export_engine *e = l->e;
  export_items_reserve (e, e->n + 1);
  if (export_item_init (e, l->driver, obj, &e->items[e->n]))
    e->n++;
  return 0;
}

static int
list_driver (struct export_engine *e, enum helm_driver driver, struct rm_error *kerr)
{
  struct kube_list_opts lo = { "owner=helm", NULL, METADATA_PAGE, true };
  struct strlist paths = STRLIST_INIT;
  export_collection_paths (e, driver, &paths);
  int rc = KUBE_OK;
  for (size_t i = 0; i < paths.n && rc == KUBE_OK; i++) {
    struct list_ctx l = { e, driver, e->n };
    struct kube_list_info info = { 0 };
    rc = kube_list (e->kc, paths.items[i], &lo, list_item, list_restart, &l, &info, kerr);
    log_debug ("listed %s: %lu items in %u pages%s", paths.items[i], info.items, info.pages,
               info.metadata_only ? " (metadata only)" : "");
    kube_list_info_free (&info);
  }
  strlist_free (&paths);
  return rc;
}

static int
stop_at_first (void *ud, const cJSON *item)
{
  (void) item;
  *(bool *) ud = true;
  return 1;
}

/* Whether any object of resource matches selector, reading at most one.  A LIST that
 * fails answers false (no hint is better than a wrong one) and says why at debug level:
 * these are advisory checks, and the export does not need the permission. */
static bool
any_object (struct export_engine *e, const char *resource, const char *selector)
{
  struct kube_list_opts lo = { selector, NULL, 1, true };
  struct rm_error kerr;
  bool found = false;
  char *p = kube_path ("v1", NULL, resource, NULL);
  int rc = kube_list (e->kc, p, &lo, stop_at_first, NULL, &found, NULL, &kerr);
  if (rc != KUBE_OK && rc != KUBE_E_ABORTED) {
    log_debug ("cannot tell whether %s has objects labelled %s: %s", p, selector, kerr.message);
    found = false;
  }
  free (p);
  return found;
}

static int
cmp_item (const void *a, const void *b)
{
  const struct item *x = a, *y = b;
  int c = strcmp (x->key, y->key);
  /* Secrets before ConfigMaps for the same record (auto driver). */
  return c ? c : (int) x->driver - (int) y->driver;
}

/* List one driver's objects.  With both drivers asked for (auto), a driver the cluster
 * refuses us (HTTP 403: the original tool's chart grants list on secrets only) is left
 * out of the run with a warning, once per engine: what the store holds of it stays as it
 * was (export_in_scope).  *listed says whether it was listed. */
static int
list_driver_scoped (struct export_engine *e, enum helm_driver driver, bool single,
                    bool *listed, struct rm_error *kerr)
{
  size_t start = e->n;
  int rc = single ? export_fetch_listing (e, driver, kerr) : list_driver (e, driver, kerr);
  *listed = rc == KUBE_OK;
  if (rc != KUBE_E_FORBIDDEN || !e->o.secrets || !e->o.configmaps)
    return rc;
  for (size_t i = start; i < e->n; i++)
    export_item_free (&e->items[i]);
  e->n = start;
  bool secrets = driver == HELM_DRIVER_SECRET;
  if (!e->forbidden_warned[!secrets])
    log_warn ("%s (HTTP 403): releases stored by Helm's %s driver are not exported in this "
              "run, and those already stored are kept as they were; grant the manager's "
              "service account list on %s, or use --helm-driver %s", kerr->message,
              secrets ? "Secret" : "ConfigMap", secrets ? "secrets" : "configmaps",
              secrets ? "configmap" : "secret");
  else
    log_debug ("%s (HTTP 403): not exported in this run", kerr->message);
  e->forbidden_warned[!secrets] = true;
  return KUBE_OK;
}

/* single: the first driver listed is read in the same full LIST (export_plan_first). */
static int
plan_list (struct export_engine *e, bool single, struct rm_error *kerr)
{
  e->list_secrets = e->list_configmaps = false;
  int rc;
  if (single && e->o.secrets && e->o.configmaps) {
    /* auto: the ConfigMaps first (metadata only, sorted), so that the Secrets' LIST
     * leaves a Secret with a ConfigMap of the same revision to resolve_duplicates
     * (fetch.c) instead of storing it at once. */
    rc = list_driver_scoped (e, HELM_DRIVER_CONFIGMAP, false, &e->list_configmaps, kerr);
    if (rc == KUBE_OK && e->n)
      qsort (e->items, e->n, sizeof *e->items, cmp_item);
    if (rc == KUBE_OK)
      rc = list_driver_scoped (e, HELM_DRIVER_SECRET, true, &e->list_secrets, kerr);
  }
  else {
    rc = e->o.secrets ? list_driver_scoped (e, HELM_DRIVER_SECRET, single, &e->list_secrets,
                                            kerr)
                      : KUBE_OK;
    if (rc == KUBE_OK && e->o.configmaps)
      rc = list_driver_scoped (e, HELM_DRIVER_CONFIGMAP, single && !e->o.secrets,
                               &e->list_configmaps, kerr);
  }
  if (rc == KUBE_OK && !e->list_secrets && !e->list_configmaps) {
    /* auto, and both refused: nothing to export. */
    rm_error_set (kerr, KUBE_E_FORBIDDEN, "neither release Secrets nor release ConfigMaps "
                  "may be listed (HTTP 403): grant the manager's service account list on "
                  "secrets (and configmaps)");
    rc = KUBE_E_FORBIDDEN;
  }
  return rc;
}

void
export_plan_finish (struct export_engine *e)
{
  /* Helm 2 (Tiller) records are not restorable: say so once (asked once per engine: a
   * daemon's resyncs do not ask again). */
  if (!e->tiller_checked) {
    e->tiller_checked = true;
    if (any_object (e, "configmaps", "OWNER=TILLER"))
      log_warn ("the cluster has Helm 2 (Tiller) release records (ConfigMaps labelled "
                "OWNER=TILLER): they are not exported; migrate them to Helm 3 with helm-2to3");
  }
  if (e->n == 0 && !e->o.configmaps && any_object (e, "configmaps", "owner=helm"))
    log_warn ("no Helm release Secrets found, but release ConfigMaps exist: use "
              "--helm-driver configmap (or auto)");

  /* One record per key: with --helm-driver auto, a Secret wins over a ConfigMap. */
  if (e->n)
    qsort (e->items, e->n, sizeof *e->items, cmp_item);
  for (size_t i = 1; i < e->n; i++)
    if (strcmp (e->items[i].key, e->items[i - 1].key) == 0 && e->items[i].state == ITEM_PENDING) {
      e->items[i].state = ITEM_SUPERSEDED;
      e->items[i].why = xasprintf ("configmap %s/%s duplicates the Secret of the same release "
                                   "revision: the Secret is exported", e->items[i].namespace,
                                   e->items[i].object);
    }
  for (size_t i = 0; i < e->n; i++) {
    struct item *it = &e->items[i];
    /* The engine's own copy of the snapshot: build_index may take records from it. */
    it->old = (struct store_record *) store_index_find_revision (e->old, it->namespace,
                                                                 it->release, it->revision);
    /* An entry of the older layout (no hash in its key) is written again. */
    if (it->state == ITEM_PENDING && it->old && store_record_key_current (it->old)
        && it->uid && it->rv && it->old->source_uid
        && it->old->source_version && strcmp (it->old->source_uid, it->uid) == 0
        && strcmp (it->old->source_version, it->rv) == 0) {
      /* Its index entry is it->old, taken over by build_index. */
      it->state = ITEM_UNCHANGED;
    }
  }
}

int
export_plan_list (struct export_engine *e, struct rm_error *kerr)
{
  return plan_list (e, false, kerr);
}

int
export_plan (struct export_engine *e, struct rm_error *kerr)
{
  int rc = plan_list (e, false, kerr);
  if (rc == KUBE_OK)
    export_plan_finish (e);
  return rc;
}

int
export_plan_first (struct export_engine *e, struct rm_error *kerr)
{
  int rc = plan_list (e, true, kerr);
  if (rc == KUBE_OK)
    export_plan_finish (e);
  return rc;
}
