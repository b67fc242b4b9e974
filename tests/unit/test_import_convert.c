/* Tests for import's API version conversion (core/import/convert.c): real release records
 * of tests/data/helm-releases (a Helm 3 record rendered with policy/v1beta1 and
 * autoscaling/v2beta1, another with an apiextensions v1beta1 CRD and a
 * networking.k8s.io/v1beta1 Ingress), decoded with the Helm codec and converted for a
 * cluster that serves only current versions, and the manifests of old charts for every
 * other row of the table: each converted object has the fields of its new version and
 * the old API's meaning, the rewritten manifest parses back to the same objects, kept
 * documents stay byte for byte, --no-convert-apis names the replacement, and
 * PodSecurityPolicy is dropped with a warning. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <cjson/cJSON.h>

#include "base/util.h"
#include "base/yamljson.h"
#include "helm/helm.h"
#include "import/convert.h"

/* The group/versions a 1.31 server serves, and one of 1.23 (autoscaling/v2beta2 and
 * flowcontrol v1beta2 still served, autoscaling/v2 and flowcontrol v1 not yet). */
static const char *const current[] = {
  "v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1", "autoscaling/v1",
  "autoscaling/v2", "apiextensions.k8s.io/v1", "admissionregistration.k8s.io/v1",
  "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1", "scheduling.k8s.io/v1",
  "coordination.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1", "node.k8s.io/v1",
  "apiregistration.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "example.com/v1", NULL
};
static const char *const k123[] = {
  "v1", "apps/v1", "autoscaling/v2beta2", "flowcontrol.apiserver.k8s.io/v1beta2", NULL
};

static bool
serves (void *ctx, const char *api_version, const char *kind)
{
  (void) kind;
  for (const char *const *g = ctx; *g; g++)
    if (strcmp (*g, api_version) == 0)
      return true;
  return false;
}

static struct imp_served cur = { serves, (void *) current };
static struct imp_served old123 = { serves, (void *) k123 };

static cJSON *
yaml (const char *text)
{
  struct yamljson y;
  struct rm_error err;
  cr_assert_eq (yamljson_parse (text, strlen (text), "test", &y, &err), 0, "%s", err.message);
  cJSON *o = cJSON_DetachItemFromArray (y.docs, 0);
  yamljson_free (&y);
  return o;
}

/* The value at a dotted path ("spec.rules.0.http"), numbers indexing arrays. */
static const cJSON *
at (const cJSON *o, const char *path)
{
  char *p = xstrdup (path), *save = NULL;
  for (char *t = strtok_r (p, ".", &save); t && o; t = strtok_r (NULL, ".", &save))
    o = (*t >= '0' && *t <= '9') ? cJSON_GetArrayItem (o, atoi (t))
                                 : cJSON_GetObjectItemCaseSensitive (o, t);
  free (p);
  return o;
}

static const char *
str (const cJSON *o, const char *path)
{
  const cJSON *v = at (o, path);
  return cJSON_IsString (v) ? v->valuestring : NULL;
}

static double
num (const cJSON *o, const char *path)
{
  const cJSON *v = at (o, path);
  cr_assert (cJSON_IsNumber (v), "%s is not a number", path);
  return v->valuedouble;
}

/* A string expected at a dotted path. */
struct want_str {
  const char *path;
  const char *value;
};

/* Each string of the table, ended by { NULL }, at its path of o. */
static void
expect_strs (const cJSON *o, const struct want_str *w)
{
  for (; w->path; w++) {
    const char *got = str (o, w->path);
    cr_expect (got && strcmp (got, w->value) == 0, "%s: \"%s\", want \"%s\"", w->path,
               got ? got : "(none)", w->value);
  }
}

#define EXPECT_STRS(o, ...) expect_strs ((o), (const struct want_str[]) { __VA_ARGS__, { NULL, NULL } })

