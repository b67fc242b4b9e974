"""Shared pieces of the end-to-end tests in tests/e2e/ (not a test itself).

Where things are (SRCDIR, BUILDDIR, RM_BIN, PLUGIN_DIR, ...), running the program under
test with a cleaned environment (rm()), the local backend's arguments, decoding what Helm
stored in the fake API server and what the program stored in a local store, the release
records the tests build for fk.load, and the main() every unittest-based file ends with.

What differs between test files stays explicit at the call: a file that wants HOME in its
work directory, PATH without helm, or one snapshot kept says so with rm()'s keyword
arguments (usually once, with functools.partial at the top of the file).

A test file imports the names it uses from here; main() publishes TOOLS and WORK into the
test module too, so that its tests keep reading them as module globals."""

import base64
import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

SRCDIR = os.environ.get("abs_top_srcdir") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("abs_top_builddir") or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, "tests", "fakekube"))
import fakekube_util as fku  # noqa: E402

RM_BIN = os.environ.get("RM_BIN") or os.path.join(BUILDDIR, "releasemanager")
PLUGIN_DIR = os.path.join(BUILDDIR, "plugins", "local", ".libs")
S3_DIR = os.path.join(BUILDDIR, "plugins", "s3", ".libs")
CHARTS = os.path.join(SRCDIR, "tests", "charts")
FIXTURES = os.path.join(SRCDIR, "tests", "data", "helm-releases")
T0 = time.time()
TOOLS = None        # fku.find_tools(), set by main()
WORK = None         # the test run's scratch directory, set by main()


# ---- the program under test ---------------------------------------------------------------

def clean_env(home=False, bin_path=None, keep_last=None, extra=None):
    """os.environ without RELEASEMANAGER_*, KUBECONFIG and HELM_DRIVER, so that nothing of
    the caller's configuration reaches the program.  home=True: HOME is WORK (no
    ~/.kube/config of the user); bin_path: PATH (e.g. "/usr/bin:/bin", no helm);
    keep_last=N: RELEASEMANAGER_KEEP_LAST=N; extra: set last, over all of these."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RELEASEMANAGER_") and k not in ("KUBECONFIG", "HELM_DRIVER")}
    if home:
        env["HOME"] = WORK
    if bin_path is not None:
        env["PATH"] = bin_path
    if keep_last is not None:
        env["RELEASEMANAGER_KEEP_LAST"] = str(keep_last)
    env.update(extra or {})
    return env


def rm(*args, timeout=120, home=False, bin_path=None, keep_last=None, extra_env=None):
    """Run $RM_BIN with args (str() of each) in clean_env(home, bin_path, keep_last,
    extra_env); the CompletedProcess, stdout and stderr as text."""
    return subprocess.run([RM_BIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=clean_env(home, bin_path, keep_last, extra_env))


def store_args(path):
    """The local backend at path, no fsync, the plugin from the build tree."""
    return ["local", "--path", path, "--fsync", "false", "--plugin-dir", PLUGIN_DIR]


def show(p):
    """A finished process as an assertion message."""
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)


def newdir(name):
    """A new directory name-XXXX in WORK."""
    return tempfile.mkdtemp(prefix=name + "-", dir=WORK)


def free_port():
    """A TCP port of 127.0.0.1 free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, what, timeout=10):
    """(status, body as text) of GET http://127.0.0.1:port/what, error statuses included."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/%s" % (port, what), timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sha(b):
    """SHA-256 of bytes, in hex."""
    return hashlib.sha256(b).hexdigest()


# ---- what Helm stored, decoded independently of the program ----------------------------------

def inner_bytes(obj):
    """The release JSON bytes of a Secret- or ConfigMap-driver record, exactly as Helm
    wrote them (before any JSON parsing)."""
    data = obj["data"]["release"]
    raw = base64.b64decode(data, validate=True)
    if obj["kind"] == "Secret":
        raw = base64.b64decode(raw, validate=True)
    if raw[:3] == b"\x1f\x8b\x08":
        raw = gzip.decompress(raw)
    return raw


NAME_RE = re.compile(r"^sh\.helm\.release\.v1\.(.+)\.v([0-9]+)$")


def cluster_records(fk, resource="secrets", namespaces=None, release=None, exclude=()):
    """{key: release JSON bytes} of the Helm records the server holds now."""
    st, body = fk.get_json("/api/v1/%s?labelSelector=owner%%3Dhelm" % resource)
    assert st == 200, "listing %s from the fake server: %d" % (resource, st)
    out = {}
    for o in body["items"]:
        o.setdefault("kind", "Secret" if resource == "secrets" else "ConfigMap")
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        m = NAME_RE.match(name)
        if not m:
            continue
        if namespaces is not None and ns not in namespaces:
            continue
        if ns in exclude:
            continue
        if release is not None and m.group(1) != release:
            continue
        out["releases/%s/%s/%d.json.gz" % (ns, m.group(1), int(m.group(2)))] = inner_bytes(o)
    return out


# ---- what the program stored ------------------------------------------------------------------

def walk_files(path):
    """(path relative to path, full path) of every file under path."""
    for d, _, files in os.walk(path):
        for f in files:
            full = os.path.join(d, f)
            yield os.path.relpath(full, path), full


def stored_files(path):
    """{relative path: bytes} of every file under path."""
    out = {}
    for rel, full in walk_files(path):
        with open(full, "rb") as fh:
            out[rel] = fh.read()
    return out


HASHED_KEY_RE = re.compile(r"^(releases/[^/]+/[^/]+/[1-9][0-9]*)\.([0-9a-f]{64})\.json\.gz$")


def logical(key):
    """releases/NS/REL/REV.SHA256.json.gz (the key a record is stored under) as
    releases/NS/REL/REV.json.gz (the release revision it holds); other keys as they are."""
    m = HASHED_KEY_RE.match(key)
    return m.group(1) + ".json.gz" if m else key


def stored_records_raw(path):
    """{stored key: release JSON} of every record file under path."""
    return {k: gzip.decompress(v) for k, v in stored_files(path).items()
            if k.startswith("releases/")}


def stored_records(path):
    """{releases/NS/REL/REV.json.gz: release JSON} of the records under path; each stored
    under the key that carries its SHA-256, one per revision."""
    out = {}
    for k, raw in stored_records_raw(path).items():
        m = HASHED_KEY_RE.match(k)
        assert m, "stored record key %s does not carry its SHA-256" % k
        assert m.group(2) == sha(raw), "stored record %s: its content's SHA-256 is %s" % (k, sha(raw))
        assert logical(k) not in out, "two stored records of %s" % logical(k)
        out[logical(k)] = raw
    return out


def load_index(path):
    """The parsed index.json of the local store at path."""
    with open(os.path.join(path, "index.json"), "rb") as f:
        return json.loads(f.read())


# ---- records built by the test (for fk.load) ---------------------------------------------------

def release_json(ns, name, rev, note=""):
    """A small release JSON (chart "tiny" 1.0.REV, no templates, deployed); note is
    appended to its description, to tell revisions' contents apart."""
    rel = {"name": name,
           "info": {"first_deployed": "2024-05-01T10:00:00Z", "last_deployed": "2024-05-01T10:00:00Z",
                    "deleted": "", "description": "Install complete" + note, "status": "deployed"},
           "chart": {"metadata": {"name": "tiny", "version": "1.0.%d" % rev, "apiVersion": "v2"},
                     "templates": [], "values": {}, "files": []},
           "config": {}, "manifest": "", "version": rev, "namespace": ns}
    return json.dumps(rel, separators=(",", ":")).encode()


