#!/usr/bin/env python3
"""End-to-end tests of `releasemanager verify`: the REAL program ($RM_BIN, local backend
from the build tree) against stores written by a real export from the fake Kubernetes API
server (tests/fakekube/), with releases installed by real helm 3 and records seeded with
fk.load (Secrets and a ConfigMap).

Each test exports to a directory of its own, damages it in one way or several (truncate,
a flipped byte in the gzip, another record's valid gzip, a deleted record, a wrong size
in index.json, a record of another release, a stray key), and checks that verify names
every damaged key with its problem and exits 1, that a clean store exits 0 without any
cluster, and that --repair puts a record back only while the cluster still holds exactly
its content.  Keys are taken from index.json, never built from a key scheme.

Exit 77 (skip) with the reason when helm/kubectl (tests/fakekube/get-tools.sh), openssl
or the program under test is missing."""

import functools
import gzip
import json
import os
import sys
import unittest

import e2elib
from e2elib import (CHARTS, fku, load_index, newdir, release_configmap, release_json,
                    release_secret, sha, show, store_args, walk_files)

TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()

# No kubeconfig anywhere unless the test passes one: verify must not need a cluster.
rm = functools.partial(e2elib.rm, home=True)


def save_index(path, ix):
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(ix, f, indent=2)


def entry(path, ns, release, revision):
    for r in load_index(path)["records"]:
        if (r["namespace"], r["release"], r["revision"]) == (ns, release, revision):
            return r
    raise AssertionError("no index entry for %s/%s revision %d in %s" % (ns, release, revision, path))


def read(path, key):
    with open(os.path.join(path, key), "rb") as f:
        return f.read()


def write(path, key, data):
    full = os.path.join(path, key)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def tree(path):
    """{relative path: (bytes, mtime_ns)} of every file under path."""
    out = {}
    for rel, full in walk_files(path):
        with open(full, "rb") as fh:
            out[rel] = (fh.read(), os.stat(full).st_mtime_ns)
    return out


