#!/usr/bin/env python3
"""End-to-end tests of `releasemanager import`: releases created by REAL helm 3 and helm 4
on one fake cluster (tests/fakekube/), exported by our export (local backend), imported
into a SECOND, fresh fake cluster, and proven there with the real helm binaries: list,
history, get values|manifest|hooks|notes, upgrade --reuse-values, rollback, uninstall.

Cases: plain chart with 5 revisions, CRDs + custom resource, hooks + a test hook, a
subchart, one release name in two namespaces, --target-namespace, --replace (and the
error without it), --atomic after an injected API failure, the self-metadata rules
(--force, --new-path), --update-values (and its errors), a corrupt stored record
(exit 3), --dry-run making no API write (from the server's request log), and the
original Go tool's NAME-VERSION-S.release files and rlsmgrstate.json (built from our
export) imported and proven with real helm, and listed by `list` as import reads them.

Options beyond the plain restore, on extra releases (namespaces x-*, their own export,
small charts written by the test): --wait (Deployment, StatefulSet, DaemonSet ready and
a Job complete, seen in the request log and the Job's status) and its --release-timeout
on a never-ready Deployment, --threads (Job creations overlap with 4 threads and are
serialised by --wait with 1), a failing pre-install hook deleted by hook-failed,
--no-hooks, --helm-driver configmap (seen by helm with HELM_DRIVER=configmap),
--exclude-namespaces, and records in pending-upgrade / pending-install state.

Exit 77 (skip) with the reason when helm/kubectl (tests/fakekube/get-tools.sh), openssl
or the program under test is missing."""

import functools
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import e2elib
from e2elib import CHARTS, RM_BIN, fku, show, store_args
from e2elib import BUILDDIR, PLUGIN_DIR, SRCDIR  # noqa: F401

TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()
STORE = None       # the export of the source cluster
SRC = None         # source fake cluster
SRC_STATE = {}     # what helm says on the source: (ns, name) -> dict
STORE_X = None     # the export of the extra releases (namespaces x-*): waits, hooks


# PATH=/usr/bin:/bin: no helm, unless a test adds one (extra_env).
rm = functools.partial(e2elib.rm, bin_path="/usr/bin:/bin", timeout=180)


def imp(fk, *extra, path=None, **kw):
    return rm("import", *store_args(path or STORE), "--kubeconfig", fk.kubeconfig, *extra, **kw)


def helm_json(fk, major, *args):
    return json.loads(fk.helm(major, *args, "-o", "json").stdout)


def helm_text(fk, major, *args):
    return fk.helm(major, *args).stdout


def releases_of(fk, major=3):
    """{(ns, name): (chart, app_version, revision, status)} from helm list -A."""
    out = {}
    for r in helm_json(fk, major, "list", "-A"):
        out[(r["namespace"], r["name"])] = (r["chart"], r["app_version"], int(r["revision"]),
                                           r["status"])
    return out


def describe(fk, ns, name, major=3):
    d = {"history": [(h["revision"], h["status"], h["chart"], h["app_version"], h["description"])
                     for h in helm_json(fk, major, "history", name, "-n", ns)]}
    for what in ("values", "manifest", "hooks", "notes"):
        args = ["get", what, name, "-n", ns] + (["-a"] if what == "values" else [])
        d[what] = helm_text(fk, major, *args)
    return d


RELEASES = [
    # (ns, name, helm major, chart, upgrades)
    ("apps", "web", 3, "plain", 4),           # 5 revisions
    ("hk", "hooked", 4, "with-hooks", 0),
    ("cr", "gadgets", 4, "with-crds", 0),
    ("twin-a", "twin", 3, "with-subchart", 0),
    ("twin-b", "twin", 4, "with-subchart", 0),
    ("ops", "rlsmgr", 3, "with-crds-free", 0),  # the manager's own release (state file)
]


WAITY = {
    "Chart.yaml": "apiVersion: v2\nname: waity\nversion: 0.1.0\nappVersion: \"1.0\"\n",
    "values.yaml": "deploymentAnnotations: {}\njobDelay: \"2\"\n",
    "templates/workloads.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-dep
  {{- with .Values.deploymentAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  replicas: 1
  selector: {matchLabels: {app: {{ .Release.Name }}-dep}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-dep}}
    spec: {containers: [{name: c, image: "busybox:1.36"}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ .Release.Name }}-sts
spec:
  serviceName: {{ .Release.Name }}-sts
  replicas: 1
  selector: {matchLabels: {app: {{ .Release.Name }}-sts}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-sts}}
    spec: {containers: [{name: c, image: "busybox:1.36"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .Release.Name }}-ds
spec:
  selector: {matchLabels: {app: {{ .Release.Name }}-ds}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}-ds}}
    spec: {containers: [{name: c, image: "busybox:1.36"}]}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-job
  annotations:
    fakekube.test/delay-seconds: {{ .Values.jobDelay | quote }}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1.36", args: ["true"]}]
""",
}

FAILHOOK = {
    "Chart.yaml": "apiVersion: v2\nname: failhook\nversion: 0.1.0\n",
    "templates/all.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data: {a: b}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-pre
  annotations:
    helm.sh/hook: pre-install
    helm.sh/hook-delete-policy: hook-failed
    fakekube.test/fail: "true"
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: "busybox:1.36", args: ["false"]}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-post
  annotations:
    helm.sh/hook: post-install
data: {phase: post}
""",
}

# (ns, name, chart files, helm install args) on the source, exported to STORE_X
EXTRA = [
    ("x-wait", "ready1", WAITY, []),
    ("x-wait", "ready2", WAITY, []),
    ("x-wait", "ready3", WAITY, []),
    ("x-wait", "ready4", WAITY, []),
    ("x-stuck", "stuck", WAITY, ["--values", "NEVER_READY"]),
    ("x-hook", "hookfail", FAILHOOK, ["--no-hooks"]),
]


def write_chart(files):
    d = tempfile.mkdtemp(prefix="chart-", dir=WORK)
    for k, v in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, k)), exist_ok=True)
        with open(os.path.join(d, k), "w") as f:
            f.write(v)
    return d


def setUpModule():
    global SRC, STORE, STORE_X
    t = time.time()
    SRC = fku.FakeKube(tools=TOOLS).start()
    for ns, name, major, chart, upgrades in RELEASES:
        c = os.path.join(CHARTS, "with-subchart/charts/child" if chart == "with-crds-free" else chart)
        SRC.helm(major, "install", name, c, "-n", ns, "--create-namespace", "--wait",
                 "--timeout", "60s")
        for i in range(upgrades):
            SRC.helm(major, "upgrade", name, c, "-n", ns, "--set", "message=m%d" % (i + 2))
    for ns, name, major, _, _ in RELEASES:
        SRC_STATE[(ns, name)] = describe(SRC, ns, name, major)
    never = os.path.join(WORK, "never-ready.yaml")
    with open(never, "w") as f:
        f.write('deploymentAnnotations:\n  fakekube.test/never-ready: "true"\n')
    charts = {}
    for ns, name, files, args in EXTRA:
        c = charts.setdefault(id(files), write_chart(files))
        # no --wait: the records say deployed, the objects' readiness is the fake's
        SRC.helm3("install", name, c, "-n", ns, "--create-namespace",
                  *[never if a == "NEVER_READY" else a for a in args])
    xns = sorted({e[0] for e in EXTRA})
    STORE = tempfile.mkdtemp(prefix="store-", dir=WORK)
    p = rm("export", *store_args(STORE), "--kubeconfig", SRC.kubeconfig,
           "--self-release", "rlsmgr", "--self-namespace", "ops",
           "--exclude-namespaces", ",".join(xns))
    assert p.returncode == 0, "export of the source cluster failed\n" + show(p)
    STORE_X = tempfile.mkdtemp(prefix="store-x-", dir=WORK)
    p = rm("export", *store_args(STORE_X), "--kubeconfig", SRC.kubeconfig,
           *[a for ns in xns for a in ("-n", ns)])
    assert p.returncode == 0, "export of the extra releases failed\n" + show(p)
    print("set-up (helm + export): %.1fs" % (time.time() - t), file=sys.stderr)