/* The release JSON of a fixture record. */
static cJSON *
release_of (const char *file)
{
  const char *top = getenv ("abs_top_srcdir");
  char *path = xasprintf ("%s/tests/data/helm-releases/%s", top ? top : ".", file);
  struct yamljson y;
  struct rm_error err;
  cr_assert_eq (yamljson_load (path, &y, &err), 0, "%s", err.message);
  struct helm_release rel;
  cr_assert_eq (helm_release_decode (y.docs->child, HELM_DRIVER_AUTO, NULL, &rel, &err), HELM_OK,
                "%s", err.message);
  cJSON *r = cJSON_ParseWithLength (rel.json, rel.json_len);
  helm_release_free (&rel);
  yamljson_free (&y);
  free (path);
  return r;
}

struct converted {
  char *text;                 /* the new manifest */
  struct imp_conversion *c;
  size_t n;
  cJSON *docs;                /* the new manifest parsed, object documents only */
};

static void
convert_text (const char *manifest, const struct imp_served *sv, bool convert,
              struct converted *out)
{
  memset (out, 0, sizeof *out);
  struct rm_error err;
  cr_assert_eq (imp_convert_manifest (manifest, "m", sv, convert, &out->text, &out->c, &out->n,
                                      &err), RM_OK, "%s", err.message);
  const char *t = out->text ? out->text : manifest;
  struct yamljson y;
  cr_assert_eq (yamljson_parse (t, strlen (t), "out", &y, &err), 0, "%s\n%s", err.message, t);
  out->docs = cJSON_CreateArray ();
  cJSON *d;
  while ((d = y.docs->child)) {
    cJSON_DetachItemViaPointer (y.docs, d);
    if (cJSON_IsObject (d))
      cJSON_AddItemToArray (out->docs, d);
    else
      cJSON_Delete (d);
  }
  yamljson_free (&y);
}

static void
converted_free (struct converted *x)
{
  for (size_t i = 0; i < x->n; i++)
    imp_conversion_free (&x->c[i]);
  free (x->c);
  free (x->text);
  cJSON_Delete (x->docs);
}

static const cJSON *
doc_of_kind (const struct converted *x, const char *kind)
{
  const cJSON *d;
  cJSON_ArrayForEach (d, x->docs)
    if (strcmp (str (d, "kind"), kind) == 0)
      return d;
  cr_assert_fail ("no %s in the converted manifest", kind);
  return NULL;
}

static bool
has_change (const struct imp_conversion *c, const char *fragment)
{
  for (size_t i = 0; i < c->changes.n; i++)
    if (strstr (c->changes.items[i], fragment))
      return true;
  return false;
}

Test (convert, real_record_pdb_and_hpa_v2beta1)
{
  cJSON *rel = release_of ("01-secret-basic-demo2.json");
  const char *manifest = str (rel, "manifest");
  struct converted x;
  convert_text (manifest, &cur, true, &x);
  cr_assert_eq (x.n, 4);
  cr_expect_eq (x.c[0].result, IMP_CONV_CONVERTED);
  cr_expect_str_eq (x.c[0].from, "policy/v1beta1");
  cr_expect_str_eq (x.c[0].to, "policy/v1");
  cr_expect_eq (x.c[0].changes.n, 0, "a PDB with a selector needs no field change");
  cr_expect_eq (x.c[1].result, IMP_CONV_KEPT);   /* Service v1 */
  cr_expect_eq (x.c[2].result, IMP_CONV_KEPT);   /* Deployment apps/v1 */
  cr_expect_eq (x.c[3].result, IMP_CONV_CONVERTED);
  cr_expect_str_eq (x.c[3].to, "autoscaling/v2");

  const cJSON *pdb = doc_of_kind (&x, "PodDisruptionBudget");
  cr_expect_str_eq (str (pdb, "apiVersion"), "policy/v1");
  const cJSON *ml = at (pdb, "spec.selector.matchLabels");
  cr_expect_str_eq (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (
                      ml, "app.kubernetes.io/instance")), "demo2");
  cr_expect_str_eq (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (
                      ml, "app.kubernetes.io/name")), "basic-demo");
  cr_expect_eq (num (pdb, "spec.maxUnavailable"), 1);
  const cJSON *hpa = doc_of_kind (&x, "HorizontalPodAutoscaler");
  EXPECT_STRS (hpa,
               { "apiVersion", "autoscaling/v2" },
               { "spec.metrics.0.resource.name", "cpu" },
               { "spec.metrics.0.resource.target.type", "Utilization" });
  cr_expect_eq (num (hpa, "spec.metrics.0.resource.target.averageUtilization"), 60);
  cr_expect_null (at (hpa, "spec.metrics.0.resource.targetAverageUtilization"));
  cr_expect_eq (num (hpa, "spec.minReplicas"), 3);
  cr_expect_str_eq (str (hpa, "spec.scaleTargetRef.name"), "demo2-basic-demo");

  /* Kept documents stay byte for byte, with their "# Source:" comments; converted ones
   * keep theirs too. */
  const char *svc = strstr (manifest, "# Source: basic-demo/templates/service.yaml");
  const char *dep_end = strstr (manifest, "# Source: basic-demo/templates/hpa.yaml");
  cr_assert (svc && dep_end);
  char *kept = xasprintf ("%.*s", (int) (dep_end - svc), svc);
  cr_expect (strstr (x.text, kept), "the Service and Deployment documents changed");
  free (kept);
  cr_expect (strstr (x.text, "# Source: basic-demo/templates/pdb.yaml\napiVersion: \"policy/v1\""),
             "%s", x.text);
  cr_expect (strstr (x.text, "# Source: basic-demo/templates/hpa.yaml\n"));

  /* Converting the result again changes nothing. */
  struct converted again;
  convert_text (x.text, &cur, true, &again);
  cr_expect_null (again.text);
  converted_free (&again);
  converted_free (&x);
  cJSON_Delete (rel);
}

