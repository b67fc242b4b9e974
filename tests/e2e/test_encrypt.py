#!/usr/bin/env python3
"""Client-side encryption (issue 15), end to end: the REAL program against the fake API
server (releases by real helm 3), the local backend and s3 through moto.  An encrypted
export holds no plaintext; list, verify and import work with the key; without it, with
a wrong key, or with a tampered record, index or snapshot they fail clearly, import
nothing and never print the key; plain and encrypted objects are never mixed; equal
records get unrelated names under different keys; and a record is decrypted here with
Python's `cryptography` following only the ENCRYPTION FORMAT section of the man page.
Exit 77 with the reason when a tool is missing."""

import base64
import gzip
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile

SRCDIR = os.environ.get("abs_top_srcdir") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDDIR = os.environ.get("abs_top_builddir") or SRCDIR
sys.path.insert(0, os.path.join(SRCDIR, "tests", "fakekube"))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "plugins", "s3"))
import fakekube_util as fku  # noqa: E402
import s3env  # noqa: E402

RM_BIN = os.environ.get("RM_BIN") or os.path.join(BUILDDIR, "releasemanager")
LOCAL_DIR = os.path.join(BUILDDIR, "plugins", "local", ".libs")
S3_DIR = os.path.join(BUILDDIR, "plugins", "s3", ".libs")
CHARTS = os.path.join(SRCDIR, "tests", "charts")
SECRET_VALUE = "s3cr3t-values-string-7f1c"
failures = []


def check(cond, what, detail=""):
    print(("ok - " if cond else "FAIL - ") + what + ("" if cond else "\n  " + str(detail)[:3000]), flush=True)
    if not cond:
        failures.append(what)


def show(p):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)


# ---- the format, as releasemanager(1) ENCRYPTION FORMAT says, and nothing else ----
def man_decrypt(store_key, object_key, blob):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    prk = hmac.new(b"\0" * 32, store_key, hashlib.sha256).digest()
    enc = hmac.new(prk, b"releasemanager encryption v1\x01", hashlib.sha256).digest()
    header, nonce = blob[:28], blob[16:28]
    assert blob[:6] == b"RMSEAL" and blob[6] == 1 and blob[7] == 1
    return AESGCM(enc).decrypt(nonce, blob[28:], header + object_key.encode())


def man_key_id(store_key):
    return hmac.new(store_key, b"releasemanager key id", hashlib.sha256).hexdigest()[:16]


class Run:
    def __init__(self, kc, base, env, keys):
        self.kc, self.base, self.env, self.keys = kc, base, env, keys

    def __call__(self, *args, key=None, cluster=False, extra_env=None):
        argv = [RM_BIN] + list(args) + self.base
        if key:
            argv += ["--encrypt-key-file", key]
        if cluster:
            argv += ["--kubeconfig", self.kc]
        env = dict(self.env, **(extra_env or {}))
        p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        for k in self.keys:
            raw = open(k, "rb").read()
            check(raw.strip().decode("latin-1") not in p.stdout + p.stderr,
                  "the key of %s is absent from the output of %s" % (os.path.basename(k), args[0]))
        return p


