#!/usr/bin/env python3
"""End-to-end tests of import's API conversion (issue 16): releases rendered years ago for
API versions a current cluster no longer serves, restored into the fake API server, which
serves only current versions as a 1.31+ server does (tests/fakekube) and refuses the old
shapes in the new versions, then proven with REAL helm 3: list, get manifest, upgrade,
rollback, uninstall.

Releases: the real Helm 3 records of tests/data/helm-releases (demo2: policy/v1beta1 PDB
and autoscaling/v2beta1 HPA; foooo: an apiextensions v1beta1 CRD and a
networking.k8s.io/v1beta1 Ingress), and `legacy`, two revisions whose manifest holds an
old chart's objects (extensions/v1beta1 Deployment without selector and Ingress, RBAC
v1beta1, a CRD v1beta1 with a custom resource, a v1beta1 webhook, a PodSecurityPolicy,
a batch/v1beta1 CronJob post-install hook), written as Helm's Secret records.  All are
put on a source fake cluster and exported with our export, so the store is a real one.

Cases: --dry-run lists every conversion and writes nothing; --no-convert-apis refuses
each release before any write, naming kind/name/apiVersion and the replacement; the
import converts, kubectl reads every converted object back, the records carry the
converted manifests (every revision), and helm upgrades, rolls back and uninstalls;
a release whose apply fails midway leaves nothing behind; --update-values renders with
the target cluster's version and API versions (tests/charts/capabilities); a release
restored already is skipped without its objects being read.

Exit 77 (skip) with the reason when helm/kubectl, openssl or the program are missing."""

import base64
import functools
import gzip
import json
import os
import re
import shutil  # noqa: F401
import subprocess  # noqa: F401
import sys
import tempfile
import time  # noqa: F401
import unittest

import e2elib
from e2elib import fku, load_fixture, show
from e2elib import BUILDDIR, PLUGIN_DIR, RM_BIN, SRCDIR  # noqa: F401

DATA = e2elib.FIXTURES

TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()
STORE = None
REMOVED = re.compile(r"apiVersion: *\"?(extensions/v1beta1|policy/v1beta1|"
                     r"networking\.k8s\.io/v1beta1|apiextensions\.k8s\.io/v1beta1|"
                     r"autoscaling/v2beta1|rbac\.authorization\.k8s\.io/v1beta1|"
                     r"batch/v1beta1|admissionregistration\.k8s\.io/v1beta1)")

LEGACY_MANIFEST = """---
# Source: legacy/templates/psp.yaml
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: legacy-restricted
spec:
  privileged: false
  seLinux: {rule: RunAsAny}
  runAsUser: {rule: RunAsAny}
  supplementalGroups: {rule: RunAsAny}
  fsGroup: {rule: RunAsAny}
---
# Source: legacy/templates/crd.yaml
apiVersion: apiextensions.k8s.io/v1beta1
kind: CustomResourceDefinition
metadata:
  name: widgets.legacy.example
spec:
  group: legacy.example
  version: v1
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  subresources: {status: {}}
  additionalPrinterColumns:
  - {name: Size, type: string, JSONPath: .spec.size}
---
# Source: legacy/templates/role.yaml
apiVersion: rbac.authorization.k8s.io/v1beta1
kind: Role
metadata:
  name: legacy-reader
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
---
# Source: legacy/templates/rolebinding.yaml
apiVersion: rbac.authorization.k8s.io/v1beta1
kind: RoleBinding
metadata:
  name: legacy-reader
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: legacy-reader}
subjects:
- {kind: ServiceAccount, name: default, namespace: legacy}
---
# Source: legacy/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: legacy-web
spec:
  ports: [{port: 80, targetPort: 8080, name: http}]
  selector: {app: legacy-web}
---
# Source: legacy/templates/deployment.yaml
apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: legacy-web
spec:
  replicas: 1
  template:
    metadata:
      labels: {app: legacy-web}
    spec:
      containers:
      - name: web
        image: nginx:1.17
---
# Source: legacy/templates/ingress.yaml
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: legacy-web
  annotations: {kubernetes.io/ingress.class: nginx}
spec:
  rules:
  - host: legacy.example
    http:
      paths:
      - path: /
        backend: {serviceName: legacy-web, servicePort: http}
---
# Source: legacy/templates/webhook.yaml
apiVersion: admissionregistration.k8s.io/v1beta1
kind: ValidatingWebhookConfiguration
metadata:
  name: legacy-webhook
webhooks:
- name: validate.legacy.example
  clientConfig:
    service: {name: legacy-web, namespace: legacy, path: /validate}
  rules:
  - {operations: [CREATE], apiGroups: [legacy.example], apiVersions: [v1], resources: [widgets]}
---
# Source: legacy/templates/widget.yaml
apiVersion: legacy.example/v1
kind: Widget
metadata:
  name: legacy-widget
spec:
  size: large
"""

LEGACY_HOOK = """# Source: legacy/templates/cleanup.yaml
apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: legacy-cleanup
  annotations:
    "helm.sh/hook": post-install
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox}]
"""

LEGACY_PRESET = """# Source: legacy/templates/tests/preset.yaml
apiVersion: settings.k8s.io/v1alpha1
kind: PodPreset
metadata:
  name: legacy-preset
  annotations:
    "helm.sh/hook": test
spec:
  selector: {matchLabels: {app: legacy-web}}
  env: [{name: MODE, value: legacy}]
"""

NEW_DEMO_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: basic-demo\nversion: 0.4.0\n",
    "templates/pdb.yaml": """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .Release.Name }}-basic-demo
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: basic-demo
      app.kubernetes.io/instance: {{ .Release.Name }}
""",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-basic-demo
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: basic-demo
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: basic-demo
        app.kubernetes.io/instance: {{ .Release.Name }}
    spec:
      containers:
      - name: basic-demo
        image: ehazlett/docker-demo:1.0
