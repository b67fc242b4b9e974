#!/usr/bin/env python3
"""Import kill campaign (issue 18): an import killed at any moment is finished by running
the same command again, with nothing lost and nothing done twice.

A source cluster (fake API server) holds N releases in a few namespaces, each with 1-3
revisions (the last deployed, the others superseded), a manifest of ConfigMaps (and,
for every fifth release, a custom resource whose CRD is in the chart's crds/), and for
every third release hooks: a pre-install Job (before-hook-creation) and a post-install
Job (hook-succeeded only, so a Job left by a kill is recognised by our marker, not by its
policy).  It is exported once into a local store.  Each trial then:
  1. starts an empty target cluster and runs `releasemanager import` of that store,
     SIGKILLed at a random moment (uniform over 1.3 times the measured length of an
     uninterrupted import);
  2. notes which releases were complete when it died (all their records there);
  3. runs the very same command again, which must exit 0;
  4. checks, independently of the program: every release's records (helm history) are
     exactly the source's (same names, revisions, statuses, release JSON byte for byte),
     every manifest object exists owned by its release, no hook Job was created for a
     release that was complete before the rerun (request log), no record was written
     twice, and the import lock was given up;
  5. on the first trial, `helm list -A` of the target equals the source's.

Usage: tests/faults/import_campaign.py [--trials N] [--releases N] [--seed S] [--json FILE]
Exit 0 when every trial converged; 1 with each bad trial named; 77 (skip) when the tools
are missing.  Run small by `make check` (tests/faults/test_import_campaign.sh) and large
by hand (RELIABILITY.md)."""

import argparse
import base64
import gzip
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
import fakekube_util as fku  # noqa: E402

RM_BIN = os.environ.get("RM_BIN") or os.path.join(BUILDDIR, "releasemanager")
LOCAL_SO = os.path.join(BUILDDIR, "plugins", "local", ".libs", "local.so")
SKIP = 77
NAMESPACES = ("apps", "data", "web")
CRD_GROUP = "campaign.example.com"


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def b64(s):
    return base64.b64encode(s.encode()).decode()


CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.%s
spec:
  group: %s
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
""" % (CRD_GROUP, CRD_GROUP)


def hook_job(name, event):
    return ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: %s-%s\n  annotations:\n"
            "    helm.sh/hook: %s\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n"
            "      containers:\n      - name: c\n        image: busybox\n" % (name, event, event))


def manifest(i, name, rev):
    docs = []
    for k in range(2):
        docs.append("---\n# Source: tiny/templates/cm%d.yaml\napiVersion: v1\nkind: ConfigMap\n"
                    "metadata:\n  name: %s-cm%d\ndata:\n  rev: \"%d\"\n" % (k, name, k, rev))
    if i % 5 == 0:
        docs.append("---\n# Source: tiny/templates/widget.yaml\napiVersion: %s/v1\nkind: Widget\n"
                    "metadata:\n  name: %s-w\nspec:\n  size: %d\n" % (CRD_GROUP, name, rev))
    return "".join(docs)


def release_json(i, ns, name, rev, status):
    hooks = []
    if i % 3 == 0:
        hooks = [{"name": name + "-pre-install", "kind": "Job", "path": "tiny/templates/pre.yaml",
                  "manifest": hook_job(name, "pre-install"), "events": ["pre-install"],
                  "last_run": {"started_at": "", "completed_at": "", "phase": ""},
                  "weight": 0, "delete_policies": ["before-hook-creation"]},
                 {"name": name + "-post-install", "kind": "Job", "path": "tiny/templates/post.yaml",
                  "manifest": hook_job(name, "post-install"), "events": ["post-install"],
                  "last_run": {"started_at": "", "completed_at": "", "phase": ""},
                  "weight": 0, "delete_policies": ["hook-succeeded"]}]
    files = [{"name": "crds/widgets.yaml", "data": b64(CRD)}] if i % 5 == 0 else []
    rel = {
        "name": name,
        "info": {"first_deployed": "2024-05-01T10:00:00Z",
                 "last_deployed": "2024-05-01T10:%02d:00Z" % rev, "deleted": "",
                 "description": "Upgrade complete" if rev > 1 else "Install complete",
                 "status": status, "notes": ""},
        "chart": {"metadata": {"name": "tiny", "version": "1.0.%d" % rev, "apiVersion": "v2",
                               "appVersion": "1.%d" % rev},
                  "templates": [], "values": {}, "files": files},
        "config": {"rev": rev},
        "manifest": manifest(i, name, rev),
        "hooks": hooks,
        "version": rev,
        "namespace": ns,
    }
    return json.dumps(rel, separators=(",", ":")).encode()


def secret(i, ns, name, rev, status):
    inner = base64.b64encode(gzip.compress(release_json(i, ns, name, rev, status), mtime=0))
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, rev), "namespace": ns,
                         "labels": {"name": name, "owner": "helm", "status": status,
                                    "version": str(rev)}},
            "data": {"release": base64.b64encode(inner).decode()}}


def records(fk):
    """{(ns, name, rev): (status, release JSON)} of the cluster's Helm records."""
    st, body = fk.get_json("/api/v1/secrets?labelSelector=owner%3Dhelm")
    assert st == 200, st
    out = {}
    for o in body["items"]:
        m = re.match(r"^sh\.helm\.release\.v1\.(.+)\.v([0-9]+)$", o["metadata"]["name"])
        raw = base64.b64decode(base64.b64decode(o["data"]["release"]))
        js = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        out[(o["metadata"]["namespace"], m.group(1), int(m.group(2)))] = \
            (o["metadata"]["labels"].get("status"), js)
    return out


