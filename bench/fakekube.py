#!/usr/bin/env python3
"""How fast the fake API server (tests/fakekube) loads and lists big Secrets: bulk load,
full LIST, paged LIST with gzip, metadata-only LIST.  This is the timing that
tests/fakekube/test_server.py used to assert; the test now checks only what the LISTs
return.

Usage: bench/fakekube.py [N [KIB]]   (default 2500 Secrets of 200 KiB, the export
benchmark's size; results in bench/RESULTS.md and tests/fakekube/README.md)."""

import base64
import gzip
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "fakekube"))
import fakekube_util as fku  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2500
    kib = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with fku.FakeKube() as kube:
        kube.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": "perf"}})
        blob = base64.b64encode(os.urandom(kib * 768)).decode()[: kib * 1024]
        blob = blob[: len(blob) // 4 * 4]
        t = time.monotonic()
        for start in range(0, n, 250):
            kube.load([{"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                        "metadata": {"name": "sh.helm.release.v1.r%05d.v1" % i, "namespace": "perf",
                                     "labels": {"owner": "helm", "name": "r%05d" % i}},
                        "data": {"release": blob}} for i in range(start, min(n, start + 250))])
        t_load = time.monotonic() - t
        t = time.monotonic()
        kube.request("GET", "/api/v1/namespaces/perf/secrets?labelSelector=owner%3Dhelm")
        t_full = time.monotonic() - t
        t = time.monotonic()
        tok = ""
        while True:
            _, _, data = kube.request("GET", "/api/v1/namespaces/perf/secrets?limit=500" +
                                      ("&continue=" + tok if tok else ""),
                                      headers={"Accept-Encoding": "gzip"})
            tok = json.loads(gzip.decompress(data))["metadata"].get("continue")
            if not tok:
                break
        t_paged = time.monotonic() - t
        t = time.monotonic()
        kube.request("GET", "/api/v1/namespaces/perf/secrets?labelSelector=owner%3Dhelm", headers={
            "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"})
        t_meta = time.monotonic() - t
    print("fakekube: %d x %d KiB: load %.1fs, full LIST %.2fs, paged+gzip %.2fs, metadata %.2fs"
          % (n, kib, t_load, t_full, t_paged, t_meta))


if __name__ == "__main__":
    main()