""",
}


# PATH=/usr/bin:/bin: no helm of the test environment reaches the program.
rm = functools.partial(e2elib.rm, bin_path="/usr/bin:/bin", timeout=180)


def store_args():
    return e2elib.store_args(STORE)


def imp(fk, *extra):
    return rm("import", *store_args(), "--kubeconfig", fk.kubeconfig, *extra)


def fixture_secret(name):
    """A fixture's Secret as a source cluster holds it (server fields dropped)."""
    return load_fixture(name, drop=("resourceVersion", "uid", "selfLink", "creationTimestamp",
                                    "managedFields"))


def helm_secret(rel):
    """A release JSON as Helm 3's Secret driver writes it."""
    raw = json.dumps(rel, separators=(",", ":")).encode()
    inner = base64.b64encode(gzip.compress(raw)).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (rel["name"], rel["version"]),
                         "namespace": rel["namespace"],
                         "labels": {"owner": "helm", "name": rel["name"],
                                    "status": rel["info"]["status"],
                                    "version": str(rel["version"])}},
            "data": {"release": base64.b64encode(inner.encode()).decode()}}


def legacy_records(demo):
    """Two revisions of `legacy` built on the real demo2 record (its chart and info)."""
    out = []
    for version, status in ((1, "superseded"), (2, "deployed")):
        rel = json.loads(json.dumps(demo))
        rel.update(name="legacy", namespace="legacy", version=version, manifest=LEGACY_MANIFEST,
                   config={"rev": version})
        rel["info"]["status"] = status
        rel["info"]["description"] = "Install complete" if version == 1 else "Upgrade complete"
        rel["hooks"] = [{"name": "legacy-cleanup", "kind": "CronJob",
                         "path": "legacy/templates/cleanup.yaml", "manifest": LEGACY_HOOK,
                         "events": ["post-install"], "last_run": {}}]
        if version == 1:
            # settings.k8s.io/v1alpha1 was removed in 1.20 with no replacement: history
            # left as it is, with a warning (a `helm test` hook: rollback never runs it)
            rel["hooks"].append({"name": "legacy-preset", "kind": "PodPreset",
                                 "path": "legacy/templates/tests/preset.yaml",
                                 "manifest": LEGACY_PRESET, "events": ["test"],
                                 "last_run": {}})
        out.append(helm_secret(rel))
    return out


def setUpModule():
    global STORE
    demo_secret = fixture_secret("01-secret-basic-demo2.json")
    demo = fku.decode_release(demo_secret)
    objs = [demo_secret, fixture_secret("02-secret-crd-ingress-v1beta1.yaml")]
    objs += legacy_records(demo)
    STORE = tempfile.mkdtemp(prefix="store-", dir=WORK)
    with fku.FakeKube(tools=TOOLS) as src:
        src.load(objs)
        p = rm("export", *store_args(), "--kubeconfig", src.kubeconfig)
        assert p.returncode == 0, "export failed\n" + show(p)


def manifest_of(fk, ns, name, revision=None):
    args = ["get", "manifest", name, "-n", ns] + (["--revision", str(revision)] if revision else [])
    return fk.helm3(*args).stdout


