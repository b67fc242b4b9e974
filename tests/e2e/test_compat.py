#!/usr/bin/env python3
"""Migrating from the original Go tool (logicmonitor/k8s-release-manager): its chart's
command line, its configuration file and its stores, against the REAL program, a fake
Kubernetes API server with releases installed by real helm 3, and a real S3 protocol
server (moto with SigV4 checking).

The manager's own release is installed from tests/charts/original-manager, a chart with
the original chart's values layout (backend.path, backend.type, s3.*), its config.yaml
and its container arguments; the test takes the configuration file and the command line
from what helm rendered in the cluster, as a migrating user's Deployment would run them.

Cases: the chart's command line (`export --config FILE --daemon s3 --release-name R`);
the same without --daemon, one-shot, recording R as the manager's release; Secret and
ConfigMap releases both backed up by default; a shared configuration file holding keys
of other commands and an unknown key; s3 without --path refused; the original's import
command line (from its chart's NOTES) with --new-path rewriting backend.path; a second
import skipping existing releases (exit 0); a filtered export keeping what is outside
its filter; and a store in the original's layout (NAME-VERSION-S.release files and
rlsmgrstate.json) listed, imported with --dry-run, cleared, and converted by an export.

Exit 77 (skip) with the reason when helm/kubectl, moto or the s3 plugin is missing."""

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import e2elib
from e2elib import BUILDDIR, CHARTS, RM_BIN, SRCDIR, fku, show
sys.path.insert(0, os.path.join(SRCDIR, "tests", "plugins", "s3"))
import s3env  # noqa: E402

PLUGIN_DIRS = [os.path.join(BUILDDIR, "plugins", "s3", ".libs"),
               os.path.join(BUILDDIR, "plugins", "local", ".libs")]
BUCKET = "rm-compat"
TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()
MOTO = None
S3 = None
SRC = None
MANAGER = "releasemanager"      # the manager's release name (the chart's .Release.Name)
CONFIG = None                   # config.yaml as the manager's chart rendered it
ARGS = None                     # the manager's container args as the chart rendered them


def env_for(kubeconfig=None, extra=None):
    """The environment of the original chart's Deployment: AWS credentials in AWS_*,
    nothing of ours except where a test says (the endpoint of the test S3 server and the
    plugin directory have no place in the original's configuration)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RELEASEMANAGER_", "AWS_", "HELM_")) and k != "KUBECONFIG"}
    env.update({"AWS_ACCESS_KEY_ID": MOTO.ak, "AWS_SECRET_ACCESS_KEY": MOTO.sk,
                "RELEASEMANAGER_S3_ENDPOINT": MOTO.endpoint,
                "RELEASEMANAGER_PLUGIN_PATH": ":".join(PLUGIN_DIRS),
                "HOME": os.path.join(WORK, "home"), "PATH": "/usr/bin:/bin"})
    if kubeconfig:
        env["KUBECONFIG"] = kubeconfig
    env.update(extra or {})
    return env


def rm(args, kubeconfig=None, extra_env=None, timeout=300):
    p = subprocess.run([RM_BIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout,
                       env=env_for(kubeconfig, extra_env))
    assert MOTO.sk not in p.stdout + p.stderr, "the secret key appeared in the output"
    return p


def objects(prefix):
    out = {}
    for page in S3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"][len(prefix):]] = o
    return out


def get(key):
    return S3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def index_of(prefix):
    return json.loads(get(prefix + "index.json"))


def records_by_release(prefix):
    """{(namespace, release): [revisions]} of the committed index under prefix."""
    out = {}
    for r in index_of(prefix)["records"]:
        out.setdefault((r["namespace"], r["release"]), []).append(r["revision"])
    return {k: sorted(v) for k, v in out.items()}


def write(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def chart_args(config_path, drop_daemon=False):
    """The manager's container args, the config path pointing at our copy."""
    out = []
    for a in ARGS:
        if a == "/etc/releasemanager/config.yaml":
            a = config_path
        if drop_daemon and a == "--daemon":
            continue
        out.append(a)
    return out


