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
export) imported and proven with real helm.

Exit 77 (skip) with the reason when helm/kubectl (tests/fakekube/get-tools.sh), openssl
or the program under test is missing."""

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

SRCDIR = os.environ.get("abs_top_srcdir") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDDIR = os.environ.get("abs_top_builddir") or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, "tests", "fakekube"))
import fakekube_util as fku  # noqa: E402

RM_BIN = os.environ.get("RM_BIN") or os.path.join(BUILDDIR, "releasemanager")
PLUGIN_DIR = os.path.join(BUILDDIR, "plugins", "local", ".libs")
CHARTS = os.path.join(SRCDIR, "tests", "charts")
T0 = time.time()
TOOLS = None
WORK = None
STORE = None       # the export of the source cluster
SRC = None         # source fake cluster
SRC_STATE = {}     # what helm says on the source: (ns, name) -> dict


def rm(*args, path=None, extra_env=None, timeout=180):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("RELEASEMANAGER_") or k in ("KUBECONFIG", "HELM_DRIVER"):
            del env[k]
    env["PATH"] = "/usr/bin:/bin"       # no helm, unless a test adds one
    env.update(extra_env or {})
    p = subprocess.run([RM_BIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=timeout)
    return p


def store_args(path):
    return ["local", "--path", path, "--fsync", "false", "--plugin-dir", PLUGIN_DIR]


def imp(fk, *extra, path=None, **kw):
    return rm("import", *store_args(path or STORE), "--kubeconfig", fk.kubeconfig, *extra, **kw)


def show(p):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)


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


def setUpModule():
    global SRC, STORE
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
    STORE = tempfile.mkdtemp(prefix="store-", dir=WORK)
    p = rm("export", *store_args(STORE), "--kubeconfig", SRC.kubeconfig,
           "--self-release", "rlsmgr", "--self-namespace", "ops")
    assert p.returncode == 0, "export of the source cluster failed\n" + show(p)
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
        want = {k: v for k, v in releases_of(SRC).items() if k != ("ops", "rlsmgr")}
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

    def test_10_second_import_is_refused(self):
        p = imp(self.FK, "-n", "cr")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("already exists in namespace cr", p.stdout)


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
        p = imp(self.FK, "--release-name", "twin", "-n", "twin-a", "--target-namespace", "nowhere")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("namespace nowhere does not exist", p.stdout + p.stderr)

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
        # a chart with dependencies cannot be re-rendered from the store
        p = imp(fk, "--release-name", "twin", "-n", "twin-b", "--target-namespace", "upd2",
                "--create-namespace", "--update-values", "x=1", extra_env=hp)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("dependencies", p.stdout)
        # re-rendered by helm with the stored values plus the update
        p = imp(fk, "--release-name", "hooked", "--target-namespace", "upd", "--create-namespace",
                "--update-values", "greeting=hi", extra_env=hp)
        self.assertEqual(p.returncode, 0, show(p))
        vals = helm_json(fk, 3, "get", "values", "hooked", "-n", "upd")
        self.assertEqual(vals.get("greeting"), "hi")
        st, cm = fk.get_json("/api/v1/namespaces/upd/configmaps/hooked-hooked")
        self.assertEqual(cm["data"]["greeting"], "hi")
        self.assertEqual(releases_of(fk)[("upd", "hooked")][2:], (2, "deployed"))
        # --new-path: the manager's own release, its value 'path' set
        p = imp(fk, "--release-name", "rlsmgr", "--target-namespace", "ops2", "--create-namespace",
                "--new-path", "/new/place", extra_env=hp)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(helm_json(fk, 4, "get", "values", "rlsmgr", "-n", "ops2").get("path"),
                         "/new/place")


def legacy_store(releases, extra=None):
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
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, "--create-namespace", path=path)
            self.assertEqual(p.returncode, 3, show(p))
            for r in ("apps/web", "hk/hooked", "cr/gadgets"):
                self.assertRegex(p.stdout, r"(?m)^restored %s: " % r, show(p))
            self.assertRegex(p.stdout, r"(?m)^skipped ops/rlsmgr: the manager's own release", show(p))
            self.assertRegex(p.stdout, r"(?m)^failed broken-1-3\.release: not a Helm 3 release", show(p))
            self.assertIn("3 restored, 1 skipped, 1 failed", p.stdout)
            self.assertNotIn("notes.txt", p.stdout + p.stderr)
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

    def test_no_store_at_all(self):
        path = legacy_store([], {"notes.txt": b"x"})
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, path=path)
            self.assertEqual(p.returncode, 1, show(p))
            self.assertIn("no snapshot", p.stderr)


class Corrupt(unittest.TestCase):
    def test_corrupt_record_others_restored(self):
        path = tempfile.mkdtemp(prefix="corrupt-", dir=WORK)
        shutil.rmtree(path)
        shutil.copytree(STORE, path)
        rec = os.path.join(path, "releases/cr/gadgets/1.json.gz")
        with open(rec, "wb") as f:
            f.write(gzip.compress(b'{"name":"gadgets","tampered":true}'))
        with fku.FakeKube(tools=TOOLS) as fk:
            p = imp(fk, "--create-namespace", "-n", "cr", "-n", "hk", path=path)
            self.assertEqual(p.returncode, 3, show(p))
            self.assertRegex(p.stdout, r"(?m)^failed cr/gadgets: .*releases/cr/gadgets/1\.json\.gz")
            self.assertIn("restored hk/hooked", p.stdout)
            self.assertEqual(sorted(releases_of(fk)), [("hk", "hooked")])


def main():
    global TOOLS, WORK
    if not os.access(RM_BIN, os.X_OK):
        print("SKIP: %s not built" % RM_BIN)
        return 77
    if not fku.openssl_available():
        print("SKIP: openssl not installed (the fake API server needs it)")
        return 77
    try:
        TOOLS = fku.find_tools()
    except fku.ToolsUnavailable as e:
        print("SKIP: %s" % e)
        return 77
    WORK = tempfile.mkdtemp(prefix="import-test-")
    try:
        prog = unittest.main(exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print("import_test: %.1fs" % (time.time() - T0), file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