class Verify(unittest.TestCase):
    FK = None

    @classmethod
    def setUpClass(cls):
        cls.FK = fk = fku.FakeKube(tools=TOOLS).start()
        cls.addClassCleanup(fk.stop)
        plain = os.path.join(CHARTS, "plain")
        fk.helm3("install", "web", plain, "-n", "a", "--create-namespace")
        fk.helm3("upgrade", "web", plain, "-n", "a", "--set", "message=second")
        objs = [release_secret("seed", "s%d" % i, rev) for i in range(6) for rev in (1, 2)]
        objs.append(release_configmap("cm", "conf", 1))
        res = fk.load(objs)
        assert res["errors"] == [], res

    def export(self, path, *extra):
        p = rm("export", *store_args(path), "--kubeconfig", self.FK.kubeconfig,
               "--helm-driver", "auto", *extra)
        self.assertEqual(p.returncode, 0, "export\n" + show(p))
        return p

    def verify(self, path, *extra):
        return rm("verify", *store_args(path), *extra)

    def assertClean(self, p, n, what):
        self.assertEqual(p.returncode, 0, "%s: verify of a clean store\n%s" % (what, show(p)))
        self.assertEqual(p.stdout, "verified %d records, 0 damaged, 0 missing, 0 unreadable, "
                         "0 unreferenced\n" % n, "%s: output\n%s" % (what, show(p)))

    def test_01_clean_store_needs_no_cluster(self):
        path = newdir("clean")
        self.export(path, "-n", "a", "-n", "seed", "-n", "cm")
        n = len(load_index(path)["records"])
        self.assertEqual(n, 2 + 12 + 1, "set-up: records exported")
        before = tree(path)
        for threads in ("1", "4"):
            self.assertClean(self.verify(path, "--threads", threads), n, "--threads " + threads)
        self.assertEqual(tree(path), before, "verify changed the store")
        p = self.verify(path, "-o", "json")
        self.assertEqual(p.returncode, 0, show(p))
        doc = json.loads(p.stdout)
        self.assertEqual((doc["ok"], doc["records"], doc["damaged"], doc["missing"], doc["problems"]),
                         (True, n, 0, 0, []), "-o json of a clean store\n" + p.stdout)

    def test_02_every_kind_of_damage_named_by_key(self):
        path = newdir("damage")
        self.export(path, "-n", "seed")
        ix = load_index(path)
        n = len(ix["records"])
        k = {i: entry(path, "seed", "s%d" % i, 1) for i in range(6)}
        other = entry(path, "seed", "s5", 2)
        want = {}
        # 0: truncated
        gz = read(path, k[0]["key"])
        write(path, k[0]["key"], gz[:len(gz) // 2])
        want[k[0]["key"]] = ["stored size mismatch: index says %d bytes, object has %d"
                             % (len(gz), len(gz) // 2), "not a valid gzip"]
        # 1: one byte flipped in the deflate data (same size)
        gz = bytearray(read(path, k[1]["key"]))
        gz[len(gz) // 2] ^= 0xff
        write(path, k[1]["key"], bytes(gz))
        want[k[1]["key"]] = ["not a valid gzip"]
        # 2: another record's valid gzip
        gz = read(path, other["key"])
        write(path, k[2]["key"], gz)
        want[k[2]["key"]] = ["sha256 mismatch: index says %s, record has %s"
                             % (k[2]["sha256"], other["sha256"])]
        # 3: deleted
        os.unlink(os.path.join(path, k[3]["key"]))
        want[k[3]["key"]] = ["missing"]
        # 4: a wrong size in the index entry
        # 5: an index entry whose size and hash vouch for another release's content (in a
        # layout whose keys carry the hash, under the key that hash gives)
        key5 = k[5]["key"].replace(k[5]["sha256"], other["sha256"])
        for r in ix["records"]:
            if r["key"] == k[4]["key"]:
                r["size"] += 7
                want[r["key"]] = ["size mismatch: index says %d bytes, record has %d"
                                  % (r["size"], r["size"] - 7)]
            if r["key"] == k[5]["key"]:
                r["key"], r["size"], r["sha256"], r["storedSize"] = (key5, other["size"], other["sha256"],
                                                                     other["storedSize"])
        save_index(path, ix)
        if key5 != k[5]["key"]:
            os.unlink(os.path.join(path, k[5]["key"]))
        write(path, key5, read(path, other["key"]))
        want[key5] = ["holds seed/s5 revision 2, index says seed/s5 revision 1"]
        # a key no index entry lists: a warning only
        stray = "releases/seed/stray/1.json.gz"
        write(path, stray, gzip.compress(b"{}"))

        p = self.verify(path)
        self.assertEqual(p.returncode, 1, "damaged store: exit 1\n" + show(p))
        lines = p.stdout.splitlines()
        self.assertEqual(lines[-1], "verified %d records, 5 damaged, 1 missing, 0 unreadable, "
                         "1 unreferenced" % n, "summary\n" + show(p))
        for key, problems in want.items():
            got = [l[len(key) + 2:] for l in lines if l.startswith(key + ": ")]
            self.assertEqual(len(got), len(problems), "%s: one line per problem\n%s" % (key, show(p)))
            for g, w in zip(got, problems):
                self.assertTrue(g.startswith(w), "%s: expected '%s...', got '%s'" % (key, w, g))
        self.assertTrue(any(l.startswith(stray + ": unreferenced") for l in lines),
                        "stray key reported as unreferenced\n" + show(p))
        named = {l.split(": ")[0] for l in lines[:-1]}
        self.assertEqual(named, set(want) | {stray}, "only the damaged keys are named\n" + show(p))

        p = self.verify(path, "-o", "json", "--threads", "3")
        self.assertEqual(p.returncode, 1, show(p))
        doc = json.loads(p.stdout)
        self.assertEqual((doc["ok"], doc["damaged"], doc["missing"], doc["unreferenced"]),
                         (False, 5, 1, 1), p.stdout)
        kinds = {d["key"]: d["problem"] for d in doc["problems"]}
        self.assertEqual(kinds, dict({key: "damaged" for key in want}, **{k[3]["key"]: "missing",
                                                                          stray: "unreferenced"}),
                         p.stdout)

    def test_03_unreferenced_alone_is_a_warning(self):
        path = newdir("stray")
        self.export(path, "-n", "cm")
        write(path, "releases/cm/old/3.json.gz", gzip.compress(b"{}"))
        p = self.verify(path)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(p.stdout.splitlines()[-1], "verified 1 records, 0 damaged, 0 missing, "
                         "0 unreadable, 1 unreferenced", show(p))

    def test_04_repair_while_the_cluster_holds_the_record(self):
        path = newdir("repair")
        self.export(path, "-n", "a", "-n", "cm")
        n = len(load_index(path)["records"])
        web1, web2, conf = entry(path, "a", "web", 1), entry(path, "a", "web", 2), entry(path, "cm", "conf", 1)
        good = {e["key"]: read(path, e["key"]) for e in (web1, web2, conf)}
        write(path, web2["key"], good[web2["key"]][:40])
        os.unlink(os.path.join(path, web1["key"]))
        write(path, conf["key"], good[conf["key"]][:-3])
        damaged = tree(path)

        # --repair --dry-run: says so, writes nothing
        p = self.verify(path, "--repair", "--dry-run", "--kubeconfig", self.FK.kubeconfig)
        self.assertEqual(p.returncode, 1, show(p))
        for key in good:
            self.assertIn("%s: would repair from the cluster" % key, p.stdout, show(p))
        self.assertEqual(tree(path), damaged, "--repair --dry-run wrote to the store")

        p = self.verify(path, "--repair", "--kubeconfig", self.FK.kubeconfig)
        self.assertEqual(p.returncode, 0, "every damaged record repaired: exit 0\n" + show(p))
        for key in good:
            self.assertIn("%s: repaired from the cluster" % key, p.stdout, show(p))
        self.assertEqual(p.stdout.splitlines()[-1], "verified %d records, 2 damaged, 1 missing, "
                         "0 unreadable, 0 unreferenced, 3 repaired" % n, show(p))
        for key, data in good.items():
            self.assertEqual(sha(gzip.decompress(read(path, key))), sha(gzip.decompress(data)),
                             "%s holds the indexed content again" % key)
        self.assertClean(self.verify(path), n, "after --repair")

    def test_05_repair_refused_when_the_cluster_changed(self):
        fk = self.FK
        path = newdir("norepair")
        fk.helm3("install", "gone", os.path.join(CHARTS, "plain"), "-n", "b", "--create-namespace")
        fk.helm3("install", "moved", os.path.join(CHARTS, "plain"), "-n", "c", "--create-namespace")
        self.export(path, "-n", "b", "-n", "c")
        gone, moved = entry(path, "b", "gone", 1), entry(path, "c", "moved", 1)
        fk.helm3("uninstall", "gone", "-n", "b")
        # The upgrade rewrites revision 1 (its status becomes superseded).
        fk.helm3("upgrade", "moved", os.path.join(CHARTS, "plain"), "-n", "c",
                 "--set", "message=again")
        for e in (gone, moved):
            write(path, e["key"], read(path, e["key"])[:30])
        before = tree(path)
        p = self.verify(path, "--repair", "--kubeconfig", fk.kubeconfig)
        self.assertEqual(p.returncode, 1, "nothing repairable: exit 1\n" + show(p))
        for e in (gone, moved):
            self.assertIn("%s: cannot repair: the cluster no longer holds this revision's content"
                          % e["key"], p.stdout, show(p))
        self.assertIn(", 0 repaired", p.stdout, show(p))
        self.assertEqual(tree(path), before, "a refused repair wrote to the store")

    def test_06_original_tool_store(self):
        path = newdir("legacy")
        write(path, "web-1.0.0-1714557600.release", release_json("a", "web", 1))
        write(path, "rlsmgrstate.json", b'{"ReleaseName": "mgr"}')
        p = self.verify(path)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(p.stdout, "verified 1 records, 0 damaged, 0 missing, 0 unreadable, "
                         "0 unreferenced\n", show(p))
        self.assertIn("original tool", p.stderr, show(p))
        write(path, "api-2.0.0-1714557601.release", b'{"name": "api", "version": ')
        p = self.verify(path)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertTrue(p.stdout.startswith("api-2.0.0-1714557601.release: "), show(p))
        self.assertIn("verified 2 records, 1 damaged", p.stdout, show(p))
        p = self.verify(path, "--repair")
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("--repair", p.stderr, show(p))

    def test_07_errors_and_usage(self):
        path = newdir("usage")
        p = self.verify(path)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("no snapshot", p.stderr, show(p))
        for args, what in ((["-o", "xml"], "--output"), (["--threads", "0"], "--threads"),
                           (["extra"], "unexpected operand")):
            p = self.verify(path, *args)
            self.assertEqual(p.returncode, 2, "%s: usage error\n%s" % (args, show(p)))
            self.assertIn(what, p.stderr, show(p))
        self.export(path, "-n", "cm")
        with open(os.path.join(path, "index.json"), "w") as f:
            f.write('{"apiVersion": "releasemanager.io/v1", "records": [')
        p = self.verify(path)
        self.assertEqual(p.returncode, 1, show(p))
        self.assertIn("index.json", p.stderr, show(p))
        p = self.verify(path, "--repair", "--kubeconfig", os.path.join(path, "no-such-kubeconfig"))
        self.assertEqual(p.returncode, 1, "a bad index fails before the cluster is needed\n" + show(p))
        self.assertNotIn("no-such-kubeconfig", p.stderr, show(p))


    def test_08_state_file_and_index_problems(self):
        path = newdir("state")
        self.export(path, "-n", "seed")
        n = len(load_index(path)["records"])
        write(path, "rlsmgrstate.json", b"not json")
        ix = load_index(path)
        dup = dict(ix["records"][0])
        ix["records"].insert(1, dup)
        save_index(path, ix)
        p = self.verify(path)
        self.assertEqual(p.returncode, 1, show(p))
        lines = p.stdout.splitlines()
        self.assertTrue(any(l.startswith("rlsmgrstate.json: unreadable") for l in lines), show(p))
        self.assertIn("%s: listed more than once in index.json" % dup["key"], lines, show(p))
        self.assertEqual(lines[-1], "verified %d records, 0 damaged, 0 missing, 0 unreadable, "
                         "0 unreferenced" % (n + 1), show(p))
        os.unlink(os.path.join(path, "rlsmgrstate.json"))
        ix["records"].pop(1)
        save_index(path, ix)
        p = self.verify(path)
        self.assertEqual(p.returncode, 0, "a missing state file is a warning\n" + show(p))
        self.assertIn("rlsmgrstate.json", p.stderr, show(p))

def main():
    return e2elib.main("verify", sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
