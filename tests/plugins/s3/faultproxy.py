"""A fault-injecting HTTP/1.1 proxy for the s3 plugin's tests.  It forwards requests
unchanged (Host included, so SigV4 signatures stay valid) to an upstream S3 server and,
when a rule matches, injects a fault instead of (or while) answering:

  503        answer 503 SlowDown (Retry-After: <retry_after>) without forwarding
  500        answer 500 InternalError without forwarding
  drop       close the connection after reading the request; nothing is forwarded
  drop-response  forward, then close without answering (the server did the work)
  drop-mid-body  forward, send the headers and half of the body, then close
  corrupt    forward, flip one byte of the response body
  slow       sleep <slow> seconds, then forward
  skewed     answer 403 RequestTimeTooSkewed with a Date two hours ahead
  fake-ok    answer 200 (PUT, with an ETag) or 204 (DELETE) without forwarding: a store
             that ignores If-None-Match / If-Match looks like this to the probe

rules: list of dicts {method, path (regex on path+query), fault, times}.  A rule with
"fault": "random" picks, with probability "p" per request, one of 503, 500, drop,
drop-response, drop-mid-body (seeded, so a run is reproducible)."""
import http.client, random, re, socket, socketserver, threading, time

ERR = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
       '<RequestId>FAULT%d</RequestId></Error>')


class Proxy:
    def __init__(self, upstream_port, retry_after=None, slow=4.0, tls=None):
        self.upstream_port = upstream_port
        self.retry_after = retry_after
        self.slow = slow
        self.rules = []
        self.log = []
        self.arrivals = []
        self.connections = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                try:
                    proxy._serve(self)
                except OSError:
                    pass                # the client gave up (timeouts), or the test ended

        ctx = None
        if tls:                         # (certfile, keyfile): serve HTTPS
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def finish_request(self, request, client_address):
                if ctx is not None:
                    try:
                        request = ctx.wrap_socket(request, server_side=True)
                    except OSError:
                        return          # e.g. the client refused our certificate
                socketserver.ThreadingTCPServer.finish_request(self, request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, *rules):
        with self.lock:
            self.rules = [dict(r) for r in rules]
            self.log = []
            self.arrivals = []          # when each logged request arrived, as the proxy saw it
            self.connections = 0

    def count(self, method=None, path=None, fault=None):
        with self.lock:
            return sum(1 for m, p, f in self.log
                       if (method is None or m == method) and (path is None or re.search(path, p))
                       and (fault is None or f == fault))

    def _pick(self, method, target):
        with self.lock:
            fault = None
            for r in self.rules:
                if r.get("times", 1) > 0 and r.get("method", method) == method \
                        and re.search(r.get("path", ""), target):
                    r["times"] = r.get("times", 1) - 1
                    fault = r["fault"]
                    if fault == "random":
                        rng = r.setdefault("rng", random.Random(r.get("seed", 1)))
                        fault = rng.choice(["503", "500", "drop", "drop-response", "drop-mid-body"]) \
                            if rng.random() < r.get("p", 0.1) else None
                    break
            self.log.append((method, target, fault))
            self.arrivals.append(time.monotonic())
            return fault

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, h):
        with self.lock:
            self.connections += 1
        rf, wf = h.rfile, h.wfile
        while True:
            line = rf.readline(65537)
            if not line or line in (b"\r\n", b"\n"):
                return
            try:
                method, target, _ = line.decode("latin-1").split(" ", 2)
            except ValueError:
                return
            if target.startswith("http://"):
                # absolute form (we are someone's http_proxy): forward in origin form
                target = "/" + target[len("http://"):].partition("/")[2]
            headers = []
            while True:
                l = rf.readline(65537)
                if l in (b"\r\n", b"\n", b""):
                    break
                name, _, value = l.decode("latin-1").partition(":")
                headers.append((name.strip(), value.strip()))
            hd = {k.lower(): v for k, v in headers}
            if hd.get("expect", "").lower() == "100-continue":
                wf.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                wf.flush()
            body = rf.read(int(hd.get("content-length", "0") or 0))
            fault = self._pick(method, target)
            with self.lock:
                self.last_amz_date = hd.get("x-amz-date")
            if fault == "drop":
                return
            if fault in ("503", "500"):
                code, msg = ("SlowDown", "Please reduce your request rate.") if fault == "503" \
                    else ("InternalError", "We encountered an internal error. Please try again.")
                data = (ERR % (code, msg, len(self.log))).encode()
                extra = "Retry-After: %s\r\n" % self.retry_after if fault == "503" and self.retry_after else ""
                wf.write(("HTTP/1.1 %s %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n%s\r\n"
                          % (fault, code, len(data), extra)).encode() + (b"" if method == "HEAD" else data))
                wf.flush()
                continue
            if fault == "skewed":
                import email.utils
                data = (ERR % ("RequestTimeTooSkewed", "The difference between the request time and the "
                               "current time is too large.", len(self.log))).encode()
                wf.write(("HTTP/1.1 403 Forbidden\r\nDate: %s\r\nContent-Type: application/xml\r\n"
                          "Content-Length: %d\r\n\r\n" % (email.utils.formatdate(time.time() + 7200, usegmt=True),
                                                            len(data))).encode() + data)
                wf.flush()
                continue
            if fault == "fake-ok":
                status = "204 No Content" if method == "DELETE" else "200 OK"
                wf.write(("HTTP/1.1 %s\r\nETag: \"%032x\"\r\nContent-Length: 0\r\n\r\n"
                          % (status, len(self.log))).encode())
                wf.flush()
                continue
            if fault == "slow":
                time.sleep(self.slow)
            up = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
            up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                if k.lower() not in ("expect", "connection", "proxy-connection"):
                    up.putheader(k, v)
            up.endheaders(body if body else None)
            resp = up.getresponse()
            data = resp.read()
            rheaders = [(k, v) for k, v in resp.getheaders()
                        if k.lower() not in ("transfer-encoding", "connection", "content-length")]
            status, reason = resp.status, resp.reason
            up.close()
            if fault == "drop-response":
                return
            if method == "HEAD":
                length = resp.getheader("Content-Length", "0")
            else:
                length = str(len(data))
            if fault == "corrupt" and data:
                data = bytes([data[0] ^ 0x55]) + data[1:]
            out = "HTTP/1.1 %d %s\r\n" % (status, reason)
            for k, v in rheaders:
                out += "%s: %s\r\n" % (k, v)
            out += "Content-Length: %s\r\n\r\n" % length
            wf.write(out.encode("latin-1"))
            if method != "HEAD":
                wf.write(data[: len(data) // 2] if fault == "drop-mid-body" else data)
            wf.flush()
            if fault == "drop-mid-body":
                try:
                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
