#!/usr/bin/env python3
"""Scale benchmark (issue 20): time and peak RSS of releasemanager from 1,000 to 50,000
release records, each as a ratio to the LIST it cannot do without, measured in the same
run against the same server.

The fake API server (tests/fakekube, with --no-gzip-cache: every response compressed
afresh at gzip level 1, as kube-apiserver does) is seeded directly with Helm release
Secrets in Helm's own format: the real record basic-demo 0.3.3 from
tests/data/helm-releases, its manifest cut to ~300 bytes and its chart to no template
(~2.4 KiB of release JSON, ~1.6 KiB in the Secret), renamed per release.  Release i has
i % 10 + 1 revisions (the last one deployed); 50 releases per namespace.  Sizes run in
ascending order on one server (records are added between sizes); each size exports into
a fresh local store on tmpfs (/dev/shm, where there is one) with --fsync false, so the
disk is not what is measured.

For each size, REPEAT times each (median wall time, largest peak RSS):
  floor, full LIST      every Secret labelled owner=helm, gzip, pages of 100 as the
                        engine's full LIST reads them, one keep-alive connection, each
                        page inflated and its continue token read (bench/list_floor.py)
  floor, metadata LIST  the same as PartialObjectMetadataList, pages of 500 (what an
                        export lists first)
  first export          into an empty store          / full LIST floor
  unchanged re-export   nothing changed              / metadata LIST floor
  export, 1% changed    1% of the Secrets rewritten (new content, new resourceVersion)
                                                     / metadata LIST floor
  list -o json          the index only               / metadata LIST floor
  import --dry-run      the whole plan               / full LIST floor
and the time per record, the growth factor of each row per 10x records, and peak RSS.

  python3 bench/scale_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs \
      --sizes 1000,10000,50000 --repeat 3
"""
import argparse, base64, gzip, json, math, os, platform, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
sys.path.insert(0, HERE)
from fakekube_util import FakeKube  # noqa: E402
import list_floor  # noqa: E402

SEED = os.path.join(HERE, "..", "tests", "data", "helm-releases", "01-secret-basic-demo2.json")
PER_NS = 50


def seed_release():
    sec = json.load(open(SEED))
    rel = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(sec["data"]["release"]))))
    rel["manifest"] = rel["manifest"][:300]
    rel["chart"]["templates"] = []
    rel["chart"]["files"] = []
    return rel


def revisions(i):
    return i % 10 + 1


def namespace(i):
    return "ns%04d" % (i // PER_NS)


def secret(base, i, v, n, change=None):
    name, ns = "rel%05d" % i, namespace(i)
    status = "deployed" if v == n else "superseded"
    rel = dict(base, name=name, namespace=ns, version=v)
    rel["info"] = dict(base["info"], status=status)
    if change is not None:
        rel["info"]["description"] = "changed %d" % change
    blob = base64.b64encode(gzip.compress(json.dumps(rel).encode(), mtime=0)).decode()
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, v), "namespace": ns,
                     "labels": {"name": name, "owner": "helm", "status": status,
                                "version": str(v)}},
        "data": {"release": base64.b64encode(blob.encode()).decode()},
    }


def records_upto(nrec):
    """[(release, revision, revisions of that release)] for the first nrec records."""
    out, i = [], 0
    while len(out) < nrec:
        n = min(revisions(i), nrec - len(out))
        out += [(i, v, n) for v in range(1, n + 1)]
        i += 1
    return out


CPU = {}   # command -> user + system CPU seconds of its last run (GNU time's %U %S)


