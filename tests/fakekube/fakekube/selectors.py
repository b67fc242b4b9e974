"""Label selectors (k8s.io/apimachinery/pkg/labels) and field selectors."""

import re

from .errors import bad_request

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class LabelSelector:
    """A parsed selector: list of (key, op, values).  ops: =, !=, in, notin, exists, !, gt, lt."""

    def __init__(self, reqs):
        self.reqs = reqs

    def empty(self):
        return not self.reqs

    def matches(self, labels):
        labels = labels or {}
        for key, op, vals in self.reqs:
            has = key in labels
            v = labels.get(key)
            if op == "=" or op == "in":
                if not has or v not in vals:
                    return False
            elif op == "!=" or op == "notin":
                if has and v in vals:
                    return False
            elif op == "exists":
                if not has:
                    return False
            elif op == "!":
                if has:
                    return False
            elif op in ("gt", "lt"):
                if not has:
                    return False
                try:
                    n = int(v)
                except ValueError:
                    return False
                if op == "gt" and not n > vals[0]:
                    return False
                if op == "lt" and not n < vals[0]:
                    return False
        return True


_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)")


def parse_label_selector(s):
    if s is None:
        return LabelSelector([])
    toks = []
    pos = 0
    s = s.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            raise bad_request("unable to parse requirement: found '%s', expected: identifier" % s[pos:])
        toks.append(m.group(1))
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    reqs = []
    i = 0

    def err(msg):
        return bad_request("unable to parse requirement: " + msg)

    def check_key(k):
        if not _KEY.match(k) or len(k.split("/")[-1]) > 63:
            raise err('<nil>: Invalid value: "%s": name part must consist of alphanumeric '
                      "characters, '-', '_' or '.', and must start and end with an "
                      "alphanumeric character" % k)

    def check_val(v):
        if len(v) > 63 or not _VALUE.match(v):
            raise err('values[0][%s]: Invalid value: "%s": a valid label must be an empty string '
                      "or consist of alphanumeric characters, '-', '_' or '.', and must start "
                      "and end with an alphanumeric character" % ("", v))

    while i < len(toks):
        t = toks[i]
        if t == "!":
            i += 1
            if i >= len(toks):
                raise err("found '', expected: identifier")
            check_key(toks[i])
            reqs.append((toks[i], "!", ()))
            i += 1
        else:
            key = t
            check_key(key)
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append((key, "exists", ()))
            else:
                op = toks[i]
                i += 1
                if op in ("=", "==", "!="):
                    if i >= len(toks) or toks[i] == ",":
                        val = ""
                    else:
                        val = toks[i]
                        i += 1
                    check_val(val)
                    reqs.append((key, "!=" if op == "!=" else "=", (val,)))
                elif op in ("in", "notin"):
                    if i >= len(toks) or toks[i] != "(":
                        raise err("found '%s', expected: '('" % (toks[i] if i < len(toks) else ""))
                    i += 1
                    vals = []
                    while i < len(toks) and toks[i] != ")":
                        if toks[i] == ",":
                            i += 1
                            continue
                        check_val(toks[i])
                        vals.append(toks[i])
                        i += 1
                    if i >= len(toks):
                        raise err("found '', expected: ')'")
                    i += 1
                    reqs.append((key, op, tuple(vals)))
                elif op in (">", "<"):
                    if i >= len(toks):
                        raise err("found '', expected: integer")
                    try:
                        n = int(toks[i])
                    except ValueError:
                        raise err("for 'Gt', 'Lt' operators, the value must be an integer")
                    i += 1
                    reqs.append((key, "gt" if op == ">" else "lt", (n,)))
                else:
                    raise err("found '%s', expected: in, notin, =, ==, !=, gt, lt" % op)
        if i < len(toks):
            if toks[i] != ",":
                raise err("found '%s', expected: ',' or 'end of string'" % toks[i])
            i += 1
    return LabelSelector(reqs)


def selector_from_match(sel):
    """LabelSelector from a metav1.LabelSelector object (matchLabels/matchExpressions)."""
    reqs = []
    if not sel:
        return LabelSelector([])
    for k, v in (sel.get("matchLabels") or {}).items():
        reqs.append((k, "=", (v,)))
    for e in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(e.get("operator"))
        if op:
            reqs.append((e.get("key"), op, tuple(e.get("values") or ())))
    return LabelSelector(reqs)


# Field selectors ----------------------------------------------------------------------------

# Fields besides metadata.name / metadata.namespace that kube-apiserver supports, by resource.
EXTRA_FIELDS = {
    ("", "secrets"): ["type"],
    ("", "pods"): ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                   "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                   "status.nominatedNodeName"],
    ("", "events"): ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                     "involvedObject.uid", "involvedObject.apiVersion",
                     "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                     "reportingComponent", "source", "type"],
    ("", "namespaces"): ["status.phase"],
    ("", "nodes"): ["spec.unschedulable"],
    ("", "replicationcontrollers"): ["status.replicas"],
    ("apps", "replicasets"): ["status.replicas"],
    ("batch", "jobs"): ["status.successful"],
    ("", "persistentvolumeclaims"): [],
    ("", "services"): ["spec.clusterIP", "spec.type"],
}


def field_values(skey, obj):
    """The selectable fields (other than name/namespace) of an object, as strings."""
    names = EXTRA_FIELDS.get(skey)
    if not names:
        return None
    out = {}
    for f in names:
        cur = obj
        for part in f.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if f == "status.successful":
            cur = (obj.get("status") or {}).get("succeeded")
        if isinstance(cur, bool):
            cur = "true" if cur else "false"
        out[f] = "" if cur is None else str(cur)
    return out


class FieldSelector:
    def __init__(self, reqs):
        self.reqs = reqs  # (field, op, value)

    def empty(self):
        return not self.reqs

    def name_eq(self):
        for f, op, v in self.reqs:
            if f == "metadata.name" and op == "=":
                return v
        return None

    def matches(self, ns, name, fields):
        for f, op, v in self.reqs:
            if f == "metadata.name":
                got = name
            elif f == "metadata.namespace":
                got = ns
            else:
                got = (fields or {}).get(f, "")
            if (got == v) != (op == "="):
                return False
        return True


def _unescape(v):
    return v.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\")


def parse_field_selector(s, skey, kind):
    if not s:
        return FieldSelector([])
    reqs = []
    allowed = set(["metadata.name", "metadata.namespace"] + (EXTRA_FIELDS.get(skey) or []))
    for part in re.split(r"(?<!\\),", s):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^!=]+)(==|!=|=)(.*)$", part)
        if not m:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (s, part))
        field, op, val = m.group(1).strip(), m.group(2), _unescape(m.group(3).strip())
        if field not in allowed:
            raise bad_request('field label not supported: %s' % field)
        reqs.append((field, "!=" if op == "!=" else "=", val))
    return FieldSelector(reqs)
