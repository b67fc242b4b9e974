#!/usr/bin/env python3
"""End-to-end tests of `releasemanager export`, `list` and `clear`: the REAL program
($RM_BIN, local backend from the build tree) against the fake Kubernetes API server
(tests/fakekube/), with release records written by real helm 3 and helm 4 and by the
shared fixtures in tests/data/helm-releases/.

Two servers: one with releases installed by helm (HelmReleases), one seeded with
fk.load (Seeded: fixtures, corrupt records, API faults, 2500 releases, errors).  Tests
that change the cluster work in namespaces of their own, and every expectation is
computed from what the server holds at that moment, so the tests do not depend on
each other's order.

Exit 77 (skip) with the reason when helm/kubectl (tests/fakekube/get-tools.sh), openssl
or the program under test is missing."""

import base64
import functools
import gzip
import hashlib  # noqa: F401
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile  # noqa: F401
import time
import unittest

import e2elib
from e2elib import (BUILDDIR, CHARTS, FIXTURES, PLUGIN_DIR, RM_BIN, cluster_records, fku,
                    inner_bytes, load_fixture, load_index, logical, newdir, sha, show, store_args,
                    stored_files, stored_records, stored_records_raw, walk_files)
from e2elib import HASHED_KEY_RE, NAME_RE, SRCDIR  # noqa: F401

EXPORT_PROBE = os.path.join(BUILDDIR, "tests", "e2e", "export_probe")
SECRETS_META_ACCEPT = "as=PartialObjectMetadataList"
TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()


# ---- the program under test ---------------------------------------------------------------

# These tests predate point-in-time snapshots (issue 15) and check that stale records
# go right after the commit: they keep one snapshot, as releasemanager did then
# (tests/e2e/test_snapshots.py covers the default retention).
rm = functools.partial(e2elib.rm, keep_last=1)


def export(fk_or_kubeconfig, path, *extra):
    kc = fk_or_kubeconfig if isinstance(fk_or_kubeconfig, str) else fk_or_kubeconfig.kubeconfig
    return rm("export", *store_args(path), "--kubeconfig", kc, *extra)


# ---- what Helm stored, decoded independently of the program ----------------------------------

def kube_system_uid(fk):
    st, ns = fk.get_json("/api/v1/namespaces/kube-system")
    assert st == 200
    return ns["metadata"]["uid"]


# ---- what the program stored ------------------------------------------------------------------

def index_records(ix):
    """{releases/NS/REL/REV.json.gz: index entry}."""
    return {logical(r["key"]): r for r in ix["records"]}


def file_stats(path):
    """{relative path: (inode, mtime_ns, size)} of every file under path."""
    out = {}
    for rel, full in walk_files(path):
        s = os.stat(full)
        out[rel] = (s.st_ino, s.st_mtime_ns, s.st_size)
    return out


# ---- records built by the test (for fk.load) -----------------------------------------------------

def release_json(ns, name, rev, status="deployed", pad=0):
    """Minimal release JSON with the structure Helm 3 writes (field order as Helm's)."""
    rel = {
        "name": name,
        "info": {"first_deployed": "2024-05-01T10:00:00.123456789Z",
                 "last_deployed": "2024-05-01T10:0%d:00.123456789Z" % (rev % 10),
                 "deleted": "", "description": "Install complete" if rev == 1 else "Upgrade complete",
                 "status": status, "notes": "tiny %s" % name},
        "chart": {"metadata": {"name": "tiny", "version": "1.2.%d" % rev, "description": "tiny chart",
                               "apiVersion": "v2", "appVersion": "9.%d" % rev, "type": "application"},
                  "lock": None,
                  "templates": [{"name": "templates/cm.yaml",
                                 "data": base64.b64encode(b"kind: ConfigMap\n" + b"#" * pad).decode()}],
                  "values": {"x": 1}, "schema": None, "files": []},
        "config": {},
        "manifest": "---\n# Source: tiny/templates/cm.yaml\nkind: ConfigMap\nmetadata:\n  name: %s\n" % name,
        "version": rev,
        "namespace": ns,
    }
    return json.dumps(rel, separators=(",", ":")).encode()


def release_secret(ns, name, rev, payload=None, inner=None, status="deployed"):
    """A Helm Secret-driver record: data.release = base64(base64(gzip(JSON))) on the wire;
    inner replaces Helm's base64 layer (for corrupt records)."""
    if inner is None:
        inner = base64.b64encode(gzip.compress(payload if payload is not None
                                               else release_json(ns, name, rev, status), mtime=0))
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, rev), "namespace": ns,
                         "labels": {"name": name, "owner": "helm", "status": status,
                                    "version": str(rev), "modifiedAt": "1714557600"}},
            "data": {"release": base64.b64encode(inner).decode()}}


def release_configmap(ns, name, rev, payload=None, inner=None, status="deployed"):
    """A Helm ConfigMap-driver record: data.release = base64(gzip(JSON)); inner replaces
    it (for corrupt records)."""
    if inner is None:
        inner = base64.b64encode(gzip.compress(payload if payload is not None
                                               else release_json(ns, name, rev, status), mtime=0))
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, rev), "namespace": ns,
                         "labels": {"name": name, "owner": "helm", "status": status,
                                    "version": str(rev), "modifiedAt": "1714557600"}},
            "data": {"release": inner.decode()}}


# ---- assertions shared by several tests -------------------------------------------------------

class ExportCase(unittest.TestCase):
    FK = None

    def assertExportOk(self, p, what, rc=0):
        self.assertEqual(p.returncode, rc, "%s: expected exit %d\n%s" % (what, rc, show(p)))

    def assertStoreMatches(self, path, expected, what, cluster_uid=None):
        """The store under path holds exactly the records of expected (key -> release JSON),
        each gunzipping byte-exact to it, and index.json lists each with size and sha256."""
        got = stored_records(path)
        self.assertEqual(sorted(got), sorted(expected),
                         "%s: stored record keys differ from the cluster's Helm records" % what)
        for k, raw in expected.items():
            self.assertTrue(got[k] == raw, "%s: %s does not gunzip byte-exact to the release JSON "
                            "Helm stored (%d bytes stored, %d expected)" % (what, k, len(got[k]), len(raw)))
        ix = load_index(path)
        self.assertEqual((ix.get("apiVersion"), ix.get("kind")), ("releasemanager.io/v1", "Snapshot"),
                         "%s: index.json header" % what)
        recs = index_records(ix)
        self.assertEqual(len(recs), len(ix["records"]), "%s: index.json lists a key twice" % what)
        self.assertEqual(sorted(recs), sorted(expected), "%s: index.json records differ from the "
                         "stored records" % what)
        for k, raw in expected.items():
            r = recs[k]
            self.assertEqual((r["size"], r["sha256"]), (len(raw), sha(raw)),
                             "%s: index size/sha256 of %s" % (what, k))
            self.assertEqual(r["key"], "%s.%s.json.gz" % (k[:-len(".json.gz")], sha(raw)),
                             "%s: index key of %s does not carry its SHA-256" % (what, k))
            self.assertEqual(r["storedSize"], os.path.getsize(os.path.join(path, r["key"])),
                             "%s: index storedSize of %s is not the stored file's size" % (what, k))
            ns, rel, rev = k[len("releases/"):-len(".json.gz")].split("/")
            self.assertEqual((r["namespace"], r["release"], r["revision"]), (ns, rel, int(rev)),
                             "%s: index namespace/release/revision of %s" % (what, k))
        if cluster_uid is not None:
            self.assertEqual(ix.get("cluster", {}).get("uid"), cluster_uid,
                             "%s: index cluster uid is not the kube-system namespace uid" % what)
        return ix


# =====================================================================================================
# Releases installed by real helm 3 and helm 4
# =====================================================================================================

