#!/usr/bin/env python3
"""The Kubernetes client and the Helm codec against the fake API server (tests/fakekube/).

Drives tests/unit/kube_probe (the client + codec in a small C program) and checks:
  - a metadata-only LIST of 1200+ release Secrets pages (limit 500) and each GET'd record
    decodes to exactly the bytes that were stored (sha256), in several namespaces, with a
    release name repeated across namespaces, a corrupt record reported by name, and the
    shared real fixture;
  - injected faults: 500s and a dropped connection are retried, 429 + Retry-After honoured,
    an expired continue token restarts the list, 403/401 come back as Status messages;
  - WATCH sees an object created while it runs;
  - with the real helm 3 and helm 4 (tests/fakekube/get-tools.sh), records written by
    helm install/upgrade decode byte-exact.
Prints TAP; exit 77 when the fake server cannot run here.
"""

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
import time

TOP_SRC = os.environ.get("abs_top_srcdir") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP_BUILD = os.environ.get("abs_top_builddir") or os.getcwd()
PROBE = os.path.join(TOP_BUILD, "tests", "unit", "kube_probe")
FAKE = os.path.join(TOP_SRC, "tests", "fakekube")
FIXTURE = os.path.join(TOP_SRC, "tests", "data", "helm-releases", "01-secret-basic-demo2.json")

if not os.path.exists(os.path.join(FAKE, "fakekube_util.py")):
    print("1..0 # SKIP tests/fakekube/fakekube_util.py is not there yet")
    sys.exit(77)
sys.path.insert(0, FAKE)
import fakekube_util as fku  # noqa: E402

if not fku.openssl_available():
    print("1..0 # SKIP the fake API server needs the openssl command")
    sys.exit(77)

results = []


def check(ok, name, detail=""):
    results.append(ok)
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).splitlines()[:30]:
            print("#   " + line)


def probe(kube, *args, check_rc=True):
    p = subprocess.run([PROBE, "--kubeconfig", kube.kubeconfig] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    if check_rc and p.returncode != 0:
        raise AssertionError("kube_probe %s: rc %d\n%s" % (" ".join(args), p.returncode, p.stderr))
    return p.returncode, lines, p.stderr


def release_json(name, ns, version, extra=""):
    # Real structure, arbitrary content; Helm's own field order.
    return ('{"name":"%s","info":{"first_deployed":"2025-01-01T00:00:00Z","last_deployed":'
            '"2025-01-02T00:00:00Z","deleted":"","description":"Install complete","status":"%s"},'
            '"chart":{"metadata":{"name":"app","version":"1.%d.0","appVersion":"2.0","apiVersion":"v2"},'
            '"templates":[]},"config":{"replicas":%d},"manifest":"---\\n# %s\\n","version":%d,'
            '"namespace":"%s"%s}' % (name, "deployed" if version % 2 else "superseded", version,
                                     version, "x" * (version % 50), version, ns, extra)).encode()


def secret(name, ns, version, payload, gz=True, labels=None):
    blob = gzip.compress(payload) if gz else payload
    inner = base64.b64encode(blob)
    lab = {"name": name, "owner": "helm", "status": "deployed", "version": str(version)}
    lab.update(labels or {})
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, version), "namespace": ns,
                         "labels": lab},
            "data": {"release": base64.b64encode(inner).decode()}}


def by_path(lines):
    return {l["path"]: l for l in lines if "path" in l}


