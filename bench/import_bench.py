#!/usr/bin/env python3
"""Import benchmark: N Helm releases of tests/charts/plain (21 objects of 21 kinds each,
cluster-scoped ones included) restored into a fresh fake API server (tests/fakekube) by
`releasemanager import`, against a loop of `kubectl apply -f` of the same rendered
manifests into another fresh fake server, in the same run.

The releases: one real `helm install` of the chart on a source fake server, its record
cloned N times under other names and namespaces (names in the manifest follow), loaded
as Helm's Secrets and exported by `releasemanager export` (the store import reads).
Namespaces exist on both targets beforehand.  Each run is checked afterwards (N
Deployments; for import, N releases in `helm list -A`).  Prints a Markdown table for
bench/RESULTS.md.

  python3 bench/import_bench.py --rm BUILD/releasemanager --plugins BUILD/plugins/local/.libs [-n 100]
"""
import argparse, base64, gzip, json, os, resource, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
import fakekube_util as fku  # noqa: E402

CHART = os.path.join(HERE, "..", "tests", "charts", "plain")
NSS = 10


def secret_for(rel):
    blob = base64.b64encode(gzip.compress(json.dumps(rel).encode(), mtime=0)).decode()
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {"name": "sh.helm.release.v1.%s.v1" % rel["name"],
                     "namespace": rel["namespace"],
                     "labels": {"name": rel["name"], "owner": "helm", "status": "deployed",
                                "version": "1"}},
        "data": {"release": base64.b64encode(blob.encode()).decode()},
    }


def timed(cmd, env=None, shell=False):
    """Wall seconds, peak RSS (KiB, GNU time; for a shell loop the largest process) and
    stdout of one command."""
    t = ["/usr/bin/time", "-f", "%M"] + (["sh", "-c", cmd] if shell else cmd)
    t0 = time.monotonic()
    p = subprocess.run(t, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s\n%s" % (cmd, p.stdout[-2000:], p.stderr[-2000:]))
    return wall, int(p.stderr.strip().splitlines()[-1]), p.stdout


def count(fk, path):
    st, body = fk.get_json(path)
    assert st == 200, (path, st)
    return len(body["items"])


def namespaces():
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns%02d" % i}}
            for i in range(NSS)]


