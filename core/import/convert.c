/* API version conversion for import (issue 16): an object whose apiVersion the target
 * cluster does not serve becomes the served replacement of the Kubernetes deprecated API
 * migration guide, with the field changes each one needs and the old API's defaults
 * written out where the new one changed them.  The table below is the one place the
 * conversions are listed (doc/api-conversions.md describes it).  Everything down to
 * imp_convert_manifest is pure: an object and a served-set callback in, the object and
 * what changed out.  imp_convert_release, at the end, applies it to one release being
 * restored, with discovery as the served set, and is the preflight of that release. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/convert.h"
#include "base/log.h"
#include "base/yamljson.h"

/* ---- small cJSON helpers ---- */

static cJSON *
get (const cJSON *o, const char *key)
{
  return cJSON_GetObjectItemCaseSensitive (o, key);
}

static const char *
get_str (const cJSON *o, const char *key)
{
  const cJSON *v = get (o, key);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

/* o[key] as an object, created (or replacing a non-object) when needed. */
static cJSON *
obj_at (cJSON *o, const char *key)
{
  cJSON *v = get (o, key);
  if (!cJSON_IsObject (v)) {
    cJSON_DeleteItemFromObjectCaseSensitive (o, key);
    v = cJSON_AddObjectToObject (o, key);
  }
  return v;
}

/* o[key] = v, in the place of the old value when there is one (apiVersion stays first). */
static void
put (cJSON *o, const char *key, cJSON *v)
{
  if (get (o, key))
    cJSON_ReplaceItemInObjectCaseSensitive (o, key, v);
  else
    cJSON_AddItemToObject (o, key, v);
}

/* Move from[key] to to[newkey] (when present); true when moved. */
static bool
move (cJSON *from, const char *key, cJSON *to, const char *newkey)
{
  cJSON *v = cJSON_DetachItemFromObjectCaseSensitive (from, key);
  if (!v)
    return false;
  put (to, newkey, v);
  return true;
}

static bool
drop (cJSON *o, const char *key)
{
  cJSON *v = cJSON_DetachItemFromObjectCaseSensitive (o, key);
  cJSON_Delete (v);
  return v != NULL;
}

static bool
empty_object (const cJSON *v)
{
  return !v || cJSON_IsNull (v) || (cJSON_IsObject (v) && !v->child);
}

static bool
all_digits (const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* ---- the field changes, one function per conversion that has any ---- */

struct ctx {
  const char *from;             /* the object's old apiVersion */
  struct imp_conversion *c;
};

static void
changed (struct ctx *x, const char *fmt, ...) __attribute__((format (printf, 2, 3)));
static void
changed (struct ctx *x, const char *fmt, ...)
{
  struct strbuf sb = STRBUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (&sb, fmt, ap);
  va_end (ap);
  strlist_push (&x->c->changes, sb.data);
  strbuf_free (&sb);
}

static void
warn (struct ctx *x, const char *fmt, ...) __attribute__((format (printf, 2, 3)));
static void
warn (struct ctx *x, const char *fmt, ...)
{
  struct strbuf sb = STRBUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (&sb, fmt, ap);
  va_end (ap);
  strlist_push (&x->c->warnings, sb.data);
  strbuf_free (&sb);
}

/* Set spec[key] to v unless the manifest set it: an old default made explicit. */
static void
keep_default (struct ctx *x, cJSON *spec, const char *key, cJSON *v, const char *why)
{
  if (get (spec, key)) {
    cJSON_Delete (v);
    return;
  }
  cJSON_AddItemToObject (spec, key, v);
  changed (x, "spec.%s: %s", key, why);
}

/* Deployment, DaemonSet, ReplicaSet, StatefulSet to apps/v1. */
static void
fix_workload (cJSON *obj, struct ctx *x)
{
  const char *kind = get_str (obj, "kind");
  cJSON *spec = obj_at (obj, "spec");
  bool ext = strcmp (x->from, "extensions/v1beta1") == 0;
  bool v1beta1 = strcmp (x->from, "apps/v1beta1") == 0;
  if (!get (spec, "selector")) {
    /* The old APIs defaulted the selector to the template's labels. */
    const cJSON *labels = get (get (get (spec, "template"), "metadata"), "labels");
    if (cJSON_IsObject (labels)) {
      cJSON *sel = cJSON_AddObjectToObject (spec, "selector");
      cJSON_AddItemToObject (sel, "matchLabels", cJSON_Duplicate (labels, true));
      changed (x, "spec.selector: the template's labels (the old API's default)");
    }
  }
  if (drop (spec, "rollbackTo"))
    changed (x, "spec.rollbackTo: removed (not in apps/v1)");
  if (drop (spec, "templateGeneration"))
    changed (x, "spec.templateGeneration: removed (not in apps/v1)");
  if (strcmp (kind, "Deployment") == 0 && (ext || v1beta1)) {
    if (ext) {
      keep_default (x, spec, "revisionHistoryLimit", cJSON_CreateNumber (2147483647),
                    "2147483647 (extensions/v1beta1 kept every ReplicaSet)");
      keep_default (x, spec, "progressDeadlineSeconds", cJSON_CreateNumber (2147483647),
                    "2147483647 (extensions/v1beta1 had no deadline)");
    }
    else
      keep_default (x, spec, "revisionHistoryLimit", cJSON_CreateNumber (2),
                    "2 (apps/v1beta1's default)");
    cJSON *strategy = get (spec, "strategy");
    const char *type = get_str (strategy, "type");
    if (ext && (!type || strcmp (type, "RollingUpdate") == 0)) {
      cJSON *st = obj_at (spec, "strategy");
      if (!type)
        cJSON_AddStringToObject (st, "type", "RollingUpdate");
      cJSON *ru = obj_at (st, "rollingUpdate");
      if (!get (ru, "maxUnavailable") || !get (ru, "maxSurge")) {
        if (!get (ru, "maxUnavailable"))
          cJSON_AddNumberToObject (ru, "maxUnavailable", 1);
        if (!get (ru, "maxSurge"))
          cJSON_AddNumberToObject (ru, "maxSurge", 1);
        changed (x, "spec.strategy.rollingUpdate: maxUnavailable and maxSurge 1 "
                 "(extensions/v1beta1's defaults)");
      }
    }
  }
  if (strcmp (kind, "DaemonSet") == 0 && ext && !get (spec, "updateStrategy")) {
    cJSON_AddStringToObject (cJSON_AddObjectToObject (spec, "updateStrategy"), "type", "OnDelete");
    changed (x, "spec.updateStrategy: OnDelete (extensions/v1beta1's default)");
  }
  if (strcmp (kind, "StatefulSet") == 0 && v1beta1 && !get (spec, "updateStrategy")) {
    cJSON_AddStringToObject (cJSON_AddObjectToObject (spec, "updateStrategy"), "type", "OnDelete");
    changed (x, "spec.updateStrategy: OnDelete (apps/v1beta1's default)");
  }
}

/* An Ingress backend {serviceName, servicePort} as networking.k8s.io/v1's
 * {service: {name, port: {number|name}}}; resource backends stay. */
static bool
fix_backend (cJSON *b)
{
  if (!cJSON_IsObject (b) || !get (b, "serviceName"))
    return false;
  cJSON *svc = cJSON_CreateObject ();
  move (b, "serviceName", svc, "name");
  cJSON *port = cJSON_DetachItemFromObjectCaseSensitive (b, "servicePort");
  if (port) {
    cJSON *p = cJSON_AddObjectToObject (svc, "port");
    if (cJSON_IsString (port) && all_digits (port->valuestring))
      cJSON_AddNumberToObject (p, "number", atof (port->valuestring));
    else
      cJSON_AddItemToObject (p, cJSON_IsNumber (port) ? "number" : "name", port), port = NULL;
    cJSON_Delete (port);
  }
  put (b, "service", svc);
  return true;
}

static void
fix_ingress (cJSON *obj, struct ctx *x)
{
  cJSON *spec = get (obj, "spec");
  if (!cJSON_IsObject (spec))
    return;
  if (move (spec, "backend", spec, "defaultBackend")) {
    fix_backend (get (spec, "defaultBackend"));
    changed (x, "spec.backend: spec.defaultBackend.service.name/port");
  }
  size_t backends = 0, types = 0;
  const cJSON *rule;
  cJSON_ArrayForEach (rule, get (spec, "rules")) {
    cJSON *path;
    cJSON_ArrayForEach (path, get (get (rule, "http"), "paths")) {
      if (fix_backend (get (path, "backend")))
        backends++;
      if (cJSON_IsObject (path) && !get (path, "pathType")) {
        /* What the old API did with a path: the controller's own matching. */
        cJSON_AddStringToObject (path, "pathType", "ImplementationSpecific");
        types++;
      }
    }
  }
  if (backends)
    changed (x, "spec.rules[].http.paths[].backend: serviceName/servicePort to "
             "service.name/port (%zu)", backends);
  if (types)
    changed (x, "spec.rules[].http.paths[].pathType: ImplementationSpecific (%zu)", types);
}

/* One CRD schema: the root typed, and unknown fields kept when v1beta1 kept them
 * (spec.preserveUnknownFields, true unless the CRD said false). */
static void
fix_schema (cJSON *schema, bool preserve)
{
  if (!get (schema, "type"))
    cJSON_AddStringToObject (schema, "type", "object");
  if (preserve && !get (schema, "x-kubernetes-preserve-unknown-fields"))
    cJSON_AddBoolToObject (schema, "x-kubernetes-preserve-unknown-fields", true);
}

static void
fix_columns (cJSON *cols)
{
  cJSON *col;
  cJSON_ArrayForEach (col, cols)
    if (cJSON_IsObject (col))
      move (col, "JSONPath", col, "jsonPath");
}

static void
fix_crd (cJSON *obj, struct ctx *x)
{
  cJSON *spec = obj_at (obj, "spec");
  const char *name = get_str (get (obj, "metadata"), "name");
  cJSON *versions = get (spec, "versions");
  if (!cJSON_IsArray (versions) || !versions->child) {
    const char *v = get_str (spec, "version");
    cJSON_DeleteItemFromObjectCaseSensitive (spec, "versions");
    versions = cJSON_AddArrayToObject (spec, "versions");
    cJSON *ver = cJSON_CreateObject ();
    cJSON_AddStringToObject (ver, "name", v ? v : "v1");
    cJSON_AddBoolToObject (ver, "served", true);
    cJSON_AddBoolToObject (ver, "storage", true);
    cJSON_AddItemToArray (versions, ver);
    changed (x, "spec.version: spec.versions[]");
  }
  drop (spec, "version");
  const cJSON *pu = get (spec, "preserveUnknownFields");
  bool preserve = !cJSON_IsFalse (pu);
  drop (spec, "preserveUnknownFields");
  cJSON *validation = cJSON_DetachItemFromObjectCaseSensitive (spec, "validation");
  cJSON *subres = cJSON_DetachItemFromObjectCaseSensitive (spec, "subresources");
  cJSON *cols = cJSON_DetachItemFromObjectCaseSensitive (spec, "additionalPrinterColumns");
  size_t untyped = 0;
  cJSON *ver;
  cJSON_ArrayForEach (ver, versions) {
    if (!cJSON_IsObject (ver))
      continue;
    if (!get (ver, "schema")) {
      const cJSON *s = get (validation, "openAPIV3Schema");
      cJSON *schema = cJSON_AddObjectToObject (ver, "schema");
      if (cJSON_IsObject (s))
        cJSON_AddItemToObject (schema, "openAPIV3Schema", cJSON_Duplicate (s, true));
      else {
        cJSON_AddObjectToObject (schema, "openAPIV3Schema");
        untyped++;
      }
    }
    fix_schema (obj_at (obj_at (ver, "schema"), "openAPIV3Schema"), preserve || untyped);
    if (subres && !get (ver, "subresources"))
      cJSON_AddItemToObject (ver, "subresources", cJSON_Duplicate (subres, true));
    if (cols && !get (ver, "additionalPrinterColumns"))
      cJSON_AddItemToObject (ver, "additionalPrinterColumns", cJSON_Duplicate (cols, true));
    fix_columns (get (ver, "additionalPrinterColumns"));
  }
  if (validation)
    changed (x, "spec.validation: spec.versions[].schema");
  if (subres)
    changed (x, "spec.subresources: spec.versions[].subresources");
  if (cols)
    changed (x, "spec.additionalPrinterColumns: spec.versions[].additionalPrinterColumns "
             "(JSONPath: jsonPath)");
  cJSON_Delete (validation);
  cJSON_Delete (subres);
  cJSON_Delete (cols);
  if (untyped)
    warn (x, "CustomResourceDefinition %s had no schema: each version gets an object schema "
          "with x-kubernetes-preserve-unknown-fields, so its custom resources keep every field",
          name ? name : "?");
  else if (preserve)
    warn (x, "CustomResourceDefinition %s: v1beta1 kept unknown fields (preserveUnknownFields); "
          "x-kubernetes-preserve-unknown-fields: true on each schema keeps them in v1, where "
          "a non-structural schema is otherwise refused", name ? name : "?");
  if (preserve || untyped)
    changed (x, "spec.versions[].schema.openAPIV3Schema: x-kubernetes-preserve-unknown-fields");
  cJSON *conv = get (spec, "conversion");
  if (cJSON_IsObject (conv) && (get (conv, "webhookClientConfig")
                                || get (conv, "conversionReviewVersions"))) {
    cJSON *wh = obj_at (conv, "webhook");
    move (conv, "webhookClientConfig", wh, "clientConfig");
    if (!move (conv, "conversionReviewVersions", wh, "conversionReviewVersions")) {
      cJSON *v = cJSON_AddArrayToObject (wh, "conversionReviewVersions");
      cJSON_AddItemToArray (v, cJSON_CreateString ("v1beta1"));
    }
    changed (x, "spec.conversion: webhookClientConfig and conversionReviewVersions under "
             "spec.conversion.webhook");
  }
}

static void
fix_webhooks (cJSON *obj, struct ctx *x)
{
  size_t n = 0;
  cJSON *wh;
  cJSON_ArrayForEach (wh, get (obj, "webhooks")) {
    if (!cJSON_IsObject (wh))
      continue;
    n++;
    const char *se = get_str (wh, "sideEffects");
    if (!se || strcmp (se, "Unknown") == 0 || strcmp (se, "Some") == 0) {
      warn (x, "webhook %s: sideEffects %s is not accepted by admissionregistration.k8s.io/v1: "
            "set to None (dry-run requests now reach the webhook)",
            get_str (wh, "name") ? get_str (wh, "name") : "?", se ? se : "Unknown (the default)");
      put (wh, "sideEffects", cJSON_CreateString ("None"));
    }
    if (!get (wh, "admissionReviewVersions")) {
      cJSON *v = cJSON_AddArrayToObject (wh, "admissionReviewVersions");
      cJSON_AddItemToArray (v, cJSON_CreateString ("v1beta1"));
    }
    if (!get (wh, "timeoutSeconds"))
      cJSON_AddNumberToObject (wh, "timeoutSeconds", 30);
    if (!get (wh, "failurePolicy"))
      cJSON_AddStringToObject (wh, "failurePolicy", "Ignore");
    if (!get (wh, "matchPolicy"))
      cJSON_AddStringToObject (wh, "matchPolicy", "Exact");
  }
  if (n)
    changed (x, "webhooks[]: sideEffects, admissionReviewVersions [v1beta1], timeoutSeconds 30, "
             "failurePolicy Ignore, matchPolicy Exact made explicit (v1beta1's defaults) (%zu)",
             n);
}

static void
fix_pdb (cJSON *obj, struct ctx *x)
{
  cJSON *spec = obj_at (obj, "spec");
  const cJSON *sel = get (spec, "selector");
  if (!empty_object (sel))
    return;
  /* policy/v1beta1: an empty or missing selector matched no pod; in v1 it matches every
   * pod of the namespace.  A selector no pod can match keeps the old meaning. */
  cJSON *s = cJSON_CreateObject ();
  cJSON *exprs = cJSON_AddArrayToObject (s, "matchExpressions");
  cJSON *e = cJSON_CreateObject ();
  cJSON_AddStringToObject (e, "key", "releasemanager.io/pdb-selects-no-pods");
  cJSON_AddStringToObject (e, "operator", "Exists");
  cJSON_AddItemToArray (exprs, e);
  put (spec, "selector", s);
  changed (x, "spec.selector: empty (no pods in policy/v1beta1, every pod in v1): a selector "
           "that matches no pod");
  warn (x, "PodDisruptionBudget %s: its empty selector selected no pods; it still selects none",
        get_str (get (obj, "metadata"), "name") ? get_str (get (obj, "metadata"), "name") : "?");
}

/* An HPA metric target of autoscaling/v2beta1 as v2's MetricTarget. */
static cJSON *
target (cJSON *m, const char *util, const char *avg, const char *value)
{
  cJSON *t = cJSON_CreateObject ();
  cJSON *v;
  if (util && (v = cJSON_DetachItemFromObjectCaseSensitive (m, util))) {
    cJSON_AddStringToObject (t, "type", "Utilization");
    cJSON_AddItemToObject (t, "averageUtilization", v);
  }
  else if (avg && (v = cJSON_DetachItemFromObjectCaseSensitive (m, avg))) {
    cJSON_AddStringToObject (t, "type", "AverageValue");
    cJSON_AddItemToObject (t, "averageValue", v);
  }
  else if (value && (v = cJSON_DetachItemFromObjectCaseSensitive (m, value))) {
    cJSON_AddStringToObject (t, "type", "Value");
    cJSON_AddItemToObject (t, "value", v);
  }
  return t;
}

/* {metricName, selectorKey} as v2's MetricIdentifier {name, selector}. */
static cJSON *
metric_id (cJSON *m, const char *selector_key)
{
  cJSON *id = cJSON_CreateObject ();
  move (m, "metricName", id, "name");
  move (m, selector_key, id, "selector");
  return id;
}

static void
fix_hpa (cJSON *obj, struct ctx *x)
{
  if (strcmp (x->from, "autoscaling/v2beta1") != 0)
    return;   /* v2beta2 is v2's shape */
  size_t n = 0;
  cJSON *m;
  cJSON_ArrayForEach (m, get (get (obj, "spec"), "metrics")) {
    const char *type = get_str (m, "type");
    if (!type)
      continue;
    const char *key = strcmp (type, "Resource") == 0 ? "resource"
                      : strcmp (type, "Pods") == 0 ? "pods"
                      : strcmp (type, "Object") == 0 ? "object"
                      : strcmp (type, "External") == 0 ? "external"
                      : strcmp (type, "ContainerResource") == 0 ? "containerResource" : NULL;
    cJSON *s = key ? get (m, key) : NULL;
    /* Already v2's shape (an Object metric's v2beta1 "target" is the object). */
    if (!cJSON_IsObject (s) || get (s, strcmp (key, "object") == 0 ? "describedObject" : "target"))
      continue;
    n++;
    if (strcmp (key, "resource") == 0 || strcmp (key, "containerResource") == 0)
      put (s, "target", target (s, "targetAverageUtilization", "targetAverageValue", NULL));
    else if (strcmp (key, "pods") == 0) {
      put (s, "metric", metric_id (s, "selector"));
      put (s, "target", target (s, NULL, "targetAverageValue", NULL));
    }
    else if (strcmp (key, "object") == 0) {
      cJSON *t = target (s, NULL, "averageValue", "targetValue");
      move (s, "target", s, "describedObject");
      put (s, "metric", metric_id (s, "selector"));
      put (s, "target", t);
    }
    else {
      put (s, "metric", metric_id (s, "metricSelector"));
      put (s, "target", target (s, NULL, "targetAverageValue", "targetValue"));
    }
  }
  if (n)
    changed (x, "spec.metrics[]: targetAverageUtilization/targetAverageValue/targetValue and "
             "metricName as target and metric (%zu)", n);
}

static void
fix_endpointslice (cJSON *obj, struct ctx *x)
{
  size_t n = 0;
  cJSON *ep;
  cJSON_ArrayForEach (ep, get (obj, "endpoints")) {
    cJSON *topo = get (ep, "topology");
    if (!cJSON_IsObject (topo))
      continue;
    n++;
    const char *node = get_str (topo, "kubernetes.io/hostname");
    if (node && !get (ep, "nodeName"))
      cJSON_AddStringToObject (ep, "nodeName", node);
    const char *zone = get_str (topo, "topology.kubernetes.io/zone");
    if (zone && !get (ep, "zone"))
      cJSON_AddStringToObject (ep, "zone", zone);
    move (ep, "topology", ep, "deprecatedTopology");
  }
  if (n)
    changed (x, "endpoints[].topology: nodeName, zone and deprecatedTopology (%zu)", n);
}

static void
fix_plc (cJSON *obj, struct ctx *x)
{
  cJSON *lim = get (get (obj, "spec"), "limited");
  if (cJSON_IsObject (lim) && move (lim, "assuredConcurrencyShares", lim, "nominalConcurrencyShares"))
    changed (x, "spec.limited.assuredConcurrencyShares: nominalConcurrencyShares");
}

/* ---- the table ---- */

#define MAX_FROM 4
#define MAX_TO 3

struct rule {
  const char *kind;
  const char *from[MAX_FROM];   /* removed apiVersions */
  const char *to[MAX_TO];       /* served replacements, preferred first; none: dropped */
  void (*fix) (cJSON *obj, struct ctx *x);
};

static const struct rule rules[] = {
  { "Deployment", { "extensions/v1beta1", "apps/v1beta1", "apps/v1beta2" }, { "apps/v1" },
    fix_workload },
  { "DaemonSet", { "extensions/v1beta1", "apps/v1beta2" }, { "apps/v1" }, fix_workload },
  { "ReplicaSet", { "extensions/v1beta1", "apps/v1beta2" }, { "apps/v1" }, fix_workload },
  { "StatefulSet", { "apps/v1beta1", "apps/v1beta2" }, { "apps/v1" }, fix_workload },
  { "Ingress", { "extensions/v1beta1", "networking.k8s.io/v1beta1" }, { "networking.k8s.io/v1" },
    fix_ingress },
  { "IngressClass", { "networking.k8s.io/v1beta1" }, { "networking.k8s.io/v1" }, NULL },
  { "NetworkPolicy", { "extensions/v1beta1" }, { "networking.k8s.io/v1" }, NULL },
  { "PodSecurityPolicy", { "extensions/v1beta1", "policy/v1beta1" }, { NULL }, NULL },
  { "CustomResourceDefinition", { "apiextensions.k8s.io/v1beta1" }, { "apiextensions.k8s.io/v1" },
    fix_crd },
  { "MutatingWebhookConfiguration", { "admissionregistration.k8s.io/v1beta1" },
    { "admissionregistration.k8s.io/v1" }, fix_webhooks },
  { "ValidatingWebhookConfiguration", { "admissionregistration.k8s.io/v1beta1" },
    { "admissionregistration.k8s.io/v1" }, fix_webhooks },
  { "APIService", { "apiregistration.k8s.io/v1beta1" }, { "apiregistration.k8s.io/v1" }, NULL },
  { "PodDisruptionBudget", { "policy/v1beta1" }, { "policy/v1" }, fix_pdb },
  { "CronJob", { "batch/v1beta1", "batch/v2alpha1" }, { "batch/v1" }, NULL },
  { "HorizontalPodAutoscaler", { "autoscaling/v2beta1", "autoscaling/v2beta2" },
    { "autoscaling/v2", "autoscaling/v2beta2" }, fix_hpa },
  { "EndpointSlice", { "discovery.k8s.io/v1beta1" }, { "discovery.k8s.io/v1" }, fix_endpointslice },
  { "Event", { "events.k8s.io/v1beta1" }, { "events.k8s.io/v1" }, NULL },
  { "PriorityClass", { "scheduling.k8s.io/v1beta1", "scheduling.k8s.io/v1alpha1" },
    { "scheduling.k8s.io/v1" }, NULL },
  { "RuntimeClass", { "node.k8s.io/v1beta1" }, { "node.k8s.io/v1" }, NULL },
  { "Role", { "rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1alpha1" },
    { "rbac.authorization.k8s.io/v1" }, NULL },
  { "ClusterRole", { "rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1alpha1" },
    { "rbac.authorization.k8s.io/v1" }, NULL },
  { "RoleBinding", { "rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1alpha1" },
    { "rbac.authorization.k8s.io/v1" }, NULL },
  { "ClusterRoleBinding",
    { "rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1alpha1" },
    { "rbac.authorization.k8s.io/v1" }, NULL },
  { "StorageClass", { "storage.k8s.io/v1beta1" }, { "storage.k8s.io/v1" }, NULL },
  { "VolumeAttachment", { "storage.k8s.io/v1beta1" }, { "storage.k8s.io/v1" }, NULL },
  { "CSIDriver", { "storage.k8s.io/v1beta1" }, { "storage.k8s.io/v1" }, NULL },
  { "CSINode", { "storage.k8s.io/v1beta1" }, { "storage.k8s.io/v1" }, NULL },
  { "CSIStorageCapacity", { "storage.k8s.io/v1beta1" }, { "storage.k8s.io/v1" }, NULL },
  { "Lease", { "coordination.k8s.io/v1beta1" }, { "coordination.k8s.io/v1" }, NULL },
  { "FlowSchema",
    { "flowcontrol.apiserver.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta2",
      "flowcontrol.apiserver.k8s.io/v1beta3" },
    { "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta3" }, NULL },
  { "PriorityLevelConfiguration",
    { "flowcontrol.apiserver.k8s.io/v1beta1", "flowcontrol.apiserver.k8s.io/v1beta2",
      "flowcontrol.apiserver.k8s.io/v1beta3" },
    { "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta3" }, fix_plc },
};

static const struct rule *
find_rule (const char *kind, const char *api_version)
{
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    if (strcmp (rules[i].kind, kind) != 0)
      continue;
    for (size_t j = 0; j < MAX_FROM && rules[i].from[j]; j++)
      if (strcmp (rules[i].from[j], api_version) == 0)
        return &rules[i];
  }
  return NULL;
}

void
imp_conversion_free (struct imp_conversion *c)
{
  free (c->kind);
  free (c->name);
  free (c->from);
  free (c->to);
  strlist_free (&c->changes);
  strlist_free (&c->warnings);
  memset (c, 0, sizeof *c);
}

void
imp_convert_object (cJSON *obj, const struct imp_served *sv, bool convert,
                    struct imp_conversion *c)
{
  memset (c, 0, sizeof *c);
  const char *av = get_str (obj, "apiVersion");
  const char *kind = get_str (obj, "kind");
  const char *name = get_str (get (obj, "metadata"), "name");
  c->kind = xstrdup (kind ? kind : "?");
  c->name = xstrdup (name ? name : "?");
  c->from = xstrdup (av ? av : "?");
  if (!av || !kind || sv->serves (sv->ctx, av, kind)) {
    c->result = IMP_CONV_KEPT;
    return;
  }
  const struct rule *r = find_rule (kind, av);
  c->result = IMP_CONV_UNSERVED;
  if (!r)
    return;
  if (!r->to[0]) {
    c->result = IMP_CONV_DROPPED;
    char *w = xasprintf ("%s %s (%s) is not restored: the kind was removed from Kubernetes "
                         "with no replacement", c->kind, c->name, av);
    strlist_push (&c->warnings, w);
    free (w);
    return;
  }
  for (size_t j = 0; j < MAX_TO && r->to[j] && !c->to; j++)
    if (sv->serves (sv->ctx, r->to[j], kind))
      c->to = xstrdup (r->to[j]);
  if (!c->to || !convert)
    return;
  struct ctx x = { c->from, c };
  if (r->fix)
    r->fix (obj, &x);
  put (obj, "apiVersion", cJSON_CreateString (c->to));
  c->result = IMP_CONV_CONVERTED;
}

char *
imp_conversion_describe (const struct imp_conversion *c)
{
  struct strbuf sb = STRBUF_INIT;
  strbuf_printf (&sb, "%s %s: %s -> %s", c->kind, c->name, c->from,
                 c->result == IMP_CONV_DROPPED ? "(dropped)" : c->to ? c->to : "?");
  for (size_t i = 0; i < c->changes.n; i++)
    strbuf_printf (&sb, "%s%s", i ? "; " : " (", c->changes.items[i]);
  if (c->changes.n)
    strbuf_puts (&sb, ")");
  return strbuf_detach (&sb);
}

/* ---- YAML out ---- */

static void
pad (struct strbuf *sb, int n)
{
  for (int i = 0; i < n; i++)
    strbuf_puts (sb, " ");
}

/* A key as a plain scalar when YAML would read it back as the same string. */
static void
emit_key (struct strbuf *sb, const char *k)
{
  static const char *const special[] = {
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
    "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null",
    "NULL", "~", NULL
  };
  bool plain = *k && (k[0] == '_' || (k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z'));
  for (const char *p = k; plain && *p; p++)
    plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
            || *p == '_' || *p == '-' || *p == '.' || *p == '/';
  for (size_t i = 0; plain && special[i]; i++)
    plain = strcmp (k, special[i]) != 0;
  if (plain) {
    strbuf_puts (sb, k);
    return;
  }
  cJSON *s = cJSON_CreateString (k);
  char *q = cJSON_PrintUnformatted (s);
  strbuf_puts (sb, q);
  free (q);
  cJSON_Delete (s);
}

static void
emit_scalar (struct strbuf *sb, const cJSON *v)
{
  if (cJSON_IsObject (v))
    strbuf_puts (sb, "{}");
  else if (cJSON_IsArray (v))
    strbuf_puts (sb, "[]");
  else if (cJSON_IsNumber (v)) {
    double d = v->valuedouble;
    if (d > -1e15 && d < 1e15 && d == (double) (long long) d)
      strbuf_printf (sb, "%.0f", d);
    else
      strbuf_printf (sb, "%.17g", d);
  }
  else if (cJSON_IsString (v)) {
    /* A JSON string is a YAML double-quoted scalar with the same escapes. */
    cJSON *s = cJSON_CreateString (v->valuestring);
    char *q = cJSON_PrintUnformatted (s);
    strbuf_puts (sb, q);
    free (q);
    cJSON_Delete (s);
  }
  else
    strbuf_puts (sb, cJSON_IsTrue (v) ? "true" : cJSON_IsFalse (v) ? "false" : "null");
}

static bool
nested (const cJSON *v)
{
  return (cJSON_IsObject (v) || cJSON_IsArray (v)) && v->child;
}

/* A non-empty object or array at indent; inline: the first line's indent is written. */
static void
emit_node (struct strbuf *sb, const cJSON *node, int indent, bool inline_first)
{
  bool first = true;
  for (const cJSON *c = node->child; c; c = c->next) {
    if (!(first && inline_first))
      pad (sb, indent);
    first = false;
    if (cJSON_IsObject (node)) {
      emit_key (sb, c->string);
      strbuf_puts (sb, ":");
      if (nested (c)) {
        strbuf_puts (sb, "\n");
        emit_node (sb, c, cJSON_IsObject (c) ? indent + 2 : indent, false);
        continue;
      }
    }
    else {
      strbuf_puts (sb, "-");
      if (nested (c)) {
        strbuf_puts (sb, " ");
        emit_node (sb, c, indent + 2, true);
        continue;
      }
    }
    strbuf_puts (sb, " ");
    emit_scalar (sb, c);
    strbuf_puts (sb, "\n");
  }
}

char *
imp_yaml_emit (const cJSON *obj)
{
  struct strbuf sb = STRBUF_INIT;
  if (nested (obj))
    emit_node (&sb, obj, 0, false);
  else {
    emit_scalar (&sb, obj);
    strbuf_puts (&sb, "\n");
  }
  return strbuf_detach (&sb);
}

/* ---- manifests ---- */

/* Whether the line at p (up to its newline) is a document separator as Helm splits
 * manifests: "---" and only blanks after it. */
static bool
separator (const char *p)
{
  if (strncmp (p, "---", 3) != 0)
    return false;
  for (p += 3; *p && *p != '\n'; p++)
    if (*p != ' ' && *p != '\t' && *p != '\r')
      return false;
  return true;
}

static const char *
next_line (const char *p)
{
  const char *nl = strchr (p, '\n');
  return nl ? nl + 1 : p + strlen (p);
}

/* One document's text [p, end): converted into sb (*any set), or copied.  RM_OK, or
 * yamljson's code with err filled. */
static int
convert_doc (const char *p, const char *end, const char *what, const struct imp_served *sv,
             bool convert, struct strbuf *sb, struct imp_conversion **convs, size_t *n,
             bool *any, struct rm_error *err)
{
  struct yamljson y;
  int rc = yamljson_parse (p, (size_t) (end - p), what, &y, err);
  if (rc != RM_OK)
    return rc;
  cJSON *doc = y.docs->child;
  if (!cJSON_IsObject (doc)) {
    strbuf_add (sb, p, (size_t) (end - p));
    yamljson_free (&y);
    return RM_OK;
  }
  *convs = xrealloc (*convs, (*n + 1) * sizeof **convs);
  struct imp_conversion *c = &(*convs)[(*n)++];
  imp_convert_object (doc, sv, convert, c);
  if (c->result != IMP_CONV_CONVERTED && c->result != IMP_CONV_DROPPED) {
    strbuf_add (sb, p, (size_t) (end - p));
    yamljson_free (&y);
    return RM_OK;
  }
  *any = true;
  /* The document's leading comments (Helm's "# Source: chart/templates/x.yaml") stay. */
  const char *q = p;
  while (q < end) {
    const char *s = q;
    while (s < end && (*s == ' ' || *s == '\t'))
      s++;
    if (s < end && *s != '#' && *s != '\n' && *s != '\r')
      break;
    q = next_line (q);
  }
  strbuf_add (sb, p, (size_t) (q - p));
  if (c->result == IMP_CONV_CONVERTED) {
    char *text = imp_yaml_emit (doc);
    strbuf_puts (sb, text);
    free (text);
  }
  yamljson_free (&y);
  return RM_OK;
}

int
imp_convert_manifest (const char *text, const char *what, const struct imp_served *sv,
                      bool convert, char **out, struct imp_conversion **convs, size_t *n,
                      struct rm_error *err)
{
  struct strbuf sb = STRBUF_INIT;
  bool any = false;
  *out = NULL;
  const char *p = text;
  while (*p) {
    /* A document: up to the next separator line (kept as it is). */
    const char *end = p;
    if (separator (end)) {
      end = next_line (end);
      strbuf_add (&sb, p, (size_t) (end - p));
      p = end;
      continue;
    }
    while (*end && !separator (end))
      end = next_line (end);
    int rc = convert_doc (p, end, what, sv, convert, &sb, convs, n, &any, err);
    if (rc != RM_OK) {
      strbuf_free (&sb);
      return rc;
    }
    p = end;
  }
  if (any)
    *out = strbuf_detach (&sb);
  else
    strbuf_free (&sb);
  return RM_OK;
}

/* ---- one release: the call of the restore path ---- */

/* The served set of a release: discovery, plus the kinds its own CRDs define. */
struct release_served {
  struct imp_run *r;
  cJSON *crd_kinds;       /* array of "group/version kind" */
  int rc;                 /* the first discovery failure */
  char *error;
};

static bool
serves (void *ctx, const char *api_version, const char *kind)
{
  struct release_served *rs = ctx;
  char *key = xasprintf ("%s %s", api_version, kind);
  const cJSON *k;
  bool found = false;
  cJSON_ArrayForEach (k, rs->crd_kinds)
    if (strcmp (k->valuestring, key) == 0)
      found = true;
  free (key);
  if (found)
    return true;
  bool served = false;
  struct rm_error err;
  int rc = imp_discovery_serves (rs->r->s->disc, api_version, kind, &served, &err);
  if (rc != RM_OK && !rs->error) {
    rs->rc = rc;
    rs->error = xasprintf ("discovery of %s: %s", api_version, err.message);
  }
  return served;
}

/* The kinds a CRD object (already converted) serves. */
static void
add_crd_kinds (struct release_served *rs, const cJSON *crd)
{
  const char *kind = get_str (crd, "kind");
  if (!kind || strcmp (kind, "CustomResourceDefinition") != 0)
    return;
  const cJSON *spec = get (crd, "spec");
  const char *group = get_str (spec, "group");
  const char *ck = get_str (get (spec, "names"), "kind");
  if (!group || !ck)
    return;
  const cJSON *v;
  cJSON_ArrayForEach (v, get (spec, "versions")) {
    const char *vn = get_str (v, "name");
    if (vn && !cJSON_IsFalse (get (v, "served"))) {
      char *s = xasprintf ("%s/%s %s", group, vn, ck);
      cJSON_AddItemToArray (rs->crd_kinds, cJSON_CreateString (s));
      free (s);
    }
  }
  const char *single = get_str (spec, "version");
  if (single) {
    char *s = xasprintf ("%s/%s %s", group, single, ck);
    cJSON_AddItemToArray (rs->crd_kinds, cJSON_CreateString (s));
    free (s);
  }
}

struct problems {
  struct strlist v;
  size_t converted;
};

static void
problem (struct problems *pr, const char *fmt, ...) __attribute__((format (printf, 2, 3)));
static void
problem (struct problems *pr, const char *fmt, ...)
{
  struct strbuf sb = STRBUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  strbuf_vprintf (&sb, fmt, ap);
  va_end (ap);
  strlist_push (&pr->v, sb.data);
  strbuf_free (&sb);
}

/* Report c: the plan or the log, and a problem when it is left unserved. */
static void
account (struct imp_run *r, const struct imp_conversion *c, const char *where,
         struct problems *pr)
{
  for (size_t i = 0; i < c->warnings.n; i++)
    log_warn ("%s/%s: %s", r->ns, r->name, c->warnings.items[i]);
  if (c->result == IMP_CONV_CONVERTED || c->result == IMP_CONV_DROPPED) {
    char *d = imp_conversion_describe (c);
    if (r->s->dry)
      imp_plan (r, "  convert %s%s\n", where, d);
    else
      log_info ("%s/%s: converted %s%s", r->ns, r->name, where, d);
    free (d);
    pr->converted++;
  }
  else if (c->result == IMP_CONV_UNSERVED) {
    if (c->to)
      problem (pr, "%s%s %s: apiVersion %s is not served by this cluster; its replacement %s "
               "is (import without --no-convert-apis to convert it)", where, c->kind, c->name,
               c->from, c->to);
    else
      problem (pr, "%s%s %s: this cluster does not serve apiVersion %s for it and knows no "
               "replacement (is its CRD installed?)", where, c->kind, c->name, c->from);
  }
}

/* Objects of an imp_objects list, converted in place; dropped ones removed. */
static void
convert_list (struct imp_run *r, struct release_served *rs, struct imp_objects *l,
              const char *where, bool skip_crds, struct problems *pr)
{
  struct imp_served sv = { serves, rs };
  size_t keep = 0;
  for (size_t i = 0; i < l->n; i++) {
    struct imp_object *o = &l->v[i];
    if (skip_crds && strcmp (o->kind, "CustomResourceDefinition") == 0) {
      l->v[keep++] = *o;
      continue;
    }
    struct imp_conversion c;
    imp_convert_object (o->obj, &sv, r->s->convert_apis, &c);
    account (r, &c, where, pr);
    if (c.result == IMP_CONV_DROPPED) {
      cJSON_Delete (o->obj);
      free (o->hook);
    }
    else {
      o->api_version = get_str (o->obj, "apiVersion");
      l->v[keep++] = *o;
    }
    imp_conversion_free (&c);
  }
  l->n = keep;
}

/* A manifest string of a release JSON (rel[key] or a hook's), converted in place. */
static int
convert_text (struct imp_run *r, struct release_served *rs, cJSON *holder, const char *key,
              const char *what, bool report, struct problems *pr, bool *changed_any)
{
  const char *text = get_str (holder, key);
  if (!text)
    return 0;
  struct imp_served sv = { serves, rs };
  struct imp_conversion *convs = NULL;
  size_t n = 0;
  char *out;
  struct rm_error err;
  int rc = imp_convert_manifest (text, what, &sv, r->s->convert_apis, &out, &convs, &n, &err);
  for (size_t i = 0; i < n; i++) {
    if (report)
      account (r, &convs[i], what, pr);
    else if (convs[i].result == IMP_CONV_UNSERVED)
      /* History: not a problem, but never silent (a rollback to it would fail). */
      log_warn ("%s/%s: %s%s %s: apiVersion %s is not served by this cluster and has no "
                "served replacement: left unconverted in the record", r->ns, r->name, what,
                convs[i].kind ? convs[i].kind : "?", convs[i].name ? convs[i].name : "?",
                convs[i].from ? convs[i].from : "?");
    imp_conversion_free (&convs[i]);
  }
  free (convs);
  if (rc != RM_OK) {
    strlist_push (&pr->v, err.message);
    return -1;
  }
  if (out) {
    put (holder, key, cJSON_CreateString (out));
    free (out);
    *changed_any = true;
  }
  return 0;
}

/* The hooks' manifests of a release JSON; report: as problems and plan lines; prefix
 * starts each one's messages ("revision 2: "). */
static void
convert_hooks (struct imp_run *r, struct release_served *rs, cJSON *rel, bool report,
               const char *prefix, struct problems *pr, bool *changed_any)
{
  cJSON *h;
  cJSON_ArrayForEach (h, get (rel, "hooks")) {
    const char *name = get_str (h, "name");
    char *what = xasprintf ("%shook %s: ", prefix, name ? name : "?");
    convert_text (r, rs, h, "manifest", what, report, pr, changed_any);
    free (what);
  }
}

/* Namespaces the objects name that do not exist and that neither the release nor the
 * import creates. */
static void
check_namespaces (struct imp_run *r, const struct imp_objects *objs, struct problems *pr)
{
  struct strlist seen = STRLIST_INIT;
  for (size_t i = 0; i < objs->n; i++) {
    const char *ns = get_str (get (objs->v[i].obj, "metadata"), "namespace");
    if (!ns || !*ns || strcmp (ns, r->ns) == 0 || strcmp (ns, r->orig_ns) == 0
        || strlist_contains (&seen, ns))
      continue;
    strlist_push (&seen, ns);
    bool created = false;
    for (size_t j = 0; j < objs->n; j++)
      if (strcmp (objs->v[j].kind, "Namespace") == 0 && objs->v[j].name
          && strcmp (objs->v[j].name, ns) == 0)
        created = true;
    if (created)
      continue;
    char *path = kube_path ("v1", NULL, "namespaces", ns);
    struct rm_error err;
    int rc = kube_get (r->s->kc, path, NULL, &err);
    free (path);
    if (rc == KUBE_E_NOT_FOUND)
      problem (pr, "%s %s names namespace %s, which does not exist and which the release "
               "does not create", objs->v[i].kind, objs->v[i].name, ns);
    else if (rc != KUBE_OK)
      problem (pr, "reading namespace %s: %s", ns, err.message);
  }
  strlist_free (&seen);
}

/* Objects of the manifest already in the cluster and owned by another release or by none:
 * one GET each (imp_check_owner).  This release's own are no conflict (an interrupted
 * import left them; apply takes them over).  The chart's crds/ files are skipped when
 * they exist, as helm does, and hooks are Helm's own business: neither is checked. */
static void
check_owners (struct imp_run *r, const struct imp_objects *objs, struct problems *pr)
{
  for (size_t i = 0; i < objs->n; i++) {
    char *why = NULL;
    if (imp_check_owner (r, &objs->v[i], &why) != 0)
      strlist_push (&pr->v, why);
    free (why);
  }
}

int
imp_convert_release (struct imp_run *r, cJSON *rel, struct imp_objects *crds,
                     struct imp_objects *objs, cJSON **records, bool *changed, size_t nrec,
                     imp_restored_fn restored, void *ud)
{
  struct release_served rs = { r, cJSON_CreateArray (), 0, NULL };
  struct problems pr = { STRLIST_INIT, 0 };
  bool rel_changed = false;   /* rel's hooks, converted before the records */

  /* CRDs first: the kinds they define are served once they are created. */
  convert_list (r, &rs, crds, "crds/: ", false, &pr);
  for (size_t i = 0; i < objs->n; i++)
    if (strcmp (objs->v[i].kind, "CustomResourceDefinition") == 0) {
      struct imp_served sv = { serves, &rs };
      struct imp_conversion c;
      imp_convert_object (objs->v[i].obj, &sv, r->s->convert_apis, &c);
      objs->v[i].api_version = get_str (objs->v[i].obj, "apiVersion");
      account (r, &c, "", &pr);
      imp_conversion_free (&c);
    }
  for (size_t i = 0; i < crds->n; i++)
    add_crd_kinds (&rs, crds->v[i].obj);
  for (size_t i = 0; i < objs->n; i++)
    add_crd_kinds (&rs, objs->v[i].obj);
  convert_list (r, &rs, objs, "", true, &pr);
  if (!r->s->no_hooks)
    convert_hooks (r, &rs, rel, true, "", &pr, &rel_changed);

  /* The records: every revision's manifest and hooks, so that helm upgrade and rollback
   * read objects this cluster serves.  Older revisions' leftovers are not problems:
   * they are history, and only matter to a rollback to them; each is a warning naming
   * the revision, kind and name (convert_text). */
  for (size_t i = 0; r->s->convert_apis && !pr.v.n && !rs.error && i < nrec; i++) {
    cJSON *rec = records[i];
    bool rec_changed = rec == rel && rel_changed;
    struct problems old = { STRLIST_INIT, 0 };
    int version = (int) cJSON_GetNumberValue (get (rec, "version"));
    char *what = xasprintf ("revision %d: ", version);
    convert_text (r, &rs, rec, "manifest", what, false, &old, &rec_changed);
    convert_hooks (r, &rs, rec, false, what, &old, &rec_changed);
    free (what);
    changed[i] |= rec_changed;
    strlist_free (&old.v);
  }
  /* The rest of the preflight reads the cluster's objects: not for a release the caller
   * finds restored already (its records, converted, are the cluster's), which is skipped. */
  bool skip = !pr.v.n && !rs.error && restored && restored (ud);
  if (!rs.error && !skip)
    check_namespaces (r, objs, &pr);
  if (!rs.error && !skip && !r->s->replace)
    check_owners (r, objs, &pr);

  int result = 0;
  r->converted = pr.converted;
  if (rs.error)
    result = imp_fail (r, "%s", rs.error);
  else if (pr.v.n) {
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf (&sb, "preflight: %zu problem%s, nothing written: ", pr.v.n,
                   pr.v.n == 1 ? "" : "s");
    for (size_t i = 0; i < pr.v.n; i++)
      strbuf_printf (&sb, "%s%s", i ? "; " : "", pr.v.items[i]);
    result = imp_fail (r, "%s", sb.data);
    strbuf_free (&sb);
  }
  strlist_free (&pr.v);
  free (rs.error);
  cJSON_Delete (rs.crd_kinds);
  return result;
}
