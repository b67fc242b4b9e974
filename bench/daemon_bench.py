#!/usr/bin/env python3
"""Daemon benchmark (issue 13): `releasemanager export --daemon` against the fake API
server (tests/fakekube) holding 1000 Helm releases, with real helm 3 for the changes.

  change-to-backup latency  200 real `helm upgrade`s of one release, back to back: for each
                            new revision, from the moment the API server committed its
                            record (the server's accept log, GET /_fake/accepted: time.time()
                            taken under the store lock as the write commits) to the moment
                            the store's index.json lists it (this script polls index.json
                            every 2 ms: stat, and parse when it changed).  p50, p99, max;
                            also to the index showing the revision deployed, from helm's
                            last write of that record.  Peer: the original tool polls every
                            30 s (-p default): a change waits up to one interval.
  idle cost                 API requests and response body bytes per minute counted at the
                            server (GET /_fake/traffic: every request, watch streams chunk by
                            chunk) while nothing changes, at the default -p 30.  Peer: the
                            original's full LIST of every release Secret (owner=helm, gzip as
                            client-go asks for it) every 30 s, its bytes measured in this run
                            on the same server.
  memory and descriptors    RSS (/proc/PID/status VmRSS) and open descriptors (/proc/PID/fd)
                            of the daemon over CYCLES sync cycles (-p 50ms: resyncs, with a
                            release Secret rewritten every 100 cycles so that the write path
                            runs too: the next cycle, a resync or a batch, exports it),
                            sampled every 100 cycles; growth from the first sample (after 100
                            cycles) to the last.

The 1000 releases are written straight into the fake server as release Secrets in Helm's
format (bench/scale_bench.py's records: 50 releases per namespace; release i has i % 3 + 1
revisions); the upgraded release is installed and upgraded by helm itself.  The store is a
local directory on disk with the default --fsync true.

  python3 bench/daemon_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs
"""
import argparse, json, os, platform, re, shutil, socket, subprocess, sys, tempfile, threading
import time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
sys.path.insert(0, HERE)
import fakekube_util as fku  # noqa: E402
import list_floor  # noqa: E402
import scale_bench as sb  # noqa: E402

PLAIN = os.path.join(HERE, "..", "tests", "charts", "plain")
NS = "bench"
REL = "web"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