def store_suite(name, rm, put, get, delete, listing, fk, key, key2, raw_key):
    """The same checks on one backend: put/get/listing read and write stored objects by
    key relative to the store."""
    p = rm("export", key=key, cluster=True)
    check(p.returncode == 0, "%s: encrypted export succeeds" % name, show(p))
    objs = listing()
    check("encryption.json" in objs, "%s: the store has its encryption marker" % name, objs)
    marker = json.loads(get("encryption.json"))
    check(marker.get("keyId") == man_key_id(raw_key) and "key" not in json.dumps(marker).lower().replace("keyid", ""),
          "%s: the marker names the key id (a hash), no secret" % name, marker)
    records = [k for k in objs if k.startswith("releases/")]
    check(len(records) == 2, "%s: two records stored" % name, objs)
    for k in objs:
        body = get(k)
        check(SECRET_VALUE.encode() not in body, "%s: %s holds no plaintext of the values" % (name, k))
        if k not in ("encryption.json", "lock.json"):
            check(body[:6] == b"RMSEAL", "%s: %s is sealed" % (name, k))
    # Interoperability: a record and the index decrypted by hand with the man page's format.
    rec = records[-1]
    release = json.loads(gzip.decompress(man_decrypt(raw_key, rec, get(rec))))
    check(release.get("name") == "web" and SECRET_VALUE in json.dumps(release.get("config")),
          "%s: %s decrypts with Python's AESGCM to Helm's release JSON" % (name, rec), release.get("name"))
    index = json.loads(man_decrypt(raw_key, "index.json", get("index.json")))
    check(len(index["records"]) == 2, "%s: index.json decrypts by hand" % name)
    # Addresses: keyed, so not the SHA-256 of the JSON.
    plain_sha = hashlib.sha256(json.dumps(release).encode()).hexdigest()
    check(all(plain_sha not in k for k in records), "%s: record names are not SHA-256 of the JSON" % name)

    p = rm("export", key=key, cluster=True)
    check(p.returncode == 0 and " 0 written" in p.stdout, "%s: unchanged encrypted re-export writes nothing" % name,
          show(p))
    p = rm("list", key=key)
    check(p.returncode == 0 and "web" in p.stdout, "%s: list with the key" % name, show(p))
    p = rm("verify", key=key)
    check(p.returncode == 0, "%s: verify with the key" % name, show(p))
    p = rm("list", "--snapshots", key=key)
    check(p.returncode == 0, "%s: list --snapshots with the key" % name, show(p))

    for verb in (("list",), ("verify",), ("export",)):
        p = rm(*verb, cluster=verb[0] == "export")
        check(p.returncode != 0 and "is encrypted (key id %s)" % man_key_id(raw_key) in p.stderr
              and "--encrypt-key-file" in p.stderr, "%s: %s without the key is refused" % (name, verb[0]), show(p))
        p = rm(*verb, key=key2, cluster=verb[0] == "export")
        check(p.returncode != 0 and man_key_id(raw_key) in p.stderr and "wrong" in p.stderr,
              "%s: %s with a wrong key is refused, naming the key ids" % (name, verb[0]), show(p))
    check(sorted(listing()) == sorted(objs), "%s: refused runs wrote nothing" % name)

    # Tampering: one byte of a record, the index, a snapshot; each names the object.
    snaps = [k for k in objs if k.startswith("snapshots/")]
    for victim in [rec, "index.json"] + snaps[:1]:
        good = get(victim)
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 1
        put(victim, bytes(bad))
        if victim.startswith("snapshots/"):
            # index.json is read in place of its own snapshot: without it the snapshot
            # object itself is read.
            ix = get("index.json")
            delete("index.json")
            p = rm("verify", "--snapshot", victim.rsplit("-", 1)[1][:-5], key=key)
            put("index.json", ix)
        else:
            p = rm("verify", key=key)
        check(p.returncode != 0 and victim in p.stdout + p.stderr and "not authentic" in p.stdout + p.stderr,
              "%s: a tampered %s fails verify, naming it" % (name, victim), show(p))
        put(victim, good)
    # A record moved under another record's name fails: the name is authenticated.
    if len(records) == 2:
        a, b = get(records[0]), get(records[1])
        put(records[1], a)
        p = rm("verify", key=key)
        check(p.returncode != 0 and records[1] in p.stdout + p.stderr, "%s: a swapped record fails verify" % name,
              show(p))
        put(records[1], b)
    p = rm("verify", key=key)
    check(p.returncode == 0, "%s: the store verifies again once restored" % name, show(p))
    return records


def import_suite(name, rm, put, get, fk2, key, key2, rec):
    def releases():
        out = fk2.kubectl("get", "secrets", "-A", "-l", "owner=helm", "-o", "json").stdout
        return json.loads(out)["items"]
    good = get(rec)
    bad = bytearray(good)
    bad[-1] ^= 0x80
    put(rec, bytes(bad))
    p = rm("import", "--kubeconfig", fk2.kubeconfig, key=key)
    check(p.returncode != 0 and rec in p.stdout + p.stderr, "%s: import of a store with a tampered record fails, "
          "naming it" % name, show(p))
    check(releases() == [], "%s: nothing imported from a tampered store" % name)
    put(rec, good)
    p = rm("import", "--kubeconfig", fk2.kubeconfig)
    check(p.returncode != 0 and releases() == [], "%s: import without the key fails, nothing imported" % name, show(p))
    p = rm("import", "--kubeconfig", fk2.kubeconfig, key=key2)
    check(p.returncode != 0 and releases() == [], "%s: import with a wrong key fails, nothing imported" % name,
          show(p))
    p = rm("import", "--kubeconfig", fk2.kubeconfig, key=key)
    check(p.returncode == 0 and len(releases()) == 2, "%s: import with the key restores the releases" % name, show(p))
    got = [json.dumps(fku.decode_release(s).get("config")) for s in releases()]
    check(any(SECRET_VALUE in g for g in got), "%s: the restored release has its values" % name)