def tearDownModule():
    if SRC:
        SRC.stop()


class Restore(unittest.TestCase):
    """One fresh target cluster, everything imported once, then proven with real helm."""

    @classmethod
    def setUpClass(cls):
        cls.FK = fk = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(fk.stop)
        cls.P = imp(fk, "--create-namespace")

    def test_01_summary_and_exit(self):
        p = self.P
        self.assertEqual(p.returncode, 0, show(p))
        for ns, name, *_ in RELEASES:
            word = "skipped" if name == "rlsmgr" else "restored"
            self.assertRegex(p.stdout, r"(?m)^%s %s/%s: " % (word, ns, name), show(p))
        self.assertIn("manager's own release", p.stdout)
        self.assertIn("5 restored, 1 skipped, 0 failed", p.stdout)

    def test_02_helm_list_matches_source(self):
        want = {k: v for k, v in releases_of(SRC).items()
                if k != ("ops", "rlsmgr") and not k[0].startswith("x-")}
        for major in (3, 4):
            got = releases_of(self.FK, major)
            self.assertEqual(got, want, "helm %d list -A on the target" % major)
            for v in got.values():
                self.assertEqual(v[3], "deployed")
        self.assertEqual(want[("apps", "web")][2], 5, "set-up: web has 5 revisions")

    def test_03_history_values_manifest_hooks_notes(self):
        for ns, name, major, _, _ in RELEASES:
            if name == "rlsmgr":
                continue
            for m in (3, 4):
                with self.subTest(release=(ns, name), helm=m):
                    self.assertEqual(describe(self.FK, ns, name, m), SRC_STATE[(ns, name)])

    def test_04_objects_owned_by_helm(self):
        st, cm = self.FK.get_json("/api/v1/namespaces/apps/configmaps/web-plain")
        self.assertEqual(st, 200)
        md = cm["metadata"]
        self.assertEqual(md["labels"].get("app.kubernetes.io/managed-by"), "Helm")
        self.assertEqual(md["annotations"].get("meta.helm.sh/release-name"), "web")
        self.assertEqual(md["annotations"].get("meta.helm.sh/release-namespace"), "apps")
        st, _ = self.FK.get_json("/apis/rbac.authorization.k8s.io/v1/clusterroles/apps-web-plain")
        self.assertEqual(st, 200, "cluster-scoped object created")

    def test_05_crds_and_custom_resources(self):
        st, crd = self.FK.get_json("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                   "gadgets.fakekube.example.com")
        self.assertEqual(st, 200, "the chart's crds/ CRD was created")
        st, g = self.FK.get_json("/apis/fakekube.example.com/v1/namespaces/cr/gadgets/gadgets-gadget")
        self.assertEqual(st, 200, "the custom resource was created")
        self.assertIsInstance(g["spec"]["size"], int, "YAML integers stay integers")

    def test_06_hooks_ran_test_hook_did_not(self):
        fk = self.FK
        st, _ = fk.get_json("/apis/batch/v1/namespaces/hk/jobs/hooked-pre-install")
        self.assertEqual(st, 200, "pre-install Job ran (kept: before-hook-creation only)")
        st, _ = fk.get_json("/apis/batch/v1/namespaces/hk/jobs/hooked-post-install")
        self.assertEqual(st, 404, "post-install Job deleted by hook-succeeded")
        st, _ = fk.get_json("/api/v1/namespaces/hk/configmaps/hooked-pre-install-config")
        self.assertEqual(st, 200, "pre-install ConfigMap hook created")
        st, _ = fk.get_json("/api/v1/namespaces/hk/pods/hooked-test")
        self.assertEqual(st, 404, "the test hook must never run")

    def test_07_subchart_and_twins(self):
        for ns in ("twin-a", "twin-b"):
            for n in ("twin-parent", "twin-child"):
                st, cm = self.FK.get_json("/api/v1/namespaces/%s/configmaps/%s" % (ns, n))
                self.assertEqual(st, 200, "%s/%s" % (ns, n))
                self.assertEqual(cm["metadata"]["annotations"]["meta.helm.sh/release-namespace"], ns)

    def test_08_upgrade_rollback_uninstall(self):
        fk = self.FK
        fk.helm3("upgrade", "web", os.path.join(CHARTS, "plain"), "-n", "apps", "--reuse-values")
        self.assertIn("message: m5", fk.helm4("get", "values", "web", "-n", "apps").stdout,
                      "--reuse-values kept the stored values")
        fk.helm4("upgrade", "gadgets", os.path.join(CHARTS, "with-crds"), "-n", "cr",
                 "--reuse-values", "--set", "gadget.size=7")
        fk.helm4("rollback", "web", "2", "-n", "apps")
        hist = helm_json(fk, 3, "history", "web", "-n", "apps")
        self.assertEqual([(h["revision"], h["status"]) for h in hist][-3:],
                         [(5, "superseded"), (6, "superseded"), (7, "deployed")])
        fk.helm3("rollback", "hooked", "1", "-n", "hk")
        fk.helm4("uninstall", "twin", "-n", "twin-b")
        st, _ = fk.get_json("/api/v1/namespaces/twin-b/configmaps/twin-parent")
        self.assertEqual(st, 404, "helm uninstall removed the restored objects")
        fk.helm3("uninstall", "twin", "-n", "twin-a")
        st, _ = fk.get_json("/api/v1/namespaces/twin-a/services/twin-child")
        self.assertEqual(st, 404)

    def test_09_force_imports_self(self):
        p = imp(self.FK, "--release-name", "rlsmgr", "--create-namespace", "--force")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("restored ops/rlsmgr", p.stdout)
        self.assertIn(("ops", "rlsmgr"), releases_of(self.FK))

    def test_10_second_import_skips_existing(self):
        """The same import again: each release's records are exactly the stored ones, so
        it is "already restored" and skipped (exit 0), never touched, hooks not re-run."""
        fk = self.FK
        st, job = fk.get_json("/apis/batch/v1/namespaces/hk/jobs/hooked-pre-install")
        fk.reset_log()
        # restored by test_09 and untouched since
        p = imp(fk, "--release-name", "rlsmgr", "--force")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertRegex(p.stdout, r"(?m)^skipped ops/rlsmgr: already restored: its 1 record in "
                         r"ops match the store$", show(p))
        self.assertIn("0 restored, 1 skipped, 0 failed", p.stdout)
        self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [],
                         "a skipped release was written")
        # upgraded by helm in test_08 since: its records are not the store's any more
        p = imp(fk, "-n", "cr")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertRegex(p.stdout, r"(?m)^skipped cr/gadgets: release gadgets already exists in "
                         r"namespace cr: skipped; --replace to overwrite$", show(p))
        self.assertIn("0 restored, 1 skipped, 0 failed", p.stdout)
        self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [],
                         "a skipped release was written")
        # by --release (comma-separated), the same
        p = imp(fk, "--release", "gadgets,hooked")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("0 restored, 2 skipped, 0 failed", p.stdout)
        self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [],
                         "a skipped release was written")
        st, again = fk.get_json("/apis/batch/v1/namespaces/hk/jobs/hooked-pre-install")
        self.assertEqual(again["metadata"]["uid"], job["metadata"]["uid"], "a hook ran again")


