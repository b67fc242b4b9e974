/* What a stored release asks to create: the rendered manifest split into objects
 * (libyaml, scalars typed as go-yaml v2 reads them, like Helm), the chart's crds/ files
 * and its hooks, and Helm's install order (helm pkg/release/util/kind_sorter.go). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "import/import.h"
#include "base/yamljson.h"

/* helm pkg/release/util/kind_sorter.go InstallOrder. */
static const char *const install_order[] = {
  "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
  "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
  "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
  "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
  "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
  "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
  "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
  "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
};

int
imp_kind_order (const char *kind)
{
  for (size_t i = 0; kind && i < ARRAY_SIZE (install_order); i++)
    if (strcmp (install_order[i], kind) == 0)
      return (int) i;
  return (int) ARRAY_SIZE (install_order);
}

void
imp_objects_free (struct imp_objects *l)
{
  for (size_t i = 0; i < l->n; i++) {
    cJSON_Delete (l->v[i].obj);
    free (l->v[i].hook);
  }
  free (l->v);
  memset (l, 0, sizeof *l);
}

static const char *
str_at (const cJSON *o, const char *k1, const char *k2)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, k1);
  if (k2)
    v = cJSON_GetObjectItemCaseSensitive (v, k2);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

static struct imp_object *
push (struct imp_objects *l, cJSON *obj)
{
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = xrealloc (l->v, l->cap * sizeof *l->v);
  }
  struct imp_object *o = &l->v[l->n++];
  memset (o, 0, sizeof *o);
  o->obj = obj;
  o->api_version = str_at (obj, "apiVersion", NULL);
  o->kind = str_at (obj, "kind", NULL);
  o->name = str_at (obj, "metadata", "name");
  o->order = imp_kind_order (o->kind);
  return o;
}

/* Helm's manifests may hold "kind: List"-style documents only in theory; a document must
 * be one object with apiVersion, kind and metadata.name. */
int
imp_split_manifest (const char *text, const char *what, struct imp_objects *out,
                    struct rm_error *err)
{
  struct yamljson y;
  int rc = yamljson_parse (text, strlen (text), what, &y, err);
  if (rc != RM_OK)
    return rc;
  cJSON *doc = y.docs->child;
  while (doc) {
    cJSON *next = doc->next;
    if (cJSON_IsNull (doc)) {
      doc = next;
      continue;
    }
    int line = yamljson_line (&y, doc);
    if (!cJSON_IsObject (doc)) {
      rc = err_set (err, RM_E_INVALID, "%s:%d: a document is not a Kubernetes object", what,
                    line);
      break;
    }
    cJSON_DetachItemViaPointer (y.docs, doc);
    struct imp_object *o = push (out, doc);
    if (!o->api_version || !o->kind || !o->name) {
      rc = err_set (err, RM_E_INVALID, "%s:%d: an object without %s", what, line,
                    !o->api_version ? "apiVersion" : !o->kind ? "kind" : "metadata.name");
      break;
    }
    doc = next;
  }
  yamljson_free (&y);
  return rc;
}

static int
cmp_order (const void *a, const void *b)
{
  const struct imp_object *x = a, *y = b;
  if (x->order != y->order)
    return x->order - y->order;
  /* Unknown kinds: by kind name (Helm's lessByKind); known ones keep their order. */
  if (x->order == imp_kind_order (NULL)) {
    int c = strcmp (x->kind, y->kind);
    if (c)
      return c;
  }
  return 0;
}

void
imp_sort_install_order (struct imp_objects *l)
{
  /* A stable insertion sort: manifests hold tens of objects, and qsort is not stable. */
  for (size_t i = 1; i < l->n; i++) {
    struct imp_object t = l->v[i];
    size_t j = i;
    while (j > 0 && cmp_order (&l->v[j - 1], &t) > 0) {
      l->v[j] = l->v[j - 1];
      j--;
    }
    l->v[j] = t;
  }
}

static bool
manifest_ext (const char *name)
{
  return str_has_suffix (name, ".yaml") || str_has_suffix (name, ".yml")
         || str_has_suffix (name, ".json");
}

int
imp_chart_crds (const cJSON *release, struct imp_objects *out, struct rm_error *err)
{
  const cJSON *files = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (release, "chart"), "files");
  const cJSON *f;
  cJSON_ArrayForEach (f, files) {
    const char *name = str_at (f, "name", NULL);
    const char *data = str_at (f, "data", NULL);
    /* Helm's chart.CRDObjects: files directly or deeper under crds/ with a manifest
     * extension. */
    if (!name || !data || !str_has_prefix (name, "crds/") || !manifest_ext (name))
      continue;
    size_t len;
    struct rm_error why;
    char *text = (char *) base64_decode (data, strlen (data), &len, &why);
    if (!text)
      return err_set (err, why.code, "chart file %s: %s", name, why.message);
    size_t before = out->n;
    int rc = imp_split_manifest (text, name, out, err);
    free (text);
    if (rc != RM_OK)
      return rc;
    for (size_t i = before; i < out->n; i++)
      if (!out->v[i].kind || strcmp (out->v[i].kind, "CustomResourceDefinition") != 0)
        return err_set (err, RM_E_INVALID, "chart file %s: %s %s is not a "
                        "CustomResourceDefinition", name, out->v[i].kind, out->v[i].name);
  }
  return RM_OK;
}

static bool
has_string (const cJSON *arr, const char *s)
{
  const cJSON *e;
  cJSON_ArrayForEach (e, arr) {
    if (cJSON_IsString (e) && strcmp (e->valuestring, s) == 0)
      return true;
  }
  return false;
}

static int
cmp_hook (const void *a, const void *b)
{
  const struct imp_object *x = a, *y = b;
  if (x->weight != y->weight)
    return x->weight < y->weight ? -1 : 1;
  return strcmp (x->hook ? x->hook : "", y->hook ? y->hook : "");
}

int
imp_hooks_for (const cJSON *release, const char *event, struct imp_objects *out,
               struct rm_error *err)
{
  const cJSON *h;
  size_t before = out->n;
  cJSON_ArrayForEach (h, cJSON_GetObjectItemCaseSensitive (release, "hooks")) {
    if (!has_string (cJSON_GetObjectItemCaseSensitive (h, "events"), event))
      continue;
    const char *manifest = str_at (h, "manifest", NULL);
    const char *name = str_at (h, "name", NULL);
    const char *path = str_at (h, "path", NULL);
    if (!manifest)
      continue;
    size_t at = out->n;
    int rc = imp_split_manifest (manifest, path ? path : "hook", out, err);
    if (rc != RM_OK)
      return rc;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive (h, "weight");
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive (h, "delete_policies");
    unsigned policies = 0;
    if (has_string (pol, "before-hook-creation"))
      policies |= IMP_HOOK_BEFORE_CREATION;
    if (has_string (pol, "hook-succeeded"))
      policies |= IMP_HOOK_SUCCEEDED;
    if (has_string (pol, "hook-failed"))
      policies |= IMP_HOOK_FAILED;
    /* Helm: no policy at all means before-hook-creation. */
    if (!policies)
      policies = IMP_HOOK_BEFORE_CREATION;
    for (size_t i = at; i < out->n; i++) {
      out->v[i].hook = xstrdup (name ? name : out->v[i].name);
      out->v[i].weight = cJSON_IsNumber (w) ? w->valueint : 0;
      out->v[i].policies = policies;
    }
  }
  if (out->n > before)
    qsort (out->v + before, out->n - before, sizeof *out->v, cmp_hook);
  return RM_OK;
}
