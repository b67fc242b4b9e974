#!/usr/bin/env python3
"""Store growth with point-in-time snapshots (issue 15): N releases on the fake API server,
then COMMITS one-shot exports through the export engine (the real releasemanager, local
backend), each after a daemon-sized batch of changes: CHANGES releases get a new revision
(a helm upgrade: the previous revision's record is rewritten with status superseded) and,
as Helm's --history-max 10 does, a release's revision 10 back is deleted.  Retention is
on (the defaults, --keep-last 10 --keep-daily 7, unless --keep is given).  Every --every
commits it prints the store's bytes and files, the snapshots kept, the records stored and
the export's wall time; at the end a Markdown table for bench/RESULTS.md.

With --daemon the same batches go to ONE `export --daemon` (resync every hour, so every
commit is a watch batch): after each batch the bench waits until index.json lists every
new revision, and the time column is that wait (change -> committed).

  python3 bench/snapshots_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs \
      [-n 100] [--commits 1000] [--changes 3] [--keep "--keep-last 10 --keep-daily 7"] [--daemon]
"""
import argparse, base64, gzip, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
from fakekube_util import FakeKube, find_tools  # noqa: E402


def release(ns, name, rev, status, pad):
    rel = {"name": name, "namespace": ns, "version": rev,
           "info": {"status": status, "first_deployed": "2026-01-01T00:00:00Z",
                    "last_deployed": "2026-01-01T00:00:00Z", "description": "Upgrade complete"},
           "chart": {"metadata": {"name": "app", "version": "1.0.%d" % rev}, "templates": [],
                     "values": {}},
           "config": {"rev": rev}, "manifest": pad}
    inner = base64.b64encode(gzip.compress(json.dumps(rel).encode(), mtime=0))
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, rev), "namespace": ns,
                         "labels": {"name": name, "owner": "helm", "status": status,
                                    "version": str(rev)}},
            "data": {"release": base64.b64encode(inner).decode()}}


def du(path):
    n = b = 0
    for d, _, fs in os.walk(path):
        for f in fs:
            n += 1
            b += os.stat(os.path.join(d, f)).st_size
    return n, b


def wait_listed(store, want, daemon, timeout=120):
    """Until index.json lists every (namespace, release, revision) of want."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert daemon.poll() is None, "the daemon exited (%s)" % daemon.returncode
        try:
            with open(os.path.join(store, "index.json"), "rb") as f:
                ix = json.load(f)
            have = {(r["namespace"], r["release"], r["revision"]) for r in ix["records"]}
            if want <= have:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    raise SystemExit("the daemon did not commit %d new revisions within %d s" % (len(want), timeout))


def syncs(log):
    with open(log) as f:
        return sum(1 for line in f if " sync: " in line and " written, " in line)


def settle(log, before):
    """Until the daemon has logged the end of a sync (written after its retention ran)
    and no other for 0.3 s: the store is measured between batches, not mid-prune."""
    last, since = syncs(log), time.monotonic()
    end = since + 120
    while last <= before or time.monotonic() - since < 0.3:
        if time.monotonic() > end:
            raise SystemExit("the daemon logged no end of a sync within 120 s (%s)" % log)
        time.sleep(0.02)
        n = syncs(log)
        if n != last:
            last, since = n, time.monotonic()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=3)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--keep", default="")
    ap.add_argument("--daemon", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="snapbench-")
    fk = FakeKube(tools=find_tools()).start()
    pad = "# manifest\n" + "x: y\n" * 400          # ~2 KiB of manifest a release
    try:
        revs = {}
        objs = []
        for i in range(a.n):
            ns, name = "ns%d" % (i % 10), "rel%03d" % i
            revs[(ns, name)] = 1
            objs.append(release(ns, name, 1, "deployed", pad))
        assert fk.load(objs)["errors"] == []
        store = os.path.join(work, "store")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELEASEMANAGER_")}
        cmd = [a.rm, "export", "local", "--path", store, "--fsync", "false", "--plugin-dir",
               a.plugins, "--kubeconfig", fk.kubeconfig] + a.keep.split()
        names = sorted(revs)
        daemon = None
        if a.daemon:
            with socket.socket() as sk:
                sk.bind(("127.0.0.1", 0))
                port = sk.getsockname()[1]
            daemon = subprocess.Popen(cmd + ["--daemon", "-v", "-p", "1h", "--listen",
                                             "127.0.0.1:%d" % port],
                                      env=env, stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(work, "daemon.log"), "w"))
            wait_listed(store, {(ns, n, 1) for ns, n in names}, daemon)
            synced = syncs(os.path.join(work, "daemon.log"))
        rows, times = [], []
        for c in range(1, a.commits + 1):
            batch = []
            for k in range(a.changes):
                ns, name = names[((c - 1) * a.changes + k) % len(names)]
                v = revs[(ns, name)]
                batch.append(release(ns, name, v, "superseded", pad))
                batch.append(release(ns, name, v + 1, "deployed", pad))
                revs[(ns, name)] = v + 1
                if v + 1 > 10:
                    fk.request("DELETE", "/api/v1/namespaces/%s/secrets/sh.helm.release.v1.%s.v%d"
                               % (ns, name, v + 1 - 10))
            assert fk.load(batch, replace=True)["errors"] == []
            t0 = time.monotonic()
            if daemon:
                wait_listed(store, {(o["metadata"]["namespace"], o["metadata"]["labels"]["name"],
                                     int(o["metadata"]["labels"]["version"])) for o in batch},
                            daemon)
            else:
                p = subprocess.run(cmd, env=env, capture_output=True, text=True)
                assert p.returncode == 0, p.stdout + p.stderr
            times.append(time.monotonic() - t0)
            if daemon:
                settle(os.path.join(work, "daemon.log"), synced)
                synced = syncs(os.path.join(work, "daemon.log"))
            if c % a.every == 0 or c == 1:
                files, size = du(store)
                snaps = len(os.listdir(os.path.join(store, "snapshots")))
                recs = sum(len(fs) for _, _, fs in os.walk(os.path.join(store, "releases")))
                with open(os.path.join(store, "index.json"), "rb") as f:
                    ix = json.load(f)
                ixb = os.path.getsize(os.path.join(store, "index.json"))
                live = sum(r["storedSize"] for r in ix["records"])
                row = (c, snaps, len(ix["records"]), recs, live, ixb, size, files,
                       statistics.median(times[-a.every:]) * 1000)
                rows.append(row)
                print("commit %5d: %2d snapshots, %4d records in the newest, %5d stored, "
                      "newest's records %d B, index %d B, store %d B in %d files, export "
                      "median %.0f ms" % row, flush=True)
        print()
        print("| commit | snapshots kept | records (newest) | records stored | bytes of the "
              "newest's records | index.json | store bytes | files | export median (ms) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            print("| %d | %d | %d | %d | %d | %d | %d | %d | %.0f |" % r)
        if daemon:
            daemon.terminate()
            assert daemon.wait(60) == 0, "the daemon's exit status after SIGTERM"
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
        fk.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
