#!/usr/bin/env python3
"""End-to-end tests of `releasemanager diff` (issue 15): the REAL program ($RM_BIN, local
backend) against the fake Kubernetes API server (tests/fakekube/) with releases changed by
real helm 3: equal -> exit 0 and the summary alone; install, upgrade, rollback, uninstall
and a status change each reported; two snapshots; the filters; -o json; --manifests shows
the changed lines of a real chart upgrade; a damaged stored record -> exit 2 naming it.

Exit 77 (skip) when helm/kubectl, openssl or the program under test is missing."""

import functools
import json
import os
import shutil
import sys
import tempfile
import unittest

import e2elib
from e2elib import CHARTS, PLUGIN_DIR, fku, show

PLAIN = os.path.join(CHARTS, "plain")
TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()
rm = functools.partial(e2elib.rm, home=True, timeout=180)


class Diff(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fk = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.fk.stop)
        # A copy of the plain chart at version 0.2.0: an upgrade that changes the chart.
        cls.plain2 = os.path.join(WORK, "plain2")
        shutil.copytree(PLAIN, cls.plain2)
        with open(os.path.join(cls.plain2, "Chart.yaml")) as f:
            text = f.read().replace("version: 0.1.0", "version: 0.2.0")
        with open(os.path.join(cls.plain2, "Chart.yaml"), "w") as f:
            f.write(text)

    def store(self):
        return ["local", "--path", self.path, "--fsync", "false", "--plugin-dir", PLUGIN_DIR]

    def diff(self, *extra, want=None):
        p = rm("diff", *self.store(), "--kubeconfig", self.fk.kubeconfig, *extra)
        if want is not None:
            self.assertEqual(p.returncode, want, show(p))
        return p

    def export(self):
        p = rm("export", *self.store(), "--kubeconfig", self.fk.kubeconfig)
        self.assertEqual(p.returncode, 0, show(p))

    def changes(self, *extra):
        p = self.diff("-o", "json", *extra)
        self.assertIn(p.returncode, (0, 1), show(p))
        doc = json.loads(p.stdout)
        self.assertEqual(doc["equal"], p.returncode == 0)
        return {(c["namespace"], c["release"]): c for c in doc["changes"]}, doc

    def test_diff(self):
        fk, helm = self.fk, self.fk.helm3
        self.path = tempfile.mkdtemp(prefix="store-", dir=WORK)
        helm("install", "web", PLAIN, "-n", "web", "--create-namespace")
        helm("install", "api", PLAIN, "-n", "apps", "--create-namespace")
        helm("install", "old", PLAIN, "-n", "apps")
        helm("install", "db", PLAIN, "-n", "data", "--create-namespace")
        self.export()

        # Equal: exit 0, the summary line only, no record read.
        p = self.diff(want=0)
        self.assertEqual(p.stdout, "0 releases changed; 4 unchanged (4 release objects listed, "
                         "0 read in full)\n", show(p))

        # Install, upgrade (chart 0.1.0 -> 0.2.0), uninstall, and a status change.
        helm("install", "new", PLAIN, "-n", "apps")
        helm("upgrade", "web", self.plain2, "-n", "web", "--set", "message=second")
        helm("uninstall", "old", "-n", "apps")
        helm("uninstall", "db", "-n", "data", "--keep-history")
        p = self.diff(want=1)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 5, show(p))
        self.assertRegex(lines[0], r"^\+ apps/new +added +revision 1  chart plain-0.1.0  status deployed$")
        self.assertRegex(lines[1], r"^- apps/old +removed +revision 1  chart plain-0.1.0  status deployed$")
        self.assertRegex(lines[2], r"^! data/db +status +revision 1  status deployed -> uninstalled$")
        self.assertRegex(lines[3], r"^~ web/web +upgraded +revision 1 -> 2  chart plain-0.1.0 -> plain-0.2.0  status deployed$")
        self.assertEqual(lines[4], "4 releases changed: 1 added, 1 removed, 1 upgraded, 1 status "
                         "changed; 1 unchanged (5 release objects listed, 2 read in full)", show(p))

        # -o json, parsed.
        ch, doc = self.changes()
        self.assertEqual(sorted(ch), [("apps", "new"), ("apps", "old"), ("data", "db"), ("web", "web")])
        self.assertEqual(ch["web", "web"]["change"], "upgraded")
        self.assertEqual(ch["web", "web"]["before"]["chartVersion"], "0.1.0")
        self.assertEqual(ch["web", "web"]["after"], {"revision": 2, "status": "deployed", "chart": "plain",
                                                     "chartVersion": "0.2.0", "appVersion": "1.16.0"})
        self.assertIsNone(ch["apps", "new"]["before"])
        self.assertIsNone(ch["apps", "old"]["after"])
        self.assertEqual(ch["data", "db"]["after"]["status"], "uninstalled")
        self.assertEqual(doc["summary"], {"added": 1, "removed": 1, "upgraded": 1, "rolledBack": 0,
                                          "downgraded": 0, "status": 1, "unchanged": 1})
        self.assertEqual(doc["reads"], {"listed": 5, "cluster": 2, "store": 0})
        self.assertEqual(doc["to"], {"type": "cluster"})

        # Filters never report outside their scope.
        ch, _ = self.changes("-n", "apps")
        self.assertEqual(sorted(ch), [("apps", "new"), ("apps", "old")])
        ch, _ = self.changes("--exclude-namespaces", "apps,data")
        self.assertEqual(sorted(ch), [("web", "web")])
        ch, _ = self.changes("--release", "db")
        self.assertEqual(sorted(ch), [("data", "db")])
        p = self.diff("--release", "api", want=0)
        self.assertTrue(p.stdout.startswith("0 releases changed; 1 unchanged"), show(p))

        # --manifests: the changed lines of the real upgrade, labelled with both sides.
        p = self.diff("--manifests", "--release", "web", want=1)
        self.assertRegex(p.stdout, r"(?m)^--- snapshot \S+/web/web \(revision 1\)$")
        self.assertIn("\n+++ cluster/web/web (revision 2)\n", p.stdout)
        self.assertIn("\n-    helm.sh/chart: plain-0.1.0\n", p.stdout)
        self.assertIn("\n+    helm.sh/chart: plain-0.2.0\n", p.stdout)
        self.assertIn('\n+  message: "second"\n', p.stdout)
        self.assertRegex(p.stdout, r"(?m)^@@ -\d+(,\d+)? \+\d+(,\d+)? @@$")

        # Rollback, against a second export: reported as rolled back, chart going back.
        self.export()
        first = json.loads(rm("list", *self.store(), "--snapshots", "-o", "json").stdout)
        helm("rollback", "web", "1", "-n", "web")
        p = self.diff("--release", "web", want=1)
        self.assertRegex(p.stdout, r"^~ web/web +rolled-back +revision 2 -> 3  chart plain-0.2.0 -> plain-0.1.0  status deployed\n")
        self.export()

        # Two snapshots: no cluster needed (a bad kubeconfig is not read).
        snaps = json.loads(rm("list", *self.store(), "--snapshots", "-o", "json").stdout)
        self.assertEqual(len(snaps), 3, snaps)
        p = rm("diff", *self.store(), "--kubeconfig", "/nonexistent", "--snapshot", snaps[0]["id"],
               "--to-snapshot", snaps[1]["id"], "-o", "json")
        self.assertEqual(p.returncode, 1, show(p))
        doc = json.loads(p.stdout)
        got = {(c["namespace"], c["release"]): c["change"] for c in doc["changes"]}
        self.assertEqual(got, {("apps", "new"): "added", ("apps", "old"): "removed",
                               ("data", "db"): "status", ("web", "web"): "upgraded"})
        self.assertEqual(doc["reads"]["store"], 0)
        p = rm("diff", *self.store(), "--snapshot", snaps[1]["id"], "--to-snapshot", snaps[2]["id"],
               "--manifests")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("+    helm.sh/chart: plain-0.1.0\n", p.stdout)
        self.assertIn("(from the indexes, 2 stored records read)", p.stdout)
        p = rm("diff", *self.store(), "--snapshot", snaps[2]["id"], "--to-snapshot", snaps[2]["id"])
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(first[-1]["id"], snaps[1]["id"])

        # Errors: exit 2 naming the input and the problem.
        p = rm("diff", *self.store(), "--snapshot", "2001-01-01")
        self.assertEqual(p.returncode, 2, show(p))
        self.assertIn("no snapshot was taken at or before it", p.stderr)
        empty = tempfile.mkdtemp(prefix="empty-", dir=WORK)
        p = rm("diff", "local", "--path", empty, "--plugin-dir", PLUGIN_DIR,
               "--kubeconfig", self.fk.kubeconfig)
        self.assertEqual(p.returncode, 2, show(p))
        self.assertIn("no snapshot in", p.stderr)
        p = rm("diff", *self.store(), "-o", "yaml")
        self.assertEqual(p.returncode, 2, show(p))
        # A damaged stored record: the key named, nothing printed as a diff.
        helm("upgrade", "web", self.plain2, "-n", "web")
        ix = json.loads(open(os.path.join(self.path, "index.json")).read())
        rec = [r for r in ix["records"] if r["release"] == "web" and r["revision"] == 3][0]
        with open(os.path.join(self.path, rec["key"]), "wb") as f:
            f.write(b"not gzip")
        p = self.diff("--manifests", want=2)
        self.assertIn(rec["key"], p.stderr)
        self.assertEqual(p.stdout, "")
        # Without --manifests the record is not read: the diff still works from metadata.
        self.diff(want=1)


def main():
    return e2elib.main("diff", sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
