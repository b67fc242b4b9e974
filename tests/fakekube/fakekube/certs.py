"""Certificates made with the openssl CLI, and the kubeconfig written for clients."""

import base64
import os
import subprocess

SAN = ("IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
       "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:fakekube.test")


def _run(args, cwd):
    p = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args[:2]), p.stderr.strip()))


def _key_and_csr(d, name, subj):
    _run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", name + ".key", "-out", name + ".csr", "-subj", subj], d)


def _sign(d, name, ext):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    _run(["x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
          "-set_serial", "0x" + os.urandom(8).hex(), "-days", "3650", "-sha256",
          "-extfile", name + ".ext", "-out", name + ".crt"], d)
    for suffix in (".csr", ".ext"):
        os.unlink(os.path.join(d, name + suffix))


def ensure_certs(d, san=None):
    """ca.crt/key, server.crt/key (SANs 127.0.0.1, localhost, kubernetes.default.svc...)
    and client.crt/key (CN=fakekube-admin, O=system:masters) in directory d.  Reused when
    present.  san: the server certificate's subjectAltName instead (openssl syntax)."""
    os.makedirs(d, exist_ok=True)
    want = ["ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"]
    if all(os.path.exists(os.path.join(d, f)) for f in want):
        return
    old = os.umask(0o077)
    try:
        _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-sha256",
              "-subj", "/CN=fakekube-ca",
              "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], d)
        _key_and_csr(d, "server", "/CN=kube-apiserver")
        _sign(d, "server", "basicConstraints=CA:FALSE\n"
                           "keyUsage=critical,digitalSignature,keyEncipherment\n"
                           "extendedKeyUsage=serverAuth\n"
                           "subjectAltName=" + (san or SAN) + "\n")
        _key_and_csr(d, "client", "/O=system:masters/CN=fakekube-admin")
        _sign(d, "client", "basicConstraints=CA:FALSE\n"
                           "keyUsage=critical,digitalSignature,keyEncipherment\n"
                           "extendedKeyUsage=clientAuth\n")
    finally:
        os.umask(old)


def b64file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def write_kubeconfig(path, server, ca_path, token, namespace="default", name="fakekube"):
    """A kubeconfig with the CA inline and a bearer token user; the current context."""
    text = """apiVersion: v1
kind: Config
clusters:
- name: %(name)s
  cluster:
    server: %(server)s
    certificate-authority-data: %(ca)s
contexts:
- name: %(name)s
  context:
    cluster: %(name)s
    user: %(name)s-admin
    namespace: %(ns)s
current-context: %(name)s
preferences: {}
users:
- name: %(name)s-admin
  user:
    token: %(token)s
""" % {"name": name, "server": server, "ca": b64file(ca_path), "ns": namespace, "token": token}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