def dry_run_only(a, tools, store, nobj, load0):
    """import --dry-run of the store, timed per build (median of --repeat, alternating)."""
    builds = [("this build", a.rm)] + ([("--before", a.before)] if a.before else [])
    times = {n: [] for n, _ in builds}
    cpu = {n: [] for n, _ in builds}      # user + system seconds: less sensitive to load
    rss = {n: 0 for n, _ in builds}
    with fku.FakeKube(tools=tools) as fk:
        fk.load(namespaces())
        for _ in range(a.repeat):
            for name, rm in builds:
                cmd = [rm, "import", "local", "--plugin-dir", a.plugins, "--path", store,
                       "--kubeconfig", fk.kubeconfig, "--dry-run"]
                ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                w, r, out = timed(cmd)
                ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                assert "%d to restore" % a.n in out, out[-2000:]
                times[name].append(w)
                cpu[name].append(ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime)
                rss[name] = max(rss[name], r)
    load1 = os.getloadavg()
    print("import --dry-run, N = %d releases of tests/charts/plain (%d objects each); "
          "%d CPUs, load %.1f before, %.1f after" % (a.n, nobj, os.cpu_count(), load0[0],
                                                     load1[0]))
    print()
    print("| build | wall s (median of %d) | runs | CPU s, user+sys (median) | peak RSS MiB |"
          % a.repeat)
    print("|---|---|---|---|---|")
    for name, _ in builds:
        t = sorted(times[name])
        c = sorted(cpu[name])
        print("| %s | %.2f | %s | %.2f | %.1f |" % (name, t[len(t) // 2],
                                                   ", ".join("%.2f" % x for x in times[name]),
                                                   c[len(c) // 2], rss[name] / 1024))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rm", required=True)
    ap.add_argument("--plugins", required=True)
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--kubectl-parallel", type=int, default=8,
                    help="also run the kubectl loop with xargs -P this many (0: no)")
    ap.add_argument("--dry-run-only", action="store_true",
                    help="time only `import --dry-run` (the reading, parsing, conversion "
                    "and record checks, no write), --repeat times")
    ap.add_argument("--before", metavar="RM",
                    help="with --dry-run-only: also time this other build, alternating")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tools = fku.find_tools()
    work = tempfile.mkdtemp(prefix="rm-import-bench-")
    store = os.path.join(work, "store")
    mdir = os.path.join(work, "manifests")
    os.makedirs(mdir)
    load0 = os.getloadavg()

    # The store: one real release, cloned.
    with fku.FakeKube(tools=tools) as src:
        src.helm3("install", "benchrel", CHART, "-n", "benchns", "--create-namespace")
        st, sec = src.get_json("/api/v1/namespaces/benchns/secrets/sh.helm.release.v1.benchrel.v1")
        text = json.dumps(fku.decode_release(sec))
        src.load(namespaces())
        objs, jobs = [], []
        for i in range(a.n):
            name, ns = "r%03d" % i, "ns%02d" % (i % NSS)
            rel = json.loads(text.replace("benchrel", name).replace("benchns", ns))
            objs.append(secret_for(rel))
            f = os.path.join(mdir, "%s.yaml" % name)
            with open(f, "w") as out:
                out.write(rel["manifest"])
            jobs.append("%s %s" % (ns, f))
        for i in range(0, len(objs), 50):
            src.load(objs[i:i + 50])
        p = subprocess.run([a.rm, "export", "local", "--plugin-dir", a.plugins, "--path", store,
                            "--fsync", "false", "--kubeconfig", src.kubeconfig, "-n",
                            ",".join("ns%02d" % i for i in range(NSS))],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
    with open(os.path.join(work, "jobs"), "w") as f:
        f.write("\n".join(jobs) + "\n")
    nobj = sum(1 for d in open(os.path.join(mdir, "r000.yaml")).read().split("\n---")
               if "kind:" in d)

    if a.dry_run_only:
        dry_run_only(a, tools, store, nobj, load0)
        shutil.rmtree(work, ignore_errors=True)
        return
    rows = []
    with fku.FakeKube(tools=tools) as fk:
        fk.load(namespaces())
        fk.reset_log()
        cmd = [a.rm, "import", "local", "--plugin-dir", a.plugins, "--path", store,
               "--kubeconfig", fk.kubeconfig]
        w, r, out = timed(cmd)
        assert "%d restored, 0 skipped, 0 failed" % a.n in out, out[-2000:]
        q = len(fk.requests())
        assert count(fk, "/apis/apps/v1/deployments") == a.n
        got = json.loads(fk.helm3("list", "-A", "--max", "0", "-o", "json").stdout)
        assert len(got) == a.n and all(x["status"] == "deployed" for x in got), len(got)
        rows.append(("releasemanager import (--threads 50)", w, r, q))
    with fku.FakeKube(tools=tools) as fk:
        fk.load(namespaces())
        fk.reset_log()
        w, r, out = timed(cmd[:-1] + [fk.kubeconfig, "--threads", "1"])
        assert "%d restored" % a.n in out
        rows.append(("releasemanager import --threads 1", w, r, len(fk.requests())))
    kubectl = tools["kubectl"]
    with fku.FakeKube(tools=tools) as fk:
        fk.load(namespaces())
        fk.reset_log()
        loop = ('while read ns f; do "%s" apply -n "$ns" -f "$f" >/dev/null || exit 1; done < %s'
                % (kubectl, os.path.join(work, "jobs")))
        w, r, _ = timed(loop, env=fk.env(), shell=True)
        assert count(fk, "/apis/apps/v1/deployments") == a.n
        rows.append(("kubectl apply loop (sequential)", w, r, len(fk.requests())))
    if a.kubectl_parallel:
        with fku.FakeKube(tools=tools) as fk:
            fk.load(namespaces())
            fk.reset_log()
            par = ("xargs -P %d -L 1 sh -c '\"%s\" apply -n \"$0\" -f \"$1\" >/dev/null' < %s"
                   % (a.kubectl_parallel, kubectl, os.path.join(work, "jobs")))
            w, r, _ = timed(par, env=fk.env(), shell=True)
            assert count(fk, "/apis/apps/v1/deployments") == a.n
            rows.append(("kubectl apply, xargs -P %d" % a.kubectl_parallel, w, r,
                         len(fk.requests())))
    load1 = os.getloadavg()

    base = rows[2][1]
    print("N = %d releases of tests/charts/plain, %d objects each (%d in all), %d namespaces;"
          % (a.n, nobj, a.n * nobj, NSS))
    print("%d CPUs, load average %.1f before, %.1f after (1 min)" %
          (os.cpu_count(), load0[0], load1[0]))
    print()
    print("| run | wall s | kubectl loop / run | peak RSS MiB | API requests |")
    print("|---|---|---|---|---|")
    for name, w, r, q in rows:
        print("| %s | %.2f | %.2fx | %.1f | %d |" % (name, w, base / w, r / 1024, q))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