Test (convert, real_record_crd_and_ingress_v1beta1)
{
  cJSON *rel = release_of ("02-secret-crd-ingress-v1beta1.yaml");
  struct converted x;
  convert_text (str (rel, "manifest"), &cur, true, &x);
  cr_assert_eq (x.n, 2);
  const cJSON *crd = doc_of_kind (&x, "CustomResourceDefinition");
  cr_expect_str_eq (str (crd, "apiVersion"), "apiextensions.k8s.io/v1");
  cr_expect_null (at (crd, "spec.validation"));
  cr_expect_str_eq (str (crd, "spec.versions.0.name"), "v1beta1");
  cr_expect_str_eq (str (crd, "spec.versions.1.name"), "v1");
  for (int v = 0; v < 2; v++) {
    char *p = xasprintf ("spec.versions.%d.schema.openAPIV3Schema", v);
    const cJSON *s = at (crd, p);
    cr_expect_str_eq (str (s, "type"), "object");
    cr_expect_str_eq (str (s, "properties.host.type"), "string");
    cr_expect (cJSON_IsTrue (at (s, "x-kubernetes-preserve-unknown-fields")),
               "v1beta1 kept unknown fields: so must v1");
    free (p);
  }
  cr_expect_str_eq (str (crd, "spec.conversion.strategy"), "None");
  cr_expect_str_eq (str (crd, "spec.names.kind"), "CronTab");
  cr_expect_eq (x.c[0].warnings.n, 1);
  cr_expect (strstr (x.c[0].warnings.items[0], "crontabs.example.com"));
  cr_expect (strstr (x.c[0].warnings.items[0], "x-kubernetes-preserve-unknown-fields"));

  const cJSON *ing = doc_of_kind (&x, "Ingress");
  cr_expect_str_eq (str (ing, "apiVersion"), "networking.k8s.io/v1");
  const cJSON *path = at (ing, "spec.rules.0.http.paths.0");
  EXPECT_STRS (path,
               { "path", "/test" },
               { "pathType", "ImplementationSpecific" },
               { "backend.service.name", "echo" });
  cr_expect_eq (num (path, "backend.service.port.number"), 80);
  cr_expect_null (at (path, "backend.serviceName"));
  cr_expect_null (at (path, "backend.servicePort"));
  cr_expect_str_eq (cJSON_GetObjectItemCaseSensitive (at (ing, "metadata.annotations"),
                                                      "kubernetes.io/ingress.class")->valuestring,
                    "kong");
  cr_expect (has_change (&x.c[1], "pathType"));
  char *d = imp_conversion_describe (&x.c[1]);
  cr_expect_str_eq (d, "Ingress example-ingress: networking.k8s.io/v1beta1 -> networking.k8s.io/v1 "
                    "(spec.rules[].http.paths[].backend: serviceName/servicePort to "
                    "service.name/port (1); spec.rules[].http.paths[].pathType: "
                    "ImplementationSpecific (1))");
  free (d);
  converted_free (&x);
  cJSON_Delete (rel);
}

