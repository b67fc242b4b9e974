"""Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf).

client-go's typed clientsets send protobuf for built-in kinds: Helm's release storage writes
Secrets / ConfigMaps that way, and typed deletes send DeleteOptions.  This decodes the
kinds that reach a fake server in practice into their JSON form; responses are always JSON
(clients accept it).  Kinds without a schema here get 415 Unsupported Media Type."""

import base64
import time

from .errors import ApiError

MAGIC = b"k8s\x00"

# Schemas: {field number: (json name, type, repeated)}; type is a scalar name, a schema
# dict, or ("map", key type, value type).
TIME = {1: ("seconds", "int64", False), 2: ("nanos", "int32", False)}
TYPEMETA = {1: ("apiVersion", "string", False), 2: ("kind", "string", False)}
OWNERREF = {1: ("kind", "string", False), 3: ("name", "string", False), 4: ("uid", "string", False),
            5: ("apiVersion", "string", False), 6: ("controller", "bool", False),
            7: ("blockOwnerDeletion", "bool", False)}
FIELDSV1 = {1: ("Raw", "bytes", False)}
MANAGED = {1: ("manager", "string", False), 2: ("operation", "string", False),
           3: ("apiVersion", "string", False), 4: ("time", TIME, False),
           6: ("fieldsType", "string", False), 7: ("fieldsV1", FIELDSV1, False),
           8: ("subresource", "string", False)}
OBJECTMETA = {1: ("name", "string", False), 2: ("generateName", "string", False),
              3: ("namespace", "string", False), 4: ("selfLink", "string", False),
              5: ("uid", "string", False), 6: ("resourceVersion", "string", False),
              7: ("generation", "int64", False), 8: ("creationTimestamp", TIME, False),
              9: ("deletionTimestamp", TIME, False),
              10: ("deletionGracePeriodSeconds", "int64", False),
              11: ("labels", ("map", "string", "string"), False),
              12: ("annotations", ("map", "string", "string"), False),
              13: ("ownerReferences", OWNERREF, True), 14: ("finalizers", "string", True),
              17: ("managedFields", MANAGED, True)}
SECRET = {1: ("metadata", OBJECTMETA, False), 2: ("data", ("map", "string", "bytes"), False),
          3: ("type", "string", False), 4: ("stringData", ("map", "string", "string"), False),
          5: ("immutable", "bool", False)}
CONFIGMAP = {1: ("metadata", OBJECTMETA, False), 2: ("data", ("map", "string", "string"), False),
             3: ("binaryData", ("map", "string", "bytes"), False), 4: ("immutable", "bool", False)}
NSCOND = {1: ("type", "string", False), 2: ("status", "string", False),
          4: ("lastTransitionTime", TIME, False), 5: ("reason", "string", False),
          6: ("message", "string", False)}
NAMESPACE = {1: ("metadata", OBJECTMETA, False),
             2: ("spec", {1: ("finalizers", "string", True)}, False),
             3: ("status", {1: ("phase", "string", False), 2: ("conditions", NSCOND, True)}, False)}
OBJREF = {1: ("kind", "string", False), 2: ("namespace", "string", False),
          3: ("name", "string", False), 4: ("uid", "string", False),
          5: ("apiVersion", "string", False), 6: ("resourceVersion", "string", False),
          7: ("fieldPath", "string", False)}
SERVICEACCOUNT = {1: ("metadata", OBJECTMETA, False), 2: ("secrets", OBJREF, True),
                  3: ("imagePullSecrets", {1: ("name", "string", False)}, True),
                  4: ("automountServiceAccountToken", "bool", False)}
PRECOND = {1: ("uid", "string", False), 2: ("resourceVersion", "string", False)}
DELETEOPTIONS = {1: ("gracePeriodSeconds", "int64", False), 2: ("preconditions", PRECOND, False),
                 3: ("orphanDependents", "bool", False), 4: ("propagationPolicy", "string", False),
                 5: ("dryRun", "string", True),
                 6: ("ignoreStoreReadErrorWithClusterBreakingPotential", "bool", False)}

KINDS = {"Secret": SECRET, "ConfigMap": CONFIGMAP, "Namespace": NAMESPACE,
         "ServiceAccount": SERVICEACCOUNT, "DeleteOptions": DELETEOPTIONS}


def _varint(b, i):
    shift = n = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        if not c & 0x80:
            return n, i
        shift += 7


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, wt, v


def _scalar(t, v):
    if t == "string":
        return bytes(v).decode("utf-8")
    if t == "bytes":
        return base64.b64encode(bytes(v)).decode()
    if t == "bool":
        return bool(v)
    if t in ("int64", "int32"):
        return v - (1 << 64) if v >= (1 << 63) else v
    raise ValueError(t)


def _time(d):
    secs = d.get("seconds", 0)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))


def decode_message(b, schema):
    out = {}
    for num, wt, v in _fields(b):
        f = schema.get(num)
        if f is None:
            continue
        name, t, rep = f
        if isinstance(t, tuple):                       # map entry
            k = val = None
            for n2, _, v2 in _fields(v):
                if n2 == 1:
                    k = _scalar(t[1], v2)
                elif n2 == 2:
                    val = _scalar(t[2], v2)
            out.setdefault(name, {})[k if k is not None else ""] = val if val is not None else (
                "" if t[2] in ("string", "bytes") else None)
            continue
        if isinstance(t, dict):
            val = decode_message(v, t)
            if t is TIME:
                val = _time(val)
            elif t is FIELDSV1:
                import json
                val = json.loads(base64.b64decode(val.get("Raw", "")) or b"{}")
        else:
            val = _scalar(t, v)
        if rep:
            out.setdefault(name, []).append(val)
        else:
            out[name] = val
    return out


def decode(body, expect_kind=None):
    """Decode an enveloped protobuf object to a JSON-shaped dict."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "provided data does not appear to be a protobuf message, expected "
                       "prefix [107 56 115 0]", "BadRequest")
    env = {}
    for num, wt, v in _fields(memoryview(body)[4:]):
        if num == 1:
            env["typeMeta"] = decode_message(v, TYPEMETA)
        elif num == 2:
            env["raw"] = bytes(v)
    tm = env.get("typeMeta", {})
    kind = tm.get("kind") or expect_kind
    schema = KINDS.get(kind)
    if schema is None:
        raise ApiError(415, "the body of the request was in an unknown format - fakekube decodes "
                       "protobuf only for %s; accepted media types include: application/json, "
                       "application/yaml" % ", ".join(sorted(KINDS)), "UnsupportedMediaType")
    obj = decode_message(env.get("raw", b""), schema)
    if kind != "DeleteOptions":
        obj = dict({"kind": kind, "apiVersion": tm.get("apiVersion") or "v1"}, **obj)
    return obj