class HelmReleases(ExportCase):
    @classmethod
    def setUpClass(cls):
        t = time.time()
        cls.FK = fk = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(fk.stop)
        plain = os.path.join(CHARTS, "plain")
        hooks = os.path.join(CHARTS, "with-hooks")
        # helm 3: three revisions of one release
        fk.helm3("install", "multi", plain, "-n", "h3", "--create-namespace")
        fk.helm3("upgrade", "multi", plain, "-n", "h3", "--set", "message=second")
        fk.helm3("upgrade", "multi", plain, "-n", "h3", "--set", "message=third")
        # helm 4: two revisions of a release with hooks
        fk.helm4("install", "hooked", hooks, "-n", "h4", "--create-namespace", "--wait",
                 "--timeout", "60s")
        fk.helm4("upgrade", "hooked", hooks, "-n", "h4", "--set", "greeting=yo", "--wait",
                 "--timeout", "60s")
        # the same release name in two namespaces (different charts: plain's IngressClass
        # is cluster-scoped)
        fk.helm3("install", "twin", os.path.join(CHARTS, "with-subchart"), "-n", "twin-a",
                 "--create-namespace")
        fk.helm4("install", "twin", os.path.join(CHARTS, "with-crds"), "-n", "twin-b",
                 "--create-namespace")
        print("HelmReleases: helm set-up %.1fs" % (time.time() - t), file=sys.stderr)

    def test_01_records_byte_exact_and_index_complete(self):
        fk = self.FK
        path = newdir("all")
        expected = cluster_records(fk)
        for k in ("releases/h3/multi/1.json.gz", "releases/h3/multi/2.json.gz",
                  "releases/h3/multi/3.json.gz", "releases/h4/hooked/1.json.gz",
                  "releases/h4/hooked/2.json.gz"):
            self.assertIn(k, expected, "set-up: helm did not leave the record %s" % k)
        p = export(fk, path)
        self.assertExportOk(p, "export of helm 3 and helm 4 releases")
        self.assertIn("%d written" % len(expected), p.stdout, "summary line\n" + show(p))
        ix = self.assertStoreMatches(path, expected, "helm 3 + helm 4 export",
                                     cluster_uid=kube_system_uid(fk))
        recs = index_records(ix)
        self.assertEqual([recs["releases/h3/multi/%d.json.gz" % i]["status"] for i in (1, 2, 3)],
                         ["superseded", "superseded", "deployed"],
                         "every revision of the helm 3 release is exported with its status")
        self.assertEqual(recs["releases/h4/hooked/2.json.gz"]["chart"], "with-hooks",
                         "helm 4 record's chart in the index")
        self.assertTrue(json.loads(stored_records(path)["releases/h4/hooked/2.json.gz"])["hooks"],
                        "the helm 4 record keeps its hooks")
        with open(os.path.join(path, "rlsmgrstate.json")) as f:
            self.assertIsInstance(json.load(f), dict, "state file written")

    def test_02_second_export_writes_nothing(self):
        fk = self.FK
        path = newdir("again")
        expected = cluster_records(fk, namespaces={"h3", "h4"})
        p = export(fk, path, "-n", "h3", "-n", "h4")
        self.assertExportOk(p, "first export")
        records_before = {k: v for k, v in file_stats(path).items() if k.startswith("releases/")}
        self.assertEqual(len(records_before), len(expected), "first export stored every record")
        fk.reset_log()
        p = export(fk, path, "-n", "h3", "-n", "h4")
        self.assertExportOk(p, "second export")
        self.assertRegex(p.stdout, r"\b0 written, %d unchanged, 0 deleted" % len(expected),
                         "second export of an unchanged cluster: summary\n" + show(p))
        records_after = {k: v for k, v in file_stats(path).items() if k.startswith("releases/")}
        self.assertEqual(records_after, records_before,
                         "second export rewrote record files (inode/mtime/size changed)")
        log = fk.requests()
        gets = ["%s %s" % (e["method"], e["path"]) for e in log
                if e["verb"] == "get" and "/secrets/" in e["path"]]
        self.assertEqual(gets, [], "second export read individual release Secrets")
        lists = [e for e in log if e["verb"] == "list" and e["path"].endswith("/secrets")]
        self.assertTrue(lists, "second export did not LIST the release Secrets")
        for e in lists:
            self.assertIn(SECRETS_META_ACCEPT, e["accept"],
                          "the Secret LIST is not a metadata-only (PartialObjectMetadataList) request")
        self.assertStoreMatches(path, expected, "after the second export")

    def test_02b_unchanged_export_rewrites_no_file(self):
        """An unchanged re-export writes no file at all, not even index.json or
        rlsmgrstate.json (issue 5: "second run writes nothing", "0 PUTs")."""
        fk = self.FK
        path = newdir("again-all")
        self.assertExportOk(export(fk, path, "-n", "twin-a"), "first export")
        before = file_stats(path)
        time.sleep(0.05)
        self.assertExportOk(export(fk, path, "-n", "twin-a"), "second export")
        self.assertEqual(file_stats(path), before, "an unchanged re-export rewrote files "
                         "(index.json / rlsmgrstate.json)")

    def test_03_uninstall_removes_upgrade_adds(self):
        fk = self.FK
        path = newdir("life")
        fk.helm3("install", "gone", os.path.join(CHARTS, "with-subchart"), "-n", "life",
                 "--create-namespace")
        fk.helm4("install", "grow", os.path.join(CHARTS, "with-crds"), "-n", "life")
        p = export(fk, path, "-n", "life")
        self.assertExportOk(p, "export before uninstall/upgrade")
        self.assertEqual(sorted(stored_records(path)),
                         ["releases/life/gone/1.json.gz", "releases/life/grow/1.json.gz"],
                         "first export of namespace life")
        fk.helm3("uninstall", "gone", "-n", "life")
        fk.helm4("upgrade", "grow", os.path.join(CHARTS, "with-crds"), "-n", "life",
                 "--set", "gadget.size=9")
        p = export(fk, path, "-n", "life")
        self.assertExportOk(p, "export after uninstall/upgrade")
        # The upgrade rewrites revision 1 too (its status becomes superseded): 2 written,
        # revision 1 under a new key; deleted: the uninstalled release's record and the
        # old key of revision 1.
        self.assertRegex(p.stdout, r"\b2 written, 0 unchanged, 2 deleted",
                         "summary after uninstall + upgrade\n" + show(p))
        expected = cluster_records(fk, namespaces={"life"})
        self.assertEqual(sorted(expected), ["releases/life/grow/1.json.gz",
                                            "releases/life/grow/2.json.gz"],
                         "set-up: helm's records after uninstall/upgrade")
        self.assertStoreMatches(path, expected, "uninstalled release removed, upgrade added")
        self.assertFalse(os.path.exists(os.path.join(path, "releases/life/gone")) and
                         os.listdir(os.path.join(path, "releases/life/gone")),
                         "the uninstalled release's record is still in the store")
        recs = index_records(load_index(path))
        self.assertNotIn("gone", [r["release"] for r in recs.values()],
                         "the uninstalled release is still in the index")
        self.assertEqual([recs["releases/life/grow/%d.json.gz" % i]["status"] for i in (1, 2)],
                         ["superseded", "deployed"], "statuses of the upgraded release's revisions")

    def test_04_same_name_in_two_namespaces(self):
        fk = self.FK
        path = newdir("twin")
        expected = cluster_records(fk, release="twin")
        self.assertEqual(sorted(expected), ["releases/twin-a/twin/1.json.gz",
                                            "releases/twin-b/twin/1.json.gz"], "set-up")
        p = export(fk, path, "-n", "twin-a", "-n", "twin-b")
        self.assertExportOk(p, "export of twin releases")
        ix = self.assertStoreMatches(path, expected, "same release name in two namespaces")
        charts = {r["namespace"]: r["chart"] for r in ix["records"]}
        self.assertEqual(charts, {"twin-a": "with-subchart", "twin-b": "with-crds"},
                         "both same-named releases kept, each with its own chart")

    def test_08_dry_run_writes_nothing(self):
        fk = self.FK
        path = newdir("dry")
        expected = cluster_records(fk)
        p = export(fk, path, "--dry-run")
        self.assertExportOk(p, "dry-run export")
        puts = sorted(logical(k) for k in re.findall(r"(?m)^would put (\S+)", p.stdout))
        self.assertEqual(puts, sorted(expected), "dry run: 'would put' lines\n" + show(p))
        self.assertRegex(p.stdout, r"(?m)^would write index\.json\b", "dry run: index write")
        self.assertEqual(os.listdir(path), [], "dry run wrote to the store")
        # On an existing snapshot: the deletes a filter would cause are printed, not done.
        p = export(fk, path)
        self.assertExportOk(p, "real export")
        before = stored_files(path), file_stats(path)
        p = export(fk, path, "--dry-run", "-n", "h3")
        self.assertExportOk(p, "dry-run export with a filter")
        # A filter never deletes what is outside it (issue 12).
        self.assertNotRegex(p.stdout, r"(?m)^would delete", "dry run: 'would delete' lines\n" + show(p))
        self.assertNotIn("would put", p.stdout, "dry run of an unchanged snapshot puts nothing")
        self.assertEqual((stored_files(path), file_stats(path)), before,
                         "dry run changed the existing snapshot")

    def test_09_filters(self):
        fk = self.FK
        cases = [
            (["-n", "h3", "-n", "twin-a"], dict(namespaces={"h3", "twin-a"})),
            (["--namespace", "h4,twin-b"], dict(namespaces={"h4", "twin-b"})),
            (["--exclude-namespaces", "h3,twin-a"], dict(exclude={"h3", "twin-a"})),
            (["--release", "twin"], dict(release="twin")),
            (["-n", "twin-b", "--release", "twin"], dict(namespaces={"twin-b"}, release="twin")),
            (["--release", "nosuch"], dict(release="nosuch")),
        ]
        for args, sel in cases:
            with self.subTest(args=args):
                path = newdir("filter")
                expected = cluster_records(fk, **sel)
                if sel.get("release") != "nosuch":
                    self.assertTrue(expected, "set-up: filter %s selects nothing" % args)
                p = export(fk, path, *args)
                self.assertExportOk(p, "export %s" % " ".join(args))
                self.assertStoreMatches(path, expected, "export %s" % " ".join(args))

    def test_11_list_and_clear(self):
        fk = self.FK
        path = newdir("listclear")
        expected = cluster_records(fk)
        p = export(fk, path)
        self.assertExportOk(p, "export")
        ix = load_index(path)
        p = rm("list", *store_args(path), "-o", "json")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(json.loads(p.stdout), ix, "list -o json is not the index")
        p = rm("list", *store_args(path))
        self.assertEqual(p.returncode, 0, show(p))
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split()[:3], ["NAMESPACE", "RELEASE", "REVISION"], "table header")
        rows = [ln.split() for ln in lines[1:] if ln.strip()]
        want = [[r["namespace"], r["release"], str(r["revision"]), r["status"],
                 "%s-%s" % (r["chart"], r["chartVersion"])] for r in ix["records"]]
        self.assertEqual(sorted(r[:5] for r in rows), sorted(want),
                         "list table rows (namespace release revision status chart) vs index\n"
                         + p.stdout)
        self.assertEqual(len(rows), len(expected), "list shows one row per record")

        before = stored_files(path)
        p = rm("clear", *store_args(path), "--dry-run")
        self.assertEqual(p.returncode, 0, show(p))
        would = re.findall(r"(?m)^would delete (\S+)", p.stdout)
        self.assertEqual(sorted(would), sorted(before), "clear --dry-run lists every key\n" + show(p))
        self.assertEqual(would[0], "index.json", "clear deletes the index first")
        self.assertEqual(stored_files(path), before, "clear --dry-run removed something")

        p = rm("clear", *store_args(path))
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(stored_files(path), {}, "clear left files behind")
        p = rm("list", *store_args(path))
        self.assertEqual(p.returncode, 1, "list after clear\n" + show(p))
        self.assertIn("no snapshot", p.stderr, "list after clear says there is no snapshot")


# =====================================================================================================
# Records seeded with fk.load: fixtures, corrupt records, faults, pagination, errors
# =====================================================================================================

