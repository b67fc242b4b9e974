"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch
(merge keys from a table of the built-in types, with the $patch / $setElementOrder /
$deleteFromPrimitiveList / $retainKeys directives) and server-side apply (simplified)."""

import copy

from .errors import ApiError

# Strategic merge: list field name -> merge key (patchStrategy=merge in the Go types).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "ownerReferences": "uid",
    "conditions": "type",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "secrets": "name",
    "addresses": "type",
}
# Lists of scalars merged as sets.
MERGE_PRIMITIVE = {"finalizers"}


def _merge_key(field, items):
    if field == "ports":
        for it in items:
            if isinstance(it, dict):
                return "containerPort" if "containerPort" in it else "port"
        return "port"
    return MERGE_KEYS.get(field)


def _unprocessable(msg):
    return ApiError(422, msg, "Invalid")


# ---- JSON merge patch ------------------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    else:
        target = dict(target)
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict):
            target[k] = merge_patch(target.get(k), v)
        else:
            target[k] = copy.deepcopy(v)
    return target


# ---- JSON patch --------------------------------------------------------------------------------

def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise _unprocessable('JSON pointer "%s" must start with "/"' % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts, op, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise _unprocessable("%s operation does not apply: doc is missing path: %s: missing value"
                                 % (op, path))
    return cur


def _get(doc, path, op):
    parts = _ptr(path)
    if not parts:
        return doc
    parent = _walk(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _unprocessable("%s operation does not apply: doc is missing path: %s: missing value"
                         % (op, path))


def _add(doc, path, value, op="add"):
    parts = _ptr(path)
    if not parts:
        return value
    parent = _walk(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _unprocessable("add operation does not apply: doc is missing path: %s: missing value"
                                 % path)
    else:
        raise _unprocessable("%s operation does not apply: doc is missing path: %s" % (op, path))
    return doc


def _remove(doc, path, op="remove"):
    parts = _ptr(path)
    parent = _walk(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise _unprocessable("%s operation does not apply: doc is missing path: %s: missing value"
                         % (op, path))


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise ApiError(400, "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
                       "BadRequest")
    doc = copy.deepcopy(doc)
    for o in ops:
        if not isinstance(o, dict):
            raise ApiError(400, "invalid JSON patch operation", "BadRequest")
        op = o.get("op")
        path = o.get("path", "")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(o.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            _get(doc, path, "replace")
            if _ptr(path):
                _remove(doc, path, "replace")
            doc = _add(doc, path, copy.deepcopy(o.get("value")), "replace")
        elif op == "move":
            v = _remove(doc, o.get("from", ""), "move")
            doc = _add(doc, path, v, "move")
        elif op == "copy":
            v = copy.deepcopy(_get(doc, o.get("from", ""), "copy"))
            doc = _add(doc, path, v, "copy")
        elif op == "test":
            try:
                v = _get(doc, path, "test")
            except ApiError:
                v = None
            if v != o.get("value"):
                raise _unprocessable("testing value %s failed: test failed" % path)
        else:
            raise _unprocessable("Unexpected kind: %s" % op)
    return doc


# ---- strategic merge patch ---------------------------------------------------------------------

def strategic_merge(orig, patch, field=None):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = dict(orig) if isinstance(orig, dict) else {}
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for k in list(result):
            if k not in retain:
                del result[k]
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(result.get(f), list) and isinstance(v, list):
                result[f] = [x for x in result[f] if x not in v]
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            merged = strategic_merge(result.get(k), v, k)
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(v, list):
            result[k] = _merge_list(result.get(k), v, k)
        else:
            result[k] = v
    for f, order in orders.items():
        if isinstance(result.get(f), list) and isinstance(order, list):
            result[f] = _apply_order(result[f], order, f)
    return result


def _merge_list(orig, patch, field):
    orig = orig if isinstance(orig, list) else []
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and "$patch" in x)]
    if field in MERGE_PRIMITIVE:
        out = list(orig)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    key = _merge_key(field, patch + orig)
    if not key or not all(isinstance(x, dict) for x in patch):
        return [copy.deepcopy(x) for x in patch]
    out = [copy.deepcopy(x) for x in orig]
    for item in patch:
        kv = item.get(key)
        idx = next((i for i, x in enumerate(out) if isinstance(x, dict) and x.get(key) == kv), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strategic_merge({}, item, field))
        else:
            out[idx] = strategic_merge(out[idx], item, field)
    return out


def _apply_order(items, order, field):
    key = _merge_key(field, items)
    def ident(x):
        return x.get(key) if (key and isinstance(x, dict)) else x
    def oident(x):
        return x.get(key) if (key and isinstance(x, dict)) else x
    pos = {oident(o): i for i, o in enumerate(order)}
    ordered = sorted(((pos.get(ident(x), len(pos) + n), x) for n, x in enumerate(items)),
                     key=lambda t: t[0])
    return [x for _, x in ordered]


# ---- server-side apply (simplified) -------------------------------------------------------------

def _keyed(items):
    """Merge key for an applied list, or None when the list is atomic."""
    if items and all(isinstance(x, dict) for x in items):
        for k in ("name", "containerPort", "port", "mountPath", "uid", "type", "ip", "devicePath"):
            if all(k in x for x in items):
                return k
    return None


def apply_merge(live, cfg, old):
    """Merge an applied configuration into the live object.  Fields the same manager applied
    before (old) but no longer does are removed; lists of maps with a merge key are merged by
    key, other lists are atomic.  Ownership conflicts between managers are not detected."""
    if not isinstance(cfg, dict) or not isinstance(live, dict):
        return copy.deepcopy(cfg)
    old = old if isinstance(old, dict) else {}
    out = dict(live)
    for k in old:
        if k not in cfg:
            out.pop(k, None)
    for k, v in cfg.items():
        lv = out.get(k)
        ov = old.get(k)
        if isinstance(v, dict) and isinstance(lv, dict):
            out[k] = apply_merge(lv, v, ov)
        elif isinstance(v, list) and isinstance(lv, list) and _keyed(v) and _keyed(v) == _keyed(lv):
            key = _keyed(v)
            olist = ov if isinstance(ov, list) else []
            wanted = {x[key] for x in v}
            dropped = {x.get(key) for x in olist if isinstance(x, dict)} - wanted
            res = [x for x in lv if not (isinstance(x, dict) and x.get(key) in dropped)]
            for item in v:
                idx = next((i for i, x in enumerate(res)
                            if isinstance(x, dict) and x.get(key) == item[key]), None)
                oitem = next((x for x in olist if isinstance(x, dict) and x.get(key) == item[key]), None)
                if idx is None:
                    res.append(copy.deepcopy(item))
                else:
                    res[idx] = apply_merge(res[idx], item, oitem)
            out[k] = res
        else:
            out[k] = copy.deepcopy(v)
    return out


# ---- managed fields ----------------------------------------------------------------------------

# map-typed (not struct) fields: structured-merge-diff lists the map itself (".") too
MAP_FIELDS = {"data", "binaryData", "stringData"}


def fieldset(obj, top=True):
    """A FieldsV1 set describing the fields of obj (approximation of structured-merge-diff)."""
    import json
    out = {}
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        if top and k in ("apiVersion", "kind", "status"):
            continue
        if top and k == "metadata":
            m = {}
            for mk in ("labels", "annotations"):
                if isinstance(v.get(mk), dict) and v[mk]:
                    sub = {".": {}}
                    sub.update({"f:" + lk: {} for lk in v[mk]})
                    m["f:" + mk] = sub
            if v.get("finalizers"):
                m["f:finalizers"] = {".": {}, **{"v:" + json.dumps(f): {} for f in v["finalizers"]}}
            if v.get("ownerReferences"):
                m["f:ownerReferences"] = {".": {}, **{
                    "k:" + json.dumps({"uid": o.get("uid")}, separators=(",", ":")): {}
                    for o in v["ownerReferences"] if isinstance(o, dict)}}
            if m:
                out["f:metadata"] = m
            continue
        if isinstance(v, dict) and v:
            sub = {".": {}} if (not top or k in MAP_FIELDS) else {}
            sub.update(fieldset(v, False))
            out["f:" + k] = sub
        elif isinstance(v, list) and v and _keyed(v) == "name":
            sub = {".": {}}
            for item in v:
                ik = "k:" + json.dumps({"name": item["name"]}, separators=(",", ":"))
                isub = {".": {}}
                isub.update(fieldset(item, False))
                sub[ik] = isub
            out["f:" + k] = sub
        else:
            out["f:" + k] = {}
    return out