def rekey_suite(rm, store, work, key, key2, fk2):
    """rekey: stopped midway (a failed put) the store still reads with the old key; run through, the
    new key reads it, the old one is refused, and the old objects are gone."""
    raw2 = open(key2, "rb").read()
    old_objs = sorted(os.path.relpath(os.path.join(d, f), store) for d, _, fs in os.walk(store) for f in fs)
    killed = os.path.join(work, "killed")
    shutil.copytree(store, killed)
    # A put that fails midway (deterministic where a SIGKILL would race the end of so
    # small a run): a directory where the last record's new name goes, computed here from
    # the man page alone (ADDR subkey, HMAC of the release JSON).
    raw1 = base64.b64decode(open(key, "rb").read())
    prk2 = hmac.new(b"\0" * 32, raw2, hashlib.sha256).digest()
    addr2 = hmac.new(prk2, b"releasemanager address v1\x01", hashlib.sha256).digest()
    last = sorted(k for k in old_objs if k.startswith("releases/"))[-1]
    js = gzip.decompress(man_decrypt(raw1, last, open(os.path.join(killed, last), "rb").read()))
    blocked = os.path.join(killed, last.rsplit(".", 3)[0] + "." + hmac.new(addr2, js, hashlib.sha256).hexdigest()
                           + ".json.gz")
    os.makedirs(os.path.join(blocked, "x"))
    argv = [RM_BIN, "rekey", "local", "--path", killed, "--fsync", "false", "--plugin-dir", LOCAL_DIR,
            "--encrypt-key-file", key, "--new-key-file", key2]
    proc = subprocess.run(argv, capture_output=True, text=True, env=rm.env)
    check(proc.returncode == 1 and os.path.basename(blocked) in proc.stderr and "nothing committed" in proc.stderr,
          "a rekey whose second record put fails stops before its commit", show(proc))
    shutil.rmtree(blocked)
    rmk = Run(rm.kc, ["local", "--path", killed, "--fsync", "false", "--plugin-dir", LOCAL_DIR], rm.env, [key, key2])
    p = rmk("list", key=key)
    check(p.returncode == 0 and "web" in p.stdout, "after a failed rekey the store lists with the old key", show(p))
    p = rmk("import", "--dry-run", "--kubeconfig", fk2.kubeconfig, key=key)
    check(p.returncode == 0, "after a failed rekey import --dry-run works with the old key", show(p))
    p = rmk("verify", key=key)
    check("0 damaged, 0 missing, 0 unreadable" in p.stdout, "after a failed rekey every record verifies with "
          "the old key", show(p))
    p = rmk("rekey", "--new-key-file", key2, key=key)
    check(p.returncode == 0, "rekey run again after the failure completes", show(p))
    p = rmk("verify", key=key2)
    check(p.returncode == 0, "the completed rekey verifies with the new key", show(p))

    p = rm("rekey", "--new-key-file", key2, key=key)
    check(p.returncode == 0 and "rekeyed" in p.stdout, "rekey succeeds", show(p))
    objs = sorted(os.path.relpath(os.path.join(d, f), store) for d, _, fs in os.walk(store) for f in fs)
    recs = [k for k in objs if k.startswith("releases/")]
    check(len(recs) == 2 and not set(recs) & set(old_objs), "rekey renamed every record, old ones deleted",
          (old_objs, objs))
    check(len([k for k in objs if k.startswith("snapshots/")]) == len([k for k in old_objs if k.startswith("snapshots/")]),
          "rekey kept every snapshot", (old_objs, objs))
    for k in objs:
        if k not in ("encryption.json", "lock.json"):
            body = open(os.path.join(store, k), "rb").read()
            check(body[8:16].hex() == man_key_id(raw2), "%s is sealed with the new key after rekey" % k)
    rel = json.loads(gzip.decompress(man_decrypt(raw2, recs[-1], open(os.path.join(store, recs[-1]), "rb").read())))
    check(rel.get("name") == "web", "a rekeyed record decrypts by hand with the new key")
    p = rm("list", key=key)
    check(p.returncode != 0 and "wrong" in p.stderr, "the old key is refused after rekey", show(p))
    for verb in ("list", "verify"):
        p = rm(verb, key=key2)
        check(p.returncode == 0, "%s with the new key after rekey" % verb, show(p))
    p = rm("import", "--dry-run", "--kubeconfig", fk2.kubeconfig, key=key2)
    check(p.returncode == 0, "import --dry-run with the new key after rekey", show(p))
    # Back to the first key for the checks that follow.
    p = rm("rekey", "--new-key-file", key, key=key2)
    check(p.returncode == 0, "rekey back to the first key", show(p))


