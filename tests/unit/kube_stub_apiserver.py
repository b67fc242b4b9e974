#!/usr/bin/env python3
"""A scripted HTTPS stub of the Kubernetes API for the client's unit tests.

Python standard library only, plus the openssl command line to make certificates.  It is
not a fake API server (tests/fakekube/ is): it answers each request with the first
matching rule the test scripted, so a test can say exactly what the client must cope
with (a 503 with Retry-After, a 401 until a new token arrives, a refused media type, a
dropped connection, a watch stream) and then read back every request the client made.

Usage: stub_apiserver.py --dir DIR [--rules FILE] [--proxy]
  Writes DIR/ca.pem, DIR/server.pem, DIR/server-key.pem, DIR/client.pem,
  DIR/client-key.pem (a client certificate with CN "stub-client", signed by the CA),
  then prints "READY <port> [<proxy port>]" and serves until killed.
  The server certificate is valid for IP 127.0.0.1 and DNS kubernetes.default.svc only
  (not "localhost"), so tls-server-name can be tested.

Control endpoints (no auth):
  POST /_stub/rules   body: JSON list of rules, appended
  DELETE /_stub/rules all rules removed
  GET  /_stub/log     JSON list of the requests seen so far

A rule: {"method": "GET", "path": "/api/v1/secrets" (exact, without query),
  "query_has": "continue=abc", "query_lacks": "continue=", "accept_has": "as=Partial"
  (all optional), "times": 1 (-1 = always),
  "auth": "Bearer X" (otherwise 401 and the rule is not used),
  "client_cn": "stub-client" (otherwise 401),
  "status": 200, "headers": {...}, "json": {...} or "body": "text",
  "gzip": true (compress when the client accepts gzip),
  "drop": true (close the connection without answering),
  "stream": [{"line": "...", "delay": 0.1}, ...] (chunked, for WATCH)}
No matching rule: 404 with a NotFound Status.
"""

import argparse
import gzip
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RULES = []
LOG = []


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_certs(d):
    def p(n):
        return os.path.join(d, n)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=stub-ca",
            "-keyout", p("ca-key.pem"), "-out", p("ca.pem"))
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=stub-apiserver",
            "-keyout", p("server-key.pem"), "-out", p("server.csr"))
    openssl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca-key.pem"),
            "-CAcreateserial", "-days", "2", "-extfile", p("server.ext"), "-out", p("server.pem"))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=stub-client/O=system:masters",
            "-keyout", p("client-key.pem"), "-out", p("client.csr"))
    openssl("x509", "-req", "-in", p("client.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca-key.pem"),
            "-CAcreateserial", "-days", "2", "-out", p("client.pem"))


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def client_cn(self):
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            return None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def send(self, code, obj=None, body=None, headers=None, allow_gzip=False):
        data = body.encode() if isinstance(body, str) else (body or b"")
        if obj is not None:
            data = json.dumps(obj).encode()
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        if allow_gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            data = gzip.compress(data)
            hdrs["Content-Encoding"] = "gzip"
        self.send_response(code)
        for k, v in hdrs.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        path, _, query = self.path.partition("?")
        if path == "/_stub/rules":
            with LOCK:
                if self.command == "DELETE":
                    RULES.clear()
                else:
                    RULES.extend(json.loads(body))
            return self.send(200, {"ok": True})
        if path == "/_stub/log":
            with LOCK:
                return self.send(200, LOG)
        entry = {"method": self.command, "path": path, "query": query,
                 "headers": {k: v for k, v in self.headers.items()}, "body": body,
                 "client_port": self.client_address[1], "client_cn": self.client_cn(),
                 "sni": getattr(self.connection, "stub_sni", None)}
        with LOCK:
            LOG.append(entry)
            rule = None
            for r in RULES:
                if r.get("times", 1) == 0:
                    continue
                if r.get("method", self.command) != self.command or r.get("path") != path:
                    continue
                if r.get("query_has") and r["query_has"] not in query:
                    continue
                if r.get("query_lacks") and r["query_lacks"] in query:
                    continue
                if r.get("accept_has") and r["accept_has"] not in (self.headers.get("Accept") or ""):
                    continue
                rule = r
                break
            if rule is not None:
                want = rule.get("auth")
                cn = rule.get("client_cn")
                if (want and self.headers.get("Authorization") != want) or (cn and self.client_cn() != cn):
                    rule = "unauthorized"
                elif rule.get("times", 1) > 0:
                    rule["times"] = rule.get("times", 1) - 1
        if rule is None:
            return self.send(404, status(404, "NotFound", "the server could not find the requested resource"))
        if rule == "unauthorized":
            return self.send(401, status(401, "Unauthorized", "Unauthorized"))
        if rule.get("drop"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if rule.get("stream") is not None:
            self.send_response(rule.get("status", 200))
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for ev in rule["stream"]:
                time.sleep(ev.get("delay", 0))
                chunk = (ev["line"] + "\n").encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send(rule.get("status", 200), rule.get("json"), rule.get("body"), rule.get("headers"),
                  rule.get("gzip", False))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, ctx):
        super().__init__(addr, Handler)
        self.ctx = ctx

    def get_request(self):
        sock, addr = self.socket.accept()
        holder = {}

        def sni(sslsock, name, _ctx):
            holder["sni"] = name
        self.ctx.sni_callback = sni
        try:
            s = self.ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            sock.close()
            raise
        s.stub_sni = holder.get("sni")
        return s, addr

    def handle_error(self, request, client_address):
        pass


class ProxyHandler(BaseHTTPRequestHandler):
    """A CONNECT proxy that records the tunnels it opened."""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_CONNECT(self):
        with LOCK:
            LOG.append({"method": "CONNECT", "path": self.path, "headers": dict(self.headers.items())})
        host, _, port = self.path.rpartition(":")
        try:
            up = socket.create_connection((host.strip("[]"), int(port)))
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        socks = [self.connection, up]
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                break
            done = False
            for s in r:
                data = s.recv(65536)
                if not data:
                    done = True
                    break
                (up if s is self.connection else self.connection).sendall(data)
            if done:
                break
        up.close()
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rules")
    ap.add_argument("--proxy", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.dir, "server.pem")):
        make_certs(a.dir)
    if a.rules:
        with open(a.rules) as f:
            RULES.extend(json.load(f))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(a.dir, "server.pem"), os.path.join(a.dir, "server-key.pem"))
    ctx.load_verify_locations(os.path.join(a.dir, "ca.pem"))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    srv = TLSServer(("127.0.0.1", 0), ctx)
    ports = [str(srv.server_address[1])]
    if a.proxy:
        proxy = ThreadingHTTPServer(("127.0.0.1", 0), ProxyHandler)
        proxy.daemon_threads = True
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        ports.append(str(proxy.server_address[1]))
    print("READY " + " ".join(ports), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