def secrets_of(fk, ns, name):
    st, body = fk.get_json("/api/v1/namespaces/%s/secrets?labelSelector=owner%%3Dhelm,name%%3D%s"
                           % (ns, name))
    return {s["metadata"]["name"]: s for s in body["items"]}


class Resume(unittest.TestCase):
    """An import interrupted at any point is finished by running it again (issue 18)."""

    def test_resume_after_partial_records_and_objects(self):
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, "--dry-run", "--release", "web,hooked")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^would restore apps/web: to do: revision 5", show(p))
            p = imp(fk, "--release", "web,hooked")
            self.assertEqual(p.returncode, 0, show(p))
            full = {k: fku.decode_release(v) for k, v in secrets_of(fk, "apps", "web").items()}
            self.assertEqual(len(full), 5)
            st, job = fk.get_json("/apis/batch/v1/namespaces/hk/jobs/hooked-pre-install")
            # as a kill leaves them: web stopped after 3 of its 5 records, hooked after its
            # objects and hooks but before its record
            for r in (4, 5):
                fk.request("DELETE", "/api/v1/namespaces/apps/secrets/sh.helm.release.v1.web.v%d" % r)
            for n in secrets_of(fk, "hk", "hooked"):
                fk.request("DELETE", "/api/v1/namespaces/hk/secrets/" + n)
            fk.reset_log()
            p = imp(fk, "--dry-run", "--release", "web,hooked")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertEqual(fk.writes(), [], show(p))
            self.assertRegex(p.stdout, r"(?m)^would restore apps/web: half-done \(\d+ of \d+ "
                             r"objects and 3 of 5 records there, hooks ran\): revision 5", show(p))
            self.assertRegex(p.stdout, r"(?m)^would restore hk/hooked: half-done \([1-9]\d* of "
                             r"\d+ objects? and 0 of 1 record there\)", show(p))
            self.assertIn("there already, this release's", p.stdout)
            self.assertIn("record sh.helm.release.v1.web.v3 (superseded): there already", p.stdout)
            p = imp(fk, "--release", "web,hooked")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^restored apps/web: resumed \(", show(p))
            self.assertRegex(p.stdout, r"(?m)^restored hk/hooked: resumed \(", show(p))
            again = {k: fku.decode_release(v) for k, v in secrets_of(fk, "apps", "web").items()}
            self.assertEqual(again, full)
            # web had records: its hooks ran already and did not run again (no Job POSTs
            # from web); hooked had none: its hooks ran again, the old Job replaced
            st, job2 = fk.get_json("/apis/batch/v1/namespaces/hk/jobs/hooked-pre-install")
            self.assertNotEqual(job2["metadata"]["uid"], job["metadata"]["uid"])
            self.assertEqual(job2["metadata"]["annotations"]["releasemanager/restored-release"],
                             "hk/hooked")
            self.assertEqual(releases_of(fk)[("apps", "web")][2:], (5, "deployed"))
            self.assertEqual(releases_of(fk)[("hk", "hooked")][2:], (1, "deployed"))
            fk.reset_log()
            p = imp(fk, "--dry-run", "--release", "web,hooked")
            self.assertRegex(p.stdout, r"(?m)^skipped apps/web: already restored: its 5 records",
                             show(p))
            p = imp(fk, "--release", "web,hooked")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertIn("0 restored, 2 skipped, 0 failed", p.stdout)
            self.assertEqual([w for w in fk.writes() if "/leases" not in w["path"]], [])

    def test_import_lock(self):
        """A second import of the same store into the same cluster waits for the first;
        the lock of an import that was killed on this host is taken over at once."""
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, "--release", "twin", "-n", "twin-a")
            self.assertEqual(p.returncode, 0, show(p))
            coll = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
            st, body = fk.get_json(coll)
            leases = [l for l in body["items"]
                      if l["metadata"]["name"].startswith("releasemanager-import-")]
            self.assertEqual(len(leases), 1, body)
            lease = leases[0]
            self.assertEqual(lease["spec"].get("holderIdentity", ""), "", "the lock was given up")
            path = coll + "/" + lease["metadata"]["name"]
            # held by a live import elsewhere: the second one waits
            lease["spec"].update(holderIdentity="elsewhere pid 1", leaseDurationSeconds=3600)
            st, _, body = fk.request("PUT", path, lease)
            self.assertEqual(st, 200, body)
            lease = json.loads(body)
            errpath = os.path.join(WORK, "lock.err")
            env = dict(os.environ, PATH="/usr/bin:/bin")
            with open(errpath, "w") as err:
                proc = subprocess.Popen([RM_BIN, "import", *store_args(STORE), "--kubeconfig",
                                         fk.kubeconfig, "--release", "twin", "-n", "twin-b"],
                                        stdout=subprocess.PIPE, stderr=err, text=True, env=env)

            def stderr_now():   # not err.seek(0): the offset is shared with the writer
                with open(errpath) as f:
                    return f.read()
            try:
                for _ in range(600):
                    if "waiting for it to finish" in stderr_now():
                        break
                    time.sleep(0.1)
                self.assertIn("elsewhere pid 1 holds the import lock", stderr_now())
                self.assertNotIn(("twin-b", "twin"), releases_of(fk))
                lease["spec"].update(holderIdentity="")
                st, _, _ = fk.request("PUT", path, lease)
                self.assertEqual(st, 200)
                out, _ = proc.communicate(timeout=120)
            finally:
                if proc.poll() is None:
                    proc.kill()
            self.assertEqual(proc.returncode, 0, out)
            self.assertIn("restored twin-b/twin", out)
            # held by an import on this host that is gone (killed): taken over at once
            dead = subprocess.Popen(["true"])
            dead.wait()
            st, lease = fk.get_json(path)
            lease["spec"].update(holderIdentity="%s pid %d" % (socket.gethostname(), dead.pid),
                                 leaseDurationSeconds=3600)
            st, _, _ = fk.request("PUT", path, lease)
            self.assertEqual(st, 200)
            p = imp(fk, "--release", "gadgets")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertIn("is no longer running (an interrupted import): taken over", p.stderr)
            st, lease = fk.get_json(path)
            self.assertEqual(lease["spec"].get("holderIdentity", ""), "")


