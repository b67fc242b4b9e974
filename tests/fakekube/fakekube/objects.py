"""Defaulting and validation of objects, close to kube-apiserver's for the kinds Helm charts
use.  Only the rules clients commonly trip over are implemented (names, labels, sizes,
immutable fields, selectors)."""

import base64
import binascii
import json
import re
import time

from .errors import ApiError, FieldError, bad_request, invalid

MAX_SECRET_SIZE = 1024 * 1024
MAX_ANNOTATIONS = 256 * 1024

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QNAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LVALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_CONFIGKEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# metav1.MicroTime as Go parses it (RFC3339Micro: exactly six fraction digits)
_MICROTIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$")

SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                 "characters, '-' or '.', and must start and end with an alphanumeric character "
                 "(e.g. 'example.com', regex used for validation is "
                 "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
LABEL1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                 "start with an alphabetic character, and end with an alphanumeric character "
                 "(e.g. 'my-name',  or 'abc-123', regex used for validation is "
                 "'[a-z]([-a-z0-9]*[a-z0-9])?')")


def now_ts(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def now_micro():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def name_errors(res, name, path="metadata.name"):
    if res.name_rule == "path":
        if name in (".", "..") or "/" in name or "%" in name:
            return [FieldError(path, "Invalid", name, 'may not contain "/" or "%"')]
        return []
    if res.name_rule == "label":
        if len(name) > 63:
            return [FieldError(path, "Invalid", name, "must be no more than 63 characters")]
        if not _LABEL.match(name):
            return [FieldError(path, "Invalid", name, LABEL_MSG)]
        return []
    if res.name_rule == "label1035":
        if len(name) > 63:
            return [FieldError(path, "Invalid", name, "must be no more than 63 characters")]
        if not _LABEL1035.match(name):
            return [FieldError(path, "Invalid", name, LABEL1035_MSG)]
        return []
    if len(name) > 253:
        return [FieldError(path, "Invalid", name, "must be no more than 253 characters")]
    if not _SUBDOMAIN.match(name):
        return [FieldError(path, "Invalid", name, SUBDOMAIN_MSG)]
    return []


def _qualified_name_errors(key, path):
    prefix, _, name = key.rpartition("/")
    errs = []
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        errs.append(FieldError(path, "Invalid", key, "prefix part " + SUBDOMAIN_MSG))
    if not name or len(name) > 63 or not _QNAME.match(name):
        errs.append(FieldError(path, "Invalid", key,
                               "name part must consist of alphanumeric characters, '-', '_' or "
                               "'.', and must start and end with an alphanumeric character (e.g. "
                               "'MyName',  or 'my.name',  or '123-abc', regex used for validation "
                               "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"))
    return errs


def meta_errors(meta):
    errs = []
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return [FieldError("metadata.labels", "Invalid", labels, "must be a map")]
    for k, v in labels.items():
        errs += _qualified_name_errors(k, "metadata.labels")
        if not isinstance(v, str):
            errs.append(FieldError("metadata.labels", "Invalid", v, "must be a string"))
        elif len(v) > 63:
            errs.append(FieldError("metadata.labels", "Invalid", v, "must be no more than 63 characters"))
        elif not _LVALUE.match(v):
            errs.append(FieldError("metadata.labels", "Invalid", v,
                                   "a valid label must be an empty string or consist of "
                                   "alphanumeric characters, '-', '_' or '.', and must start and "
                                   "end with an alphanumeric character (e.g. 'MyValue',  or "
                                   "'my_value',  or '12345', regex used for validation is "
                                   "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"))
    ann = meta.get("annotations") or {}
    size = 0
    for k, v in ann.items():
        errs += _qualified_name_errors(k.lower(), "metadata.annotations")
        size += len(k) + len(v if isinstance(v, str) else "")
    if size > MAX_ANNOTATIONS:
        errs.append(FieldError("metadata.annotations", "TooLong", None,
                               "must have at most %d bytes" % MAX_ANNOTATIONS))
    return errs


# ---- defaulting ----------------------------------------------------------------------------

def _default_container(c):
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    if "imagePullPolicy" not in c:
        img = c.get("image", "")
        tag = img.rsplit("/", 1)[-1]
        c["imagePullPolicy"] = "Always" if (":" not in tag or tag.endswith(":latest")) and "@" not in img else "IfNotPresent"
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")


def default_pod_spec(spec):
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _default_container(c)
    if spec.get("serviceAccountName") and "serviceAccount" not in spec:
        spec["serviceAccount"] = spec["serviceAccountName"]


def _default_template(tmpl):
    if isinstance(tmpl, dict):
        tmpl.setdefault("metadata", {})
        default_pod_spec(tmpl.setdefault("spec", {}))


def apply_defaults(res, obj, service_ip=None, default_sc=None):
    """Defaults of create and update.  service_ip() allocates a ClusterIP."""
    kind = res.kind if not res.crd else None
    spec = obj.get("spec")
    if kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict) and sd:
            data = obj.setdefault("data", {}) or {}
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            if not spec.get("clusterIP") and service_ip:
                spec["clusterIP"] = service_ip()
            if spec.get("clusterIP"):
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if spec["type"] != "ExternalName":
                    p.setdefault("targetPort", p.get("port"))
                if spec["type"] in ("NodePort", "LoadBalancer") and "nodePort" not in p:
                    p["nodePort"] = 30000 + (abs(hash((obj["metadata"].get("name"), p.get("port")))) % 2767)
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
    elif kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        st = spec.setdefault("strategy", {})
        st.setdefault("type", "RollingUpdate")
        if st["type"] == "RollingUpdate":
            ru = st.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
        _default_template(spec.get("template"))
    elif kind == "StatefulSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        us = spec.setdefault("updateStrategy", {})
        us.setdefault("type", "RollingUpdate")
        if us["type"] == "RollingUpdate":
            us.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})
        _default_template(spec.get("template"))
    elif kind == "DaemonSet" and isinstance(spec, dict):
        spec.setdefault("revisionHistoryLimit", 10)
        us = spec.setdefault("updateStrategy", {})
        us.setdefault("type", "RollingUpdate")
        if us["type"] == "RollingUpdate":
            ru = us.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", 1)
            ru.setdefault("maxSurge", 0)
        _default_template(spec.get("template"))
    elif kind == "ReplicaSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _default_template(spec.get("template"))
    elif kind == "Job" and isinstance(spec, dict):
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        _default_template(spec.get("template"))
        tspec = (spec.get("template") or {}).get("spec")
        if isinstance(tspec, dict) and tspec.get("restartPolicy") == "Always":
            pass  # rejected by validation
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.get("jobTemplate")
        if isinstance(jt, dict) and isinstance(jt.get("spec"), dict):
            _default_template(jt["spec"].get("template"))
    elif kind == "Pod" and isinstance(spec, dict):
        default_pod_spec(spec)
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec.setdefault("priority", 0)
    elif kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
        if "storageClassName" not in spec and default_sc:
            spec["storageClassName"] = default_sc
    elif kind == "PersistentVolume" and isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
        names = spec.setdefault("names", {})
        if names.get("kind"):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", names["kind"] + "List")
        spec.setdefault("conversion", {"strategy": "None"})
    elif kind == "HorizontalPodAutoscaler" and isinstance(spec, dict):
        spec.setdefault("minReplicas", 1)


