#!/usr/bin/env python3
"""`releasemanager diff` (issue 15) through the s3 backend: the REAL program against the
fake Kubernetes API server (releases changed by real helm 3) and moto on loopback.

Equal -> exit 0; a helm upgrade -> exit 1 and the upgraded line; two snapshots with
--to-snapshot; -o json; a damaged stored record and a damaged snapshot object -> exit 2
naming the key; the secret key never in output.  Exit 77 when a tool is missing."""

import json
import os

import e2elib
from e2elib import CHARTS, check

PLAIN = os.path.join(CHARTS, "plain")
BUCKET = "rm-diff"
PREFIX = "clusters/green"


def main():
    e2elib.s3_main("diff-s3", BUCKET, run)


def run(s3, moto, work, fk):
    rm = e2elib.s3_rm(moto, work, BUCKET, PREFIX, ["--kubeconfig", fk.kubeconfig])

    def out(p):
        return "exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr)

    def export():
        p = rm("export", "s3")
        check(p.returncode == 0, "export to s3", out(p))

    fk.helm3("install", "web", PLAIN, "-n", "default")
    fk.helm3("install", "api", PLAIN, "-n", "apps", "--create-namespace")
    export()

    p = rm("diff", "s3")
    check(p.returncode == 0 and p.stdout == "0 releases changed; 2 unchanged (2 release "
          "objects listed, 0 read in full)\n", "equal: exit 0 and the summary alone", out(p))

    fk.helm3("upgrade", "web", PLAIN, "-n", "default", "--set", "message=second")
    p = rm("diff", "s3")
    lines = p.stdout.splitlines()
    check(p.returncode == 1 and len(lines) == 2, "after a helm upgrade: exit 1, one change",
          out(p))
    check(lines[:1] and lines[0].startswith("~ default/web") and " upgraded " in lines[0]
          and "revision 1 -> 2  chart plain-0.1.0  status deployed" in lines[0],
          "the upgraded line", out(p))
    p = rm("diff", "s3", "-o", "json")
    doc = json.loads(p.stdout) if p.returncode == 1 else {}
    ch = doc.get("changes", [])
    check(p.returncode == 1 and doc["equal"] is False and len(ch) == 1
          and (ch[0]["namespace"], ch[0]["release"], ch[0]["change"]) == ("default", "web",
                                                                          "upgraded")
          and ch[0]["before"]["revision"] == 1 and ch[0]["after"]["revision"] == 2
          and doc["summary"]["unchanged"] == 1 and doc["reads"]["store"] == 0,
          "-o json: web upgraded 1 -> 2, api unchanged", out(p))

    # A second export: the cluster equals it; the two snapshots differ by the upgrade.
    export()
    p = rm("diff", "s3", "-o", "json")
    check(p.returncode == 0 and json.loads(p.stdout)["equal"] is True,
          "-o json after the second export: equal, exit 0", out(p))
    p = rm("list", "s3", "--snapshots", "-o", "json")
    snaps = json.loads(p.stdout) if p.returncode == 0 else []
    if not check(len(snaps) == 2, "two snapshots", out(p)):
        return
    p = rm("diff", "s3", "--snapshot", snaps[0]["id"], "--to-snapshot", snaps[1]["id"],
           "-o", "json")
    doc = json.loads(p.stdout) if p.returncode == 1 else {}
    check(p.returncode == 1 and [(c["release"], c["change"]) for c in doc["changes"]]
          == [("web", "upgraded")] and doc["to"]["type"] != "cluster"
          and doc["reads"]["store"] == 0, "--to-snapshot: web upgraded between them", out(p))
    p = rm("diff", "s3", "--snapshot", snaps[0]["id"], "--to-snapshot", snaps[1]["id"],
           "--manifests")
    check(p.returncode == 1 and '+  message: "second"\n' in p.stdout,
          "--to-snapshot --manifests: the changed value, read from the bucket", out(p))

    # A damaged stored record: --manifests must read it -> exit 2 naming its key.
    ix = json.loads(s3.get_object(Bucket=BUCKET, Key=PREFIX + "/index.json")["Body"].read())
    rec = [r for r in ix["records"] if r["release"] == "web" and r["revision"] == 2][0]
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "/" + rec["key"], Body=b"not gzip")
    p = rm("diff", "s3", "--snapshot", snaps[0]["id"], "--to-snapshot", snaps[1]["id"],
           "--manifests")
    check(p.returncode == 2 and rec["key"] in p.stderr and p.stdout == "",
          "a damaged record: exit 2 naming %s, no diff printed" % rec["key"], out(p))
    # A damaged snapshot object -> exit 2 naming it.
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "/" + snaps[0]["key"], Body=b"{not json")
    p = rm("diff", "s3", "--snapshot", snaps[0]["id"])
    check(p.returncode == 2 and snaps[0]["key"] in p.stderr and p.stdout == "",
          "a damaged snapshot: exit 2 naming %s" % snaps[0]["key"], out(p))


if __name__ == "__main__":
    main()
