#!/usr/bin/env python3
"""Export benchmark: N Helm releases (~200 KiB of release JSON each, real structure) on
the fake API server, exported by releasemanager to the local backend and to moto (S3),
against peers measured in the same run:
  (a) kubectl get secrets -A -l owner=helm -o json, split into one file per release,
      then (for S3) aws s3 sync of those files to moto
  (b) a bare curl of the same LIST: the API-bound floor
and the unchanged re-export.  Prints a Markdown table for bench/RESULTS.md.

  python3 bench/export_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs [-n 1000]
"""
import argparse, base64, gzip, json, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "s3"))
from fakekube_util import FakeKube  # noqa: E402

SEED = os.path.join(HERE, "..", "tests", "data", "helm-releases", "01-secret-basic-demo2.json")


def release_json(i, size):
    """A real release (basic-demo 0.3.3 from tests/data) grown to ~size bytes by
    repeating its rendered manifest under other names, as a big chart would."""
    sec = json.load(open(SEED))
    raw = gzip.decompress(base64.b64decode(base64.b64decode(sec["data"]["release"])))
    rel = json.loads(raw)
    name = "rel%04d" % i
    rel["name"] = name
    rel["namespace"] = "ns%02d" % (i % 20)
    base = rel["manifest"]
    parts = [base]
    n = 0
    while sum(len(p) for p in parts) < size - len(raw):
        n += 1
        parts.append(re.sub(r"name: (\S+)", r"name: \1-%d" % n, base))
    rel["manifest"] = "\n---\n".join(parts)
    return rel


def secret_for(rel, version=1):
    blob = base64.b64encode(gzip.compress(json.dumps(rel).encode(), mtime=0)).decode()
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (rel["name"], version),
                     "namespace": rel["namespace"],
                     "labels": {"name": rel["name"], "owner": "helm", "status": "deployed",
                                "version": str(version)}},
        "data": {"release": base64.b64encode(blob.encode()).decode()},
    }


def timed(cmd, env=None, shell=False):
    """Wall seconds and peak RSS (KiB, from GNU time) of one command."""
    t = ["/usr/bin/time", "-f", "%M"] + (["sh", "-c", cmd] if shell else cmd)
    t0 = time.monotonic()
    p = subprocess.run(t, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s\n%s" % (cmd, p.stdout[-2000:], p.stderr[-2000:]))
    rss = int(p.stderr.strip().splitlines()[-1])
    return wall, rss, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--s3-plugins", help="directory of s3.so: also benchmark export to moto")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=200 * 1024)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rm-bench-")
    with FakeKube() as fk:
        objs = [secret_for(release_json(i, a.size)) for i in range(a.n)]
        for ns in sorted({o["metadata"]["namespace"] for o in objs}):
            fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
        for i in range(0, len(objs), 100):
            fk.load(objs[i:i + 100])
        total_json = sum(len(json.dumps(release_json(i, a.size))) for i in range(3)) // 3
        env = fk.env()
        kc = env["KUBECONFIG"]
        info = fk.info if hasattr(fk, "info") else {}
        url, token = info.get("url"), info.get("token")
        rows = []

        # (b) the floor: one LIST with curl, body discarded.
        curl = ["curl", "-sS", "--fail", "--compressed", "--cacert", info.get("ca", ""),
                "-H", "Authorization: Bearer %s" % token,
                "-o", "/dev/null", url + "/api/v1/secrets?labelSelector=owner%3Dhelm"]
        fk.reset_log()
        w, r, _ = timed(curl)
        rows.append(("curl LIST (floor)", w, r, len(fk.requests())))

        # (a) kubectl, then split per release.
        out = os.path.join(work, "kubectl")
        os.makedirs(out)
        split = ("%s get secrets -A -l owner=helm -o json > %s/all.json && python3 -c '"
                 "import json,sys\n"
                 "d=json.load(open(\"%s/all.json\"))\n"
                 "for s in d[\"items\"]:\n"
                 "  m=s[\"metadata\"]; open(\"%s/\"+m[\"namespace\"]+\".\"+m[\"name\"],\"w\").write(s[\"data\"][\"release\"])\n"
                 "'") % (fk._tool("kubectl"), out, out, out)
        fk.reset_log()
        w, r, _ = timed(split, env=env, shell=True)
        rows.append(("kubectl get -o json + split", w, r, len(fk.requests())))

        # releasemanager to local, then unchanged.
        store = os.path.join(work, "store")
        cmd = [a.rm, "export", "local", "--plugin-dir", a.plugins, "--path", store,
               "--kubeconfig", kc]
        fk.reset_log()
        w, r, o = timed(cmd)
        rows.append(("releasemanager export (local, fsync)", w, r, len(fk.requests())))
        fk.reset_log()
        w, r, o = timed(cmd)
        reqs = fk.requests()
        gets = sum(1 for e in reqs if e["method"] == "GET" and "/secrets/" in e["path"])
        rows.append(("releasemanager export, unchanged", w, r, len(reqs)))
        assert "0 written" in o, o
        shutil.rmtree(store)
        cmd2 = cmd + ["--fsync", "false"]
        fk.reset_log()
        w, r, o = timed(cmd2)
        rows.append(("releasemanager export (local, no fsync)", w, r, len(fk.requests())))

        # S3: releasemanager to moto vs kubectl + split + aws s3 sync, same files.
        if a.s3_plugins:
            import s3env
            moto = s3env.Moto(work)
            try:
                moto.client().create_bucket(Bucket="bench")
                aenv = dict(os.environ, AWS_ACCESS_KEY_ID=moto.ak, AWS_SECRET_ACCESS_KEY=moto.sk,
                            AWS_DEFAULT_REGION="us-east-1")
                sync = split.replace(out, out + "2") + (" && aws --endpoint-url %s s3 sync --only-show-errors %s2 s3://bench/kubectl/"
                                                        % (moto.endpoint, out))
                os.makedirs(out + "2")
                aenv.update(env)
                fk.reset_log()
                w, r, _ = timed(sync, env=aenv, shell=True)
                rows.append(("kubectl + split + aws s3 sync (moto)", w, r, len(fk.requests())))
                s3cmd = [a.rm, "export", "s3", "--plugin-dir", a.s3_plugins, "--path", "rm",
                         "--endpoint", moto.endpoint, "--bucket", "bench", "--accessKeyID", moto.ak,
                         "--kubeconfig", kc]
                senv = dict(os.environ, RELEASEMANAGER_S3_SECRET_ACCESS_KEY=moto.sk)
                fk.reset_log()
                w, r, o = timed(s3cmd, env=senv)
                rows.append(("releasemanager export (s3, moto)", w, r, len(fk.requests())))
                fk.reset_log()
                w, r, o = timed(s3cmd, env=senv)
                assert "0 written" in o, o
                rows.append(("releasemanager export (s3), unchanged", w, r, len(fk.requests())))
            finally:
                moto.stop()

    floor = rows[0][1]
    kubectl = rows[1][1]
    print("N = %d releases, ~%d KiB of release JSON each (%d KiB gzip+base64 in the Secret)" %
          (a.n, total_json // 1024, len(objs[0]["data"]["release"]) // 1024))
    print()
    print("| run | wall s | vs curl floor | vs kubectl | peak RSS MiB | API requests |")
    print("|---|---|---|---|---|---|")
    for name, w, r, q in rows:
        print("| %s | %.2f | %.2fx | %.2fx | %.1f | %d |" % (name, w, w / floor, w / kubectl,
                                                          r / 1024, q))
    print()
    print("unchanged re-export: %d GETs of individual Secrets" % gets)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
