#!/usr/bin/env python3
"""`releasemanager verify` through the s3 backend: the REAL program against the fake
Kubernetes API server (releases written by real helm 3) and a real S3 protocol server
(moto on loopback, with SigV4 checking).  A clean export verifies with exit 0; a
truncated object, a deleted one and an object replaced by another record's are each
named by key with exit 1; --repair puts them back from the cluster, after which the
bucket verifies clean.  The secret key never appears in output.  Exit 77 with the reason
when a tool is missing."""

import gzip
import hashlib
import json
import os

import e2elib
from e2elib import CHARTS, check

BUCKET = "rm-verify"
PREFIX = "clusters/prod"


def main():
    e2elib.s3_main("verify-s3", BUCKET, run)


def run(s3, moto, work, fk):
    plain = os.path.join(CHARTS, "plain")
    fk.helm3("install", "web", plain, "-n", "default")
    fk.helm3("upgrade", "web", plain, "-n", "default", "--set", "replicaCount=2")
    fk.helm3("install", "api", plain, "-n", "apps", "--create-namespace")
    kc = fk.env()["KUBECONFIG"]
    rm = e2elib.s3_rm(moto, work, BUCKET, PREFIX)

    def body(key):
        return s3.get_object(Bucket=BUCKET, Key=PREFIX + "/" + key)["Body"].read()

    def put(key, data):
        s3.put_object(Bucket=BUCKET, Key=PREFIX + "/" + key, Body=data)

    p = rm("export", "s3", "--kubeconfig", kc)
    check(p.returncode == 0, "export to s3", p.stdout + p.stderr)
    index = json.loads(body("index.json"))
    recs = {(r["namespace"], r["release"], r["revision"]): r for r in index["records"]}
    check(sorted(recs) == [("apps", "api", 1), ("default", "web", 1), ("default", "web", 2)],
          "the index lists three records", str(sorted(recs)))
    if len(recs) != 3:
        return
    p = rm("verify", "s3", "--threads", "4")
    check(p.returncode == 0 and p.stdout == "verified 3 records, 0 damaged, 0 missing, "
          "0 unreadable, 0 unreferenced\n", "a clean bucket verifies (no cluster)",
          p.stdout + p.stderr)

    web1, web2, api = recs[("default", "web", 1)], recs[("default", "web", 2)], recs[("apps", "api", 1)]
    good = {r["key"]: body(r["key"]) for r in (web1, web2, api)}
    put(web2["key"], good[web2["key"]][:50])
    s3.delete_object(Bucket=BUCKET, Key=PREFIX + "/" + web1["key"])
    put(api["key"], good[web2["key"]])
    put("releases/default/web/9.json.gz", gzip.compress(b"{}"))
    p = rm("verify", "s3")
    lines = p.stdout.splitlines()
    check(p.returncode == 1, "a damaged bucket: exit 1", p.stdout + p.stderr)
    check("%s: missing" % web1["key"] in lines, "the deleted object is named missing", p.stdout)
    check(any(l.startswith("%s: stored size mismatch" % web2["key"]) for l in lines)
          and any(l.startswith("%s: not a valid gzip" % web2["key"]) for l in lines),
          "the truncated object is named with its problems", p.stdout)
    check("%s: sha256 mismatch: index says %s, record has %s" % (api["key"], api["sha256"],
                                                                web2["sha256"]) in lines,
          "the replaced object is named with both hashes", p.stdout)
    check(any(l.startswith("releases/default/web/9.json.gz: unreferenced") for l in lines),
          "the stray object is unreferenced", p.stdout)
    check(lines[-1:] == ["verified 3 records, 2 damaged, 1 missing, 0 unreadable, 1 unreferenced"],
          "summary", p.stdout)

    p = rm("verify", "s3", "--repair", "--kubeconfig", kc)
    check(p.returncode == 0 and p.stdout.count("repaired from the cluster") == 3,
          "--repair puts the three records back from the cluster", p.stdout + p.stderr)
    for key, data in good.items():
        check(hashlib.sha256(gzip.decompress(body(key))).hexdigest()
              == hashlib.sha256(gzip.decompress(data)).hexdigest(),
              "%s holds its indexed content again" % key)
    p = rm("verify", "s3")
    check(p.returncode == 0 and "0 damaged, 0 missing" in p.stdout,
          "the repaired bucket verifies", p.stdout + p.stderr)


if __name__ == "__main__":
    main()