class Refused(unittest.TestCase):
    """--dry-run and --no-convert-apis: plans and refusals, no write at all."""

    def test_dry_run_lists_every_conversion(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            fk.reset_log()
            p = imp(fk, "--dry-run")
            self.assertEqual(p.returncode, 0, show(p))
            for line in (
                    "convert PodDisruptionBudget demo2-basic-demo: policy/v1beta1 -> policy/v1",
                    "convert HorizontalPodAutoscaler demo2-basic-demo: autoscaling/v2beta1 -> "
                    "autoscaling/v2 (spec.metrics[]:",
                    "convert CustomResourceDefinition crontabs.example.com: "
                    "apiextensions.k8s.io/v1beta1 -> apiextensions.k8s.io/v1 (",
                    "convert Ingress example-ingress: networking.k8s.io/v1beta1 -> "
                    "networking.k8s.io/v1 (spec.rules[].http.paths[].backend",
                    "convert Deployment legacy-web: extensions/v1beta1 -> apps/v1 "
                    "(spec.selector: the template's labels",
                    "convert PodSecurityPolicy legacy-restricted: policy/v1beta1 -> (dropped)",
                    "convert hook legacy-cleanup: CronJob legacy-cleanup: batch/v1beta1 -> batch/v1",
                    "convert ValidatingWebhookConfiguration legacy-webhook: "
                    "admissionregistration.k8s.io/v1beta1 -> admissionregistration.k8s.io/v1"):
                self.assertIn(line, p.stdout, show(p))
            self.assertIn("PodSecurityPolicy legacy-restricted (policy/v1beta1) is not restored",
                          p.stderr)
            self.assertEqual(fk.writes(), [], "a dry run wrote")

    def test_no_convert_apis_refuses_before_any_write(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            fk.reset_log()
            p = imp(fk, "--no-convert-apis")
            self.assertEqual(p.returncode, 1, show(p))
            self.assertRegex(p.stdout, r"(?m)^failed demo2/demo2: preflight: 2 problems, nothing "
                             r"written: PodDisruptionBudget demo2-basic-demo: apiVersion "
                             r"policy/v1beta1 is not served by this cluster; its replacement "
                             r"policy/v1 is .*; HorizontalPodAutoscaler demo2-basic-demo: "
                             r"apiVersion autoscaling/v2beta1 .* replacement autoscaling/v2 is")
            self.assertRegex(p.stdout, r"(?m)^failed appns/foooo: preflight: 2 problems.*"
                             r"CustomResourceDefinition crontabs.example.com: apiVersion "
                             r"apiextensions.k8s.io/v1beta1 .*Ingress example-ingress: apiVersion "
                             r"networking.k8s.io/v1beta1 .* replacement networking.k8s.io/v1 is")
            self.assertRegex(p.stdout, r"(?m)^failed legacy/legacy: preflight: \d+ problems")
            # The import lock (a Lease) is the run's, not the release's.
            self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [],
                             "a refused release wrote")


class Restored(unittest.TestCase):
    """Everything imported once into a current cluster, then driven with real helm 3."""

    @classmethod
    def setUpClass(cls):
        cls.FK = fk = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(fk.stop)
        cls.P = imp(fk, "-v")

    def test_01_all_restored(self):
        p = self.P
        self.assertEqual(p.returncode, 0, show(p))
        # foooo: the record's object namespace (appns), not its payload's (default)
        for r in ("demo2/demo2", "appns/foooo", "legacy/legacy"):
            self.assertRegex(p.stdout, r"(?m)^restored %s: " % r, show(p))
        self.assertIn("converted PodDisruptionBudget demo2-basic-demo: policy/v1beta1 -> policy/v1",
                      p.stderr)
        self.assertIn("is not restored: the kind was removed", p.stderr)
        self.assertIn("demo2/demo2: 2 objects converted to API versions this cluster serves",
                      p.stderr)
        lst = {(r["namespace"], r["name"]): r for r in
               json.loads(self.FK.helm3("list", "-A", "-o", "json").stdout)}
        # helm list names the payload's namespace; the record lives in appns
        self.assertEqual(sorted(lst), [("default", "foooo"), ("demo2", "demo2"),
                                       ("legacy", "legacy")])
        self.assertEqual(lst[("legacy", "legacy")]["revision"], "2")

    def test_01a_old_revision_without_replacement_warned(self):
        self.assertIn("legacy/legacy: revision 1: hook legacy-preset: PodPreset legacy-preset: "
                      "apiVersion settings.k8s.io/v1alpha1 is not served by this cluster and "
                      "has no served replacement: left unconverted in the record",
                      self.P.stderr, show(self.P))
        self.assertNotIn("revision 2: hook legacy-preset", self.P.stderr)

    def test_01b_already_restored_says_no_conversion(self):
        p = imp(self.FK)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertRegex(p.stdout, r"(?m)^skipped demo2/demo2: already restored", show(p))
        self.assertNotIn("objects converted", p.stderr, show(p))

    def test_02_kubectl_reads_converted_objects(self):
        fk = self.FK
        def get(*a):
            return json.loads(fk.kubectl("get", *a, "-o", "json").stdout)
        pdb = get("poddisruptionbudgets.v1.policy", "demo2-basic-demo", "-n", "demo2")
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"], "demo2")
        hpa = get("horizontalpodautoscalers.v2.autoscaling", "demo2-basic-demo", "-n", "demo2")
        self.assertEqual(hpa["spec"]["metrics"][0]["resource"]["target"],
                         {"type": "Utilization", "averageUtilization": 60})
        ing = get("ingresses.v1.networking.k8s.io", "example-ingress", "-n", "appns")
        self.assertEqual(ing["spec"]["rules"][0]["http"]["paths"][0]["backend"],
                         {"service": {"name": "echo", "port": {"number": 80}}})
        crd = get("crd", "crontabs.example.com")
        self.assertEqual(crd["apiVersion"], "apiextensions.k8s.io/v1")
        self.assertTrue(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
                        ["x-kubernetes-preserve-unknown-fields"])
        dep = get("deployments.v1.apps", "legacy-web", "-n", "legacy")
        self.assertEqual(dep["spec"]["selector"], {"matchLabels": {"app": "legacy-web"}})
        self.assertEqual(dep["spec"]["revisionHistoryLimit"], 2147483647)
        self.assertEqual(dep["metadata"]["annotations"]["meta.helm.sh/release-name"], "legacy")
        ing = get("ingresses.v1.networking.k8s.io", "legacy-web", "-n", "legacy")
        self.assertEqual(ing["spec"]["rules"][0]["http"]["paths"][0]["backend"],
                         {"service": {"name": "legacy-web", "port": {"name": "http"}}})
        self.assertEqual(get("rolebindings.v1.rbac.authorization.k8s.io", "legacy-reader",
                             "-n", "legacy")["roleRef"]["name"], "legacy-reader")
        w = get("widgets.legacy.example", "legacy-widget", "-n", "legacy")
        self.assertEqual(w["spec"]["size"], "large")
        wh = get("validatingwebhookconfigurations", "legacy-webhook")
        self.assertEqual(wh["webhooks"][0]["sideEffects"], "None")
        cj = get("cronjobs.v1.batch", "legacy-cleanup", "-n", "legacy")
        self.assertEqual(cj["spec"]["schedule"], "0 3 * * *")
        st, _ = fk.get_json("/apis/policy/v1beta1/podsecuritypolicies/legacy-restricted")
        self.assertEqual(st, 404)

    def test_03_records_carry_converted_manifests(self):
        fk = self.FK
        for ns, name, revs in (("demo2", "demo2", [1]), ("appns", "foooo", [1]),
                               ("legacy", "legacy", [1, 2])):
            for rev in revs:
                m = manifest_of(fk, ns, name, rev)
                self.assertIsNone(REMOVED.search(m), "%s/%s rev %d:\n%s" % (ns, name, rev, m))
        m = manifest_of(fk, "demo2", "demo2")
        self.assertIn("# Source: basic-demo/templates/pdb.yaml\napiVersion: \"policy/v1\"", m)
        self.assertIn("# Source: basic-demo/templates/service.yaml\napiVersion: v1\n", m,
                      "a kept document is not byte for byte")
        self.assertNotIn("PodSecurityPolicy", manifest_of(fk, "legacy", "legacy"))
        hooks = fk.helm3("get", "hooks", "legacy", "-n", "legacy").stdout
        self.assertIn('apiVersion: "batch/v1"', hooks)
        hist = json.loads(fk.helm3("history", "legacy", "-n", "legacy", "-o", "json").stdout)
        self.assertEqual([(h["revision"], h["status"]) for h in hist],
                         [(1, "superseded"), (2, "deployed")])

    def test_04_helm_upgrade_rollback_uninstall(self):
        fk = self.FK
        chart = tempfile.mkdtemp(prefix="chart-", dir=WORK)
        for k, v in NEW_DEMO_CHART.items():
            os.makedirs(os.path.dirname(os.path.join(chart, k)), exist_ok=True)
            with open(os.path.join(chart, k), "w") as f:
                f.write(v)
        fk.helm3("upgrade", "demo2", chart, "-n", "demo2")
        st, _ = fk.get_json("/apis/autoscaling/v2/namespaces/demo2/horizontalpodautoscalers/"
                            "demo2-basic-demo")
        self.assertEqual(st, 404, "helm upgrade did not remove the HPA the new chart dropped")
        fk.helm3("rollback", "demo2", "1", "-n", "demo2")
        st, hpa = fk.get_json("/apis/autoscaling/v2/namespaces/demo2/horizontalpodautoscalers/"
                              "demo2-basic-demo")
        self.assertEqual(st, 200, "helm rollback did not bring the HPA back")
        hist = json.loads(fk.helm3("history", "demo2", "-n", "demo2", "-o", "json").stdout)
        self.assertEqual([(h["revision"], h["status"]) for h in hist],
                         [(1, "superseded"), (2, "superseded"), (3, "deployed")])
        fk.helm3("rollback", "legacy", "1", "-n", "legacy")
        for ns, name in (("demo2", "demo2"), ("appns", "foooo"), ("legacy", "legacy")):
            fk.helm3("uninstall", name, "-n", ns)
        for path in ("/apis/apps/v1/namespaces/legacy/deployments/legacy-web",
                     "/apis/networking.k8s.io/v1/namespaces/legacy/ingresses/legacy-web",
                     "/apis/networking.k8s.io/v1/namespaces/appns/ingresses/example-ingress",
                     "/apis/policy/v1/namespaces/demo2/poddisruptionbudgets/demo2-basic-demo"):
            st, _ = fk.get_json(path)
            self.assertEqual(st, 404, "helm uninstall left %s" % path)


def annotated(kind, api, ns, name, owner=None, extra=None):
    md = {"name": name, "namespace": ns}
    if owner:
        md["annotations"] = {"meta.helm.sh/release-name": owner[1],
                             "meta.helm.sh/release-namespace": owner[0]}
        md["labels"] = {"app.kubernetes.io/managed-by": "Helm"}
    o = {"apiVersion": api, "kind": kind, "metadata": md}
    o.update(extra or {})
    return o


SVC = {"spec": {"ports": [{"port": 80}]}}


class Owners(unittest.TestCase):
    """Preflight: objects already there and owned by another release or by none."""

    def test_conflicts_reported_with_other_problems_before_any_write(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                     for n in ("demo2", "legacy")]
                    + [annotated("Service", "v1", "demo2", "demo2-basic-demo", extra=SVC),
                       annotated("Service", "v1", "legacy", "legacy-web", ("legacy", "other"),
                                 extra=SVC)])
            fk.reset_log()
            p = imp(fk, "--no-convert-apis", "-n", "demo2")
            self.assertEqual(p.returncode, 1, show(p))
            # the conflict with the two unserved versions, all at once
            self.assertRegex(p.stdout, r"(?m)^failed demo2/demo2: preflight: 3 problems, nothing "
                             r"written: .*policy/v1beta1 is not served.*autoscaling/v2beta1.*"
                             r"Service demo2/demo2-basic-demo already exists and is not managed "
                             r"by release demo2/demo2 \(nor by any Helm release\): delete it, "
                             r"or import with --replace to take it over")
            p = imp(fk)
            self.assertEqual(p.returncode, 3, show(p))   # some restored, some failed
            self.assertRegex(p.stdout, r"(?m)^failed demo2/demo2: preflight: 1 problem, nothing "
                             r"written: Service demo2/demo2-basic-demo already exists")
            self.assertRegex(p.stdout, r"(?m)^failed legacy/legacy: preflight: 1 problem, nothing "
                             r"written: Service legacy/legacy-web already exists and belongs to "
                             r"release legacy/other, not legacy/legacy")
            self.assertRegex(p.stdout, r"(?m)^restored appns/foooo: ")
            paths = [w["path"] for w in fk.writes()]
            self.assertEqual([x for x in paths if "/namespaces/demo2/" in x
                              or "/namespaces/legacy/" in x], [], "a refused release wrote")
            p = imp(fk, "--replace", "-n", "demo2")
            self.assertEqual(p.returncode, 0, show(p))
            st, svc = fk.get_json("/api/v1/namespaces/demo2/services/demo2-basic-demo")
            self.assertEqual(svc["metadata"]["annotations"]["meta.helm.sh/release-name"], "demo2")

    def test_own_objects_are_no_conflict(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            # an interrupted import of the same release left its Service
            fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "legacy"}},
                     annotated("Service", "v1", "legacy", "legacy-web", ("legacy", "legacy"),
                               extra=SVC)])
            p = imp(fk, "-n", "legacy")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^restored legacy/legacy: resumed \(1 of \d+ objects")


class NoOrphans(unittest.TestCase):
    def test_failure_midway_deletes_what_was_created(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            # legacy: the CRD, Role, RoleBinding and Service are created, then the
            # Deployment fails (the release left an Ingress no release owned)
            fk.add_fault(method="POST", path="/namespaces/legacy/deployments$", status=500,
                         count=-1)
            p = imp(fk, "-n", "legacy")
            self.assertEqual(p.returncode, 1, show(p))
            self.assertRegex(p.stdout, r"(?m)^failed legacy/legacy: .*Deployment.*\(the \d+ "
                             r"objects this import created were deleted\)")
            for path in ("/api/v1/namespaces/legacy/services/legacy-web",
                         "/apis/rbac.authorization.k8s.io/v1/namespaces/legacy/roles/legacy-reader",
                         "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                         "widgets.legacy.example",
                         "/apis/networking.k8s.io/v1/namespaces/legacy/ingresses/legacy-web"):
                st, _ = fk.get_json(path)
                self.assertEqual(st, 404, "left behind: " + path)
            st, body = fk.get_json("/api/v1/namespaces/legacy/secrets?labelSelector=owner%3Dhelm")
            self.assertEqual(body["items"], [])


# An old chart (templates of extensions/v1beta1 Deployment and Ingress), stored in the
# record as Helm stores a chart, for --update-values: helm renders it again with the old
# apiVersions, and that render must be converted like the stored revisions.
OLDWEB_TEMPLATES = {
    "templates/service.yaml": """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  ports: [{port: 80, targetPort: 8080, name: http}]
  selector: {app: {{ .Release.Name }}}
""",
    "templates/deployment.yaml": """apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: web
        image: nginx:1.17
        env: [{name: MESSAGE, value: {{ .Values.message | quote }}}]
""",
    "templates/ingress.yaml": """apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
spec:
  rules:
  - host: {{ .Values.host }}
    http:
      paths:
      - path: /
        backend: {serviceName: {{ .Release.Name }}, servicePort: http}
""",
    "templates/hook.yaml": """apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: {{ .Release.Name }}-cleanup
  annotations:
    "helm.sh/hook": post-install,post-upgrade
    "helm.sh/hook-weight": "5"
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox}]
""",
}


def helm3_env(fk):
    """The environment of an import that re-renders with helm: the real helm 3 first on
    PATH, helm's homes in fk's, no RELEASEMANAGER_*/KUBECONFIG/HELM_DRIVER from outside."""
    bindir = tempfile.mkdtemp(prefix="helmbin-", dir=WORK)
    os.symlink(TOOLS["helm3"], os.path.join(bindir, "helm"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RELEASEMANAGER_") and k not in ("KUBECONFIG", "HELM_DRIVER")}
    env.update(PATH=bindir + ":/usr/bin:/bin", HOME=fk.home,
               HELM_CACHE_HOME=os.path.join(fk.home, "helm-cache"),
               HELM_CONFIG_HOME=os.path.join(fk.home, "helm-config"),
               HELM_DATA_HOME=os.path.join(fk.home, "helm-data"))
    return env


def oldweb_record(demo):
    """Revision 1 of `oldweb`, as Helm 3 stored it years ago (its manifest rendered with
    message=hello), its chart holding the templates above."""
    rel = json.loads(json.dumps(demo))
    chart = rel["chart"]
    chart["metadata"] = {"apiVersion": "v2", "name": "oldweb", "version": "0.1.0"}
    chart["values"] = {"replicas": 1, "message": "hello", "host": "old.example"}
    chart["templates"] = [{"name": k, "data": base64.b64encode(v.encode()).decode()}
                          for k, v in sorted(OLDWEB_TEMPLATES.items())]
    chart["files"] = []
    chart.pop("schema", None)
    chart.pop("lock", None)
    chart["metadata"].pop("dependencies", None)
    def render(k):
        return (OLDWEB_TEMPLATES[k].replace("{{ .Release.Name }}", "oldweb")
                .replace("{{ .Values.replicas }}", "1")
                .replace('{{ .Values.message | quote }}', '"hello"')
                .replace("{{ .Values.host }}", "old.example"))
    manifest = "".join("---\n# Source: oldweb/%s\n%s" % (k, render(k)) for k in
                       ("templates/service.yaml", "templates/deployment.yaml",
                        "templates/ingress.yaml"))
    rel.update(name="oldweb", namespace="oldweb", version=1, manifest=manifest,
               config={"message": "hello"})
    rel["info"]["status"] = "deployed"
    rel["info"]["description"] = "Install complete"
    rel["hooks"] = [{"name": "oldweb-cleanup", "kind": "CronJob",
                     "path": "oldweb/templates/hook.yaml",
                     "manifest": render("templates/hook.yaml"),
                     "events": ["post-install", "post-upgrade"], "weight": 5, "last_run": {}}]
    return helm_secret(rel)


NEW_OLDWEB_CHART = {
    "Chart.yaml": "apiVersion: v2\nname: oldweb\nversion: 0.2.0\n",
    "templates/service.yaml": OLDWEB_TEMPLATES["templates/service.yaml"],
}


class Rerendered(unittest.TestCase):
    """--update-values re-renders an old chart with helm: the render is converted and
    preflighted like the stored revisions, then real helm 3 drives the release."""

    def test_update_values_render_is_converted(self):
        demo = fku.decode_release(fixture_secret("01-secret-basic-demo2.json"))
        store = tempfile.mkdtemp(prefix="store-oldweb-", dir=WORK)
        sargs = ["local", "--path", store, "--fsync", "false", "--plugin-dir", PLUGIN_DIR]
        with fku.FakeKube(tools=TOOLS) as src:
            src.load([oldweb_record(demo)])
            p = rm("export", *sargs, "--kubeconfig", src.kubeconfig)
            self.assertEqual(p.returncode, 0, show(p))
        with fku.FakeKube(tools=TOOLS) as fk:
            env = helm3_env(fk)
            def run(*extra):
                return subprocess.run([RM_BIN, "import", *sargs, "--kubeconfig", fk.kubeconfig,
                                       *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env, timeout=180)
            fk.reset_log()
            p = run("--dry-run", "--update-values", "message=bonjour")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [])
            self.assertIn("helm template oldweb (chart rebuilt from the record) -n oldweb with "
                          "values {\"message\":\"bonjour\"}: revision 2", p.stdout)
            self.assertRegex(p.stdout, r"convert Deployment oldweb: extensions/v1beta1 -> apps/v1")
            self.assertRegex(p.stdout, r"convert Ingress oldweb: extensions/v1beta1 -> "
                             r"networking\.k8s\.io/v1")
            p = run("-v", "--update-values", "message=bonjour")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^restored oldweb/oldweb: revision 2, ", show(p))
            dep = json.loads(fk.kubectl("get", "deployments.v1.apps", "oldweb", "-n", "oldweb",
                                        "-o", "json").stdout)
            self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["env"],
                             [{"name": "MESSAGE", "value": "bonjour"}])
            self.assertEqual(dep["spec"]["selector"], {"matchLabels": {"app": "oldweb"}})
            ing = json.loads(fk.kubectl("get", "ingresses.v1.networking.k8s.io", "oldweb", "-n",
                                        "oldweb", "-o", "json").stdout)
            self.assertEqual(ing["spec"]["rules"][0]["http"]["paths"][0]["backend"],
                             {"service": {"name": "oldweb", "port": {"name": "http"}}})
            st, _ = fk.get_json("/apis/batch/v1/namespaces/oldweb/cronjobs/oldweb-cleanup")
            self.assertEqual(st, 200, "the rendered post-install hook did not run")
            hist = json.loads(fk.helm3("history", "oldweb", "-n", "oldweb", "-o", "json").stdout)
            self.assertEqual([(h["revision"], h["status"]) for h in hist],
                             [(1, "superseded"), (2, "deployed")])
            self.assertEqual(json.loads(fk.helm3("get", "values", "oldweb", "-n", "oldweb",
                                                 "-o", "json").stdout), {"message": "bonjour"})
            for rev in (1, 2):
                m = manifest_of(fk, "oldweb", "oldweb", rev)
                self.assertIsNone(REMOVED.search(m), "revision %d:\n%s" % (rev, m))
            self.assertIn("bonjour", manifest_of(fk, "oldweb", "oldweb", 2))
            hooks = fk.helm3("get", "hooks", "oldweb", "-n", "oldweb").stdout
            self.assertIn('apiVersion: "batch/v1"', hooks)
            # run again: the rendered revision is part of what is compared
            p = run("--update-values", "message=bonjour")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^skipped oldweb/oldweb: already restored", show(p))
            # real helm 3: upgrade to a current chart, roll back to the render, uninstall
            chart = tempfile.mkdtemp(prefix="chart-", dir=WORK)
            for k, v in NEW_OLDWEB_CHART.items():
                os.makedirs(os.path.dirname(os.path.join(chart, k)), exist_ok=True)
                with open(os.path.join(chart, k), "w") as f:
                    f.write(v)
            fk.helm3("upgrade", "oldweb", chart, "-n", "oldweb")
            st, _ = fk.get_json("/apis/networking.k8s.io/v1/namespaces/oldweb/ingresses/oldweb")
            self.assertEqual(st, 404, "helm upgrade did not remove the Ingress the new chart dropped")
            fk.helm3("rollback", "oldweb", "2", "-n", "oldweb")
            st, dep = fk.get_json("/apis/apps/v1/namespaces/oldweb/deployments/oldweb")
            self.assertEqual(st, 200, "helm rollback did not bring the Deployment back")
            self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
                             "bonjour")
            fk.helm3("uninstall", "oldweb", "-n", "oldweb")
            for path in ("/apis/apps/v1/namespaces/oldweb/deployments/oldweb",
                         "/apis/networking.k8s.io/v1/namespaces/oldweb/ingresses/oldweb",
                         "/api/v1/namespaces/oldweb/services/oldweb"):
                st, _ = fk.get_json(path)
                self.assertEqual(st, 404, "helm uninstall left %s" % path)


GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.caps.example"},
    "spec": {"group": "caps.example", "scope": "Namespaced",
             "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {
                               "type": "object",
                               "x-kubernetes-preserve-unknown-fields": True}}}]}}


