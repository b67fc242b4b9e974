#!/usr/bin/env python3
"""Write the seed corpora fuzz/corpus/NAME/ from the real data in tests/ (run from the top
of the tree; the output is committed, so this runs only when the seeds change).

Sources: tests/data/helm-releases (Apache-2.0, see its PROVENANCE.md), tests/data/s3xml,
tests/data/sigv4 (the AWS SigV4 test suite, see its PROVENANCE), tests/data/store, the
charts of tests/charts, and small documents written here for the kubeconfig and
configuration-file shapes the unit tests use (tests/unit/test_kube_config.c, test_cli.c).
A leading byte selects the mode of the targets that have several (see fuzz_NAME.c)."""
import base64, glob, gzip, json, os, shutil, yaml

OUT = "fuzz/corpus"


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def helm_objects():
    for path in sorted(glob.glob("tests/data/helm-releases/*.json")) + \
            sorted(glob.glob("tests/data/helm-releases/*.yaml")):
        with open(path) as f:
            obj = yaml.safe_load(f)  # JSON is YAML
        yield os.path.basename(path).split(".")[0], obj


def release_json(obj):
    blob = obj["data"]["release"]
    raw = base64.b64decode(blob)
    if obj.get("kind") == "Secret" or "type" in obj:
        raw = base64.b64decode(raw)
    if raw[:3] == b"\x1f\x8b\x08":
        raw = gzip.decompress(raw)
    return raw


shutil.rmtree(OUT, ignore_errors=True)
releases = []
for name, obj in helm_objects():
    put("helm", name + "-object", b"\x00" + json.dumps(obj).encode())
    put("yamljson", name, b"\x00" + yaml.safe_dump(obj).encode())
    inner = obj["data"]["release"]
    if obj.get("kind") == "Secret" or "type" in obj:
        inner = base64.b64decode(inner).decode()
    put("helm", name + "-blob", b"\x01" + inner.encode())
    raw = release_json(obj)
    if raw[:1] != b"{":
        continue  # Helm 2 protobuf
    releases.append((name, raw))
    put("helm", name + "-json", b"\x02" + raw)
    put("jscan", name, raw)
    rel = json.loads(raw)
    small = {k: rel[k] for k in ("name", "namespace", "version", "info") if k in rel}
    small["chart"] = {"metadata": rel["chart"]["metadata"]}
    put("helm", name + "-roundtrip", b"\x03" + json.dumps(small).encode())
    put("jscan", name + "-small", json.dumps(small, indent=1))
    put("manifest", name + "-manifest", b"\x00" + rel["manifest"].encode())
    put("yamljson", name + "-manifest", b"\x01" + rel["manifest"].encode())

# A release with hooks and a crds/ file, for imp_hooks_for and imp_chart_crds.
crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
       "metadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n")
hook = ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: pre\n  annotations:\n"
        "    helm.sh/hook: pre-install\n---\n# comment\n---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: pre-cm}\n")
rel = {"name": "r", "namespace": "ns", "version": 1,
       "chart": {"files": [{"name": "crds/w.yaml", "data": base64.b64encode(crd.encode()).decode()},
                           {"name": "README.md", "data": "aGk="}]},
       "hooks": [{"name": "pre", "events": ["pre-install"], "manifest": hook, "weight": -5,
                  "delete_policies": ["hook-succeeded", "before-hook-creation"]},
                 {"name": "post", "events": ["post-install", "test"], "manifest": hook,
                  "weight": 2}]}
put("manifest", "hooks-and-crds", b"\x01" + json.dumps(rel).encode())
put("jscan", "hooks-and-crds", json.dumps(rel))
for path in sorted(glob.glob("tests/charts/*/templates/*.yaml"))[:12]:
    with open(path, "rb") as f:
        text = f.read()
    put("yamljson", "chart-" + path.split("/")[2] + "-" + os.path.basename(path), b"\x02" + text)

# Indexes: the committed one, and one per release above in today's format.
with open("tests/data/store/index-0.1.json", "rb") as f:
    put("index", "index-0.1", f.read())
    put("jscan", "index-0.1", open("tests/data/store/index-0.1.json", "rb").read())
