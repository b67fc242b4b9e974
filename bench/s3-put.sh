#!/bin/sh
# S3 upload benchmark (issue 4): the s3 plugin vs `aws s3 cp --recursive`, same files,
# same moto server, same run.
#   bench/s3-put.sh [BUILD_DIR] [N] [SIZE_KIB] [THREADS]
# BUILD_DIR holds the built tree (default: the source tree): its plugins/s3/.libs/s3.so
# is driven by tests/plugins/s3/s3tool (`put-dir`: THREADS uploads in parallel on one plugin
# handle, as the core does).  Defaults: 1000 objects of 200 KiB, 10 threads (the AWS
# CLI's default max_concurrent_requests).  Needs python3 with moto and boto3, and the
# AWS CLI (`aws` or `python3 -m awscli`).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
n=${2:-1000}
kib=${3:-200}
threads=${4:-10}
exec python3 - "$here/.." "$build" "$n" "$kib" "$threads" <<'PYEOF'
import os, shutil, subprocess, sys, tempfile, time
src, build, n, kib, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, os.path.join(src, "tests", "plugins", "s3"))
os.environ["abs_top_builddir"] = build
from s3env import Moto, opts, s3tool

cli = [shutil.which("aws")] if shutil.which("aws") else [sys.executable, "-m", "awscli"]
work = tempfile.mkdtemp(prefix="s3-bench-")
moto = Moto(work)
try:
    s3 = moto.client()
    s3.create_bucket(Bucket="bench")
    data = os.path.join(work, "data")
    os.mkdir(data)
    for i in range(n):
        with open(os.path.join(data, "rec-%05d.json.gz" % i), "wb") as f:
            f.write(os.urandom(kib * 1024))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=moto.ak, AWS_SECRET_ACCESS_KEY=moto.sk,
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=os.path.join(work, "none"), AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, "none"))

    def count(prefix):
        total, token = 0, None
        while True:
            kw = {"Bucket": "bench", "Prefix": prefix}
            if token:
                kw["ContinuationToken"] = token
            r = s3.list_objects_v2(**kw)
            total += r.get("KeyCount", 0)
            token = r.get("NextContinuationToken")
            if not token:
                return total

    results = []
    for name in ("plugin", "aws-cli"):
        t0 = time.time()
        if name == "plugin":
            p = s3tool(opts(moto.endpoint, "bench", moto.ak, moto.sk), "put-dir", data, "plugin/", str(threads))
        else:
            p = subprocess.run(cli + ["--endpoint-url", moto.endpoint, "s3", "cp", "--recursive",
                                      "--only-show-errors", data, "s3://bench/cli/"],
                               env=env, capture_output=True, timeout=3600)
        dt = time.time() - t0
        stored = count("plugin/" if name == "plugin" else "cli/")
        if p.returncode != 0 or stored != n:
            sys.exit("%s failed (exit %d, %d of %d stored): %s" % (name, p.returncode, stored, n, p.stderr[-2000:]))
        results.append((name, dt))
        print("%-8s %4d objects x %d KiB: %6.2f s, %6.1f objects/s, %6.2f MiB/s"
              % (name, n, kib, dt, n / dt, n * kib / 1024 / dt), flush=True)
    print("ratio aws-cli/plugin (time): %.2f" % (results[1][1] / results[0][1]))
finally:
    moto.stop()
    shutil.rmtree(work, ignore_errors=True)
PYEOF