def man_addr_key(raw):
    prk = hmac.new(b"\0" * 32, raw, hashlib.sha256).digest()
    return hmac.new(prk, b"releasemanager address v1\x01", hashlib.sha256).digest()


def tree(d):
    return sorted(os.path.relpath(os.path.join(x, f), d) for x, _, fs in os.walk(d) for f in fs)


def sealed_with(d, raw):
    """The objects of store d whose header names the key raw."""
    kid = man_key_id(raw)
    return [k for k in tree(d) if open(os.path.join(d, k), "rb").read()[8:16].hex() == kid]


def rekey_snapshot_phase_suite(rm, fk, work, raw1, key, key2, key3):
    """A rekey stopped while it writes the new-key snapshots (a failed put on the newest
    snapshot's new name, computed from the man page): its new-key snapshots and records
    are leftovers that list --snapshots, verify, prune and export skip and remove, and a
    second rekey, to the same key or to another, starts over and completes."""
    raw2 = open(key2, "rb").read()
    raw3 = open(key3, "rb").read()
    base = os.path.join(work, "snapphase")
    rmb = Run(rm.kc, ["local", "--path", base, "--fsync", "false", "--plugin-dir", LOCAL_DIR], rm.env, [key, key2, key3])
    p = rmb("export", key=key, cluster=True)
    check(p.returncode == 0, "snapshot phase: first export", show(p))
    fk.helm3("upgrade", "web", os.path.join(CHARTS, "plain"), "-n", "default",
             "--set", "secretValue=" + SECRET_VALUE, "--set", "replicaCount=3")
    p = rmb("export", key=key, cluster=True)
    check(p.returncode == 0, "snapshot phase: second export", show(p))
    objs = tree(base)
    snaps = sorted(k for k in objs if k.startswith("snapshots/"))
    check(len(snaps) == 2, "snapshot phase: the store has two snapshots", objs)
    # The new names, from the man page alone: a record's is the HMAC of its JSON under the
    # new key's ADDR subkey; a snapshot's id the SHA-256 of its index with those names.
    addr2 = man_addr_key(raw2)
    renamed = {}
    for k in objs:
        if k.startswith("releases/"):
            js = gzip.decompress(man_decrypt(raw1, k, open(os.path.join(base, k), "rb").read()))
            renamed[k.rsplit(".", 3)[1]] = hmac.new(addr2, js, hashlib.sha256).hexdigest()

    def new_name(snap):
        text = man_decrypt(raw1, snap, open(os.path.join(base, snap), "rb").read()).decode()
        for a, b in renamed.items():
            text = text.replace(a, b)
        return snap.rsplit("-", 1)[0] + "-" + hashlib.sha256(text.encode()).hexdigest()[:12] + ".json"
    first_new, newest_new = new_name(snaps[0]), new_name(snaps[1])
    killed = os.path.join(work, "snapphase-killed")
    shutil.copytree(base, killed)
    os.makedirs(os.path.join(killed, newest_new, "x"))
    p = subprocess.run([RM_BIN, "rekey", "local", "--path", killed, "--fsync", "false", "--plugin-dir", LOCAL_DIR,
                        "--encrypt-key-file", key, "--new-key-file", key2], capture_output=True, text=True, env=rm.env)
    check(p.returncode == 1 and os.path.basename(newest_new) in p.stderr and "nothing committed" in p.stderr,
          "a rekey whose second snapshot put fails stops before its commit", show(p))
    shutil.rmtree(os.path.join(killed, newest_new))
    left = sealed_with(killed, raw2)
    check(first_new in left and len([k for k in left if k.startswith("releases/")]) == len(renamed),
          "the stopped rekey left its first new-key snapshot and its records", left)
    check(json.loads(open(os.path.join(killed, "encryption.json")).read()).get("rekeyTo") == man_key_id(raw2),
          "the marker still names the rekey's key as rekeyTo")

    def copy(name):
        d = os.path.join(work, name)
        shutil.copytree(killed, d)
        return d, Run(rm.kc, ["local", "--path", d, "--fsync", "false", "--plugin-dir", LOCAL_DIR], rm.env,
                      [key, key2, key3])
    # Read-only verbs with the old key: the leftover is skipped, noted.
    d, r = copy("snapphase-read")
    p = r("list", "--snapshots", key=key)
    ids = [k.rsplit("-", 1)[1][:12] for k in snaps]
    check(p.returncode == 0 and all(i in p.stdout for i in ids) and first_new.rsplit("-", 1)[1][:12] not in p.stdout,
          "list --snapshots with the old key works, the leftover not listed", show(p))
    check("left over by a rekey" in p.stderr, "list --snapshots notes the leftover", show(p))
    p = r("verify", key=key)
    check(p.returncode == 0, "verify with the old key after a rekey stopped in its snapshot phase", show(p))
    p = r("list", key=key)
    check(p.returncode == 0 and "web" in p.stdout, "list with the old key", show(p))
    # An export writes a new snapshot and removes the leftovers.
    d, r = copy("snapphase-export")
    p = r("export", key=key, cluster=True)
    check(p.returncode == 0, "export with the old key after a rekey stopped in its snapshot phase", show(p))
    now = tree(d)
    check(len([k for k in now if k.startswith("snapshots/")]) == 3 and first_new not in now,
          "the export wrote a new snapshot and deleted the leftover", now)
    check(sealed_with(d, raw2) == [], "no object of the stopped rekey's key after the export", sealed_with(d, raw2))
    p = r("list", "--snapshots", key=key)
    check(p.returncode == 0, "list --snapshots after that export", show(p))
    # prune removes them too.
    d, r = copy("snapphase-prune")
    p = r("prune", key=key)
    check(p.returncode == 0, "prune with the old key after a rekey stopped in its snapshot phase", show(p))
    now = tree(d)
    check(sealed_with(d, raw2) == [] and set(snaps) <= set(now), "prune deleted the leftovers and kept the snapshots",
          now)
    p = r("verify", key=key)
    check(p.returncode == 0, "verify after that prune", show(p))
    # rekey again to the same key: completes.
    d, r = copy("snapphase-same")
    p = r("rekey", "--new-key-file", key2, key=key)
    check(p.returncode == 0 and "rekeyed" in p.stdout, "rekey again to the same key completes", show(p))
    now = tree(d)
    check(sealed_with(d, raw1) == [] and len([k for k in now if k.startswith("snapshots/")]) == 2
          and first_new in now and newest_new in now,
          "every object is sealed with the new key, both snapshots under their new names", now)
    p = r("verify", key=key2)
    check(p.returncode == 0, "verify with the new key after the second rekey", show(p))
    p = r("list", "--snapshots", key=key2)
    check(p.returncode == 0, "list --snapshots with the new key after the second rekey", show(p))
    # rekey to another key: completes, nothing of the abandoned key stays.
    d, r = copy("snapphase-other")
    p = r("rekey", "--new-key-file", key3, key=key)
    check(p.returncode == 0 and "rekeyed" in p.stdout and "unfinished rekey" in p.stdout,
          "rekey to another key after the stopped one completes", show(p))
    check(sealed_with(d, raw2) == [] and sealed_with(d, raw1) == [],
          "no object of the abandoned key (nor of the old one) stays", tree(d))
    check(len([k for k in tree(d) if k.startswith("snapshots/")]) == 2, "both snapshots rekeyed", tree(d))
    for verb in ("verify", "list"):
        p = r(verb, key=key3)
        check(p.returncode == 0, "%s with the third key" % verb, show(p))
    rekey_sigkill_suite(rm, work, base, key, key2, raw1, raw2)
    rekey_commit_kill_suite(rm, work, base, key, key2, raw1, raw2)


