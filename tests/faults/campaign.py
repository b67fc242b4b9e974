#!/usr/bin/env python3
"""Fault campaign (issue 11): a backup is only as good as the last snapshot it can restore.

Each trial changes the cluster (half the releases upgraded: a new revision, and the
previous revision relabelled and rewritten as Helm does), runs `releasemanager export`
under one fault, and then checks, independently of the program:
  1. the committed snapshot (whatever index.json is now: the old one or the new one) is
     intact: every record it references exists, gunzips, and has the size and SHA-256
     the index says, and it belongs to the cluster that exported it;
  2. `releasemanager verify` (when the program has it) agrees;
  3. the next export, without faults, succeeds, and its snapshot is exactly the cluster's
     records (nothing lost, nothing stale), and verifies clean.

Fault kinds (--kinds):
  kill        SIGKILL at a random moment of the export (uniform over its measured length)
  backend     the faulty test plugin (tests/plugins/faulty) fails the Nth put, get, list,
              remove or sync with a random code, sometimes after the call took effect
  enospc      local only: the store on a tmpfs just big enough for the old snapshot
              (skipped where mount is not allowed)
  api         the fake API server answers 500/429/410 or drops connections for a while
  concurrent  a second export of the same cluster, and one of another cluster, at once

Usage: tests/faults/campaign.py [--backend local|s3] [--trials N] [--kill-trials N] [--kinds k1,k2]
                                [--releases N] [--seed S] [--json FILE]
Exit 0 when every trial left an intact snapshot and the next export succeeded; 1 with
each damaged trial named otherwise; 77 (skip) when the tools are missing.  Run small by
`make check` (tests/faults/test_campaign.sh) and large by hand (RELIABILITY.md)."""

import argparse
import base64
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRCDIR = os.environ.get("abs_top_srcdir") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("abs_top_builddir") or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, "tests", "fakekube"))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "plugins", "s3"))
import fakekube_util as fku  # noqa: E402

RM_BIN = os.environ.get("RM_BIN") or os.path.join(BUILDDIR, "releasemanager")
LOCAL_SO = os.path.join(BUILDDIR, "plugins", "local", ".libs", "local.so")
S3_SO = os.path.join(BUILDDIR, "plugins", "s3", ".libs", "s3.so")
FAULTY_DIR = os.path.join(BUILDDIR, "tests", "plugins", ".libs")
BUCKET = "campaign"
PREFIX = "backup"
SKIP = 77
HISTORY_MAX = 5          # revisions kept per release, as helm's --history-max does


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


# ---- the cluster ------------------------------------------------------------------------------

def release_json(ns, name, rev, status, pad):
    rel = {
        "name": name,
        "info": {"first_deployed": "2024-05-01T10:00:00Z", "last_deployed": "2024-05-01T10:%02d:00Z" % (rev % 60),
                 "deleted": "", "description": "Upgrade complete", "status": status, "notes": ""},
        "chart": {"metadata": {"name": "tiny", "version": "1.0.%d" % rev, "apiVersion": "v2",
                               "appVersion": "1.%d" % rev},
                  "templates": [{"name": "templates/cm.yaml",
                                 "data": base64.b64encode(b"kind: ConfigMap\n#" + pad).decode()}],
                  "values": {}, "files": []},
        "config": {},
        "manifest": "---\nkind: ConfigMap\nmetadata:\n  name: %s\n" % name,
        "version": rev,
        "namespace": ns,
    }
    return json.dumps(rel, separators=(",", ":")).encode()


def secret(ns, name, rev, status, pad):
    inner = base64.b64encode(gzip.compress(release_json(ns, name, rev, status, pad), mtime=0))
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, rev), "namespace": ns,
                         "labels": {"name": name, "owner": "helm", "status": status, "version": str(rev)}},
            "data": {"release": base64.b64encode(inner).decode()}}