def timed(cmd, env=None, check=None):
    """Wall seconds and peak RSS (KiB, GNU time's %M) of one command; its CPU seconds go
    to CPU (less sensitive than wall time to what else runs on a shared machine)."""
    t = ["/usr/bin/time", "-f", "%U %S %M"] + cmd
    t0 = time.monotonic()
    p = subprocess.run(t, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s\n%s" % (p.returncode, " ".join(cmd),
                                                      p.stdout[-2000:], p.stderr[-2000:]))
    if check:
        check(p.stdout, p.stderr)
    u, sy, kib = p.stderr.strip().splitlines()[-1].split()
    CPU["last"] = float(u) + float(sy)
    return wall, int(kib)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--sizes", default="1000,10000,50000", help="record counts, ascending")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the stores (for a profile)")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.replace(" ", ",").split(",") if x]
    # The stores on tmpfs where there is one: the disk's file creation is not what is
    # measured (on ext4 it dominated the first export: 50,000 files created).
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="rm-scale-", dir=shm)
    base = seed_release()
    results = []
    load_before = os.getloadavg()
    with FakeKube(args=["--no-gzip-cache"]) as fk:
        env = fk.env()
        kc = env["KUBECONFIG"]
        seeded = 0
        nss = set()
        changes = 0       # each change new content, across sizes too
        for nrec in sizes:
            recs = records_upto(nrec)
            batch = []
            for (i, v, n) in recs[seeded:]:
                ns = namespace(i)
                if ns not in nss:
                    fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
                    nss.add(ns)
                batch.append(secret(base, i, v, n))
                if len(batch) >= 1000:
                    fk.load(batch, replace=True)
                    batch = []
            # the last release of the previous size may have grown: its Secrets again
            if seeded:
                i0 = recs[seeded - 1][0]
                batch += [secret(base, i, v, n) for (i, v, n) in recs if i == i0]
            if batch:
                fk.load(batch, replace=True)
            seeded = nrec
            nrel = recs[-1][0] + 1
            store = os.path.join(work, "store%d" % nrec)
            exp = [a.rm, "export", "local", "--plugin-dir", a.plugins, "--path", store,
                   "--fsync", "false", "--kubeconfig", kc]

            def wrote(n):
                def check(out, err):
                    if (" %d written" % n) not in out:
                        sys.exit("export: expected %d written:\n%s\n%s" % (n, out, err[-2000:]))
                return check

            row = {"records": nrec, "releases": nrel, "namespaces": len(nss)}
            m = {k: [] for k in ("full", "meta", "first", "again", "changed", "list", "import")}
            rss = {k: 0 for k in m}
            cpu = {k: [] for k in m}
            nchange = max(1, nrec // 100)
            for r in range(a.repeat):
                w = list_floor.run(fk.url, fk.token, fk.ca, metadata=False, limit=100)
                if w[1] != nrec:
                    sys.exit("full LIST floor: %d items, not %d" % (w[1], nrec))
                m["full"].append(w[0])
                w = list_floor.run(fk.url, fk.token, fk.ca, metadata=True, limit=500)
                m["meta"].append(w[0])
                shutil.rmtree(store, ignore_errors=True)
                for k, cmd, chk in (
                        ("first", exp, wrote(nrec)),
                        ("again", exp, wrote(0))):
                    t, kib = timed(cmd, env, chk)
                    m[k].append(t)
                    cpu[k].append(CPU["last"])
                    rss[k] = max(rss[k], kib)
                # 1%: every 100th record gets new content (and a new resourceVersion)
                step = max(1, nrec // nchange)
                changes += 1
                fk.load([secret(base, i, v, n, change=changes)
                         for (i, v, n) in recs[::step][:nchange]], replace=True)
                t, kib = timed(exp, env, wrote(nchange))
                m["changed"].append(t)
                cpu["changed"].append(CPU["last"])
                rss["changed"] = max(rss["changed"], kib)

                def listed(out, err):
                    if out.count('"key":') != nrec:
                        sys.exit("list -o json: wrong record count")
                t, kib = timed([a.rm, "list", "local", "--plugin-dir", a.plugins, "--path",
                                store, "-o", "json"], env, listed)
                m["list"].append(t)
                cpu["list"].append(CPU["last"])
                rss["list"] = max(rss["list"], kib)

                def planned(out, err):
                    if ("would import %d releases" % nrel) not in out or " 0 failed" not in out:
                        sys.exit("import --dry-run: unexpected:\n%s\n%s" % (out[-2000:],
                                                                              err[-2000:]))
                # Into a namespace of its own: the releases exist where they were exported.
                t, kib = timed([a.rm, "import", "local", "--plugin-dir", a.plugins, "--path",
                                store, "--kubeconfig", kc, "--dry-run", "--target-namespace",
                                "restored", "--create-namespace"], env, planned)
                m["import"].append(t)
                cpu["import"].append(CPU["last"])
                rss["import"] = max(rss["import"], kib)
            for k in m:
                row[k + "_cpu"] = median(cpu[k]) if cpu[k] else 0.0
                row[k] = median(m[k])
                row[k + "_all"] = m[k]
                row[k + "_rss"] = rss[k]
            row["index_kib"] = os.path.getsize(os.path.join(store, "index.json")) // 1024
            results.append(row)
            print("measured %d records: %s" % (nrec, json.dumps(
                {k: round(row[k], 3) for k in m})), file=sys.stderr, flush=True)
            if not a.keep:
                shutil.rmtree(store, ignore_errors=True)
    load_after = os.getloadavg()
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("stores kept in %s" % work, file=sys.stderr)

    floors = {"first": "full", "again": "meta", "changed": "meta", "list": "meta",
              "import": "full"}
    names = [("full", "floor: full LIST, gzip, pages of 100"),
             ("meta", "floor: metadata-only LIST, gzip, pages of 500"),
             ("first", "first export"), ("again", "unchanged re-export"),
             ("changed", "export, 1% changed"), ("list", "list -o json"),
             ("import", "import --dry-run")]
    print("%s (%s), %s, %d CPUs, load average before %.1f, after %.1f; median of %d runs; "
          "stores in %s"
          % (a.label or a.rm, time.strftime("%Y-%m-%d %H:%M"),
             platform.processor() or platform.machine(), os.cpu_count(), load_before[0],
             load_after[0], a.repeat, shm or tempfile.gettempdir()))
    print()
    hdr = "| run | " + " | ".join("%d records s (vs floor) / MiB" % r["records"] for r in results)
    print(hdr + " |")
    print("|---" * (len(results) + 1) + "|")
    for k, label in names:
        cells = []
        for r in results:
            ratio = "" if k not in floors else " (%.2fx)" % (r[k] / r[floors[k]])
            mib = "" if k in ("full", "meta") else " / %.1f" % (r[k + "_rss"] / 1024)
            cells.append("%.3f%s%s" % (r[k], ratio, mib))
        print("| %s | %s |" % (label, " | ".join(cells)))
    print()
    if len(results) > 1:
        print("growth of wall time per 10x records (time(N2)/time(N1) scaled to 10x: "
              "10 ** (log(t2/t1) / log10(N2/N1)); 10 is linear):")
        print()
        print("| run | " + " | ".join("%d -> %d" % (x["records"], y["records"])
                                      for x, y in zip(results, results[1:])) + " |")
        print("|---" * len(results) + "|")
        for k, label in names:
            cells = []
            for x, y in zip(results, results[1:]):
                f = math.log10(y["records"] / x["records"])
                cells.append("%.1fx" % (10 ** (math.log10(y[k] / x[k]) / f)))
            print("| %s | %s |" % (label, " | ".join(cells)))
        print()
    print("CPU seconds (user + system) of releasemanager, and per 1000 records:")
    print()
    print("| run | " + " | ".join("%d records" % r["records"] for r in results) + " |")
    print("|---" * (len(results) + 1) + "|")
    for k, label in names[2:]:
        print("| %s | %s |" % (label, " | ".join(
            "%.2f (%.3f)" % (r[k + "_cpu"], r[k + "_cpu"] * 1000 / r["records"]) for r in results)))
    print()
    print("records per size: " + ", ".join("%d (%d releases, %d namespaces, index.json %d KiB)"
                                           % (r["records"], r["releases"], r["namespaces"],
                                              r["index_kib"]) for r in results))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