def kill_rekey_at(rm, work, base, key, key2, name, what, want, limit):
    """A copy of the store base under work/NAME-N, and `rekey` from key to key2 through the
    faulty test plugin that blocks the Nth put for good (logging "injected" first), N tried
    from 1 up to limit until want(blocked key, store dir) says the blocked put is the one
    wanted; the rekey is then killed (SIGKILL) there.  Returns the store's directory, or
    None (checked as failed, or skipped without the faulty plugin)."""
    faulty = os.path.join(BUILDDIR, "tests", "plugins", ".libs")
    if not os.path.exists(os.path.join(faulty, "faulty.so")):
        print("# faulty test plugin not built: %s skipped" % what)
        return None
    local_so = os.path.join(LOCAL_DIR, "local.so")
    for n in range(1, limit):
        # faulty keeps the store under --path in its inner store.
        inner = os.path.join(work, "%s-%d" % (name, n))
        d = os.path.join(inner, "s")
        shutil.copytree(base, d)
        argv = [RM_BIN, "rekey", "--backend", "faulty", "--path", "s", "--plugin-dir", faulty,
                "--backend-opt", "inner=" + local_so, "--backend-opt", "inner_options=path=" + inner + ",fsync=false",
                "--backend-opt", "fail=put:%d:hang" % n,
                "--encrypt-key-file", key, "--new-key-file", key2]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rm.env)
        blocked = None
        for line in proc.stderr:
            if "faulty: injected" in line:
                blocked = line.split("into put #%d s/" % n, 1)[-1].strip()
                break
        # Blocked for good (or finished, when n passed its last put): killed either way.
        proc.kill()
        proc.communicate()
        if blocked is None:
            break
        if want(blocked, d):
            check(True, "a rekey was killed (SIGKILL) %s" % what)
            return d
        shutil.rmtree(inner)
    check(False, "a rekey was killed (SIGKILL) %s" % what)
    return None