# ---- validation --------------------------------------------------------------------------

def _b64errors(res, name, data):
    for k, v in (data or {}).items():
        if not isinstance(v, str):
            raise ApiError(400, '%s in version "v1" cannot be handled as a %s: json: cannot '
                           'unmarshal %s into Go struct field %s.data of type []uint8'
                           % (res.kind, res.kind, type(v).__name__, res.kind), "BadRequest")
        if not _b64_ok(v):
            raise ApiError(400, '%s in version "v1" cannot be handled as a %s: illegal base64 '
                           'data at input byte %d' % (res.kind, res.kind, _bad_b64_pos(v)),
                           "BadRequest")


_B64CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _b64_ok(v):
    """Standard padded base64 (Go's StdEncoding), checked at C speed."""
    if len(v) % 4:
        return False
    try:
        b = v.encode("ascii")
    except UnicodeEncodeError:
        return False
    stripped = b.rstrip(b"=")
    if len(b) - len(stripped) > 2:
        return False
    return not stripped.translate(None, _B64CHARS)


def _bad_b64_pos(v):
    ok = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    for i, c in enumerate(v.encode()):
        if c not in ok:
            return i
    return len(v) - (len(v) % 4)


def _decoded_len(v):
    n = len(v)
    pad = v.count("=", max(0, n - 2))
    return n * 3 // 4 - pad


