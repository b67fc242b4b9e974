#!/usr/bin/env python3
"""Fault injection: the s3 plugin talks to moto through tests/plugins/s3/faultproxy.py, which
answers 503 SlowDown / 500, drops connections before forwarding, after forwarding and in
the middle of a body, corrupts bodies and stalls.  Every operation must end with the
right data or a clear error after its retries, and no partial object may ever be stored
(checked directly on moto, behind the proxy's back)."""
import os, subprocess, sys, tempfile, shutil, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "s3"))
from s3env import Moto, Checks, opts, s3tool  # noqa: E402
import faultproxy  # noqa: E402


def main():
    work = tempfile.mkdtemp(prefix="s3-faults-")
    moto = Moto(work)
    c = Checks()
    proxy = None
    try:
        s3 = moto.client()
        s3.create_bucket(Bucket="faults")
        proxy = faultproxy.Proxy(moto.port, retry_after=None, slow=4.0)
        base = opts("http://127.0.0.1:%d" % proxy.port, "faults", moto.ak, moto.sk,
                    "max_attempts=4", "retry_base_delay_ms=50", "retry_max_delay_ms=3000",
                    "read_timeout=2", "connect_timeout=2",
                    "multipart_threshold=5MiB", "multipart_chunk_size=5MiB")

        def exists(key):
            try:
                s3.head_object(Bucket="faults", Key=key)
                return True
            except s3.exceptions.ClientError:
                return False

        def content(key):
            return s3.get_object(Bucket="faults", Key=key)["Body"].read()

        small = os.urandom(300 * 1024)
        big = os.urandom(12 * 1024 * 1024 + 777)          # 3 parts of 5, 5, 2 MiB
        fsmall = os.path.join(work, "small")
        fbig = os.path.join(work, "big")
        open(fsmall, "wb").write(small)
        open(fbig, "wb").write(big)
        out = os.path.join(work, "out")

        def run(*args, **kw):
            return s3tool(base, *args, **kw)

        # --- keep-alive: one handle's threads reuse their connections ---
        d = os.path.join(work, "many")
        os.mkdir(d)
        for i in range(60):
            open(os.path.join(d, "f%02d" % i), "wb").write(os.urandom(1000))
        proxy.set()
        p = run("put-dir", d, "ka/", "4")
        c.ok(p.returncode == 0 and proxy.count("PUT") == 60 and proxy.connections <= 8,
             "keep-alive: 60 puts from 4 threads over at most 8 connections",
             "%d connections %s" % (proxy.connections, p.stderr.decode()))

        # --- proxies come from the environment (libcurl): talk to moto directly, via
        # http_proxy = the fault proxy, which then sees the request in absolute form ---
        proxy.set()
        direct = opts(moto.endpoint, "faults", moto.ak, moto.sk)
        penv = {"http_proxy": "http://127.0.0.1:%d" % proxy.port, "no_proxy": "", "NO_PROXY": ""}
        p = s3tool(direct, "put", "via-proxy", "-", input=b"proxied", extra_env=penv)
        c.ok(p.returncode == 0 and content("via-proxy") == b"proxied" and proxy.count("PUT", "via-proxy") == 1,
             "http_proxy from the environment is used", p.stderr.decode())
        s3.delete_object(Bucket="faults", Key="via-proxy")

        # --- TLS: ca_bundle, certificate verification, insecure_skip_tls_verify ---
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        g = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                            "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], capture_output=True)
        if g.returncode != 0:
            print("SKIP: TLS checks not run: openssl cannot make a test certificate: %s" % g.stderr.decode(), flush=True)
        else:
            tproxy = faultproxy.Proxy(moto.port, tls=(cert, key))
            try:
                tls = opts("https://localhost:%d" % tproxy.port, "faults", moto.ak, moto.sk, "max_attempts=2",
                           "retry_base_delay_ms=10")
                p = s3tool(tls + "\nca_bundle=" + cert, "put", "tls/a", "-", input=b"over tls")
                c.ok(p.returncode == 0 and content("tls/a") == b"over tls" and tproxy.count("PUT") == 1,
                     "https endpoint verified with ca_bundle", p.stderr.decode())
                p = s3tool(tls, "get", "tls/a", "-", extra_env={"CURL_CA_BUNDLE": "", "SSL_CERT_FILE": ""})
                err = p.stderr.decode()
                c.ok(p.returncode == 22 and "certificate" in err.lower() and tproxy.count("GET") == 0,
                     "unknown CA -> configuration error naming the certificate problem, no retry", err)
                p = s3tool(tls + "\ninsecure_skip_tls_verify=true", "get", "tls/a", "-")
                err = p.stderr.decode()
                c.ok(p.returncode == 0 and p.stdout == b"over tls" and "NOT verified" in err,
                     "insecure_skip_tls_verify=true works and warns loudly", err)
            finally:
                tproxy.stop()
                s3.delete_object(Bucket="faults", Key="tls/a")

        # --- a wrong local clock is corrected from the server's Date ---
        proxy.set(dict(method="PUT", fault="skewed", times=1))
        p = run("put", "skew", "-", input=b"late clock")
        import calendar
        sent = proxy.last_amz_date or ""
        ahead = calendar.timegm(time.strptime(sent, "%Y%m%dT%H%M%SZ")) - time.time() if sent else 0
        c.ok(p.returncode == 0 and content("skew") == b"late clock" and proxy.count("PUT") == 2
             and 7000 < ahead < 7400 and "clock differs" in p.stderr.decode(),
             "RequestTimeTooSkewed: re-signed with the server's time, warned", "%s ahead=%.0f %s" % (sent, ahead, p.stderr.decode()))
        s3.delete_object(Bucket="faults", Key="skew")

        # --- conditional writes are advertised only when the store honours them ---
        proxy.set()
        p = run("caps")
        c.ok(p.returncode == 0 and "conditional" in p.stdout.decode(), "caps: moto honours If-None-Match/If-Match",
             p.stdout.decode() + p.stderr.decode())
        proxy.set(dict(path="releasemanager-probe", fault="fake-ok", times=100))
        p = run("caps")
        c.ok(p.returncode == 0 and "conditional" not in p.stdout.decode() and proxy.count("PUT") == 3,
             "caps: a store that ignores the conditions gets no conditional-put capability",
             p.stdout.decode() + p.stderr.decode())
        p = s3tool(base + "\nconditional_writes=false", "caps")
        c.ok(p.returncode == 0 and "conditional" not in p.stdout.decode(), "caps: conditional_writes=false",
             p.stdout.decode())

        # --- PUT ---
        proxy.set(dict(method="PUT", path="/faults/p1", fault="503", times=2))
        p = run("put", "p1", fsmall)
        c.ok(p.returncode == 0 and content("p1") == small and proxy.count("PUT") == 3,
             "put: two 503 SlowDown then success", p.stderr.decode())

        proxy.retry_after = "1"
        proxy.set(dict(method="PUT", fault="503", times=1))
        p = run("put", "p2", fsmall)
        puts = [t for (m, _, _), t in zip(proxy.log, proxy.arrivals) if m == "PUT"]
        gap = puts[1] - puts[0] if len(puts) == 2 else None
        c.ok(p.returncode == 0 and proxy.count("PUT") == 2 and gap is not None and gap >= 1.0
             and content("p2") == small,
             "put: Retry-After: 1 honoured (the retry came no sooner)", "%s %s" % (gap, p.stderr.decode()))
        proxy.retry_after = None

        proxy.set(dict(method="PUT", fault="500", times=100))
        p = run("put", "p3", fsmall)
        err = p.stderr.decode()
        c.ok(p.returncode == 16 and "InternalError" in err and "after 4 attempts" in err
             and proxy.count("PUT") == 4 and not exists("p3"),
             "put: persistent 500 -> TRANSIENT after 4 attempts, nothing stored", err)

        proxy.set(dict(method="PUT", fault="drop", times=2))
        p = run("put", "p4", fsmall)
        c.ok(p.returncode == 0 and content("p4") == small, "put: connection dropped twice before forwarding",
             p.stderr.decode())

        proxy.set(dict(method="PUT", fault="drop-response", times=1))
        p = run("put", "p5", fsmall, "--if-none-match")
        c.ok(p.returncode == 0 and content("p5") == small and proxy.count("PUT") == 2,
             "put If-None-Match: answer lost after the write -> retry sees our own object, success",
             p.stderr.decode())
        proxy.set()
        p = run("put", "p5", fsmall, "--if-none-match")
        c.ok(p.returncode == 12, "put If-None-Match on an existing key -> EXISTS", p.stderr.decode())

        # --- multipart ---
        proxy.set(dict(method="PUT", path="partNumber=2", fault="drop", times=1),
                  dict(method="PUT", path="partNumber=3", fault="503", times=1),
                  dict(method="POST", path="uploadId=", fault="500", times=1))
        p = run("put", "m1", fbig)
        c.ok(p.returncode == 0 and content("m1") == big and proxy.count("POST", "uploadId=") == 2,
             "multipart: dropped part, 503 part, 500 on complete -> exact object", p.stderr.decode())

        proxy.set(dict(method="PUT", path="partNumber=2", fault="500", times=100))
        p = run("put", "m2", fbig)
        uploads = s3.list_multipart_uploads(Bucket="faults").get("Uploads", [])
        c.ok(p.returncode == 16 and not exists("m2") and proxy.count("DELETE", "uploadId=") == 1
             and not [u for u in uploads if u["Key"] == "m2"],
             "multipart: part keeps failing -> error, upload aborted, nothing stored",
             p.stderr.decode() + repr(uploads))

        proxy.set(dict(method="PUT", path="partNumber=2", fault="drop-mid-body", times=100))
        p = run("put", "m3", fbig, extra_env={"S3TOOL_READ_FAIL_AFTER": str(7 * 1024 * 1024)})
        uploads = s3.list_multipart_uploads(Bucket="faults").get("Uploads", [])
        c.ok(p.returncode == 23 and not exists("m3") and not [u for u in uploads if u["Key"] == "m3"],
             "multipart: reader fails mid-upload -> ABORTED, upload aborted", p.stderr.decode())

        # --- GET ---
        proxy.set(dict(method="GET", path="/faults/p1$", fault="drop-mid-body", times=2))
        p = run("get", "p1", out)
        c.ok(p.returncode == 0 and open(out, "rb").read() == small and proxy.count("GET") == 3,
             "get: body cut in the middle twice -> restarted, exact", p.stderr.decode())

        proxy.set(dict(method="GET", path="/faults/p1$", fault="corrupt", times=1))
        p = run("get", "p1", out)
        c.ok(p.returncode == 0 and open(out, "rb").read() == small and proxy.count("GET") == 2,
             "get: corrupted body caught by the ETag (MD5) check, refetched", p.stderr.decode())

        proxy.set(dict(method="GET", path="/faults/p1$", fault="corrupt", times=100))
        p = run("get", "p1", out)
        err = p.stderr.decode()
        c.ok(p.returncode == 16 and "ETag" in err, "get: always corrupted -> clear error", err)

        proxy.set(dict(method="GET", path="/faults/m1$", fault="drop-mid-body", times=1))
        p = run("get", "m1", out)
        c.ok(p.returncode == 0 and open(out, "rb").read() == big, "get multipart object: cut once, exact",
             p.stderr.decode())

        proxy.set(dict(method="GET", path="/faults/p1$", fault="slow", times=1))
        t0 = time.time()
        p = run("get", "p1", out)
        c.ok(p.returncode == 0 and open(out, "rb").read() == small and proxy.count("GET") == 2,
             "get: stalled response times out (read_timeout=2) and is retried",
             "%.1fs %s" % (time.time() - t0, p.stderr.decode()))

        proxy.set(dict(method="GET", fault="slow", times=100))
        p = s3tool(base + "\nmax_attempts=2", "get", "p1", out)
        err = p.stderr.decode()
        c.ok(p.returncode == 16 and "after 2 attempts" in err, "get: always stalled -> clear timeout error", err)

        # --- HEAD, LIST, DELETE ---
        proxy.set(dict(method="HEAD", fault="drop", times=1), dict(method="HEAD", fault="503", times=1))
        p = run("stat", "p1")
        c.ok(p.returncode == 0 and p.stdout.decode().startswith(str(len(small))), "stat: drop + 503 then success",
             p.stderr.decode())

        proxy.set(dict(method="GET", path="list-type=2", fault="503", times=1),
                  dict(method="GET", path="list-type=2", fault="drop-mid-body", times=1))
        p = run("list", "")
        keys = sorted(l.split("\t")[0] for l in p.stdout.decode().splitlines())
        keys = [k for k in keys if not k.startswith("ka/")]
        c.ok(p.returncode == 0 and keys == ["m1", "p1", "p2", "p4", "p5"], "list: 503 and a cut body then the full listing",
             repr(keys) + p.stderr.decode())

        proxy.set(dict(method="POST", path="delete", fault="500", times=1))
        p = run("rm-many", "p2", "p4")
        c.ok(p.returncode == 0 and not exists("p2") and not exists("p4"), "rm-many: 500 then success",
             p.stderr.decode())

        proxy.set(dict(method="DELETE", fault="drop-response", times=1))
        p = run("rm", "p5")
        c.ok(p.returncode == 0 and not exists("p5"), "rm: answer lost after the delete -> retried, success",
             p.stderr.decode())
        # --- the core's whole conformance suite with 10% of all requests failing ---
        rm_bin = os.environ.get("RM_BIN")
        if rm_bin and os.access(rm_bin, os.X_OK):
            proxy.set(dict(fault="random", p=0.10, seed=4, times=10 ** 9))
            benv = dict(os.environ, RELEASEMANAGER_S3_SECRET_ACCESS_KEY=moto.sk)
            p = subprocess.run([rm_bin, "--plugin-dir", os.path.join(os.environ.get("abs_top_builddir", "."), "plugins", "s3", ".libs"),
                                "backends", "check", "s3", "--path", "chaos", "--list-keys", "1200", "--big-size", "11MiB",
                                "--endpoint", "http://127.0.0.1:%d" % proxy.port, "--bucket", "faults",
                                "--accessKeyID", moto.ak, "--max_attempts", "10", "--retry_base_delay_ms", "20",
                                "--retry_max_delay_ms", "500", "--read_timeout", "5",
                                "--multipart_threshold", "5MiB", "--multipart_chunk_size", "5MiB"],
                               env=benv, capture_output=True, text=True, timeout=900)
            injected = sum(1 for _, _, f in proxy.log if f)
            print(p.stdout, end="")
            c.ok(p.returncode == 0 and "15 passed, 0 failed, 1 skipped" in p.stdout and injected > 50,
                 "backends check s3 passes with 10%% of %d requests failing (%d faults injected)"
                 % (len(proxy.log), injected), p.stderr[-3000:])
        else:
            print("SKIP: backends check under faults: no releasemanager at $RM_BIN", flush=True)
    finally:
        if proxy:
            proxy.stop()
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
