#!/usr/bin/env python3
"""Export benchmark: N Helm releases (~200 KiB of release JSON each, real structure) on
the fake API server, exported by releasemanager to the local backend and to moto (S3),
against peers measured in the same run:
  (a) kubectl get secrets -A -l owner=helm -o json, split into one file per release,
      then (for S3) aws s3 sync of those files to moto
  (b) a bare curl of the same LIST: the API-bound floor
and the unchanged re-export; for S3 also the plugin PUTting the same objects alone (the
S3-bound floor).  The fake server compresses every response afresh, as kube-apiserver
does.  Every row runs --repeat times (default 5); the median is reported.  Prints a
Markdown table for bench/RESULTS.md.

  python3 bench/export_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs [-n 1000]
"""
import argparse, base64, gzip, json, os, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "plugins", "s3"))
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


class Rows:
    """Each row is run `repeat` times against the same server; the median wall time, the
    largest peak RSS and the API requests of one run are reported."""

    def __init__(self, fk, repeat):
        self.fk, self.repeat, self.rows = fk, repeat, []

    def run(self, name, make_cmd, env=None, shell=False, check=None):
        walls, rss, reqs = [], 0, []
        for i in range(self.repeat):
            cmd = make_cmd(i)
            self.fk.reset_log()
            w, r, out = timed(cmd, env=env, shell=shell)
            reqs = self.fk.requests()
            if check:
                check(out)
            walls.append(w)
            rss = max(rss, r)
        walls.sort()
        self.rows.append((name, walls[len(walls) // 2], walls, rss, len(reqs)))
        return reqs


def is_tmpfs(path):
    try:
        with open("/proc/mounts") as f:
            return any(l.split()[1] == path and l.split()[2] == "tmpfs" for l in f)
    except OSError:
        return False


def encryption_rows(a, R, work, shm, kc):
    """Each pair of rows plain then encrypted, back to back, so load changes hit both."""
    key = os.path.join(work, "key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key, 0o600)
    enc = ["--encrypt-key-file", key]

    def export(base, *extra):
        return lambda i: [a.rm, "export", "local", "--plugin-dir", a.plugins, "--path",
                          os.path.join(base, "store%d" % i), "--kubeconfig", kc, "--fsync", "false"] + list(extra)

    def wrote_all(out):
        assert "%d written" % a.n in out, out

    def wrote_none(out):
        assert "0 written" in out, out
    for where, base in (("disk", work), ("tmpfs", shm)):
        if not base:
            continue
        R.run("export (local %s, no fsync)" % where, export(base + "/p"), check=wrote_all)
        R.run("export (local %s, no fsync), encrypted" % where, export(base + "/e", *enc), check=wrote_all)
    R.run("export, unchanged", lambda i: export(work + "/p")(0), check=wrote_none)
    R.run("export, unchanged, encrypted", lambda i: export(work + "/e", *enc)(0), check=wrote_none)

    def lst(base, *extra):
        return lambda i: [a.rm, "list", "local", "--plugin-dir", a.plugins, "--path",
                          os.path.join(base, "store0")] + list(extra)
    R.run("list", lst(work + "/p"))
    R.run("list, encrypted", lst(work + "/e", *enc))

    def verify(base, *extra):
        return lambda i: [a.rm, "verify", "local", "--plugin-dir", a.plugins, "--path",
                          os.path.join(base, "store0")] + list(extra)
    R.run("verify (reads every record)", verify(work + "/p"))
    R.run("verify (reads every record), encrypted", verify(work + "/e", *enc))


def print_rows(a, R, total_json):
    print("N = %d releases, ~%d KiB of release JSON each; median of %d runs\n" % (a.n, total_json // 1024, a.repeat))
    print("| run | wall s (median) | all runs | peak RSS MiB | API requests |")
    print("|---|---|---|---|---|")
    for name, med, walls, rss, reqs in R.rows:
        print("| %s | %.2f | %s | %.1f | %d |" % (name, med, " ".join("%.2f" % w for w in walls), rss / 1024.0, reqs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--s3-plugins", help="directory of s3.so: also benchmark export to moto")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=200 * 1024)
    ap.add_argument("--repeat", type=int, default=5, help="runs per row (the median is reported)")
    ap.add_argument("--encryption", action="store_true",
                    help="only the rows of client-side encryption: export, unchanged export and "
                    "list with and without --encrypt-key-file, same server, same run")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="rm-bench-")
    shm = tempfile.mkdtemp(prefix="rm-bench-", dir="/dev/shm") if is_tmpfs("/dev/shm") else None
    # --no-gzip-cache: every response is compressed afresh, as kube-apiserver does, so the
    # floor and every export pay what a real server would charge them.
    with FakeKube(args=["--no-gzip-cache"]) as fk:
        objs = [secret_for(release_json(i, a.size)) for i in range(a.n)]
        for ns in sorted({o["metadata"]["namespace"] for o in objs}):
            fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
        for i in range(0, len(objs), 100):
            fk.load(objs[i:i + 100])
        total_json = sum(len(json.dumps(release_json(i, a.size))) for i in range(3)) // 3
        env = fk.env()
        kc = env["KUBECONFIG"]
        info = fk.info
        url, token = info.get("url"), info.get("token")
        R = Rows(fk, a.repeat)

        # (b) the floor: the same LIST with curl, gzip, body discarded.
        curl = ["curl", "-sS", "--fail", "--compressed", "--cacert", info.get("ca", ""),
                "-H", "Authorization: Bearer %s" % token,
                "-o", "/dev/null", url + "/api/v1/secrets?labelSelector=owner%3Dhelm"]
        subprocess.run(curl, check=True)   # warm-up, untimed
        R.run("curl LIST (floor)", lambda i: curl)
        if a.encryption:
            encryption_rows(a, R, work, shm, kc)
            print_rows(a, R, total_json)
            return

        # (a) kubectl, then split per release.
        split_tpl = ("%s get secrets -A -l owner=helm -o json > {out}/all.json && python3 -c '"
                     "import json,sys\n"
                     "d=json.load(open(\"{out}/all.json\"))\n"
                     "for s in d[\"items\"]:\n"
                     "  m=s[\"metadata\"]; open(\"{out}/\"+m[\"namespace\"]+\".\"+m[\"name\"],\"w\").write(s[\"data\"][\"release\"])\n"
                     "'") % fk._tool("kubectl")

        def split(i, tag="kubectl"):
            out = os.path.join(work, "%s%d" % (tag, i))
            os.makedirs(out)
            return split_tpl.replace("{out}", out)
        R.run("kubectl get -o json + split", split, env=env, shell=True)

        def export(base, *extra):
            return lambda i: [a.rm, "export", "local", "--plugin-dir", a.plugins, "--path",
                              os.path.join(base, "store%d" % i), "--kubeconfig", kc] + list(extra)

        def wrote_all(out):
            assert "%d written" % a.n in out, out

        def wrote_none(out):
            assert "0 written" in out, out
        R.run("releasemanager export (local, fsync)", export(work), check=wrote_all)
        reqs = R.run("releasemanager export, unchanged", lambda i: export(work)(0), check=wrote_none)
        gets = sum(1 for e in reqs if e["method"] == "GET" and "/secrets/" in e["path"])
        R.run("releasemanager export (local, no fsync)", export(work + "/nf", "--fsync", "false"),
              check=wrote_all)
        if shm:
            R.run("releasemanager export (local on tmpfs, no fsync)",
                  export(shm, "--fsync", "false"), check=wrote_all)

        # S3: releasemanager to moto vs kubectl + split + aws s3 sync, same files.
        if a.s3_plugins:
            import s3env
            moto = s3env.Moto(work)
            try:
                moto.client().create_bucket(Bucket="bench")
                aenv = dict(os.environ, AWS_ACCESS_KEY_ID=moto.ak, AWS_SECRET_ACCESS_KEY=moto.sk,
                            AWS_DEFAULT_REGION="us-east-1")
                aenv.update(env)

                def sync(i):
                    out = os.path.join(work, "sync%d" % i)
                    return split(i, "sync") + (" && aws --endpoint-url %s s3 sync --only-show-errors %s s3://bench/kubectl%d/"
                                               % (moto.endpoint, out, i))
                R.run("kubectl + split + aws s3 sync (moto)", sync, env=aenv, shell=True)
                s3cmd = lambda i: [a.rm, "export", "s3", "--plugin-dir", a.s3_plugins, "--path",
                                   "rm%d" % i, "--endpoint", moto.endpoint, "--bucket", "bench",
                                   "--accessKeyID", moto.ak, "--kubeconfig", kc]
                senv = dict(os.environ, RELEASEMANAGER_S3_SECRET_ACCESS_KEY=moto.sk)
                R.run("releasemanager export (s3, moto)", s3cmd, env=senv, check=wrote_all)
                # The S3 side's floor: the same 1000 objects PUT by the plugin alone
                # (tests/plugins/s3/s3tool put-dir, 8 threads), no cluster involved.
                s3tool = os.path.join(os.path.dirname(os.path.abspath(a.rm)), "tests", "plugins", "s3", "s3tool")
                if os.path.exists(s3tool):
                    flat = os.path.join(work, "objects")
                    os.makedirs(flat)
                    src = os.path.join(work, "store0", "releases")
                    for ns in sorted(os.listdir(src)):
                        for rel in sorted(os.listdir(os.path.join(src, ns))):
                            shutil.copy(os.path.join(src, ns, rel, "1.json.gz"),
                                        os.path.join(flat, "%s.%s.json.gz" % (ns, rel)))
                    tenv = dict(os.environ, S3_TEST_OPTS=s3env.opts(moto.endpoint, "bench", moto.ak, moto.sk),
                                S3_PLUGIN=os.path.join(a.s3_plugins, "s3.so"))
                    R.run("s3tool put-dir of the same objects (moto PUT floor)",
                          lambda i: [s3tool, "put-dir", flat, "floor%d/" % i, "8"], env=tenv)
                R.run("releasemanager export (s3), unchanged", lambda i: s3cmd(0), env=senv,
                      check=wrote_none)
            finally:
                moto.stop()

    rows = R.rows
    floor = rows[0][1]
    kubectl = rows[1][1]
    print("N = %d releases, ~%d KiB of release JSON each (%d KiB gzip+base64 in the Secret); "
          "median of %d runs" % (a.n, total_json // 1024, len(objs[0]["data"]["release"]) // 1024,
                                 a.repeat))
    print()
    print("| run | wall s (median) | all runs | vs curl floor | vs kubectl | peak RSS MiB | API requests |")
    print("|---|---|---|---|---|---|---|")
    for name, w, walls, r, q in rows:
        print("| %s | %.2f | %s | %.2fx | %.2fx | %.1f | %d |" % (
            name, w, " ".join("%.2f" % x for x in walls), w / floor, w / kubectl, r / 1024, q))
    print()
    print("unchanged re-export: %d GETs of individual Secrets" % gets)
    shutil.rmtree(work, ignore_errors=True)
    if shm:
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
