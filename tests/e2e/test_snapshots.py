#!/usr/bin/env python3
"""End-to-end tests of point-in-time snapshots (issue 15): the REAL program ($RM_BIN, local
backend from the build tree) against the fake Kubernetes API server (tests/fakekube/), with
releases installed and upgraded by real helm 3 and records seeded with fk.load.

Each export keeps its index as snapshots/TIME-ID.json; `list --snapshots` lists them;
`list`, `import` and `verify --snapshot ID|TIME` read an older one; an older snapshot
imported into a SECOND fake cluster shows its older state in `helm history` there; the
retention rules (export --keep-*, `prune`) keep what they say and nothing a kept snapshot
references is deleted; a prune killed at any moment leaves every kept snapshot whole (each
verifies); a store written before snapshots (no snapshots/) keeps working.

Exit 77 (skip) with the reason when helm/kubectl (tests/fakekube/get-tools.sh), openssl
or the program under test is missing."""

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

import e2elib
from e2elib import (CHARTS, RM_BIN, fku, newdir, release_secret, show,
                    store_args)

TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()

env = functools.partial(e2elib.clean_env, home=True)
rm = functools.partial(e2elib.rm, home=True, timeout=180)


def files(path, sub):
    d = os.path.join(path, sub)
    out = []
    for root, _, fs in os.walk(d):
        out += [os.path.relpath(os.path.join(root, f), path) for f in fs]
    return sorted(out)


def snapshot_files(path):
    return files(path, "snapshots")


def record_files(path):
    return files(path, "releases")


def load(path, key):
    with open(os.path.join(path, key), "rb") as f:
        return json.loads(f.read())