# Releases of the source cluster: (namespace, name, helm driver, upgrades).
RELEASES = [
    ("apps", "web", "secret", 1),
    ("cm", "legacy-app", "configmap", 0),
    ("tools", "tool", "secret", 0),
]


def setUpModule():
    global MOTO, S3, SRC, CONFIG, ARGS
    MOTO = s3env.Moto(WORK)
    S3 = MOTO.client()
    S3.create_bucket(Bucket=BUCKET)
    SRC = fku.FakeKube(tools=TOOLS).start()
    plain = os.path.join(CHARTS, "plain")
    for ns, name, driver, upgrades in RELEASES:
        e = {"HELM_DRIVER": driver}
        SRC.helm3("install", name, plain, "-n", ns, "--create-namespace", env=e)
        for i in range(upgrades):
            SRC.helm3("upgrade", name, plain, "-n", ns, "--set", "message=m%d" % i, env=e)
    SRC.helm3("install", MANAGER, os.path.join(CHARTS, "original-manager"), "-n", "ops",
              "--create-namespace", "--set", "backend.path=cluster-a",
              "--set", "s3.bucket=" + BUCKET)
    manifest = SRC.helm3("get", "manifest", MANAGER, "-n", "ops").stdout
    docs = [d for d in re.split(r"^---\s*$", manifest, flags=re.M) if d.strip()]
    cm = next(d for d in docs if "kind: ConfigMap" in d)
    dep = next(d for d in docs if "kind: Deployment" in d)
    # The ConfigMap's config.yaml block, as the Deployment mounts it.
    body = cm.split("config.yaml: |", 1)[1].splitlines()[1:]
    CONFIG = "".join(line[4:] + "\n" for line in body if line.startswith("    "))
    ARGS = [a.strip().strip('"') for a in re.findall(r"^\s*- (.*)$", dep.split("args:", 1)[1], re.M)]


def tearDownModule():
    if SRC:
        SRC.stop()
    if MOTO:
        MOTO.stop()