class Seeded(ExportCase):
    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)

    def tearDown(self):
        self.FK.clear_faults()

    def test_05_shared_fixtures(self):
        fk = self.FK
        fx = {n: load_fixture(n) for n in ("01-secret-basic-demo2.json",
                                           "02-secret-crd-ingress-v1beta1.yaml",
                                           "17-CONSTRUCTED-configmap-basic-demo2.yaml",
                                           "20-neg-helm2-configmap.yaml")}
        cm_only = json.loads(json.dumps(fx["17-CONSTRUCTED-configmap-basic-demo2.yaml"]))
        cm_only["metadata"]["namespace"] = "cmonly"
        res = fk.load(list(fx.values()) + [cm_only])
        self.assertEqual((res["created"], res["errors"]), (5, []), "loading the fixtures")
        shas = {}
        with open(os.path.join(FIXTURES, "decoded.sha256")) as f:
            for line in f:
                h, name = line.split()
                shas[name] = h
        demo2 = inner_bytes(fx["01-secret-basic-demo2.json"])
        foooo = inner_bytes(fx["02-secret-crd-ingress-v1beta1.yaml"])
        self.assertEqual((sha(demo2), sha(foooo)), (shas["01-secret-basic-demo2.json"],
                                                      shas["02-secret-crd-ingress-v1beta1.yaml"]),
                         "set-up: fixtures decode to decoded.sha256")
        helm2 = re.compile(r"Helm 2|Tiller", re.I)

        # Secret driver (default)
        path = newdir("fx-secret")
        p = export(fk, path, "-n", "demo2", "-n", "appns", "-n", "helm-system")
        self.assertExportOk(p, "fixtures, secret driver")
        self.assertStoreMatches(path, {"releases/demo2/demo2/1.json.gz": demo2,
                                       "releases/appns/foooo/1.json.gz": foooo},
                                "fixture Secrets", cluster_uid=kube_system_uid(fk))
        self.assertEqual(len([l for l in p.stderr.splitlines() if helm2.search(l)]), 1,
                         "exactly one warning line about the Helm 2 record\n" + show(p))

        # ConfigMap driver
        path = newdir("fx-cm")
        p = export(fk, path, "--helm-driver", "configmap", "-n", "demo2", "-n", "helm-system")
        self.assertExportOk(p, "fixtures, configmap driver")
        self.assertStoreMatches(path, {"releases/demo2/demo2/1.json.gz": demo2},
                                "fixture ConfigMap (--helm-driver configmap)")
        self.assertEqual(load_index(path)["records"][0]["driver"], "configmap", "index driver")
        self.assertEqual(len([l for l in p.stderr.splitlines() if helm2.search(l)]), 1,
                         "exactly one warning line about the Helm 2 record (configmap driver)\n" + show(p))
        self.assertFalse(os.path.exists(os.path.join(path, "releases", "helm-system")),
                         "the Helm 2 ConfigMap was exported")

        # auto: a ConfigMap-only release is exported from its ConfigMap
        path = newdir("fx-auto")
        p = export(fk, path, "--helm-driver", "auto", "-n", "cmonly", "-n", "appns",
                   "-n", "helm-system")
        self.assertExportOk(p, "fixtures, auto driver")
        ix = self.assertStoreMatches(path, {"releases/cmonly/demo2/1.json.gz": demo2,
                                            "releases/appns/foooo/1.json.gz": foooo},
                                     "fixture ConfigMap + Secret (--helm-driver auto)")
        self.assertEqual({r["namespace"]: r["driver"] for r in ix["records"]},
                         {"cmonly": "configmap", "appns": "secret"}, "index drivers with auto")
        self.assertEqual(len([l for l in p.stderr.splitlines() if helm2.search(l)]), 1,
                         "exactly one warning line about the Helm 2 record (auto)\n" + show(p))

        # auto, where the same revision is in a Secret and a ConfigMap: the Secret wins
        path = newdir("fx-auto-both")
        p = export(fk, path, "--helm-driver", "auto", "-n", "demo2")
        self.assertIn(p.returncode, (0, 3), show(p))
        ix = self.assertStoreMatches(path, {"releases/demo2/demo2/1.json.gz": demo2},
                                     "Secret and ConfigMap of one revision (auto)")
        self.assertEqual(ix["records"][0]["driver"], "secret", "auto: the Secret wins")
        self.assertExportOk(p, "auto with a Secret and a ConfigMap of the same revision "
                            "(documented precedence, nothing skipped)")

    def test_06_corrupt_records_skipped(self):
        fk = self.FK
        ns = "corrupt"
        good = release_json(ns, "fine", 1)
        gz = gzip.compress(release_json(ns, "trunc", 1), mtime=0)
        objs = [release_secret(ns, "fine", 1, payload=good),
                release_secret(ns, "badb64", 1, inner=b"H4sI!!not*base64**"),
                release_secret(ns, "trunc", 1, inner=base64.b64encode(gz[:len(gz) // 2]))]
        res = fk.load(objs)
        self.assertEqual(res["errors"], [], "loading corrupt records")
        path = newdir("corrupt")
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 3, "corrupt records: exit status 3 (partial)\n" + show(p))
        lines = p.stderr.splitlines()
        for name, reason in (("sh.helm.release.v1.badb64.v1", "base64"),
                             ("sh.helm.release.v1.trunc.v1", r"gzip|truncat|compress")):
            hits = [l for l in lines if name in l]
            self.assertTrue(hits, "corrupt Secret %s not reported by name\n%s" % (name, show(p)))
            self.assertTrue(any(re.search(reason, l, re.I) for l in hits),
                            "report for %s does not give the reason (/%s/): %s" % (name, reason, hits))
        self.assertRegex(p.stdout, r"\b1 written, 0 unchanged, 0 deleted, 2 skipped",
                         "summary with two skipped\n" + show(p))
        self.assertStoreMatches(path, {"releases/%s/fine/1.json.gz" % ns: good},
                                "the good release exported beside corrupt ones")

    def test_06b_record_corrupted_later_keeps_backup(self):
        """When a release Secret that was exported intact later becomes corrupt, the next
        export reports it (exit 3) and keeps the intact stored copy in the snapshot."""
        fk = self.FK
        ns = "rot"
        good = release_json(ns, "r", 1)
        fk.load([release_secret(ns, "r", 1, payload=good), release_secret(ns, "s", 1)])
        path = newdir("rot")
        self.assertExportOk(export(fk, path, "-n", ns), "export while intact")
        gz = gzip.compress(good, mtime=0)
        fk.load([release_secret(ns, "r", 1, inner=base64.b64encode(gz[:20]))], replace=True)
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 3, "corrupt record: exit 3\n" + show(p))
        self.assertIn("releases/rot/r/1.json.gz", stored_records(path),
                      "the intact stored copy of a now-corrupt record was deleted")
        self.assertIn("releases/rot/r/1.json.gz", index_records(load_index(path)),
                      "the intact copy of a now-corrupt record is not in the index")

    def test_17_auto_duplicates_intact_copy_wins(self):
        """--helm-driver auto, a Secret and a ConfigMap of the same revision, one of them
        corrupt: the intact one is exported, with a warning naming the corrupt object; both
        intact but different: the Secret, and the warning says so and why (issue 11)."""
        fk = self.FK
        ns = "dups"
        a, b, c, d = (release_json(ns, n, 1) for n in "abcd")
        d_other = release_json(ns, "d", 1, status="superseded")
        gz = gzip.compress(b, mtime=0)
        forged = release_json(ns, "c", 2)          # the Secret of c.v1 holds revision 2
        objs = [release_secret(ns, "a", 1, inner=b"H4sI!!not*base64**"),
                release_configmap(ns, "a", 1, payload=a),
                release_secret(ns, "b", 1, payload=b),
                release_configmap(ns, "b", 1, inner=base64.b64encode(gz[:len(gz) // 2])),
                release_secret(ns, "c", 1, payload=forged),
                release_configmap(ns, "c", 1, payload=c),
                release_secret(ns, "d", 1, payload=d),
                release_configmap(ns, "d", 1, payload=d_other)]
        res = fk.load(objs)
        self.assertEqual(res["errors"], [], "loading the duplicates")
        path = newdir("dups")
        p = export(fk, path, "--helm-driver", "auto", "-n", ns)
        self.assertExportOk(p, "auto with corrupt duplicates (every record is exported intact)")
        ix = self.assertStoreMatches(path, {"releases/%s/%s/1.json.gz" % (ns, n): j
                                            for n, j in (("a", a), ("b", b), ("c", c), ("d", d))},
                                     "duplicates: the intact copies")
        self.assertEqual({r["release"]: r["driver"] for r in ix["records"]},
                         {"a": "configmap", "b": "secret", "c": "configmap", "d": "secret"},
                         "which object each record came from\n" + show(p))
        lines = p.stderr.splitlines()

        def warned(obj, *words):
            hits = [l for l in lines if obj in l and all(re.search(w, l) for w in words)]
            self.assertTrue(hits, "no warning naming %s with %s\n%s" % (obj, words, show(p)))
        warned("secret dups/sh.helm.release.v1.a.v1", "base64", "configmap dups/sh.helm.release.v1.a.v1",
               "exported instead")
        warned("configmap dups/sh.helm.release.v1.b.v1", "gzip|truncat|compress",
               "secret dups/sh.helm.release.v1.b.v1", "exported instead")
        warned("secret dups/sh.helm.release.v1.c.v1", "revision 2, not the one its name says",
               "exported instead")
        warned("secret dups/sh.helm.release.v1.d.v1", "configmap dups/sh.helm.release.v1.d.v1",
               "different data", "the Secret is exported", "Helm reads Secrets by default")

        # A second run reads the same objects and decides the same way.
        p = export(fk, path, "--helm-driver", "auto", "-n", ns)
        self.assertExportOk(p, "auto with corrupt duplicates, again")
        self.assertRegex(p.stdout, r"\b0 written, 4 unchanged", "second run\n" + show(p))

    def test_18_revisions_parsed_strictly(self):
        """A Secret named ...v01 (or v+1, v1x, an overflowing number) is not revision 1: it
        is skipped with a warning naming it and never takes the key of ...v1 (issue 11)."""
        fk = self.FK
        ns = "strict"
        good = release_json(ns, "web", 1)
        impostor = release_json(ns, "web", 1, status="failed")
        # ("v+1" and "v 1" are no valid object names for the API server: unit tests.)
        bad_names = ["v01", "v1x", "v99999999999", "v0", "v1.0"]
        objs = [release_secret(ns, "web", 1, payload=good)]
        for suffix in bad_names:
            o = release_secret(ns, "web", 1, payload=impostor)
            o["metadata"]["name"] = "sh.helm.release.v1.web." + suffix
            objs.append(o)
        res = fk.load(objs)
        self.assertEqual(res["errors"], [], "loading the oddly named Secrets")
        for order in ("first", "again"):
            path = newdir("strict")
            p = export(fk, path, "-n", ns)
            self.assertExportOk(p, "oddly named Secrets beside the real one (%s)" % order)
            self.assertStoreMatches(path, {"releases/%s/web/1.json.gz" % ns: good},
                                    "only the real v1 record (%s)" % order)
            for suffix in bad_names:
                name = "secret %s/sh.helm.release.v1.web.%s" % (ns, suffix)
                self.assertTrue([l for l in p.stderr.splitlines() if name in l and "skipped" in l],
                                "%s not reported as skipped\n%s" % (name, show(p)))

    def test_19_server_credentials_never_stored_or_logged(self):
        """user:password in the kubeconfig's server URL authenticate (basic auth, as with
        kubectl), but never reach index.json, --debug output or error messages (issue 11)."""
        fk = self.FK
        ns = "urlcreds"
        fk.load([release_secret(ns, "u", 1)])
        password = "Url-Pa55-@-w0rd-8d1f"
        fk.set_auth(basic={"ops": password})
        self.addCleanup(fk.set_auth, basic={})
        with open(fk.kubeconfig) as f:
            kc = f.read()
        server = "https://127.0.0.1:%d" % fk.port
        self.assertIn(server, kc)
        url_pw = password.replace("@", "%40")
        with_creds = os.path.join(newdir("kc"), "userinfo")
        with open(with_creds, "w") as f:
            f.write(kc.replace(server, "https://ops:%s@127.0.0.1:%d" % (url_pw, fk.port))
                      .replace("token: %s" % fk.token, "{}"))
        path = newdir("urlcreds")
        p = export(with_creds, path, "-n", ns, "--debug")
        self.assertExportOk(p, "export authenticated by the URL's user:password")
        with open(os.path.join(path, "index.json")) as f:
            index_text = f.read()
        self.assertEqual(json.loads(index_text)["cluster"]["server"], server,
                         "index.json cluster server: the URL without its credentials")
        for secret in (password, url_pw, "Url-Pa55"):
            self.assertNotIn(secret, index_text, "the password is in index.json")
            self.assertNotIn(secret, p.stderr + p.stdout, "the password is in the --debug output")
        self.assertIn(server, p.stderr, "--debug names the server (without credentials)\n" + show(p))

        # An error that names the server does not name the password either.
        s = socket.socket()     # bound, not listening: refused, and no other program's
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
        unreachable = os.path.join(newdir("kc"), "userinfo-closed")
        with open(with_creds) as f:
            text = f.read()
        with open(unreachable, "w") as f:
            f.write(text.replace("127.0.0.1:%d" % fk.port, "127.0.0.1:%d" % closed))
        with s:
            p = export(unreachable, path, "-n", ns, "--debug")
        self.assertEqual(p.returncode, 1, "unreachable server: exit 1\n" + show(p))
        self.assertIn("127.0.0.1:%d" % closed, p.stderr, "the error names the server\n" + show(p))
        for secret in (password, url_pw, "Url-Pa55", "ops:"):
            self.assertNotIn(secret, p.stderr + p.stdout, "the password is in the error\n" + show(p))

    def test_07_api_faults_retried(self):
        """API faults are retried: on a first export, the full LIST that plans and reads
        it (500 then 429 with Retry-After); on a re-export of changed records, the GET of
        each (500, 429, a dropped connection, two 503s)."""
        fk = self.FK
        ns = "faulty"
        payloads = {n: release_json(ns, n, 1, pad=3000) for n in ("r1", "r2", "r3")}
        fk.load([release_secret(ns, n, 1, payload=b) for n, b in payloads.items()])
        lpath = "/api/v1/namespaces/%s/secrets$" % ns
        gpath = "/secrets/sh.helm.release.v1.%s.v1$"
        fk.add_fault(verb="list", path=lpath, status=500, count=1)
        fk.add_fault(verb="list", path=lpath, status=429, retryAfter=1, count=1)
        fk.reset_log()
        path = newdir("faults")
        p = export(fk, path, "-n", ns, "--threads", "2")
        self.assertExportOk(p, "export through 500/429 on the LIST")
        self.assertStoreMatches(path, {"releases/%s/%s/1.json.gz" % (ns, n): b
                                       for n, b in payloads.items()}, "export through LIST faults")
        log = fk.requests()

        def seq(pred):
            return [(e["status"], e["time"]) for e in log if pred(e)]
        lst = seq(lambda e: e["verb"] == "list" and re.search(lpath, e["path"]))
        self.assertEqual([s for s, _ in lst], [500, 429, 200], "LIST retried after 500 and 429")
        self.assertGreaterEqual(lst[2][1] - lst[1][1], 0.9, "Retry-After: 1 of the 429 not honoured")
        # A first export reads the records from its LIST: no GET to retry.  Changed
        # records of a later export are read one by one, and those GETs are retried.
        payloads = {n: release_json(ns, n, 1, pad=3001) for n in payloads}
        fk.load([release_secret(ns, n, 1, payload=b) for n, b in payloads.items()], replace=True)
        fk.add_fault(verb="get", path=gpath % "r1", status=500, count=1)
        fk.add_fault(verb="get", path=gpath % "r1", status=429, retryAfter=1, count=1)
        fk.add_fault(verb="get", path=gpath % "r2", action="drop", count=1)
        fk.add_fault(verb="get", path=gpath % "r3", status=503, count=2)
        fk.reset_log()
        p = export(fk, path, "-n", ns, "--threads", "2")
        self.assertExportOk(p, "export through 500/429/503/dropped connections on GETs")
        self.assertStoreMatches(path, {"releases/%s/%s/1.json.gz" % (ns, n): b
                                       for n, b in payloads.items()}, "export through GET faults")
        log = fk.requests()
        g1 = seq(lambda e: e["verb"] == "get" and re.search(gpath % "r1", e["path"]))
        self.assertEqual([s for s, _ in g1], [500, 429, 200], "GET retried after 500 and 429")
        self.assertGreaterEqual(g1[2][1] - g1[1][1], 0.9, "Retry-After: 1 of the 429 not honoured (GET)")
        g2 = seq(lambda e: e["verb"] == "get" and re.search(gpath % "r2", e["path"]))
        self.assertEqual([s for s, _ in g2], [0, 200], "GET retried after a dropped connection")
        g3 = seq(lambda e: e["verb"] == "get" and re.search(gpath % "r3", e["path"]))
        self.assertEqual([s for s, _ in g3], [503, 503, 200], "GET retried after two 503s")

    def test_10_pagination_2500(self):
        fk = self.FK
        N = 2500
        nss = ["page-%d" % i for i in range(5)]
        objs = [release_secret(nss[i % 5], "p%04d" % i, 1) for i in range(N)]
        res = fk.load(objs)
        self.assertEqual((res["created"], res["errors"]), (N, []), "loading %d Secrets" % N)
        path = newdir("pages")
        # every namespace but these five (other tests seed records elsewhere on this server)
        others = ",".join(n["metadata"]["name"] for n in fk.get_json("/api/v1/namespaces")[1]["items"]
                          if n["metadata"]["name"] not in nss)
        fk.reset_log()
        p = export(fk, path, "--exclude-namespaces", others)
        self.assertExportOk(p, "export of %d releases" % N)
        ix = load_index(path)
        self.assertEqual(len(ix["records"]), N, "index of the %d-release export" % N)
        want = {"releases/%s/p%04d/1.json.gz" % (nss[i % 5], i) for i in range(N)}
        self.assertEqual(set(index_records(ix)), want, "index keys of the paged export")
        got = stored_records(path)
        self.assertEqual(set(got), want, "stored records of the paged export")
        for i in (0, 1, 777, N - 1):
            k = "releases/%s/p%04d/1.json.gz" % (nss[i % 5], i)
            self.assertEqual(got[k], release_json(nss[i % 5], "p%04d" % i, 1), "content of %s" % k)
        lists = [e for e in fk.requests() if e["verb"] == "list" and e["path"] == "/api/v1/secrets"]
        self.assertTrue(all("limit=" in e["query"] and e["status"] == 200 for e in lists),
                        "a LIST without limit, or failed")
        # A first export plans and reads in one full LIST, in pages: no metadata LIST of
        # the Secrets before it, no GET after it.
        meta = [e for e in lists if SECRETS_META_ACCEPT in e["accept"]]
        full = [e for e in lists if SECRETS_META_ACCEPT not in e["accept"]]
        self.assertEqual(["continue=" in e["query"] for e in full],
                         [False] + [True] * (len(full) - 1),
                         "full LIST: one listing whose later pages continue the first")
        self.assertGreaterEqual(len(full), 3, "the full LIST of %d Secrets was not paginated "
                                "(%d request(s))" % (N, len(full)))
        self.assertEqual(meta, [], "a first export listed the Secrets twice (metadata, then full)")
        gets = [e for e in fk.requests() if e["verb"] == "get" and "/secrets/" in e["path"]]
        self.assertEqual(gets, [], "a first export read records its LIST delivered one by one")

        # Unchanged re-export at scale: nothing is read or written.
        before = {k: v for k, v in file_stats(path).items() if k.startswith("releases/")}
        fk.reset_log()
        p = export(fk, path, "--exclude-namespaces", others)
        self.assertExportOk(p, "unchanged re-export of %d releases" % N)
        self.assertRegex(p.stdout, r"\b0 written, %d unchanged, 0 deleted" % N, show(p))
        log = fk.requests()
        self.assertEqual([e["path"] for e in log if e["verb"] == "get" and "/secrets/" in e["path"]], [],
                         "unchanged re-export read release Secrets")
        meta = [e for e in log if e["verb"] == "list" and e["path"] == "/api/v1/secrets"
                and SECRETS_META_ACCEPT in e["accept"] and e["status"] == 200]
        self.assertTrue(meta and all("limit=5000" in e["query"] for e in meta),
                        "the metadata LIST in pages of 5000: %r" % meta)
        self.assertEqual(len(load_index(path)["records"]), N, "index after the re-export")
        self.assertEqual({k: v for k, v in file_stats(path).items() if k.startswith("releases/")},
                         before, "unchanged re-export rewrote record files")

        # The index gone: every record is read again, from full LIST pages (the metadata
        # LIST is one page of 5000 here), whose continue token expires once (410): the
        # LIST restarts and still sees every record.
        os.unlink(os.path.join(path, "index.json"))
        fk.add_fault(action="expire-continue", path="^/api/v1/secrets$", count=1)
        fk.reset_log()
        p = export(fk, path, "--exclude-namespaces", others)
        self.assertExportOk(p, "re-export of %d releases without index.json" % N)
        self.assertIn(410, [e["status"] for e in fk.requests()],
                      "set-up: the expire-continue fault did not fire")
        self.assertEqual(len(load_index(path)["records"]), N, "index after the 410 restart")

    def test_13_full_list_path_faults_and_corrupt(self):
        """Many records to read: export reads them from full LIST pages (not a GET each);
        faults on those pages are retried and a corrupt record in a page is reported."""
        fk = self.FK
        ns, N = "bulk", 150
        payloads = {"b%03d" % i: release_json(ns, "b%03d" % i, 1) for i in range(N)}
        gz = gzip.compress(payloads["b077"], mtime=0)
        objs = [release_secret(ns, n, 1, payload=b) for n, b in payloads.items() if n != "b077"]
        objs.append(release_secret(ns, "b077", 1, inner=base64.b64encode(gz[:-12])))
        res = fk.load(objs)
        self.assertEqual((res["created"], res["errors"]), (N, []), "loading %d Secrets" % N)
        lpath = "/api/v1/namespaces/%s/secrets$" % ns
        # the first LIST (metadata) passes; the next one fails once; a continued page drops once
        fk.add_fault(verb="list", path=lpath, query="continue=", action="drop", count=1)
        fk.add_fault(verb="list", path=lpath, skip=1, status=500, count=1)
        fk.reset_log()
        path = newdir("bulk")
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 3, "one corrupt record among %d: exit 3\n%s" % (N, show(p)))
        self.assertRegex(p.stderr, r"sh\.helm\.release\.v1\.b077\.v1.*(gzip|truncat)",
                         "the corrupt record in a LIST page is reported by name and reason\n" + show(p))
        self.assertRegex(p.stdout, r"\b%d written, 0 unchanged, 0 deleted, 1 skipped, 0 failed" % (N - 1),
                         show(p))
        self.assertStoreMatches(path, {"releases/%s/%s/1.json.gz" % (ns, n): b
                                       for n, b in payloads.items() if n != "b077"},
                                "export from full LIST pages through faults")
        log = fk.requests()
        lists = [e for e in log if e["verb"] == "list" and re.search(lpath, e["path"])]
        full = [e for e in lists if SECRETS_META_ACCEPT not in e["accept"]]
        self.assertIn(500, [e["status"] for e in full], "set-up: the 500 did not hit the full LIST")
        self.assertIn(0, [e["status"] for e in full], "set-up: the drop did not hit a full LIST page")
        self.assertEqual(full[-1]["status"], 200, "the full LIST was not completed after the faults")
        gets = [e["path"] for e in log if e["verb"] == "get" and "/secrets/" in e["path"]]
        self.assertEqual(gets, [], "records the full LIST delivered were read again one by one")

        before = {k: v for k, v in file_stats(path).items() if k.startswith("releases/")}
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 3, "re-export: still one corrupt record\n" + show(p))
        self.assertRegex(p.stdout, r"\b0 written, %d unchanged, 0 deleted, 1 skipped" % (N - 1), show(p))
        self.assertEqual({k: v for k, v in file_stats(path).items() if k.startswith("releases/")},
                         before, "unchanged re-export rewrote record files")

    def test_14_progress_on_a_terminal_quiet_otherwise(self):
        """On a TTY, export shows count/total, bytes and rate on stderr; off a TTY (and
        without -v) stderr stays empty."""
        import pty
        fk = self.FK
        ns = "progress"
        fk.load([release_secret(ns, "p%02d" % i, 1) for i in range(12)])
        path = newdir("progress")
        args = [RM_BIN, "export"] + store_args(path) + ["--kubeconfig", fk.kubeconfig, "-n", ns]
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(RM_BIN, args)
        out = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
        self.assertRegex(out.decode(), r"\r(?:releasemanager: )?12/12 records, [0-9.]+ MiB, [0-9.]+ MiB/s",
                         "progress line on a terminal")
        p = export(fk, newdir("progress-quiet"), "-n", ns)
        self.assertEqual(p.returncode, 0, show(p))
        # (The seeded cluster's Helm 2 record still earns its one warning.)
        self.assertNotIn("records,", p.stderr, "off a terminal there is no progress line")
        self.assertNotIn("stored releases/", p.stderr, "off a terminal export is quiet without -v")

    def test_15_http2(self):
        """Where the server offers HTTP/2 (ALPN h2), the client speaks it: the same export
        through nghttpx (an HTTP/2 TLS front for the fake server, whose own Python server
        speaks HTTP/1.1), every request over h2 from 8 threads sharing one connection
        pool, full LIST pages with continue tokens, the store byte-exact."""
        nghttpx = shutil.which("nghttpx") or next(
            (p for p in ("/usr/sbin/nghttpx", "/usr/bin/nghttpx") if os.path.exists(p)), None)
        if not nghttpx:
            self.skipTest("nghttpx not installed (Debian package nghttp2-proxy)")
        fk = self.FK
        ns = "h2"
        res = fk.load([release_secret(ns, "r%03d" % i, rev) for i in range(130) for rev in (1, 2)])
        self.assertEqual(res["errors"], [], "loading the records")
        expected = cluster_records(fk, namespaces=[ns])
        self.assertEqual(len(expected), 260, "set-up")
        sd = fk.state_dir
        backend_port = int(fk.info["url"].rsplit(":", 1)[1])
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        access = os.path.join(WORK, "nghttpx-access.log")
        errlog = os.path.join(WORK, "nghttpx-error.log")
        proc = subprocess.Popen(
            [nghttpx, "--conf=/dev/null", "--frontend=127.0.0.1,%d" % port,
             "--backend=127.0.0.1,%d;;tls;sni=localhost" % backend_port,
             "--cacert=" + os.path.join(sd, "ca.crt"), "--accesslog-file=" + access,
             "--accesslog-format=$alpn $method $path $status", "--errorlog-file=" + errlog,
             "--workers=1", "--no-ocsp", os.path.join(sd, "server.key"), os.path.join(sd, "server.crt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        self.fail("nghttpx did not start (see %s)" % errlog)
                    time.sleep(0.1)
            with open(fk.kubeconfig) as f:
                text = f.read()
            kc = os.path.join(WORK, "kubeconfig-h2")
            with open(kc, "w") as f:
                f.write(text.replace(fk.info["url"], "https://127.0.0.1:%d" % port))
            path = newdir("h2")
            p = export(kc, path, "-n", ns, "--threads", "8")
            self.assertExportOk(p, "export over HTTP/2")
            self.assertStoreMatches(path, expected, "export over HTTP/2")
        finally:
            proc.terminate()
            proc.wait(10)
        with open(access) as f:
            lines = [l.split() for l in f if l.strip()]
        self.assertGreaterEqual(len(lines), 4, "requests seen by nghttpx")
        self.assertEqual(sorted({l[0] for l in lines}), ["h2"],
                         "every request over HTTP/2 (ALPN h2): %s" % lines)
        self.assertTrue(any("continue=" in l[2] for l in lines),
                        "full LIST pages with continue tokens went through HTTP/2: %s" % lines)
        self.assertEqual([l for l in lines if l[3] != "200"], [], "all answered 200")

    def test_16_engine_runs_again_in_one_process(self):
        """One export engine (tests/e2e/export_probe) run again in the same process compares
        with the snapshot it committed: an unchanged cluster costs no Secret read and no
        write; one more release record is the only record stored."""
        fk = self.FK
        ns = "twice"
        res = fk.load([release_secret(ns, "a", 1), release_secret(ns, "a", 2),
                       release_secret(ns, "b", 1)])
        self.assertEqual(res["errors"], [], "loading the records")
        self.assertTrue(os.access(EXPORT_PROBE, os.X_OK), "tests/e2e/export_probe is not built")
        path = newdir("twice")
        probe = subprocess.Popen([EXPORT_PROBE, "--kubeconfig", fk.kubeconfig, "--plugin",
                                  os.path.join(PLUGIN_DIR, "local.so"), "--path", path,
                                  "--namespace", ns], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def run_again():
            probe.stdin.write("again\n")
            probe.stdin.flush()
            return json.loads(probe.stdout.readline() or "null")

        def secret_gets():
            return ["%s %s" % (e["method"], e["path"]) for e in fk.requests()
                    if e["verb"] == "get" and "/secrets/" in e["path"]]

        def counts(run, records, written, unchanged):
            return {"run": run, "records": records, "written": written, "unchanged": unchanged,
                    "deleted": 0, "skipped": 0, "failed": 0}

        try:
            first = json.loads(probe.stdout.readline() or "null")
            self.assertEqual(first, counts(1, 3, 3, 0), "first run")
            self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), "first run")
            before = file_stats(path)

            fk.reset_log()
            self.assertEqual(run_again(), counts(2, 3, 0, 3), "second run, nothing changed")
            self.assertEqual(secret_gets(), [], "the second run read release Secrets")
            self.assertEqual(file_stats(path), before, "the second run wrote files")

            res = fk.load([release_secret(ns, "b", 2)])
            self.assertEqual(res["errors"], [], "loading one more record")
            fk.reset_log()
            self.assertEqual(run_again(), counts(3, 4, 1, 3), "third run, one record added")
            self.assertEqual(secret_gets(),
                             ["GET /api/v1/namespaces/%s/secrets/sh.helm.release.v1.b.v2" % ns],
                             "the third run read other Secrets than the new one")
            after = file_stats(path)
            self.assertEqual(sorted(logical(k) for k in after if k.startswith("releases/")
                                    and after[k] != before.get(k)),
                             ["releases/%s/b/2.json.gz" % ns], "records the third run wrote")
            self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), "third run")
        finally:
            probe.stdin.close()
            out, err = probe.stdout.read(), probe.stderr.read()
            probe.stdout.close()
            probe.stderr.close()
            probe.wait(timeout=120)
        self.assertEqual(probe.returncode, 0, "export_probe: exit %d\n%s%s" % (probe.returncode,
                                                                             out, err))

    # ---- issue 11: a snapshot is complete or absent ----------------------------------------

    @staticmethod
    def importable(ns, name, rev, status="deployed"):
        """release_json with a manifest import accepts (its object has an apiVersion)."""
        return release_json(ns, name, rev, status).replace(b"\\nkind: ConfigMap",
                                                           b"\\napiVersion: v1\\nkind: ConfigMap")

    def load_releases(self, ns, names, upgraded=()):
        """Load revision 1 of each release, or, for the names in upgraded, what helm
        upgrade leaves: revision 1 superseded (its content changed) and revision 2."""
        objs, j = [], self.importable
        for n in names:
            if n in upgraded:
                objs += [release_secret(ns, n, 1, payload=j(ns, n, 1, "superseded"),
                                        status="superseded"),
                         release_secret(ns, n, 2, payload=j(ns, n, 2))]
            else:
                objs.append(release_secret(ns, n, 1, payload=j(ns, n, 1)))
        res = self.FK.load(objs, replace=True)
        self.assertEqual(res["errors"], [], "loading %s" % ns)

    def assertIndexIntact(self, path, ix, what):
        """Every record ix references is in the store under path with its size and
        sha256."""
        for r in ix["records"]:
            f = os.path.join(path, r["key"])
            self.assertTrue(os.path.isfile(f), "%s: %s is referenced but missing" % (what, r["key"]))
            with open(f, "rb") as fh:
                raw = gzip.decompress(fh.read())
            self.assertEqual((len(raw), sha(raw)), (r["size"], r["sha256"]),
                             "%s: %s does not match the index" % (what, r["key"]))

    def import_dry_run(self, path, ns, target):
        p = rm("import", *store_args(path), "--kubeconfig", self.FK.kubeconfig, "--dry-run",
               "-n", ns, "--target-namespace", target, "--create-namespace")
        self.assertEqual(p.returncode, 0, "import --dry-run of %s\n%s" % (path, show(p)))
        return p

    def test_20_failed_export_keeps_the_previous_snapshot(self):
        """After an upgrade of half the releases, an export whose backend fails a put
        leaves the previous index fully valid (every record it references is there with its
        sha256, and it imports), commits what it has, and deletes nothing."""
        fk = self.FK
        ns, names = "dur", ["r%d" % i for i in range(8)]
        self.load_releases(ns, names)
        path = newdir("dur")
        self.assertExportOk(export(fk, path, "-n", ns), "first export")
        with open(os.path.join(path, "index.json"), "rb") as f:
            before_text = f.read()
        before = json.loads(before_text)
        self.load_releases(ns, names, upgraded=names[:4])
        # The put of r2's new revision fails: a directory stands where its file goes.
        blocked = "releases/%s/r2/2.%s.json.gz" % (ns, sha(self.importable(ns, "r2", 2)))
        os.makedirs(os.path.join(path, blocked, "x"))
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 1, "a failed put: exit 1\n" + show(p))
        self.assertIn(blocked, p.stderr, "the failed put is reported by key\n" + show(p))
        self.assertRegex(p.stdout, r"\b0 deleted, 0 skipped, 1 failed", show(p))
        self.assertRegex(p.stdout, r"(?m)^4 stale records kept: this export had failures", show(p))
        self.assertIndexIntact(path, before, "the previous snapshot after a failed export")
        self.assertIndexIntact(path, load_index(path), "the snapshot the failed export committed")
        # The previous index still imports (as if the run had been killed before its commit).
        old = newdir("dur-old")
        shutil.rmtree(old)
        shutil.copytree(path, old, ignore=shutil.ignore_patterns("x"))
        shutil.rmtree(os.path.join(old, blocked), ignore_errors=True)
        with open(os.path.join(old, "index.json"), "wb") as f:
            f.write(before_text)
        self.import_dry_run(old, ns, "dur-restore-old")
        self.import_dry_run(path, ns, "dur-restore-new")
        # The next clean export completes the snapshot and removes what no index needs.
        shutil.rmtree(os.path.join(path, blocked))
        p = export(fk, path, "-n", ns)
        self.assertExportOk(p, "export after the fault")
        self.assertRegex(p.stdout, r"\b1 written, 11 unchanged, 4 deleted, 0 skipped, 0 failed",
                         show(p))
        self.assertNotIn("kept", p.stdout, show(p))
        self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), "after the fault")

    def test_21_concurrent_commit_is_detected(self):
        """index.json is put only if it is still the one the run started from: another
        writer's commit in between fails the run with a clear message, and nothing is
        deleted (one engine, tests/e2e/export_probe, run twice; the test commits between)."""
        fk = self.FK
        ns = "race"
        self.load_releases(ns, ["a", "b", "c"])
        path = newdir("race")
        probe = subprocess.Popen([EXPORT_PROBE, "--kubeconfig", fk.kubeconfig, "--plugin",
                                  os.path.join(PLUGIN_DIR, "local.so"), "--path", path,
                                  "--namespace", ns], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = json.loads(probe.stdout.readline() or "null")
            self.assertEqual(first and first["written"], 3, "first run: %s" % first)
            # Another writer commits: an index of its own.
            ix = load_index(path)
            ix["time"] = "2001-01-01T00:00:00Z"
            other = json.dumps(ix, indent="\t")
            with open(os.path.join(path, "index.json"), "w") as f:
                f.write(other)
            stored = sorted(stored_records_raw(path))
            # Meanwhile the cluster changed: c uninstalled, d installed.
            st, _, _ = fk.request("DELETE", "/api/v1/namespaces/%s/secrets/sh.helm.release.v1.c.v1" % ns)
            self.assertEqual(st, 200, "deleting c's record")
            self.load_releases(ns, ["d"])
            probe.stdin.write("again\n")
            probe.stdin.flush()
            self.assertEqual(probe.stdout.readline(), "", "the second run did not fail")
        finally:
            probe.stdin.close()
            err = probe.stderr.read()
            probe.stdout.close()
            probe.stderr.close()
            probe.wait(timeout=120)
        self.assertEqual(probe.returncode, 1, err)
        self.assertIn("run 2: index.json changed since this export read it: another writer "
                      "committed; nothing deleted, run again", err)
        with open(os.path.join(path, "index.json")) as f:
            self.assertEqual(f.read(), other, "the other writer's index was overwritten")
        left = stored_records_raw(path)
        self.assertTrue(set(stored) <= set(left), "a record was deleted after the conflict")
        self.assertIndexIntact(path, load_index(path), "the other writer's snapshot")
        # The next run (a fresh start) commits over the other writer's index.
        p = export(fk, path, "-n", ns)
        self.assertExportOk(p, "export after the conflict")
        self.assertRegex(p.stdout, r"\b1 deleted", show(p))
        self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), "after the conflict")

    def test_22_corrupt_index_and_a_failed_read_keep_the_stored_copy(self):
        """An unreadable index.json: export rebuilds the index from the cluster, says so,
        and deletes nothing, so the intact earlier copy of a record survives; when the
        cluster cannot be read at all, nothing is written.  (Such an export is a first
        one: it reads the records from its LIST, so the failed read is the LIST's.)"""
        fk = self.FK
        ns = "cidx"
        self.load_releases(ns, ["a", "b"])
        path = newdir("cidx")
        self.assertExportOk(export(fk, path, "-n", ns), "first export")
        old_b = [k for k in stored_records_raw(path) if k.startswith("releases/%s/b/1." % ns)]
        self.assertEqual(len(old_b), 1, "set-up")
        self.load_releases(ns, ["a", "b"], upgraded=["b"])
        with open(os.path.join(path, "index.json"), "w") as f:
            f.write('{"apiVersion": "releasemanager.io/v1", "records": [')
        broken = stored_files(path)
        fk.add_fault(verb="list", path="/api/v1/namespaces/%s/secrets$" % ns, status=500, count=1000)
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 1, "a failed read: exit 1\n" + show(p))
        self.assertRegex(p.stderr, r"index\.json: not valid JSON.*unreadable: rebuilding the index "
                         r"from the cluster; no stored record is deleted", show(p))
        self.assertEqual(stored_files(path), broken, "a failed LIST changed the store")
        fk.clear_faults()
        p = export(fk, path, "-n", ns)
        self.assertExportOk(p, "export once the cluster reads again")
        self.assertRegex(p.stdout, r"\b3 written, 0 unchanged, 0 deleted", show(p))
        self.assertRegex(p.stdout, r"(?m)^1 stale record kept: the previous index\.json was unreadable",
                         show(p))
        self.assertEqual(stored_records_raw(path)[old_b[0]], self.importable(ns, "b", 1),
                         "the intact earlier copy of the record, kept while the index was unreadable")
        p = export(fk, path, "-n", ns)
        self.assertExportOk(p, "export with a readable index again")
        self.assertRegex(p.stdout, r"\b0 written, 3 unchanged, 1 deleted", show(p))
        self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), "after the fault")

    def test_23_another_clusters_store_is_refused(self):
        fk = self.FK
        ns = "other"
        self.load_releases(ns, ["a"])
        path = newdir("other")
        self.assertExportOk(export(fk, path, "-n", ns), "first export")
        ix = load_index(path)
        ix["cluster"]["uid"] = "11111111-2222-3333-4444-555555555555"
        with open(os.path.join(path, "index.json"), "w") as f:
            json.dump(ix, f)
        self.load_releases(ns, ["a", "b"])
        before = stored_files(path), file_stats(path)
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 1, show(p))
        uid = kube_system_uid(fk)
        self.assertIn("11111111-2222-3333-4444-555555555555", p.stderr, show(p))
        self.assertIn(uid, p.stderr, show(p))
        self.assertIn("--force", p.stderr, show(p))
        self.assertEqual(p.stdout, "", "a refused export prints no summary")
        self.assertEqual((stored_files(path), file_stats(path)), before, "a refused export wrote")
        p = export(fk, path, "-n", ns, "--force")
        self.assertExportOk(p, "export --force")
        self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), "export --force",
                                cluster_uid=uid)
        p = rm("export", "--help")
        self.assertIn("--force", p.stdout + p.stderr, "export --help lists --force")

    def test_24_todays_layout_converts_on_first_export(self):
        """A store whose records have keys without a hash (the layout before) lists and
        imports; the first export rewrites every record under its hashed key and removes
        the old keys after the commit; the next one is unchanged."""
        fk = self.FK
        ns = "conv"
        self.load_releases(ns, ["a", "b", "c"], upgraded=["c"])
        path = newdir("conv")
        self.assertExportOk(export(fk, path, "-n", ns), "export")
        ix = load_index(path)
        for r in ix["records"]:
            old = logical(r["key"])
            os.rename(os.path.join(path, r["key"]), os.path.join(path, old))
            r["key"] = old
        with open(os.path.join(path, "index.json"), "w") as f:
            json.dump(ix, f, indent="\t")
        p = rm("list", *store_args(path))
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(len([ln for ln in p.stdout.splitlines()[1:] if ln.strip()]), 4, show(p))
        self.import_dry_run(path, ns, "conv-restore")
        p = export(fk, path, "-n", ns)
        self.assertExportOk(p, "first export onto the older layout")
        self.assertRegex(p.stdout, r"\b4 written, 0 unchanged, 4 deleted, 0 skipped, 0 failed",
                         show(p))
        self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), "converted store")
        before = file_stats(path)
        p = export(fk, path, "-n", ns)
        self.assertRegex(p.stdout, r"\b0 written, 4 unchanged, 0 deleted", show(p))
        self.assertEqual(file_stats(path), before, "an unchanged export after the conversion wrote")

    def test_25_summary_says_only_what_happened(self):
        """When index.json cannot be written, nothing claims a delete: the summary says the
        export was not committed and how many stale records are kept."""
        fk = self.FK
        ns = "truth"
        self.load_releases(ns, ["a", "b"])
        path = newdir("truth")
        self.assertExportOk(export(fk, path, "-n", ns), "first export")
        st, _, _ = fk.request("DELETE", "/api/v1/namespaces/%s/secrets/sh.helm.release.v1.b.v1" % ns)
        self.assertEqual(st, 200)
        self.load_releases(ns, ["a", "c"])
        os.rename(os.path.join(path, "index.json"), os.path.join(path, "index.old"))
        os.makedirs(os.path.join(path, "index.json", "x"))
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertNotRegex(p.stdout + p.stderr, r"\b\d+ deleted|deleted releases/", show(p))
        self.assertRegex(p.stdout, r"(?m)^export to .* not committed: the previous snapshot stays",
                         show(p))
        self.assertRegex(p.stdout, r"(?m)^\d+ stale records? kept", show(p))
        self.assertTrue(any(k.startswith("releases/%s/b/" % ns) for k in stored_records_raw(path)),
                        "the uninstalled release's record was deleted")

    def test_26_damaged_records_are_noticed_and_rewritten(self):
        """A stored record that is truncated or missing is noticed by the next export at
        no extra cost (the store listing carries sizes): it is read from the cluster again
        and put back byte-exact under its key; the others are not read."""
        fk = self.FK
        ns = "dmg"
        self.load_releases(ns, ["a", "b", "c"])
        path = newdir("dmg")
        self.assertExportOk(export(fk, path, "-n", ns), "first export")
        ix = load_index(path)
        keys = sorted(r["key"] for r in ix["records"])
        with open(os.path.join(path, keys[0]), "rb") as f:
            good = f.read()
        with open(os.path.join(path, keys[0]), "r+b") as f:
            f.truncate(len(good) // 2)
        os.unlink(os.path.join(path, keys[1]))
        p = export(fk, path, "-n", ns)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("%s: stored record is damaged" % keys[0], p.stderr, show(p))
        self.assertIn("%s: stored record is missing" % keys[1], p.stderr, show(p))
        self.assertRegex(p.stdout, r"(?m)^2 damaged stored records .* rewritten", show(p))
        self.assertRegex(p.stdout, r"\b2 written, 1 unchanged, 0 deleted", show(p))
        self.assertEqual(sorted(r["key"] for r in load_index(path)["records"]), keys)
        self.assertIndexIntact(path, load_index(path), "after the repairing export")
        with open(os.path.join(path, keys[0]), "rb") as f:
            self.assertEqual(gzip.decompress(f.read()), gzip.decompress(good))
        p = export(fk, path, "-n", ns)
        self.assertRegex(p.stdout, r"\b0 written, 3 unchanged", "then nothing to do\n" + show(p))

    def test_12_errors(self):
        fk = self.FK
        fk.load([release_secret("errs", "e1", 1)])
        path = newdir("errors")
        p = export(fk, path, "-n", "errs")
        self.assertExportOk(p, "set-up export")
        before = stored_files(path), file_stats(path)
        with open(fk.kubeconfig) as f:
            kc = f.read()
        self.assertIn("127.0.0.1:%d" % fk.port, kc)

        # a port kept bound but not listening: refused, and no other program can take it
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
        bad = os.path.join(newdir("kc"), "closed-port")
        with open(bad, "w") as f:
            f.write(kc.replace("127.0.0.1:%d" % fk.port, "127.0.0.1:%d" % closed))
        t = time.time()
        with s:
            p = export(bad, path, "-n", "errs")
        took = time.time() - t
        self.assertEqual(p.returncode, 1, "unreachable server: exit 1\n" + show(p))
        self.assertRegex(p.stderr, r"127\.0\.0\.1:%d|port %d" % (closed, closed),
                         "unreachable server: error names the server\n" + show(p))
        self.assertRegex(p.stderr, r"(?i)connect", "unreachable server: error says it cannot connect")
        self.assertEqual((stored_files(path), file_stats(path)), before,
                         "an export against an unreachable server touched the store")
        print("unreachable server: failed after %.1fs" % took, file=sys.stderr)

        wrong = os.path.join(newdir("kc"), "wrong-token")
        self.assertIn("token: %s" % fk.token, kc)
        with open(wrong, "w") as f:
            f.write(kc.replace("token: %s" % fk.token, "token: not-the-token"))
        p = export(wrong, path, "-n", "errs")
        self.assertEqual(p.returncode, 1, "wrong token: exit 1\n" + show(p))
        self.assertRegex(p.stderr, r"401|Unauthorized", "wrong token: 401/Unauthorized\n" + show(p))
        self.assertNotIn("not-the-token", p.stderr + p.stdout, "the token is echoed")
        self.assertEqual((stored_files(path), file_stats(path)), before,
                         "an export with a wrong token touched the store")


# =====================================================================================================
# Filters keep what is outside their scope (issue 12: `export --release-name X` deleted the rest)
# =====================================================================================================

FORBIDDEN_CM = ('configmaps is forbidden: User "system:serviceaccount:ops:releasemanager" cannot '
                'list resource "configmaps" in API group "" at the cluster scope')


class Scope(ExportCase):
    """A filtered export updates its scope and keeps every stored entry outside it exactly as
    it was.  One server of its own: the scopes below are the whole cluster's."""

    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)

    def tearDown(self):
        self.FK.clear_faults()

    j = staticmethod(Seeded.importable)

    def seed(self):
        """sa: a (2 revisions, Secrets), b (Secret), m (ConfigMap); sb: a (Secret), c
        (ConfigMap); sc: d (Secret).  The same release name a in two namespaces."""
        j = self.j
        objs = [release_secret("sa", "a", 1, payload=j("sa", "a", 1, "superseded"), status="superseded"),
                release_secret("sa", "a", 2, payload=j("sa", "a", 2)),
                release_secret("sa", "b", 1, payload=j("sa", "b", 1)),
                release_configmap("sa", "m", 1, payload=j("sa", "m", 1)),
                release_secret("sb", "a", 1, payload=j("sb", "a", 1)),
                release_configmap("sb", "c", 1, payload=j("sb", "c", 1)),
                release_secret("sc", "d", 1, payload=j("sc", "d", 1))]
        res = self.FK.load(objs, replace=True)
        self.assertEqual(res["errors"], [], "seeding")

    def all_records(self):
        out = cluster_records(self.FK)
        out.update(cluster_records(self.FK, resource="configmaps"))
        return out

    def full_store(self):
        """A store holding the whole cluster (the default export: Secrets and ConfigMaps)."""
        path = newdir("scope")
        p = export(self.FK, path)
        self.assertExportOk(p, "full export")
        self.assertStoreMatches(path, self.all_records(), "full export (both drivers by default)")
        return path

    def delete(self, resource, ns, name, rev):
        st, _, _ = self.FK.request("DELETE", "/api/v1/namespaces/%s/%s/sh.helm.release.v1.%s.v%d"
                                   % (ns, resource, name, rev))
        self.assertEqual(st, 200, "deleting %s %s/%s.v%d" % (resource, ns, name, rev))

    def assertScoped(self, path, before, inscope, what, cluster=None):
        """Every entry of before (index entries by logical key) outside inscope is in the
        new index unchanged (same key, same fields) and its record file is untouched; the
        entries in scope are the cluster's."""
        ix = load_index(path)
        recs = index_records(ix)
        self.assertEqual(len(recs), len(ix["records"]), "%s: a key twice in the index" % what)
        for k, r in before.items():
            if not inscope(r):
                self.assertEqual(recs.get(k), r, "%s: entry %s outside the filter changed or "
                                 "was dropped" % (what, k))
                self.assertTrue(os.path.isfile(os.path.join(path, r["key"])),
                                "%s: the record of %s outside the filter was deleted" % (what, k))
        self.assertIndexIntact(path, ix, what)
        want = {k: v for k, v in (cluster or self.all_records()).items()
                if inscope(dict(zip(("namespace", "release"), k.split("/")[1:3]),
                                driver=("configmap" if k.split("/")[2] in ("m", "c") else "secret")))}
        got = {k for k, r in recs.items() if inscope(r)}
        self.assertEqual(sorted(got), sorted(want), "%s: the entries in scope are not the "
                         "cluster's records" % what)
        return recs

    assertIndexIntact = Seeded.assertIndexIntact

    def test_01_every_filter_keeps_the_rest(self):
        """The regression test of the data loss: each filter kind on a full snapshot."""
        self.seed()
        base = self.full_store()
        before = index_records(load_index(base))
        cases = [
            (["--release", "a"], lambda r: r["release"] == "a"),
            (["--release", "b,d"], lambda r: r["release"] in ("b", "d")),
            (["--release", "b", "--release", "c"], lambda r: r["release"] in ("b", "c")),
            (["-n", "sa"], lambda r: r["namespace"] == "sa"),
            (["--namespace", "sa,sc"], lambda r: r["namespace"] in ("sa", "sc")),
            (["--namespaces", "sb"], lambda r: r["namespace"] == "sb"),
            (["--namespaces", "sb", "-n", "sc"], lambda r: r["namespace"] in ("sb", "sc")),
            (["--exclude-namespaces", "sa,sc"], lambda r: r["namespace"] not in ("sa", "sc")),
            (["--helm-driver", "secret"], lambda r: r["driver"] == "secret"),
            (["--helm-driver", "configmap"], lambda r: r["driver"] == "configmap"),
            (["-n", "sa", "--release", "a"], lambda r: (r["namespace"], r["release"]) == ("sa", "a")),
            (["--release", "nosuch"], lambda r: r["release"] == "nosuch"),
        ]
        for args, inscope in cases:
            with self.subTest(args=args):
                path = newdir("scoped")
                shutil.rmtree(path)
                shutil.copytree(base, path)
                for dry in (True, False):
                    p = export(self.FK, path, *args, *(["--dry-run"] if dry else []))
                    self.assertExportOk(p, "export %s" % " ".join(args))
                    self.assertNotRegex(p.stdout, r"(?m)^would delete", show(p))
                outside = sum(1 for r in before.values() if not inscope(r))
                self.assertRegex(p.stdout, r"\b0 written, %d unchanged, 0 deleted, 0 skipped, 0 "
                                 r"failed; %d kept outside the filter"
                                 % (len(before) - outside, outside), show(p))
                self.assertScoped(path, before, inscope, "export %s" % " ".join(args))
        p = export(self.FK, base)
        self.assertNotIn("outside the filter", p.stdout, "an unfiltered export has no scope\n" + show(p))

    def test_02_uninstalled_in_scope_removed_outside_kept(self):
        self.seed()
        path = self.full_store()
        before = index_records(load_index(path))
        # sa/b (in the filter below) and sb/a (outside it) are uninstalled
        self.delete("secrets", "sa", "b", 1)
        self.delete("secrets", "sb", "a", 1)
        p = export(self.FK, path, "-n", "sa")
        self.assertExportOk(p, "export -n sa after two uninstalls")
        self.assertRegex(p.stdout, r"\b1 deleted\b.*; 3 kept outside the filter", show(p))
        recs = self.assertScoped(path, before, lambda r: r["namespace"] == "sa", "export -n sa")
        self.assertNotIn("releases/sa/b/1.json.gz", recs, "the release uninstalled in scope is kept")
        self.assertFalse(os.path.exists(os.path.join(path, before["releases/sa/b/1.json.gz"]["key"])),
                         "the record of the release uninstalled in scope is still stored")
        self.assertIn("releases/sb/a/1.json.gz", recs, "the release uninstalled outside the scope "
                      "was dropped by a filtered export")
        # the release filter and the driver filter likewise
        self.delete("configmaps", "sb", "c", 1)
        p = export(self.FK, path, "--helm-driver", "secret")
        self.assertExportOk(p, "export --helm-driver secret")
        recs = index_records(load_index(path))
        self.assertIn("releases/sb/c/1.json.gz", recs, "a ConfigMap release uninstalled while only "
                      "Secrets are exported was dropped")
        self.assertNotIn("releases/sb/a/1.json.gz", recs, "the Secret release uninstalled is kept "
                         "by an export of the Secret driver")
        p = export(self.FK, path, "--release", "c")
        self.assertExportOk(p, "export --release c")
        self.assertNotIn("releases/sb/c/1.json.gz", index_records(load_index(path)), show(p))
        self.assertIn("releases/sa/m/1.json.gz", index_records(load_index(path)), show(p))
        # an unfiltered export is the whole cluster again
        p = export(self.FK, path)
        self.assertExportOk(p, "unfiltered export")
        self.assertStoreMatches(path, self.all_records(), "after the unfiltered export")

    def test_03_forbidden_configmaps_keep_their_records(self):
        """The original chart grants list on secrets only: in auto mode a 403 on ConfigMaps
        is a warning, the ConfigMap entries stay as they were, the Secrets are exported."""
        self.seed()
        path = self.full_store()
        before = index_records(load_index(path))
        self.delete("configmaps", "sb", "c", 1)      # not seen: it must stay stored
        cluster = self.all_records()
        self.FK.add_fault(verb="list", path="/configmaps$", status=403, reason="Forbidden",
                          message=FORBIDDEN_CM, count=-1)
        for args in ([], ["-n", "sa", "-n", "sb"]):
            p = export(self.FK, path, *args)
            self.assertExportOk(p, "export %s with ConfigMaps forbidden" % args)
            warn = [ln for ln in p.stderr.splitlines() if "configmaps" in ln and "warning" in ln]
            self.assertEqual(len(warn), 1, "one warning naming configmaps\n" + show(p))
            self.assertIn("list on configmaps", warn[0], show(p))
            self.assertIn("--helm-driver secret", warn[0], show(p))
            # the two ConfigMaps, and with -n also sc/d
            self.assertRegex(p.stdout, r"; %d kept outside the filter" % (3 if args else 2), show(p))
            self.assertScoped(path, before, lambda r: r["driver"] == "secret"
                              and (not args or r["namespace"] in ("sa", "sb")), "403 on configmaps",
                              cluster=cluster)
        self.FK.add_fault(verb="list", path="/secrets$", status=403, reason="Forbidden", count=-1)
        p = export(self.FK, path)
        self.assertEqual(p.returncode, 1, "neither driver may be listed: an error\n" + show(p))
        self.assertIndexIntact(path, load_index(path), "after a run that could list nothing")
        self.assertEqual(index_records(load_index(path))["releases/sb/c/1.json.gz"],
                         before["releases/sb/c/1.json.gz"])
        self.FK.clear_faults()
        p = export(self.FK, path, "--helm-driver", "secret")
        self.FK.add_fault(verb="list", path="/configmaps$", status=403, count=-1)
        p = export(self.FK, path, "--helm-driver", "configmap")
        self.assertEqual(p.returncode, 1, "an explicit driver that is forbidden fails\n" + show(p))

    def test_04_self_release_daemon_polling(self):
        self.seed()
        path = newdir("self")
        for flag in ("--release-name", "--self-release"):
            p = export(self.FK, path, flag, "rlsmgr", "--self-namespace", "ops")
            self.assertExportOk(p, "export %s" % flag)
            with open(os.path.join(path, "rlsmgrstate.json")) as f:
                st = json.load(f)
            self.assertEqual((st.get("release"), st.get("namespace")), ("rlsmgr", "ops"), flag)
            self.assertStoreMatches(path, self.all_records(), "export %s rlsmgr" % flag)
            self.assertNotIn("outside the filter", p.stdout, "--release-name is no filter\n" + show(p))
        # --daemon is a flag (it never takes the next word): with a bad daemon option it
        # stops before running, naming the option (the daemon itself: test_daemon.py)
        cfg = os.path.join(newdir("cfg"), "config.yaml")
        with open(cfg, "w") as f:
            f.write("path: %s\n" % path)
        for argv in (["export", "--config", cfg, "--daemon", "s3", "--release-name", "rm",
                      "--listen", "bad"],
                     ["export", "--daemon", *store_args(path), "-p", "60", "--listen", "bad"],
                     ["export", "local", "--daemon=true", "--path", path, "--listen", "bad"]):
            p = rm(*argv)
            self.assertEqual(p.returncode, 2, show(p))
            self.assertIn("--listen", p.stderr, show(p))
        p = export(self.FK, path, "--daemon=false", "-p", "45")
        self.assertExportOk(p, "--daemon=false runs once")
        for bad in ("0", "-3", "ten", "1.5", "", "+5", " 5", "99999999999"):
            p = export(self.FK, path, "--polling-interval", bad)
            self.assertEqual(p.returncode, 2, "--polling-interval %r\n%s" % (bad, show(p)))
            self.assertIn("--polling-interval", p.stderr, show(p))
        help_ = rm("export", "--help").stdout
        for opt in ("--release NAME", "--release-name NAME", "--self-release", "--namespaces",
                    "--polling-interval", "--daemon"):
            self.assertIn(opt, help_, "export --help lists %s" % opt)

    def test_05_original_layout_converted_after_the_commit(self):
        """A path holding the original tool's files: the export takes the records from the
        cluster, commits index.json, and only then removes the .release files."""
        self.seed()
        path = newdir("orig")
        recs = self.all_records()
        for i, (k, raw) in enumerate(sorted(recs.items())):
            rel = json.loads(raw)
            # S: a second of the last deployment; sa/a and sb/a differ in it
            with open(os.path.join(path, "%s-%d-%d.release" % (rel["name"], rel["version"],
                                                                i)), "wb") as f:
                f.write(raw)
        # a release uninstalled since the original tool's last export
        with open(os.path.join(path, "gone-3-21.release"), "wb") as f:
            f.write(self.j("sa", "gone", 3))
        with open(os.path.join(path, "rlsmgrstate.json"), "w") as f:
            json.dump({"ReleaseFilename": "rlsmgr-1-7.release", "ReleaseName": "rlsmgr",
                       "ReleaseVersion": 1}, f)
        legacy = sorted(f for f in os.listdir(path) if f.endswith(".release"))
        self.assertEqual(len(legacy), len(recs) + 1)
        # a filtered first export would hide the rest: refused, nothing written
        p = export(self.FK, path, "-n", "sa")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("original", p.stderr, show(p))
        self.assertFalse(os.path.exists(os.path.join(path, "index.json")), show(p))
        self.assertEqual(sorted(f for f in os.listdir(path) if f.endswith(".release")), legacy)
        # a failed commit (index.json cannot be written) leaves them
        os.makedirs(os.path.join(path, "index.json", "x"))
        p = export(self.FK, path, "--release-name", "rlsmgr")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertEqual(sorted(f for f in os.listdir(path) if f.endswith(".release")), legacy,
                         "the original's files were removed although nothing was committed")
        shutil.rmtree(os.path.join(path, "index.json"))
        p = export(self.FK, path, "--dry-run")
        self.assertExportOk(p, "dry run onto the original layout")
        self.assertEqual(sorted(re.findall(r"(?m)^would delete (\S+\.release)$", p.stdout)), legacy,
                         show(p))
        self.assertEqual(sorted(f for f in os.listdir(path) if f.endswith(".release")), legacy)
        p = export(self.FK, path, "--release-name", "rlsmgr")
        self.assertExportOk(p, "export onto the original layout")
        self.assertIn("%d files of the original tool" % len(legacy), p.stdout, show(p))
        self.assertEqual([f for f in os.listdir(path) if f.endswith(".release")], [],
                         "the original's files remain after the conversion")
        self.assertStoreMatches(path, recs, "converted store")
        p = export(self.FK, path, "--release-name", "rlsmgr")
        self.assertRegex(p.stdout, r"\b0 written, %d unchanged, 0 deleted" % len(recs), show(p))
        self.assertNotIn("original tool", p.stdout, show(p))


