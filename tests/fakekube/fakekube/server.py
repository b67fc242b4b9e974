"""The HTTPS server: authentication, fault injection, routing of the Kubernetes REST paths
and the /_fake/ control API."""

import base64
import gzip
import json
import os
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import certs, negotiate, tables
from .controllers import Controllers, bootstrap
from .errors import ApiError, bad_request, method_not_allowed, path_not_found, unauthorized
from .faults import UNAUTHORIZED, Faults, RequestLog
from .ops import PATCH_TYPES, Api, manager_from_ua
from .resources import Registry
from .selectors import parse_field_selector, parse_label_selector
from .store import Store

PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")


class Config:
    def __init__(self, **kw):
        self.host = "127.0.0.1"
        self.port = 0
        self.state_dir = None
        self.token = None
        self.basic = {}
        self.job_delay = 0.3
        self.gzip_threshold = 128 * 1024
        self.gzip_cache = True
        self.max_events = 4000
        self.managed_fields = True
        self.kube_version = "v1.31.0"
        self.verbose = False
        self.scripted = False       # answer only from fault rules (the client's unit tests)
        self.server_names = None    # subjectAltName of the server certificate (openssl syntax)
        self.proxy = False          # also run a CONNECT proxy (proxyPort in info)
        self.accept_log = False     # record each committed write (GET /_fake/accepted)
        for k, v in kw.items():
            if not hasattr(self, k):
                raise TypeError("unknown option %s" % k)
            setattr(self, k, v)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class FakeKube:
    def __init__(self, config):
        self.cfg = config
        self.state_dir = os.path.abspath(config.state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        certs.ensure_certs(self.state_dir, config.server_names)
        with open(os.path.join(self.state_dir, "ca.crt")) as f:
            ca_pem = f.read()
        self.tokens = {config.token or base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")}
        self.basic = dict(config.basic)
        self.client_certs = True
        self.registry = Registry()
        self.store = Store(max_events=config.max_events)
        if config.accept_log:
            self.store.accepted = []
        self.controllers = Controllers(self.registry, job_delay=config.job_delay, ca_pem=ca_pem)
        self.api = Api(self.registry, self.store, self.controllers, config.managed_fields)
        self.controllers.api = self.api
        self.faults = Faults()
        self.log = RequestLog()
        self.started = time.time()
        self.bookmark_interval = 60.0    # kube-apiserver's bookmarkFrequency
        # API traffic (not /_fake/): requests answered and response body bytes sent,
        # watch streams counted chunk by chunk as they are written (GET /_fake/traffic).
        self.traffic_lock = threading.Lock()
        self.traffic = {"requests": 0, "bytes": 0}
        self.httpd = None
        self.proxy = None
        self._thread = None

    @property
    def token(self):
        return sorted(self.tokens)[0]

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.state_dir, "server.crt"),
                            os.path.join(self.state_dir, "server.key"))
        ctx.load_verify_locations(os.path.join(self.state_dir, "ca.crt"))
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.set_alpn_protocols(["http/1.1"])

        def sni(sslsock, name, _ctx):
            sslsock.fakekube_sni = name     # the request log shows it (scripted mode)
        ctx.sni_callback = sni
        handler = type("Handler", (Handler,), {"fk": self})
        self.httpd = _HTTPServer((self.cfg.host, self.cfg.port), handler, bind_and_activate=True)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.registry.server_address = "%s:%d" % (self.cfg.host, self.port)
        self.url = "https://%s:%d" % (self.cfg.host, self.port)
        with self.api.lock:
            bootstrap(self.api, self.registry)
        self.kubeconfig = os.path.join(self.state_dir, "kubeconfig")
        certs.write_kubeconfig(self.kubeconfig, self.url, os.path.join(self.state_dir, "ca.crt"),
                               self.token)
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="fakekube-http", daemon=True)
        self._thread.start()
        if self.cfg.proxy:
            from .proxy import ConnectProxy
            self.proxy = ConnectProxy(self.cfg.host, self.log)
        info = self.info()
        tmp = os.path.join(self.state_dir, "ready.json.tmp")
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, os.path.join(self.state_dir, "ready.json"))
        return info

    def info(self):
        info = {"url": self.url, "port": self.port, "host": self.cfg.host,
                "kubeconfig": self.kubeconfig, "token": self.token,
                "ca": os.path.join(self.state_dir, "ca.crt"),
                "clientCert": os.path.join(self.state_dir, "client.crt"),
                "clientKey": os.path.join(self.state_dir, "client.key"),
                "stateDir": self.state_dir, "pid": os.getpid(),
                "version": self.cfg.kube_version}
        if self.proxy is not None:
            info["proxyPort"] = self.proxy.port
        return info

    def stop(self):
        self.store.close()
        self.controllers.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def version_doc(self):
        v = self.cfg.kube_version.lstrip("v")
        major, minor = v.split(".")[:2]
        return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
                "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(0, int(minor) - 1)),
                "gitVersion": "v" + v, "gitCommit": "fakekube", "gitTreeState": "clean",
                "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5", "compiler": "gc",
                "platform": "linux/amd64"}