class Chart(unittest.TestCase):
    """The original chart's Deployment: its config file and its command line."""

    def test_1_rendered_as_the_original(self):
        self.assertIn("path: cluster-a", CONFIG)
        self.assertIn("dryRun: false", CONFIG)
        self.assertIn("bucket: " + BUCKET, CONFIG)
        self.assertEqual(ARGS, ["export", "--config", "/etc/releasemanager/config.yaml",
                                "--daemon", "s3", "--release-name", MANAGER])

    def test_2_daemon_command_line(self):
        cfg = write("chart-config.yaml", CONFIG)
        # The chart's command line runs the daemon (issue 13; tests/e2e/test_daemon.py tests
        # it in depth): "s3" is the backend, never --daemon's value.  It exports, serves
        # (on a port of its own here), and stops with exit 0 on SIGTERM.
        p = subprocess.Popen([RM_BIN] + chart_args(cfg), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env=env_for(SRC.kubeconfig, {"RELEASEMANAGER_LISTEN": "127.0.0.1:0"}))
        try:
            end = time.time() + 60
            while "index.json" not in objects("cluster-a/") and time.time() < end \
                    and p.poll() is None:
                time.sleep(0.2)
            self.assertIn("index.json", objects("cluster-a/"), "the daemon's first sync")
            p.send_signal(signal.SIGTERM)
            out, _ = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.communicate()
        self.assertEqual(p.returncode, 0, out)
        self.assertNotIn("no backend", out)
        assert MOTO.sk not in out, "the secret key appeared in the output"
        # The one-shot test below starts from an empty prefix.
        for k in objects("cluster-a/"):
            S3.delete_object(Bucket=BUCKET, Key="cluster-a/" + k)
        self.assertEqual(objects("cluster-a/"), {})

    def test_3_one_shot_export(self):
        cfg = write("chart-config.yaml", CONFIG)
        p = rm(chart_args(cfg, drop_daemon=True), kubeconfig=SRC.kubeconfig)
        self.assertEqual(p.returncode, 0, show(p))
        objs = objects("cluster-a/")
        self.assertIn("index.json", objs)
        self.assertIn("rlsmgrstate.json", objs)
        got = records_by_release("cluster-a/")
        # Every release, whatever driver Helm used: the ConfigMap one included.
        self.assertEqual(got, {("apps", "web"): [1, 2], ("cm", "legacy-app"): [1],
                               ("tools", "tool"): [1], ("ops", MANAGER): [1]}, show(p))
        drivers = {(r["namespace"], r["release"]): r.get("driver")
                   for r in index_of("cluster-a/")["records"]}
        self.assertEqual(drivers[("cm", "legacy-app")], "configmap")
        self.assertEqual(drivers[("apps", "web")], "secret")
        state = json.loads(get("cluster-a/rlsmgrstate.json"))
        self.assertEqual(state.get("release"), MANAGER, json.dumps(state))
        # Nothing at the bucket's root or elsewhere.
        self.assertEqual(set(objects("")) - {"cluster-a/" + k for k in objs}, set())

    def test_4_filtered_export_keeps_the_rest(self):
        cfg = write("chart-config.yaml", CONFIG)
        before = records_by_release("cluster-a/")
        keys_before = {r["key"] for r in index_of("cluster-a/")["records"]}
        p = rm(chart_args(cfg, drop_daemon=True) + ["--release", "tool"], kubeconfig=SRC.kubeconfig)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(records_by_release("cluster-a/"), before, show(p))
        self.assertEqual({r["key"] for r in index_of("cluster-a/")["records"]}, keys_before)
        for k in keys_before:
            self.assertIn(k, objects("cluster-a/"))
        p = rm(chart_args(cfg, drop_daemon=True) + ["--namespaces", "apps"], kubeconfig=SRC.kubeconfig)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(records_by_release("cluster-a/"), before, show(p))

    def test_5_shared_config_file(self):
        # One file for every command, as the original's viper reads it: keys of import
        # are no error for export; an unknown key is a warning naming file and line.
        cfg = write("shared.yaml", CONFIG + "wait: false\ncreateNamespace: true\n"
                    "excludeNamespaces:\n  - kube-system\nreleaseTimeout: 300\n"
                    "valueUpdates:\n  message: hi\nnoSuchSetting: 1\n")
        n = CONFIG.count("\n")
        p = rm(["export", "--config", cfg, "s3", "--release-name", MANAGER], kubeconfig=SRC.kubeconfig)
        self.assertEqual(p.returncode, 0, show(p))
        self.assertRegex(p.stderr, re.compile(r"shared\.yaml:%d\b.*nosuchsetting" % (n + 8), re.I))
        for verb in (["list", "--config", cfg, "s3"], ["clear", "--config", cfg, "s3", "--dry-run"]):
            p = rm(verb)
            self.assertEqual(p.returncode, 0, show(p))

    def test_6_s3_without_path(self):
        cfg = write("nopath.yaml", "".join(line + "\n" for line in CONFIG.splitlines()
                                            if not line.startswith("path:")))
        p = rm(["export", "--config", cfg, "s3", "--release-name", MANAGER], kubeconfig=SRC.kubeconfig)
        self.assertNotEqual(p.returncode, 0, show(p))
        self.assertIn("--path", p.stderr, show(p))
        self.assertEqual({k for k in objects("") if "/" not in k}, set(), "nothing at the bucket root")