def _templ_labels(spec):
    t = (spec or {}).get("template") or {}
    return ((t.get("metadata") or {}).get("labels")) or {}


def validate(res, obj, old=None):
    """Raise 422 Invalid (or 400) for the rules we model.  old is the stored object on update."""
    from .selectors import selector_from_match
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    errs = []
    if not res.crd and res.kind in ("Secret", "ConfigMap"):
        if res.kind == "Secret":
            _b64errors(res, name, obj.get("data"))
        else:
            bd = obj.get("binaryData")
            if bd:
                _b64errors(res, name, bd)
        total = 0
        for k, v in (obj.get("data") or {}).items():
            if not _CONFIGKEY.match(k) or len(k) > 253:
                errs.append(FieldError("data[%s]" % k, "Invalid", k,
                                       "a valid config key must consist of alphanumeric "
                                       "characters, '-', '_' or '.' (e.g. 'key.name',  or "
                                       "'KEY_NAME',  or 'key-name', regex used for validation is "
                                       "'[-._a-zA-Z0-9]+')"))
            if res.kind == "Secret":
                total += _decoded_len(v)
            else:
                total += len(v.encode() if isinstance(v, str) else b"")
        for k, v in (obj.get("binaryData") or {}).items():
            total += _decoded_len(v)
        if total > MAX_SECRET_SIZE:
            errs.append(FieldError("data" if res.kind == "Secret" else "[]", "TooLong", None,
                                   "must have at most %d bytes" % MAX_SECRET_SIZE))
        if old is not None:
            if old.get("immutable"):
                if obj.get("data") != old.get("data"):
                    errs.append(FieldError("data", "Forbidden", None,
                                           "field is immutable when `immutable` is set"))
                if not obj.get("immutable"):
                    errs.append(FieldError("immutable", "Forbidden", None,
                                           "field is immutable when `immutable` is set"))
            if res.kind == "Secret" and obj.get("type") != old.get("type"):
                errs.append(FieldError("type", "Invalid", obj.get("type"), "field is immutable"))
    spec = obj.get("spec")
    if not res.crd and res.group == "apps" and res.kind in ("Deployment", "StatefulSet",
                                                            "DaemonSet", "ReplicaSet"):
        if not isinstance(spec, dict):
            spec = {}
        sel = spec.get("selector")
        if not sel:
            errs.append(FieldError("spec.selector", "Required"))
        else:
            labels = _templ_labels(spec)
            if not selector_from_match(sel).matches(labels):
                errs.append(FieldError("spec.template.metadata.labels", "Invalid", labels,
                                       "`selector` does not match template `labels`"))
            if old is not None and (old.get("spec") or {}).get("selector") != sel:
                errs.append(FieldError("spec.selector", "Invalid", sel, "field is immutable"))
        if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
            errs.append(FieldError("spec.template.spec.containers", "Required"))
        if res.kind == "StatefulSet" and old is not None:
            ospec = old.get("spec") or {}
            for f in ("serviceName", "volumeClaimTemplates", "podManagementPolicy"):
                if spec.get(f) != ospec.get(f):
                    errs.append(FieldError("spec", "Forbidden", None,
                                           "updates to statefulset spec for fields other than "
                                           "'replicas', 'ordinals', 'template', 'updateStrategy', "
                                           "'persistentVolumeClaimRetentionPolicy' and "
                                           "'minReadySeconds' are forbidden"))
                    break
    if not res.crd and res.kind == "Job" and isinstance(spec, dict):
        rp = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
        if rp not in ("Never", "OnFailure"):
            errs.append(FieldError("spec.template.spec.restartPolicy", "NotSupported", rp,
                                   'supported values: "OnFailure", "Never"'))
        if old is not None and (old.get("spec") or {}).get("template") != spec.get("template"):
            errs.append(FieldError("spec.template", "Invalid", spec.get("template"),
                                   "field is immutable"))
    if not res.crd and res.kind == "Service" and isinstance(spec, dict):
        t = spec.get("type", "ClusterIP")
        if t not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
            errs.append(FieldError("spec.type", "NotSupported", t,
                                   'supported values: "ClusterIP", "ExternalName", '
                                   '"LoadBalancer", "NodePort"'))
        if t != "ExternalName" and spec.get("clusterIP") != "None" and not spec.get("ports"):
            errs.append(FieldError("spec.ports", "Required"))
        if old is not None:
            oip = (old.get("spec") or {}).get("clusterIP")
            if oip and spec.get("clusterIP") and spec.get("clusterIP") != oip and t != "ExternalName":
                errs.append(FieldError("spec.clusterIPs[0]", "Invalid", [spec.get("clusterIP")],
                                       "may not change once set"))
    if not res.crd and res.kind == "PersistentVolumeClaim" and old is not None:
        def strip(s):
            s = dict(s or {})
            s.pop("resources", None)
            s.pop("volumeName", None)
            s.pop("volumeAttributesClassName", None)
            return s
        if strip(spec) != strip(old.get("spec")):
            errs.append(FieldError("spec", "Forbidden", None,
                                   "spec is immutable after creation except resources.requests "
                                   "and volumeAttributesClassName for bound claims"))
    if not res.crd and res.kind == "Lease" and isinstance(spec, dict):
        # coordination/validation: ValidateLeaseSpec
        d = spec.get("leaseDurationSeconds")
        if d is not None and (not isinstance(d, int) or d <= 0):
            errs.append(FieldError("spec.leaseDurationSeconds", "Invalid", d,
                                   "must be greater than 0"))
        t = spec.get("leaseTransitions")
        if t is not None and (not isinstance(t, int) or t < 0):
            errs.append(FieldError("spec.leaseTransitions", "Invalid", t,
                                   "must be greater than or equal to 0"))
        for f in ("acquireTime", "renewTime"):
            v = spec.get(f)
            if v is not None and not (isinstance(v, str) and _MICROTIME.match(v)):
                raise bad_request('Lease in version "v1" cannot be handled as a Lease: '
                                  'parsing time "%s" as "2006-01-02T15:04:05.000000Z07:00": '
                                  'cannot parse' % v)
    if not res.crd and res.kind == "CustomResourceDefinition":
        spec = spec if isinstance(spec, dict) else {}
        names = spec.get("names") or {}
        want = "%s.%s" % (names.get("plural", ""), spec.get("group", ""))
        if name != want:
            errs.append(FieldError("metadata.name", "Invalid", name,
                                   'must be spec.names.plural+"."+spec.group'))
        if not spec.get("group"):
            errs.append(FieldError("spec.group", "Required"))
        if not names.get("kind"):
            errs.append(FieldError("spec.names.kind", "Required"))
        if not names.get("plural"):
            errs.append(FieldError("spec.names.plural", "Required"))
        vs = spec.get("versions") or []
        if not vs:
            errs.append(FieldError("spec.versions", "Invalid", vs, "must have exactly one version marked as storage version"))
        elif sum(1 for v in vs if v.get("storage")) != 1:
            errs.append(FieldError("spec.versions", "Invalid", [v.get("name") for v in vs],
                                   "must have exactly one version marked as storage version"))
        if spec.get("scope") not in ("Namespaced", "Cluster"):
            errs.append(FieldError("spec.scope", "NotSupported", spec.get("scope"),
                                   'supported values: "Cluster", "Namespaced"'))
        if old is not None:
            ospec = old.get("spec") or {}
            if ospec.get("group") != spec.get("group"):
                errs.append(FieldError("spec.group", "Invalid", spec.get("group"), "field is immutable"))
    if not res.crd and res.kind == "CustomResourceDefinition":
        # apiextensions/v1: every version has a structural schema (type at the root).
        for i, v in enumerate(spec.get("versions") or []):
            sch = ((v.get("schema") or {}).get("openAPIV3Schema"))
            if not isinstance(sch, dict):
                errs.append(FieldError("spec.versions[%d].schema.openAPIV3Schema" % i, "Required"))
            elif sch.get("type") != "object":
                errs.append(FieldError("spec.versions[%d].schema.openAPIV3Schema.type" % i,
                                       "Invalid", sch.get("type"), "must be object at the root"))
        for f in ("validation", "version", "subresources", "additionalPrinterColumns"):
            if f in spec:
                errs.append(FieldError("spec." + f, "Forbidden", None,
                                       "unknown field (a v1beta1 field)"))
    errs += _validate_v1_shapes(res, obj, spec)
    if errs:
        raise invalid(res, name, errs)


