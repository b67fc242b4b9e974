#!/usr/bin/env python3
"""Point-in-time snapshots (issue 15) through the s3 backend: the REAL program against the
fake Kubernetes API server (releases installed and upgraded by real helm 3) and a real S3
protocol server (moto on loopback, with SigV4 checking).

Three exports keep three snapshots in the bucket (snapshots/TIME-ID.json, index.json the
newest byte for byte); `list --snapshots` lists them; `list`, `verify` and `import
--snapshot` read an older one (imported into a second fake cluster, `helm history` shows
the older state); `prune --dry-run` deletes nothing; `prune --keep-last 1` leaves one
snapshot and exactly the records it references, and that snapshot still verifies and
imports.  The secret key never appears in output.  Exit 77 with the reason when a tool is
missing."""

import json
import os
import time

import e2elib
from e2elib import CHARTS, check

BUCKET = "rm-snapshots"
PREFIX = "clusters/blue"


def main():
    e2elib.s3_main("snapshots-s3", BUCKET, run, clusters=2)


def run(s3, moto, work, fk, target):
    rm = e2elib.s3_rm(moto, work, BUCKET, PREFIX)

    def keys(sub):
        out, token = [], None
        while True:
            kw = {"Bucket": BUCKET, "Prefix": PREFIX + "/" + sub}
            if token:
                kw["ContinuationToken"] = token
            r = s3.list_objects_v2(**kw)
            out += [o["Key"][len(PREFIX) + 1:] for o in r.get("Contents", [])]
            token = r.get("NextContinuationToken")
            if not token:
                return sorted(out)

    def body(key):
        return s3.get_object(Bucket=BUCKET, Key=PREFIX + "/" + key)["Body"].read()

    def export():
        p = rm("export", "s3", "--kubeconfig", fk.kubeconfig)
        check(p.returncode == 0, "export to s3", p.stdout + p.stderr)

    def snapshots():
        p = rm("list", "s3", "--snapshots", "-o", "json")
        check(p.returncode == 0, "list --snapshots -o json", p.stdout + p.stderr)
        return json.loads(p.stdout) if p.returncode == 0 else []

    plain = os.path.join(CHARTS, "plain")
    fk.helm3("install", "web", plain, "-n", "default")
    export()
    fk.helm3("upgrade", "web", plain, "-n", "default", "--set", "message=second")
    export()
    time.sleep(1.1)     # the third in another second: --snapshot TIME picks the second
    fk.helm3("install", "api", plain, "-n", "apps", "--create-namespace")
    export()

    snaps = snapshots()
    if not check([s["records"] for s in snaps] == [1, 2, 3], "three snapshots of 1, 2, 3 "
                 "records, oldest first", snaps):
        return
    check([s["current"] for s in snaps] == [False, False, True], "the newest is current", snaps)
    check(keys("snapshots/") == sorted(s["key"] for s in snaps),
          "the bucket holds exactly the listed snapshot objects", keys("snapshots/"))
    check(body("index.json") == body(snaps[-1]["key"]),
          "index.json is the newest snapshot, byte for byte")
    referenced = set()
    for s in snaps:
        referenced |= {r["key"] for r in json.loads(body(s["key"]))["records"]}
    check(set(keys("releases/")) == referenced,
          "the bucket holds exactly the records its snapshots reference",
          (keys("releases/"), sorted(referenced)))

    p = rm("list", "s3", "--snapshot", snaps[0]["id"], "-o", "json")
    recs = json.loads(p.stdout)["records"] if p.returncode == 0 else []
    check([(r["release"], r["revision"]) for r in recs] == [("web", 1)],
          "list --snapshot ID shows the first export's one record", p.stdout + p.stderr)
    p = rm("list", "s3", "--snapshot", snaps[1]["time"], "-o", "json")
    recs = json.loads(p.stdout)["records"] if p.returncode == 0 else []
    check(sorted((r["release"], r["revision"]) for r in recs) == [("web", 1), ("web", 2)],
          "list --snapshot TIME picks the second export", p.stdout + p.stderr)
    for s in snaps:
        p = rm("verify", "s3", "--snapshot", s["id"])
        check(p.returncode == 0 and p.stdout.startswith("verified %d records, 0 damaged, 0 "
                                                        "missing" % s["records"]),
              "verify --snapshot %s" % s["id"], p.stdout + p.stderr)

    # The second snapshot into another cluster: web at revision 2 with its history, no api.
    p = rm("import", "s3", "--kubeconfig", target.kubeconfig, "--snapshot", snaps[1]["id"])
    check(p.returncode == 0, "import --snapshot into a second cluster", p.stdout + p.stderr)
    hist = json.loads(target.helm3("history", "web", "-n", "default", "-o", "json").stdout)
    check([h["revision"] for h in hist] == [1, 2] and hist[-1]["status"] == "deployed",
          "helm history there shows revisions 1 and 2, 2 deployed", hist)
    check("message: second" in target.helm3("get", "values", "web", "-n", "default").stdout,
          "the second revision's values are restored")
    st = target.helm3("status", "api", "-n", "apps", check=False)
    check(st.returncode != 0, "api (installed after that snapshot) is not restored",
          st.stdout + st.stderr)

    # prune: a dry run changes nothing; --keep-last 1 leaves the newest and its records.
    before = keys("")
    p = rm("prune", "s3", "--keep-last", "1", "--dry-run")
    check(p.returncode == 0 and keys("") == before, "prune --dry-run deletes nothing",
          p.stdout + p.stderr)
    p = rm("prune", "s3", "--keep-last", "1")
    check(p.returncode == 0 and "1 of 3 snapshots kept" in p.stdout, "prune --keep-last 1",
          p.stdout + p.stderr)
    left = snapshots()
    check([s["id"] for s in left] == [snaps[-1]["id"]], "the newest snapshot is left", left)
    newest = {r["key"] for r in json.loads(body(snaps[-1]["key"]))["records"]}
    check(set(keys("releases/")) == newest,
          "exactly the newest snapshot's records are left", (keys("releases/"), sorted(newest)))
    check(len(referenced - newest) > 0, "prune deleted the records only older snapshots held",
          sorted(referenced - newest))
    p = rm("verify", "s3")
    check(p.returncode == 0 and p.stdout.startswith("verified 3 records, 0 damaged, 0 missing, "
                                                    "0 unreadable, 0 unreferenced"),
          "the pruned bucket verifies clean", p.stdout + p.stderr)
    p = rm("import", "s3", "--kubeconfig", target.kubeconfig, "--dry-run")
    check(p.returncode == 0, "the pruned bucket still imports (dry run)", p.stdout + p.stderr)


if __name__ == "__main__":
    main()
