#!/usr/bin/env python3
"""Leader election on a coordination.k8s.io/v1 Lease (core/kube/lease.c) against the fake
API server, through tests/kube/kube_watch_probe:
  - lease-steps: two contenders on clocks the probe steps, one attempt at a time: a creates
    the Lease and leads; b waits while a renews and until it has seen the record unchanged
    for leaseDurationSeconds by its own clock; b takes over (leaseTransitions 1); a's
    renewal gets a real 409 and a stops leading; b releases (holder empty, duration 1 s);
    a reads the released Lease but b writes first (409): a does not lead, and reading
    again it sees b;  never both leading;
  - two real processes (lease 6 s, renew deadline 4.5 s, retry 0.2 s: a stall of a few
    seconds on a loaded machine hands nothing over): exactly one leads;
    SIGSTOP the leader: the other takes over; SIGCONT: the old leader stops leading;
    SIGTERM the new leader: it releases and the other leads again;
  - the Lease with the real kubectl: create -f, get (HOLDER column), a stale update is 409.
Asserts states and their order, never timings.  Prints TAP; exit 77 when the fake server
or kubectl cannot run here."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading

TOP_SRC = os.environ.get("abs_top_srcdir") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP_BUILD = os.environ.get("abs_top_builddir") or os.getcwd()
PROBE = os.path.join(TOP_BUILD, "tests", "kube", "kube_watch_probe")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "fakekube"))
import fakekube_util as fku  # noqa: E402

if not fku.openssl_available():
    print("1..0 # SKIP the fake API server needs the openssl command")
    sys.exit(77)
try:
    TOOLS = fku.find_tools()
except fku.ToolsUnavailable as e:
    print("1..0 # SKIP %s" % e)
    sys.exit(77)

results = []


def check(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in json.dumps(detail, indent=1, default=str).splitlines()[:40]:
            print("#   " + line)
    sys.stdout.flush()


def lease_steps(kube):
    kube.kubectl("create", "namespace", "lease-steps")
    p = subprocess.run([PROBE, "--kubeconfig", kube.kubeconfig, "lease-steps"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    steps = {o["step"]: o for o in lines if "step" in o}
    check(p.returncode == 0 and len(steps) == 9, "lease-steps ran", [p.returncode, p.stderr, lines])
    if len(steps) != 9:
        return

    def st(name):
        o = steps[name]
        return (o["rc"], o["a"], o["b"], o["holder"], o["spec"].get("leaseTransitions"))

    check(st("a-creates") == ("OK", True, False, "a", 0)
          and steps["a-creates"]["spec"]["leaseDurationSeconds"] == 15
          and steps["a-creates"]["spec"]["acquireTime"] == steps["a-creates"]["spec"]["renewTime"],
          "a creates the Lease and leads", steps["a-creates"])
    check(st("b-sees-a") == ("OK", True, False, "a", 0), "b sees a holding it and waits", steps["b-sees-a"])
    a1, a2 = steps["a-creates"]["spec"], steps["a-renews"]["spec"]
    check(st("a-renews") == ("OK", True, False, "a", 0) and a2["acquireTime"] == a1["acquireTime"]
          and a2["renewTime"] >= a1["renewTime"],
          "a renews: renewTime moves, acquireTime stays", [a1, a2])
    check(st("b-waits") == ("OK", True, False, "a", 0),
          "b does not take a Lease renewed less than a lease duration ago (by b's clock)", steps["b-waits"])
    # (a's flag is its belief as of its own last attempt, 3 s ago by its clock: the test
    # stepped b's clock 25 s, a skew no renew deadline covers; a's next attempt corrects it)
    check(st("b-takes-over") == ("OK", True, True, "b", 1),
          "b takes over once the record stood still for a lease duration (transitions 1)",
          steps["b-takes-over"])
    check(st("a-sees-b") == ("OK", False, True, "b", 1),
          "a's renewal meets a 409, a reads again and stops leading", steps["a-sees-b"])
    rel = steps["b-releases"]
    check(st("b-releases")[:4] == ("OK", False, False, "") and rel["spec"]["leaseDurationSeconds"] == 1
          and rel["spec"]["leaseTransitions"] == 1,
          "b releases: holder empty, leaseDurationSeconds 1", rel)
    inter = [o for o in lines if "interleaved" in o]
    check(inter == [{"interleaved": "OK", "leading": True}]
          and st("a-conflicts")[:4] == ("CONFLICT", False, True, "b")
          and st("a-conflicts")[4] == 2,
          "a reads the released Lease, b writes first: a's write gets 409, a does not lead",
          [inter, steps["a-conflicts"]])
    check(st("a-rereads") == ("OK", False, True, "b", 2), "a reads again and sees b", steps["a-rereads"])


CONTENDERS = []     # the probe processes, killed at the end whatever happened


class Contender:
    def __init__(self, kube, ident):
        self.id = ident
        self.p = subprocess.Popen([PROBE, "--kubeconfig", kube.kubeconfig, "--duration", "6000",
                                   "--renew", "4500", "--retry", "200",
                                   "lease", "lease-run", "leader", ident],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        CONTENDERS.append(self.p)
        self.q = queue.Queue()
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            if line.strip():
                self.q.put(json.loads(line))
        self.q.put(None)

    def wait_for(self, what, events):
        """Lines until {"lease": what}; each is also put into the shared events list in
        arrival order.  The 60 s bound only keeps a broken test from hanging."""
        while True:
            try:
                o = self.q.get(timeout=60)
            except queue.Empty:
                raise AssertionError("%s: no %s; got %s" % (self.id, what, self.log))
            if o is None:
                raise AssertionError("%s ended before %s: %s" % (self.id, what, self.p.stderr.read()))
            self.log.append(o)
            events.append(o)
            if o["lease"] == what:
                return o


def holder(kube):
    st, lease = kube.get_json("/apis/coordination.k8s.io/v1/namespaces/lease-run/leases/leader")
    return lease["spec"] if st == 200 else None


def two_processes(kube):
    kube.kubectl("create", "namespace", "lease-run")
    events = []
    a = Contender(kube, "pod-a")
    first = a.wait_for("started", events)
    b = Contender(kube, "pod-b")
    b.wait_for("leader", events)        # b sees pod-a as the leader
    check(first["id"] == "pod-a" and holder(kube)["holderIdentity"] == "pod-a"
          and not any(o["lease"] == "started" for o in b.log),
          "the first contender leads, the second sees it and waits", events)
    # the leader stops renewing (frozen): b takes over after the lease duration
    a.p.send_signal(signal.SIGSTOP)
    a.frozen_at = len(events)
    b.wait_for("started", events)
    spec = holder(kube)
    check(spec["holderIdentity"] == "pod-b" and spec["leaseTransitions"] == 1,
          "after the leader stopped renewing, the other takes over (transitions 1)", spec)
    n = len(a.log)
    a.p.send_signal(signal.SIGCONT)
    a.wait_for("stopped", events)
    check(holder(kube)["holderIdentity"] == "pod-b" and a.log[n]["lease"] == "stopped",
          "the old leader, resumed, stops leading first thing; the Lease stays with the new one",
          a.log)
    # (a frozen process reports nothing: in the reported order below its leadership ends
    # when it resumes; what keeps two from leading is renew deadline < lease duration)
    # the new leader ends: it releases, and the other leads again
    b.p.send_signal(signal.SIGTERM)
    b.wait_for("released", events)
    a.wait_for("started", events)
    spec = holder(kube)
    check(b.p.wait(timeout=60) == 0 and spec["holderIdentity"] == "pod-a"
          and spec["leaseTransitions"] == 2,
          "SIGTERM: the leader releases, the other leads again (transitions 2)", [events, spec])
    a.p.send_signal(signal.SIGTERM)
    a.wait_for("released", events)
    a.p.wait(timeout=60)
    spec = holder(kube)
    check(not spec.get("holderIdentity") and spec["leaseDurationSeconds"] == 1,
          "the last one releases on SIGTERM too", spec)
    # exactly one leader at any time, in the order things were reported
    leaders = set()
    ok = True
    for i, o in enumerate(events):
        if i == a.frozen_at:
            leaders.discard("pod-a")   # frozen from here until it reports
        if o["lease"] == "started":
            ok = ok and not leaders
            leaders.add(o["id"])
        elif o["lease"] in ("stopped", "released"):
            leaders.discard(o["id"])
    check(ok, "never two contenders leading at once (as reported, in order; a frozen one "
          "from its freezing)", events)


LEASE_YAML = """apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: by-kubectl
  namespace: default