class Options(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)

    def test_dry_run_makes_no_writes(self):
        fk = self.FK
        fk.reset_log()
        p = imp(fk, "--dry-run", "--create-namespace", "--force")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(fk.writes(), [], "--dry-run wrote to the API\n" + show(p))
        self.assertRegex(p.stdout, r"dry run: would import \d+ releases from .*: \d+ to restore, ")
        self.assertIn("create CustomResourceDefinition gadgets.fakekube.example.com", p.stdout)
        self.assertIn("record sh.helm.release.v1.web.v5 (deployed): POST "
                      "/api/v1/namespaces/apps/secrets", p.stdout)
        self.assertIn("pre-install hook hooked-pre-install", p.stdout)
        self.assertNotIn("hooked-test", p.stdout, "test hooks are not in the plan")
        # install order: Namespace .. ServiceAccount before Deployment before Ingress
        plan = p.stdout
        self.assertLess(plan.index("ServiceAccount apps/web-plain"), plan.index("Deployment apps/web-plain"))
        self.assertLess(plan.index("Deployment apps/web-plain"), plan.index("Ingress apps/web-plain"))

    def test_target_namespace(self):
        fk = self.FK
        p = imp(fk, "--release-name", "gadgets", "--target-namespace", "moved", "--create-namespace")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(releases_of(fk, 4).get(("moved", "gadgets"), (None,) * 4)[3], "deployed")
        st, sec = fk.get_json("/api/v1/namespaces/moved/secrets/sh.helm.release.v1.gadgets.v1")
        self.assertEqual(fku.decode_release(sec)["namespace"], "moved")
        st, _ = fk.get_json("/apis/fakekube.example.com/v1/namespaces/moved/gadgets/gadgets-gadget")
        self.assertEqual(st, 200)
        fk.helm3("upgrade", "gadgets", os.path.join(CHARTS, "with-crds"), "-n", "moved", "--reuse-values")

    def test_namespace_must_exist(self):
        """--create-namespace is the default, as in the original; =false turns it off."""
        p = imp(self.FK, "--release-name", "twin", "-n", "twin-a", "--target-namespace", "nowhere",
                "--create-namespace=false")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("namespace nowhere does not exist and --create-namespace=false",
                      p.stdout + p.stderr)
        p = imp(self.FK, "--release", "twin", "-n", "twin-a", "--target-namespace", "nowhere",
                extra_env={"RELEASEMANAGER_CREATE_NAMESPACE": "false"})
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("namespace nowhere does not exist", p.stdout + p.stderr)
        p = imp(self.FK, "--release", "twin", "-n", "twin-a", "--target-namespace", "nowhere")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn(("nowhere", "twin"), releases_of(self.FK))

    def test_replace(self):
        fk = self.FK
        fk.kubectl("create", "namespace", "rep")
        fk.kubectl("create", "configmap", "twin-parent", "-n", "rep", "--from-literal=a=b")
        p = imp(fk, "--release-name", "twin", "-n", "twin-a", "--target-namespace", "rep")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("ConfigMap rep/twin-parent already exists and is not managed by release "
                      "rep/twin", p.stdout)
        self.assertIn("--replace", p.stdout)
        self.assertNotIn(("rep", "twin"), releases_of(fk))
        p = imp(fk, "--release-name", "twin", "-n", "twin-a", "--target-namespace", "rep", "--replace")
        self.assertEqual(p.returncode, 0, show(p))
        st, cm = fk.get_json("/api/v1/namespaces/rep/configmaps/twin-parent")
        self.assertEqual(cm["metadata"]["annotations"]["meta.helm.sh/release-name"], "twin")
        self.assertIn(("rep", "twin"), releases_of(fk))
        fk.helm4("upgrade", "twin", os.path.join(CHARTS, "with-subchart"), "-n", "rep", "--reuse-values")

    def test_atomic_after_api_failure(self):
        fk = self.FK
        fid = fk.add_fault(method="POST", path="/namespaces/atm/services$", status=403,
                           reason="Forbidden", message="injected", count=-1)
        try:
            p = imp(fk, "--release-name", "twin", "-n", "twin-a", "--target-namespace", "atm",
                    "--create-namespace", "--atomic")
        finally:
            fk.control("DELETE", "faults?id=%d" % fid)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("failed twin-a/twin", p.stdout)
        for n in ("twin-parent", "twin-child"):
            st, _ = fk.get_json("/api/v1/namespaces/atm/configmaps/" + n)
            self.assertEqual(st, 404, "--atomic left %s behind" % n)
        st, body = fk.get_json("/api/v1/namespaces/atm/secrets?labelSelector=owner%3Dhelm")
        self.assertEqual(body["items"], [], "no release record after an atomic failure")

    def test_new_path_and_update_values(self):
        fk = self.FK
        bindir = tempfile.mkdtemp(prefix="helmbin-", dir=WORK)
        os.symlink(TOOLS["helm4"], os.path.join(bindir, "helm"))
        hp = {"PATH": bindir + ":/usr/bin:/bin", "HOME": fk.home,
              "HELM_CACHE_HOME": os.path.join(fk.home, "helm-cache"),
              "HELM_CONFIG_HOME": os.path.join(fk.home, "helm-config"),
              "HELM_DATA_HOME": os.path.join(fk.home, "helm-data")}
        # without helm: a clear error, nothing done
        p = imp(fk, "--release-name", "hooked", "--update-values", "greeting=hi")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("needs a helm binary on PATH", p.stderr)
        # the original's parsing: a pair without '=' is an error naming it
        fk.reset_log()
        p = imp(fk, "--release", "web", "--update-values", "message=hi,b=2,oops", extra_env=hp)
        self.assertEqual(p.returncode, 2, show(p))
        self.assertIn("'oops' (in 'message=hi,b=2,oops') must be formatted as KEY=VALUE", p.stderr)
        self.assertEqual(fk.writes(), [])
        # a chart with dependencies cannot be re-rendered from the store, when a value
        # it has is changed
        twin = edited_store({("twin-b", "twin", 1): set_config({"x": "0"})})
        p = imp(fk, "--release-name", "twin", "-n", "twin-b", "--target-namespace", "upd2",
                "--update-values", "x=1", path=twin, extra_env=hp)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("dependencies", p.stdout)
        # Only values a release has are updated, as in the original; a value with one '='
        # keeps its commas, several pairs split as CSV, a later key wins.  web has
        # message (set by its upgrades), gadgets none of them: restored as stored.
        fk.reset_log()
        p = imp(fk, "--release", "web,gadgets", "--target-namespace", "upd",
                "--update-values", "message=hi,nosuch=1", "--update-values", "message=a,b",
                extra_env=hp)
        self.assertEqual(p.returncode, 0, show(p))
        for who in ("apps/web", "cr/gadgets"):
            self.assertIn("%s: value nosuch doesn't exist in the stored release, so refusing to "
                          "update it" % who, p.stderr)
        self.assertIn("cr/gadgets: value message doesn't exist", p.stderr)
        self.assertNotIn("apps/web: value message doesn't exist", p.stderr)
        vals = helm_json(fk, 3, "get", "values", "web", "-n", "upd")
        self.assertEqual(vals, {"message": "a,b"})
        st, cm = fk.get_json("/api/v1/namespaces/upd/configmaps/web-plain")
        self.assertEqual(cm["data"]["message"], "a,b")
        self.assertEqual(releases_of(fk)[("upd", "web")][2:], (6, "deployed"), "re-rendered")
        self.assertEqual(releases_of(fk)[("upd", "gadgets")][2:], (1, "deployed"),
                         "no value of gadgets changed: no re-render")
        # a nested value by its dotted path, typed like the value it replaces
        deep = edited_store({("hk", "hooked", 1): set_config({"greeting": "yo",
                                                             "deep": {"n": 1, "on": True}})})
        p = imp(fk, "--release", "hooked", "--target-namespace", "upd3", "--update-values",
                "greeting=hello,deep.n=2,deep.on=false", path=deep, extra_env=hp)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(helm_json(fk, 3, "get", "values", "hooked", "-n", "upd3"),
                         {"greeting": "hello", "deep": {"n": 2, "on": False}})
        st, cm = fk.get_json("/api/v1/namespaces/upd3/configmaps/hooked-hooked")
        self.assertEqual(cm["data"]["greeting"], "hello")
        # --new-path: the manager's own release, its value 'path' set ...
        mgr = edited_store({("ops", "rlsmgr", 1): set_config({"path": "/old/place"})})
        p = imp(fk, "--release-name", "rlsmgr", "--target-namespace", "ops2",
                "--new-path", "/new/place", path=mgr, extra_env=hp)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(helm_json(fk, 4, "get", "values", "rlsmgr", "-n", "ops2"),
                         {"path": "/new/place"})
        # ... and when its values keep no path: a warning, restored as stored
        p = imp(fk, "--release-name", "rlsmgr", "--target-namespace", "ops3",
                "--new-path", "/new/place", extra_env=hp)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("neither 'path' (our chart) nor 'backend.path'", p.stderr)
        self.assertEqual(releases_of(fk)[("ops3", "rlsmgr")][2:], (1, "deployed"))
        # from the configuration file: each entry read like one argument
        cfg = os.path.join(WORK, "update-values.yaml")
        with open(cfg, "w") as f:
            f.write("update-values:\n  - message=from-file\n  - \"nosuch=1,message=a\"\n")
        p = imp(fk, "--config", cfg, "--release", "web", "--target-namespace", "cfgns",
                "--dry-run", extra_env=hp)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn('helm template web (chart rebuilt from the record) -n cfgns with values '
                      '{"message":"a"}: revision 6', p.stdout)
        self.assertIn("apps/web: value nosuch doesn't exist", p.stderr)