def _validate_v1_shapes(res, obj, spec):
    """The required fields of the current versions that replaced removed ones (issue 16):
    an object written in an old shape is refused, as kube-apiserver refuses it."""
    errs = []
    spec = spec if isinstance(spec, dict) else {}
    if res.crd:
        return errs
    if res.kind == "Ingress":
        def backend(path, b):
            if not isinstance(b, dict) or ("service" not in b and "resource" not in b):
                errs.append(FieldError(path, "Invalid", b, "one backend (service or resource) "
                                       "must be specified"))
                return
            svc = b.get("service")
            if svc is not None:
                if not svc.get("name"):
                    errs.append(FieldError(path + ".service.name", "Required"))
                port = svc.get("port") or {}
                if ("name" in port) == ("number" in port):
                    errs.append(FieldError(path + ".service.port", "Invalid", port,
                                           "port name or number is required"))
        if "backend" in spec:
            errs.append(FieldError("spec.backend", "Forbidden", None, "unknown field"))
        if spec.get("defaultBackend") is not None:
            backend("spec.defaultBackend", spec["defaultBackend"])
        for i, r in enumerate(spec.get("rules") or []):
            for j, p in enumerate(((r.get("http") or {}).get("paths")) or []):
                f = "spec.rules[%d].http.paths[%d]" % (i, j)
                if p.get("pathType") not in ("Exact", "Prefix", "ImplementationSpecific"):
                    errs.append(FieldError(f + ".pathType", "Required" if "pathType" not in p
                                           else "NotSupported", p.get("pathType")))
                backend(f + ".backend", p.get("backend"))
    if res.kind == "HorizontalPodAutoscaler" and res.version == "v2":
        for i, m in enumerate(spec.get("metrics") or []):
            key = {"Resource": "resource", "Pods": "pods", "Object": "object",
                   "External": "external", "ContainerResource": "containerResource"}.get(m.get("type"))
            src = m.get(key) if key else None
            if not isinstance(src, dict) or not (src.get("target") or {}).get("type"):
                errs.append(FieldError("spec.metrics[%d].%s.target.type" % (i, key), "Required"))
    if res.kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for i, w in enumerate(obj.get("webhooks") or []):
            if w.get("sideEffects") not in ("None", "NoneOnDryRun"):
                errs.append(FieldError("webhooks[%d].sideEffects" % i, "NotSupported",
                                       w.get("sideEffects"),
                                       'supported values: "None", "NoneOnDryRun"'))
            if not w.get("admissionReviewVersions"):
                errs.append(FieldError("webhooks[%d].admissionReviewVersions" % i, "Required"))
    return errs


def owner_uids(obj):
    return [o.get("uid") for o in ((obj.get("metadata") or {}).get("ownerReferences") or [])
            if isinstance(o, dict) and o.get("uid")]


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