def rekey_sigkill_suite(rm, work, base, key, key2, raw1, raw2):
    """A real SIGKILL of rekey while it writes its snapshots: the faulty test plugin
    blocks the Nth put for good (logged first), N tried from 1 until the put blocked is
    a snapshot's and one new-key snapshot is already written; then the process is killed
    and the old key still reads the store, an export works, and rekey completes."""
    d = kill_rekey_at(rm, work, base, key, key2, "sigkill", "while writing its second snapshot",
                      lambda blocked, d: blocked.startswith("snapshots/") and any(
                          k.startswith("snapshots/") for k in sealed_with(d, raw2)), 30)
    if d is None:
        return
    r = Run(rm.kc, ["local", "--path", d, "--fsync", "false", "--plugin-dir", LOCAL_DIR], rm.env, [key, key2])
    for verb in (("list", "--snapshots"), ("verify",), ("list",)):
        p = r(*verb, key=key)
        check(p.returncode == 0, "after a SIGKILLed rekey, %s with the old key" % " ".join(verb), show(p))
    p = r("rekey", "--new-key-file", key2, key=key)
    check(p.returncode == 0 and "rekeyed" in p.stdout, "after a SIGKILLed rekey, rekey again completes", show(p))
    check(sealed_with(d, raw1) == [], "every object sealed with the new key", tree(d))
    p = r("verify", key=key2)
    check(p.returncode == 0, "verify with the new key", show(p))


