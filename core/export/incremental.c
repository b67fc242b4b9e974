/* A daemon's batch of watched changes, exported without listing the cluster: the plan is
 * the previous snapshot (one unchanged item per entry in the scope) with each change
 * applied, and the changed records come from the watch events themselves, so a batch
 * makes no API request; the rest of the run (store listing, commit, retention) is
 * export_engine_run's.  The periodic resync's LIST repairs whatever a watch missed. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "export/internal.h"

static const char *
meta_str (const cJSON *obj, const char *field)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (obj, "metadata"), field);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

/* The item's strings in one allocation, as plan.c lays them out (uid, rv may be NULL). */
static void
item_fill (struct item *it, enum helm_driver driver, const char *ns, const char *object,
           const char *uid, const char *rv, const char *release, int rev)
{
  char *key = store_record_key (ns, release, rev);
  const char *src[] = { ns, object, uid, rv, release, key };
  const char **dst[] = { &it->namespace, &it->object, &it->uid, &it->rv, &it->release,
                         &it->key };
  size_t total = 0;
  for (size_t i = 0; i < ARRAY_SIZE (src); i++)
    total += src[i] ? strlen (src[i]) + 1 : 0;
  char *p = it->mem = xmalloc (total ? total : 1);
  for (size_t i = 0; i < ARRAY_SIZE (src); i++) {
    *dst[i] = src[i] ? memcpy (p, src[i], strlen (src[i]) + 1) : NULL;
    p += src[i] ? strlen (src[i]) + 1 : 0;
  }
  free (key);
  it->driver = driver;
  it->revision = rev;
}

static struct item *
item_add (struct export_engine *e)
{
  if (e->n == e->cap) {
    e->cap = e->cap ? e->cap * 2 : 64;
    e->items = xrealloc (e->items, e->cap * sizeof *e->items);
  }
  struct item *it = &e->items[e->n++];
  memset (it, 0, sizeof *it);
  return it;
}

/* Whether resourceVersion a is older than b, when both are decimal (etcd's are; the API
 * calls them opaque, so anything else is never older). */
static bool
rv_older (const char *a, const char *b)
{
  if (!a || !b || !*a || !*b || strspn (a, "0123456789") != strlen (a)
      || strspn (b, "0123456789") != strlen (b))
    return false;
  size_t la = strlen (a), lb = strlen (b);
  return la != lb ? la < lb : strcmp (a, b) < 0;
}

/* The previous snapshot's entries in the scope, one unchanged item each (an entry of the
 * older layout, or without its object's identity, is read again, as plan.c does).  False
 * when an entry does not say its driver: only a LIST can tell which object it is. */
static bool
items_from_snapshot (struct export_engine *e)
{
  for (size_t j = 0; e->old && j < e->old->n; j++) {
    struct store_record *o = &e->old->records[j];
    if (!o->driver)
      return false;
    if (!export_in_scope (e, o->namespace, o->release, o->driver))
      continue;
    const char *slash = o->source ? strchr (o->source, '/') : NULL;
    char *object = slash ? xstrdup (slash + 1)
                         : xasprintf ("sh.helm.release.v1.%s.v%d", o->release, o->revision);
    struct item *it = item_add (e);
    item_fill (it, strcmp (o->driver, "configmap") == 0 ? HELM_DRIVER_CONFIGMAP
                                                        : HELM_DRIVER_SECRET,
               o->namespace, object, o->source_uid, o->source_version, o->release, o->revision);
    free (object);
    it->old = o;
    it->state = store_record_key_current (o) && o->source_uid && o->source_version
                ? ITEM_UNCHANGED : ITEM_PENDING;
  }
  return true;
}

static struct item *
find_item (struct export_engine *e, const char *key, enum helm_driver driver, bool other)
{
  for (size_t i = 0; i < e->n; i++)
    if (e->items[i].mem && strcmp (e->items[i].key, key) == 0
        && (e->items[i].driver == driver) != other)
      return &e->items[i];
  return NULL;
}

