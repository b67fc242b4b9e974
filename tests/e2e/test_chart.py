#!/usr/bin/env python3
"""The daemon's Helm chart (deploy/helm/releasemanager) with the real helm 3 and helm 4.

Rendering (`helm lint`, `helm template`, each case with both majors): the original
k8s-release-manager chart's values, with its README's command line (--set debug, verbose,
daemon.pollingInterval, backend.type, backend.path, s3.bucket, s3.region, s3.accessKeyID,
s3.secretAccessKey, s3.sessionToken), give the original's config.yaml keys and container
arguments; RBAC is exactly least privilege (a ClusterRole: get/list/watch on secrets and
configmaps, get on the kube-system Namespace only; a Role: get/create/update on leases in
the release namespace, only with leader election); probes on /healthz and /readyz; a
non-root read-only security context; a PodDisruptionBudget and leader election only with
replicaCount > 1 (and more replicas without leader election refused); s3.existingSecret
and IRSA service-account annotations; the optional ServiceMonitor and Ingress; name
overrides; the local backend; missing required values refused with the value's name.

In the fake API server (tests/fakekube): `helm install` with the README's flags (NOTES give
the import command line, never a credential), `helm upgrade` to two replicas (PDB, Role and
RoleBinding appear) and back (they go), the ServiceMonitor once its CRD exists, `helm
uninstall` leaving nothing; and `helm upgrade` from a release of the original chart's
layout (tests/charts/original-manager) keeps the Deployment's immutable selector.

The rendered Deployment run (test_rendered_deployment_runs, helm 3 and helm 4): the chart
installed into the fake API server with an s3 backend on moto, the Deployment read back and
the daemon of the build tree started as its pod's container would be (PodRun: the args, env
and envFrom with secretKeyRef resolved from the cluster's Secrets, the ConfigMap written
where it is mounted, the service-account files through RELEASEMANAGER_SERVICEACCOUNT_DIR,
KUBERNETES_SERVICE_HOST/_PORT); real helm installs, upgrades, rolls back and uninstalls
other releases and the bucket's index is polled until it says what the cluster holds (the
delays observed are printed); the state file names the manager's release and namespace;
an import into a second cluster restores the other releases and skips the manager's own,
and with --new-path restores it writing to the new path.

Exit 77 (skip) with the reason when helm/kubectl or openssl is missing."""

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import e2elib
from e2elib import BUILDDIR, RM_BIN, SRCDIR, free_port, fku, http_get
sys.path.insert(0, os.path.join(SRCDIR, "tests", "plugins", "s3"))
from fakekube import yamlmini  # noqa: E402

CHART = os.path.join(SRCDIR, "deploy", "helm", "releasemanager")
ORIGINAL_LAYOUT = os.path.join(SRCDIR, "tests", "charts", "original-manager")
PLAIN = os.path.join(SRCDIR, "tests", "charts", "plain")
S3_DIR = os.path.join(BUILDDIR, "plugins", "s3", ".libs")
TOOLS = None        # set by e2elib.main()
WORK = None         # set by e2elib.main()
MAJORS = (3, 4)
WAIT = 120  # a hang guard for the Image case, not a performance bound


# The original chart's README command line (its `helm upgrade --install` example), with
# values for its shell variables.  The credentials are made-up strings a test can look for.
AK, SK, ST = "AKIAEXAMPLECHART", "chart/secret+key", "chart-session-token"
README_SET = ["debug=false", "verbose=true", "daemon.pollingInterval=45", "backend.type=s3",
              "backend.path=cluster-a", "s3.bucket=rm-backups", "s3.region=eu-west-1",
              "s3.accessKeyID=" + AK, "s3.secretAccessKey=" + SK, "s3.sessionToken=" + ST]
MIN_SET = ["backend.path=cluster-a", "s3.bucket=rm-backups"]


def helm_bin(major):
    return TOOLS["helm%d" % major]


def sets(values):
    out = []
    for v in values:
        out += ["--set", v]
    return out


def helm(major, *args, check=True):
    env = dict(os.environ)
    env.update({"HOME": os.path.join(WORK, "home"),
                "HELM_CACHE_HOME": os.path.join(WORK, "home", "helm-cache"),
                "HELM_CONFIG_HOME": os.path.join(WORK, "home", "helm-config"),
                "HELM_DATA_HOME": os.path.join(WORK, "home", "helm-data")})
    for k in ("KUBECONFIG", "HELM_NAMESPACE", "HELM_DRIVER"):
        env.pop(k, None)
    p = subprocess.run([helm_bin(major)] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("helm %d %s: exit %d\n%s" % (major, " ".join(args), p.returncode,
                                                        p.stderr))
    return p


def parse_docs(text):
    objs = []
    for doc in re.split(r"(?m)^---\s*$", text):
        if doc.strip() and any(line.strip() and not line.lstrip().startswith("#")
                               for line in doc.splitlines()):
            objs.append(yamlmini.load(doc))
    return objs


def render(major, values, release="releasemanager", namespace="rm-system", check=True):
    p = helm(major, "template", release, CHART, "--namespace", namespace, *sets(values),
             check=check)
    return p if not check else Rendered(parse_docs(p.stdout), p.stdout)


class Rendered:
    def __init__(self, objs, text):
        self.objs, self.text = objs, text

    def kinds(self):
        return sorted(o["kind"] for o in self.objs)

    def all(self, kind):
        return [o for o in self.objs if o["kind"] == kind]

    def one(self, kind):
        found = self.all(kind)
        assert len(found) == 1, "%d %s objects rendered: %s" % (len(found), kind, self.kinds())
        return found[0]

    def container(self):
        return self.one("Deployment")["spec"]["template"]["spec"]["containers"][0]

    def env(self):
        return {e["name"]: e for e in self.container().get("env") or []}


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


CLUSTER_RULES = [
    {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["kube-system"],
     "verbs": ["get"]},
]
LEASE_RULES = [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                "verbs": ["get", "create", "update"]}]