spec:
  holderIdentity: pod-x
  leaseDurationSeconds: 15
  acquireTime: "2026-01-01T00:00:00.000000Z"
  renewTime: "2026-01-01T00:00:01.000000Z"
  leaseTransitions: 0
"""


def with_kubectl(kube):
    kube.kubectl("create", "-f", "-", input=LEASE_YAML)
    out = kube.kubectl("get", "lease", "by-kubectl").stdout.split()
    check(out[:3] == ["NAME", "HOLDER", "AGE"] and out[3:5] == ["by-kubectl", "pod-x"],
          "kubectl create -f lease.yaml; kubectl get lease shows the holder", out)
    lease = json.loads(kube.kubectl("get", "lease", "by-kubectl", "-o", "json").stdout)
    stale = dict(lease)
    kube.kubectl("patch", "lease", "by-kubectl", "--type", "merge", "-p",
                 '{"spec":{"holderIdentity":"pod-y"}}')
    stale["spec"] = dict(lease["spec"], holderIdentity="pod-z")
    r = kube.run([kube._tool("kubectl"), "replace", "-f", "-"], input=json.dumps(stale), check=False)
    check(r.returncode != 0 and "the object has been modified" in r.stderr,
          "kubectl replace with a stale resourceVersion: 409 Conflict", r.stderr)
    bad = LEASE_YAML.replace("by-kubectl", "bad").replace("leaseDurationSeconds: 15",
                                                         "leaseDurationSeconds: 0")
    r = kube.run([kube._tool("kubectl"), "create", "-f", "-"], input=bad, check=False)
    check(r.returncode != 0 and "spec.leaseDurationSeconds" in r.stderr
          and "must be greater than 0" in r.stderr,
          "a Lease with leaseDurationSeconds 0 is refused (422)", r.stderr)


def main():
    with fku.FakeKube(tools=TOOLS) as kube:
        try:
            with_kubectl(kube)
            lease_steps(kube)
            two_processes(kube)
        finally:        # a failed wait_for leaves none running (perhaps SIGSTOPped)
            for p in CONTENDERS:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