def rekey_commit_kill_suite(rm, work, base, key, key2, raw1, raw2):
    """A real SIGKILL of rekey between its commit's two writes: the faulty plugin blocks
    the Nth put for good, N tried from 1 until the put blocked is encryption.json after
    index.json was written sealed with the new key.  Then the new key reads but does not
    write, the old key is refused, both saying to run the rekey again, which finishes it."""
    d = kill_rekey_at(rm, work, base, key, key2, "commitkill",
                      "between writing index.json and encryption.json",
                      lambda blocked, d: blocked == "encryption.json"
                      and "index.json" in sealed_with(d, raw2), 60)
    if d is None:
        return
    marker = json.loads(open(os.path.join(d, "encryption.json")).read())
    id1, id2 = man_key_id(raw1), man_key_id(raw2)
    check(marker.get("keyId") == id1 and marker.get("rekeyTo") == id2,
          "the killed rekey's marker names the old key, rekeyTo the new one", marker)
    before = tree(d)
    r = Run(rm.kc, ["local", "--path", d, "--fsync", "false", "--plugin-dir", LOCAL_DIR], rm.env, [key, key2])
    advice = "rekey --encrypt-key-file OLD --new-key-file NEW"
    for verb in (("list",), ("list", "--snapshots"), ("verify",)):
        p = r(*verb, key=key2)
        check(p.returncode == 0, "in the commit window, %s with the new key works" % " ".join(verb), show(p))
    p = r("list", key=key2)
    check("web" in p.stdout, "in the commit window, list with the new key lists the release", show(p))
    p = r("diff", key=key2, cluster=True)
    check(p.returncode in (0, 1) and "releases changed" in p.stdout, "in the commit window, diff with the new key works", show(p))
    p = r("import", "--dry-run", key=key2, cluster=True)
    check(p.returncode == 0, "in the commit window, import --dry-run with the new key works", show(p))
    for verb in (("export",), ("prune",), ("clear",)):
        p = r(*verb, key=key2, cluster=verb[0] == "export")
        check(p.returncode == 1 and advice in p.stderr and id1 in p.stderr and id2 in p.stderr,
              "in the commit window, %s with the new key refuses, saying to run the rekey again" % verb[0],
              show(p))
    check(tree(d) == before, "in the commit window, the refused writes wrote nothing", (before, tree(d)))
    p = r("list", key=key)
    check(p.returncode == 1 and advice in p.stderr and "index.json" in p.stderr and id1 in p.stderr
          and id2 in p.stderr, "in the commit window, list with the old key fails naming index.json, both key "
          "ids and the advice", show(p))
    p = r("rekey", "--new-key-file", key2, key=key)
    check(p.returncode == 0 and "finished the rekey" in p.stdout, "rekey OLD->NEW again finishes the rekey", show(p))
    marker = json.loads(open(os.path.join(d, "encryption.json")).read())
    check(marker.get("keyId") == id2 and "rekeyTo" not in marker, "the marker names the new key", marker)
    check(sealed_with(d, raw1) == [], "no object sealed with the old key stays", tree(d))
    for verb in (("list",), ("verify",), ("list", "--snapshots")):
        p = r(*verb, key=key2)
        check(p.returncode == 0, "after finishing, %s with the new key" % " ".join(verb), show(p))
    p = r("export", key=key2, cluster=True)
    check(p.returncode == 0, "after finishing, export with the new key", show(p))
    p = r("list", key=key)
    check(p.returncode == 1 and "wrong --encrypt-key-file" in p.stderr,
          "after finishing, the old key is refused as for any completed rekey", show(p))