class Cluster:
    """A fake API server holding N releases of 1-3 revisions in a few namespaces, and
    what it holds, so that a test knows the expected snapshot."""

    def __init__(self, fk, n, rng, tag):
        self.fk, self.rng, self.tag = fk, rng, tag
        self.revs = {}         # (ns, name) -> last revision
        self.pad = {}
        for ns in ("apps", "data", "web"):
            fk.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": ns}})
        objs = []
        for i in range(n):
            ns = ("apps", "data", "web")[i % 3]
            name = "%s%03d" % (tag, i)
            self.pad[(ns, name)] = os.urandom(rng.randint(1000, 6000)).hex().encode()
            top = rng.randint(1, 3)
            self.revs[(ns, name)] = top
            for rev in range(1, top + 1):
                objs.append(secret(ns, name, rev, "deployed" if rev == top else "superseded",
                                   self.pad[(ns, name)]))
        fk.load(objs)

    def upgrade_half(self):
        """Helm's upgrade: a new revision, and the previous one rewritten as superseded
        (its content changes, so 'same revision' is not 'same bytes')."""
        objs = []
        for key in self.rng.sample(sorted(self.revs), len(self.revs) // 2):
            ns, name = key
            top = self.revs[key]
            objs.append(secret(ns, name, top, "superseded", self.pad[key] + b"x" * top))
            objs.append(secret(ns, name, top + 1, "deployed", self.pad[key]))
            self.revs[key] = top + 1
            if top + 1 > HISTORY_MAX:           # helm upgrade --history-max
                old = top + 1 - HISTORY_MAX
                st, _, _ = self.fk.request("DELETE", "/api/v1/namespaces/%s/secrets/sh.helm.release.v1.%s.v%d"
                                           % (ns, name, old))
                assert st in (200, 404), st
        self.fk.load(objs, replace=True)

    def expected(self):
        """{(ns, name, rev): sha256 of the release JSON} of what the server holds."""
        st, body = self.fk.get_json("/api/v1/secrets?labelSelector=owner%3Dhelm")
        assert st == 200
        out = {}
        for o in body["items"]:
            m = re.match(r"^sh\.helm\.release\.v1\.(.+)\.v([0-9]+)$", o["metadata"]["name"])
            raw = base64.b64decode(base64.b64decode(o["data"]["release"]))
            out[(o["metadata"]["namespace"], m.group(1), int(m.group(2)))] = \
                hashlib.sha256(gzip.decompress(raw)).hexdigest()
        return out

    def uid(self):
        st, ns = self.fk.get_json("/api/v1/namespaces/kube-system")
        return ns["metadata"]["uid"]


# ---- the store ------------------------------------------------------------------------------

class LocalStore:
    name = "local"

    def __init__(self, root):
        self.root = root
        os.makedirs(root, mode=0o700, exist_ok=True)

    def args(self):
        return ["local", "--path", self.root, "--plugin-dir", os.path.dirname(LOCAL_SO)]

    def faulty_args(self, spec, seed):
        return ["--backend", "faulty", "--plugin-dir", FAULTY_DIR,
                "--backend-opt", "inner=" + LOCAL_SO,
                "--backend-opt", "inner_options=path=" + self.root,
                "--backend-opt", "fail=" + spec, "--backend-opt", "seed=%d" % seed]

    def read(self, key):
        try:
            with open(os.path.join(self.root, key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def keys(self):
        out = []
        for d, _, files in os.walk(self.root):
            for f in files:
                out.append(os.path.relpath(os.path.join(d, f), self.root))
        return out


class S3Store:
    name = "s3"

    def __init__(self, moto):
        self.moto = moto
        self.s3 = moto.client()
        self.s3.create_bucket(Bucket=BUCKET)

    def opts(self):
        return ["--endpoint", self.moto.endpoint, "--bucket", BUCKET, "--accessKeyID", self.moto.ak]

    def args(self):
        return ["s3", "--path", PREFIX, "--plugin-dir", os.path.dirname(S3_SO)] + self.opts()

    def faulty_args(self, spec, seed):
        inner = "endpoint=%s,bucket=%s,access_key_id=%s,secret_access_key=%s" % (
            self.moto.endpoint, BUCKET, self.moto.ak, self.moto.sk)
        return ["--backend", "faulty", "--path", PREFIX, "--plugin-dir", FAULTY_DIR,
                "--backend-opt", "inner=" + S3_SO, "--backend-opt", "inner_options=" + inner,
                "--backend-opt", "fail=" + spec, "--backend-opt", "seed=%d" % seed]

    def read(self, key):
        try:
            return self.s3.get_object(Bucket=BUCKET, Key=PREFIX + "/" + key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def keys(self):
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/"):
            out += [o["Key"][len(PREFIX) + 1:] for o in page.get("Contents", [])]
        return out


def snapshot_problems(store, cluster_uid):
    """What is wrong with the committed snapshot, checked without the program."""
    raw = store.read("index.json")
    if raw is None:
        return ["index.json is missing"], None
    try:
        ix = json.loads(raw)
    except ValueError as e:
        return ["index.json does not parse: %s" % e], None
    problems = []
    if ix.get("cluster", {}).get("uid") != cluster_uid:
        problems.append("index.json names cluster %r, not the exporting cluster %s"
                        % (ix.get("cluster", {}).get("uid"), cluster_uid))
    for r in ix.get("records", []):
        data = store.read(r["key"])
        if data is None:
            problems.append("%s: missing" % r["key"])
            continue
        try:
            js = gzip.decompress(data)
        except Exception as e:  # noqa: BLE001 - any gunzip failure is damage
            problems.append("%s: does not gunzip: %s" % (r["key"], e))
            continue
        if len(js) != r["size"] or hashlib.sha256(js).hexdigest() != r["sha256"]:
            problems.append("%s: size/sha256 differ from the index" % r["key"])
    return problems, ix


# ---- the program --------------------------------------------------------------------------

class Runner:
    def __init__(self, store, env, kubeconfig):
        self.store, self.env, self.kubeconfig = store, env, kubeconfig
        self.has_verify = subprocess.run([RM_BIN, "verify", "--help"], capture_output=True,
                                         env=env).returncode == 0

    def cmd(self, verb, *extra, kubeconfig=None, faulty=None, seed=1):
        args = self.store.faulty_args(faulty, seed) if faulty else self.store.args()
        return [RM_BIN, verb] + args + ["--kubeconfig", kubeconfig or self.kubeconfig] + list(extra)

    def run(self, verb, *extra, **kw):
        return subprocess.run(self.cmd(verb, *extra, **kw), capture_output=True, text=True,
                              env=self.env, timeout=600)

    def start(self, verb, *extra, **kw):
        return subprocess.Popen(self.cmd(verb, *extra, **kw), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)


BACKEND_RULES = [
    "put:{n}:nospace", "put:{n}:io", "put:{n}:io:after", "put:{n}+:nospace", "put:{n}:transient",
    "get:{m}:io", "list:{m}:transient", "sync:1:io", "sync:2:io", "sync:1:io:after",
    "remove_many:1:io", "remove_many:1:io:after", "remove:{m}:io", "put:p0.05:io",
]
API_FAULTS = [
    {"status": 500}, {"status": 429, "retryAfter": 0}, {"status": 410}, {"action": "drop"},
    {"status": 503},
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="local", choices=("local", "s3"))
    ap.add_argument("--trials", type=int, default=10, help="trials per fault kind")
    ap.add_argument("--kill-trials", type=int, default=0, help="SIGKILL trials (default: --trials)")
    ap.add_argument("--kinds", default="kill,backend,enospc,api,concurrent")
    ap.add_argument("--releases", type=int, default=120)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CAMPAIGN_SEED", "11")))
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    for f in (RM_BIN, LOCAL_SO, os.path.join(FAULTY_DIR, "faulty.so")):
        if not os.path.exists(f):
            skip("%s was not built" % f)
    if a.backend == "s3" and not os.path.exists(S3_SO):
        skip("the s3 plugin was not built")
    try:
        tools = fku.find_tools()
    except fku.ToolsUnavailable as e:
        skip(str(e))
    work = tempfile.mkdtemp(prefix="rm-campaign-")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RELEASEMANAGER_", "AWS_")) and k not in ("KUBECONFIG", "HELM_DRIVER")}
    moto = None
    figures = {"backend": a.backend, "seed": a.seed, "releases": a.releases, "kinds": {}}
    failed = []
    try:
        if a.backend == "s3":
            import s3env
            moto = s3env.Moto(work)
            store = S3Store(moto)
            env["RELEASEMANAGER_S3_SECRET_ACCESS_KEY"] = moto.sk
        else:
            store = LocalStore(os.path.join(work, "store"))
        with fku.FakeKube(tools=tools, workdir=os.path.join(work, "kube-a")) as fk, \
                fku.FakeKube(tools=tools, workdir=os.path.join(work, "kube-b")) as fk2:
            cluster = Cluster(fk, a.releases, rng, "r")
            other = Cluster(fk2, 10, rng, "o")
            uid = cluster.uid()
            r = Runner(store, env, fk.kubeconfig)
            t = time.monotonic()
            p = r.run("export")
            if p.returncode != 0:
                raise SystemExit("the first export failed:\n" + p.stdout + p.stderr)
            first = time.monotonic() - t
            cluster.upgrade_half()
            t = time.monotonic()
            p = r.run("export")
            length = time.monotonic() - t      # what a trial's export has to do
            if p.returncode != 0:
                raise SystemExit("the calibration export failed:\n" + p.stdout + p.stderr)
            print("first export of %d records: %.2fs; after upgrading half the releases: %.2fs"
                  % (len(cluster.expected()), first, length), flush=True)

            def after_trial(kind, i, what, p):
                problems, _ = snapshot_problems(store, uid)
                if r.has_verify and not problems:
                    v = r.run("verify")
                    if v.returncode != 0:
                        problems.append("verify: exit %d: %s" % (v.returncode, (v.stdout + v.stderr)[-800:]))
                if problems:
                    failed.append("%s #%d (%s): the committed snapshot is damaged: %s"
                                  % (kind, i, what, "; ".join(problems[:5])))
                q = r.run("export")
                problems2, ix = snapshot_problems(store, uid)
                want = cluster.expected()
                got = {(x["namespace"], x["release"], x["revision"]): x["sha256"]
                       for x in (ix or {}).get("records", [])}
                if q.returncode != 0:
                    failed.append("%s #%d (%s): the next export failed: %s"
                                  % (kind, i, what, (q.stdout + q.stderr)[-800:]))
                elif problems2 or got != want:
                    lost = len(set(want) - set(got))
                    failed.append("%s #%d (%s): after the next export: %d problems, %d records lost, "
                                  "%d extra, %d differ" % (kind, i, what, len(problems2), lost,
                                                            len(set(got) - set(want)),
                                                            sum(1 for k in want if k in got and got[k] != want[k])))
                stats = figures["kinds"].setdefault(kind, {"trials": 0, "faults": 0, "damaged": 0,
                                                           "next_export_failed": 0})
                stats["trials"] += 1
                stats["faults"] += 1 if what != "not reached" else 0
                stats["damaged"] += 1 if problems else 0
                stats["next_export_failed"] += 1 if q.returncode != 0 else 0
                if a.verbose or problems:
                    print("  %s #%d: %s: exit %s%s" % (kind, i, what, p.returncode if p else "-",
                                                      " DAMAGED" if problems else ""), flush=True)

            for kind in a.kinds.split(","):
                if kind == "enospc" and a.backend != "local":
                    continue
                trials = a.kill_trials if kind == "kill" and a.kill_trials else a.trials
                print("%s: %d trials" % (kind, trials), flush=True)
                for i in range(1, trials + 1):
                    cluster.upgrade_half()
                    if kind == "kill":
                        delay = rng.uniform(0, length * 1.3)
                        proc = r.start("export")
                        time.sleep(delay)
                        what = "SIGKILL after %.0f ms" % (delay * 1000)
                        if proc.poll() is not None:
                            what = "not reached"
                        proc.send_signal(signal.SIGKILL)
                        proc.communicate()
                        after_trial(kind, i, what, proc)
                    elif kind == "backend":
                        spec = rng.choice(BACKEND_RULES).format(n=rng.randint(1, 80), m=rng.randint(1, 4))
                        p = r.run("export", faulty=spec, seed=rng.randint(1, 1 << 30))
                        after_trial(kind, i, spec if "injected" in p.stderr else "not reached", p)
                    elif kind == "enospc":
                        p = enospc_trial(r, store, work)
                        if p is None:
                            print("  enospc: mount not allowed here: skipped", flush=True)
                            break
                        after_trial(kind, i, "ENOSPC" if p.returncode != 0 else "not reached", p)
                    elif kind == "api":
                        spec = dict(rng.choice(API_FAULTS))
                        spec.update(method="GET", path="/api/v1/.*secrets", count=rng.randint(1, 8))
                        fk.add_fault(**spec)
                        p = r.run("export")
                        fk.clear_faults()
                        after_trial(kind, i, json.dumps(spec, sort_keys=True), p)
                    elif kind == "concurrent":
                        wait = ["--lock-timeout", "2m"] if i % 2 else []   # queue, or refuse
                        procs = [r.start("export", *wait), r.start("export", *wait),
                                 r.start("export", kubeconfig=fk2.kubeconfig)]
                        outs = [(pp.communicate(), pp.returncode) for pp in procs]
                        ok = [rc for _, rc in outs].count(0)
                        if a.verbose:
                            for (so, se), rc in outs:
                                print("    writer exit %d: %s" % (rc, (se.strip().splitlines() or [""])[-1][:300]))
                        if outs[2][1] == 0:
                            failed.append("concurrent #%d: the export of another cluster to the same "
                                          "store succeeded" % i)
                        after_trial(kind, i, "3 writers, %d succeeded" % ok, None)
                    else:
                        raise SystemExit("unknown fault kind " + kind)
                k = figures["kinds"].get(kind)
                if k:
                    print("  %s done: %d trials, %d faults reached, %d damaged snapshots, %d failed "
                          "next exports" % (kind, k["trials"], k["faults"], k["damaged"],
                                            k["next_export_failed"]), flush=True)
            del other
    finally:
        if moto:
            moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    figures["failures"] = failed
    total = sum(k["trials"] for k in figures["kinds"].values())
    damaged = sum(k["damaged"] for k in figures["kinds"].values())
    for kind, k in figures["kinds"].items():
        print("%-10s %s: %d trials, %d faults reached, %d damaged snapshots, %d failed next exports"
              % (kind, a.backend, k["trials"], k["faults"], k["damaged"], k["next_export_failed"]))
    print("total: %d trials, %d damaged snapshots, %d failures" % (total, damaged, len(failed)))
    for f in failed:
        print("FAIL: " + f)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(figures, f, indent=1)
    return 1 if failed else 0


def enospc_trial(r, store, work):
    """Move the store onto a tmpfs sized to what it holds plus a little, export, move it
    back.  None when tmpfs cannot be mounted here."""
    mnt = os.path.join(work, "full")
    os.makedirs(mnt, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g,mode=0700", "tmpfs", mnt],
                      capture_output=True).returncode != 0:
        return None
    try:
        subprocess.run(["cp", "-a", store.root + "/.", mnt], check=True)
        st = os.statvfs(mnt)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        size = used + random.randint(16, 256) * 1024       # full part-way through the export
        subprocess.run(["mount", "-o", "remount,size=%d" % size, mnt], check=True)
        saved = store.root
        store.root = mnt
        try:
            p = r.run("export")
        finally:
            store.root = saved
        shutil.rmtree(saved)
        os.makedirs(saved, mode=0o700)
        subprocess.run(["cp", "-a", mnt + "/.", saved], check=True)
        return p
    finally:
        subprocess.run(["umount", mnt], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
