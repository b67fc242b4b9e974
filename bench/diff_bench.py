#!/usr/bin/env python3
"""diff benchmark (issue 15): time and peak RSS of `releasemanager diff` (the newest
snapshot against the cluster) against the metadata-only LIST floor measured in the same
run, against the same server: the cluster unchanged, and after 1% of the releases were
upgraded (a new deployed revision, the previous one relabelled superseded, as helm
upgrade leaves them); and `list -o json`, which reads and prints the same index diff
reads (diff cannot do with less than the LIST and the index).

The fake API server and its records are scale_bench.py's (tests/fakekube with
--no-gzip-cache; Helm's own Secret format; release i has i % 10 + 1 revisions; 50
releases per namespace).  Sizes are record counts, ascending: 5500 records are 1000
releases.  Each size is exported once into a local store on tmpfs (not timed); then
REPEAT times: the floor, diff unchanged (exit 0), 1% upgraded, diff (exit 1), and an
export that makes the store equal again (not timed; the next round upgrades other
releases).  The reads are diff's own summary line ("N release objects listed, M read in
full").

  python3 bench/diff_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs \
      --sizes 5500,10000 --repeat 3
"""
import argparse, os, platform, re, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench as sb  # noqa: E402  (its records, its server, its floor)

SUMMARY = re.compile(r"(\d+) release objects listed, (\d+) read in full")


def timed(cmd, env, want):
    """Wall seconds, peak RSS KiB, CPU seconds and the summary line of one run that must
    exit with want."""
    t = ["/usr/bin/time", "-f", "%U %S %M"] + cmd
    t0 = time.monotonic()
    p = subprocess.run(t, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != want:
        raise SystemExit("exit %d, not %d: %s\n%s\n%s" % (p.returncode, want, " ".join(cmd),
                                                          p.stdout[-2000:], p.stderr[-2000:]))
    u, sy, kib = p.stderr.strip().splitlines()[-1].split()
    return wall, int(kib), float(u) + float(sy), p.stdout.strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--sizes", default="5500,10000", help="record counts, ascending")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.replace(" ", ",").split(",") if x]
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="rm-diffbench-", dir=shm)
    base = sb.seed_release()
    rows = []
    load_before = os.getloadavg()
    with sb.FakeKube(args=["--no-gzip-cache"]) as fk:
        env = fk.env()
        kc = env["KUBECONFIG"]
        nss, seeded, revs = set(), 0, {}
        for nrec in sizes:
            recs = sb.records_upto(nrec)
            batch = []
            for (i, v, n) in recs[seeded:]:
                ns = sb.namespace(i)
                if ns not in nss:
                    fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
                    nss.add(ns)
                batch.append(sb.secret(base, i, v, n))
                if len(batch) >= 1000:
                    fk.load(batch, replace=True)
                    batch = []
            if seeded:      # the last release of the previous size may have grown
                i0 = recs[seeded - 1][0]
                batch += [sb.secret(base, i, v, n) for (i, v, n) in recs if i == i0]
            if batch:
                fk.load(batch, replace=True)
            seeded = nrec
            for (i, v, n) in recs:
                revs[i] = max(revs.get(i, 0), n)
            nrel = recs[-1][0] + 1
            store = os.path.join(work, "store%d" % nrec)
            common = ["local", "--plugin-dir", a.plugins, "--path", store, "--fsync", "false",
                      "--kubeconfig", kc]
            export = [a.rm, "export"] + common
            diff = [a.rm, "diff"] + common
            lst = [a.rm, "list", "local", "--plugin-dir", a.plugins, "--path", store, "-o", "json"]
            subprocess.run(export, env=env, check=True, capture_output=True)
            nup = max(1, nrel // 100)
            m = {k: [] for k in ("meta", "list", "same", "changed")}
            rss = {"list": 0, "same": 0, "changed": 0}
            cpu = {"list": [], "same": [], "changed": []}
            summary = {}
            for r in range(a.repeat):
                w = sb.list_floor.run(fk.url, fk.token, fk.ca, metadata=True, limit=500)
                m["meta"].append(w[0])
                t, kib, c, line = timed(lst, env, 0)
                m["list"].append(t), cpu["list"].append(c)
                rss["list"] = max(rss["list"], kib)
                t, kib, c, line = timed(diff, env, 0)
                m["same"].append(t), cpu["same"].append(c)
                rss["same"] = max(rss["same"], kib)
                summary["same"] = line
                # helm upgrade on 1% of the releases (another 1% each round)
                up = [(r * nup + k * (nrel // nup)) % nrel for k in range(nup)]
                objs = []
                for i in up:
                    n = revs[i]
                    objs += [sb.secret(base, i, n, n + 1), sb.secret(base, i, n + 1, n + 1)]
                    revs[i] = n + 1
                fk.load(objs, replace=True)
                t, kib, c, line = timed(diff, env, 1)
                m["changed"].append(t), cpu["changed"].append(c)
                rss["changed"] = max(rss["changed"], kib)
                summary["changed"] = line
                if not line.startswith("%d releases changed: %d upgraded;"
                                       % (nup, nup)):
                    sys.exit("diff after %d upgrades: %s" % (nup, line))
                subprocess.run(export, env=env, check=True, capture_output=True)
            row = {"records": nrec, "releases": nrel,
                   "upgraded": nup}
            for k in m:
                row[k] = sb.median(m[k])
            for k in rss:
                row[k + "_rss"] = rss[k]
                row[k + "_cpu"] = sb.median(cpu[k])
                row[k + "_summary"] = summary.get(k, "")
            rows.append(row)
            print("measured %d releases: %s" % (nrel, row), file=sys.stderr, flush=True)
            shutil.rmtree(store, ignore_errors=True)
    load_after = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)
    print("%s (%s), %s, %d CPUs, load average before %.1f, after %.1f; median of %d runs; "
          "stores in %s" % (a.label or a.rm, time.strftime("%Y-%m-%d %H:%M"),
                            platform.processor() or platform.machine(), os.cpu_count(),
                            load_before[0], load_after[0], a.repeat,
                            shm or tempfile.gettempdir()))
    print()
    print("| run | " + " | ".join("%d releases (%d records) s (vs floor) / MiB"
                                  % (r["releases"], r["records"]) for r in rows) + " |")
    print("|---" * (len(rows) + 1) + "|")
    print("| floor: metadata-only LIST, gzip, pages of 500 | "
          + " | ".join("%.3f" % r["meta"] for r in rows) + " |")
    print("| list -o json (the index alone: what diff reads besides the LIST) | "
          + " | ".join("%.3f (%.2fx) / %.1f" % (r["list"], r["list"] / r["meta"],
                                               r["list_rss"] / 1024) for r in rows) + " |")
    print("| floor + list -o json | " + " | ".join("%.3f" % (r["meta"] + r["list"])
                                                   for r in rows) + " |")
    for k, label in (("same", "diff, unchanged (exit 0)"),
                     ("changed", "diff, 1% upgraded (exit 1)")):
        print("| %s | %s |" % (label, " | ".join(
            "%.3f (%.2fx) / %.1f" % (r[k], r[k] / r["meta"], r[k + "_rss"] / 1024)
            for r in rows)))
    print()
    print("CPU seconds of releasemanager; diff's summary line:")
    print()
    for r in rows:
        for k in ("same", "changed"):
            print("- %d releases, %s: %.2f s CPU; `%s`" % (r["releases"], k, r[k + "_cpu"],
                                                          r[k + "_summary"]))


if __name__ == "__main__":
    main()
