"""Shared helpers for the s3 plugin's integration tests: start/stop moto on loopback,
create a bucket, run the plugin's test programs.  Every test that cannot run exits 77
with the reason (automake's SKIP), never 0."""
import os, signal, subprocess, sys, tempfile, time

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("abs_top_builddir") or os.getcwd()


def skip(reason):
    print("SKIP: " + reason, flush=True)
    sys.exit(SKIP)


def tool_path(name):
    return os.path.join(BUILD, "tests", "plugins", "s3", name) if name == "s3tool" else os.path.join(BUILD, "tests", "plugins", name)


class Moto:
    """moto_s3.py in a child process; .port, .ak, .sk, .endpoint."""

    def __init__(self, workdir):
        try:
            import moto  # noqa: F401
            import boto3  # noqa: F401
        except ImportError as e:
            skip("moto/boto3 not importable by %s: %s (pip install 'moto[server]' boto3)" % (sys.executable, e))
        self.credfile = os.path.join(workdir, "moto-credentials")
        self.log = open(os.path.join(workdir, "moto.log"), "w")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "moto_s3.py"), "--credentials-file", self.credfile],
            stdout=subprocess.PIPE, stderr=self.log, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise SystemExit("moto did not start: %r (see %s)" % (line, self.log.name))
        _, port, self.ak, self.sk = line.split()
        self.port = int(port)
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def client(self):
        import boto3
        from botocore.config import Config
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=self.ak, aws_secret_access_key=self.sk,
                            config=Config(s3={"addressing_style": "path"}))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def opts(endpoint, bucket, ak, sk, *extra):
    lines = ["endpoint=" + endpoint, "bucket=" + bucket, "access_key_id=" + ak,
             "secret_access_key=" + sk] + list(extra)
    return "\n".join(lines)


def s3tool(env_opts, *args, input=None, extra_env=None, check=False):
    env = dict(os.environ)
    env["S3_TEST_OPTS"] = env_opts
    if extra_env:
        env.update(extra_env)
    p = subprocess.run([tool_path("s3tool")] + list(args), env=env, input=input,
                       capture_output=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("s3tool %s failed (%d): %s" % (args, p.returncode, p.stderr.decode(errors="replace")))
    return p


class Checks:
    """Counts checks; prints one line per check and a closing 'N passed, N failed'."""

    def __init__(self):
        self.passed = self.failed = 0
        self.t0 = time.time()

    def ok(self, cond, what, detail=""):
        stamp = "[%5.1fs] " % (time.time() - self.t0)
        if cond:
            self.passed += 1
            print(stamp + "ok: " + what, flush=True)
        else:
            self.failed += 1
            print(stamp + "FAIL: %s %s" % (what, detail), flush=True)
        return cond

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0