def legacy_store(releases, extra=None, edit=None):
    """The original Go tool's layout, built from our export: one NAME-VERSION-S.release
    file per revision directly under the path, holding the release JSON as Helm wrote it
    (S: a second of the last deployment), and its rlsmgrstate.json in Go field names."""
    path = tempfile.mkdtemp(prefix="legacy-", dir=WORK)
    for ns, name in releases:
        d = os.path.join(STORE, "releases", ns, name)
        for f in sorted(os.listdir(d)):
            with gzip.open(os.path.join(d, f)) as g:
                data = g.read()
            rel = json.loads(data)
            if edit:
                edit(rel)
                data = json.dumps(rel).encode()
            sec = rel["version"] * 7 % 60
            with open(os.path.join(path, "%s-%d-%d.release" % (name, rel["version"], sec)), "wb") as o:
                o.write(data)
    with open(os.path.join(path, "rlsmgrstate.json"), "w") as f:
        json.dump({"ReleaseFilename": "rlsmgr-1-7.release", "ReleaseName": "rlsmgr",
                   "ReleaseVersion": 1}, f)
    for k, v in (extra or {}).items():
        os.makedirs(os.path.dirname(os.path.join(path, k)), exist_ok=True)
        with open(os.path.join(path, k), "wb") as f:
            f.write(v)
    return path


class Legacy(unittest.TestCase):
    """Stores of the original Go tool: no index.json, NAME-VERSION-S.release files."""

    def test_original_tool_files(self):
        path = legacy_store([("apps", "web"), ("hk", "hooked"), ("cr", "gadgets"), ("ops", "rlsmgr")],
                            {"notes.txt": b"cruft the tool ignores",
                             "broken-1-3.release": b"{not json",
                             "old/web-9-1.release": b"not at the top level: ignored"})
        self.assertFalse(os.path.exists(os.path.join(path, "index.json")))
        # one file gzipped: read as well
        hooked = os.path.join(path, [f for f in os.listdir(path) if f.startswith("hooked-")][0])
        with open(hooked, "rb") as f:
            data = f.read()
        with open(hooked, "wb") as f:
            f.write(gzip.compress(data))
        # the same revision twice (reinstalled): the one deployed last wins
        gfile = [f for f in os.listdir(path) if f.startswith("gadgets-")][0]
        with open(os.path.join(path, gfile)) as f:
            old = json.load(f)
        old["info"]["last_deployed"] = "2001-01-01T00:00:00Z"
        old["config"] = {"stale": True}
        with open(os.path.join(path, "gadgets-1-59.release"), "w") as f:
            json.dump(old, f)
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, "--create-namespace", path=path)
            self.assertEqual(p.returncode, 3, show(p))
            for r in ("apps/web", "hk/hooked", "cr/gadgets"):
                self.assertRegex(p.stdout, r"(?m)^restored %s: " % r, show(p))
            self.assertRegex(p.stdout, r"(?m)^skipped ops/rlsmgr: the manager's own release", show(p))
            self.assertRegex(p.stdout, r"(?m)^failed broken-1-3\.release: not a Helm 3 release", show(p))
            self.assertIn("3 restored, 1 skipped, 1 failed", p.stdout)
            self.assertNotIn("notes.txt", p.stdout + p.stderr)
            self.assertRegex(p.stderr, r"hold the same revision 1 of cr/gadgets: using gadgets-1-\d\.release")
            want = {k: v for k, v in releases_of(SRC).items()
                    if k in (("apps", "web"), ("hk", "hooked"), ("cr", "gadgets"))}
            for major in (3, 4):
                self.assertEqual(releases_of(fk, major), want, "helm %d list -A" % major)
            for ns, name, major, _, _ in RELEASES:
                if (ns, name) in want:
                    for m in (3, 4):
                        with self.subTest(release=(ns, name), helm=m):
                            self.assertEqual(describe(fk, ns, name, m), SRC_STATE[(ns, name)])
            st, _ = fk.get_json("/apis/fakekube.example.com/v1/namespaces/cr/gadgets/gadgets-gadget")
            self.assertEqual(st, 200, "custom resource restored from the legacy file")
            fk.helm3("upgrade", "web", os.path.join(CHARTS, "plain"), "-n", "apps", "--reuse-values")
            self.assertEqual(releases_of(fk)[("apps", "web")][2:], (6, "deployed"))
            # --force: the manager's own release too
            p = imp(fk, "--release-name", "rlsmgr", "--force", "--create-namespace", path=path)
            self.assertEqual(p.returncode, 3, show(p))
            self.assertIn(("ops", "rlsmgr"), releases_of(fk, 4))

    def test_new_path_sets_backend_path(self):
        """The original tool's chart keeps its path in backend.path: --new-path sets that."""
        path = legacy_store([("ops", "rlsmgr")],
                            edit=set_config({"backend": {"path": "/old", "type": "s3"}}))
        with fku.FakeKube(tools=TOOLS) as fk:
            bindir = tempfile.mkdtemp(prefix="helmbin-", dir=WORK)
            os.symlink(TOOLS["helm3"], os.path.join(bindir, "helm"))
            hp = {"PATH": bindir + ":/usr/bin:/bin", "HOME": fk.home,
                  "HELM_CACHE_HOME": os.path.join(fk.home, "helm-cache"),
                  "HELM_CONFIG_HOME": os.path.join(fk.home, "helm-config"),
                  "HELM_DATA_HOME": os.path.join(fk.home, "helm-data")}
            p = imp(fk, "--create-namespace", "--new-path", "/new/place", path=path, extra_env=hp)
            self.assertEqual(p.returncode, 0, show(p))
            self.assertRegex(p.stdout, r"(?m)^restored ops/rlsmgr: ", show(p))
            vals = helm_json(fk, 4, "get", "values", "rlsmgr", "-n", "ops")
            self.assertEqual(vals, {"backend": {"path": "/new/place", "type": "s3"}})

    def test_dry_run_and_clear(self):
        """import --dry-run reads the original tool's files and writes nothing; clear
        deletes every .release file, then the state file, so that a later import or list
        finds nothing (and leaves what is not the tool's)."""
        path = legacy_store([("apps", "web"), ("ops", "rlsmgr")],
                            {"notes.txt": b"cruft", "old/web-9-1.release": b"not at the top"})
        files = sorted(os.listdir(path))
        with fku.FakeKube(tools=TOOLS) as fk:
            fk.reset_log()
            p = imp(fk, "--dry-run", path=path)
            self.assertEqual(p.returncode, 0, show(p))
            self.assertEqual(fk.writes(), [], "--dry-run wrote to the API\n" + show(p))
            self.assertRegex(p.stdout, r"dry run: would import 2 releases from .*: 1 to restore, "
                             r"1 skipped, 0 failed", show(p))
            self.assertIn("record sh.helm.release.v1.web.v5 (deployed): POST "
                          "/api/v1/namespaces/apps/secrets", p.stdout)
            self.assertEqual(sorted(os.listdir(path)), files, "--dry-run changed the store")
            p = rm("clear", *store_args(path), "--dry-run")
            self.assertEqual(p.returncode, 0, show(p))
            n = len([f for f in files if f.endswith(".release")])
            self.assertIn("would delete %d records, the state file" % n, p.stdout)
            self.assertEqual(sorted(os.listdir(path)), files)
            p = rm("clear", *store_args(path))
            self.assertEqual(p.returncode, 0, show(p))
            self.assertIn("%d records, the state file" % n, p.stdout)
            self.assertEqual(sorted(os.listdir(path)), ["notes.txt", "old"])
            p = imp(fk, path=path)
            self.assertEqual(p.returncode, 1, show(p))
            self.assertIn("no snapshot", p.stderr)
        p = rm("list", *store_args(path))
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("no snapshot", p.stderr)

    def test_no_store_at_all(self):
        path = legacy_store([], {"notes.txt": b"x"})
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, path=path)
            self.assertEqual(p.returncode, 1, show(p))
            self.assertIn("no snapshot", p.stderr)
        p = rm("list", *store_args(path))
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("no snapshot", p.stderr)

    def test_list_shows_the_records(self):
        """list reads the original tool's files as import does: the same records as our
        export of those releases, with a warning naming the original tool."""
        path = legacy_store([("apps", "web"), ("ops", "rlsmgr")],
                            {"notes.txt": b"cruft", "broken-1-3.release": b"{not json"})
        with open(os.path.join(STORE, "index.json")) as f:
            ours = [r for r in json.load(f)["records"]
                    if (r["namespace"], r["release"]) in (("apps", "web"), ("ops", "rlsmgr"))]
        self.assertGreater(len(ours), 2)
        p = rm("list", *store_args(path), "-o", "json")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("was written by the original tool", p.stderr)
        self.assertRegex(p.stderr, r"warning: broken-1-3\.release: not a Helm 3 release")
        got = json.loads(p.stdout)["records"]
        fields = ("namespace", "release", "revision", "status", "chart", "chartVersion",
                  "appVersion", "updated", "size", "sha256")
        self.assertEqual([tuple(r.get(k) for k in fields) for r in got],
                         [tuple(r.get(k) for k in fields) for r in ours])
        for r in got:
            self.assertRegex(r["key"], r"^%s-%d-\d+\.release$" % (r["release"], r["revision"]))
        p = rm("list", *store_args(path))
        self.assertEqual(p.returncode, 0, show(p))
        rows = [l.split()[:5] for l in p.stdout.splitlines()[1:]]
        self.assertEqual(rows, [[r["namespace"], r["release"], str(r["revision"]), r["status"],
                                 "%s-%s" % (r["chart"], r["chartVersion"])] for r in ours],
                         show(p))
        self.assertNotIn("notes.txt", p.stdout + p.stderr)


