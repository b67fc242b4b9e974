#!/usr/bin/env python3
"""Memory benchmark (issue 10): peak RSS and wall time of releasemanager against the size
of the snapshot index.  The fake API server (tests/fakekube) is seeded with releases of
up to 10 revisions each (release i has i % 10 + 1), every record a small real release
(basic-demo 0.3.3 from tests/data, its manifest cut to ~1.5 KiB and its chart to one
template: ~5 KiB of release JSON) so that the index, not
the record bodies or the fake server, is what grows.  For each size, in ascending order
on the same server (more releases are added between sizes), one fresh local store:
  first export, unchanged re-export, `list -o json`, and the peer
  `kubectl get secrets -A -l owner=helm -o json` (to /dev/null), same run.
Prints a Markdown table for bench/RESULTS.md and the memory per stored record, as the
slope of the unchanged re-export's peak RSS between the two largest sizes and as
(RSS(N) - RSS(smallest)) / (N - smallest) for each size.

  python3 bench/memory_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs \
      --releases 1,1000,2000,4000
"""
import argparse, base64, gzip, json, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
from fakekube_util import FakeKube  # noqa: E402

SEED = os.path.join(HERE, "..", "tests", "data", "helm-releases", "01-secret-basic-demo2.json")


def seed_release():
    sec = json.load(open(SEED))
    rel = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(sec["data"]["release"]))))
    rel["manifest"] = rel["manifest"][:1500]
    rel["chart"]["templates"] = rel["chart"]["templates"][:1]
    rel["chart"]["files"] = []
    return rel


def revisions(i):
    return i % 10 + 1


def secrets_for(base, i):
    """The Secrets of release i: revisions(i) of them, the last one deployed."""
    name, ns, n = "rel%05d" % i, "ns%02d" % (i % 20), revisions(i)
    out = []
    for v in range(1, n + 1):
        rel = dict(base, name=name, namespace=ns, version=v)
        status = "deployed" if v == n else "superseded"
        rel["info"] = dict(base["info"], status=status)
        blob = base64.b64encode(gzip.compress(json.dumps(rel).encode(), mtime=0)).decode()
        out.append({
            "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, v), "namespace": ns,
                         "labels": {"name": name, "owner": "helm", "status": status,
                                    "version": str(v)}},
            "data": {"release": base64.b64encode(blob.encode()).decode()},
        })
    return out


def timed(cmd, env=None, shell=False, check=None):
    """Wall seconds and peak RSS (KiB, GNU time's %M) of one command."""
    t = ["/usr/bin/time", "-f", "%M"] + (["sh", "-c", cmd] if shell else cmd)
    t0 = time.monotonic()
    p = subprocess.run(t, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s\n%s" % (cmd, p.stdout[-2000:], p.stderr[-2000:]))
    if check:
        check(p.stdout)
    return wall, int(p.stderr.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--releases", default="1,1000,2000,4000",
                    help="comma-separated release counts, ascending")
    ap.add_argument("--label", default="", help="names the build in the table")
    a = ap.parse_args()
    sizes = [int(x) for x in a.releases.split(",")]
    work = tempfile.mkdtemp(prefix="rm-membench-")
    base = seed_release()
    rows = []
    with FakeKube() as fk:
        for ns in range(20):
            fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns%02d" % ns}}])
        env = fk.env()
        kc = env["KUBECONFIG"]
        kubectl = fk._tool("kubectl")
        seeded = 0
        for nrel in sizes:
            batch = []
            for i in range(seeded, nrel):
                batch += secrets_for(base, i)
                if len(batch) >= 500:
                    fk.load(batch)
                    batch = []
            if batch:
                fk.load(batch)
            seeded = nrel
            nrec = sum(revisions(i) for i in range(nrel))
            store = os.path.join(work, "store%d" % nrel)
            exp = [a.rm, "export", "local", "--plugin-dir", a.plugins, "--path", store,
                   "--fsync", "false", "--kubeconfig", kc]

            def wrote(n):
                return lambda out: None if (" %d written" % n) in out else sys.exit("unexpected: " + out)
            first = timed(exp, check=wrote(nrec))
            again = timed(exp, check=wrote(0))
            lst = timed([a.rm, "list", "local", "--plugin-dir", a.plugins, "--path", store,
                         "-o", "json"] , check=lambda out: None if out.count('"key":') == nrec
                        else sys.exit("list -o json: wrong record count"))
            peer = timed("%s get secrets -A -l owner=helm -o json >/dev/null" % kubectl,
                         env=env, shell=True)
            size = os.path.getsize(os.path.join(store, "index.json"))
            rows.append((nrel, nrec, size, first, again, lst, peer))
            shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)

    print("%s: %s" % (a.label or "build", a.rm))
    print()
    print("| releases | records | index.json KiB | first export s / MiB | unchanged re-export s / MiB "
          "| list -o json s / MiB | kubectl get -o json s / MiB |")
    print("|---|---|---|---|---|---|---|")
    for nrel, nrec, size, *runs in rows:
        print("| %d | %d | %d | %s |" % (nrel, nrec, size // 1024, " | ".join(
            "%.2f / %.1f" % (w, r / 1024) for w, r in runs)))
    print()
    n0, rss0 = rows[0][1], rows[0][4][1]
    for nrel, nrec, size, first, again, lst, peer in rows[1:]:
        print("records %d: unchanged re-export %.0f B/record, first export %.0f B/record, "
              "list %.0f B/record (over %d records)" % (
                  nrec, (again[1] - rss0) * 1024 / (nrec - n0),
                  (first[1] - rows[0][3][1]) * 1024 / (nrec - n0),
                  (lst[1] - rows[0][5][1]) * 1024 / (nrec - n0), n0))
    if len(rows) >= 3:
        (_, na, _, _, ra, _, _), (_, nb, _, _, rb, _, _) = rows[-2], rows[-1]
        print("slope of the unchanged re-export between %d and %d records: %.0f B/record"
              % (na, nb, (rb[1] - ra[1]) * 1024 / (nb - na)))


if __name__ == "__main__":
    main()