class _Resp:
    def __init__(self, code, body, ctype="application/json", headers=None, stream=None, parts=None):
        self.code = code
        self.body = body
        self.parts = parts
        self.ctype = ctype
        self.headers = headers or {}
        self.stream = stream


class _StreamCut(Exception):
    pass


def _cut_after(stream, n):
    """A WATCH stream that loses its connection after n event lines (fault drop-stream)."""
    sent = 0
    for chunk in stream:
        for line in chunk.splitlines(keepends=True):
            if sent >= n:
                raise _StreamCut()
            yield line
            sent += 1
    raise _StreamCut()


def _j(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _obj_bytes(obj):
    head = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion")}
    rest = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
    h = _j(head)[:-1]
    r = _j(rest)
    return h + (b"," + r[1:] if len(r) > 2 else b"}")


class _BodyReader:
    """A request body read lazily (bulk loads): read() or iteration by line."""

    def __init__(self, rfile, length):
        self.rfile = rfile
        self.left = length

    def read(self):
        data = self.rfile.read(self.left) if self.left > 0 else b""
        self.left = 0
        return data

    def __iter__(self):
        while self.left > 0:
            line = self.rfile.readline(min(self.left, 1 << 30))
            if not line:
                break
            self.left -= len(line)
            yield line

    def drain(self):
        while self.left > 0:
            n = len(self.rfile.read(min(self.left, 1 << 20)) or b"")
            if not n:
                break
            self.left -= n


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakekube"
    sys_version = ""
    timeout = 300
    fk = None  # FakeKube, set by a subclass

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, fmt, *args):
        if self.fk.cfg.verbose:
            sys.stderr.write("fakekube: " + (fmt % args) + "\n")

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ---- plumbing ---------------------------------------------------------------------

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _count(self, requests, nbytes):
        with self.fk.traffic_lock:
            self.fk.traffic["requests"] += requests
            self.fk.traffic["bytes"] += nbytes

    def _send(self, resp, entry, count=True):
        from . import gz
        headers = {"Audit-Id": str(uuid.uuid4()), "Cache-Control": "no-cache, private",
                   "Content-Type": resp.ctype}
        headers.update(resp.headers)
        parts = resp.parts if resp.parts is not None else [resp.body if resp.body is not None else b""]
        ae = self.headers.get("Accept-Encoding") or ""
        if (resp.stream is None and "gzip" in ae and self.command != "HEAD"
                and "Content-Encoding" not in headers
                and gz.total_length(parts) >= self.fk.cfg.gzip_threshold):
            parts = gz.encode(parts) if self.fk.cfg.gzip_cache else gz.encode_fresh(parts)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        parts = [gz.piece_bytes(p) for p in parts]
        if len(parts) == 1:
            body = parts[0]
        elif sum(len(p) for p in parts) <= 65536:
            body = b"".join(parts)
        else:
            body = None
        self.send_response(resp.code)
        for k, v in headers.items():
            self.send_header(k, v)
        if resp.stream is not None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            n = 0
            if count:
                self._count(1, 0)
            try:
                for chunk in resp.stream:
                    if chunk:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        n += len(chunk)
                        if count:
                            self._count(0, len(chunk))
                self.wfile.write(b"0\r\n\r\n")
            except _StreamCut:
                # a fault: the connection dies mid-stream (no last chunk, no TLS close)
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            except (ConnectionError, ssl.SSLError, OSError):
                self.close_connection = True
            entry["responseBytes"] = n
            return
        n = len(body) if body is not None else sum(len(p) for p in parts)
        self.send_header("Content-Length", str(n))
        entry["responseBytes"] = n
        if count:
            self._count(1, n if self.command != "HEAD" else 0)
        self._headers_buffer.append(b"\r\n")
        if body is not None and self.command != "HEAD" and len(body) <= 65536:
            # headers and a small body in one write
            self._headers_buffer.append(body)
            body = b""
        self.flush_headers()
        if self.command != "HEAD":
            if body is not None:
                if body:
                    self.wfile.write(body)
            else:
                for p in parts:
                    self.wfile.write(p)

    def _peer_closed(self):
        """During a watch the client sends nothing: readable means it went away."""
        import select
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1) == b""
        except (OSError, ValueError, ssl.SSLError):
            return True

    def _status_resp(self, e):
        return _Resp(e.code, _j(e.status()), headers=e.headers)

    def _authenticated(self):
        h = self.headers.get("Authorization") or ""
        if h.startswith("Bearer "):
            return h[7:].strip() in self.fk.tokens, True
        if h.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(h[6:].strip()).decode().partition(":")
            except Exception:
                return False, True
            return self.fk.basic.get(user) == pw and user in self.fk.basic, True
        if self.fk.client_certs:
            try:
                if self.connection.getpeercert():
                    return True, True
            except (ValueError, AttributeError):
                pass
        return False, False

    def _handle(self):
        t0 = time.time()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        qs = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        q = {k: v[-1] for k, v in qs.items()}
        stream_body = (path.rstrip("/") == "/_fake/load" and "chunked" not in
                       (self.headers.get("Transfer-Encoding") or "").lower())
        try:
            body = b"" if stream_body else self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if stream_body:
            body = _BodyReader(self.rfile, int(self.headers.get("Content-Length") or 0))
        if path.startswith("/_fake/") or path == "/_fake":
            from .control import control
            try:
                resp = control(self.fk, self, path, q, body)
                if isinstance(body, _BodyReader):
                    body.drain()
            except ApiError as e:
                resp = self._status_resp(e)
            except Exception as e:
                traceback.print_exc()
                resp = _Resp(500, _j({"error": repr(e)}))
            if isinstance(body, _BodyReader) and body.left > 0:
                self.close_connection = True
                resp.headers["Connection"] = "close"
            self._send(resp, {}, count=False)
            return
        entry = {"time": t0, "method": self.command, "path": path, "query": url.query,
                 "userAgent": self.headers.get("User-Agent", ""),
                 "accept": self.headers.get("Accept", ""),
                 "contentType": self.headers.get("Content-Type", ""),
                 "requestBytes": len(body), "verb": None, "fault": None,
                 "dryRun": "dryRun" in q}
        ctx = {"verb": None}
        resp = None
        scripted = self.fk.cfg.scripted
        if scripted:
            entry.update({"headers": dict(self.headers.items()),
                          "body": body.decode("utf-8", "replace"),
                          "clientPort": self.client_address[1], "clientCN": self._client_cn(),
                          "sni": getattr(self.connection, "fakekube_sni", None)})
        try:
            if not scripted:
                ok, presented = self._authenticated()
                if not ok and (presented or path not in PUBLIC_PATHS):
                    raise unauthorized()
            verb = self._verb(path, q)
            entry["verb"] = verb
            f = self.fk.faults.pick(self.command, path, url.query, verb, bool(q.get("continue")),
                                    self.headers.get("Accept") or "",
                                    self.headers.get("Authorization"), self._client_cn())
            if f == UNAUTHORIZED:
                raise unauthorized()
            if f is None and scripted:
                raise path_not_found()
            if f is not None and f.action == "respond":
                entry["fault"] = f.id
                if f.spec.get("delay"):
                    time.sleep(float(f.spec["delay"]))
                resp = self._scripted(f)
            elif f is not None:
                entry["fault"] = f.id
                if f.spec.get("delay"):
                    time.sleep(float(f.spec["delay"]))
                if f.action == "drop":
                    entry["status"] = 0
                    self.fk.log.add(entry)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if f.action in ("status", "expire-continue"):
                    code, hdrs, st = f.response()
                    raise ApiError(code, st["message"], st["reason"], st.get("details"), hdrs,
                                   st.get("metadata"))
                if f.action == "drop-stream":
                    resp = self._route(path, q, body)
                    if resp.stream is not None:
                        resp.stream = _cut_after(resp.stream, int(f.spec.get("afterEvents", 1)))
                if f.action == "truncate":
                    resp = self._route(path, q, body)
                    from .gz import piece_bytes
                    data = (b"".join(bytes(piece_bytes(x)) for x in resp.parts)
                            if resp.parts is not None else resp.body) or b"{}"
                    self.send_response(resp.code)
                    self.send_header("Content-Type", resp.ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    entry["status"] = resp.code
                    self.fk.log.add(entry)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
            if resp is None:
                resp = self._route(path, q, body)
        except ApiError as e:
            resp = self._status_resp(e)
        except Exception as e:
            traceback.print_exc()
            resp = self._status_resp(ApiError(500, "Internal error occurred: %r" % e, "InternalError"))
        entry["status"] = resp.code
        if resp.stream is None:
            self.fk.log.add(entry)
        try:
            self._send(resp, entry)
        except (ConnectionError, ssl.SSLError, OSError):
            self.close_connection = True
        if resp.stream is not None:
            self.fk.log.add(entry)
        entry["duration"] = time.time() - t0

    # ---- routing ----------------------------------------------------------------------

    def _client_cn(self):
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            return None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def _scripted(self, f):
        """The answer of an action=respond rule."""
        spec = f.spec
        headers = dict(spec.get("headers") or {})
        if spec.get("stream") is not None:
            def gen():
                for ev in spec["stream"]:
                    time.sleep(float(ev.get("delay", 0)))
                    yield (ev["line"] + "\n").encode()
            return _Resp(f.code, b"", headers=headers, stream=gen())
        if spec.get("json") is not None:
            data = json.dumps(spec["json"]).encode()
        else:
            data = (spec.get("body") or "").encode()
        if spec.get("gzip") and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        return _Resp(f.code, data, headers=headers)

    def _verb(self, path, q):
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            return "get"
        n = len(parts) - (2 if parts[0] == "api" else 3)
        if n <= 0:
            return "get"
        rest = parts[(2 if parts[0] == "api" else 3):]
        if rest and rest[0] == "watch":
            return "watch"
        if rest[0] == "namespaces" and len(rest) >= 3:
            rest = rest[2:]
        m = self.command
        if len(rest) == 1:
            if m == "GET":
                return "watch" if q.get("watch") in ("1", "true", "True") else "list"
            return {"POST": "create", "DELETE": "deletecollection"}.get(m, m.lower())
        return {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete",
                "POST": "create"}.get(m, m.lower())

    def _route(self, path, q, body):
        fk = self.fk
        accept = self.headers.get("Accept")
        if path in ("/healthz", "/livez", "/readyz") or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return _Resp(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return _Resp(200, _j(fk.version_doc()))
        if path in ("/api", "/apis"):
            if self.command != "GET":
                raise method_not_allowed()
            dv = negotiate.discovery_choice(accept)
            if dv:
                doc = fk.registry.aggregated(path == "/api", dv)
                return _Resp(200, _j(doc), "application/json;g=apidiscovery.k8s.io;v=%s;"
                                          "as=APIGroupDiscoveryList" % dv)
            doc = fk.registry.api_versions() if path == "/api" else fk.registry.api_group_list()
            return _Resp(200, _j(doc))
        if path == "/openapi/v2":
            from .resources import openapi_v2_protobuf
            return _Resp(200, openapi_v2_protobuf(fk.cfg.kube_version),
                         "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        if path == "/openapi/v3" or path == "/openapi/v3/":
            return _Resp(200, _j(fk.registry.openapi_root()))
        if path.startswith("/openapi/v3/"):
            p = path[len("/openapi/v3/"):].strip("/").split("/")
            doc = None
            if p[0] == "api" and len(p) == 2:
                doc = fk.registry.openapi_gv_doc("", p[1])
            elif p[0] == "apis" and len(p) == 3:
                doc = fk.registry.openapi_gv_doc(p[1], p[2])
            if doc is None:
                raise path_not_found()
            return _Resp(200, _j(doc), headers={"Cache-Control": "public, immutable",
                                                "Expires": "Thu, 31 Dec 2099 00:00:00 GMT"})
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            raise path_not_found()
        if parts[0] == "api":
            if len(parts) < 2:
                raise path_not_found()
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 2:
                doc = fk.registry.api_group(parts[1])
                if doc is None:
                    raise path_not_found()
                return _Resp(200, _j(doc))
            group, version, rest = parts[1], parts[2], parts[3:]
        if not fk.registry.has_gv(group, version):
            raise path_not_found()
        if not rest:
            if self.command != "GET":
                raise method_not_allowed()
            return _Resp(200, _j(fk.registry.resource_list(group, version)))
        watch_path = False
        if rest[0] == "watch":
            watch_path, rest = True, rest[1:]
            if not rest:
                raise path_not_found()
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            r2 = fk.registry.lookup(group, version, rest[2])
            if r2 is not None and r2.namespaced:
                ns, rest = rest[1], rest[2:]
        res = fk.registry.lookup(group, version, rest[0])
        if res is None or len(rest) > 3:
            raise path_not_found()
        if ns is not None and not res.namespaced:
            raise path_not_found()
        if res.namespaced and ns is None and len(rest) > 1:
            raise path_not_found()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in res.subresources:
            raise path_not_found()
        if watch_path:
            q = dict(q, watch="true")
            if name:
                q["fieldSelector"] = "metadata.name=" + name
                name = None
        if name is None:
            return self._collection(res, ns, q, body, accept)
        return self._item(res, ns, name, sub, q, body, accept)

    # ---- collections ------------------------------------------------------------------

    def _dry_run(self, q):
        v = q.get("dryRun")
        if v is None:
            return False
        if v != "All":
            raise ApiError(400, 'dryRun: Unsupported value: "%s": supported values: "All"' % v,
                           "BadRequest")
        return True

    def _manager(self, q):
        return q.get("fieldManager") or manager_from_ua(self.headers.get("User-Agent"))

    def _json_body(self, body):
        ct = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if ct in ("application/json", "", "*/*"):
            try:
                return json.loads(body or b"null")
            except ValueError as e:
                raise bad_request("couldn't get version/kind; json parse error: %s" % e)
        if ct == "application/vnd.kubernetes.protobuf":
            from .protobuf import decode
            return decode(body)
        if ct in ("application/yaml", "application/x-yaml", "text/yaml"):
            from .yamlmini import load
            try:
                return load(body.decode())
            except ValueError as e:
                raise bad_request("error decoding YAML: %s" % e)
        raise ApiError(415, 'the body of the request was in an unknown format - accepted media '
                       'types include: application/json, application/yaml, '
                       'application/vnd.kubernetes.protobuf, application/cbor', "UnsupportedMediaType")

    def _collection(self, res, ns, q, body, accept):
        m = self.command
        if m == "GET":
            lsel = parse_label_selector(q.get("labelSelector"))
            fsel = parse_field_selector(q.get("fieldSelector"), res.skey, res.kind)
            if q.get("watch") in ("1", "true", "True"):
                return self._watch(res, ns, lsel, fsel, q, accept)
            return self._list(res, ns, lsel, fsel, q, accept)
        if m == "POST":
            obj = self._json_body(body)
            if res.namespaced and ns is None:
                raise method_not_allowed()
            if not isinstance(obj, dict):
                raise bad_request("the body of the request must be an object")
            out = self.fk.api.create(res, ns or "", obj, self._dry_run(q), self._manager(q))
            return _Resp(201, _obj_bytes(out))
        if m == "DELETE":
            lsel = parse_label_selector(q.get("labelSelector"))
            fsel = parse_field_selector(q.get("fieldSelector"), res.skey, res.kind)
            opts = self._delete_opts(q, body)
            items = self.fk.api.delete_collection(res, ns, lsel, fsel, opts, self._dry_run(q))
            lst = {"kind": res.list_kind, "apiVersion": res.api_version,
                   "metadata": {"resourceVersion": str(self.fk.store.rv)}, "items": items}
            return _Resp(200, _j(lst))
        raise method_not_allowed()

    def _list(self, res, ns, lsel, fsel, q, accept):
        form = negotiate.choose(accept, "list")
        if form is None:
            raise ApiError(406, negotiate.NOT_ACCEPTABLE, "NotAcceptable")
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise bad_request("invalid limit")
        if limit < 0:
            limit = 0
        list_rv, recs, token, remaining = self.fk.store.list(
            res.skey, ns if res.namespaced else None, lsel, fsel, limit, q.get("continue") or None)
        meta = {"resourceVersion": str(list_rv)}
        if token:
            meta["continue"] = token
        if remaining:
            meta["remainingItemCount"] = remaining
        if form[0] == "table":
            return _Resp(200, tables.encode_table(res, recs, meta, q.get("includeObject", "Metadata"),
                                                  form[1]))
        if form[0] == "partial":
            items = b",".join(tables.partial_bytes(r) for r in recs)
            head = b'{"kind":"PartialObjectMetadataList","apiVersion":"%s","metadata":' % form[1].encode()
        else:
            av, kind = res.api_version, res.kind
            head = b'{"kind":"%s","apiVersion":"%s","metadata":' % (res.list_kind.encode(), av.encode())
            parts = [head + _j(meta) + b',"items":[']
            ohead = recs[0].head_as(av, kind) if recs else b""
            for i, r in enumerate(recs):
                parts.append(ohead if i == 0 else b"," + ohead)
                parts.append(r)
            parts.append(b"]}")
            return _Resp(200, None, parts=parts)
        return _Resp(200, head + _j(meta) + b',"items":[' + items + b"]}")

    def _watch(self, res, ns, lsel, fsel, q, accept):
        form = negotiate.choose(accept, "watch")
        if form is None:
            raise ApiError(406, negotiate.NOT_ACCEPTABLE, "NotAcceptable")
        try:
            timeout = float(q.get("timeoutSeconds") or 1800)
        except ValueError:
            raise bad_request("invalid timeoutSeconds")
        rvp = q.get("resourceVersion") or ""
        send_initial = q.get("sendInitialEvents") in ("true", "1")
        store = self.fk.store
        nsf = ns if res.namespaced else None
        if send_initial and q.get("allowWatchBookmarks") not in ("true", "1"):
            raise ApiError(422, "ListOptions.meta.k8s.io \"\" is invalid: allowWatchBookmarks: "
                           "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                           "Invalid")
        if rvp and rvp != "0":
            try:
                start = int(rvp)
            except ValueError:
                raise bad_request('invalid resource version "%s"' % rvp)
        else:
            start = None
        initial = []
        with store.lock:
            if start is None or send_initial:
                _, initial, _, _ = store.list(res.skey, nsf, lsel, fsel)
                pos = store.rv
            else:
                pos = start
        av, kind = res.api_version, res.kind

        def enc(etype, rec):
            if form[0] == "partial":
                ob = tables.partial_bytes(rec)
            elif form[0] == "table":
                ob = tables.encode_table(res, [rec], {"resourceVersion": str(rec.rv)},
                                         q.get("includeObject", "Metadata"), form[1])
            else:
                ob = rec.raw_as(av, kind)
            return b'{"type":"' + etype.encode() + b'","object":' + ob + b"}\n"

        def matches(rec):
            if rec is None:
                return False
            if nsf is not None and rec.ns != nsf:
                return False
            return lsel.matches(rec.meta.get("labels")) and (
                fsel is None or fsel.matches(rec.ns, rec.name, rec.fields))

        def bookmark(rv, initial_end=False):
            meta = {"resourceVersion": str(rv)}
            if initial_end:
                meta["annotations"] = {"k8s.io/initial-events-end": "true"}
            ob = {"kind": kind, "apiVersion": av, "metadata": meta}
            return b'{"type":"BOOKMARK","object":' + _j(ob) + b"}\n"

        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        every = self.fk.bookmark_interval

        def next_bookmark(now, deadline):
            # kube-apiserver's cacheWatcher.nextBookmarkTime: every bookmarkFrequency (1 min)
            # and 2 s before the watch's deadline.
            t = min(now + every, deadline - 2.0)
            return t if t > now else None

        def gen():
            nonlocal pos
            deadline = time.monotonic() + timeout
            next_bm = next_bookmark(time.monotonic(), deadline) if bookmarks else None
            for r in initial:
                yield enc("ADDED", r)
            if send_initial:
                yield bookmark(pos, True)
            while True:
                now = time.monotonic()
                left = deadline - now
                if left <= 0:
                    return
                if next_bm is not None and now >= next_bm:
                    # every event up to pos went out (or did not match): pos is safe
                    yield bookmark(pos)
                    next_bm = next_bookmark(now, deadline)
                    continue
                wait = min(left, 2.0)
                if next_bm is not None:
                    wait = max(0.0, min(wait, next_bm - now))
                evs, expired = store.events_after(pos, wait)
                if not evs and not expired and self._peer_closed():
                    return
                if expired:
                    st = ApiError(410, "too old resource version: %d (%d)" % (pos, store.compacted),
                                  "Expired").status()
                    yield b'{"type":"ERROR","object":' + _j(st) + b"}\n"
                    return
                if not evs:
                    if store.closed:
                        return
                    continue
                out = []
                for ev in evs:
                    pos = ev.rv
                    if ev.skey != res.skey:
                        continue
                    new_ok = matches(ev.rec)
                    if ev.etype == "ADDED":
                        if new_ok:
                            out.append(enc("ADDED", ev.rec))
                    elif ev.etype == "DELETED":
                        if new_ok:
                            out.append(enc("DELETED", ev.rec))
                    else:
                        old_ok = matches(ev.prev)
                        if new_ok and old_ok:
                            out.append(enc("MODIFIED", ev.rec))
                        elif new_ok:
                            out.append(enc("ADDED", ev.rec))
                        elif old_ok:
                            out.append(enc("DELETED", ev.rec))
                if out:
                    yield b"".join(out)

        return _Resp(200, None, "application/json", stream=gen())

    # ---- items ------------------------------------------------------------------------

    def _delete_opts(self, q, body):
        opts = {}
        if body:
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ct == "application/vnd.kubernetes.protobuf" or body.startswith(b"k8s\x00"):
                from .protobuf import decode
                opts = decode(body, "DeleteOptions")
            else:
                try:
                    opts = json.loads(body) or {}
                except ValueError:
                    raise bad_request("invalid DeleteOptions body")
        for k in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
            if k in q:
                v = q[k]
                if k == "orphanDependents":
                    v = v == "true"
                opts[k] = v
        pp = opts.get("propagationPolicy")
        if pp and pp not in ("Orphan", "Background", "Foreground"):
            raise ApiError(422, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                           'Unsupported value: "%s": supported values: "Foreground", "Background", '
                           '"Orphan", "nil"' % pp, "Invalid")
        if opts.get("dryRun") and opts["dryRun"] != ["All"]:
            raise ApiError(400, "dryRun: Unsupported value", "BadRequest")
        return opts

    def _item(self, res, ns, name, sub, q, body, accept):
        m = self.command
        api = self.fk.api
        nsv = ns if res.namespaced else ""
        if sub == "log":
            if m != "GET":
                raise method_not_allowed()
            rec = self.fk.store.get(res.skey, nsv, name)
            if rec is None:
                from .errors import not_found
                raise not_found(res, name)
            return _Resp(200, ("fakekube: log of pod %s/%s\n" % (nsv, name)).encode(),
                         "text/plain")
        if sub == "scale":
            return self._scale(res, nsv, name, q, body)
        if m == "GET":
            form = negotiate.choose(accept, "object")
            if form is None:
                raise ApiError(406, negotiate.NOT_ACCEPTABLE, "NotAcceptable")
            rec = self.fk.store.get(res.skey, nsv, name)
            if rec is None:
                from .errors import not_found
                raise not_found(res, name)
            if form[0] == "partial":
                return _Resp(200, tables.partial_bytes(rec))
            if form[0] == "table":
                return _Resp(200, tables.encode_table(res, [rec], {"resourceVersion": str(rec.rv)},
                                                      q.get("includeObject", "Metadata"), form[1]))
            return _Resp(200, rec.raw_as(res.api_version, res.kind))
        if m == "PUT":
            if sub == "finalize":
                obj = self._json_body(body)
                out = api.update(res, nsv, name, obj, self._dry_run(q), self._manager(q),
                                 internal=True)
                api._maybe_finish_namespace(name)
                return _Resp(200, _obj_bytes(out))
            obj = self._json_body(body)
            if not isinstance(obj, dict):
                raise bad_request("the body of the request must be an object")
            out = api.update(res, nsv, name, obj, self._dry_run(q), self._manager(q), sub)
            return _Resp(200, _obj_bytes(out))
        if m == "PATCH":
            ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            ptype = PATCH_TYPES.get(ct)
            if ptype is None or ptype == "apply-cbor":
                raise ApiError(415, "the body of the request was in an unknown format - accepted "
                               "media types include: application/json-patch+json, "
                               "application/merge-patch+json, application/apply-patch+yaml"
                               + ("" if res.crd else ", application/strategic-merge-patch+json"),
                               "UnsupportedMediaType")
            force = q.get("force") in ("true", "1")
            if force and ptype != "apply":
                raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may '
                               'not be specified for non-apply patch', "Invalid")
            out = api.patch(res, nsv, name, ptype, body, self._dry_run(q),
                            q.get("fieldManager") if ptype == "apply" else self._manager(q),
                            force, sub, self.headers.get("User-Agent", ""))
            code = 200
            if isinstance(out, tuple):
                out, code = out
            return _Resp(code, _obj_bytes(out))
        if m == "DELETE":
            opts = self._delete_opts(q, body)
            dry = self._dry_run(q) or opts.get("dryRun") == ["All"]
            code, out = api.delete(res, nsv, name, opts, dry)
            return _Resp(code, _obj_bytes(out))
        raise method_not_allowed()

    def _scale(self, res, ns, name, q, body):
        api = self.fk.api
        with api.lock:
            rec = self.fk.store.get(res.skey, ns, name)
            if rec is None:
                from .errors import not_found
                raise not_found(res, name)
            obj = rec.obj()
            if self.command in ("PUT", "PATCH"):
                sc = json.loads(body or b"{}")
                if self.command == "PATCH":
                    rep = ((sc.get("spec") or {}).get("replicas"))
                else:
                    rep = (sc.get("spec") or {}).get("replicas")
                if rep is not None:
                    obj["spec"]["replicas"] = int(rep)
                    obj = api.update(res, ns, name, obj, self._dry_run(q), self._manager(q))
            elif self.command != "GET":
                raise method_not_allowed()
            from .selectors import selector_from_match
            sel = (obj.get("spec") or {}).get("selector") or {}
            sel_s = ",".join("%s=%s" % kv for kv in sorted((sel.get("matchLabels") or {}).items()))
            m = obj["metadata"]
            scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                     "metadata": {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                                    "creationTimestamp") if k in m},
                     "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
                     "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                                "selector": sel_s}}
            return _Resp(200, _j(scale))