static void
item_drop (struct item *it)
{
  free (it->mem);
  cJSON_Delete (it->obj);
  memset (it, 0, sizeof *it);          /* mem NULL: compacted away */
}

/* Apply one change.  False when it needs a LIST: the revision has an object of the
 * other driver too (plan.c and fetch.c decide between the two). */
static bool
apply_change (struct export_engine *e, const struct export_change *c, size_t *ignored)
{
  enum helm_driver driver = c->configmap ? HELM_DRIVER_CONFIGMAP : HELM_DRIVER_SECRET;
  const char *kind = c->configmap ? "configmap" : "secret";
  const char *ns = meta_str (c->object, "namespace"), *name = meta_str (c->object, "name");
  const char *uid = meta_str (c->object, "uid"), *rv = meta_str (c->object, "resourceVersion");
  char *release = NULL;
  int rev = 0;
  if (!ns || !name || !helm_object_name_parse (name, &release, &rev)) {
    (*ignored)++;
    return true;
  }
  if (!export_in_scope (e, ns, release, kind)) {
    log_debug ("%s %s/%s: outside this export's scope: ignored", kind, ns, name);
    (*ignored)++;
    free (release);
    return true;
  }
  char *key = store_record_key (ns, release, rev);
  bool ok = find_item (e, key, driver, true) == NULL;
  struct item *it = ok ? find_item (e, key, driver, false) : NULL;
  free (key);
  if (!ok) {
    log_debug ("%s %s/%s: the revision has a %s too: listing", kind, ns, name,
               c->configmap ? "Secret" : "ConfigMap");
    free (release);
    return false;
  }
  if (c->deleted) {
    /* An event about an older object of that name (deleted and made again) is not
     * about this one. */
    if (it && (!uid || !it->uid || strcmp (uid, it->uid) == 0))
      item_drop (it);
    free (release);
    return true;
  }
  if (it && uid && it->uid && strcmp (uid, it->uid) == 0) {
    if (rv && it->rv && (strcmp (rv, it->rv) == 0 || rv_older (rv, it->rv))) {
      /* What the snapshot (or an earlier change) holds already, or older than it. */
      free (release);
      return true;
    }
  }
  struct store_record *old = it ? it->old : (struct store_record *)
    store_index_find_revision (e->old, ns, release, rev);
  if (it)
    item_drop (it);
  else
    it = item_add (e);
  item_fill (it, driver, ns, name, uid, rv, release, rev);
  free (release);
  it->old = old;
  it->state = ITEM_PENDING;
  it->obj = cJSON_Duplicate (c->object, true);
  /* fetch.c: an object in hand is not fetched (nor replaced by a full LIST's). */
  it->queued = true;
  return true;
}

static int
cmp_item (const void *a, const void *b)
{
  const struct item *x = a, *y = b;
  int c = strcmp (x->key, y->key);
  return c ? c : (int) x->driver - (int) y->driver;
}

int
export_plan_changes (struct export_engine *e, struct rm_error *kerr)
{
  e->changes_listed = false;
  bool ok = items_from_snapshot (e);
  size_t ignored = 0;
  for (size_t i = 0; ok && i < e->nchanges; i++)
    ok = apply_change (e, &e->changes[i], &ignored);
  if (!ok) {
    export_items_free (e);
    e->changes_listed = true;
    return export_plan (e, kerr);
  }
  size_t w = 0, changed = 0;
  for (size_t i = 0; i < e->n; i++)
    if (e->items[i].mem) {
      changed += e->items[i].state == ITEM_PENDING;
      e->items[w++] = e->items[i];
    }
  e->n = w;
  if (e->n)
    qsort (e->items, e->n, sizeof *e->items, cmp_item);
  log_debug ("%zu changes: %zu release records to read, %zu ignored (outside the scope)",
             e->nchanges, changed, ignored);
  return KUBE_OK;
}