class RenderedForTheTarget(unittest.TestCase):
    """--update-values renders as `helm upgrade` against the target cluster would: with
    its version (/version) and the API versions and kinds it serves (discovery), not helm
    template's built-in ones.  tests/charts/capabilities branches on both: installed by
    real helm 3 on a 1.31 source without its CRD, restored into a 1.29 target serving
    the Gadget CRD.  The discovery the render reads is the one the conversion uses: each
    discovery document is read once."""

    def test_update_values_renders_with_the_target_capabilities(self):
        chart = os.path.join(SRCDIR, "tests", "charts", "capabilities")
        store = tempfile.mkdtemp(prefix="store-caps-", dir=WORK)
        sargs = ["local", "--path", store, "--fsync", "false", "--plugin-dir", PLUGIN_DIR]
        with fku.FakeKube(tools=TOOLS) as src:
            src.helm3("install", "caps", chart, "-n", "caps", "--create-namespace",
                      "--set", "message=hello")
            before = src.helm3("get", "manifest", "caps", "-n", "caps").stdout
            self.assertIn('gadgetV1: "false"', before)
            self.assertIn('kubeVersion: "v1.31.0"', before)
            p = rm("export", *sargs, "--kubeconfig", src.kubeconfig)
            self.assertEqual(p.returncode, 0, show(p))
        with fku.FakeKube(tools=TOOLS, args=("--kube-version", "v1.29.7")) as fk:
            st, _, body = fk.request("POST", "/apis/apiextensions.k8s.io/v1/"
                                     "customresourcedefinitions", GADGET_CRD)
            self.assertEqual(st, 201, body)
            env = helm3_env(fk)
            def run(*extra):
                return subprocess.run([RM_BIN, "import", *sargs, "--kubeconfig", fk.kubeconfig,
                                       "--update-values", "message=bonjour", *extra],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=env, timeout=180)
            p = run("--dry-run")
            self.assertEqual(p.returncode, 0, show(p))
            # rendered for policy/v1 as the cluster serves it: nothing to convert
            self.assertNotIn("convert PodDisruptionBudget", p.stdout, show(p))
            self.assertNotIn("caps-no-gadget", p.stdout, show(p))
            self.assertRegex(p.stdout, r"helm template caps \(chart rebuilt from the record\) "
                             r"-n caps with values \{\"message\":\"bonjour\"\}: revision 2 "
                             r"\(Kubernetes v1\.29\.7, \d+ API versions\)", show(p))
            fk.reset_log()
            p = run("-v")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^restored caps/caps: revision 2, ", show(p))
            # discovery: each document read once, by the render, reused by the conversion
            disc = [q["path"] for q in fk.requests() if q["method"] == "GET"
                    and re.fullmatch(r"/version|/api(/v1)?|/apis(/[^/]+/[^/]+)?", q["path"])]
            self.assertIn("/apis/caps.example/v1", disc)
            self.assertEqual(sorted(set(disc)), sorted(disc), "discovery read twice")
            # what real helm reads back is what helm renders against this cluster
            got = fk.helm3("get", "manifest", "caps", "-n", "caps").stdout
            ref = fk.helm3("template", "caps", chart, "-n", "caps", "--set", "message=bonjour",
                           "--validate", "--is-upgrade").stdout
            self.assertEqual(got.strip(), ref.strip())
            self.assertIn('kubeVersion: "v1.29.7"', got)
            self.assertIn('kubeBefore130: "true"', got)
            self.assertIn('podDisruptionBudgetV1: "true"', got)
            self.assertIn('gadgetV1: "true"', got)
            self.assertIsNone(REMOVED.search(got), got)
            self.assertNotIn("unhealthyPodEvictionPolicy", got)
            st, gadget = fk.get_json("/apis/caps.example/v1/namespaces/caps/gadgets/caps")
            self.assertEqual(st, 200, "the Gadget the cluster serves was not rendered")
            self.assertEqual(gadget["spec"], {"message": "bonjour"})
            st, _ = fk.get_json("/api/v1/namespaces/caps/configmaps/caps-no-gadget")
            self.assertEqual(st, 404, "rendered as if the cluster served no Gadget")
            st, pdb = fk.get_json("/apis/policy/v1/namespaces/caps/poddisruptionbudgets/caps")
            self.assertEqual(st, 200)
            self.assertNotIn("unhealthyPodEvictionPolicy", pdb["spec"])
            hist = json.loads(fk.helm3("history", "caps", "-n", "caps", "-o", "json").stdout)
            self.assertEqual([(h["revision"], h["status"]) for h in hist],
                             [(1, "superseded"), (2, "deployed")])


