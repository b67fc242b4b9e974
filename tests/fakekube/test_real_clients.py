#!/usr/bin/env python3
"""The fake API server against the REAL clients: kubectl 1.31 / 1.34, helm 3.17 / 4.1.

Exit 77 (skip) only when the binaries are not installed (tests/fakekube/get-tools.sh)."""

import base64
import json
import os
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fakekube_util as fku  # noqa: E402

CHARTS = fku.CHARTS
KUBE = None
T0 = time.time()

MULTIDOC = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm1, namespace: kc, labels: {app: demo}}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: kc, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env: [{name: A, value: "%(a)s"}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1, namespace: kc}
spec: {size: %(size)d}
"""


def setUpModule():
    global KUBE
    KUBE = fku.FakeKube(tools=TOOLS).start()


def tearDownModule():
    if KUBE is not None:
        KUBE.stop()


def jget(*args, tool="kubectl"):
    p = getattr(KUBE, tool)(*args, "-o", "json")
    return json.loads(p.stdout)


class Kubectl(unittest.TestCase):
    def test_version_and_namespaces(self):
        for tool in ("kubectl", "kubectl134"):
            out = getattr(KUBE, tool)("version").stdout
            self.assertIn("Server Version: v1.31.0", out)
            out = getattr(KUBE, tool)("get", "ns").stdout
            for ns in ("default", "kube-system", "kube-public"):
                self.assertRegex(out, r"(?m)^%s\s+Active" % ns)
        uid = KUBE.kubectl("get", "ns", "kube-system", "-o", "jsonpath={.metadata.uid}").stdout
        self.assertRegex(uid, r"^[0-9a-f-]{36}$")
        KUBE.kubectl("create", "ns", "kt")
        ns = jget("get", "ns", "kt")
        self.assertEqual(ns["status"]["phase"], "Active")
        self.assertEqual(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "kt")
        p = KUBE.kubectl("create", "ns", "kt", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('namespaces "kt" already exists', p.stderr)
        p = KUBE.kubectl("get", "secret", "nope", "-n", "kt", check=False)
        self.assertIn('secrets "nope" not found', p.stderr)
        # a Secret from a typed client (protobuf body), then listed by label
        KUBE.kubectl("create", "secret", "generic", "s1", "-n", "kt", "--from-literal=k=v")
        KUBE.kubectl("label", "secret", "s1", "-n", "kt", "tier=x")
        items = jget("get", "secrets", "-A", "-l", "tier in (x,y)")["items"]
        self.assertEqual([i["metadata"]["name"] for i in items], ["s1"])
        self.assertEqual(base64.b64decode(items[0]["data"]["k"]), b"v")
        KUBE.kubectl("delete", "ns", "kt")
        p = KUBE.kubectl("get", "ns", "kt", check=False)
        self.assertIn('namespaces "kt" not found', p.stderr)
        p = KUBE.kubectl("get", "ns", "--token=wrong", check=False)
        self.assertIn("Unauthorized", p.stderr)

    def test_apply_multidoc_crd_then_cr(self):
        KUBE.kubectl("create", "ns", "kc")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(MULTIDOC % {"a": "1", "size": 3})
            path = f.name
        try:
            # like a real cluster: the CR's kind is unknown while the file is mapped
            p = KUBE.kubectl("apply", "-f", path, check=False)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("ensure CRDs are installed first", p.stderr)
            self.assertIn("customresourcedefinition.apiextensions.k8s.io/widgets.example.com created",
                          p.stdout)
            p = KUBE.kubectl("apply", "-f", path)
            self.assertIn("widget.example.com/w1 created", p.stdout)
            self.assertIn("deployment.apps/web unchanged", p.stdout)
            w = jget("get", "wd", "w1", "-n", "kc")
            self.assertEqual(w["spec"]["size"], 3)
            self.assertEqual(w["metadata"]["generation"], 1)
            d = jget("get", "deploy", "web", "-n", "kc")
            self.assertEqual(d["status"]["readyReplicas"], 2)
            with open(path, "w") as f:
                f.write(MULTIDOC % {"a": "2", "size": 4})
            p = KUBE.kubectl134("apply", "-f", path)
            self.assertIn("deployment.apps/web configured", p.stdout)
            self.assertIn("widget.example.com/w1 configured", p.stdout)
            self.assertEqual(jget("get", "wd", "w1", "-n", "kc")["metadata"]["generation"], 2)
            d = jget("get", "deploy", "web", "-n", "kc")
            self.assertEqual(d["metadata"]["generation"], 2)
            self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["env"],
                             [{"name": "A", "value": "2"}])
            rs = jget("get", "rs", "-n", "kc", "-l", "app=web")["items"]
            self.assertEqual(sorted(r["spec"]["replicas"] for r in rs), [0, 2])
            out = KUBE.kubectl("get", "pods", "-n", "kc").stdout
            self.assertEqual(out.count("Running"), 2)
            # server-side apply through kubectl
            p = KUBE.kubectl("apply", "--server-side", "-f", path)
            self.assertIn("serverside-applied", p.stdout)
            # the CRD goes first and takes its custom resources with it
            p = KUBE.kubectl("delete", "-f", path, "--ignore-not-found")
            self.assertIn('customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted',
                          p.stdout)
            p = KUBE.kubectl("get", "widgets", "-n", "kc", check=False)
            self.assertNotEqual(p.returncode, 0)
            self.assertEqual(jget("get", "rs,pods", "-n", "kc")["items"], [])
        finally:
            os.unlink(path)
            KUBE.kubectl("delete", "ns", "kc", "--wait=false", check=False)


def release_secrets(ns=None):
    args = ["get", "secrets", "-l", "owner=helm"] + (["-n", ns] if ns else ["-A"])
    return jget(*args)["items"]


class HelmBase:
    MAJOR = None

    def h(self, *args, **kw):
        return KUBE.helm(self.MAJOR, *args, **kw)

    def ns(self, base):
        return "%s-h%d" % (base, self.MAJOR)

    def test_plain_lifecycle(self):
        ns, rel = self.ns("plain"), "web%d" % self.MAJOR
        chart = os.path.join(CHARTS, "plain")
        self.h("install", rel, chart, "-n", ns, "--create-namespace", "--wait", "--timeout", "60s")
        secs = release_secrets(ns)
        self.assertEqual([s["metadata"]["name"] for s in secs], ["sh.helm.release.v1.%s.v1" % rel])
        s = secs[0]
        self.assertEqual(s["type"], "helm.sh/release.v1")
        self.assertEqual(s["metadata"]["labels"]["owner"], "helm")
        self.assertEqual(s["metadata"]["labels"]["status"], "deployed")
        r = fku.decode_release(s)
        self.assertEqual((r["name"], r["namespace"], r["version"]), (rel, ns, 1))
        self.assertEqual(r["chart"]["metadata"]["name"], "plain")
        self.h("upgrade", rel, chart, "-n", ns, "--set", "message=bye", "--set", "replicaCount=2",
               "--wait")
        cm = jget("get", "cm", rel + "-plain", "-n", ns)
        self.assertEqual(cm["data"]["message"], "bye")
        self.assertEqual(jget("get", "deploy", rel + "-plain", "-n", ns)["status"]["readyReplicas"], 2)
        out = self.h("list", "-A").stdout
        self.assertRegex(out, r"(?m)^%s\s+%s\s+2\s.*deployed\s+plain-0\.1\.0" % (rel, ns))
        hist = json.loads(self.h("history", rel, "-n", ns, "-o", "json").stdout)
        self.assertEqual([(x["revision"], x["status"]) for x in hist],
                         [(1, "superseded"), (2, "deployed")])
        vals = json.loads(self.h("get", "values", rel, "-n", ns, "-o", "json").stdout)
        self.assertEqual(vals, {"message": "bye", "replicaCount": 2})
        man = self.h("get", "manifest", rel, "-n", ns).stdout
        self.assertIn("kind: StatefulSet", man)
        self.assertIn("kind: HorizontalPodAutoscaler", man)
        self.assertEqual(self.h("get", "hooks", rel, "-n", ns).stdout.strip(), "")
        self.assertIn("says bye", self.h("get", "notes", rel, "-n", ns).stdout)
        self.h("rollback", rel, "1", "-n", ns, "--wait")
        self.assertEqual(jget("get", "cm", rel + "-plain", "-n", ns)["data"]["message"], "hello")
        hist = json.loads(self.h("history", rel, "-n", ns, "-o", "json").stdout)
        self.assertEqual([x["status"] for x in hist], ["superseded", "superseded", "deployed"])
        self.assertEqual(len(release_secrets(ns)), 3)
        self.h("uninstall", rel, "-n", ns)
        self.assertEqual(release_secrets(ns), [])
        left = jget("get", "deploy,sts,ds,svc,cm,secrets,rs,pods,cronjobs,ingress", "-n", ns)["items"]
        self.assertEqual(sorted(o["metadata"]["name"] for o in left), ["kube-root-ca.crt"])
        # the StatefulSet's claim stays, as on a real cluster
        self.assertEqual([o["metadata"]["name"] for o in jget("get", "pvc", "-n", ns)["items"]],
                         ["data-%s-plain-db-0" % rel])
        p = KUBE.kubectl("get", "clusterrole", "%s-%s-plain" % (ns, rel), check=False)
        self.assertIn("not found", p.stderr)

    def test_wait_times_out_when_not_ready(self):
        ns, rel = self.ns("nr"), "nr%d" % self.MAJOR
        p = self.h("install", rel, os.path.join(CHARTS, "plain"), "-n", ns, "--create-namespace",
                   "--wait", "--timeout", "3s", "--set-string",
                   "deploymentAnnotations.fakekube\\.test/never-ready=true", check=False)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertRegex(p.stderr, "context deadline exceeded|not ready")
        hist = json.loads(self.h("history", rel, "-n", ns, "-o", "json").stdout)
        self.assertEqual(hist[-1]["status"], "failed")
        self.h("uninstall", rel, "-n", ns)

    def test_crds_chart(self):
        ns, rel = self.ns("crds"), "gad%d" % self.MAJOR
        self.h("install", rel, os.path.join(CHARTS, "with-crds"), "-n", ns, "--create-namespace",
               "--wait")
        crd = jget("get", "crd", "gadgets.fakekube.example.com")
        conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        self.assertEqual(conds.get("Established"), "True")
        g = jget("get", "gadgets", rel + "-gadget", "-n", ns)
        self.assertEqual(g["spec"], {"size": 3, "color": "blue"})
        self.h("upgrade", rel, os.path.join(CHARTS, "with-crds"), "-n", ns, "--set",
               "gadget.size=7", "--wait")
        self.assertEqual(jget("get", "gdg", rel + "-gadget", "-n", ns)["spec"]["size"], 7)
        r = fku.decode_release(release_secrets(ns)[-1])
        self.assertTrue(any(f["name"].startswith("crds/") for f in r["chart"]["files"]))
        self.h("uninstall", rel, "-n", ns)
        self.assertEqual(jget("get", "gadgets", "-n", ns)["items"], [])
        jget("get", "crd", "gadgets.fakekube.example.com")   # helm keeps CRDs

    def test_hooks_chart(self):
        ns, rel = self.ns("hooks"), "hk%d" % self.MAJOR
        self.h("install", rel, os.path.join(CHARTS, "with-hooks"), "-n", ns, "--create-namespace",
               "--wait", "--timeout", "60s")
        job = jget("get", "job", rel + "-pre-install", "-n", ns)
        self.assertEqual(job["status"]["succeeded"], 1)
        # post-install has hook-succeeded: deleted after it completed
        p = KUBE.kubectl("get", "job", rel + "-post-install", "-n", ns, check=False)
        self.assertIn("not found", p.stderr)
        hooks = self.h("get", "hooks", rel, "-n", ns).stdout
        for kind in ("pre-install", "post-install", "test"):
            self.assertIn('"helm.sh/hook": %s' % ("pre-install,pre-upgrade" if kind == "pre-install"
                                                   else "post-install,post-upgrade" if kind == "post-install"
                                                   else "test"), hooks)
        out = self.h("test", rel, "-n", ns, "--timeout", "60s").stdout
        self.assertIn("Phase:          Succeeded", out)
        self.h("upgrade", rel, os.path.join(CHARTS, "with-hooks"), "-n", ns, "--set",
               "greeting=yo", "--wait")
        r = fku.decode_release(release_secrets(ns)[-1])
        self.assertEqual(sorted(h["name"] for h in r["hooks"]),
                         sorted([rel + "-pre-install", rel + "-pre-install-config",
                                 rel + "-post-install", rel + "-test"]))
        self.h("uninstall", rel, "-n", ns)

    def test_subchart(self):
        ns, rel = self.ns("sub"), "sub%d" % self.MAJOR
        self.h("install", rel, os.path.join(CHARTS, "with-subchart"), "-n", ns,
               "--create-namespace", "--wait")
        self.assertEqual(jget("get", "cm", rel + "-child", "-n", ns)["data"]["child"], "from-parent")
        self.assertTrue(jget("get", "svc", rel + "-child", "-n", ns)["spec"]["clusterIP"])
        man = self.h("get", "manifest", rel, "-n", ns).stdout
        self.assertIn("# Source: with-subchart/charts/child/templates/configmap.yaml", man)
        r = fku.decode_release(release_secrets(ns)[0])
        self.assertEqual(r["chart"]["metadata"]["dependencies"][0]["name"], "child")


class Helm3(HelmBase, unittest.TestCase):
    MAJOR = 3


class Helm4(HelmBase, unittest.TestCase):
    MAJOR = 4

    def test_server_side_apply_used(self):
        ns, rel = self.ns("ssa"), "ssa"
        since = KUBE.requests()[-1]["seq"] if KUBE.requests() else 0
        self.h("install", rel, os.path.join(CHARTS, "with-subchart"), "-n", ns,
               "--create-namespace")
        log = KUBE.requests(since)
        applies = [e for e in log if e["method"] == "PATCH"
                   and e["contentType"].startswith("application/apply-patch")]
        self.assertTrue(applies, "helm 4 did not use server-side apply")
        cm = jget("get", "cm", rel + "-parent", "-n", ns, "--show-managed-fields")
        self.assertIn("helm", [m["manager"] for m in cm["metadata"]["managedFields"]
                               if m["operation"] == "Apply"])
        self.h("uninstall", rel, "-n", ns, "--wait")


class Releases(unittest.TestCase):
    def test_secrets_of_both_helms_readable(self):
        KUBE.helm3("install", "both3", os.path.join(CHARTS, "with-subchart"), "-n", "both",
                   "--create-namespace")
        KUBE.helm4("install", "both4", os.path.join(CHARTS, "with-subchart"), "-n", "both")
        items = release_secrets()
        byname = {s["metadata"]["name"]: s for s in items}
        for rel in ("both3", "both4"):
            s = byname["sh.helm.release.v1.%s.v1" % rel]
            self.assertEqual(s["type"], "helm.sh/release.v1")
            self.assertEqual(s["metadata"]["labels"]["name"], rel)
            r = fku.decode_release(s)
            self.assertEqual(r["info"]["status"], "deployed")
        # the ConfigMap driver (typed clients send protobuf ConfigMaps)
        KUBE.helm3("install", "cm3", os.path.join(CHARTS, "with-subchart"), "-n", "drv",
                   "--create-namespace", env={"HELM_DRIVER": "configmap"})
        KUBE.helm3("upgrade", "cm3", os.path.join(CHARTS, "with-subchart"), "-n", "drv",
                   env={"HELM_DRIVER": "configmap"})
        out = KUBE.helm4("list", "-n", "drv", env={"HELM_DRIVER": "configmap"}).stdout
        self.assertRegex(out, r"(?m)^cm3\s+drv\s+2\s")
        cms = jget("get", "cm", "-n", "drv", "-l", "owner=helm")["items"]
        self.assertEqual(sorted(c["metadata"]["name"] for c in cms),
                         ["sh.helm.release.v1.cm3.v1", "sh.helm.release.v1.cm3.v2"])
        # metadata-only LIST of the same records (what an exporter uses)
        st, body = KUBE.get_json("/api/v1/secrets?labelSelector=owner%3Dhelm", headers={
            "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"})
        self.assertEqual(st, 200)
        self.assertEqual(body["kind"], "PartialObjectMetadataList")
        self.assertEqual(sorted(i["metadata"]["name"] for i in body["items"]),
                         sorted(s["metadata"]["name"] for s in items))
        self.assertNotIn("data", body["items"][0])


if __name__ == "__main__":
    if not fku.openssl_available():
        print("SKIP: openssl not found")
        sys.exit(fku.SKIP)
    try:
        TOOLS = fku.find_tools()
    except fku.ToolsUnavailable as e:
        print("SKIP: %s" % e)
        sys.exit(fku.SKIP)
    prog = unittest.main(exit=False, verbosity=2)
    print("test_real_clients: %.1fs" % (time.time() - T0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)