def edited_store(edits):
    """A copy of STORE with some records changed: edits maps (ns, name, revision) to a
    function that changes the release (a dict); index.json follows (key, size, sha256,
    status)."""
    path = tempfile.mkdtemp(prefix="edited-", dir=WORK)
    shutil.rmtree(path)
    shutil.copytree(STORE, path)
    with open(os.path.join(path, "index.json")) as f:
        ix = json.load(f)
    done = 0
    for rec in ix["records"]:
        fn = edits.get((rec["namespace"], rec["release"], rec["revision"]))
        if not fn:
            continue
        fname = os.path.join(path, rec["key"])
        with gzip.open(fname) as f:
            rel = json.loads(f.read())
        fn(rel)
        data = json.dumps(rel, separators=(",", ":")).encode()
        gz = gzip.compress(data)
        # The record's key carries its SHA-256: the edited record moves to its new key.
        h = hashlib.sha256(data).hexdigest()
        os.unlink(fname)
        rec["key"] = "releases/%s/%s/%d.%s.json.gz" % (rec["namespace"], rec["release"],
                                                       rec["revision"], h)
        with open(os.path.join(path, rec["key"]), "wb") as f:
            f.write(gz)
        rec.update(size=len(data), storedSize=len(gz), sha256=h, status=rel["info"]["status"])
        done += 1
    assert done == len(edits), "edited_store: records not found"
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(ix, f)
    return path


def set_status(st):
    def fn(rel):
        rel["info"]["status"] = st
    return fn


def set_config(values):
    def fn(rel):
        rel["config"] = values
    return fn


def log_of(fk, method, fragment):
    """(time, path) of logged requests with this method whose path contains fragment."""
    return [(e["time"], e["path"]) for e in fk.requests()
            if e["method"] == method and fragment in e["path"]]


