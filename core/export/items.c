/* The items of an export's plan, shared by the plan (plan.c), the fetch (fetch.c) and a
 * daemon's batch (incremental.c): the scope of the filters, one item per listed release
 * object, the engine's item array, the collections to list. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "export/internal.h"

static const char *
json_str (const cJSON *o, const char *path1, const char *path2)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, path1);
  if (path2)
    v = cJSON_GetObjectItemCaseSensitive (v, path2);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

static bool
wanted (const struct export_engine *e, const char *ns, const char *release)
{
  if (e->only_ns.n && !strlist_contains (&e->only_ns, ns))
    return false;
  if (strlist_contains (&e->skip_ns, ns))
    return false;
  if (e->only_release.n && !strlist_contains (&e->only_release, release))
    return false;
  return true;
}

bool
export_in_scope (const struct export_engine *e, const char *ns, const char *release,
                 const char *driver)
{
  if (!wanted (e, ns, release))
    return false;
  if (driver && strcmp (driver, "secret") == 0)
    return e->list_secrets;
  if (driver && strcmp (driver, "configmap") == 0)
    return e->list_configmaps;
  return e->list_secrets && e->list_configmaps;
}

bool
export_whole_cluster (const struct export_engine *e)
{
  return !e->only_ns.n && !e->skip_ns.n && !e->only_release.n && e->list_secrets
         && e->list_configmaps;
}

static void
item_free (struct item *it)
{
  free (it->mem);
  free (it->why);
  cJSON_Delete (it->obj);
  store_record_clear (&it->rec);
}

void
export_items_free (struct export_engine *e)
{
  for (size_t i = 0; i < e->n; i++)
    item_free (&e->items[i]);
  free (e->items);
  e->items = NULL;
  e->n = e->cap = 0;
}

/* The item's strings in one allocation (uid and rv may be NULL). */
static void
item_strings (struct item *it, const char *ns, const char *object, const char *uid,
              const char *rv, const char *release, int rev)
{
  char *key = store_record_key (ns, release, rev);
  const char *src[] = { ns, object, uid, rv, release, key };
  size_t len[ARRAY_SIZE (src)], total = 0;
  for (size_t i = 0; i < ARRAY_SIZE (src); i++)
    total += len[i] = src[i] ? strlen (src[i]) + 1 : 0;
  char *p = it->mem = xmalloc (total ? total : 1);
  const char *dst[ARRAY_SIZE (src)];
  for (size_t i = 0; i < ARRAY_SIZE (src); i++) {
    dst[i] = src[i] ? memcpy (p, src[i], len[i]) : NULL;
    p += len[i];
  }
  it->namespace = dst[0];
  it->object = dst[1];
  it->uid = dst[2];
  it->rv = dst[3];
  it->release = dst[4];
  it->key = dst[5];
  free (key);
}

void
export_items_reserve (struct export_engine *e, size_t n)
{
  if (n <= e->cap)
    return;
  /* The previous snapshot's size is the best guess of how many there are. */
  size_t guess = e->old ? e->old->n + e->old->n / 8 + 64 : 256;
  size_t cap = e->cap ? e->cap * 2 : guess;
  e->cap = cap > n ? cap : n;
  e->items = xrealloc (e->items, e->cap * sizeof *e->items);
}

bool
export_item_init (const struct export_engine *e, enum helm_driver driver, const cJSON *obj,
                  struct item *it)
{
  const char *ns = json_str (obj, "metadata", "namespace");
  const char *name = json_str (obj, "metadata", "name");
  if (!ns || !name)
    return false;
  char *release = NULL;
  int rev = 0;
  if (!helm_object_name_parse (name, &release, &rev)) {
    log_warn ("%s %s/%s has label owner=helm but is not named like a Helm release record "
              "(sh.helm.release.v1.NAME.vN): skipped",
              driver == HELM_DRIVER_SECRET ? "secret" : "configmap", ns, name);
    return false;
  }
  if (!wanted (e, ns, release)) {
    free (release);
    return false;
  }
  memset (it, 0, sizeof *it);
  it->driver = driver;
  it->state = ITEM_PENDING;
  item_strings (it, ns, name, json_str (obj, "metadata", "uid"),
                json_str (obj, "metadata", "resourceVersion"), release, rev);
  it->revision = rev;
  free (release);
  return true;
}

void
export_item_free (struct item *it)
{
  item_free (it);
}

void
export_collection_paths (const struct export_engine *e, enum helm_driver driver,
                         struct strlist *paths)
{
  const char *resource = driver == HELM_DRIVER_SECRET ? "secrets" : "configmaps";
  for (size_t i = 0; i < (e->only_ns.n ? e->only_ns.n : 1); i++) {
    char *p = kube_path ("v1", e->only_ns.n ? e->only_ns.items[i] : NULL, resource, NULL);
    strlist_push (paths, p);
    free (p);
  }
}