Test (convert, refused_with_no_convert_naming_the_replacement)
{
  cJSON *rel = release_of ("02-secret-crd-ingress-v1beta1.yaml");
  struct converted x;
  convert_text (str (rel, "manifest"), &cur, false, &x);
  cr_expect_null (x.text, "nothing is rewritten with --no-convert-apis");
  cr_assert_eq (x.n, 2);
  cr_expect_eq (x.c[1].result, IMP_CONV_UNSERVED);
  cr_expect_str_eq (x.c[1].kind, "Ingress");
  cr_expect_str_eq (x.c[1].name, "example-ingress");
  cr_expect_str_eq (x.c[1].from, "networking.k8s.io/v1beta1");
  cr_expect_str_eq (x.c[1].to, "networking.k8s.io/v1");
  converted_free (&x);
  cJSON_Delete (rel);
}

/* An old chart's workloads (stable/nginx-ingress 0.x, stable/redis, stable/fluentd): no
 * selector, extensions defaults. */
static const char workloads[] =
  "# Source: nginx-ingress/templates/controller-deployment.yaml\n"
  "apiVersion: extensions/v1beta1\n"
  "kind: Deployment\n"
  "metadata:\n  name: web-nginx-ingress-controller\n"
  "spec:\n  replicas: 1\n  rollbackTo:\n    revision: 2\n"
  "  template:\n    metadata:\n      labels:\n        app: nginx-ingress\n        component: controller\n"
  "    spec:\n      containers:\n      - name: c\n        image: nginx\n"
  "---\n"
  "apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata:\n  name: fluentd\n"
  "spec:\n  templateGeneration: 3\n  template:\n    metadata:\n      labels: {app: fluentd}\n"
  "    spec:\n      containers: [{name: f, image: fluentd}]\n"
  "---\n"
  "apiVersion: apps/v1beta1\nkind: StatefulSet\nmetadata:\n  name: redis\n"
  "spec:\n  serviceName: redis\n  template:\n    metadata:\n      labels: {app: redis}\n"
  "    spec:\n      containers: [{name: r, image: redis}]\n"
  "---\n"
  "apiVersion: apps/v1beta2\nkind: Deployment\nmetadata:\n  name: explicit\n"
  "spec:\n  revisionHistoryLimit: 3\n  selector:\n    matchLabels: {app: x}\n"
  "  template:\n    metadata:\n      labels: {app: x, tier: web}\n"
  "    spec:\n      containers: [{name: x, image: x}]\n";