class Snapshots(unittest.TestCase):
    FK = None

    @classmethod
    def setUpClass(cls):
        cls.FK = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(cls.FK.stop)

    def export(self, path, *extra):
        p = rm("export", *store_args(path), "--kubeconfig", self.FK.kubeconfig, *extra)
        self.assertEqual(p.returncode, 0, "export\n" + show(p))
        return p

    def snapshots(self, path):
        p = rm("list", *store_args(path), "--snapshots", "-o", "json")
        self.assertEqual(p.returncode, 0, show(p))
        return json.loads(p.stdout)

    def assertRestorable(self, path, snaps):
        """Every snapshot of snaps (list --snapshots entries) verifies, all its records."""
        for s in snaps:
            p = rm("verify", *store_args(path), "--snapshot", s["id"])
            self.assertEqual(p.returncode, 0, "verify --snapshot %s\n%s" % (s["id"], show(p)))
            self.assertTrue(p.stdout.startswith("verified %d records, 0 damaged, 0 missing"
                                                % s["records"]), show(p))

    def seed(self, ns, n, rev, note=""):
        res = self.FK.load([release_secret(ns, "r%d" % i, rev, note) for i in range(n)])
        self.assertEqual(res["errors"], [], res)

    def test_01_history_list_and_import_an_older_snapshot(self):
        fk = self.FK
        plain = os.path.join(CHARTS, "plain")
        path = newdir("hist")
        fk.helm3("install", "web", plain, "-n", "web", "--create-namespace")
        self.export(path, "-n", "web")
        fk.helm3("upgrade", "web", plain, "-n", "web", "--set", "message=second")
        self.export(path, "-n", "web")
        time.sleep(1.1)     # the third in another second, for --snapshot TIME
        fk.helm3("upgrade", "web", plain, "-n", "web", "--set", "message=third")
        self.export(path, "-n", "web")

        snaps = self.snapshots(path)
        self.assertEqual(len(snaps), 3, snaps)
        self.assertEqual([s["current"] for s in snaps], [False, False, True], snaps)
        self.assertEqual([s["records"] for s in snaps], [1, 2, 3], snaps)
        self.assertEqual(len(snapshot_files(path)), 3)
        # index.json is the newest snapshot, byte for byte; records are shared.
        with open(os.path.join(path, "index.json"), "rb") as f:
            current = f.read()
        with open(os.path.join(path, snaps[-1]["key"]), "rb") as f:
            self.assertEqual(f.read(), current)
        ix_keys = set()
        for s in snaps:
            ix_keys |= {r["key"] for r in load(path, s["key"])["records"]}
        self.assertEqual(set(record_files(path)), ix_keys, "the store holds exactly the "
                         "records of its snapshots")
        p = rm("list", *store_args(path))
        self.assertEqual(p.returncode, 0, show(p))
        table = rm("list", *store_args(path), "--snapshots")
        self.assertEqual(table.returncode, 0, show(table))
        lines = table.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["TIME", "ID", "CURRENT", "CLUSTER", "RECORDS", "BYTES"])
        self.assertEqual(len(lines), 4, table.stdout)
        self.assertIn(snaps[0]["id"], lines[1])

        # list --snapshot: by id (and a prefix of it), by time.
        for sel in (snaps[0]["id"], snaps[0]["id"][:6]):
            p = rm("list", *store_args(path), "--snapshot", sel, "-o", "json")
            self.assertEqual(p.returncode, 0, show(p))
            self.assertEqual([r["revision"] for r in json.loads(p.stdout)["records"]], [1], sel)
        p = rm("list", *store_args(path), "--snapshot", snaps[1]["time"], "-o", "json")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(sorted(r["revision"] for r in json.loads(p.stdout)["records"]), [1, 2])
        p = rm("list", *store_args(path), "--snapshot", "2001-01-01")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("no snapshot was taken at or before it", p.stderr)
        p = rm("list", *store_args(path), "--snapshot", "yesterday")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("--snapshot 'yesterday' is neither a snapshot id", p.stderr)

        # import the second snapshot into a fresh cluster: helm history there shows it.
        target = fku.FakeKube(tools=TOOLS).start()
        try:
            p = rm("import", *store_args(path), "--kubeconfig", target.kubeconfig,
                   "--snapshot", snaps[1]["id"])
            self.assertEqual(p.returncode, 0, "import --snapshot\n" + show(p))
            hist = json.loads(target.helm3("history", "web", "-n", "web", "-o", "json").stdout)
            self.assertEqual([h["revision"] for h in hist], [1, 2], hist)
            self.assertEqual(hist[-1]["status"], "deployed", hist)
            vals = target.helm3("get", "values", "web", "-n", "web").stdout
            self.assertIn("message: second", vals)
        finally:
            target.stop()
        self.assertRestorable(path, snaps)

    def test_02_export_retention_keep_last(self):
        path = newdir("keep")
        for rev in range(1, 6):
            self.seed("kl", 3, rev)
            self.export(path, "-n", "kl", "--keep-last", "2")
            snaps = self.snapshots(path)
            self.assertEqual(len(snaps), min(rev, 2), snaps)
        self.assertEqual([s["records"] for s in snaps], [12, 15], snaps)
        referenced = set()
        for s in snaps:
            referenced |= {r["key"] for r in load(path, s["key"])["records"]}
        self.assertEqual(set(record_files(path)), referenced,
                         "records of forgotten snapshots only are deleted, no other")
        self.assertRestorable(path, snaps)
        # --dry-run writes nothing, forgets nothing.
        self.seed("kl", 3, 6)
        before = snapshot_files(path), record_files(path)
        p = rm("export", *store_args(path), "--kubeconfig", self.FK.kubeconfig, "-n", "kl",
               "--keep-last", "1", "--dry-run")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("would write snapshots/", p.stdout)
        self.assertIn("would forget " + snaps[0]["key"], p.stdout)
        self.assertEqual((snapshot_files(path), record_files(path)), before)
        p = rm("export", *store_args(path), "--kubeconfig", self.FK.kubeconfig,
               "--keep-last", "x")
        self.assertEqual(p.returncode, 2, show(p))
        self.assertIn("--keep-last: 'x' is not a whole number", p.stderr)
        p = rm("export", *store_args(path), "--kubeconfig", self.FK.kubeconfig,
               "--keep-within", "3 days")
        self.assertEqual(p.returncode, 2, show(p))
        self.assertIn("--keep-within: '3 days' is not a duration", p.stderr)

    def age(self, path, key, days):
        """Rename the snapshot key to look `days` days older (its id stays its content's)."""
        base = os.path.basename(key)
        stamp, rest = base.split("-", 1)
        t = time.mktime(time.strptime(stamp[:15], "%Y%m%dT%H%M%S")) - days * 86400
        new = time.strftime("%Y%m%dT%H%M%S", time.localtime(t)) + stamp[15:] + "-" + rest
        os.rename(os.path.join(path, key), os.path.join(path, "snapshots", new))
        return "snapshots/" + new

    def build_history(self, name, n, ns):
        """A store with n snapshots of a changing namespace, the k-th aged n-1-k days."""
        path = newdir(name)
        for rev in range(1, n + 1):
            self.seed(ns, 4, rev, note=name)
            self.export(path, "-n", ns, "--keep-last", "100")
        snaps = self.snapshots(path)
        self.assertEqual(len(snaps), n)
        for k, s in enumerate(snaps[:-1]):
            self.age(path, s["key"], n - 1 - k)
        return path

    def test_03_prune_rules(self):
        path = self.build_history("prune", 6, "pr")
        snaps = self.snapshots(path)
        self.assertEqual(len(snaps), 6)
        before = snapshot_files(path), record_files(path)
        p = rm("prune", *store_args(path), "--keep-last", "1", "--dry-run")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("dry run: would prune", p.stdout)
        self.assertEqual((snapshot_files(path), record_files(path)), before, "--dry-run deleted")
        # keep-daily 3: the newest of the 3 newest days; keep-within 4d adds the 4-day-old.
        p = rm("prune", *store_args(path), "--keep-daily", "3")
        self.assertEqual(p.returncode, 0, show(p))
        left = self.snapshots(path)
        self.assertEqual([s["id"] for s in left], [s["id"] for s in snaps[3:]], show(p))
        self.assertIn("3 of 6 snapshots kept", p.stdout)
        referenced = set()
        for s in left:
            referenced |= {r["key"] for r in load(path, s["key"])["records"]}
        self.assertEqual(set(record_files(path)), referenced)
        self.assertRestorable(path, left)
        p = rm("prune", *store_args(path), "--keep-within", "1d12h")
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual([s["id"] for s in self.snapshots(path)], [s["id"] for s in snaps[4:]])
        # an unchanged cluster's export is a no-op, whatever the older snapshots hold.
        p = self.export(path, "-n", "pr", "--keep-last", "100")
        self.assertIn("0 written", p.stdout)
        self.assertEqual(len(self.snapshots(path)), 2)
        # The newest is always kept; the rules replace the defaults.
        p = rm("prune", *store_args(path), "--keep-last", "0")
        self.assertEqual(p.returncode, 0, show(p))
        left = self.snapshots(path)
        self.assertEqual([s["id"] for s in left], [snaps[-1]["id"]])
        self.assertTrue(left[0]["current"])
        self.assertRestorable(path, left)

    def test_04_kill_during_prune_leaves_kept_snapshots_whole(self):
        template = self.build_history("killtpl", 8, "kill")
        # more records: a prune that takes long enough to be killed in the middle
        snaps = self.snapshots(template)
        kept_ids = [s["id"] for s in snaps[-2:]]
        for delay in (0.0, 0.005, 0.01, 0.02, 0.04, 0.08):
            path = newdir("kill")
            shutil.rmtree(path)
            shutil.copytree(template, path)
            proc = subprocess.Popen([RM_BIN, "prune", *store_args(path), "--keep-last", "2"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            left = self.snapshots(path)
            for i in kept_ids:
                self.assertIn(i, [s["id"] for s in left], "delay %s: a kept snapshot is gone" % delay)
            self.assertRestorable(path, left)
            # a second prune finishes the work (the dead holder's lock is taken over).
            p = rm("prune", *store_args(path), "--keep-last", "2")
            self.assertEqual(p.returncode, 0, show(p))
            left = self.snapshots(path)
            self.assertEqual([s["id"] for s in left], kept_ids)
            referenced = set()
            for s in left:
                referenced |= {r["key"] for r in load(path, s["key"])["records"]}
            self.assertEqual(set(record_files(path)), referenced)
            self.assertRestorable(path, left)

    def test_05_store_without_snapshots_keeps_working(self):
        path = newdir("old")
        self.seed("old", 2, 1)
        self.export(path, "-n", "old")
        shutil.rmtree(os.path.join(path, "snapshots"))
        snaps = self.snapshots(path)
        self.assertEqual(len(snaps), 1)
        self.assertEqual((snaps[0]["key"], snaps[0]["current"]), ("index.json", True))
        for args in (["list"], ["verify"], ["list", "--snapshot", snaps[0]["id"]],
                     ["verify", "--snapshot", snaps[0]["time"]]):
            p = rm(*args[:1], *store_args(path), *args[1:])
            self.assertEqual(p.returncode, 0, "%s\n%s" % (args, show(p)))
        p = rm("prune", *store_args(path))
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(len(record_files(path)), 2)
        self.seed("old", 2, 2)
        self.export(path, "-n", "old")
        snaps = self.snapshots(path)
        self.assertEqual([s["records"] for s in snaps], [4], snaps)
        # clear removes the snapshots too, before the records.
        p = rm("clear", *store_args(path))
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("1 past snapshot", p.stdout)
        self.assertEqual(snapshot_files(path) + record_files(path), [])


def main():
    return e2elib.main("snapshots", sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
