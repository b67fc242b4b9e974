"""Helpers for tests that run against the fake Kubernetes API server.

    import sys; sys.path.insert(0, os.path.join(abs_top_srcdir, "tests", "fakekube"))
    import fakekube_util as fku

    tools = fku.find_tools()              # raises fku.ToolsUnavailable(reason) -> exit 77
    with fku.FakeKube() as kube:          # a fresh server in a temporary directory
        kube.kubectl("get", "ns")         # real kubectl 1.31 (kube.kubectl134: 1.34)
        kube.helm3("install", "x", chart, "-n", "ns", "--create-namespace", "--wait")
        kube.helm4("list", "-A")
        kube.kubeconfig, kube.url, kube.token, kube.ca     # for the program under test
        kube.add_fault(method="GET", path="/secrets$", status=500, count=2)
        kube.requests()                   # request log; kube.writes() = non-GET requests
        kube.load([{...}, ...])           # bulk create
        st, hdrs, body = kube.request("GET", "/api/v1/namespaces")

Tools: $RM_TOOLS_DIR if set, else ${XDG_CACHE_HOME:-$HOME/.cache}/releasemanager-tools, as
filled by tests/fakekube/get-tools.sh (its env.sh names the binaries).
"""

import http.client
import json
import os
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fakekube.py")
CHARTS = os.path.join(os.path.dirname(HERE), "charts")
SKIP = 77


class ToolsUnavailable(Exception):
    pass


def tools_dir():
    d = os.environ.get("RM_TOOLS_DIR")
    if d:
        return d
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME", "/tmp"), ".cache")
    return os.path.join(cache, "releasemanager-tools")


def find_tools():
    """{'helm3', 'helm4', 'kubectl', 'kubectl134'} -> path; ToolsUnavailable says why not."""
    d = tools_dir()
    env_sh = os.path.join(d, "env.sh")
    names = {"HELM3_BIN": "helm3", "HELM4_BIN": "helm4", "KUBECTL_BIN": "kubectl",
             "KUBECTL134_BIN": "kubectl134"}
    found = {}
    if os.path.exists(env_sh):
        with open(env_sh) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                if k in names:
                    found[names[k]] = v.strip().strip("'\"")
    else:
        found = {"helm3": os.path.join(d, "v31", "helm"), "helm4": os.path.join(d, "v34", "helm"),
                 "kubectl": os.path.join(d, "v31", "kubectl"),
                 "kubectl134": os.path.join(d, "v34", "kubectl")}
    missing = [k for k in names.values() if not (found.get(k) and os.access(found[k], os.X_OK))]
    if missing:
        raise ToolsUnavailable("real helm/kubectl not installed in %s (missing %s); run "
                               "tests/fakekube/get-tools.sh" % (d, ", ".join(missing)))
    return found


def openssl_available():
    return shutil.which("openssl") is not None


