"""The resource table: built-in kinds, kinds added by CustomResourceDefinitions, and the
discovery (legacy and aggregated) and OpenAPI v3 documents built from it."""

import hashlib
import json
import threading

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]


class Resource:
    __slots__ = ("group", "version", "plural", "singular", "kind", "namespaced", "short_names",
                 "categories", "verbs", "subresources", "generation", "name_rule", "crd",
                 "list_kind", "storage_version")

    def __init__(self, group, version, plural, kind, namespaced, short=(), categories=(),
                 subresources=(), generation=False, name_rule="subdomain", singular=None,
                 verbs=None, crd=False, list_kind=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.singular = singular or kind.lower()
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short)
        self.categories = list(categories)
        self.verbs = list(verbs or VERBS)
        self.subresources = list(subresources)
        self.generation = generation
        self.name_rule = name_rule
        self.crd = crd
        self.list_kind = list_kind or kind + "List"
        self.storage_version = version

    @property
    def api_version(self):
        return self.group + "/" + self.version if self.group else self.version

    @property
    def skey(self):
        """Storage key: all versions of one group resource share storage."""
        return (self.group, self.plural)

    def __repr__(self):
        return "<Resource %s/%s %s>" % (self.group, self.version, self.plural)


_ALL = ["all"]

# (group, version, plural, kind, namespaced, options)
BUILTIN = [
    ("", "v1", "namespaces", "Namespace", False, dict(short=["ns"], subresources=["status", "finalize"], name_rule="label")),
    ("", "v1", "configmaps", "ConfigMap", True, dict(short=["cm"])),
    ("", "v1", "secrets", "Secret", True, dict()),
    ("", "v1", "services", "Service", True, dict(short=["svc"], categories=_ALL, subresources=["status"], name_rule="label1035")),
    ("", "v1", "serviceaccounts", "ServiceAccount", True, dict(short=["sa"])),
    ("", "v1", "pods", "Pod", True, dict(short=["po"], categories=_ALL, subresources=["status", "log"])),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, dict(short=["pvc"], subresources=["status"])),
    ("", "v1", "persistentvolumes", "PersistentVolume", False, dict(short=["pv"], subresources=["status"])),
    ("", "v1", "resourcequotas", "ResourceQuota", True, dict(short=["quota"], subresources=["status"])),
    ("", "v1", "limitranges", "LimitRange", True, dict(short=["limits"])),
    ("", "v1", "endpoints", "Endpoints", True, dict(short=["ep"])),
    ("", "v1", "events", "Event", True, dict(short=["ev"])),
    ("", "v1", "nodes", "Node", False, dict(short=["no"], subresources=["status"])),
    ("", "v1", "replicationcontrollers", "ReplicationController", True, dict(short=["rc"], categories=_ALL, subresources=["status", "scale"], generation=True)),
    ("", "v1", "podtemplates", "PodTemplate", True, dict()),
    ("apps", "v1", "deployments", "Deployment", True, dict(short=["deploy"], categories=_ALL, subresources=["status", "scale"], generation=True)),
    ("apps", "v1", "statefulsets", "StatefulSet", True, dict(short=["sts"], categories=_ALL, subresources=["status", "scale"], generation=True)),
    ("apps", "v1", "daemonsets", "DaemonSet", True, dict(short=["ds"], categories=_ALL, subresources=["status"], generation=True)),
    ("apps", "v1", "replicasets", "ReplicaSet", True, dict(short=["rs"], categories=_ALL, subresources=["status", "scale"], generation=True)),
    ("apps", "v1", "controllerrevisions", "ControllerRevision", True, dict()),
    ("batch", "v1", "jobs", "Job", True, dict(categories=_ALL, subresources=["status"], generation=True)),
    ("batch", "v1", "cronjobs", "CronJob", True, dict(short=["cj"], categories=_ALL, subresources=["status"], generation=True)),
    ("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, dict(short=["hpa"], categories=_ALL, subresources=["status"])),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, dict(short=["hpa"], categories=_ALL, subresources=["status"])),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, dict(short=["ing"], subresources=["status"], generation=True)),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False, dict()),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, dict(short=["netpol"], generation=True)),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, dict(short=["pdb"], subresources=["status"], generation=True)),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True, dict(name_rule="path")),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, dict(name_rule="path")),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, dict(name_rule="path")),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, dict(name_rule="path")),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, dict(short=["sc"])),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, dict(short=["pc"])),
    ("coordination.k8s.io", "v1", "leases", "Lease", True, dict()),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False, dict(generation=True)),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False, dict(generation=True)),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, dict(short=["crd", "crds"], categories=["api-extensions"], subresources=["status"], generation=True)),
    # The current versions of the kinds whose older versions a 1.31+ server no longer
    # serves (extensions/*, */v1beta1...): import converts to these (issue 16).
    ("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, dict(subresources=["status"])),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, dict()),
    ("events.k8s.io", "v1", "events", "Event", True, dict(short=["ev"])),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False, dict()),
    ("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, dict()),
    ("storage.k8s.io", "v1", "csinodes", "CSINode", False, dict()),
    ("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, dict(subresources=["status"])),
    ("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", True, dict()),
    ("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", False, dict(subresources=["status"])),
    ("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations", "PriorityLevelConfiguration", False, dict(subresources=["status"])),
]

# Preferred version first; the order of /apis follows this list.
GROUP_ORDER = ["", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
               "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
               "networking.k8s.io", "policy", "rbac.authorization.k8s.io", "storage.k8s.io",
               "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
               "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io",
               "flowcontrol.apiserver.k8s.io"]


class Registry:
    """All served group/version/resources.  Thread safe; CRDs add and remove entries."""

    def __init__(self, server_address="127.0.0.1:443"):
        self.lock = threading.RLock()
        self.server_address = server_address
        self.groups = {}          # group -> [versions in preference order]
        self.by_gv = {}           # (group, version) -> {plural: Resource}
        self.crd_groups = {}      # crd name -> (group, [versions])
        self.generation = 0       # bumped on every change (discovery caches, ETags)
        for g, v, plural, kind, namespaced, opts in BUILTIN:
            self._add(Resource(g, v, plural, kind, namespaced, **opts))
        # HPA: v2 is stored and preferred.
        for r in self.by_gv[("autoscaling", "v1")].values():
            r.storage_version = "v2"

    def _add(self, res):
        versions = self.groups.setdefault(res.group, [])
        if res.version not in versions:
            versions.append(res.version)
        self.by_gv.setdefault((res.group, res.version), {})[res.plural] = res
        self.generation += 1

    def lookup(self, group, version, plural):
        with self.lock:
            return self.by_gv.get((group, version), {}).get(plural)

    def has_gv(self, group, version):
        with self.lock:
            return (group, version) in self.by_gv

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        with self.lock:
            for r in self.by_gv.get((group, version), {}).values():
                if r.kind == kind:
                    return r
        return None

    def versions_of(self, skey):
        """Every Resource (one per version) sharing the storage key."""
        with self.lock:
            return [r for (g, v), m in self.by_gv.items() for r in m.values() if r.skey == skey]

    def all_resources(self):
        with self.lock:
            return [r for m in self.by_gv.values() for r in m.values()]

    # ---- CustomResourceDefinitions -------------------------------------------------------

    def register_crd(self, crd):
        """Serve (or re-serve) the kinds of a CRD object; returns the storage key."""
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        group = spec.get("group", "")
        plural = names.get("plural", "")
        kind = names.get("kind", "")
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        served = [v for v in spec.get("versions", []) if v.get("served", True)]
        storage = next((v["name"] for v in spec.get("versions", []) if v.get("storage")),
                       served[0]["name"] if served else "v1")
        with self.lock:
            self.unregister_crd(crd["metadata"]["name"], keep_generation=True)
            vnames = []
            for v in served:
                subs = []
                if "status" in (v.get("subresources") or {}):
                    subs.append("status")
                if "scale" in (v.get("subresources") or {}):
                    subs.append("scale")
                r = Resource(group, v["name"], plural, kind, namespaced,
                             short=names.get("shortNames") or [],
                             categories=names.get("categories") or [],
                             subresources=subs, generation=True,
                             singular=names.get("singular") or kind.lower(), crd=True,
                             list_kind=names.get("listKind") or kind + "List")
                r.storage_version = storage
                self._add(r)
                vnames.append(v["name"])
            # Versions sorted the way kube-apiserver orders them: by kube-aware version priority.
            self.groups[group] = sorted(self.groups.get(group, []), key=version_priority)
            self.crd_groups[crd["metadata"]["name"]] = (group, plural, vnames)
            self.generation += 1
        return (group, plural)

    def unregister_crd(self, crd_name, keep_generation=False):
        with self.lock:
            entry = self.crd_groups.pop(crd_name, None)
            if not entry:
                return None
            group, plural, vnames = entry
            for v in vnames:
                m = self.by_gv.get((group, v), {})
                m.pop(plural, None)
                if not m:
                    self.by_gv.pop((group, v), None)
                    if v in self.groups.get(group, []):
                        self.groups[group].remove(v)
            if not self.groups.get(group):
                self.groups.pop(group, None)
            self.generation += 1
            return (group, plural)

    # ---- discovery documents ------------------------------------------------------------

    def ordered_groups(self):
        with self.lock:
            named = [g for g in self.groups if g]
            known = [g for g in GROUP_ORDER if g in self.groups and g]
            rest = sorted(g for g in named if g not in GROUP_ORDER)
            return known + rest

    def api_versions(self):
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": self.server_address}]}

    def _group_doc(self, g):
        vs = self.groups[g]
        gvs = [{"groupVersion": g + "/" + v, "version": v} for v in vs]
        return {"name": g, "versions": gvs, "preferredVersion": gvs[0]}

    def api_group_list(self):
        with self.lock:
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [self._group_doc(g) for g in self.ordered_groups()]}

    def api_group(self, g):
        with self.lock:
            if g not in self.groups or not g:
                return None
            d = self._group_doc(g)
            d.update({"kind": "APIGroup", "apiVersion": "v1"})
            return d

    def resource_list(self, group, version):
        with self.lock:
            m = self.by_gv.get((group, version))
            if m is None:
                return None
            out = []
            for plural in sorted(m):
                r = m[plural]
                e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                     "kind": r.kind, "verbs": r.verbs}
                if r.short_names:
                    e["shortNames"] = r.short_names
                if r.categories:
                    e["categories"] = r.categories
                e["storageVersionHash"] = _hash8(r.group + r.plural + r.storage_version)
                out.append(e)
                for s in r.subresources:
                    sv = ["get", "patch", "update"]
                    kind = r.kind
                    sgroup = None
                    if s == "log":
                        sv, kind = ["get"], "Pod"
                    elif s == "finalize":
                        sv = ["update"]
                    elif s == "scale":
                        kind, sgroup = "Scale", "autoscaling"
                    se = {"name": r.plural + "/" + s, "singularName": "", "namespaced": r.namespaced,
                          "kind": kind, "verbs": sv}
                    if sgroup:
                        se["group"], se["version"] = sgroup, "v1"
                    out.append(se)
            gv = group + "/" + version if group else version
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                    "resources": out}

    def aggregated(self, legacy, disc_version="v2"):
        """APIGroupDiscoveryList for /api (legacy=True) or /apis."""
        with self.lock:
            groups = [""] if legacy else self.ordered_groups()
            items = []
            for g in groups:
                vers = []
                for v in self.groups.get(g, []):
                    rs = []
                    for plural in sorted(self.by_gv.get((g, v), {})):
                        r = self.by_gv[(g, v)][plural]
                        e = {"resource": r.plural,
                             "responseKind": {"group": g, "version": v, "kind": r.kind},
                             "scope": "Namespaced" if r.namespaced else "Cluster",
                             "singularResource": r.singular, "verbs": r.verbs}
                        if r.short_names:
                            e["shortNames"] = r.short_names
                        if r.categories:
                            e["categories"] = r.categories
                        subs = []
                        for s in r.subresources:
                            kind, sg, sv = r.kind, g, v
                            verbs = ["get", "patch", "update"]
                            if s == "log":
                                kind, verbs = "Pod", ["get"]
                            elif s == "finalize":
                                verbs = ["update"]
                            elif s == "scale":
                                kind, sg, sv = "Scale", "autoscaling", "v1"
                            subs.append({"subresource": s,
                                         "responseKind": {"group": sg, "version": sv, "kind": kind},
                                         "verbs": verbs})
                        if subs:
                            e["subresources"] = subs
                        rs.append(e)
                    vers.append({"version": v, "resources": rs, "freshness": "Current"})
                items.append({"metadata": {"name": g, "creationTimestamp": None}, "versions": vers})
            return {"kind": "APIGroupDiscoveryList",
                    "apiVersion": "apidiscovery.k8s.io/" + disc_version,
                    "metadata": {}, "items": items}

    # ---- OpenAPI v3 ---------------------------------------------------------------------
    #
    # Only what clients look at: kubectl/helm ask whether PATCH of a kind takes the
    # fieldValidation parameter (then validation is left to the server), and whether PATCH
    # accepts strategic-merge-patch in the request body (we leave that out, so kubectl
    # computes strategic merge patches from its built-in types, as with a server
    # without schemas).  There are no component schemas.

    def openapi_gv_doc(self, group, version):
        with self.lock:
            m = self.by_gv.get((group, version))
            if m is None:
                return None
            prefix = "/apis/%s/%s" % (group, version) if group else "/api/" + version
            paths = {}
            for plural in sorted(m):
                r = m[plural]
                gvk = {"group": group, "version": version, "kind": r.kind}
                params = [{"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                          {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                          {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                          {"name": "force", "in": "query", "schema": {"type": "boolean"}}]
                op_id = "patch" + _camel(group) + version.capitalize() + \
                    ("Namespaced" if r.namespaced else "") + r.kind
                base = prefix + ("/namespaces/{namespace}/" if r.namespaced else "/") + plural
                paths[base + "/{name}"] = {
                    "patch": {"operationId": op_id, "parameters": params,
                              "responses": {"200": {"description": "OK"}},
                              "x-kubernetes-action": "patch",
                              "x-kubernetes-group-version-kind": gvk},
                    "parameters": [{"name": "name", "in": "path", "required": True,
                                    "schema": {"type": "string"}}]}
            return {"openapi": "3.0.0",
                    "info": {"title": "Kubernetes", "version": "unversioned"},
                    "paths": paths, "components": {"schemas": {}}}

    def openapi_root(self):
        with self.lock:
            paths = {}
            for (g, v) in sorted(self.by_gv):
                p = "apis/%s/%s" % (g, v) if g else "api/" + v
                doc = json.dumps(self.openapi_gv_doc(g, v), sort_keys=True).encode()
                h = hashlib.sha512(doc).hexdigest()[:64].upper()
                paths[p] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, h)}
            return {"paths": paths}


