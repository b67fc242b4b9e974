#!/usr/bin/env python3
"""Export to the s3 backend: the REAL program against the fake Kubernetes API server
(releases written by real helm 3 and helm 4) and a real S3 protocol server (moto on
loopback, with SigV4 checking).  Proves the records in the bucket gunzip byte-exact to
what Helm stored, that an unchanged re-export uploads nothing, that a deleted release
disappears from the bucket, and that list and clear work through s3; the secret key
never appears in output.  Exit 77 with the reason when a tool is missing."""

import base64
import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess

import e2elib
from e2elib import CHARTS, RM_BIN, check, fku

BUCKET = "rm-export"
PREFIX = "clusters/prod"


def main():
    e2elib.s3_main("export-s3", BUCKET, run)


def run(s3, moto, work, fk):
    fk.helm3("install", "web", os.path.join(CHARTS, "plain"), "-n", "default")
    fk.helm3("upgrade", "web", os.path.join(CHARTS, "plain"), "-n", "default",
             "--set", "replicaCount=2")
    fk.helm4("install", "api", os.path.join(CHARTS, "with-subchart"), "-n", "apps",
             "--create-namespace")
    kc = fk.env()["KUBECONFIG"]
    rm = e2elib.s3_rm(moto, work, BUCKET, PREFIX, ["--kubeconfig", kc], home=False)
    env, base = rm.env, rm.base

    def objects():
        out = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/"):
            for o in page.get("Contents", []):
                out[o["Key"][len(PREFIX) + 1:]] = o
        return out

    p = rm("export", "s3")
    check(p.returncode == 0, "first export to s3 succeeds", p.stdout + p.stderr)
    objs = objects()
    secrets = json.loads(fk.kubectl("get", "secrets", "-A", "-l", "owner=helm", "-o", "json").stdout)["items"]
    check(len(secrets) == 3, "three release Secrets in the cluster", str(len(secrets)))
    for sec in secrets:
        md = sec["metadata"]
        name, _, rev = md["name"][len("sh.helm.release.v1."):].rpartition(".v")
        want = json.dumps(fku.decode_release(sec), sort_keys=True)
        raw = base64.b64decode(base64.b64decode(sec["data"]["release"]))
        if raw[:3] == b"\x1f\x8b\x08":
            raw = gzip.decompress(raw)
        key = "releases/%s/%s/%s.%s.json.gz" % (md["namespace"], name, rev,
                                                hashlib.sha256(raw).hexdigest())
        check(key in objs, "record %s is in the bucket" % key, str(sorted(objs)))
        if key in objs:
            body = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=PREFIX + "/" + key)["Body"].read())
            check(body == raw, "record %s is byte-exact to what Helm stored" % key)
            check(json.dumps(json.loads(body), sort_keys=True) == want,
                  "record %s holds the release Helm stored" % key)
    check("index.json" in objs and "rlsmgrstate.json" in objs, "index and state file in the bucket",
          str(sorted(objs)))
    index = json.loads(s3.get_object(Bucket=BUCKET, Key=PREFIX + "/index.json")["Body"].read())
    check(len(index["records"]) == 3, "the index lists three records", json.dumps(index)[:500])
    for r in index["records"]:
        body = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=PREFIX + "/" + r["key"])["Body"].read())
        check(hashlib.sha256(body).hexdigest() == r["sha256"], "sha256 of %s matches the index" % r["key"])

    before = {k: (o["ETag"], o["LastModified"]) for k, o in objects().items()}
    p = rm("export", "s3")
    check(p.returncode == 0 and " 0 written" in p.stdout, "unchanged re-export writes nothing",
          p.stdout + p.stderr)
    after = {k: (o["ETag"], o["LastModified"]) for k, o in objects().items()}
    check(before == after, "no object in the bucket was rewritten", "%s\n%s" % (before, after))

    lock_writers(fk, s3, env, base, kc)

    fk.helm4("uninstall", "api", "-n", "apps")
    # --keep-last 1: one snapshot (the default keeps 10 past ones, and their records)
    p = rm("export", "s3", "--keep-last", "1")
    check(p.returncode == 0 and "1 deleted" in p.stdout, "export after uninstall deletes one record",
          p.stdout + p.stderr)
    check(not any(k.startswith("releases/apps/") for k in objects()),
          "the uninstalled release is gone from the bucket", str(sorted(objects())))

    p = rm("list", "s3", "-o", "json")
    check(p.returncode == 0 and len(json.loads(p.stdout)["records"]) == 2, "list through s3",
          p.stdout + p.stderr)
    p = rm("clear", "s3")
    check(p.returncode == 0 and objects() == {}, "clear through s3 empties the prefix",
          p.stdout + p.stderr + str(sorted(objects())))