def release_labels(name, rev):
    """The labels Helm puts on a deployed release's record."""
    return {"name": name, "owner": "helm", "status": "deployed", "version": str(rev)}


def release_secret(ns, name, rev, note=""):
    """release_json() as Helm's Secret driver stores it: base64(base64(gzip(JSON))) on
    the wire."""
    inner = base64.b64encode(gzip.compress(release_json(ns, name, rev, note), mtime=0))
    return {"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, rev), "namespace": ns,
                         "labels": release_labels(name, rev)},
            "data": {"release": base64.b64encode(inner).decode()}}


def release_configmap(ns, name, rev, note=""):
    """release_json() as Helm's ConfigMap driver stores it: base64(gzip(JSON))."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "sh.helm.release.v1.%s.v%d" % (name, rev), "namespace": ns,
                         "labels": release_labels(name, rev)},
            "data": {"release": base64.b64encode(gzip.compress(release_json(ns, name, rev, note),
                                                               mtime=0)).decode()}}


def load_fixture(fname, drop=("resourceVersion", "uid", "selfLink", "creationTimestamp")):
    """A record of tests/data/helm-releases/ (JSON or YAML) as a source cluster holds it:
    the server-set metadata fields in drop removed."""
    with open(os.path.join(FIXTURES, fname)) as f:
        text = f.read()
    if fname.endswith(".json"):
        obj = json.loads(text)
    else:
        from fakekube import yamlmini
        obj = yamlmini.load(text)
    for k in drop:
        obj["metadata"].pop(k, None)
    return obj


# ---- script-style tests (test_*_s3.py) ---------------------------------------------------------

failures = []       # what check() found wrong, in order


def check(cond, what, detail=""):
    """One "ok - what" or "FAIL - what" line (detail under it on failure); a failure is
    appended to failures, which the script's exit status reports.  Returns cond."""
    print(("ok - " if cond else "FAIL - ") + what + ("" if cond else "\n  " + str(detail)),
          flush=True)
    if not cond:
        failures.append(what)
    return cond