Test (convert, workloads_to_apps_v1)
{
  struct converted x;
  convert_text (workloads, &cur, true, &x);
  cr_assert_eq (x.n, 4);
  const cJSON *dep = cJSON_GetArrayItem (x.docs, 0);
  EXPECT_STRS (dep,
               { "apiVersion", "apps/v1" },
               { "spec.selector.matchLabels.app", "nginx-ingress" },
               { "spec.selector.matchLabels.component", "controller" });
  cr_expect_null (at (dep, "spec.rollbackTo"));
  cr_expect_eq (num (dep, "spec.revisionHistoryLimit"), 2147483647);
  cr_expect_eq (num (dep, "spec.progressDeadlineSeconds"), 2147483647);
  cr_expect_eq (num (dep, "spec.strategy.rollingUpdate.maxUnavailable"), 1);
  cr_expect_eq (num (dep, "spec.strategy.rollingUpdate.maxSurge"), 1);
  cr_expect_str_eq (str (dep, "spec.strategy.type"), "RollingUpdate");
  cr_expect_eq (num (dep, "spec.replicas"), 1);
  cr_expect (has_change (&x.c[0], "spec.selector"));
  cr_expect (has_change (&x.c[0], "rollbackTo"));
  const cJSON *ds = cJSON_GetArrayItem (x.docs, 1);
  EXPECT_STRS (ds,
               { "apiVersion", "apps/v1" },
               { "spec.selector.matchLabels.app", "fluentd" },
               { "spec.updateStrategy.type", "OnDelete" });
  cr_expect_null (at (ds, "spec.templateGeneration"));
  const cJSON *sts = cJSON_GetArrayItem (x.docs, 2);
  EXPECT_STRS (sts,
               { "apiVersion", "apps/v1" },
               { "spec.updateStrategy.type", "OnDelete" },
               { "spec.selector.matchLabels.app", "redis" });
  const cJSON *ex = cJSON_GetArrayItem (x.docs, 3);
  cr_expect_eq (num (ex, "spec.revisionHistoryLimit"), 3, "an explicit value is kept");
  cr_expect_null (at (ex, "spec.selector.matchLabels.tier"), "an explicit selector is kept");
  cr_expect_null (at (ex, "spec.strategy"), "apps/v1beta2 had apps/v1's strategy defaults");
  converted_free (&x);
}

/* Old charts' networking, admission, policy and batch objects. */
static const char others[] =
  "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: legacy\n"
  "spec:\n  backend:\n    serviceName: default-http\n    servicePort: http\n"
  "  tls:\n  - hosts: [a.example]\n    secretName: tls\n"
  "  rules:\n  - host: a.example\n    http:\n      paths:\n      - backend:\n"
  "          serviceName: web\n          servicePort: \"8080\"\n"
  "      - path: /api\n        pathType: Prefix\n        backend:\n"
  "          serviceName: api\n          servicePort: grpc\n"
  "---\n"
  "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: deny}\n"
  "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
  "---\n"
  "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: restricted}\n"
  "spec:\n  privileged: false\n"
  "---\n"
  "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: none}\n"
  "spec:\n  minAvailable: 1\n  selector: {}\n"
  "---\n"
  "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: backup}\n"
  "spec:\n  schedule: \"0 3 * * *\"\n  jobTemplate:\n    spec:\n      template:\n"
  "        spec:\n          restartPolicy: OnFailure\n"
  "          containers: [{name: b, image: busybox}]\n"
  "---\n"
  "apiVersion: admissionregistration.k8s.io/v1beta1\nkind: ValidatingWebhookConfiguration\n"
  "metadata: {name: cert-manager-webhook}\n"
  "webhooks:\n- name: webhook.cert-manager.io\n  clientConfig:\n    service:\n"
  "      name: cert-manager-webhook\n      namespace: cm\n      path: /validate\n"
  "  rules:\n  - operations: [CREATE, UPDATE]\n    apiGroups: [cert-manager.io]\n"
  "    apiVersions: [v1alpha2]\n    resources: [\"*/*\"]\n"
  "- name: second.example\n  sideEffects: NoneOnDryRun\n  failurePolicy: Fail\n"
  "  admissionReviewVersions: [v1]\n  clientConfig: {url: \"https://x.example\"}\n";