class Waits(unittest.TestCase):
    """--wait (Deployments, StatefulSets, DaemonSets ready, Jobs complete), its timeout
    (--release-timeout), and --threads restoring releases in parallel."""

    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)

    def job_done(self, ns, name):
        st, job = self.FK.get_json("/apis/batch/v1/namespaces/%s/jobs/%s" % (ns, name))
        self.assertEqual(st, 200)
        return (job.get("status") or {}).get("succeeded") == 1

    def test_wait_until_ready(self):
        fk = self.FK
        # without --wait: back before the Job (2 s on the fake) completes
        p = imp(fk, "--release-name", "ready2", "--create-namespace", path=STORE_X)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertFalse(self.job_done("x-wait", "ready2-job"), "set-up: the Job takes 2 s")
        fk.reset_log()
        p = imp(fk, "--release-name", "ready1", "--create-namespace", "--wait", path=STORE_X)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertRegex(p.stdout, r"(?m)^restored x-wait/ready1: ")
        self.assertTrue(self.job_done("x-wait", "ready1-job"), "--wait returned before the Job completed")
        for res in ("deployments/ready1-dep", "statefulsets/ready1-sts", "daemonsets/ready1-ds",
                    "jobs/ready1-job"):
            coll, name = res.split("/")
            created = log_of(fk, "POST", "/namespaces/x-wait/" + coll)
            polled = [t for t, path in log_of(fk, "GET", "/namespaces/x-wait/" + res)
                      if path.endswith(res) and created and t >= created[0][0]]
            self.assertTrue(polled, "--wait did not read %s after creating it" % res)
        self.assertEqual(releases_of(fk).get(("x-wait", "ready1"), (None,) * 4)[3], "deployed")

    def test_wait_timeout(self):
        fk = self.FK
        fk.reset_log()
        t0 = time.time()
        p = imp(fk, "-n", "x-stuck", "--create-namespace", "--wait", "--release-timeout", "3s",
                path=STORE_X)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertRegex(p.stdout, r"(?m)^failed x-stuck/stuck: .*stuck-dep.* not ready within "
                         r"the release timeout \(3s\)", show(p))
        # it kept polling, as the server saw it, until the timeout had passed
        created = log_of(fk, "POST", "/namespaces/x-stuck/deployments")
        polled = [t for t, path in log_of(fk, "GET", "/namespaces/x-stuck/deployments/stuck-dep")
                  if created and t >= created[0][0]]
        self.assertGreaterEqual(len(polled), 2, "--wait polled stuck-dep once at most")
        # from before the import started, as its release timeout counts from the release's
        # start: a slow machine's time before the POST is not taken from the 1 s margin
        self.assertGreaterEqual(polled[-1] - t0, 2.0, "--wait gave up before its timeout")
        self.assertNotIn(("x-stuck", "stuck"), releases_of(fk), "no record for a failed release")
        # issue 16: a failed release leaves no object no release owns, --atomic or not
        self.assertIn("objects this import created were deleted", p.stdout)
        st, _ = fk.get_json("/apis/apps/v1/namespaces/x-stuck/deployments/stuck-dep")
        self.assertEqual(st, 404, "a failed release left its Deployment behind")
        # the disaster-recovery run of the man page: --atomic, which implies --wait (Helm)
        p = imp(fk, "-n", "x-stuck", "--target-namespace", "stuck2", "--create-namespace",
                "--atomic", "--release-timeout", "2s", path=STORE_X)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertRegex(p.stdout, r"(?m)^failed x-stuck/stuck: .*stuck-dep.* not ready within "
                         r"the release timeout \(2s\)", show(p))
        self.assertIn("deleting the", p.stderr)
        for res in ("deployments/stuck-dep", "statefulsets/stuck-sts", "daemonsets/stuck-ds"):
            st, _ = fk.get_json("/apis/apps/v1/namespaces/stuck2/" + res)
            self.assertEqual(st, 404, "--atomic left %s behind" % res)
        st, _ = fk.get_json("/apis/batch/v1/namespaces/stuck2/jobs/stuck-job")
        self.assertEqual(st, 404, "--atomic left the Job behind")

    def test_threads_parallel(self):
        fk = self.FK
        in_flight = {}
        for threads in (4, 1):
            ns = "par%d" % threads
            fk.reset_log()
            p = imp(fk, "-n", "x-wait", "--target-namespace", ns, "--create-namespace", "--wait",
                    "--threads", threads, path=STORE_X)
            self.assertEqual(p.returncode, 0, show(p))
            self.assertIn("4 restored, 0 skipped, 0 failed", p.stdout)
            posts = sorted(t for t, _ in log_of(fk, "POST", "/namespaces/%s/jobs" % ns))
            self.assertEqual(len(posts), 4)
            # a release's wait ends with the last poll of its Job (the one that saw it done)
            done = [max(t for t, _ in log_of(fk, "GET", "/namespaces/%s/jobs/ready%d-job" % (ns, i)))
                    for i in range(1, 5)]
            in_flight[threads] = sum(1 for t in posts if t < min(done))
            got = {k for k in releases_of(fk) if k[0] == ns}
            self.assertEqual(got, {(ns, "ready%d" % i) for i in range(1, 5)})
        # In the server's log: with 4 threads, more than one release has created its Job
        # before the first release's wait ends; with 1 thread, only the first has.
        self.assertGreater(in_flight[4], 1, in_flight)
        self.assertEqual(in_flight[1], 1, in_flight)


class Hooks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)

    def test_failing_hook_deleted_by_hook_failed(self):
        fk = self.FK
        fk.reset_log()
        p = imp(fk, "-n", "x-hook", "--create-namespace", path=STORE_X)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertRegex(p.stdout, r"(?m)^failed x-hook/hookfail: pre-install hook hookfail-pre "
                         r"failed: .*the Job failed", show(p))
        posts = log_of(fk, "POST", "/namespaces/x-hook/jobs")
        self.assertEqual(len(posts), 1, "the hook Job was created once")
        deletes = [t for t, _ in log_of(fk, "DELETE", "/namespaces/x-hook/jobs/hookfail-pre")
                   if t >= posts[0][0]]
        self.assertTrue(deletes, "hook-failed: the failed Job must be deleted")
        st, _ = fk.get_json("/apis/batch/v1/namespaces/x-hook/jobs/hookfail-pre")
        self.assertEqual(st, 404)
        st, _ = fk.get_json("/api/v1/namespaces/x-hook/configmaps/hookfail-cm")
        self.assertEqual(st, 404, "nothing of the manifest after a failed pre-install hook")
        self.assertNotIn(("x-hook", "hookfail"), releases_of(fk))

    def test_no_hooks(self):
        fk = self.FK
        fk.reset_log()
        p = imp(fk, "-n", "x-hook", "--target-namespace", "nohooks", "--create-namespace",
                "--no-hooks", path=STORE_X)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(log_of(fk, "POST", "/jobs"), [], "--no-hooks ran a hook")
        st, _ = fk.get_json("/api/v1/namespaces/nohooks/configmaps/hookfail-cm")
        self.assertEqual(st, 200)
        st, _ = fk.get_json("/api/v1/namespaces/nohooks/configmaps/hookfail-post")
        self.assertEqual(st, 404, "--no-hooks ran the post-install hook")
        self.assertEqual(releases_of(fk, 4)[("nohooks", "hookfail")][3], "deployed")