class FakeKube:
    """A fake API server process in its own state directory, plus an isolated client
    environment (HOME, kubectl discovery cache, Helm config/cache/data dirs)."""

    def __init__(self, workdir=None, job_delay=0.3, args=(), tools=None, keep=False):
        self._own = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix="fakekube-")
        self.state_dir = os.path.join(self.workdir, "server")
        self.home = os.path.join(self.workdir, "home")
        self.job_delay = job_delay
        self.args = list(args)
        self.tools = tools
        self.keep = keep
        self.proc = None
        self.info = None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self, timeout=60):
        os.makedirs(self.home, exist_ok=True)
        self.log_path = os.path.join(self.workdir, "server.log")
        self._log = open(self.log_path, "ab")
        cmd = [sys.executable, SERVER, "--state-dir", self.state_dir,
               "--job-delay", str(self.job_delay)] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                break
            if self.proc.poll() is not None:
                break
        if not line:
            self.stop()
            with open(self.log_path, "rb") as f:
                raise RuntimeError("fakekube did not start: %s" % f.read().decode(errors="replace")[-2000:])
        self.info = json.loads(line)
        self.url = self.info["url"]
        self.port = self.info["port"]
        self.kubeconfig = self.info["kubeconfig"]
        self.token = self.info["token"]
        self.ca = self.info["ca"]
        self._ssl = ssl.create_default_context(cafile=self.ca)
        self._conn = None
        return self

    def stop(self):
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
            self._conn = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        if self._own and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    # ---- clients ----------------------------------------------------------------------------

    def env(self, extra=None):
        e = dict(os.environ)
        e.update({"KUBECONFIG": self.kubeconfig, "HOME": self.home,
                  "KUBECACHEDIR": os.path.join(self.home, ".kube", "cache"),
                  "HELM_CACHE_HOME": os.path.join(self.home, "helm-cache"),
                  "HELM_CONFIG_HOME": os.path.join(self.home, "helm-config"),
                  "HELM_DATA_HOME": os.path.join(self.home, "helm-data"),
                  "XDG_CACHE_HOME": os.path.join(self.home, ".cache")})
        for k in ("HELM_DRIVER", "HELM_NAMESPACE", "HELM_KUBECONTEXT", "KUBECTL_EXTERNAL_DIFF"):
            e.pop(k, None)
        if extra:
            e.update(extra)
        return e

    def run(self, argv, check=True, input=None, timeout=180, env=None):
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.env(env), timeout=timeout,
                           text=not isinstance(input, bytes))
        if check and p.returncode != 0:
            raise AssertionError("%s failed (rc=%d)\nstdout:\n%s\nstderr:\n%s"
                                 % (" ".join(argv), p.returncode, p.stdout, p.stderr))
        return p

    def _tool(self, name):
        if self.tools is None:
            self.tools = find_tools()
        return self.tools[name]

    def helm3(self, *args, **kw):
        return self.run([self._tool("helm3")] + list(args), **kw)

    def helm4(self, *args, **kw):
        return self.run([self._tool("helm4")] + list(args), **kw)

    def helm(self, major, *args, **kw):
        return (self.helm3 if int(major) == 3 else self.helm4)(*args, **kw)

    def kubectl(self, *args, **kw):
        return self.run([self._tool("kubectl")] + list(args), **kw)

    def kubectl134(self, *args, **kw):
        return self.run([self._tool("kubectl134")] + list(args), **kw)

    # ---- raw HTTP -------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, auth=True, content_type=None,
                retry=None):
        """One HTTPS request (keep-alive connection); returns (status, headers dict, bytes).
        A GET/HEAD whose reused connection turns out closed is retried once on a new one;
        pass retry=False when a fault (drop/truncate) is the point of the request."""
        if retry is None:
            retry = method in ("GET", "HEAD")
        h = {"Accept": "application/json"}
        if auth:
            h["Authorization"] = "Bearer " + self.token
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
        if body is not None:
            h["Content-Type"] = content_type or "application/json"
        h.update(headers or {})
        for attempt in (0, 1):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                         context=self._ssl, timeout=300)
            try:
                self._conn.request(method, path, body=body, headers=h)
                r = self._conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self._conn.close()
                    self._conn = None
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.HTTPException, ConnectionError, ssl.SSLError, OSError):
                self._conn.close()
                self._conn = None
                if attempt or not (retry and reused):
                    raise

    def get_json(self, path, **kw):
        st, _, data = self.request("GET", path, **kw)
        return st, json.loads(data) if data else None

    def control(self, method, path, body=None):
        st, _, data = self.request(method, "/_fake/" + path.lstrip("/"), body, auth=False)
        if st >= 300:
            raise AssertionError("control %s %s: %d %s" % (method, path, st, data[:300]))
        return json.loads(data) if data and data[:1] in (b"{", b"[") else data

    # ---- control API ------------------------------------------------------------------------

    def add_fault(self, **spec):
        """e.g. add_fault(method="GET", path="/api/v1/secrets$", status=429, retryAfter=1,
        count=2) or add_fault(action="drop") or add_fault(action="expire-continue")."""
        return self.control("POST", "faults", spec)["id"]

    def clear_faults(self):
        self.control("DELETE", "faults")

    def requests(self, since=0):
        return self.control("GET", "requests?since=%d" % since)

    def reset_log(self):
        self.control("POST", "reset-log")

    def writes(self, since=0):
        """Logged requests that could change state (not GET/HEAD, and not dry runs)."""
        return [e for e in self.requests(since) if e["method"] not in ("GET", "HEAD")
                and not e.get("dryRun")]

    def load(self, objects, replace=False, precompress=False):
        """Bulk create; precompress: compute the gzip form of each object now."""
        body = "\n".join(json.dumps(o, separators=(",", ":")) for o in objects).encode()
        q = "&".join(x for x in ("replace=1" if replace else "",
                                 "precompress=1" if precompress else "") if x)
        st, _, data = self.request("POST", "/_fake/load" + ("?" + q if q else ""),
                                   body, auth=False, content_type="application/x-ndjson")
        if st != 200:
            raise AssertionError("load failed: %d %s" % (st, data[:300]))
        return json.loads(data)

    def compact(self):
        return self.control("POST", "compact")

    def settings(self, **spec):
        """e.g. settings(bookmarkInterval=0.5) (WATCH bookmarks every 0.5 s instead of 60 s)
        or settings(jobDelay=1.5)."""
        return self.control("POST", "settings", spec)

    def set_auth(self, tokens=None, basic=None, client_certs=None):
        spec = {}
        if tokens is not None:
            spec["tokens"] = list(tokens)
        if basic is not None:
            spec["basic"] = dict(basic)
        if client_certs is not None:
            spec["clientCerts"] = bool(client_certs)
        return self.control("POST", "auth", spec)


def decode_release(secret):
    """The release JSON of a Helm Secret-driver record (data.release: base64 of base64 of
    gzip JSON as the API returns it)."""
    import base64
    import gzip
    raw = base64.b64decode(base64.b64decode(secret["data"]["release"]))
    if raw[:3] == b"\x1f\x8b\x08":
        raw = gzip.decompress(raw)
    return json.loads(raw)