Test (convert, ingress_netpol_psp_pdb_cronjob_webhook)
{
  struct converted x;
  convert_text (others, &cur, true, &x);
  cr_assert_eq (x.n, 6);
  cr_expect_eq (cJSON_GetArraySize (x.docs), 5, "the PodSecurityPolicy is dropped");
  const cJSON *ing = cJSON_GetArrayItem (x.docs, 0);
  cr_expect_str_eq (str (ing, "spec.defaultBackend.service.name"), "default-http");
  cr_expect_str_eq (str (ing, "spec.defaultBackend.service.port.name"), "http");
  cr_expect_null (at (ing, "spec.backend"));
  cr_expect_eq (num (ing, "spec.rules.0.http.paths.0.backend.service.port.number"), 8080,
                "a quoted number is a port number");
  cr_expect_str_eq (str (ing, "spec.rules.0.http.paths.0.pathType"), "ImplementationSpecific");
  cr_expect_str_eq (str (ing, "spec.rules.0.http.paths.1.pathType"), "Prefix", "kept");
  cr_expect_str_eq (str (ing, "spec.rules.0.http.paths.1.backend.service.port.name"), "grpc");
  cr_expect_str_eq (str (ing, "spec.tls.0.secretName"), "tls");
  const cJSON *np = cJSON_GetArrayItem (x.docs, 1);
  cr_expect_str_eq (str (np, "apiVersion"), "networking.k8s.io/v1");
  cr_expect (cJSON_IsObject (at (np, "spec.podSelector")));
  cr_expect_eq (x.c[2].result, IMP_CONV_DROPPED);
  cr_expect_eq (x.c[2].warnings.n, 1);
  cr_expect (strstr (x.c[2].warnings.items[0], "PodSecurityPolicy restricted"));
  cr_expect (!strstr (x.text, "restricted"), "%s", x.text);
  const cJSON *pdb = cJSON_GetArrayItem (x.docs, 2);
  cr_expect_str_eq (str (pdb, "apiVersion"), "policy/v1");
  cr_expect_str_eq (str (pdb, "spec.selector.matchExpressions.0.operator"), "Exists",
                    "an empty selector still selects no pods");
  cr_expect_eq (x.c[3].warnings.n, 1);
  const cJSON *cj = cJSON_GetArrayItem (x.docs, 3);
  cr_expect_str_eq (str (cj, "apiVersion"), "batch/v1");
  cr_expect_str_eq (str (cj, "spec.schedule"), "0 3 * * *");
  const cJSON *wh = cJSON_GetArrayItem (x.docs, 4);
  EXPECT_STRS (wh,
               { "apiVersion", "admissionregistration.k8s.io/v1" },
               { "webhooks.0.sideEffects", "None" },
               { "webhooks.0.admissionReviewVersions.0", "v1beta1" });
  cr_expect_eq (num (wh, "webhooks.0.timeoutSeconds"), 30);
  EXPECT_STRS (wh,
               { "webhooks.0.failurePolicy", "Ignore" },
               { "webhooks.0.matchPolicy", "Exact" },
               { "webhooks.0.rules.0.resources.0", "*/*" });
  /* The second webhook's own settings are kept. */
  EXPECT_STRS (wh,
               { "webhooks.1.sideEffects", "NoneOnDryRun" },
               { "webhooks.1.failurePolicy", "Fail" },
               { "webhooks.1.admissionReviewVersions.0", "v1" });
  converted_free (&x);
}

static const char crd_full[] =
  "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n"
  "metadata: {name: certificates.cert-manager.io}\n"
  "spec:\n  group: cert-manager.io\n  version: v1alpha2\n  scope: Namespaced\n"
  "  preserveUnknownFields: false\n"
  "  names: {kind: Certificate, plural: certificates, shortNames: [cert, certs]}\n"
  "  subresources: {status: {}}\n"
  "  additionalPrinterColumns:\n  - name: Ready\n    type: string\n"
  "    JSONPath: .status.conditions[?(@.type==\"Ready\")].status\n"
  "  validation:\n    openAPIV3Schema:\n      type: object\n      properties:\n"
  "        spec: {type: object, required: [secretName]}\n"
  "  conversion:\n    strategy: Webhook\n    webhookClientConfig:\n"
  "      service: {name: cert-manager-webhook, namespace: cm, path: /convert}\n";