class Records(unittest.TestCase):
    """--helm-driver configmap, --exclude-namespaces, and records left in a pending state."""

    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)

    def test_helm_driver_configmap(self):
        fk = self.FK
        p = imp(fk, "--release-name", "gadgets", "--target-namespace", "cmdrv", "--create-namespace",
                "--helm-driver", "configmap")
        self.assertEqual(p.returncode, 0, show(p))
        cm = {"HELM_DRIVER": "configmap"}
        for major in (3, 4):
            got = json.loads(fk.helm(major, "list", "-A", "-o", "json", env=cm).stdout)
            self.assertEqual([(r["namespace"], r["name"], r["status"]) for r in got],
                             [("cmdrv", "gadgets", "deployed")], "helm %d, configmap driver" % major)
        self.assertNotIn(("cmdrv", "gadgets"), releases_of(fk), "a Secret record was written")
        st, body = fk.get_json("/api/v1/namespaces/cmdrv/configmaps?labelSelector=owner%3Dhelm")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["sh.helm.release.v1.gadgets.v1"])
        fk.helm4("upgrade", "gadgets", os.path.join(CHARTS, "with-crds"), "-n", "cmdrv",
                 "--reuse-values", env=cm)
        got = json.loads(fk.helm3("history", "gadgets", "-n", "cmdrv", "-o", "json", env=cm).stdout)
        self.assertEqual([(h["revision"], h["status"]) for h in got], [(1, "superseded"), (2, "deployed")])

    def test_driver_each_release_was_stored_from(self):
        """Without --helm-driver, each release goes back where Helm kept it: a release of
        the ConfigMap driver, exported, is imported as ConfigMaps (helm with
        HELM_DRIVER=configmap sees it, with its history), one of the Secret driver as
        Secrets; --helm-driver secret writes all as Secrets."""
        with fku.FakeKube(tools=TOOLS) as fk:   # its own: helm list -A below
            self.check_drivers(fk)

    def check_drivers(self, fk):
        cm = {"HELM_DRIVER": "configmap"}
        chart = os.path.join(CHARTS, "with-hooks")
        SRC.helm3("install", "cmrel", chart, "-n", "x-cmdrv", "--create-namespace", env=cm)
        SRC.helm3("upgrade", "cmrel", chart, "-n", "x-cmdrv", "--set", "greeting=two", env=cm)
        SRC.helm3("install", "secrel", chart, "-n", "x-cmdrv")
        store = tempfile.mkdtemp(prefix="store-cm-", dir=WORK)
        p = rm("export", *store_args(store), "--kubeconfig", SRC.kubeconfig, "-n", "x-cmdrv",
               "--helm-driver", "auto")
        self.assertEqual(p.returncode, 0, show(p))
        with open(os.path.join(store, "index.json")) as f:
            drivers = {(r["release"], r["revision"]): r.get("driver")
                       for r in json.load(f)["records"]}
        self.assertEqual(drivers, {("cmrel", 1): "configmap", ("cmrel", 2): "configmap",
                                   ("secrel", 1): "secret"})
        p = imp(fk, path=store)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("2 restored, 0 skipped, 0 failed", p.stdout)
        for major in (3, 4):
            got = json.loads(fk.helm(major, "history", "cmrel", "-n", "x-cmdrv", "-o", "json",
                                     env=cm).stdout)
            self.assertEqual([(h["revision"], h["status"]) for h in got],
                             [(1, "superseded"), (2, "deployed")], "helm %d, configmap" % major)
        self.assertEqual({k: v[2:] for k, v in releases_of(fk).items() if k[0] == "x-cmdrv"},
                         {("x-cmdrv", "secrel"): (1, "deployed")}, "secret driver")
        st, body = fk.get_json("/api/v1/namespaces/x-cmdrv/configmaps?labelSelector=owner%3Dhelm")
        self.assertEqual(sorted(i["metadata"]["name"] for i in body["items"]),
                         ["sh.helm.release.v1.cmrel.v1", "sh.helm.release.v1.cmrel.v2"])
        # imported again: skipped, whichever driver the records are under
        p = imp(fk, path=store)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("0 restored, 2 skipped, 0 failed", p.stdout)
        p = imp(fk, "--target-namespace", "x-cmdrv2", "--helm-driver", "secret", path=store)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual({k: v[2:] for k, v in releases_of(fk).items() if k[0] == "x-cmdrv2"},
                         {("x-cmdrv2", "cmrel"): (2, "deployed"),
                          ("x-cmdrv2", "secrel"): (1, "deployed")}, "--helm-driver secret")

    def test_exclude_namespaces(self):
        fk = self.FK
        p = imp(fk, "--exclude-namespaces", "apps,hk,twin-a,twin-b,ops", "--create-namespace")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(sorted(l.split(":")[0] for l in p.stdout.splitlines()
                                if l.startswith(("restored", "skipped", "failed"))),
                         ["restored cr/gadgets"], show(p))
        self.assertIn("1 restored, 0 skipped, 0 failed", p.stdout)
        self.assertEqual({k for k in releases_of(fk) if k[0] in ("apps", "hk", "twin-a", "twin-b", "ops", "cr")},
                         {("cr", "gadgets")})

    def test_pending_states(self):
        fk = self.FK
        path = edited_store({("apps", "web", 5): set_status("pending-upgrade"),
                             ("apps", "web", 4): set_status("deployed"),
                             ("apps", "web", 3): set_status("deployed"),   # interrupted upgrade
                             ("hk", "hooked", 1): set_status("pending-install")})
        p = imp(fk, "-n", "apps", "-n", "hk", "--create-namespace", path=path)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertRegex(p.stdout, r"(?m)^restored apps/web: revision 4, .*\(the last deployed "
                         r"revision\)$", show(p))
        self.assertIn("revision 5 is pending-upgrade: restoring the last deployed revision 4", p.stderr)
        self.assertRegex(p.stdout, r"(?m)^skipped hk/hooked: no deployed revision to restore "
                         r"\(revision 1 is pending-install\)", show(p))
        self.assertEqual(releases_of(fk)[("apps", "web")][2:], (4, "deployed"))
        self.assertNotIn(("hk", "hooked"), releases_of(fk))
        hist = helm_json(fk, 4, "history", "web", "-n", "apps")
        self.assertEqual([h["revision"] for h in hist], [1, 2, 3, 4])
        self.assertEqual([h["status"] for h in hist][2:], ["superseded", "deployed"],
                         "only the restored revision is deployed; an older one marked deployed "
                         "is written back superseded")
        self.assertIn("message: m4", fk.helm3("get", "values", "web", "-n", "apps").stdout)
        st, cm = fk.get_json("/api/v1/namespaces/apps/configmaps/web-plain")
        self.assertEqual(cm["data"]["message"], "m4", "objects of the deployed revision 4")
        fk.helm3("upgrade", "web", os.path.join(CHARTS, "plain"), "-n", "apps", "--reuse-values")
        self.assertEqual(releases_of(fk, 4)[("apps", "web")][2:], (5, "deployed"))
        # the other transient states, the same way
        for st in ("pending-rollback", "uninstalling"):
            path = edited_store({("apps", "web", 5): set_status(st),
                                 ("apps", "web", 4): set_status("deployed")})
            ns = "p-" + st
            # --replace: the cluster-scoped objects (named after apps) of the restore above
            p = imp(fk, "-n", "apps", "--target-namespace", ns, "--create-namespace", "--replace",
                    path=path)
            self.assertEqual(p.returncode, 0, show(p))
            self.assertIn("revision 5 is %s: restoring the last deployed revision 4" % st, p.stderr)
            self.assertEqual(releases_of(fk)[(ns, "web")][2:], (4, "deployed"), st)


    def test_object_of_another_release(self):
        with fku.FakeKube(tools=TOOLS) as fk:   # its own: cluster-scoped objects collide
            p = imp(fk, "--release-name", "web", "--target-namespace", "own1", "--create-namespace")
            self.assertEqual(p.returncode, 0, show(p))
            p = imp(fk, "--release-name", "web", "--target-namespace", "own2", "--create-namespace")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("StorageClass apps-web-fast already exists and belongs to release own1/web, "
                      "not own2/web: delete it, or import with --replace to take it over", p.stdout)


class Corrupt(unittest.TestCase):
    def test_corrupt_record_others_restored(self):
        path = tempfile.mkdtemp(prefix="corrupt-", dir=WORK)
        shutil.rmtree(path)
        shutil.copytree(STORE, path)
        with open(os.path.join(path, "index.json")) as f:
            key = [r["key"] for r in json.load(f)["records"]
                   if (r["namespace"], r["release"], r["revision"]) == ("cr", "gadgets", 1)][0]
        rec = os.path.join(path, key)
        with open(rec, "wb") as f:
            f.write(gzip.compress(b'{"name":"gadgets","tampered":true}'))
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, "--create-namespace", "-n", "cr", "-n", "hk", path=path)
            self.assertEqual(p.returncode, 3, show(p))
            self.assertRegex(p.stdout, r"(?m)^failed cr/gadgets: .*%s" % re.escape(key))
            self.assertIn("restored hk/hooked", p.stdout)
            self.assertEqual(sorted(releases_of(fk)), [("hk", "hooked")])


def main():
    return e2elib.main("import", sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