def main():
    try:
        tools = fku.find_tools()
    except fku.ToolsUnavailable as e:
        print("SKIP: %s" % e)
        sys.exit(77)
    try:
        import cryptography  # noqa: F401
    except ImportError:
        print("SKIP: Python's cryptography is not installed")
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="rm-encrypt-")
    raw_key = os.urandom(32)
    key = os.path.join(work, "key")
    with open(key, "w") as f:
        f.write(base64.b64encode(raw_key).decode() + "\n")
    os.chmod(key, 0o600)
    key2 = os.path.join(work, "key2")
    with open(key2, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key2, 0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELEASEMANAGER_", "AWS_"))}
    env["HOME"] = work
    with fku.FakeKube(tools=tools) as fk, fku.FakeKube(tools=tools) as fk2:
        fk.helm3("install", "web", os.path.join(CHARTS, "plain"), "-n", "default",
                 "--set", "secretValue=" + SECRET_VALUE)
        fk.helm3("upgrade", "web", os.path.join(CHARTS, "plain"), "-n", "default",
                 "--set", "secretValue=" + SECRET_VALUE, "--set", "replicaCount=2")
        kc = fk.env()["KUBECONFIG"]

        # ---- local ----
        store = os.path.join(work, "store")
        rm = Run(kc, ["local", "--path", store, "--fsync", "false", "--plugin-dir", LOCAL_DIR], env, [key, key2])

        def lput(k, data):
            with open(os.path.join(store, k), "wb") as f:
                f.write(data)

        def lget(k):
            return open(os.path.join(store, k), "rb").read()

        def llist():
            return sorted(os.path.relpath(os.path.join(d, f), store) for d, _, fs in os.walk(store) for f in fs)

        # The key file: bad contents are refused naming the file, never quoting it.
        bad = os.path.join(work, "badkey")
        with open(bad, "w") as f:
            f.write("not-a-key-but-a-password\n")
        p = rm("list", key=bad)
        check(p.returncode == 2 and bad in p.stderr and "not-a-key" not in p.stderr and "32 bytes" in p.stderr,
              "a key file that is not a key is refused naming the file", show(p))
        p = rm("list", key=os.path.join(work, "missing"))
        check(p.returncode == 2 and "missing" in p.stderr, "a missing key file is refused", show(p))
        p = rm("export", cluster=True, extra_env={"RELEASEMANAGER_ENCRYPT_KEY_FILE": key})
        check(p.returncode == 0, "RELEASEMANAGER_ENCRYPT_KEY_FILE gives the key", show(p))
        shutil.rmtree(store)

        recs = store_suite("local", rm, lput, lget, lambda k: os.unlink(os.path.join(store, k)), llist, fk, key, key2, raw_key)
        import_suite("local", rm, lput, lget, fk2, key, key2, recs[-1])

        rekey_suite(rm, store, work, key, key2, fk2)

        # Never mixed: a plain export into the encrypted store is refused, and an encrypted
        # one into a plain store.
        plain = os.path.join(work, "plain")
        rmp = Run(kc, ["local", "--path", plain, "--fsync", "false", "--plugin-dir", LOCAL_DIR], env, [key, key2])
        p = rmp("export", cluster=True)
        check(p.returncode == 0, "plain export", show(p))
        p = rmp("export", key=key, cluster=True)
        check(p.returncode != 0 and "not encrypted" in p.stderr, "encrypted export into a plain store is refused",
              show(p))
        check(not os.path.exists(os.path.join(plain, "encryption.json")), "the plain store got no marker")
        # Equal records, other keys: unrelated names (and neither is the plain SHA-256 one).
        other = os.path.join(work, "other")
        rmo = Run(kc, ["local", "--path", other, "--fsync", "false", "--plugin-dir", LOCAL_DIR], env, [key, key2])
        p = rmo("export", key=key2, cluster=True)
        check(p.returncode == 0, "encrypted export with another key", show(p))

        def names(d):
            return sorted(os.path.relpath(os.path.join(x, f), d) for x, _, fs in os.walk(os.path.join(d, "releases"))
                          for f in fs)
        a, b, c = names(store), names(other), names(plain)
        check(len(a) == len(b) == len(c) == 2 and not set(a) & set(b) and not set(a) & set(c) and not set(b) & set(c),
              "the same records under two keys and in plain have unrelated names", (a, b, c))

        # ---- s3 (moto) ----
        if not os.path.exists(os.path.join(S3_DIR, "s3.so")):
            print("# s3 plugin not built: s3 part skipped")
        else:
            try:
                moto = s3env.Moto(work)
            except SystemExit:
                moto = None
                print("# moto missing: s3 part skipped")
            if moto:
                try:
                    s3 = moto.client()
                    s3.create_bucket(Bucket="rm-enc")
                    prefix = "enc"
                    env3 = dict(env, RELEASEMANAGER_S3_SECRET_ACCESS_KEY=moto.sk)
                    rm3 = Run(kc, ["s3", "--plugin-dir", S3_DIR, "--path", prefix, "--endpoint", moto.endpoint,
                                   "--bucket", "rm-enc", "--accessKeyID", moto.ak], env3, [key, key2])

                    def sput(k, data):
                        s3.put_object(Bucket="rm-enc", Key=prefix + "/" + k, Body=data)

                    def sget(k):
                        return s3.get_object(Bucket="rm-enc", Key=prefix + "/" + k)["Body"].read()

                    def slist():
                        out = []
                        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="rm-enc", Prefix=prefix + "/"):
                            out += [o["Key"][len(prefix) + 1:] for o in page.get("Contents", [])]
                        return sorted(out)
                    fk2.helm3("uninstall", "web", "-n", "default")
                    recs = store_suite("s3", rm3, sput, sget, lambda k: s3.delete_object(Bucket="rm-enc", Key=prefix + "/" + k), slist, fk, key, key2, raw_key)
                    import_suite("s3", rm3, sput, sget, fk2, key, key2, recs[-1])
                finally:
                    moto.stop()
        # After the s3 part, which expects the cluster's two records.
        key3 = os.path.join(work, "key3")
        with open(key3, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key3, 0o600)
        rekey_snapshot_phase_suite(rm, fk, work, raw_key, key, key2, key3)
    shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d failure(s): %s" % (len(failures), "; ".join(failures)))
        sys.exit(1)


if __name__ == "__main__":
    main()