def main():
    with fku.FakeKube() as kube:
        # ---- data ----
        expect, helm4 = {}, set()
        objs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                for n in ("team-a", "team-b", "team-c", "demo2")]
        for i in range(1200):
            ns = ("team-a", "team-b", "team-c")[i % 3]
            name, ver = "rel%d" % (i // 6), 1 + (i % 6) // 3
            payload = release_json(name, ns, ver, ',"apply_method":"ssa"' if i % 7 == 0 else "")
            objs.append(secret(name, ns, ver, payload, gz=(i % 10 != 0)))
            path = "/api/v1/namespaces/%s/secrets/sh.helm.release.v1.%s.v%d" % (ns, name, ver)
            expect[path] = hashlib.sha256(payload).hexdigest()
            if i % 7 == 0:
                helm4.add(path)
        with open(FIXTURE) as f:
            fixture = json.load(f)
        for k in ("resourceVersion", "uid", "selfLink", "creationTimestamp"):
            fixture["metadata"].pop(k, None)
        objs.append(fixture)
        bad = secret("broken", "team-a", 1, b"")
        bad["data"]["release"] = base64.b64encode(base64.b64encode(b"\x1f\x8b\x08\x00garbage")).decode()
        objs.append(bad)
        r = kube.load(objs)
        check(not r["errors"], "the fake server took %d objects" % len(objs), r["errors"])

        # ---- the read path of an export ----
        _, lines, _ = probe(kube, "releases", "--limit", "500", "--threads", "6")
        got = by_path(lines)
        summary = lines[-1]
        wrong = [p for p, h in expect.items() if got.get(p, {}).get("sha256") != h]
        check(not wrong, "1200 records GET'd and decoded byte-exact", wrong[:5])
        check(summary.get("metadata_only") is True and summary.get("pages") == 3,
              "metadata-only LIST, 3 pages of 500", summary)
        demo = got.get("/api/v1/namespaces/demo2/secrets/sh.helm.release.v1.demo2.v1", {})
        check(demo.get("sha256") == "b2dcf39eed86a175341df95771203995adb2aad721d612ef402d05d468a5346b"
              and demo.get("chart") == "basic-demo", "the shared real record decodes as the Python decoder says", demo)
        broken = got.get("/api/v1/namespaces/team-a/secrets/sh.helm.release.v1.broken.v1", {})
        check(broken.get("result") == "corrupt Helm release record"
              and "secret team-a/sh.helm.release.v1.broken.v1" in broken.get("message", ""),
              "a corrupt record is reported by name", broken)
        same = [l for l in lines if l.get("name") == "rel0" and l.get("version") == 1]
        check(sorted(l["namespace"] for l in same) == ["team-a", "team-b", "team-c"],
              "one release name in three namespaces: three records", same)
        flagged = set(p for p, l in got.items() if l.get("helm4"))
        check(flagged == helm4, "Helm 4 fields (apply_method) noticed on exactly %d records" % len(helm4),
              sorted(flagged ^ helm4)[:5])
        reqs = [e for e in kube.requests() if e.get("verb") in ("list", "get")]
        uas = set(e.get("userAgent") for e in reqs)
        check(uas == {"releasemanager/" + os.environ.get("PACKAGE_VERSION", "0.1.0")} or
              all(u.startswith("releasemanager/") for u in uas), "User-Agent releasemanager/VERSION", uas)
        lists = [e for e in reqs if e.get("verb") == "list"]
        check(all("as=PartialObjectMetadataList" in (e.get("accept") or "") for e in lists),
              "LIST asked for PartialObjectMetadataList", [e.get("accept") for e in lists])

        # ---- faults ----
        kube.reset_log()
        kube.add_fault(method="GET", path="/api/v1/secrets$", status=500, count=2)
        kube.add_fault(method="GET", path="/secrets/sh.helm.release.v1.rel3.v1$", action="drop", count=1)
        _, lines, _ = probe(kube, "releases", "--limit", "500")
        s = lines[-1]
        ok = sum(1 for l in lines if l.get("sha256"))
        fired = [f.get("fired") for f in kube.control("GET", "faults")] if isinstance(
            kube.control("GET", "faults"), list) else None
        # A drop on a reused connection is retried inside curl, so it may not count as ours.
        check(s.get("retries", 0) >= 2 and ok == 1201, "500s and a dropped connection are retried",
              "%s faults fired: %s" % (s, fired))

        kube.add_fault(method="GET", path="/api/v1/secrets$", status=429, retryAfter=1, count=1)
        seq = kube.requests()[-1]["seq"]
        _, lines, _ = probe(kube, "list", "/api/v1/secrets", "--label", "owner=helm", "--metadata")
        # Behaviour, as the server saw it: the 429, then the retry no sooner than Retry-After.
        seen = [(e["status"], e["time"]) for e in kube.requests(seq) if e["path"] == "/api/v1/secrets"]
        check(len(seen) == 1 + lines[-1]["pages"] and seen[0][0] == 429
              and all(st == 200 for st, _ in seen[1:])
              and seen[1][1] - seen[0][1] >= 0.95 and lines[-1]["items"] == 1202,
              "429 with Retry-After: 1 waits and succeeds", "%s %s" % (seen, lines[-1]))

        kube.add_fault(action="expire-continue", path="/api/v1/secrets$", count=1)
        _, lines, _ = probe(kube, "list", "/api/v1/secrets", "--label", "owner=helm", "--limit", "400")
        s = lines[-1]
        check(s.get("restarts") == 1 and s.get("items") == 1202 and {"restart": True} in lines,
              "an expired continue token restarts the LIST", s)

        kube.add_fault(method="GET", path="/api/v1/secrets$", status=403, count=1, reason="Forbidden",
                       message='secrets is forbidden: User "x" cannot list resource "secrets" in API '
                               'group "" at the cluster scope')
        rc, _, err = probe(kube, "list", "/api/v1/secrets", check_rc=False)
        check(rc == 1 and 'Forbidden: secrets is forbidden: User "x" cannot list resource "secrets"'
              in err and "(check the RBAC of your kubeconfig user)" in err, "403 explained", err)

        kube.add_fault(method="GET", path="/api/v1/secrets$", status=503, count=-1)
        rc, _, err = probe(kube, "list", "/api/v1/secrets", check_rc=False)
        check(rc == 1 and "ERROR server unavailable" in err and "(after 5 retries)" in err,
              "a server that stays down: a clear error after the retries", err)
        kube.clear_faults()

        kube.set_auth(tokens=["someone-else"])
        rc, _, err = probe(kube, "get", "/api/v1/namespaces/team-a", check_rc=False)
        check(rc == 1 and "Unauthorized" in err and "check the credentials" in err
              and kube.token not in err, "401 explained, token not shown", err)
        kube.set_auth(tokens=[kube.token])

        # ---- watch ----
        _, listed, _ = probe(kube, "list", "/api/v1/namespaces/team-c/secrets", "--limit", "1")
        w = subprocess.Popen([PROBE, "--kubeconfig", kube.kubeconfig, "watch", "/api/v1/namespaces/team-c/secrets",
                              "--rv", listed[-1]["resource_version"], "--timeout", "20", "--max", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        kube.request("POST", "/api/v1/namespaces/team-c/secrets",
                     {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "watched"}})
        out, err = w.communicate(timeout=60)
        events = [json.loads(l) for l in out.splitlines() if l.strip()]
        check({"type": "ADDED", "name": "watched"} in events, "WATCH sees a new Secret", out + err)

        # ---- real helm ----
        try:
            fku.find_tools()
            have_tools = True
        except fku.ToolsUnavailable as e:
            have_tools = False
            print("# SKIP real helm: %s" % e)
        if have_tools:
            chart = os.path.join(TOP_SRC, "tests", "charts", "plain")
            if not os.path.isdir(chart):
                print("# SKIP real helm: tests/charts/plain is missing")
            else:
                kube.helm3("install", "h3", chart, "-n", "helm3", "--create-namespace")
                kube.helm3("upgrade", "h3", chart, "-n", "helm3", "--set", "x=1")
                kube.helm4("install", "h4", chart, "-n", "helm4", "--create-namespace")
                _, lines, _ = probe(kube, "releases")
                got = by_path(lines)
                for ns, name, ver in (("helm3", "h3", 1), ("helm3", "h3", 2), ("helm4", "h4", 1)):
                    path = "/api/v1/namespaces/%s/secrets/sh.helm.release.v1.%s.v%d" % (ns, name, ver)
                    _, obj = kube.get_json(path)
                    raw = base64.b64decode(base64.b64decode(obj["data"]["release"]))
                    if raw[:3] == b"\x1f\x8b\x08":
                        raw = gzip.decompress(raw)
                    mine = got.get(path, {})
                    check(mine.get("sha256") == hashlib.sha256(raw).hexdigest() and mine.get("version") == ver,
                          "helm %s record %s v%d decodes byte-exact" % (ns[-1], name, ver), mine)
                check(got.get("/api/v1/namespaces/helm3/secrets/sh.helm.release.v1.h3.v1", {}).get("status")
                      == "superseded", "helm 3 upgrade: revision 1 superseded")

    print("1..%d" % len(results))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