class Import(unittest.TestCase):
    """The original chart's NOTES give the import command line."""

    def test_import_with_new_path(self):
        with fku.FakeKube(tools=TOOLS) as dst:
            notes = ["import", "--path", "cluster-a", "s3", "--bucket", BUCKET,
                     "--region", "us-east-1", "--accessKeyID", MOTO.ak,
                     "--secretAccessKey", MOTO.sk, "--new-path", "new-cluster"]
            p = rm(notes, kubeconfig=dst.kubeconfig, extra_env={"PATH": os.path.dirname(
                TOOLS["helm3"]) + ":/usr/bin:/bin"})
            self.assertEqual(p.returncode, 0, show(p))
            got = {(r["namespace"], r["name"]): int(r["revision"])
                   for r in json.loads(dst.helm3("list", "-A", "-o", "json").stdout)}
            self.assertEqual(got.get(("apps", "web")), 2, got)
            self.assertEqual(got.get(("tools", "tool")), 1, got)
            self.assertEqual(got.get(("ops", MANAGER)) is not None, True, got)
            # The ConfigMap release went back to a ConfigMap, where Helm looks for it.
            cm = {(r["namespace"], r["name"]) for r in json.loads(dst.helm3(
                "list", "-A", "-o", "json", env={"HELM_DRIVER": "configmap"}).stdout)}
            self.assertIn(("cm", "legacy-app"), cm)
            values = json.loads(dst.helm3("get", "values", MANAGER, "-n", "ops", "-o", "json").stdout)
            self.assertEqual(values["backend"]["path"], "new-cluster", values)
            # Again: every release, the re-pointed manager too (its re-rendered revision is
            # compared like the stored ones), is skipped as already restored, exit 0.
            p = rm(notes, kubeconfig=dst.kubeconfig, extra_env={"PATH": os.path.dirname(
                TOOLS["helm3"]) + ":/usr/bin:/bin"})
            self.assertEqual(p.returncode, 0, show(p))
            for rel in ("apps/web", "cm/legacy-app", "ops/" + MANAGER, "tools/tool"):
                self.assertRegex(p.stdout, r"(?m)^skipped %s: already restored: " % re.escape(rel),
                                 show(p))
            self.assertIn("0 restored, 4 skipped, 0 failed", p.stdout, show(p))


def original_store(prefix):
    """The original tool's layout under prefix, from the records of our export: one
    NAME-VERSION-S.release per revision holding the release JSON as Helm wrote it, and
    rlsmgrstate.json in the original's Go field names."""
    for r in index_of("cluster-a/")["records"]:
        data = gzip.decompress(get("cluster-a/" + r["key"]))
        rel = json.loads(data)
        S3.put_object(Bucket=BUCKET, Key="%s%s-%d-%d.release" % (prefix, rel["name"], rel["version"],
                                                                 rel["version"] * 7 % 60), Body=data)
    S3.put_object(Bucket=BUCKET, Key=prefix + "rlsmgrstate.json", Body=json.dumps(
        {"ReleaseFilename": "%s-1-7.release" % MANAGER, "ReleaseName": MANAGER,
         "ReleaseVersion": 1}).encode())


class OriginalStore(unittest.TestCase):

    def test_list_dry_run_clear_convert(self):
        original_store("old/")
        base = ["--path", "old", "s3", "--bucket", BUCKET]
        p = rm(["list"] + base)
        self.assertEqual(p.returncode, 0, show(p))
        for name in ("web", "legacy-app", "tool", MANAGER):
            self.assertIn(name, p.stdout, show(p))
        p = rm(["import"] + base + ["--dry-run", "--new-path", "x"], kubeconfig=SRC.kubeconfig,
               extra_env={"PATH": os.path.dirname(TOOLS["helm3"]) + ":/usr/bin:/bin"})
        self.assertEqual(p.returncode, 0, show(p))
        self.assertIn("web", p.stdout, show(p))

        # clear removes every file of the original's store.
        original_store("old2/")
        p = rm(["clear", "--path", "old2", "s3", "--bucket", BUCKET])
        self.assertEqual(p.returncode, 0, show(p))
        self.assertEqual(objects("old2/"), {}, show(p))

        # An export into the original's store converts it once.
        p = rm(["export", "--release-name", MANAGER] + base, kubeconfig=SRC.kubeconfig)
        self.assertEqual(p.returncode, 0, show(p))
        left = objects("old/")
        self.assertIn("index.json", left)
        self.assertEqual([k for k in left if k.endswith(".release")], [], sorted(left))
        self.assertEqual(records_by_release("old/"), records_by_release("cluster-a/"))


def main():
    return e2elib.main("compat", sys.modules[__name__], plugins=(os.path.join(PLUGIN_DIRS[0], "s3.so"),),
                       home_dir=True, keep_env="KEEP", timing=False)


if __name__ == "__main__":
    sys.exit(main())