LOCK_PREFIX = "clusters/locked"


def lock_writers(fk, s3, env, base, kc):
    """One writer per store on s3 (issue 11): while one export holds lock.json, a second
    one fails naming it and writes nothing; the lock is gone afterwards.  The first is
    stopped (SIGSTOP) while it holds the lock, so the two surely overlap."""
    base = [a if a != PREFIX else LOCK_PREFIX for a in base]

    def keys():
        out = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=LOCK_PREFIX + "/"):
            out |= {o["Key"][len(LOCK_PREFIX) + 1:] for o in page.get("Contents", [])}
        return out

    def lock_json():
        try:
            return json.loads(s3.get_object(Bucket=BUCKET, Key=LOCK_PREFIX + "/lock.json")["Body"].read())
        except s3.exceptions.NoSuchKey:
            return None

    p = subprocess.run([RM_BIN, "-v", "export", "s3", "-n", "apps"] + base, capture_output=True,
                       text=True, env=env, timeout=180)
    check(p.returncode == 0, "set-up export to s3 (lock test)", p.stdout + p.stderr)
    check("conditional writes honoured" in p.stderr,
          "the s3 plugin finds conditional writes honoured by moto (the lock is not advisory)", p.stderr)
    fk.add_fault(verb="list", path="/api/v1/namespaces/default/secrets$", action="delay", delay=2,
                 count=1)
    a = subprocess.Popen([RM_BIN, "export", "s3", "-n", "default"] + base, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    held = None
    while held is None and a.poll() is None:
        held = lock_json()
    if held is None:
        out, err = a.communicate()
        check(False, "the first export holds lock.json in the bucket", out + err)
        return
    os.kill(a.pid, signal.SIGSTOP)
    try:
        before = keys()
        p = subprocess.run([RM_BIN, "export", "s3", "-n", "apps"] + base, capture_output=True,
                           text=True, env=env, timeout=180)
        p2 = subprocess.run([RM_BIN, "export", "s3", "-n", "apps", "--conditional_writes", "false"]
                            + base, capture_output=True, text=True, env=env, timeout=180)
        after = keys()
    finally:
        os.kill(a.pid, signal.SIGCONT)
    out, err = a.communicate(timeout=180)
    host = socket.gethostname()
    check((held["kind"], held["holder"]["host"], held["holder"]["pid"], held["command"])
          == ("Lock", host, a.pid, "export"), "lock.json in the bucket names the first export", str(held))
    want = "lock.json: held by export on host %s (pid %d, user " % (host, a.pid)
    check(p.returncode == 1 and want in p.stderr, "a second writer on s3 fails naming the holder",
          p.stdout + p.stderr)
    check(p2.returncode == 1 and want in p2.stderr and "advisory" in p2.stderr,
          "without conditional writes the lock is advisory (warned) and still refuses a second writer",
          p2.stdout + p2.stderr)
    check(before == after, "the refused writers wrote nothing", "%s\n%s" % (sorted(before), sorted(after)))
    check(a.returncode == 0, "the first writer commits", out + err)
    check("lock.json" not in keys(), "lock.json is removed at the end", str(sorted(keys())))
    index = json.loads(s3.get_object(Bucket=BUCKET, Key=LOCK_PREFIX + "/index.json")["Body"].read())
    check(sorted((r["release"], r["revision"]) for r in index["records"]
                 if r["namespace"] == "default") == [("web", 1), ("web", 2)],
          "the index is the first writer's commit", json.dumps(index)[:500])
    p = subprocess.run([RM_BIN, "clear", "s3"] + base, capture_output=True, text=True, env=env,
                       timeout=180)
    check(p.returncode == 0 and keys() == set(), "clear takes the lock and leaves nothing", p.stdout + p.stderr)


if __name__ == "__main__":
    main()
