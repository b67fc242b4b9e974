"""A plain-HTTP CONNECT proxy beside the API server (--proxy), for clients' proxy-url
tests: each tunnel it opens goes into the request log as method CONNECT, path host:port."""

import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log = None  # RequestLog, set by a subclass

    def log_message(self, fmt, *args):
        pass

    def do_CONNECT(self):
        self.log.add({"method": "CONNECT", "path": self.path, "query": "", "verb": None,
                      "status": 200, "headers": dict(self.headers.items())})
        host, _, port = self.path.rpartition(":")
        try:
            up = socket.create_connection((host.strip("[]"), int(port)))
        except (OSError, ValueError):
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        socks = [self.connection, up]
        done = False
        while not done:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                break
            for s in r:
                data = s.recv(65536)
                if not data:
                    done = True
                    break
                (up if s is self.connection else self.connection).sendall(data)
        up.close()
        self.close_connection = True


class ConnectProxy:
    def __init__(self, host, log):
        handler = type("ProxyHandler", (_Handler,), {"log": log})
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, name="fakekube-proxy",
                         daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