# =====================================================================================================
# One writer per store (issue 11): exports of two clusters to one path
# =====================================================================================================

def rm_env():
    return e2elib.clean_env(keep_last=1)      # one snapshot, as rm() above


class Writers(ExportCase):
    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)
        cls.FK2 = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK2.stop)
        cls.FK.load([release_secret("lock-a", "a%d" % i, 1) for i in range(6)])
        cls.FK2.load([release_secret("lock-b", "b%d" % i, 1) for i in range(6)])

    def tearDown(self):
        self.FK.clear_faults()
        self.FK2.clear_faults()

    def start_export(self, fk, path, ns, hold=2):
        """An export of namespace ns of fk, running, once it holds lock.json: its
        namespace LIST is delayed hold seconds, so it holds the lock at least that long."""
        fk.add_fault(verb="list", path="/api/v1/namespaces/%s/secrets$" % ns, action="delay",
                     delay=hold, count=1)
        a = subprocess.Popen([RM_BIN, "export", *store_args(path), "--kubeconfig", fk.kubeconfig,
                              "-n", ns], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=rm_env())
        lock = os.path.join(path, "lock.json")
        while not os.path.exists(lock) and a.poll() is None:
            time.sleep(0.01)
        if not os.path.exists(lock):
            out, err = a.communicate()
            self.fail("the first export never held lock.json: exit %s\n%s%s" % (a.returncode,
                                                                               out, err))
        return a, lock

    def assertOneCluster(self, path, what):
        """index.json holds exactly the records of the cluster it names, and no lock is
        left behind."""
        uids = {kube_system_uid(self.FK): (self.FK, "lock-a"),
                kube_system_uid(self.FK2): (self.FK2, "lock-b")}
        self.assertEqual(len(uids), 2, "set-up: the two clusters have distinct kube-system uids")
        uid = load_index(path).get("cluster", {}).get("uid")
        self.assertIn(uid, uids, "%s: index cluster uid" % what)
        fk, ns = uids[uid]
        self.assertStoreMatches(path, cluster_records(fk, namespaces={ns}), what, cluster_uid=uid)
        self.assertFalse(os.path.exists(os.path.join(path, "lock.json")),
                         "%s: lock.json left behind" % what)

    def test_17_second_writer_fails_naming_the_holder(self):
        path = newdir("two-writers")
        a, lock = self.start_export(self.FK, path, "lock-a")
        # Stopped, the first writer surely holds the lock while the second one runs.
        os.kill(a.pid, signal.SIGSTOP)
        try:
            with open(lock) as f:
                held = json.load(f)
            before = file_stats(path)
            p = export(self.FK2, path, "-n", "lock-b")
            after = file_stats(path)
        finally:
            os.kill(a.pid, signal.SIGCONT)
        out, err = a.communicate(timeout=120)
        self.assertEqual((held["apiVersion"], held["kind"], held["command"]),
                         ("releasemanager.io/v1", "Lock", "export"), "lock.json header")
        self.assertEqual((held["holder"]["host"], held["holder"]["pid"]),
                         (socket.gethostname(), a.pid), "lock.json names the first export")
        self.assertEqual(held.get("cluster"), kube_system_uid(self.FK), "lock.json cluster uid")
        self.assertLess(held["acquired"], held["expires"])
        self.assertEqual(p.returncode, 1, "second writer: exit 1\n" + show(p))
        self.assertIn("lock.json: held by export on host %s (pid %d, user " %
                      (socket.gethostname(), a.pid), p.stderr, show(p))
        self.assertIn("--lock-timeout", p.stderr, show(p))
        self.assertEqual(after, before, "the refused writer wrote or deleted files")
        self.assertEqual(a.returncode, 0, "first writer: exit %d\n%s%s" % (a.returncode, out, err))
        self.assertOneCluster(path, "after two writers")
        self.assertEqual(load_index(path)["cluster"]["uid"], kube_system_uid(self.FK))

        # --lock-timeout: the second waits for the first and then commits its own cluster
        # (--force: the store then holds the first cluster's snapshot).
        a, lock = self.start_export(self.FK, path, "lock-a")
        p = export(self.FK2, path, "-n", "lock-b", "--lock-timeout", "10m", "--force")
        out, err = a.communicate(timeout=120)
        self.assertEqual(a.returncode, 0, "first writer: exit %d\n%s%s" % (a.returncode, out, err))
        self.assertExportOk(p, "second writer with --lock-timeout")
        self.assertOneCluster(path, "after a writer that waited")
        self.assertEqual(load_index(path)["cluster"]["uid"], kube_system_uid(self.FK2))

    def test_18_simultaneous_writers_never_mix_clusters(self):
        for trial in range(3):
            path = newdir("race")
            procs = [subprocess.Popen([RM_BIN, "export", *store_args(path), "--kubeconfig",
                                       fk.kubeconfig, "-n", ns], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=rm_env())
                     for fk, ns in ((self.FK, "lock-a"), (self.FK2, "lock-b"))]
            res = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
            for p in procs:
                p.stdout.close()
                p.stderr.close()
            what = "trial %d: %r" % (trial, res)
            self.assertIn(0, [r[0] for r in res], what)
            for rc, out, err in res:
                self.assertIn(rc, (0, 1), what)
                # Refused by the lock, or, starting after the other committed, because
                # the store holds another cluster's snapshot.
                if rc:
                    self.assertRegex(err, r"lock\.json: held by export on host|is the snapshot "
                                     r"of another cluster", what)
            self.assertOneCluster(path, what)

    def test_19_signals_release_the_lock_and_a_killed_holder_is_taken_over(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            path = newdir("signal")
            a, lock = self.start_export(self.FK, path, "lock-a")
            os.kill(a.pid, sig)
            out, err = a.communicate(timeout=120)
            self.assertFalse(os.path.exists(lock), "%s: lock.json left behind: exit %d\n%s%s"
                             % (sig.name, a.returncode, out, err))
        path = newdir("killed")
        a, lock = self.start_export(self.FK, path, "lock-a")
        os.kill(a.pid, signal.SIGKILL)
        a.communicate(timeout=120)
        self.assertTrue(os.path.exists(lock), "SIGKILL: the lock stays behind")
        p = export(self.FK2, path, "-n", "lock-b", "--force")   # the killed one may have committed
        self.assertExportOk(p, "export after a killed holder on this host")
        self.assertRegex(p.stderr, r"taking over the lock of export on host %s \(pid %d, since .*\): "
                         r"its process is gone" % (re.escape(socket.gethostname()), a.pid), show(p))
        self.assertOneCluster(path, "after taking over a killed holder's lock")

    def test_20_dry_run_and_readers_take_no_lock(self):
        path = newdir("readers")
        self.assertExportOk(export(self.FK, path, "-n", "lock-a"), "set-up export")
        a, lock = self.start_export(self.FK, path, "lock-a")
        os.kill(a.pid, signal.SIGSTOP)
        try:
            ps = [export(self.FK2, path, "-n", "lock-b", "--dry-run", "--force"),
                  rm("list", *store_args(path)),
                  rm("clear", *store_args(path), "--dry-run")]
            pc = rm("clear", *store_args(path))
        finally:
            os.kill(a.pid, signal.SIGCONT)
        out, err = a.communicate(timeout=120)
        for p in ps:
            self.assertEqual(p.returncode, 0, "a reader or dry run while a writer runs\n" + show(p))
        self.assertEqual(pc.returncode, 1, "clear while an export runs\n" + show(pc))
        self.assertIn("lock.json: held by export on host", pc.stderr, show(pc))
        self.assertEqual(a.returncode, 0, "%s%s" % (out, err))
        self.assertOneCluster(path, "after readers")
        pc = rm("clear", *store_args(path))
        self.assertEqual(pc.returncode, 0, show(pc))
        self.assertEqual(stored_files(path), {}, "clear removed everything, lock.json last")


def main():
    # Thousands of small files: on tmpfs when $TMPDIR does not say otherwise.
    return e2elib.main("export", sys.modules[__name__], tmpfs=True, fixtures=True)


if __name__ == "__main__":
    sys.exit(main())