RECORD_PATH = re.compile(r"^/api/v1/namespaces/[^/]+/(secrets|configmaps)(/|$)")


class RecordCheck(unittest.TestCase):
    """The "already restored" check reads no more than it must: per release and driver
    one metadata-only LIST with the release's label selector in its namespace, and a GET
    only for a record named as one of the import's that carries no matching hash (a
    record helm or an earlier version wrote)."""

    def record_requests(self, fk, *extra):
        fk.reset_log()
        t0 = fk.control("GET", "traffic")
        p = imp(fk, *extra)
        t1 = fk.control("GET", "traffic")
        self.assertEqual(p.returncode, 0, show(p))
        for r in ("demo2/demo2", "appns/foooo", "legacy/legacy"):
            self.assertRegex(p.stdout, r"(?m)^skipped %s: already restored" % r, show(p))
        reqs = [q for q in fk.requests() if RECORD_PATH.match(q["path"])]
        print("record check: %d requests (%d to records: %d bytes), %d bytes in all"
              % (t1["requests"] - t0["requests"], len(reqs),
                 sum(q.get("responseBytes", 0) for q in reqs), t1["bytes"] - t0["bytes"]),
              file=sys.stderr)
        return reqs

    def test_restored_release_objects_not_read(self):
        """A release found restored is skipped before the preflight reads its objects
        (owner and namespace checks): a second import asks only discovery, the records'
        LISTs and the lock."""
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk)
            self.assertEqual(p.returncode, 0, show(p))
            fk.reset_log()
            p = imp(fk)
            self.assertEqual(p.returncode, 0, show(p))
            for r in ("demo2/demo2", "appns/foooo", "legacy/legacy"):
                self.assertRegex(p.stdout, r"(?m)^skipped %s: already restored" % r, show(p))
            reqs = fk.requests()
            gets = [q["path"] for q in reqs if q["verb"] == "get"
                    and not re.fullmatch(r"/version|/api(/v1)?|/apis(/[^/]+/[^/]+)?", q["path"])
                    and "/leases/" not in q["path"]]
            print("already restored: %d requests, %d object GETs"
                  % (len(reqs), len(gets)), file=sys.stderr)
            self.assertEqual(gets, [], "objects of restored releases read")
            self.assertEqual([q for q in reqs if q["method"] not in ("GET", "HEAD")
                              and "/leases" not in q["path"]], [])

    def test_metadata_only_lists_and_gets_only_what_must_be_compared(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk)
            self.assertEqual(p.returncode, 0, show(p))
            reqs = self.record_requests(fk)
            lists = [q for q in reqs if q["verb"] == "list"]
            # secrets and configmaps (Helm reads one driver: the other is looked at too)
            from urllib.parse import parse_qs
            self.assertEqual(sorted((q["path"], parse_qs(q["query"])["labelSelector"][0])
                                    for q in lists),
                             sorted(("/api/v1/namespaces/%s/%s" % (ns, res),
                                     "owner=helm,name=%s" % n)
                                    for ns, n in (("demo2", "demo2"), ("appns", "foooo"),
                                                  ("legacy", "legacy"))
                                    for res in ("secrets", "configmaps")), reqs)
            for q in lists:
                self.assertIn("as=PartialObjectMetadataList", q["accept"], q)
            self.assertEqual([q for q in reqs if q["verb"] != "list"], [],
                             "records read whole although their hash matched")
            # records without the hash (as helm writes them): those, and only those, read
            for v in (1, 2):
                path = "/api/v1/namespaces/legacy/secrets/sh.helm.release.v1.legacy.v%d" % v
                st, sec = fk.get_json(path)
                self.assertIn("releasemanager.io/record-sha256", sec["metadata"]["annotations"])
                del sec["metadata"]["annotations"]["releasemanager.io/record-sha256"]
                st, _, body = fk.request("PUT", path, sec)
                self.assertEqual(st, 200, body)
            reqs = self.record_requests(fk)
            self.assertEqual(sorted(q["path"] for q in reqs if q["verb"] != "list"),
                             ["/api/v1/namespaces/legacy/secrets/sh.helm.release.v1.legacy.v%d"
                              % v for v in (1, 2)])
            # a record whose content differs (another release's): not taken for ours
            st, sec = fk.get_json("/api/v1/namespaces/demo2/secrets/sh.helm.release.v1.demo2.v1")
            rel = fku.decode_release(sec)
            rel["config"] = {"changed": True}
            other = helm_secret(rel)
            other["metadata"]["resourceVersion"] = sec["metadata"]["resourceVersion"]
            st, _, body = fk.request("PUT", "/api/v1/namespaces/demo2/secrets/"
                                     "sh.helm.release.v1.demo2.v1", other)
            self.assertEqual(st, 200, body)
            p = imp(fk, "-n", "demo2")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^skipped demo2/demo2: release demo2 already exists")


