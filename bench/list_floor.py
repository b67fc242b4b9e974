#!/usr/bin/env python3
"""The LIST floor of an export: every Secret labelled owner=helm, read in pages (limit +
continue) over one keep-alive HTTPS connection with Accept-Encoding: gzip, each page
inflated and its continue token read, nothing else done with it.  Metadata-only asks for
PartialObjectMetadataList, as the engine's plan does.

  python3 bench/list_floor.py URL TOKEN CA [--metadata] [--limit N]
prints: seconds items pages bytes-on-the-wire
"""
import argparse, http.client, json, re, ssl, sys, time, urllib.parse, zlib

META_ACCEPT = ("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
               "application/json")
# The list's metadata comes before its items: the continue token is near the start.
CONT = re.compile(rb'"continue"\s*:\s*"([^"]*)"')
ITEMS = re.compile(rb'"items"\s*:')


def run(url, token, ca, metadata=False, limit=500, path="/api/v1/secrets"):
    """(seconds, items, pages, wire bytes)."""
    u = urllib.parse.urlparse(url)
    ctx = ssl.create_default_context(cafile=ca)
    t0 = time.monotonic()
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=600)
    headers = {"Authorization": "Bearer " + token, "Accept-Encoding": "gzip",
               "Accept": META_ACCEPT if metadata else "application/json"}
    cont, items, pages, wire = None, 0, 0, 0
    while True:
        q = {"labelSelector": "owner=helm", "limit": str(limit)}
        if cont:
            q["continue"] = cont
        conn.request("GET", path + "?" + urllib.parse.urlencode(q), headers=headers)
        r = conn.getresponse()
        body = r.read()
        wire += len(body)
        if r.status != 200:
            raise SystemExit("LIST: HTTP %d %s" % (r.status, body[:300]))
        if r.getheader("Content-Encoding", "") == "gzip":
            body = zlib.decompress(body, 31)
        pages += 1
        head = body[:ITEMS.search(body).start()] if ITEMS.search(body) else body
        m = CONT.search(head)
        # The items counted by a byte search (every object has a uid), not a parse.
        items += body.count(b'"uid":')
        cont = m.group(1).decode() if m and m.group(1) else None
        if not cont:
            break
    conn.close()
    return time.monotonic() - t0, items, pages, wire


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("ca")
    ap.add_argument("--metadata", action="store_true")
    ap.add_argument("--limit", type=int, default=500)
    a = ap.parse_args()
    print("%.3f %d %d %d" % run(a.url, a.token, a.ca, a.metadata, a.limit))


if __name__ == "__main__":
    main()