def s3_rm(moto, work, bucket, prefix, extra=(), home=True):
    """rm(*args) for the script-style s3 tests: $RM_BIN args, then the s3 backend options
    (moto's endpoint, bucket, prefix, access key id; extra after them), the secret key in
    RELEASEMANAGER_S3_SECRET_ACCESS_KEY only, in an environment without RELEASEMANAGER_*,
    AWS_* and KUBECONFIG (HOME = work when home); checks that the secret key is in no output.
    rm.env and rm.base are the environment and the options."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RELEASEMANAGER_", "AWS_")) and k != "KUBECONFIG"}
    if home:
        env["HOME"] = work
    env["RELEASEMANAGER_S3_SECRET_ACCESS_KEY"] = moto.sk
    base = ["--plugin-dir", S3_DIR, "--path", prefix, "--endpoint", moto.endpoint,
            "--bucket", bucket, "--accessKeyID", moto.ak] + list(extra)

    def rm(*args):
        p = subprocess.run([RM_BIN] + list(args) + base, capture_output=True, text=True,
                           env=env, timeout=180)
        check(moto.sk not in p.stdout + p.stderr, "secret key absent from output of %s"
              % " ".join(args[:3]))
        return p
    rm.env, rm.base = env, base
    return rm


def s3_main(name, bucket, run, clusters=1):
    """The main of a script-style s3 test: exit 77 with the reason when the s3 plugin or
    the fake API server's tools are missing; moto (tests/plugins/s3/s3env.py, SigV4
    checked) in a scratch directory with bucket created; clusters fake API servers; then
    run(s3, moto, work, *fks) (s3 a boto3 client), the ok/FAIL count and the exit status."""
    sys.path.insert(0, os.path.join(SRCDIR, "tests", "plugins", "s3"))
    import s3env
    if not os.path.exists(os.path.join(S3_DIR, "s3.so")):
        s3env.skip("the s3 plugin was not built (%s)" % S3_DIR)
    try:
        tools = fku.find_tools()
    except fku.ToolsUnavailable as e:
        s3env.skip(str(e))
    work = tempfile.mkdtemp(prefix="rm-%s-" % name)
    moto = s3env.Moto(work)
    try:
        s3 = moto.client()
        s3.create_bucket(Bucket=bucket)
        with contextlib.ExitStack() as stack:
            fks = [stack.enter_context(fku.FakeKube(tools=tools)) for _ in range(clusters)]
            run(s3, moto, work, *fks)
    finally:
        moto.stop()
    print("%d failures" % len(failures))
    sys.exit(1 if failures else 0)


# ---- the test program --------------------------------------------------------------------------

def main(name, module, plugins=(PLUGIN_DIR,), need_rm=True, tmpfs=False, home_dir=False,
         keep_env="KEEP_WORK", fixtures=False, timing=True):
    """Run the unittest tests of module (the test file's sys.modules[__name__]); exit
    status 77 (skip), with the reason, when openssl, helm/kubectl, RM_BIN (if need_rm) or
    a path of plugins (plugin directories or files) is missing; 1 when fixtures and
    FIXTURES is missing.

    Sets TOOLS and WORK here and in module.  WORK is a new directory name-test-XXXX (on
    /dev/shm when tmpfs and $TMPDIR is unset, for tests writing thousands of files), with
    WORK/home in it when home_dir; it is removed at the end unless $keep_env is set.
    timing: print how long the whole file took."""
    global TOOLS, WORK
    if not fku.openssl_available():
        print("SKIP: openssl not found (the fake API server needs it for its TLS certificates)")
        return fku.SKIP
    try:
        TOOLS = fku.find_tools()
    except fku.ToolsUnavailable as e:
        print("SKIP: %s" % e)
        return fku.SKIP
    if need_rm and not os.access(RM_BIN, os.X_OK):
        print("SKIP: program under test not found at %s (set RM_BIN; run from make check)" % RM_BIN)
        return fku.SKIP
    for p in plugins:
        if not os.path.exists(p):
            print("SKIP: backend plugin not built: %s" % p)
            return fku.SKIP
    if fixtures and not os.path.isdir(FIXTURES):
        print("FAIL: fixtures missing: %s" % FIXTURES)
        return 1
    base = None
    if tmpfs and not os.environ.get("TMPDIR"):
        base = "/dev/shm"
        if not (os.path.isdir(base) and os.access(base, os.W_OK)):
            base = None
    WORK = tempfile.mkdtemp(prefix=name + "-test-", dir=base)
    if home_dir:
        os.makedirs(os.path.join(WORK, "home"))
    module.TOOLS, module.WORK = TOOLS, WORK
    try:
        prog = unittest.main(module=module, exit=False, verbosity=2, argv=[sys.argv[0]] + sys.argv[1:])
    finally:
        if os.environ.get(keep_env):
            print("work directory kept: %s" % WORK)
        else:
            shutil.rmtree(WORK, ignore_errors=True)
    if timing:
        print("test_%s: %.1fs" % (name, time.time() - T0))
    return 0 if prog.result.wasSuccessful() else 1