Test (convert, crd_v1beta1_single_version_columns_subresources_webhook)
{
  struct converted x;
  convert_text (crd_full, &cur, true, &x);
  cr_assert_eq (x.n, 1);
  const cJSON *crd = cJSON_GetArrayItem (x.docs, 0);
  cr_expect_str_eq (str (crd, "spec.versions.0.name"), "v1alpha2");
  cr_expect (cJSON_IsTrue (at (crd, "spec.versions.0.storage")));
  cr_expect (cJSON_IsTrue (at (crd, "spec.versions.0.served")));
  cr_expect_null (at (crd, "spec.version"));
  cr_expect_null (at (crd, "spec.preserveUnknownFields"));
  cr_expect (cJSON_IsObject (at (crd, "spec.versions.0.subresources.status")));
  cr_expect_str_eq (str (crd, "spec.versions.0.additionalPrinterColumns.0.jsonPath"),
                    ".status.conditions[?(@.type==\"Ready\")].status");
  cr_expect_null (at (crd, "spec.versions.0.additionalPrinterColumns.0.JSONPath"));
  cr_expect_str_eq (str (crd, "spec.versions.0.schema.openAPIV3Schema.properties.spec.required.0"),
                    "secretName");
  cr_expect_null (at (crd, "spec.versions.0.schema.openAPIV3Schema.x-kubernetes-preserve-unknown-fields"),
                  "preserveUnknownFields: false: pruning as before");
  cr_expect_eq (x.c[0].warnings.n, 0);
  cr_expect_str_eq (str (crd, "spec.conversion.webhook.clientConfig.service.path"), "/convert");
  cr_expect_str_eq (str (crd, "spec.conversion.webhook.conversionReviewVersions.0"), "v1beta1");
  cr_expect_null (at (crd, "spec.conversion.webhookClientConfig"));
  converted_free (&x);
}

static const char misc[] =
  "apiVersion: autoscaling/v2beta1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
  "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: d}\n"
  "  maxReplicas: 5\n  metrics:\n"
  "  - type: Pods\n    pods: {metricName: rps, targetAverageValue: \"10\"}\n"
  "  - type: Object\n    object:\n      target: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}\n"
  "      metricName: requests\n      targetValue: 2k\n"
  "  - type: External\n    external:\n      metricName: queue\n"
  "      metricSelector: {matchLabels: {q: jobs}}\n      targetAverageValue: \"30\"\n"
  "  - type: Resource\n    resource: {name: memory, targetAverageValue: 512Mi}\n"
  "---\n"
  "apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: ext-1}\n"
  "addressType: IPv4\nports: [{name: http, port: 80}]\nendpoints:\n- addresses: [10.0.0.1]\n"
  "  topology: {kubernetes.io/hostname: node-1, topology.kubernetes.io/zone: z1}\n"
  "---\n"
  "apiVersion: flowcontrol.apiserver.k8s.io/v1beta2\nkind: PriorityLevelConfiguration\n"
  "metadata: {name: batch}\nspec:\n  type: Limited\n  limited:\n    assuredConcurrencyShares: 5\n"
  "    limitResponse: {type: Reject}\n"
  "---\n"
  "apiVersion: rbac.authorization.k8s.io/v1beta1\nkind: ClusterRole\nmetadata: {name: r}\n"
  "rules: [{apiGroups: [\"\"], resources: [pods], verbs: [get]}]\n"
  "---\n"
  "apiVersion: scheduling.k8s.io/v1beta1\nkind: PriorityClass\nmetadata: {name: high}\n"
  "value: 1000000\nglobalDefault: false\n"
  "---\n"
  "apiVersion: storage.k8s.io/v1beta1\nkind: StorageClass\nmetadata: {name: fast}\n"
  "provisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n"
  "---\n"
  "apiVersion: coordination.k8s.io/v1beta1\nkind: Lease\nmetadata: {name: l}\n"
  "spec: {holderIdentity: a}\n"
  "---\n"
  "apiVersion: node.k8s.io/v1beta1\nkind: RuntimeClass\nmetadata: {name: gvisor}\nhandler: runsc\n"
  "---\n"
  "apiVersion: apiregistration.k8s.io/v1beta1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\n"
  "spec: {group: metrics.k8s.io, version: v1beta1, groupPriorityMinimum: 100, versionPriority: 100,\n"
  "  service: {name: metrics-server, namespace: kube-system}}\n"
  "---\n"
  "apiVersion: example.com/v1beta1\nkind: Widget\nmetadata: {name: w}\n";