def _pb_field(num, payload):
    """A length-delimited protobuf field."""
    n = len(payload)
    varint = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        varint.append(b | (0x80 if n else 0))
        if not n:
            break
    return bytes([(num << 3) | 2]) + bytes(varint) + payload


def openapi_v2_protobuf(version="v1.31.0"):
    """A minimal OpenAPI v2 document (gnostic openapi_v2.Document, protobuf): swagger "2.0"
    and info, no paths or definitions.  Clients then know no schema for any kind, so
    client-side validation accepts every object and kubectl's patch computation falls
    back to its built-in types, as it does for kinds a real server publishes no schema for."""
    info = _pb_field(1, b"Kubernetes") + _pb_field(2, version.encode())
    return _pb_field(1, b"2.0") + _pb_field(2, info)


def _camel(group):
    if not group:
        return "Core"
    first = group.split(".")[0]
    return "".join(p.capitalize() for p in first.replace("-", " ").split())


def _hash8(s):
    import base64
    return base64.b64encode(hashlib.sha256(s.encode()).digest()[:8]).decode()


def version_priority(v):
    """Sort key of Kubernetes version names: GA > beta > alpha, higher numbers first,
    then non-kube-like names alphabetically."""
    import re
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0, v)
    major = int(m.group(1))
    stage = {"": 0, None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, v)
