#!/usr/bin/env python3
"""Run the fake Kubernetes API server.

  python3 tests/fakekube/fakekube.py --state-dir DIR [--port N] [--token T] [--job-delay S]

Generates a CA and certificates in DIR (openssl CLI), listens with TLS on 127.0.0.1,
writes DIR/kubeconfig and DIR/ready.json, prints the same JSON (url, port, kubeconfig,
token, ca, pid, ...) as one line on stdout, and serves until SIGTERM/SIGINT or
POST /_fake/shutdown.  See README.md next to this file.
"""

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakekube.server import Config, FakeKube  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--state-dir", required=True, help="certificates, kubeconfig, ready.json")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    ap.add_argument("--token", help="bearer token (default: random)")
    ap.add_argument("--basic", action="append", default=[], metavar="USER:PASSWORD",
                    help="also accept this basic-auth user")
    ap.add_argument("--job-delay", type=float, default=0.3,
                    help="seconds before a Job (or run-to-completion Pod) completes")
    ap.add_argument("--gzip-threshold", type=int, default=128 * 1024,
                    help="gzip responses at least this big when the client accepts gzip")
    ap.add_argument("--no-gzip-cache", action="store_true",
                    help="compress every response afresh, as kube-apiserver does (default: "
                         "keep each object's compressed form for the next LIST)")
    ap.add_argument("--max-events", type=int, default=4000,
                    help="watch history kept; older resourceVersions get 410 Expired")
    ap.add_argument("--kube-version", default="v1.31.0", help="what /version reports")
    ap.add_argument("--no-managed-fields", action="store_true")
    ap.add_argument("--scripted", action="store_true",
                    help="answer only from fault rules (404 otherwise), no authentication "
                         "but the rules' own, full headers and bodies in the request log")
    ap.add_argument("--server-names", metavar="SAN",
                    help="subjectAltName of the server certificate, openssl syntax "
                         "(default: 127.0.0.1, ::1, localhost, kubernetes.default.svc, ...)")
    ap.add_argument("--proxy", action="store_true",
                    help="also run a CONNECT proxy on a free port (proxyPort in the JSON)")
    ap.add_argument("--accept-log", action="store_true",
                    help="record the time each write commits (GET /_fake/accepted)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")
    a = ap.parse_args(argv)
    basic = {}
    for b in a.basic:
        u, _, p = b.partition(":")
        basic[u] = p
    cfg = Config(host=a.host, port=a.port, state_dir=a.state_dir, token=a.token, basic=basic,
                 job_delay=a.job_delay, gzip_threshold=a.gzip_threshold,
                 gzip_cache=not a.no_gzip_cache,
                 max_events=a.max_events, kube_version=a.kube_version,
                 managed_fields=not a.no_managed_fields, verbose=a.verbose,
                 scripted=a.scripted, server_names=a.server_names, proxy=a.proxy,
                 accept_log=a.accept_log)
    fk = FakeKube(cfg)
    info = fk.start()
    done = threading.Event()

    def stop(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    while not done.is_set() and not fk.store.closed:
        done.wait(0.5)
    fk.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