recs = []
for i, (name, raw) in enumerate(releases):
    r = json.loads(raw)
    recs.append({"key": "releases/%s/%s/%d.json.gz" % (r["namespace"], r["name"], r["version"]),
                 "namespace": r["namespace"], "release": r["name"], "revision": r["version"],
                 "status": r["info"]["status"], "chart": r["chart"]["metadata"]["name"],
                 "chartVersion": r["chart"]["metadata"]["version"], "size": len(raw),
                 "storedSize": len(raw) // 4, "sha256": "%064x" % (i + 1)})
idx = {"apiVersion": "releasemanager.io/v1", "kind": "Snapshot",
       "cluster": {"uid": "4d3c2b1a-0000-4000-8000-000000000001", "server": "https://10.0.0.1:6443"},
       "exporter": "releasemanager 0.1.0", "time": "2026-01-02T03:04:05Z", "records": recs}
put("index", "generated", json.dumps(idx, indent=2))
idx["records"] = list(reversed(recs)) + [dict(recs[0], namespace="ns\\\"x", size=1e30)]
put("index", "unsorted-escaped", json.dumps(idx))
put("index", "empty", '{"apiVersion":"releasemanager.io/v1","records":[]}')

for path in sorted(glob.glob("tests/data/s3xml/*.xml")):
    with open(path, "rb") as f:
        put("s3xml", os.path.basename(path)[:-4], f.read())

# SigV4: the AWS suite's requests as method, path, region, ?query and header lines.
suite = "tests/data/sigv4/aws-signing-test-suite/v4"
for i, case in enumerate(sorted(os.listdir(suite))):
    with open(os.path.join(suite, case, "request.txt"), "rb") as f:
        lines = f.read().decode("utf-8", "replace").split("\n")
    method, rest = lines[0].split(" ", 1)
    target = rest.rsplit(" ", 1)[0]
    path, _, query = target.partition("?")
    out = [method, path, "us-east-1"]
    out += ["?" + q for q in query.split("&") if q]
    out += [h for h in lines[1:] if ":" in h]
    put("sigv4", case, bytes([i * 37 & 0xff]) + "\n".join(out).encode())
    with open(os.path.join(suite, case, "context.json"), "rb") as f:
        if i % 4 == 0:
            put("jscan", "sigv4-" + case, f.read())

# Kubeconfigs in the shapes tests/unit/test_kube_config.c uses.
ca = base64.b64encode(b"CA PEM\n").decode()
put("kubeconfig", "every-cluster-field", f"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443/k8s/clusters/c-1/
    certificate-authority-data: {ca}
    tls-server-name: kubernetes.default
    proxy-url: socks5://proxy.local:1080
    disable-compression: true
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {{audience: sts, n: 3}}
contexts:
- name: p
  context: {{cluster: prod, namespace: team-a}}
current-context: p
""")
put("kubeconfig", "token-user", """apiVersion: v1
clusters:
- {name: c, cluster: {server: 'https://user:secret@c.example:443', insecure-skip-tls-verify: true}}
users:
- name: u
  user:
    token: tok-123
    as: someone
    as-groups: [a, b]
contexts:
- {name: x, context: {cluster: c, user: u, namespace: default}}
current-context: x
""")
put("kubeconfig", "exec-user", """apiVersion: v1
clusters:
- {name: c, cluster: {server: 'http://127.0.0.1:8080'}}
users:
- name: e
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./get-token
      args: [--region, eu]
      env: [{name: A, value: b}]
      interactiveMode: Never
      provideClusterInfo: true
contexts:
- {name: x, context: {cluster: c, user: e}}
current-context: x
""")
put("kubeconfig", "basic-and-cert", f"""clusters:
- {{name: c, cluster: {{server: 'https://c'}}}}
users:
- {{name: b, user: {{username: admin, password: pw}}}}
- {{name: k, user: {{client-certificate-data: {ca}, client-key-data: {ca}}}}}
- {{name: f, user: {{tokenFile: token, client-certificate: cert.pem}}}}
- {{name: ap, user: {{auth-provider: {{name: gcp}}}}}}
contexts:
- {{name: b, context: {{cluster: c, user: b}}}}
- {{name: k, context: {{cluster: c, user: k}}}}
- {{name: f, context: {{cluster: c, user: f}}}}
current-context: k
""")
put("kubeconfig", "errors", """clusters: notalist
users:
- name: dup
- name: dup
contexts:
- {name: a, context: {cluster: missing}}
current-context: [a]
""")
put("kubeconfig", "empty", "")
put("kubeconfig", "anchors", """x: &srv {server: 'https://a'}
clusters:
- {name: c, cluster: *srv}
contexts:
- {name: x, context: {cluster: c}}
current-context: x
""")

# Configuration files in the shapes tests/unit/test_cli.c and releasemanager.yaml(5) use.
put("conffile", "backends", "plugin-dir:\n  - /abs/one\n  - rel/two\nbackends:\n  local:\n"
    "    fsync: false\n  s3:\n    bucket: b\n    region: eu-west-1\n")
put("conffile", "top-level", "backend: s3\npath: backups/prod\nkubecontext: prod\n"
    "helm-driver: auto\njobs: 8\ndebug: true\nnamespace: [a, b]\n")
put("conffile", "duplicate", "path: a\npath: b\nbackends:\n  s3: notamap\n")
put("conffile", "list", "- just\n- a list\n")
put("conffile", "documents", "---\npath: x\n...\n---\npath: y\n")
put("conffile", "nested", "backends:\n  s3:\n    endpoint: http://localhost:5000\n    tags: [x, {a: b}]\n"
    "    empty:\n  local: {dir: /srv, fsync: yes}\n")
