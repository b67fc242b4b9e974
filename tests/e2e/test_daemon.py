#!/usr/bin/env python3
"""End-to-end tests of `releasemanager export --daemon` (issue 13): the REAL program as a
subprocess (local backend from the build tree) against the fake Kubernetes API server
(tests/fakekube/), with releases installed, upgraded, rolled back and uninstalled by real
helm 3.

Each test starts its own daemon on a free port of 127.0.0.1 and a store of its own, and
waits (bounded generously, never timed) until the store's index.json says what the
cluster holds: no assertion depends on how fast the machine is.

Exit 77 (skip) with the reason when helm/kubectl (tests/fakekube/get-tools.sh), openssl or
the program under test is missing."""

import json
import os
import re
import shutil
import signal
import socket  # noqa: F401
import stat  # noqa: F401
import subprocess
import sys
import tempfile  # noqa: F401
import time
import unittest
import urllib.error  # noqa: F401
import urllib.request  # noqa: F401

import e2elib
from e2elib import PLUGIN_DIR, RM_BIN, SRCDIR, fku, http_get, newdir
from e2elib import BUILDDIR  # noqa: F401

PLAIN = os.path.join(SRCDIR, "tests", "charts", "plain")
TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()
FK = None           # the fake API server of every test, set by setUpModule()
# The bound on every wait: far above what any step needs, so that a slow machine only
# makes the test slower.
WAIT = 60


def wait_for(what, fn, timeout=WAIT, step=0.1):
    """Poll fn until it returns a true value; fail naming what after timeout."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
        except (OSError, ValueError) as e:
            last = e
            if isinstance(e, AssertionError):
                raise
        else:
            if last:
                return last
        time.sleep(step)
    raise AssertionError("waited %d s for %s; last: %r" % (timeout, what, last))


def cluster_keys(namespaces):
    """{(namespace, release, revision): status} of the Helm records the server holds."""
    st, body = FK.get_json("/api/v1/secrets?labelSelector=owner%3Dhelm")
    assert st == 200
    out = {}
    for o in body["items"]:
        md = o["metadata"]
        if md["namespace"] not in namespaces:
            continue
        lb = md.get("labels", {})
        out[(md["namespace"], lb["name"], int(lb["version"]))] = lb.get("status")
    return out


def store_keys(path, namespaces):
    """The same, from the store's index.json (None when there is none)."""
    try:
        with open(os.path.join(path, "index.json")) as f:
            ix = json.load(f)
    except FileNotFoundError:
        return None
    return {(r["namespace"], r["release"], r["revision"]): r.get("status")
            for r in ix["records"] if r["namespace"] in namespaces}


class Daemon:
    """One `export --daemon` subprocess."""

    _n = 0

    def __init__(self, path, *extra, port=None):
        self.path = path
        # Port 0 unless a test needs a given one: the daemon binds a free port and logs
        # it (no port picked here that another program could take first).
        self.port = port
        Daemon._n += 1
        self.log = open(os.path.join(WORK, "daemon-%d.log" % Daemon._n), "w+")
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("RELEASEMANAGER_") or k in ("KUBECONFIG", "HELM_DRIVER"):
                del env[k]
        argv = [RM_BIN, "export", "local", "--path", path, "--fsync", "false",
                "--plugin-dir", PLUGIN_DIR, "--kubeconfig", FK.kubeconfig, "--daemon",
                "--listen", "127.0.0.1:%d" % (port or 0), "--verbose"] + list(extra)
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.log.close()
        self.log = open(self.log.name)

    def get(self, what):
        """(status, body) of GET /what (ValueError until the daemon has logged its port:
        wait_for polls on)."""
        if self.port is None:
            m = re.search(r"daemon: serving .* on port (\d+);", self.output())
            if not m:
                raise ValueError("the daemon has not logged its port yet")
            self.port = int(m.group(1))
        return http_get(self.port, what)

    def metric(self, name):
        st, body = self.get("metrics")
        for line in body.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                if line.split(" ")[0] == name or name.endswith("}"):
                    return float(line.split(" ")[-1])
        return None

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def wait_ready(self):
        wait_for("daemon /readyz 200\n" + self.output_tail(),
                 lambda: self.p.poll() is None and self.get("readyz")[0] == 200)

    def output_tail(self):
        return "\n".join(self.output().splitlines()[-30:])

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("the daemon did not stop on signal %d\n%s" % (sig, self.output_tail()))