class Render(unittest.TestCase):
    """helm lint and helm template, every case with helm 3 and helm 4."""

    def test_lint(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                p = helm(major, "lint", "--strict", CHART, *sets(README_SET))
                self.assertIn("0 chart(s) failed", p.stdout)
                p = helm(major, "lint", "--strict", CHART, *sets(MIN_SET + ["replicaCount=3",
                         "serviceMonitor.enabled=true", "ingress.hosts={rm.example}"]))
                self.assertIn("0 chart(s) failed", p.stdout)
                # The defaults alone lack the required backend.path, as the original's did:
                # lint says so (as information: lint renders leniently), template fails.
                p = helm(major, "lint", CHART)
                self.assertIn("A valid .Values.backend.path entry required", p.stdout + p.stderr)
                p = render(major, [], check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("A valid .Values.backend.path entry required", p.stderr)

    def test_original_readme_values(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                r = render(major, README_SET)
                self.assertEqual(r.kinds(), ["ClusterRole", "ClusterRoleBinding", "ConfigMap",
                                             "Deployment", "Secret", "Service", "ServiceAccount"])
                # The original's config.yaml keys, flat camelCase.
                cm = r.one("ConfigMap")
                cfg = yamlmini.load(cm["data"]["config.yaml"])
                self.assertEqual(cfg, {"debug": False, "dryRun": False, "path": "cluster-a",
                                       "pollingInterval": 45, "verbose": True,
                                       "region": "eu-west-1", "bucket": "rm-backups"})
                # The original's container arguments, then ours.
                c = r.container()
                self.assertEqual(c["args"], ["export", "--config", "/etc/releasemanager/config.yaml",
                                             "--daemon", "s3", "--release-name", "releasemanager",
                                             "--unhealthy-after", "2"])
                self.assertEqual(c["image"], "releasemanager:0.1.0")
                pod = r.one("Deployment")["spec"]["template"]["spec"]
                mount = [m for m in c["volumeMounts"] if m["mountPath"] == "/etc/releasemanager"][0]
                self.assertTrue(mount["readOnly"])
                vol = [v for v in pod["volumes"] if v["name"] == mount["name"]][0]
                self.assertEqual(vol["configMap"]["name"], cm["metadata"]["name"])
                self.assertEqual(vol["configMap"]["items"], [{"key": "config.yaml", "path": "config.yaml"}])
                # Credentials: only in the Secret, reaching the pod as AWS_* variables.
                sec = r.one("Secret")
                self.assertEqual({k: base64.b64decode(v).decode() for k, v in sec["data"].items()},
                                 {"accessKeyID": AK, "secretAccessKey": SK, "sessionToken": ST})
                env = r.env()
                for var, key in (("AWS_ACCESS_KEY_ID", "accessKeyID"),
                                 ("AWS_SECRET_ACCESS_KEY", "secretAccessKey"),
                                 ("AWS_SESSION_TOKEN", "sessionToken")):
                    ref = env[var]["valueFrom"]["secretKeyRef"]
                    self.assertEqual((ref["name"], ref["key"]), (sec["metadata"]["name"], key))
                for s in (AK, SK, ST):
                    self.assertNotIn(s, cm["data"]["config.yaml"])
                    self.assertNotIn(s, json.dumps(r.one("Deployment")))
                # The original's other values: replicaCount, image.*, dryRun.
                r = render(major, README_SET + ["replicaCount=1", "image.repository=logicmonitor/releasemanager",
                                                "image.tag=v0.3.0", "image.pullPolicy=Always",
                                                "dryRun=true", "debug=true"])
                self.assertEqual(r.container()["image"], "logicmonitor/releasemanager:v0.3.0")
                self.assertEqual(r.container()["imagePullPolicy"], "Always")
                cfg = yamlmini.load(r.one("ConfigMap")["data"]["config.yaml"])
                self.assertEqual((cfg["dryRun"], cfg["debug"]), (True, True))

    def test_rbac_least_privilege(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                r = render(major, MIN_SET)
                self.assertEqual(r.one("ClusterRole")["rules"], CLUSTER_RULES)
                self.assertEqual(r.all("Role"), [])
                self.assertEqual(r.all("RoleBinding"), [])
                crb = r.one("ClusterRoleBinding")
                self.assertEqual(crb["roleRef"], {"apiGroup": "rbac.authorization.k8s.io",
                                                  "kind": "ClusterRole",
                                                  "name": r.one("ClusterRole")["metadata"]["name"]})
                sa = r.one("ServiceAccount")["metadata"]
                self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount", "name": sa["name"],
                                                    "namespace": "rm-system"}])
                self.assertEqual(r.one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"],
                                 sa["name"])
                # Nothing anywhere grants writes on release records, pods, or */portforward.
                for kind in ("ClusterRole", "Role"):
                    for o in r.all(kind):
                        for rule in o["rules"]:
                            self.assertFalse(set(rule["verbs"]) & {"create", "update", "patch", "delete", "*"}
                                             and rule["resources"] != ["leases"], rule)
                r = render(major, MIN_SET + ["replicaCount=2"])
                self.assertEqual(r.one("ClusterRole")["rules"], CLUSTER_RULES)
                role = r.one("Role")
                self.assertEqual(role["metadata"]["namespace"], "rm-system")
                self.assertEqual(role["rules"], LEASE_RULES)
                rb = r.one("RoleBinding")
                self.assertEqual(rb["metadata"]["namespace"], "rm-system")
                self.assertEqual(rb["roleRef"]["kind"], "Role")
                self.assertEqual(rb["roleRef"]["name"], role["metadata"]["name"])
                self.assertEqual(rb["subjects"][0]["name"], sa["name"])
                r = render(major, MIN_SET + ["rbac.create=false"])
                self.assertEqual([k for k in r.kinds() if "Role" in k], [])

    def test_probes_and_security_context(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                r = render(major, MIN_SET)
                c = r.container()
                self.assertEqual(c["ports"], [{"name": "http", "containerPort": 8080, "protocol": "TCP"}])
                self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "http"})
                self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "http"})
                self.assertEqual(c["securityContext"], {"allowPrivilegeEscalation": False,
                                                        "readOnlyRootFilesystem": True,
                                                        "capabilities": {"drop": ["ALL"]}})
                pod = r.one("Deployment")["spec"]["template"]["spec"]
                self.assertEqual(pod["securityContext"]["runAsNonRoot"], True)
                self.assertEqual(pod["securityContext"]["runAsUser"], 65532)
                # The read-only root filesystem leaves /tmp writable (HOME in the image).
                tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"][0]
                self.assertIn("emptyDir", [v for v in pod["volumes"] if v["name"] == tmp["name"]][0])
                r = render(major, MIN_SET + ["resources.limits.memory=128Mi",
                                             "resources.requests.cpu=10m"])
                self.assertEqual(r.container()["resources"], {"limits": {"memory": "128Mi"},
                                                              "requests": {"cpu": "10m"}})

    def test_replicas_pdb_and_leader_election(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                r = render(major, MIN_SET)
                self.assertEqual(r.all("PodDisruptionBudget"), [])
                self.assertNotIn("--leader-elect", r.container()["args"])
                # One writer: without leader election, no rolling update with two pods.
                self.assertEqual(r.one("Deployment")["spec"]["strategy"]["type"], "Recreate")
                r = render(major, MIN_SET + ["replicaCount=3"])
                dep = r.one("Deployment")
                self.assertEqual(dep["spec"]["strategy"], {"type": "RollingUpdate"})
                self.assertEqual(dep["spec"]["replicas"], 3)
                pdb = r.one("PodDisruptionBudget")
                self.assertEqual(pdb["apiVersion"], "policy/v1")
                self.assertEqual(pdb["spec"]["minAvailable"], 1)
                self.assertTrue(matches(pdb["spec"]["selector"]["matchLabels"],
                                        dep["spec"]["template"]["metadata"]["labels"]))
                self.assertEqual(r.container()["args"][7:],
                                 ["--unhealthy-after", "2", "--leader-elect", "--lease-name",
                                  "releasemanager", "--lease-namespace", "rm-system"])
                r = render(major, MIN_SET + ["replicaCount=2", "leaderElection.leaseName=rm-lease",
                                             "leaderElection.leaseDuration=20s",
                                             "leaderElection.renewDeadline=15s",
                                             "leaderElection.retryPeriod=3s"])
                self.assertEqual(r.container()["args"][10:],
                                 ["--lease-name", "rm-lease", "--lease-namespace", "rm-system",
                                  "--lease-duration", "20s", "--renew-deadline", "15s",
                                  "--retry-period", "3s"])
                # One replica may still elect (e.g. ahead of scaling by hand).
                r = render(major, MIN_SET + ["leaderElection.enabled=true"])
                self.assertIn("--leader-elect", r.container()["args"])
                self.assertEqual(r.all("PodDisruptionBudget"), [])
                self.assertEqual(len(r.all("Role")), 1)
                p = render(major, MIN_SET + ["replicaCount=2", "leaderElection.enabled=false"],
                           check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("leaderElection.enabled is false", p.stderr)

    def test_existing_secret_and_irsa(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                r = render(major, MIN_SET + ["s3.existingSecret=rm-aws",
                                             "s3.accessKeyID=" + AK,
                                             "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn="
                                             "arn:aws:iam::111122223333:role/rm"])
                self.assertEqual(r.all("Secret"), [])
                env = r.env()
                self.assertEqual(env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"],
                                 {"name": "rm-aws", "key": "accessKeyID"})
                self.assertEqual(env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"],
                                 {"name": "rm-aws", "key": "secretAccessKey"})
                self.assertEqual(env["AWS_SESSION_TOKEN"]["valueFrom"]["secretKeyRef"],
                                 {"name": "rm-aws", "key": "sessionToken", "optional": True})
                self.assertNotIn(AK, r.text)
                self.assertEqual(r.one("ServiceAccount")["metadata"]["annotations"],
                                 {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/rm"})
                # No credentials at all: the AWS credential chain (IRSA's web identity).
                r = render(major, MIN_SET)
                self.assertEqual(r.all("Secret"), [])
                self.assertEqual(sorted(r.env()), ["POD_NAME", "POD_NAMESPACE"])

    def test_service_monitor_ingress_names(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                r = render(major, MIN_SET)
                self.assertEqual(r.all("ServiceMonitor") + r.all("Ingress"), [])
                r = render(major, MIN_SET + ["serviceMonitor.enabled=true",
                                             "serviceMonitor.labels.release=prometheus",
                                             "ingress.hosts={rm.example,rm2.example}"])
                sm = r.one("ServiceMonitor")
                svc = r.one("Service")
                self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
                self.assertEqual(sm["spec"]["endpoints"][0]["port"], "http")
                self.assertEqual(sm["spec"]["endpoints"][0]["path"], "/metrics")
                self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
                self.assertTrue(matches(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]))
                self.assertEqual(svc["spec"]["ports"][0]["name"], "http")
                self.assertTrue(matches(svc["spec"]["selector"],
                                        r.one("Deployment")["spec"]["template"]["metadata"]["labels"]))
                ing = r.one("Ingress")
                self.assertEqual([x["host"] for x in ing["spec"]["rules"]], ["rm.example", "rm2.example"])
                self.assertEqual(ing["spec"]["tls"][0]["hosts"], ["rm.example", "rm2.example"])
                be = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
                self.assertEqual(be, {"name": svc["metadata"]["name"], "port": {"name": "http"}})
                # Names: the original chart's helpers.
                r = render(major, MIN_SET, release="prod")
                self.assertEqual(r.one("Deployment")["metadata"]["name"], "prod-releasemanager")
                self.assertEqual(r.container()["args"][6], "prod")
                r = render(major, MIN_SET + ["nameOverride=rm"], release="prod")
                self.assertEqual(r.one("Deployment")["metadata"]["name"], "prod-rm")
                self.assertEqual(r.one("Deployment")["spec"]["selector"]["matchLabels"],
                                 {"app": "rm", "release": "prod"})
                r = render(major, MIN_SET + ["fullnameOverride=backup"], release="prod")
                self.assertEqual({o["metadata"]["name"] for o in r.objs}, {"backup"})

    def test_local_backend_and_required_values(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                r = render(major, ["backend.type=local", "backend.path=/backup",
                                   "extraVolumes[0].name=backup",
                                   "extraVolumes[0].persistentVolumeClaim.claimName=rm-backup",
                                   "extraVolumeMounts[0].name=backup",
                                   "extraVolumeMounts[0].mountPath=/backup"])
                self.assertEqual(r.container()["args"][3:5], ["--daemon", "local"])
                cfg = yamlmini.load(r.one("ConfigMap")["data"]["config.yaml"])
                self.assertEqual(sorted(cfg), ["debug", "dryRun", "path", "pollingInterval", "verbose"])
                self.assertIn({"name": "backup", "mountPath": "/backup"}, r.container()["volumeMounts"])
                for values, needle in ((["s3.bucket=b"], "backend.path"),
                                       (["backend.path=p"], "s3.bucket"),
                                       (["backend.path=p", "backend.type=gcs"], "backend.type")):
                    p = render(major, values, check=False)
                    self.assertNotEqual(p.returncode, 0, values)
                    self.assertIn(needle, p.stderr)

    def test_config_change_rolls_pods(self):
        for major in MAJORS:
            with self.subTest(helm=major):
                a = render(major, MIN_SET).one("Deployment")["spec"]["template"]["metadata"]["annotations"]
                b = render(major, MIN_SET + ["daemon.pollingInterval=60"]).one("Deployment")
                b = b["spec"]["template"]["metadata"]["annotations"]
                self.assertNotEqual(a["checksum/config"], b["checksum/config"])
                self.assertEqual(a["checksum/secret"], b["checksum/secret"])


SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
             "names": {"plural": "servicemonitors", "singular": "servicemonitor",
                       "kind": "ServiceMonitor", "listKind": "ServiceMonitorList"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {
                               "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


KINDS = (("deployment", "rm-system"), ("configmap", "rm-system"), ("secret", "rm-system"),
         ("serviceaccount", "rm-system"), ("service", "rm-system"),
         ("servicemonitor", "rm-system"), ("clusterrole", None), ("clusterrolebinding", None))


class Cluster(unittest.TestCase):
    """helm install / upgrade / uninstall into the fake API server."""

    def get(self, kube, *args):
        p = kube.kubectl("get", *args, "-o", "json", check=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def names(self, kube, kind, ns="rm-system"):
        args = [kind, "-l", "app.kubernetes.io/instance=releasemanager"]
        args += ["-n", ns] if ns else []
        return sorted(i["metadata"]["name"] for i in self.get(kube, *args)["items"])

    def test_install_upgrade_uninstall(self):
        for major in MAJORS:
            with self.subTest(helm=major), fku.FakeKube(tools=TOOLS) as kube:
                p = kube.helm(major, "install", "releasemanager", CHART, "-n", "rm-system",
                              "--create-namespace", "--wait", "--timeout", "120s", *sets(README_SET))
                # NOTES: the import command line, without any credential.
                self.assertIn("releasemanager import --path cluster-a s3", p.stdout)
                self.assertIn("--bucket rm-backups --region eu-west-1", p.stdout)
                self.assertIn("--new-path new-cluster", p.stdout)
                for s in (AK, SK, ST):
                    self.assertNotIn(s, p.stdout + p.stderr)
                dep = self.get(kube, "deployment", "releasemanager", "-n", "rm-system")
                c = dep["spec"]["template"]["spec"]["containers"][0]
                self.assertEqual(c["args"][:7], ["export", "--config", "/etc/releasemanager/config.yaml",
                                                 "--daemon", "s3", "--release-name", "releasemanager"])
                self.assertEqual(self.get(kube, "clusterrole", "releasemanager")["rules"], CLUSTER_RULES)
                self.assertEqual(self.names(kube, "pdb"), [])
                self.assertEqual(self.names(kube, "role"), [])
                sec = self.get(kube, "secret", "releasemanager", "-n", "rm-system")
                self.assertEqual(base64.b64decode(sec["data"]["secretAccessKey"]).decode(), SK)
                cm = self.get(kube, "configmap", "releasemanager", "-n", "rm-system")
                self.assertIn("pollingInterval: 45", cm["data"]["config.yaml"])

                # Two replicas: leader election, its Role in the release namespace, a PDB.
                kube.helm(major, "upgrade", "releasemanager", CHART, "-n", "rm-system",
                          "--reuse-values", "--set", "replicaCount=2", "--wait", "--timeout", "120s")
                dep = self.get(kube, "deployment", "releasemanager", "-n", "rm-system")
                self.assertEqual(dep["spec"]["replicas"], 2)
                self.assertIn("--leader-elect", dep["spec"]["template"]["spec"]["containers"][0]["args"])
                self.assertEqual(self.names(kube, "pdb"), ["releasemanager"])
                self.assertEqual(self.get(kube, "role", "releasemanager", "-n", "rm-system")["rules"],
                                 LEASE_RULES)
                self.assertEqual(self.names(kube, "rolebinding"), ["releasemanager"])

                # The ServiceMonitor, once prometheus-operator's CRD is there.
                st, _, body = kube.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                           SERVICE_MONITOR_CRD)
                self.assertEqual(st, 201, body[:300])
                kube.helm(major, "upgrade", "releasemanager", CHART, "-n", "rm-system",
                          "--reuse-values", "--set", "replicaCount=1,serviceMonitor.enabled=true")
                self.assertEqual(self.names(kube, "pdb"), [])
                self.assertEqual(self.names(kube, "role"), [])
                self.assertEqual(self.names(kube, "rolebinding"), [])
                sm = self.get(kube, "servicemonitor", "releasemanager", "-n", "rm-system")
                self.assertEqual(sm["spec"]["endpoints"][0]["path"], "/metrics")

                hist = json.loads(kube.helm(major, "history", "releasemanager", "-n", "rm-system",
                                            "-o", "json").stdout)
                self.assertEqual([h["revision"] for h in hist], [1, 2, 3])
                objs = {k: self.names(kube, k, ns) for k, ns in KINDS}
                self.assertEqual(objs, {k: ["releasemanager"] for k, _ in KINDS})
                kube.helm(major, "uninstall", "releasemanager", "-n", "rm-system", "--wait")
                for kind, ns in KINDS:
                    self.assertEqual(self.names(kube, kind, ns), [], kind)

    def test_upgrade_from_original_chart(self):
        """A release of the original chart's layout upgraded to ours with the same flags:
        same Deployment, unchanged (immutable) selector."""
        for major in MAJORS:
            with self.subTest(helm=major), fku.FakeKube(tools=TOOLS) as kube:
                kube.helm(major, "install", "releasemanager", ORIGINAL_LAYOUT, "-n", "rm-system",
                          "--create-namespace", *sets(README_SET))
                before = self.get(kube, "deployment", "releasemanager", "-n", "rm-system")
                kube.helm(major, "upgrade", "releasemanager", CHART, "-n", "rm-system",
                          "--wait", "--timeout", "120s", *sets(README_SET))
                after = self.get(kube, "deployment", "releasemanager", "-n", "rm-system")
                self.assertEqual(after["spec"]["strategy"].get("type"), "Recreate")
                self.assertFalse(after["spec"]["strategy"].get("rollingUpdate"), after["spec"]["strategy"])
                self.assertEqual(after["metadata"]["uid"], before["metadata"]["uid"])
                self.assertEqual(after["spec"]["selector"], before["spec"]["selector"])
                self.assertEqual(after["spec"]["template"]["spec"]["containers"][0]["args"][:7],
                                 before["spec"]["template"]["spec"]["containers"][0]["args"])
                kube.helm(major, "rollback", "releasemanager", "1", "-n", "rm-system")
                kube.helm(major, "uninstall", "releasemanager", "-n", "rm-system")

    def test_rendered_deployment_runs(self):
        """The daemon run as the installed Deployment's pod runs it, against the fake API
        server and moto's S3, follows real helm's changes; its store imported into a second
        cluster restores the other releases and not the manager's own."""
        if not os.path.exists(os.path.join(S3_DIR, "s3.so")):
            self.skipTest("the s3 plugin was not built (%s)" % S3_DIR)
        try:
            import boto3  # noqa: F401
            import moto  # noqa: F401
        except ImportError as e:
            self.skipTest("moto/boto3 not importable: %s" % e)
        import s3env
        moto_s3 = s3env.Moto(WORK)
        self.addCleanup(moto_s3.stop)
        self.addCleanup(moto_s3.proc.stdout.close)
        s3 = moto_s3.client()
        s3.create_bucket(Bucket="rm-backups")
        for major in MAJORS:
            with self.subTest(helm=major):
                self.run_pod(major, s3, moto_s3)

    def run_pod(self, major, s3, moto_s3):
        path = "cluster-h%d" % major
        work = tempfile.mkdtemp(prefix="pod-h%d-" % major, dir=WORK)
        with fku.FakeKube(tools=TOOLS) as kube, fku.FakeKube(tools=TOOLS) as other:
            kube.helm(major, "install", "web", PLAIN, "-n", "apps", "--create-namespace")
            values = ["verbose=true", "backend.type=s3", "backend.path=" + path,
                      "s3.bucket=rm-backups", "s3.region=us-east-1",
                      "s3.endpoint=" + moto_s3.endpoint, "s3.accessKeyID=" + moto_s3.ak,
                      "s3.secretAccessKey=" + moto_s3.sk]
            kube.helm(major, "install", "releasemanager", CHART, "-n", "rm-system",
                      "--create-namespace", *sets(values))
            pod = PodRun(self, kube, work, "rm-system", "releasemanager")
            self.addCleanup(pod.kill)
            pod.start()
            self.assertNotIn(moto_s3.sk, " ".join(pod.argv), "no credential on the command line")

            def index():
                try:
                    body = s3.get_object(Bucket="rm-backups", Key=path + "/index.json")["Body"]
                except s3.exceptions.NoSuchKey:
                    return None
                return {(r["namespace"], r["release"], r["revision"]): r.get("status")
                        for r in json.loads(body.read())["records"]}

            delays = []

            def follows(what):
                t0 = time.monotonic()
                while True:     # no time limit: a slow machine only makes it slower
                    want = cluster_records(kube)
                    if index() == want:
                        delays.append("%s %.2f s" % (what, time.monotonic() - t0))
                        return want
                    self.assertIsNone(pod.proc.poll(), "the daemon ended:\n" + pod.output())
                    time.sleep(0.05)

            got = follows("first sync")
            self.assertIn(("apps", "web", 1), got)
            self.assertIn(("rm-system", "releasemanager", 1), got)
            while pod.get("readyz")[0] != 200:     # the commit comes just before
                self.assertIsNone(pod.proc.poll(), "the daemon ended:\n" + pod.output())
                time.sleep(0.05)
            kube.helm(major, "install", "api", PLAIN, "-n", "apps", "--set", "message=api")
            follows("install")
            kube.helm(major, "upgrade", "web", PLAIN, "-n", "apps", "--set", "message=two")
            self.assertEqual(follows("upgrade")[("apps", "web", 1)], "superseded")
            kube.helm(major, "rollback", "web", "1", "-n", "apps")
            self.assertEqual(follows("rollback")[("apps", "web", 3)], "deployed")
            kube.helm(major, "uninstall", "api", "-n", "apps")
            self.assertNotIn(("apps", "api", 1), follows("uninstall"))
            sys.stderr.write("helm %d: change to backup, as observed by polling the bucket: %s\n"
                             % (major, ", ".join(delays)))
            state = json.loads(s3.get_object(Bucket="rm-backups",
                                             Key=path + "/rlsmgrstate.json")["Body"].read())
            self.assertEqual((state.get("release"), state.get("namespace")),
                             ("releasemanager", "rm-system"), state)
            self.assertEqual(pod.stop(), 0, pod.output())
            out = pod.output()
            self.assertNotIn(moto_s3.sk, out)
            self.assertIn("leader election", out)

            # The store imported into a second cluster: the manager's own release is
            # skipped (one manager per store), the others are restored as stored.
            env = {k: v for k, v in os.environ.items()
                   if not k.startswith(("RELEASEMANAGER_", "AWS_", "KUBERNETES_"))}
            env.update({"AWS_ACCESS_KEY_ID": moto_s3.ak, "AWS_SECRET_ACCESS_KEY": moto_s3.sk,
                        "PATH": "/usr/bin:/bin"})
            other.kubectl("create", "namespace", "apps")
            p = subprocess.run([RM_BIN, "import", "--path", path, "s3", "--bucket", "rm-backups",
                                "--region", "us-east-1", "--backend-opt",
                                "endpoint=" + moto_s3.endpoint, "--plugin-dir", S3_DIR,
                                "--kubeconfig", other.kubeconfig],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, timeout=300)
            self.assertIn(p.returncode, (0, 3), p.stdout + p.stderr)
            self.assertRegex(p.stdout + p.stderr, r"skipped rm-system/releasemanager: the manager's own release")
            restored = cluster_records(other)
            self.assertEqual({k: v for k, v in restored.items() if k[0] == "apps"},
                             {k: v for k, v in cluster_records(kube).items() if k[0] == "apps"})
            self.assertFalse([k for k in restored if k[1] == "releasemanager"], restored)
            self.assertIsNone(self.get(other, "deployment", "releasemanager", "-n", "rm-system"))
            # --new-path: the manager restored writing to another path, never to this one.
            bindir = os.path.join(work, "bin")
            os.makedirs(bindir)
            os.symlink(helm_bin(major), os.path.join(bindir, "helm"))
            env["PATH"] = bindir + ":/usr/bin:/bin"
            env["HOME"] = os.path.join(WORK, "home")
            p = subprocess.run([RM_BIN, "import", "--path", path, "s3", "--bucket", "rm-backups",
                                "--region", "us-east-1", "--backend-opt",
                                "endpoint=" + moto_s3.endpoint, "--plugin-dir", S3_DIR,
                                "--kubeconfig", other.kubeconfig, "--release-name",
                                "releasemanager", "--new-path", "new-cluster",
                                "--create-namespace"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, timeout=300)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            cm = self.get(other, "configmap", "releasemanager", "-n", "rm-system")
            self.assertIn('path: "new-cluster"', cm["data"]["config.yaml"])
            self.assertNotIn(path, cm["data"]["config.yaml"])


def cluster_records(kube):
    """{(namespace, release, revision): status} of the Helm release Secrets in kube."""
    st, body = kube.get_json("/api/v1/secrets?labelSelector=owner%3Dhelm")
    assert st == 200, st
    return {(o["metadata"]["namespace"], o["metadata"]["labels"]["name"],
             int(o["metadata"]["labels"]["version"])): o["metadata"]["labels"].get("status")
            for o in body["items"]}


class PodRun:
    """What the kubelet does for the Deployment's pod, done for the daemon in the build tree:
    the container's args (its image's entrypoint is releasemanager), its env and envFrom
    (fieldRef, secretKeyRef and configMapKeyRef resolved from the objects in the cluster),
    its configMap and emptyDir volumes written to a directory each with every mounted path
    in the args rewritten to it, the image's HOME=/tmp (Dockerfile), the service account's
    token, ca.crt and namespace (RELEASEMANAGER_SERVICEACCOUNT_DIR), KUBERNETES_SERVICE_HOST
    and _PORT.  What the image and the pod's network give and a test cannot: the plugin
    directory (RELEASEMANAGER_PLUGIN_PATH: the build tree's) and port 8080 of the pod's own
    address (RELEASEMANAGER_LISTEN: a free port of 127.0.0.1)."""

    def __init__(self, case, kube, work, ns, name):
        self.case, self.kube, self.work, self.ns = case, kube, work, ns
        self.dep = case.get(kube, "deployment", name, "-n", ns)
        case.assertIsNotNone(self.dep)
        self.spec = self.dep["spec"]["template"]["spec"]
        self.c = self.spec["containers"][0]
        self.proc = None

    def obj(self, kind, name):
        return self.case.get(self.kube, kind, name, "-n", self.ns)

    def data(self, kind, name):
        o = self.obj(kind, name)
        if o is None:
            return None
        if kind == "secret":
            return {k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()}
        return dict(o.get("data") or {})

    def env(self):
        pod_name = self.dep["metadata"]["name"] + "-7d9f8b6c5-x2x4q"
        out = {}
        for ef in self.c.get("envFrom") or []:
            kind, ref = ("secret", ef["secretRef"]) if "secretRef" in ef else ("configmap", ef["configMapRef"])
            d = self.data(kind, ref["name"])
            if d is None:
                self.case.assertTrue(ref.get("optional"), "envFrom %s %s missing" % (kind, ref["name"]))
                continue
            out.update({ef.get("prefix", "") + k: v for k, v in d.items()})
        for e in self.c.get("env") or []:
            if "value" in e:
                out[e["name"]] = e["value"]
                continue
            vf = e["valueFrom"]
            if "fieldRef" in vf:
                out[e["name"]] = {"metadata.name": pod_name, "metadata.namespace": self.ns}[
                    vf["fieldRef"]["fieldPath"]]
                continue
            kind, ref = ("secret", vf["secretKeyRef"]) if "secretKeyRef" in vf else ("configmap", vf["configMapKeyRef"])
            d = self.data(kind, ref["name"])
            if d is None or ref["key"] not in d:
                self.case.assertTrue(ref.get("optional"), "env %s: %s %s key %s missing" % (
                    e["name"], kind, ref["name"], ref["key"]))
                continue
            out[e["name"]] = d[ref["key"]]
        return out

    def volumes(self):
        """{mountPath: local directory}, each written as the kubelet would."""
        vols = {v["name"]: v for v in self.spec.get("volumes") or []}
        mounts = {}
        for m in self.c.get("volumeMounts") or []:
            v = vols[m["name"]]
            d = os.path.join(self.work, "vol-" + m["name"])
            os.makedirs(d, exist_ok=True)
            if "configMap" in v or "secret" in v:
                kind, src = ("configmap", v["configMap"]) if "configMap" in v else ("secret", v["secret"])
                data = self.data(kind, src.get("name") or src.get("secretName"))
                items = src.get("items") or [{"key": k, "path": k} for k in data]
                for it in items:
                    with open(os.path.join(d, it["path"]), "w") as f:
                        f.write(data[it["key"]])
            else:
                self.case.assertIn("emptyDir", v, "volume %s: only configMap, secret and emptyDir "
                                   "are run here" % m["name"])
            mounts[m["mountPath"]] = d
        return mounts

    def start(self):
        self.case.assertNotIn("command", self.c, "the image's entrypoint runs")
        mounts = self.volumes()

        def local(arg):
            for mp, d in sorted(mounts.items(), key=lambda kv: -len(kv[0])):
                if arg == mp or arg.startswith(mp + "/"):
                    return d + arg[len(mp):]
            return arg

        self.argv = [RM_BIN] + [local(a) for a in self.c["args"]]
        sa = os.path.join(self.work, "serviceaccount")
        os.makedirs(sa)
        shutil.copy(self.kube.ca, os.path.join(sa, "ca.crt"))
        with open(os.path.join(sa, "token"), "w") as f:
            f.write(self.kube.token)
        with open(os.path.join(sa, "namespace"), "w") as f:
            f.write(self.ns)
        self.port = None        # port 0: the daemon binds a free one and logs it (get())
        env = {k: v for k, v in os.environ.items()
               if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "LD_")) or k == "PATH"}
        env["HOME"] = local("/tmp")
        env.update(self.env())
        env.update({"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                    "KUBERNETES_SERVICE_PORT": str(self.kube.port),
                    "RELEASEMANAGER_SERVICEACCOUNT_DIR": sa,
                    "RELEASEMANAGER_PLUGIN_PATH": S3_DIR,
                    "RELEASEMANAGER_LISTEN": "127.0.0.1:0"})
        self.log = open(os.path.join(self.work, "daemon.log"), "w")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.work)
        # read through a file of our own: seeking the daemon's shared offset back to 0
        # while it writes would make it overwrite its own log
        self.log.close()
        self.log = open(self.log.name)

    def get(self, what):
        if self.port is None:   # the daemon logs it (the chart's verbose=true) before it syncs
            m = re.search(r"daemon: serving .* on port (\d+);", self.output())
            self.case.assertTrue(m, "the daemon logged no port:\n" + self.output())
            self.port = int(m.group(1))
        return http_get(self.port, what)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=120)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.log.close()


class Image(unittest.TestCase):
    """The container image (scripts/build-image.sh) run as the installed Deployment's pod
    runs it: the args, the ConfigMap at /etc/releasemanager, the service-account files and
    KUBERNETES_SERVICE_* (in-cluster configuration), UID 65532, a read-only root with /tmp
    writable, no capabilities; the local backend on a mounted directory.  Opt-in: set
    RM_TEST_IMAGE (e.g. localhost/releasemanager:0.1.0) and RM_IMAGE_WORKDIR (the podman
    state build-image.sh used); needs root, podman and runc.  CI sets them (.ci/run).

    The container runs the rendered args unchanged (`export --daemon ...`); it shares the
    host's network to reach the fake API server, so RELEASEMANAGER_LISTEN gives it a free
    port instead of the pod's own :8080.  Once /readyz answers, helm upgrades and uninstalls
    a release and the mounted store follows; `podman stop` (SIGTERM, as the kubelet) ends
    it with exit 0."""

    def setUp(self):
        self.image = os.environ.get("RM_TEST_IMAGE")
        self.podroot = os.environ.get("RM_IMAGE_WORKDIR")
        if not self.image or not self.podroot:
            self.skipTest("RM_TEST_IMAGE and RM_IMAGE_WORKDIR not set (scripts/build-image.sh)")
        if not (shutil.which("podman") and shutil.which("runc")) or os.geteuid() != 0:
            self.skipTest("needs root, podman and runc")

    def podman(self, *args, check=True):
        w = os.path.abspath(self.podroot)
        p = subprocess.run(["podman", "--root", os.path.join(w, "root"), "--runroot",
                            os.path.join(w, "run"), "--tmpdir", os.path.join(w, "tmp")]
                           + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError("podman %s: exit %d\n%s\n%s" % (" ".join(args), p.returncode,
                                                               p.stdout, p.stderr))
        return p

    def test_image_runs_the_rendered_pod(self):
        work = tempfile.mkdtemp(prefix="image-", dir=WORK)
        with fku.FakeKube(tools=TOOLS) as kube:
            kube.helm3("install", "web", os.path.join(fku.CHARTS, "plain"), "-n", "apps",
                       "--create-namespace")
            kube.helm3("install", "releasemanager", CHART, "-n", "rm-system",
                       "--create-namespace", "--set", "image.repository=" + self.image.rsplit(":", 1)[0],
                       "--set", "image.tag=" + self.image.rsplit(":", 1)[1],
                       *sets(["backend.type=local", "backend.path=/backup",
                              "extraVolumes[0].name=backup",
                              "extraVolumes[0].hostPath.path=/srv/backup",
                              "extraVolumeMounts[0].name=backup",
                              "extraVolumeMounts[0].mountPath=/backup"]))
            dep = json.loads(kube.kubectl("get", "deployment", "releasemanager", "-n", "rm-system",
                                          "-o", "json").stdout)
            cm = json.loads(kube.kubectl("get", "configmap", "releasemanager", "-n", "rm-system",
                                         "-o", "json").stdout)
            pod = dep["spec"]["template"]["spec"]
            c = pod["containers"][0]
            self.assertEqual(c["image"], self.image)
            # The kubelet's part: the mounted files, the environment, the user.
            cfgdir = os.path.join(work, "config")
            sadir = os.path.join(work, "serviceaccount")
            backup = os.path.join(work, "backup")
            for d in (cfgdir, sadir, backup):
                os.makedirs(d)
            with open(os.path.join(cfgdir, "config.yaml"), "w") as f:
                f.write(cm["data"]["config.yaml"])
            shutil.copy(kube.ca, os.path.join(sadir, "ca.crt"))
            with open(os.path.join(sadir, "token"), "w") as f:
                f.write(kube.token)
            with open(os.path.join(sadir, "namespace"), "w") as f:
                f.write("rm-system")
            uid = pod["securityContext"]["runAsUser"]
            os.chown(backup, uid, pod["securityContext"]["runAsGroup"])
            for d in (work, cfgdir, sadir):
                os.chmod(d, 0o755)
            for fn in os.listdir(sadir) + ["../config/config.yaml"]:
                os.chmod(os.path.join(sadir, fn), 0o644)
            args = list(c["args"])
            self.assertIn("--daemon", args)
            port = free_port()
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            self.assertTrue(mounts["/etc/releasemanager"]["readOnly"])
            self.assertIn("/tmp", mounts)
            self.assertIn("/backup", mounts)
            sc = c["securityContext"]
            run = ["--runtime", "runc", "run", "--network", "host",
                   "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000",
                   "--user", "%d:%d" % (uid, pod["securityContext"]["runAsGroup"]),
                   "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
            if sc["readOnlyRootFilesystem"]:
                run += ["--read-only", "--tmpfs", "/tmp"]
            run += ["-v", cfgdir + ":/etc/releasemanager:ro",
                    "-v", sadir + ":/var/run/secrets/kubernetes.io/serviceaccount:ro",
                    "-v", backup + ":/backup",
                    "-e", "KUBERNETES_SERVICE_HOST=127.0.0.1",
                    "-e", "KUBERNETES_SERVICE_PORT=%d" % kube.port,
                    "-e", "POD_NAME=releasemanager-0", "-e", "POD_NAMESPACE=rm-system",
                    "-e", "RELEASEMANAGER_LISTEN=127.0.0.1:%d" % port,
                    "--name", "rm-image-test", "-d", self.image] + args
            self.podman("rm", "-f", "rm-image-test", check=False)
            self.podman(*run)
            try:
                def ready():
                    try:
                        with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port,
                                                    timeout=5) as r:
                            return r.status == 200
                    except (urllib.error.URLError, OSError):
                        return False

                def logs():
                    p = self.podman("logs", "rm-image-test", check=False)
                    return p.stdout + p.stderr

                def index_records():
                    try:
                        with open(os.path.join(backup, "index.json")) as f:
                            index = json.load(f)
                    except (OSError, ValueError):
                        return None
                    return sorted((r["namespace"], r["release"], r["revision"])
                                  for r in index["records"])

                def running():
                    p = self.podman("inspect", "-f", "{{.State.Running}}", "rm-image-test",
                                    check=False)
                    return p.stdout.strip() == "true"

                def until(what, fn):
                    end = time.time() + WAIT
                    while time.time() < end:
                        v = fn()
                        if v:
                            return v
                        self.assertTrue(running(), "the daemon stopped:\n" + logs())
                        time.sleep(0.1)
                    self.fail("%s: not within %d s\n%s" % (what, WAIT, logs()))

                until("/readyz", ready)
                with open(os.path.join(backup, "rlsmgrstate.json")) as f:
                    state = json.load(f)
                self.assertEqual(state.get("release"), "releasemanager", state)
                self.assertEqual(index_records(), [("apps", "web", 1),
                                                   ("rm-system", "releasemanager", 1)])
                kube.helm3("upgrade", "web", os.path.join(fku.CHARTS, "plain"), "-n", "apps")
                until("the upgrade in the store", lambda: index_records() == [
                    ("apps", "web", 1), ("apps", "web", 2), ("rm-system", "releasemanager", 1)])
                kube.helm3("uninstall", "web", "-n", "apps")
                until("the uninstall in the store", lambda: index_records() == [
                    ("rm-system", "releasemanager", 1)])
                # The kubelet's SIGTERM: the daemon commits and exits 0 within the grace period.
                self.podman("stop", "-t", "30", "rm-image-test")
                code = self.podman("inspect", "-f", "{{.State.ExitCode}}",
                                   "rm-image-test").stdout.strip()
                self.assertEqual(code, "0", logs())
            finally:
                self.podman("rm", "-f", "rm-image-test", check=False)
            # Every file the pod wrote belongs to its user.
            for root, dirs, files in os.walk(backup):
                for n in dirs + files:
                    self.assertEqual(os.stat(os.path.join(root, n)).st_uid, uid, n)


def main():
    return e2elib.main("chart", sys.modules[__name__], plugins=(), need_rm=False, home_dir=True,
                       keep_env="KEEP", timing=False)


if __name__ == "__main__":
    sys.exit(main())