class LockNamespace(unittest.TestCase):
    """--lock-namespace: the import lock's Lease where the importer may keep it; a 403
    in its namespace, or no such namespace, stops the import before any write with an
    error naming the namespace and the option."""

    def leases(self, fk, ns):
        st, body = fk.get_json("/apis/coordination.k8s.io/v1/namespaces/%s/leases" % ns)
        return [l for l in body.get("items", [])
                if l["metadata"]["name"].startswith("releasemanager-import-")]

    def test_forbidden_default_and_lock_namespace(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            fk.add_fault(path="/namespaces/default/leases", status=403, count=-1)
            fk.reset_log()
            p = imp(fk, "-n", "demo2")
            self.assertEqual(p.returncode, 1, show(p))
            self.assertIn("import lock: this import may not use Leases in namespace default", p.stderr)
            self.assertIn("--lock-namespace NS", p.stderr)
            self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [],
                             "wrote without the lock")
            fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "locks"}}])
            p = imp(fk, "-n", "demo2", "--lock-namespace", "locks")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^restored demo2/demo2: ")
            got = self.leases(fk, "locks")
            self.assertEqual(len(got), 1, got)
            self.assertEqual(got[0]["spec"].get("holderIdentity", ""), "", "not given up")
            # the environment variable, as every option has one
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith("RELEASEMANAGER_") and k != "KUBECONFIG"}
            env.update(PATH="/usr/bin:/bin", RELEASEMANAGER_LOCK_NAMESPACE="locks")
            q = subprocess.run([RM_BIN, "import", *store_args(), "--kubeconfig", fk.kubeconfig,
                                "-n", "appns"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, timeout=180)
            self.assertEqual(q.returncode, 0, show(q))
            self.assertRegex(q.stdout, r"(?m)^restored appns/foooo: ")

    def test_missing_namespace_and_bad_name(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            fk.reset_log()
            p = imp(fk, "-n", "demo2", "--lock-namespace", "nosuch")
            self.assertEqual(p.returncode, 1, show(p))
            self.assertIn("import lock: namespace nosuch does not exist", p.stderr)
            self.assertIn("--lock-namespace", p.stderr)
            self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [],
                             "wrote without the lock")
            p = imp(fk, "-n", "demo2", "--lock-namespace", "Bad_NS")
            self.assertEqual(p.returncode, 2, show(p))
            self.assertIn("--lock-namespace: 'Bad_NS' is not a namespace name", p.stderr)
            # a dry run takes no lock: the option changes nothing there
            p = imp(fk, "-n", "demo2", "--lock-namespace", "nosuch", "--dry-run")
            self.assertEqual(p.returncode, 0, show(p))


def main():
    return e2elib.main("import-convert", sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