class DaemonCase(unittest.TestCase):
    def start(self, path, *extra, **kw):
        d = Daemon(path, *extra, **kw)
        self.addCleanup(lambda: d.p.poll() is None and (d.p.kill(), d.p.wait()))
        self.addCleanup(d.log.close)
        return d

    def following(self, ns, release, store, *args):
        """release installed by helm in ns (created), a daemon started with args on a
        new store: (the daemon, the store's path) once ready and the first full sync is
        in the store."""
        FK.helm3("install", release, PLAIN, "-n", ns, "--create-namespace")
        path = newdir(store)
        d = self.start(path, *args)
        d.wait_ready()
        self.assertFollows(d, ns, "the first full sync")
        return d, path

    def assertFollows(self, d, ns, what):
        """Wait until the store's index lists exactly the cluster's records of ns."""
        def same():
            want = cluster_keys({ns})
            got = store_keys(d.path, {ns})
            return got == want and (got, want)
        try:
            wait_for(what, same)
        except AssertionError as e:
            raise AssertionError("%s\ncluster %r\nstore %r\n%s" % (
                e, cluster_keys({ns}), store_keys(d.path, {ns}), d.output_tail()))

    def test_1_follows_helm(self):
        """install, upgrade, rollback, uninstall with real helm: the index follows each,
        each as one committed snapshot; /releases lists the stored records; idle resyncs
        write nothing."""
        ns = "d1"
        d, path = self.following(ns, "web", "follow", "-p", "2")
        self.assertEqual(d.get("healthz")[0], 200)
        FK.helm3("upgrade", "web", PLAIN, "-n", ns, "--set", "message=two")
        self.assertFollows(d, ns, "helm upgrade")
        self.assertEqual(store_keys(path, {ns})[(ns, "web", 1)], "superseded")
        FK.helm3("rollback", "web", "1", "-n", ns)
        self.assertFollows(d, ns, "helm rollback")
        self.assertEqual(store_keys(path, {ns})[(ns, "web", 3)], "deployed")
        FK.helm3("install", "api", PLAIN, "-n", ns, "--set", "message=api")
        self.assertFollows(d, ns, "second helm install")
        FK.helm3("uninstall", "web", "-n", ns)
        self.assertFollows(d, ns, "helm uninstall")
        self.assertNotIn((ns, "web", 1), store_keys(path, {ns}))
        # /releases is published right after the commit (a batch takes milliseconds now).
        def releases_match():
            st, body = d.get("releases")
            with open(os.path.join(path, "index.json")) as f:
                keys = sorted(r["key"] for r in json.load(f)["records"])
            return st == 200 and sorted(json.loads(body)) == keys
        wait_for("/releases lists the stored records", releases_match)
        self.assertGreaterEqual(d.metric("releasemanager_store_records"), 1)
        self.assertGreater(d.metric("releasemanager_change_to_backup_latency_seconds_count"), 0)
        # Idle: two resyncs (every 2 s) later the index file is the same file, untouched,
        # and no record was read from the cluster by a GET of one object.
        ino = os.stat(os.path.join(path, "index.json"))
        since = len(FK.requests())
        n0 = d.metric('releasemanager_sync_duration_seconds_count{kind="resync"}') or 0
        wait_for("two idle resyncs",
                 lambda: (d.metric('releasemanager_sync_duration_seconds_count{kind="resync"}')
                          or 0) >= n0 + 2)
        ino2 = os.stat(os.path.join(path, "index.json"))
        self.assertEqual((ino.st_ino, ino.st_mtime_ns), (ino2.st_ino, ino2.st_mtime_ns),
                         "an idle resync rewrites nothing")
        gets = [r for r in FK.requests(since) if r.get("verb") == "get"
                and "/secrets/" in r.get("path", "")]
        self.assertEqual(gets, [], "an idle resync reads no record")
        # /metrics passes Prometheus' own checker (Debian package prometheus), when here.
        if shutil.which("promtool"):
            st, text = d.get("metrics")
            self.assertEqual(st, 200)
            p = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout)
        # SIGHUP without a configuration file: said, and the daemon runs on
        # (test_8_sighup reloads one).
        d.p.send_signal(signal.SIGHUP)
        wait_for("SIGHUP answered", lambda: "SIGHUP: read" in d.output())
        self.assertIn("nothing to change", d.output())
        self.assertIsNone(d.p.poll())
        # index.json deleted behind the daemon's back: the next resync writes it again.
        os.unlink(os.path.join(path, "index.json"))
        self.assertFollows(d, ns, "index.json deleted: repaired by a resync")
        self.assertEqual(d.stop(), 0, d.output_tail())
        self.assertFalse(os.path.exists(os.path.join(path, "lock.json")), "store lock released")

    def test_2_watch_gone_and_dropped(self):
        """410 after compaction, and a watch stream dropped mid-way: the daemon lists
        again, resumes, and misses nothing."""
        ns = "d2"
        d, path = self.following(ns, "a", "gone", "-p", "600")
        # Compaction: the server ends the watches with an ERROR event 410 Expired.
        g0 = d.metric('releasemanager_watch_restarts_total{reason="gone"}')
        FK.compact()
        wait_for("the watches restarted after 410",
                 lambda: d.metric('releasemanager_watch_restarts_total{reason="gone"}') > g0)
        FK.helm3("upgrade", "a", PLAIN, "-n", ns, "--set", "message=x")
        self.assertFollows(d, ns, "an upgrade after compaction (410)")
        # A dropped stream (the connection closed after one event): the fault takes the
        # next watch of Secrets; end the current one with another compaction.
        FK.add_fault(verb="watch", path="/secrets", action="drop-stream", afterEvents=1)
        d0 = d.metric('releasemanager_watch_restarts_total{reason="dropped"}')
        g1 = d.metric('releasemanager_watch_restarts_total{reason="gone"}')
        FK.compact()
        wait_for("the watches restarted after 410",
                 lambda: d.metric('releasemanager_watch_restarts_total{reason="gone"}') > g1)
        FK.helm3("upgrade", "a", PLAIN, "-n", ns, "--set", "message=y")
        wait_for("the dropped watch restarted",
                 lambda: d.metric('releasemanager_watch_restarts_total{reason="dropped"}') > d0)
        FK.helm3("install", "b", PLAIN, "-n", ns, "--set", "message=b")
        self.assertFollows(d, ns, "changes across a dropped watch stream")
        FK.clear_faults()
        self.assertEqual(d.stop(), 0, d.output_tail())

    def test_3_backend_down_then_up(self):
        """The store's directory gone (a file in its place: every write fails, for root
        too): cycles fail, /healthz 503 after 2 of them in a row, the daemon keeps
        running; the directory back: it catches up, /healthz 200 again."""
        ns = "d3"
        d, path = self.following(ns, "c", "down", "-p", "600", "--unhealthy-after", "2")
        away = path + ".away"
        os.rename(path, away)
        with open(path, "w") as f:
            f.write("not a directory\n")
        try:
            FK.helm3("upgrade", "c", PLAIN, "-n", ns, "--set", "message=down")
            wait_for("/healthz 503", lambda: d.get("healthz")[0] == 503)
            self.assertIn("failed in a row", d.get("healthz")[1])
            self.assertEqual(d.metric("releasemanager_consecutive_failed_cycles") >= 2, True)
            self.assertIsNone(d.p.poll(), "the daemon keeps running")
        finally:
            os.unlink(path)
            os.rename(away, path)
        self.assertFollows(d, ns, "the store back")
        wait_for("/healthz 200", lambda: d.get("healthz")[0] == 200)
        self.assertGreater(d.metric('releasemanager_errors_total{kind="commit"}')
                           + d.metric('releasemanager_errors_total{kind="backend"}'), 0)
        self.assertEqual(d.stop(), 0, d.output_tail())

    def test_4_sigterm_mid_batch(self):
        """SIGTERM as the last change of an upgrade arrives (a batch of watched changes
        makes no request the server could hold, so the signal lands in the debounce
        window or in the batch): exit 0, the changes committed (the index lists the
        upgrade), every record the index lists stored, the lock released."""
        ns = "d4"
        d, path = self.following(ns, "e", "term", "-p", "600", "--debug")
        FK.helm3("upgrade", "e", PLAIN, "-n", ns, "--set", "message=t1")
        # helm's last write of an upgrade: the new revision marked deployed.
        wait_for("the upgrade's last event received",
                 lambda: "watch secrets: modified %s/sh.helm.release.v1.e.v2" % ns in d.output())
        self.assertEqual(d.stop(), 0, d.output_tail())
        self.assertEqual(store_keys(path, {ns}), cluster_keys({ns}), d.output_tail())
        with open(os.path.join(path, "index.json")) as f:
            ix = json.load(f)
        for r in ix["records"]:
            self.assertTrue(os.path.exists(os.path.join(path, r["key"])), r["key"])
        self.assertFalse(os.path.exists(os.path.join(path, "lock.json")), "store lock released")
        self.assertIn("daemon: stopped", d.output())
        FK.clear_faults()

    def test_5_two_replicas_one_lease(self):
        """Two daemons with one Lease: one writes, the other stands by (ready, healthy);
        when the leader stops, the other takes over and follows the cluster."""
        ns = "d5"
        FK.helm3("install", "f", PLAIN, "-n", ns, "--create-namespace")
        path = newdir("lease")
        lease = ["--leader-elect", "--lease-namespace", "default", "--lease-name", "rm-test",
                 "--lease-duration", "20s", "--renew-deadline", "15s", "--retry-period", "1s",
                 "-p", "600"]
        a = self.start(path, *lease)
        wait_for("a leads", lambda: a.metric("releasemanager_leader") == 1)
        b = self.start(path, *lease)
        a.wait_ready()
        b.wait_ready()
        self.assertEqual(b.get("healthz")[0], 200)
        self.assertEqual(b.metric("releasemanager_leader"), 0)
        FK.helm3("upgrade", "f", PLAIN, "-n", ns, "--set", "message=lease")
        self.assertFollows(a, ns, "the leader exports")
        self.assertEqual(b.metric("releasemanager_leader"), 0, "only one leader")
        self.assertEqual(b.metric('releasemanager_sync_duration_seconds_count{kind="full"}') or 0, 0,
                         "the standby never ran a sync")
        st, lease_obj = FK.get_json("/apis/coordination.k8s.io/v1/namespaces/default/leases/rm-test")
        self.assertEqual(st, 200)
        self.assertEqual(a.stop(), 0, a.output_tail())
        wait_for("b leads", lambda: b.metric("releasemanager_leader") == 1)
        FK.helm3("upgrade", "f", PLAIN, "-n", ns, "--set", "message=b")
        self.assertFollows(b, ns, "the new leader exports")
        self.assertEqual(b.stop(), 0, b.output_tail())

    def test_6_leases_forbidden(self):
        """Leader election on by default (a namespace is known) but the service account
        may not touch Leases (the original chart grants none): the daemon says so and
        writes alone rather than standing by forever."""
        ns = "d6"
        FK.helm3("install", "g", PLAIN, "-n", ns, "--create-namespace")
        FK.add_fault(path="/leases", status=403, count=-1)
        try:
            d = self.start(newdir("forbidden"), "--lease-namespace", "default", "-p", "600")
            d.wait_ready()
            self.assertFollows(d, ns, "the sync without a Lease")
        finally:
            FK.clear_faults()
        self.assertIn("leader election off", d.output())
        self.assertEqual(d.metric("releasemanager_leader"), 1)
        self.assertEqual(d.stop(), 0, d.output_tail())

    def test_7_bad_options(self):
        for extra, word in ((["--listen", "nowhere"], "--listen"),
                            (["--unhealthy-after", "0"], "--unhealthy-after"),
                            (["--leader-elect", "--lease-duration", "2s", "--renew-deadline",
                              "3s", "--lease-namespace", "x"], "lease"),
                            (["--retry-period", "soon"], "--retry-period"),
                            (["-p", "5ms"], "--polling-interval"),
                            (["-p", "1.5"], "--polling-interval"),
                            (["-p", "0.5s0"], "--polling-interval")):
            p = subprocess.run([RM_BIN, "export", "local", "--path", newdir("bad"),
                                "--plugin-dir", PLUGIN_DIR, "--kubeconfig", FK.kubeconfig,
                                "--daemon"] + extra, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, "%r\n%s" % (extra, p.stderr))
            self.assertIn(word, p.stderr)

    def test_8_sighup(self):
        """SIGHUP reads the configuration file again: the polling interval, debug, dry-run
        and the namespace filters apply from the next cycle; what needs a restart (the
        release name, threads, the lease options) is named and kept; a file that no longer parses (FILE:LINE) or a bad
        value keeps what is in effect; the daemon never dies of it."""
        ns, other = "d8", "d8x"
        FK.helm3("install", "web", PLAIN, "-n", ns, "--create-namespace")
        FK.helm3("install", "web", PLAIN, "-n", other, "--create-namespace")
        path = newdir("hup")
        cfg = os.path.join(newdir("hup-cfg"), "config.yaml")

        def write(text):
            with open(cfg + ".new", "w") as f:
                f.write(text)
            os.rename(cfg + ".new", cfg)

        def hup(n):
            """Send SIGHUP and wait for the n-th answer (a SIGHUP line naming the result)."""
            d.p.send_signal(signal.SIGHUP)
            wait_for("SIGHUP answer %d" % n,
                     lambda: len([ln for ln in d.output().splitlines()
                                  if "SIGHUP: read" in ln or "keeping the configuration" in ln]) >= n)

        def resyncs():
            return d.metric('releasemanager_sync_duration_seconds_count{kind="resync"}') or 0

        write("polling-interval: 3600\n")
        d = self.start(path, "--config", cfg)
        d.wait_ready()
        self.assertFollows(d, ns, "the first full sync")
        self.assertFollows(d, other, "the first full sync")
        self.assertEqual(resyncs(), 0)

        # Live: interval, debug, a namespace excluded.  Restart-only: named, kept.
        write("polling-interval: 1\ndebug: true\nexclude-namespaces: [%s]\n"
              "release-name: other\nthreads: 3\nlease-duration: 99s\n"
              "path: /nowhere\n" % other)
        hup(1)
        out = d.output()
        self.assertIn("applied debug, polling-interval, exclude-namespaces", out)
        for key in ("release-name", "threads", "lease-duration"):
            self.assertIn("SIGHUP: '%s' changed (now from %s:" % (key, cfg), out)
        # The command line still wins over the file (--path): nothing changed there.
        self.assertNotIn("'path' changed", out)
        n = resyncs()
        wait_for("resyncs every second now", lambda: resyncs() >= n + 2)
        self.assertIn("debug:", d.output())
        FK.helm3("install", "api", PLAIN, "-n", ns)
        FK.helm3("install", "api", PLAIN, "-n", other)
        self.assertFollows(d, ns, "install after SIGHUP")
        self.assertNotIn((other, "api", 1), store_keys(path, {other}), "excluded namespace")
        self.assertIn((other, "web", 1), store_keys(path, {other}), "kept outside the filter")
        self.assertEqual(d.get("healthz")[0], 200, "still listening where it started")

        # A file that no longer parses: FILE:LINE, the configuration in effect kept.
        write("polling-interval: 1\ndebug: true\nnamespaces: [unclosed\n")
        hup(2)
        line = [ln for ln in d.output().splitlines() if "keeping the configuration" in ln][-1]
        self.assertRegex(line, re.escape(cfg) + r":\d+")
        self.assertIsNone(d.p.poll())
        n = resyncs()
        wait_for("resyncs go on", lambda: resyncs() >= n + 1)
        FK.helm3("upgrade", "api", PLAIN, "-n", ns, "--set", "message=two")
        self.assertFollows(d, ns, "upgrade after a broken configuration")

        # A bad value: named with its line, the value in effect kept.
        write("polling-interval: soon\ndebug: true\nexclude-namespaces: [%s]\n" % other)
        hup(3)
        self.assertRegex(d.output(), re.escape(cfg) + r":1: polling-interval: 'soon' is neither "
                         r"whole seconds .*; keeping 1000ms")
        n = resyncs()
        wait_for("resyncs go on every second", lambda: resyncs() >= n + 1)

        # Dry run on: the next change is only printed; off again: written.
        write("polling-interval: 1\ndry-run: true\nexclude-namespaces: [%s]\n" % other)
        hup(4)
        self.assertFalse(os.path.exists(os.path.join(path, "lock.json")), "lock given up")
        FK.helm3("install", "dry", PLAIN, "-n", ns)
        wait_for("the dry run's line", lambda: "would put releases/%s/dry/1." % ns in d.output())
        self.assertNotIn((ns, "dry", 1), store_keys(path, {ns}))
        write("polling-interval: 1\nexclude-namespaces: [%s]\n" % other)
        hup(5)
        self.assertFollows(d, ns, "dry run turned off")
        self.assertEqual(d.stop(), 0, d.output_tail())

    def test_9_json_log_fields(self):
        """--log-format json: every line is one JSON object; every line of a sync cycle
        carries the cycle's id and kind, a record's lines its namespace, release, revision
        and action, a cycle's summary its action and duration, as keys."""
        ns = "d9"
        FK.helm3("install", "web", PLAIN, "-n", ns, "--create-namespace")
        path = newdir("json")
        # --keep-last 1: the uninstalled release's records are deleted at once (the
        # "deleted" lines below), not kept for past snapshots.
        d = self.start(path, "--log-format", "json", "-p", "1", "--keep-last", "1")
        d.wait_ready()
        self.assertFollows(d, ns, "the first full sync")
        FK.helm3("upgrade", "web", PLAIN, "-n", ns, "--set", "message=two")
        self.assertFollows(d, ns, "helm upgrade")
        FK.helm3("uninstall", "web", "-n", ns)
        self.assertFollows(d, ns, "helm uninstall")
        self.assertEqual(d.stop(), 0, d.output_tail())
        lines = [json.loads(ln) for ln in d.output().splitlines()]   # each one JSON
        self.assertTrue(lines)
        for o in lines:
            for k in ("time", "level", "msg"):
                self.assertIn(k, o)
        cycles = [o for o in lines if "cycle" in o]
        self.assertTrue(cycles)
        for o in cycles:
            self.assertIsInstance(o["cycle"], int)
            self.assertIn(o["sync"], ("full", "batch", "resync"), o)
        stored = [o for o in lines if o["msg"].startswith("stored releases/%s/" % ns)]
        self.assertGreaterEqual(len(stored), 2)
        for o in stored:
            key = o["msg"].split()[1].split("/")
            self.assertEqual((o["namespace"], o["release"], o["revision"], o["action"]),
                             (key[1], key[2], int(key[3].split(".")[0]), "store"), o)
            self.assertIn("cycle", o)
        summaries = [o for o in cycles if " sync: " in o["msg"]]
        self.assertTrue(summaries)
        for o in summaries:
            self.assertEqual(o["action"], "sync", o)
            self.assertIsInstance(o["duration"], (int, float))
        deleted = [o for o in lines if o["msg"].startswith("deleted releases/%s/" % ns)]
        self.assertTrue(deleted)
        for o in deleted:
            self.assertEqual(o["action"], "commit", o)
            self.assertIn("cycle", o)
        ids = [o["cycle"] for o in cycles]
        self.assertEqual(ids, sorted(ids), "cycle ids count up")
        self.assertGreaterEqual(len(set(ids)), 3, "full, upgrade, uninstall")

    def test_10_metrics_count_every_request_and_corrupt_once(self):
        """/metrics counts the engine's own requests (it alone GETs release records and
        puts them), by operation and result; a corrupt record is counted once, not again
        on every resync; -p takes a duration shorter than a second."""
        ns = "d10"
        # The corrupt records go at the end: the other tests' idle resyncs read no record.
        self.addCleanup(FK.kubectl, "delete", "secret", "-n", ns, "--ignore-not-found",
                        "sh.helm.release.v1.broken.v1", "sh.helm.release.v1.broken2.v1")
        FK.helm3("install", "m", PLAIN, "-n", ns, "--create-namespace")
        FK.load([{"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                  "metadata": {"name": "sh.helm.release.v1.broken.v1", "namespace": ns,
                               "labels": {"owner": "helm", "name": "broken", "version": "1",
                                          "status": "deployed"}},
                  "data": {"release": "bm90IGd6aXA="}}])
        path = newdir("metrics")
        d = self.start(path, "-p", "200ms")
        d.wait_ready()
        wait_for("the release exported", lambda: (store_keys(path, {ns}) or {}).get(
            (ns, "m", 1)) == "deployed")
        self.assertIn("resync every 0.2 s", d.output())

        def api(op, result="ok"):
            return d.metric('releasemanager_api_requests_total{operation="%s",result="%s"}'
                            % (op, result)) or 0

        def backend(op, result="ok"):
            return d.metric('releasemanager_backend_requests_total{operation="%s",result="%s"}'
                            % (op, result)) or 0
        # The first full export's requests, counted in the client and the backend.
        self.assertGreater(api("list"), 0)
        self.assertGreater(api("get"), 0)         # the cluster's identity, the records
        self.assertGreater(backend("put"), 0)     # the record, the index, the lock
        self.assertGreater(backend("get") + backend("stat") + backend("list"), 0)
        self.assertGreater(d.metric("releasemanager_api_received_bytes_total"), 0)
        # Ten resyncs later: the corrupt record still counted once.
        n0 = d.metric('releasemanager_sync_duration_seconds_count{kind="resync"}') or 0
        wait_for("ten resyncs",
                 lambda: (d.metric('releasemanager_sync_duration_seconds_count{kind="resync"}')
                          or 0) >= n0 + 10)
        self.assertEqual(d.metric('releasemanager_errors_total{kind="record"}'), 1,
                         d.output_tail())
        self.assertEqual(d.output().count("broken"), 1, "warned once:\n" + d.output_tail())
        # A second corrupt record: one more.
        FK.load([{"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                  "metadata": {"name": "sh.helm.release.v1.broken2.v1", "namespace": ns,
                               "labels": {"owner": "helm", "name": "broken2", "version": "1",
                                          "status": "deployed"}},
                  "data": {"release": "bm90IGd6aXA="}}])
        wait_for("the second corrupt record counted",
                 lambda: d.metric('releasemanager_errors_total{kind="record"}') == 2)
        # Each resync's LIST is counted as it is made (the engine's, not only the watches').
        l0 = api("list")
        wait_for("resync LISTs counted", lambda: api("list") >= l0 + 3)
        if shutil.which("promtool"):
            st, text = d.get("metrics")
            p = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(d.stop(), 0, d.output_tail())

    # ---- batches of watched changes (no LIST), scope, repair by the resync ----

    def own_requests(self, seq):
        """The daemon's requests logged at the server after seq (its User-Agent)."""
        return [r for r in FK.requests(seq) if r.get("userAgent", "").startswith("releasemanager/")]

    def last_seq(self):
        log = FK.requests()
        return log[-1]["seq"] if log else 0

    def test_11_batch_applies_watched_changes_without_listing(self):
        """A batch applies the watched changes to the snapshot it holds: install,
        upgrade and uninstall (DELETED events of every revision) reach the index, and the
        daemon makes no LIST and no GET for them (the watch events carry the records)."""
        ns = "d11"
        FK.helm3("install", "a", PLAIN, "-n", ns, "--create-namespace")
        path = newdir("batch")
        # Retention keeps the newest snapshot only: the uninstalled records go too.
        d = self.start(path, "-p", "600", "--keep-last", "1")
        d.wait_ready()
        self.assertFollows(d, ns, "the first full sync")
        seq = self.last_seq()
        b0 = d.metric('releasemanager_sync_duration_seconds_count{kind="batch"}') or 0
        FK.helm3("upgrade", "a", PLAIN, "-n", ns, "--set", "message=two")
        self.assertFollows(d, ns, "helm upgrade")
        FK.helm3("install", "b", PLAIN, "-n", ns, "--set", "message=b")
        self.assertFollows(d, ns, "helm install")
        with open(os.path.join(path, "index.json")) as f:
            a_keys = [r["key"] for r in json.load(f)["records"] if r["release"] == "a"]
        self.assertEqual(len(a_keys), 2)
        FK.helm3("uninstall", "a", "-n", ns)
        self.assertFollows(d, ns, "helm uninstall")
        self.assertEqual(sorted(k[2] for k in store_keys(path, {ns})), [1], "only b is left")
        self.assertEqual([k for k in store_keys(path, {ns}) if k[1] == "a"], [])
        wait_for("the uninstalled release's records deleted from the store",
                 lambda: not any(os.path.exists(os.path.join(path, k)) for k in a_keys))
        self.assertGreater(d.metric('releasemanager_sync_duration_seconds_count{kind="batch"}'), b0)
        mine = self.own_requests(seq)
        self.assertEqual([r for r in mine if r.get("verb") in ("list", "get")], [],
                         "a batch lists nothing and reads nothing: %r" % mine)
        self.assertEqual(d.stop(), 0, d.output_tail())

    def test_12_filtered_batch_stays_in_scope(self):
        """A daemon filtered by --exclude-namespaces watches the whole cluster: the
        changes outside its scope (an upgrade, an uninstall) are ignored, and the store's
        records outside it are never deleted; the changes inside are exported."""
        ns_in, ns_out = "d12a", "d12b"
        FK.helm3("install", "xin", PLAIN, "-n", ns_in, "--create-namespace")
        FK.helm3("install", "yout", PLAIN, "-n", ns_out, "--create-namespace")
        path = newdir("scope")
        # Both namespaces stored first, by an unfiltered daemon.
        d = self.start(path, "-p", "600")
        d.wait_ready()
        self.assertFollows(d, ns_in, "the first full sync")
        self.assertFollows(d, ns_out, "the first full sync")
        self.assertEqual(d.stop(), 0, d.output_tail())
        before = store_keys(path, {ns_out})
        with open(os.path.join(path, "index.json")) as f:
            y_keys = [r["key"] for r in json.load(f)["records"] if r["namespace"] == ns_out]
        d = self.start(path, "-p", "600", "--exclude-namespaces", ns_out)
        d.wait_ready()
        FK.helm3("upgrade", "yout", PLAIN, "-n", ns_out, "--set", "message=out")
        FK.helm3("upgrade", "xin", PLAIN, "-n", ns_in, "--set", "message=in")
        self.assertFollows(d, ns_in, "an upgrade in the scope")
        self.assertEqual(store_keys(path, {ns_out}), before, "the upgrade outside is ignored")
        FK.helm3("uninstall", "yout", "-n", ns_out)
        FK.helm3("upgrade", "xin", PLAIN, "-n", ns_in, "--set", "message=in2")
        self.assertFollows(d, ns_in, "a second upgrade in the scope")
        self.assertEqual(store_keys(path, {ns_out}), before,
                         "the uninstall outside the scope deletes nothing")
        for k in y_keys:
            self.assertTrue(os.path.exists(os.path.join(path, k)), k)
        self.assertEqual(d.stop(), 0, d.output_tail())

    def silence_secrets_watch(self, d):
        """From now on d's Secrets watch delivers nothing for 120 s (a stalled stream):
        the watches restarted (410 after a compaction) and the silent one started."""
        FK.add_fault(verb="watch", path="/secrets$", action="respond", status=200,
                     headers={"Content-Type": "application/json"},
                     stream=[{"line": "", "delay": 120}])
        g0 = d.metric('releasemanager_watch_restarts_total{reason="gone"}')
        FK.compact()
        wait_for("the watches restarted after 410",
                 lambda: d.metric('releasemanager_watch_restarts_total{reason="gone"}') > g0)
        wait_for("the silent watch started",
                 lambda: all(f["fired"] for f in FK.control("GET", "faults")))

    def test_13_missed_event_repaired_by_resync(self):
        """A change the watch never delivers (the Secrets watch answered by a silent
        stream after a restart) is exported by the next resync's metadata LIST."""
        ns = "d13"
        d, path = self.following(ns, "m", "missed", "-p", "2")
        self.silence_secrets_watch(d)
        r0 = d.metric('releasemanager_sync_duration_seconds_count{kind="resync"}') or 0
        FK.helm3("upgrade", "m", PLAIN, "-n", ns, "--set", "message=missed")
        self.assertFollows(d, ns, "an upgrade the watch missed")
        # Counted and logged after the commit that assertFollows saw: waited for too.
        wait_for("the resync counted", lambda: d.metric(
            'releasemanager_sync_duration_seconds_count{kind="resync"}') > r0)
        wait_for("the resync logged what it wrote", lambda: re.search(
            r"resync sync: \d+ release records: [1-9]\d* written", d.output()))
        FK.clear_faults()
        d.stop(signal.SIGKILL)      # the silent stream would hold a clean stop

    def test_14_idle_resync_requests(self):
        """An idle resync is one metadata-only LIST per driver (one page each, of up to
        5000), and reads neither a record nor the kube-system Namespace again."""
        ns = "d14"
        d, path = self.following(ns, "i", "idle", "-p", "1")
        key = 'releasemanager_sync_duration_seconds_count{kind="resync"}'
        wait_for("a first resync", lambda: (d.metric(key) or 0) >= 1)
        seq, r0 = self.last_seq(), d.metric(key)
        wait_for("five idle resyncs", lambda: (d.metric(key) or 0) >= r0 + 5)
        mine = self.own_requests(seq)
        r1 = d.metric(key)
        lists = [r for r in mine if r.get("verb") == "list"]
        self.assertEqual([r for r in mine if r.get("verb") == "get"], [],
                         "no GET in an idle resync: %r" % mine)
        self.assertTrue(all("limit=5000" in r["query"] for r in lists), lists)
        # Secrets and ConfigMaps (--helm-driver auto), for each resync counted, and at
        # most the next one's started meanwhile.
        self.assertGreaterEqual(len(lists), 2 * (r1 - r0) - 2, lists)
        self.assertLessEqual(len(lists), 2 * (r1 - r0 + 1), lists)
        self.assertEqual(d.stop(), 0, d.output_tail())

    def test_15_stop_exports_changes_not_delivered(self):
        """SIGTERM right after an upgrade the watch has not delivered (the Secrets watch
        answered by a silent stream, as in test 13, and no resync due for 10 minutes):
        the stop's last resync lists the cluster, so the store holds the upgrade, helm's
        final "deployed" and "superseded" included; exit 0, lock released."""
        ns = "d15"
        d, path = self.following(ns, "s", "laststop", "-p", "600")
        self.silence_secrets_watch(d)
        FK.helm3("upgrade", "s", PLAIN, "-n", ns, "--set", "message=last")
        self.assertEqual(cluster_keys({ns}), {(ns, "s", 1): "superseded", (ns, "s", 2): "deployed"})
        self.assertNotEqual(store_keys(path, {ns}), cluster_keys({ns}), "the watch delivered it")
        self.assertEqual(d.stop(), 0, d.output_tail())
        self.assertEqual(store_keys(path, {ns}), cluster_keys({ns}), d.output_tail())
        self.assertIn("stopping: a last resync", d.output())
        self.assertFalse(os.path.exists(os.path.join(path, "lock.json")), "store lock released")
        FK.clear_faults()


def setUpModule():
    global FK
    FK = fku.FakeKube(tools=TOOLS).start()


def tearDownModule():
    if FK:
        FK.stop()


def main():
    return e2elib.main("daemon", sys.modules[__name__], timing=False)


if __name__ == "__main__":
    sys.exit(main())