class Source:
    def __init__(self, fk, n, rng):
        self.revs = {}
        self.index = {}
        objs = []
        for i in range(n):
            ns = NAMESPACES[i % len(NAMESPACES)]
            name = "rel%03d" % i
            top = rng.randint(1, 3)
            self.revs[(ns, name)] = top
            self.index[(ns, name)] = i
            for rev in range(1, top + 1):
                objs.append(secret(i, ns, name, rev, "deployed" if rev == top else "superseded"))
        fk.load(objs)
        self.expected = records(fk)

    def objects(self, ns, name):
        """API paths of the manifest objects of the deployed revision."""
        i = self.index[(ns, name)]
        out = ["/api/v1/namespaces/%s/configmaps/%s-cm%d" % (ns, name, k) for k in range(2)]
        if i % 5 == 0:
            out.append("/apis/%s/v1/namespaces/%s/widgets/%s-w" % (CRD_GROUP, ns, name))
        return out

    def hooked(self, ns, name):
        return self.index[(ns, name)] % 3 == 0


def helm_list(fk):
    out = fk.helm3("list", "-A", "-o", "json").stdout
    return sorted((r["namespace"], r["name"], r["revision"], r["status"], r["chart"])
                  for r in json.loads(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--releases", type=int, default=200)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    for f in (RM_BIN, LOCAL_SO):
        if not os.path.exists(f):
            skip("%s is not built" % f)
    try:
        tools = fku.find_tools()
    except fku.ToolsUnavailable as e:
        skip(str(e))
    if not fku.openssl_available():
        skip("no openssl")

    work = tempfile.mkdtemp(prefix="import-campaign-")
    store = os.path.join(work, "store")
    src = fku.FakeKube(tools=tools, job_delay=0.02).start()
    try:
        source = Source(src, a.releases, rng)
        p = subprocess.run([RM_BIN, "export", "local", "--path", store, "--plugin-dir",
                            os.path.dirname(LOCAL_SO), "--kubeconfig", src.kubeconfig],
                           capture_output=True, text=True, env=src.env(), timeout=600)
        if p.returncode != 0:
            print("export failed:\n" + p.stdout + p.stderr)
            return 1
        source_list = helm_list(src)
    finally:
        src.stop()

    target_dir = os.path.join(work, "target")
    os.makedirs(target_dir)
    bad = []
    stats = {"seed": seed, "releases": a.releases, "records": len(source.expected),
             "trials": 0, "killed_before_end": 0, "complete_at_kill": 0, "half_done_at_kill": 0,
             "untouched_at_kill": 0, "lost": 0, "duplicated": 0, "hook_reruns_of_complete": 0,
             "rerun_failed": 0}
    length = None
    for t in range(a.trials + 1):          # trial 0 measures an uninterrupted import
        fk = fku.FakeKube(workdir=target_dir, tools=tools, job_delay=0.02).start()
        try:
            cmd = [RM_BIN, "import", "local", "--path", store, "--plugin-dir",
                   os.path.dirname(LOCAL_SO), "--kubeconfig", fk.kubeconfig,
                   "--threads", str(a.threads)]
            env = fk.env()
            if t == 0:
                t0 = time.monotonic()
                p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
                length = time.monotonic() - t0
                if p.returncode != 0:
                    print("the uninterrupted import failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
                    return 1
                if records(fk) != source.expected:
                    print("the uninterrupted import does not restore the source")
                    return 1
                if helm_list(fk) != source_list:
                    print("helm list differs after an uninterrupted import")
                    return 1
                stats["import_seconds"] = round(length, 2)
                print("uninterrupted import of %d releases (%d records): %.2f s"
                      % (a.releases, len(source.expected), length), flush=True)
                continue
            stats["trials"] += 1
            delay = rng.uniform(0, 1.3 * length)
            with open(os.path.join(work, "first.err"), "w") as ferr:
                proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=ferr, env=env)
                try:
                    proc.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    stats["killed_before_end"] += 1
            at_kill = records(fk)
            complete, half = set(), 0
            for key, top in source.revs.items():
                have = [r for r in range(1, top + 1) if key + (r,) in at_kill]
                if len(have) == top:
                    complete.add(key)
                elif have:
                    half += 1
            stats["complete_at_kill"] += len(complete)
            # half-done: some records, or objects without records
            for key in source.revs:
                if key in complete:
                    continue
                st, _ = fk.get_json(source.objects(*key)[0])
                if st == 200 or any(key + (r,) in at_kill for r in range(1, 4)):
                    stats["half_done_at_kill"] += 1
                else:
                    stats["untouched_at_kill"] += 1
            # what a complete release has must come out of the rerun untouched
            before = {}
            for key in complete:
                paths = ["/api/v1/namespaces/%s/secrets/sh.helm.release.v1.%s.v%d" % (key + (r,))
                         for r in range(1, source.revs[key] + 1)]
                if source.hooked(*key):
                    paths.append("/apis/batch/v1/namespaces/%s/jobs/%s-pre-install" % key)
                before[key] = {}
                for path in paths:
                    st, obj = fk.get_json(path)
                    before[key][path] = obj["metadata"]["uid"] if st == 200 else None
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
            problems = []
            if p.returncode != 0:
                stats["rerun_failed"] += 1
                problems.append("rerun exit %d: %s" % (p.returncode, (p.stdout + p.stderr)[-1500:]))
            got = records(fk)
            lost = [k for k in source.expected if k not in got]
            extra = [k for k in got if k not in source.expected]
            differ = [k for k in source.expected if k in got and got[k] != source.expected[k]]
            stats["lost"] += len(lost)
            stats["duplicated"] += len(extra)
            for what, keys in (("lost", lost), ("extra", extra), ("different", differ)):
                if keys:
                    problems.append("%d records %s, e.g. %s" % (len(keys), what, keys[:3]))
            for key in source.revs:
                for path in source.objects(*key):
                    st, obj = fk.get_json(path)
                    ann = (obj.get("metadata", {}).get("annotations") or {}) if st == 200 else {}
                    if st != 200 or ann.get("meta.helm.sh/release-name") != key[1] \
                            or ann.get("meta.helm.sh/release-namespace") != key[0]:
                        problems.append("object %s: %s" % (path, st))
            for key, uids in before.items():
                for path, uid in uids.items():
                    st, obj = fk.get_json(path)
                    now = obj.get("metadata", {}).get("uid") if st == 200 else None
                    if now != uid:
                        what = "hook Job re-run" if "/jobs/" in path else "record rewritten"
                        if "/jobs/" in path:
                            stats["hook_reruns_of_complete"] += 1
                        problems.append("%s for release %s/%s, complete before the rerun"
                                        % (what, key[0], key[1]))
            if "already restored" not in p.stdout and complete:
                problems.append("the rerun did not report complete releases as already restored")
            st, leases = fk.get_json("/apis/coordination.k8s.io/v1/namespaces/default/leases")
            for lease in leases.get("items", []):
                if lease["metadata"]["name"].startswith("releasemanager-import-") \
                        and lease["spec"].get("holderIdentity"):
                    problems.append("import lock still held by %s" % lease["spec"]["holderIdentity"])
            if t == 1 and helm_list(fk) != source_list:
                problems.append("helm list differs from the source")
            problems = [x for x in problems if x]
            print("trial %d: kill at %.2f s: %d complete, rerun exit %d: %s" % (
                t, delay, len(complete), p.returncode, "ok" if not problems else "; ".join(problems[:5])),
                flush=True)
            if problems:
                bad.append((t, problems))
        finally:
            fk.stop()
    shutil.rmtree(work, ignore_errors=True)
    stats["bad_trials"] = len(bad)
    print(json.dumps(stats))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(stats, f, indent=1)
    for t, problems in bad:
        print("BAD trial %d: %s" % (t, "; ".join(problems[:5])))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