Test (convert, hpa_endpointslice_flowcontrol_and_renames)
{
  struct converted x;
  convert_text (misc, &cur, true, &x);
  cr_assert_eq (x.n, 10);
  const cJSON *h = cJSON_GetArrayItem (x.docs, 0);
  EXPECT_STRS (h,
               { "spec.metrics.0.pods.metric.name", "rps" },
               { "spec.metrics.0.pods.target.type", "AverageValue" },
               { "spec.metrics.0.pods.target.averageValue", "10" },
               { "spec.metrics.1.object.describedObject.name", "main" },
               { "spec.metrics.1.object.metric.name", "requests" },
               { "spec.metrics.1.object.target.type", "Value" },
               { "spec.metrics.1.object.target.value", "2k" },
               { "spec.metrics.2.external.metric.selector.matchLabels.q", "jobs" },
               { "spec.metrics.2.external.target.averageValue", "30" },
               { "spec.metrics.3.resource.target.type", "AverageValue" },
               { "spec.metrics.3.resource.target.averageValue", "512Mi" });
  const cJSON *es = cJSON_GetArrayItem (x.docs, 1);
  EXPECT_STRS (es,
               { "apiVersion", "discovery.k8s.io/v1" },
               { "endpoints.0.nodeName", "node-1" },
               { "endpoints.0.zone", "z1" });
  cr_expect_null (at (es, "endpoints.0.topology"));
  const cJSON *plc = cJSON_GetArrayItem (x.docs, 2);
  cr_expect_str_eq (str (plc, "apiVersion"), "flowcontrol.apiserver.k8s.io/v1");
  cr_expect_eq (num (plc, "spec.limited.nominalConcurrencyShares"), 5);
  static const char *const want[] = { "rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1",
                                      "storage.k8s.io/v1", "coordination.k8s.io/v1",
                                      "node.k8s.io/v1", "apiregistration.k8s.io/v1" };
  for (int i = 0; i < 6; i++) {
    cr_expect_str_eq (str (cJSON_GetArrayItem (x.docs, 3 + i), "apiVersion"), want[i]);
    cr_expect_eq (x.c[3 + i].changes.n, 0, "%s: a rename only", want[i]);
  }
  cr_expect_eq (num (cJSON_GetArrayItem (x.docs, 4), "value"), 1000000);
  cr_expect_eq (x.c[9].result, IMP_CONV_UNSERVED, "a custom resource the table does not know");
  cr_expect_null (x.c[9].to);
  converted_free (&x);
}

Test (convert, first_served_replacement)
{
  /* A 1.23 cluster: autoscaling/v2 not served yet, the table's next choice is. */
  cJSON *o = yaml ("apiVersion: autoscaling/v2beta1\nkind: HorizontalPodAutoscaler\n"
                   "metadata: {name: h}\nspec:\n  maxReplicas: 2\n  metrics:\n"
                   "  - type: Resource\n    resource: {name: cpu, targetAverageUtilization: 50}\n");
  struct imp_conversion c;
  imp_convert_object (o, &old123, true, &c);
  cr_expect_eq (c.result, IMP_CONV_CONVERTED);
  cr_expect_str_eq (c.to, "autoscaling/v2beta2");
  cr_expect_str_eq (str (o, "spec.metrics.0.resource.target.type"), "Utilization");
  imp_conversion_free (&c);
  cJSON_Delete (o);
  o = yaml ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n");
  imp_convert_object (o, &old123, true, &c);
  cr_expect_eq (c.result, IMP_CONV_KEPT);
  cr_expect_null (c.to);
  imp_conversion_free (&c);
  cJSON_Delete (o);
}

Test (convert, yaml_emitter_round_trips)
{
  cJSON *o = yaml ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd\n"
                   "  annotations: {\"y\": \"1\", \"on\": x, \"a b\": c, \"80\": port}\n"
                   "data:\n  script: |\n    #!/bin/sh\n    echo \"hi\\there\" # not a comment\n"
                   "  empty: \"\"\n  colon: \"a: b\"\n  yes: \"no\"\n"
                   "list: [[1, 2], [], {}, {a: [x]}, null, true, 1.5, -3]\n");
  char *text = imp_yaml_emit (o);
  cJSON *back = yaml (text);
  cr_expect (cJSON_Compare (o, back, true), "%s", text);
  cJSON_Delete (back);
  free (text);
  cJSON_Delete (o);
}