class Daemon:
    def __init__(self, a, fk, store, interval, log):
        self.port = free_port()
        self.store = store
        env = fk.env()
        for k in list(env):
            if k.startswith("RELEASEMANAGER_"):
                del env[k]
        self.log = open(log, "w")
        self.p = subprocess.Popen(
            [a.rm, "export", "local", "--path", store, "--plugin-dir", a.plugins,
             "--kubeconfig", fk.kubeconfig, "--daemon", "--listen", "127.0.0.1:%d" % self.port,
             "-p", interval, "--leader-elect=false"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def get(self, what):
        with urllib.request.urlopen("http://127.0.0.1:%d/%s" % (self.port, what), timeout=30) as r:
            return r.status, r.read().decode()

    def metrics(self):
        out = {}
        for line in self.get("metrics")[1].splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out[k] = float(v)
        return out

    def wait_ready(self, timeout=600):
        end = time.time() + timeout
        while time.time() < end:
            if self.p.poll() is not None:
                sys.exit("the daemon exited: see %s" % self.log.name)
            try:
                if self.get("readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        sys.exit("the daemon was not ready in %d s" % timeout)

    def rss_fds(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        return rss, len(os.listdir("/proc/%d/fd" % self.p.pid))

    def stop(self):
        self.p.terminate()
        rc = self.p.wait(timeout=60)
        self.log.close()
        if rc != 0:
            sys.exit("the daemon exited %d: see %s" % (rc, self.log.name))


class IndexWatch(threading.Thread):
    """Polls STORE/index.json; records when each (revision) of REL first appears, and first
    appears deployed."""

    def __init__(self, store):
        super().__init__(daemon=True)
        self.path = os.path.join(store, "index.json")
        self.listed, self.deployed = {}, {}
        self.stopping = False
        self.changes = 0

    def run(self):
        last = None
        while not self.stopping:
            try:
                st = os.stat(self.path)
                sig = (st.st_ino, st.st_mtime_ns, st.st_size)
                if sig != last:
                    t = time.time()
                    with open(self.path) as f:
                        ix = json.load(f)
                    last = sig
                    self.changes += 1
                    for r in ix["records"]:
                        if r["namespace"] == NS and r["release"] == REL:
                            self.listed.setdefault(r["revision"], t)
                            if r.get("status") == "deployed":
                                self.deployed.setdefault(r["revision"], t)
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.002)


def seed(fk, nrel):
    base = sb.seed_release()
    nss, batch, nrec = set(), [], 0
    for i in range(nrel):
        ns = sb.namespace(i)
        if ns not in nss:
            fk.load([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}])
            nss.add(ns)
        n = i % 3 + 1
        for v in range(1, n + 1):
            batch.append(sb.secret(base, i, v, n))
        nrec += n
        if len(batch) >= 500:
            fk.load(batch, replace=True)
            batch = []
    if batch:
        fk.load(batch, replace=True)
    return base, nrec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("--releases", type=int, default=1000)
    ap.add_argument("--upgrades", type=int, default=200)
    ap.add_argument("--idle", type=float, default=120, help="seconds of the idle window")
    ap.add_argument("--cycles", type=int, default=2000)
    ap.add_argument("--label", default="")
    ap.add_argument("--json", help="also write the figures here")
    a = ap.parse_args()
    try:
        tools = fku.find_tools()
    except fku.ToolsUnavailable as e:
        sys.exit("needs helm: %s" % e)
    work = tempfile.mkdtemp(prefix="rm-daemon-bench-")
    res = {"releases": a.releases}
    load_before = os.getloadavg()
    with fku.FakeKube(tools=tools) as fk:
        base, nrec = seed(fk, a.releases)
        fk.helm3("install", REL, PLAIN, "-n", NS, "--create-namespace")
        res["records"] = nrec + 1
        print("seeded %d releases (%d records) + %s/%s by helm" % (a.releases, nrec, NS, REL),
              file=sys.stderr, flush=True)

        # ---- latency, then idle, at the default interval ----
        store = os.path.join(work, "store")
        d = Daemon(a, fk, store, "30", os.path.join(work, "daemon-latency.log"))
        t0 = time.time()
        d.wait_ready()
        res["first_sync_s"] = time.time() - t0
        w = IndexWatch(store)
        w.start()
        fk.settings(acceptLog=True)
        m0 = d.metrics()
        t0 = time.time()
        for i in range(a.upgrades):
            fk.helm3("upgrade", REL, PLAIN, "-n", NS, "--set", "message=u%d" % i)
        res["upgrades_s"] = time.time() - t0
        last = a.upgrades + 1
        end = time.time() + 60
        while last not in w.deployed and time.time() < end:
            time.sleep(0.05)
        time.sleep(1)
        acc = fk.control("GET", "accepted")
        fk.settings(acceptLog=False)
        m1 = d.metrics()
        added, writes = {}, {}
        for e in acc:
            mm = re.fullmatch(r"sh\.helm\.release\.v1\.%s\.v(\d+)" % REL, e["name"])
            if not mm or e["namespace"] != NS:
                continue
            rev = int(mm.group(1))
            if e["type"] == "ADDED":
                added[rev] = e["time"]
            writes.setdefault(rev, []).append(e["time"])
        lat, dep = [], []
        missing = []
        for rev in range(2, last + 1):
            if rev not in added or rev not in w.listed:
                missing.append(rev)
                continue
            lat.append(w.listed[rev] - added[rev])
            if rev in w.deployed:
                before = [t for t in writes[rev] if t <= w.deployed[rev]]
                if before:
                    dep.append(w.deployed[rev] - max(before))
        if missing:
            sys.exit("revisions never listed: %s (see %s)" % (missing[:20], d.log.name))
        res.update(lat_n=len(lat), lat_p50=pct(lat, 50), lat_p99=pct(lat, 99), lat_max=max(lat),
                   lat_min=min(lat), dep_n=len(dep), dep_p50=pct(dep, 50), dep_p99=pct(dep, 99),
                   dep_max=max(dep) if dep else float("nan"), index_changes=w.changes)
        k = "releasemanager_change_to_backup_latency_seconds_%s"
        n = m1.get(k % "count", 0) - m0.get(k % "count", 0)
        res["daemon_batches"] = n
        bk = 'releasemanager_sync_duration_seconds_%s{kind="batch"}'
        nb = m1.get(bk % "count", 0) - m0.get(bk % "count", 0)
        res["batch_mean_s"] = (m1.get(bk % "sum", 0) - m0.get(bk % "sum", 0)) / nb if nb else 0
        # what each batch cannot do without: a metadata-only LIST of every release Secret
        res["meta_list_s"] = sorted(list_floor.run(fk.url, fk.token, fk.ca, metadata=True,
                                                   limit=500)[0] for _ in range(3))[1]
        res["daemon_mean_s"] = (m1.get(k % "sum", 0) - m0.get(k % "sum", 0)) / n if n else 0
        print("latency: %s" % json.dumps({x: res[x] for x in res if x.startswith(("lat", "dep"))}),
              file=sys.stderr, flush=True)

        # idle: nothing changes for a.idle seconds
        time.sleep(2)
        mi0 = d.metrics()
        tr0 = fk.control("GET", "traffic")
        seq0 = fk.requests()[-1]["seq"] if fk.requests() else 0
        time.sleep(a.idle)
        tr1 = fk.control("GET", "traffic")
        mi1 = d.metrics()
        reqs = [r for r in fk.requests(seq0) if not r["path"].startswith("/_fake")]
        per_min = 60.0 / a.idle
        res["idle_requests_min"] = (tr1["requests"] - tr0["requests"]) * per_min
        res["idle_bytes_min"] = (tr1["bytes"] - tr0["bytes"]) * per_min
        res["idle_seconds"] = a.idle
        res["idle_by_verb"] = {}
        for r in reqs:
            res["idle_by_verb"][r.get("verb")] = res["idle_by_verb"].get(r.get("verb"), 0) + 1
        rk = 'releasemanager_sync_duration_seconds_count{kind="resync"}'
        res["idle_resyncs"] = mi1.get(rk, 0) - mi0.get(rk, 0)
        ak = "releasemanager_api_received_bytes_total"
        res["idle_daemon_bytes_min"] = (mi1.get(ak, 0) - mi0.get(ak, 0)) * per_min
        # the peer: one full LIST of every release Secret, as helm's List (the original)
        tr0 = fk.control("GET", "traffic")
        st, hdr, body = fk.request("GET", "/api/v1/secrets?labelSelector=owner%3Dhelm",
                                   headers={"Accept-Encoding": "gzip"})
        tr1 = fk.control("GET", "traffic")
        if st != 200:
            sys.exit("full LIST: %d" % st)
        res["full_list_bytes"] = tr1["bytes"] - tr0["bytes"]
        st, hdr, raw = fk.request("GET", "/api/v1/secrets?labelSelector=owner%3Dhelm")
        res["full_list_raw_bytes"] = len(raw)
        res["peer_bytes_min"] = 2 * res["full_list_bytes"]
        res["peer_requests_min"] = 2
        print("idle: %s" % json.dumps({x: res[x] for x in res if "idle" in x or "peer" in x
                                       or "full" in x}), file=sys.stderr, flush=True)
        w.stopping = True
        d.stop()

        # ---- memory and descriptors over many cycles ----
        store2 = os.path.join(work, "store-cycles")
        d = Daemon(a, fk, store2, "50ms", os.path.join(work, "daemon-cycles.log"))
        d.wait_ready()

        def cycles(m):
            return sum(v for k, v in m.items()
                       if k.startswith("releasemanager_sync_duration_seconds_count"))
        c0 = cycles(d.metrics())
        samples = []
        nextc, change = c0 + 100, 0
        t0 = time.time()
        while True:
            c = cycles(d.metrics()) - c0
            if c >= nextc - c0:
                rss, fds = d.rss_fds()
                samples.append((int(c), rss, fds))
                nextc += 100
                # a change: one seeded release Secret rewritten (a batch cycle follows)
                change += 1
                fk.load([sb.secret(base, change, 1, change % 3 + 1, change=change)],
                        replace=True)
                if c >= a.cycles:
                    break
            time.sleep(0.05)
        res["cycles_s"] = time.time() - t0
        res["cycles"] = samples[-1][0]
        m = d.metrics()
        res["cycles_batches"] = m.get('releasemanager_sync_duration_seconds_count{kind="batch"}', 0)
        res["cycles_resyncs"] = m.get('releasemanager_sync_duration_seconds_count{kind="resync"}', 0)
        res["samples"] = samples
        res["rss_first"], res["rss_last"] = samples[0][1], samples[-1][1]
        res["rss_max"] = max(s[1] for s in samples)
        res["fds_first"], res["fds_last"] = samples[0][2], samples[-1][2]
        res["fds_max"] = max(s[2] for s in samples)
        d.stop()
    load_after = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)

    print("%s (%s), %s, %d CPUs, load average before %.1f, after %.1f"
          % (a.label or a.rm, time.strftime("%Y-%m-%d %H:%M"),
             platform.processor() or platform.machine(), os.cpu_count(), load_before[0],
             load_after[0]))
    print()
    print("cluster: %d releases (%d records) + 1 upgraded by helm; first full sync %.2f s"
          % (res["releases"], res["records"], res["first_sync_s"]))
    print()
    print("| measure | releasemanager --daemon | original (polling, -p 30) | ratio |")
    print("|---|---|---|---|")
    print("| change-to-backup, new record accepted -> index lists it, p50 (%d upgrades) "
          "| %.3f s | up to 30 s (15 s on average) | %.0fx |"
          % (res["lat_n"], res["lat_p50"], 15 / res["lat_p50"]))
    print("| same, p99 | %.3f s | up to 30 s | %.0fx |" % (res["lat_p99"], 30 / res["lat_p99"]))
    print("| same, max | %.3f s | up to 30 s | |" % res["lat_max"])
    print("| helm's last write of a revision -> index lists it deployed, p50 / p99 "
          "| %.3f / %.3f s | up to 30 s | |" % (res["dep_p50"], res["dep_p99"]))
    print("| idle API requests per minute | %.1f | %d (full LIST every 30 s) | %.2fx |"
          % (res["idle_requests_min"], res["peer_requests_min"],
             res["idle_requests_min"] / res["peer_requests_min"]))
    print("| idle API bytes per minute (response bodies) | %d | %d (full LIST %d B gzip, "
          "%d B plain) | 1/%.0f |"
          % (res["idle_bytes_min"], res["peer_bytes_min"], res["full_list_bytes"],
             res["full_list_raw_bytes"], res["peer_bytes_min"] / max(res["idle_bytes_min"], 1)))
    print("| RSS over %d cycles (first sample / last / max) | %d / %d / %d KiB | | %+d KiB |"
          % (res["cycles"], res["rss_first"], res["rss_last"], res["rss_max"],
             res["rss_last"] - res["rss_first"]))
    print("| open descriptors over %d cycles (first / last / max) | %d / %d / %d | | %+d |"
          % (res["cycles"], res["fds_first"], res["fds_last"], res["fds_max"],
             res["fds_last"] - res["fds_first"]))
    print()
    print("%d upgrades took %.1f s of helm (%.2f s each); the index changed %d times; the "
          "daemon's own histogram: %d batches, mean %.3f s from the watch event's receipt"
          % (res["lat_n"], res["upgrades_s"], res["upgrades_s"] / res["lat_n"],
             res["index_changes"], res["daemon_batches"], res["daemon_mean_s"]))
    print("a batch (the watched changes applied to the daemon's snapshot, their records "
          "stored, index.json committed; a batch after a watch restart lists the cluster) took "
          "%.3f s on average (the daemon's histogram); a metadata-only LIST of the %d release "
          "Secrets alone takes %.3f s from this script; debounce: see core/daemon/daemon.c "
          "(DEBOUNCE_MS, DEBOUNCE_CAP_MS)" % (res["batch_mean_s"], res["records"], res["meta_list_s"]))
    print("idle window %.0f s: %d resyncs; requests by verb %s; the daemon's own count of "
          "bytes received (after gzip decoding): %d per minute"
          % (res["idle_seconds"], res["idle_resyncs"], json.dumps(res["idle_by_verb"]),
             res["idle_daemon_bytes_min"]))
    print("%d cycles (%d resyncs, %d batches; a release Secret rewritten every 100) in %.0f s; "
          "RSS KiB / fds every 100 cycles: %s"
          % (res["cycles"], res["cycles_resyncs"], res["cycles_batches"], res["cycles_s"],
             " ".join("%d/%d" % (s[1], s[2]) for s in res["samples"])))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
