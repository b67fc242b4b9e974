"""The verbs: create, update (PUT), patch (merge / strategic / JSON / apply), delete and
deletecollection, with kube-apiserver's bookkeeping (uid, resourceVersion, generation,
managedFields, finalizers, namespace lifecycle, owner-reference garbage collection)."""

import copy
import json
import random
import threading
import uuid

from . import objects, patch as P
from .errors import ApiError, FieldError, already_exists, bad_request, conflict, invalid, not_found
from .store import Rec

GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply-cbor",
}


def rand_suffix(n=5):
    return "".join(random.choice(GEN_CHARS) for _ in range(n))


def manager_from_ua(ua):
    return (ua or "unknown").split("/")[0][:128]


class Api:
    def __init__(self, registry, store, controllers=None, managed_fields=True):
        self.registry = registry
        self.store = store
        self.controllers = controllers
        self.managed_fields = managed_fields
        self.lock = store.lock
        self._ip = 10
        self._ip_lock = threading.Lock()

    # ---- helpers -------------------------------------------------------------------------

    def service_ip(self):
        with self._ip_lock:
            self._ip += 1
            n = self._ip
        return "10.96.%d.%d" % (n // 250, n % 250 + 1)

    def default_storage_class(self):
        sc = self.registry.lookup("storage.k8s.io", "v1", "storageclasses")
        for k in list(self.store.keys.get(sc.skey, [])):
            r = self.store.get(sc.skey, *k)
            if r and (r.meta.get("annotations") or {}).get(
                    "storageclass.kubernetes.io/is-default-class") == "true":
                return r.name
        return None

    def _check_kind(self, res, obj, allow_missing=False):
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        av, kind = obj.get("apiVersion"), obj.get("kind")
        if not kind:
            if allow_missing:
                obj["kind"] = res.kind
            else:
                raise bad_request("Object 'Kind' is missing in '%s'" %
                                  json.dumps(obj, separators=(",", ":"))[:200])
        if not av:
            if allow_missing:
                obj["apiVersion"] = res.api_version
            else:
                raise bad_request("Object 'apiVersion' is missing in '%s'" %
                                  json.dumps(obj, separators=(",", ":"))[:200])
        if obj["apiVersion"] != res.api_version:
            raise bad_request("the API version in the data (%s) does not match the expected API "
                              "version (%s)" % (obj["apiVersion"], res.api_version))
        if obj["kind"] != res.kind:
            raise bad_request("the kind in the data (%s) does not match the expected kind (%s)"
                              % (obj["kind"], res.kind))
        if not isinstance(obj.get("metadata", {}), dict):
            raise bad_request("metadata must be an object")
        obj.setdefault("metadata", {})

    def _check_namespace(self, res, ns, obj):
        meta = obj["metadata"]
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)

    def _ns_res(self):
        return self.registry.lookup("", "v1", "namespaces")

    def _require_namespace(self, res, ns, name, creating=True):
        if not res.namespaced:
            return
        nres = self._ns_res()
        r = self.store.get(nres.skey, "", ns)
        if r is None:
            raise not_found(nres, ns)
        if creating and r.meta.get("deletionTimestamp"):
            raise ApiError(403, '%s "%s" is forbidden: unable to create new content in namespace '
                           '%s because it is being terminated' % (_qual(res), name, ns),
                           "Forbidden", {"name": name, "group": res.group, "kind": res.plural,
                                         "causes": [{"reason": "NamespaceTerminating",
                                                     "message": "namespace %s is being terminated" % ns,
                                                     "field": "metadata.namespace"}]})

    def _managed(self, obj, manager, operation, applied_cfg=None, subresource=None, old=None):
        if not self.managed_fields:
            obj["metadata"].pop("managedFields", None)
            return
        entries = [e for e in ((old or {}).get("metadata", {}).get("managedFields") or [])
                   if not (e.get("manager") == manager and e.get("operation") == operation
                           and e.get("subresource") == subresource)]
        fs = P.fieldset(applied_cfg if applied_cfg is not None else
                        ({"status": obj.get("status")} if subresource == "status" else obj))
        if subresource == "status":
            fs = {"f:status": P.fieldset(obj.get("status") or {}, False)} if obj.get("status") else {}
        e = {"manager": manager, "operation": operation, "apiVersion": obj.get("apiVersion"),
             "time": objects.now_ts(), "fieldsType": "FieldsV1", "fieldsV1": fs}
        if subresource:
            e["subresource"] = subresource
        entries.append(e)
        obj["metadata"]["managedFields"] = entries

    @staticmethod
    def _spec_part(obj):
        return {k: v for k, v in obj.items() if k not in ("metadata", "status")}

    def _commit(self, res, obj, prev_rec, applied, dry_run):
        """Assign the resourceVersion and store; returns the new Rec (or None for dry run)."""
        if dry_run:
            return None
        rv = self.store.next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        rec = Rec(res.skey, obj, rv, applied)
        self.store.put(res.skey, rec, prev_rec)
        return rec

    def _after(self, res, etype, obj, old):
        if self.controllers:
            self.controllers.on_write(res, etype, obj, old)

    # ---- create --------------------------------------------------------------------------

    def create(self, res, ns, obj, dry_run=False, manager="unknown", applied=None,
               operation="Update", applied_cfg=None, internal=False):
        self._check_kind(res, obj)
        self._check_namespace(res, ns, obj)
        meta = obj["metadata"]
        with self.lock:
            if not meta.get("name"):
                if meta.get("generateName"):
                    meta["name"] = meta["generateName"] + rand_suffix()
                else:
                    raise invalid(res, "", [FieldError("metadata.name", "Required", None,
                                                       "name or generateName is required")])
            name = meta["name"]
            errs = objects.name_errors(res, name)
            if meta.get("generateName"):
                errs = [FieldError("metadata.generateName", e.etype, meta["generateName"], e.detail)
                        for e in objects.name_errors(res, meta["generateName"] + "a")] or errs
            errs += objects.meta_errors(meta)
            if errs:
                raise invalid(res, name, errs)
            self._require_namespace(res, ns, name)
            if self.store.get(res.skey, ns if res.namespaced else "", name) is not None:
                raise already_exists(res, name)
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "selfLink"):
                meta.pop(k, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = objects.now_ts()
            if res.generation:
                meta["generation"] = 1
            else:
                meta.pop("generation", None)
            if "status" in res.subresources and res.kind not in ("Namespace", "Pod") and not internal:
                obj.pop("status", None)
            objects.apply_defaults(res, obj, self.service_ip, self.default_storage_class())
            objects.validate(res, obj)
            self._managed(obj, manager, operation, applied_cfg)
            _order_meta(obj)
            rec = self._commit(res, obj, None, applied, dry_run)
            if rec is not None:
                self._after(res, "ADDED", obj, None)
                cur = self.store.get(res.skey, rec.ns, rec.name)
                if cur is not None and cur is not rec:
                    # what the client gets back is the object as created
                    pass
            return obj

    # ---- update (PUT and the tail of PATCH) -----------------------------------------------

    def update(self, res, ns, name, obj, dry_run=False, manager="unknown", subresource=None,
               operation="Update", applied=None, applied_cfg=None, internal=False, cur=None):
        self._check_kind(res, obj, allow_missing=subresource is not None)
        self._check_namespace(res, ns, obj)
        meta = obj["metadata"]
        if meta.get("name") != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                              % (meta.get("name"), name))
        with self.lock:
            cur = self.store.get(res.skey, ns if res.namespaced else "", name)
            if cur is None:
                raise not_found(res, name)
            want_rv = meta.get("resourceVersion")
            if want_rv and want_rv != str(cur.rv):
                raise conflict(res, name)
            old = cur.obj()
            if subresource == "status":
                new = copy.deepcopy(old)
                if "status" in obj:
                    new["status"] = obj["status"]
                else:
                    new.pop("status", None)
            else:
                new = obj
                if "status" in res.subresources and not internal:
                    if "status" in old:
                        new["status"] = old["status"]
                    else:
                        new.pop("status", None)
            nm = new["metadata"]
            om = old["metadata"]
            for k in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation"):
                if k in om:
                    nm[k] = om[k]
                else:
                    nm.pop(k, None)
            if om.get("deletionTimestamp"):
                # a deleting object may drop finalizers but not add them
                added = set(nm.get("finalizers") or []) - set(om.get("finalizers") or [])
                if added:
                    raise invalid(res, name, [FieldError(
                        "metadata.finalizers", "Forbidden", None,
                        "no new finalizers can be added if the object is being deleted, found "
                        "new finalizers %s" % json.dumps(sorted(added)))])
            if res.kind == "Service" and not res.crd:
                ospec, nspec = old.get("spec") or {}, new.get("spec")
                if isinstance(nspec, dict) and ospec.get("clusterIP") and not nspec.get("clusterIP") \
                        and nspec.get("type", "ClusterIP") != "ExternalName":
                    nspec["clusterIP"] = ospec["clusterIP"]
                    nspec["clusterIPs"] = ospec.get("clusterIPs", [ospec["clusterIP"]])
            errs = objects.meta_errors(nm)
            if errs:
                raise invalid(res, name, errs)
            objects.apply_defaults(res, new, self.service_ip, self.default_storage_class())
            if subresource != "status":
                objects.validate(res, new, old)
            if res.generation and self._spec_part(new) != self._spec_part(old):
                nm["generation"] = int(om.get("generation") or 1) + 1
            new_applied = dict(cur.applied)
            if applied is not None:
                new_applied.update(applied)
            nm.pop("managedFields", None)
            nm["managedFields"] = om.get("managedFields")
            _order_meta(new)
            # no-op writes keep the resourceVersion and send no event
            cmp_new = dict(new, metadata=dict(nm, resourceVersion=om.get("resourceVersion")))
            if cmp_new == old and new_applied == cur.applied:
                return old
            self._managed(new, manager, operation, applied_cfg, subresource, old)
            if nm.get("managedFields") is None:
                nm.pop("managedFields", None)
            if dry_run:
                nm["resourceVersion"] = om.get("resourceVersion")
                return new
            if nm.get("deletionTimestamp") and not nm.get("finalizers"):
                self._finalize_delete(res, cur, new)
                return new
            rec = self._commit(res, new, cur, new_applied, False)
            self._after(res, "MODIFIED", new, old)
            return new

    # ---- patch -----------------------------------------------------------------------------

    def patch(self, res, ns, name, ptype, body, dry_run=False, manager=None, force=False,
              subresource=None, ua=""):
        if ptype == "apply":
            return self.apply(res, ns, name, body, dry_run, manager, force, subresource)
        if ptype == "strategic" and res.crd:
            raise ApiError(415, "the body of the request was in an unknown format - accepted "
                           "media types include: application/json-patch+json, "
                           "application/merge-patch+json, application/apply-patch+yaml",
                           "UnsupportedMediaType")
        try:
            p = json.loads(body)
        except ValueError as e:
            raise bad_request("error decoding patch: %s" % e)
        with self.lock:
            cur = self.store.get(res.skey, ns if res.namespaced else "", name)
            if cur is None:
                raise not_found(res, name)
            old = cur.obj()
            if ptype == "merge":
                if not isinstance(p, dict):
                    raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
                new = P.merge_patch(old, p)
            elif ptype == "strategic":
                if not isinstance(p, dict):
                    raise bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
                new = P.strategic_merge(old, p)
            else:
                new = P.json_patch(old, p)
            if not isinstance(new, dict):
                raise bad_request("patch did not produce an object")
            if subresource != "status" and "status" in res.subresources:
                # changes to status through the main resource are ignored
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            new.setdefault("metadata", {})
            if new["metadata"].get("name") != name:
                raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (new["metadata"].get("name"), name))
            return self.update(res, ns, name, new, dry_run, manager or "unknown", subresource,
                               internal=subresource == "status")

    def apply(self, res, ns, name, body, dry_run, manager, force, subresource=None):
        if not manager:
            raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                           'value: is required for apply patch', "Invalid",
                           {"group": "meta.k8s.io", "kind": "PatchOptions",
                            "causes": [{"reason": "FieldValueRequired",
                                        "message": "Required value: is required for apply patch",
                                        "field": "fieldManager"}]})
        cfg = parse_yaml_or_json(body)
        if not isinstance(cfg, dict):
            raise bad_request("error decoding YAML: the apply configuration is not an object")
        self._check_kind(res, cfg)
        cfg.setdefault("metadata", {})
        if cfg["metadata"].get("name") and cfg["metadata"]["name"] != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                              % (cfg["metadata"]["name"], name))
        cfg["metadata"]["name"] = name
        if res.namespaced:
            if cfg["metadata"].get("namespace") and cfg["metadata"]["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
        cfg_clean = copy.deepcopy(cfg)
        for k in ("resourceVersion", "managedFields", "uid", "creationTimestamp"):
            cfg_clean["metadata"].pop(k, None)
        with self.lock:
            cur = self.store.get(res.skey, ns if res.namespaced else "", name)
            if cur is None:
                if subresource == "status":
                    raise not_found(res, name)
                obj = copy.deepcopy(cfg)
                obj["metadata"].pop("resourceVersion", None)
                return self.create(res, ns, obj, dry_run, manager, {manager: cfg_clean},
                                   "Apply", cfg_clean), 201
            old = cur.obj()
            want_rv = cfg["metadata"].get("resourceVersion")
            if want_rv and want_rv != str(cur.rv):
                raise conflict(res, name)
            prev_cfg = cur.applied.get(manager)
            if subresource == "status":
                new = copy.deepcopy(old)
                new["status"] = P.apply_merge(old.get("status") or {}, cfg.get("status") or {},
                                              (prev_cfg or {}).get("status"))
            else:
                new = P.apply_merge(old, cfg_clean, prev_cfg)
                if "status" in res.subresources:
                    if "status" in old:
                        new["status"] = old["status"]
                    else:
                        new.pop("status", None)
            new["metadata"]["resourceVersion"] = str(cur.rv)
            return self.update(res, ns, name, new, dry_run, manager, subresource, "Apply",
                               {manager: cfg_clean}, cfg_clean, internal=subresource == "status"), 200

    # ---- delete ----------------------------------------------------------------------------

    def delete(self, res, ns, name, opts=None, dry_run=False):
        """Returns (code, body dict)."""
        opts = opts or {}
        with self.lock:
            cur = self.store.get(res.skey, ns if res.namespaced else "", name)
            if cur is None:
                raise not_found(res, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != cur.uid:
                raise conflict(res, name, "Precondition failed: UID in precondition: %s, UID in "
                               "object meta: %s" % (pre["uid"], cur.uid))
            if pre.get("resourceVersion") and pre["resourceVersion"] != str(cur.rv):
                raise conflict(res, name, "Precondition failed: ResourceVersion in precondition: "
                               "%s, ResourceVersion in object meta: %s"
                               % (pre["resourceVersion"], cur.rv))
            obj = cur.obj()
            if dry_run:
                return 200, obj
            policy = opts.get("propagationPolicy")
            if not policy:
                if opts.get("orphanDependents") is True:
                    policy = "Orphan"
                elif opts.get("orphanDependents") is False:
                    policy = "Background"
                elif res.kind in ("Job",) and not res.crd:
                    policy = "Orphan"
                else:
                    policy = "Background"
            meta = obj["metadata"]
            if res.kind == "Namespace" and not res.crd:
                return 200, self._delete_namespace(res, cur, obj, policy)
            if meta.get("finalizers"):
                if not meta.get("deletionTimestamp"):
                    meta["deletionTimestamp"] = objects.now_ts()
                    meta["deletionGracePeriodSeconds"] = 0
                    if policy == "Foreground" and "foregroundDeletion" not in meta["finalizers"]:
                        meta["finalizers"].append("foregroundDeletion")
                    self._commit(res, obj, cur, cur.applied, False)
                    self._after(res, "MODIFIED", obj, cur.obj())
                    if policy == "Foreground":
                        self._gc(cur.uid, "Background")
                        self._release_foreground(res, obj)
                return 200, self.store.get(res.skey, cur.ns, cur.name).obj() \
                    if self.store.get(res.skey, cur.ns, cur.name) else obj
            self._finalize_delete(res, cur, obj, policy)
            if res.crd:
                return 200, obj
            d = {"name": name, "kind": res.plural, "uid": cur.uid}
            if res.group:
                d = {"name": name, "group": res.group, "kind": res.plural, "uid": cur.uid}
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Success", "details": d}

    def _release_foreground(self, res, obj):
        """With Foreground propagation the dependents are already gone; drop the finalizer."""
        cur = self.store.get(res.skey, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if cur is None:
            return
        o = cur.obj()
        fins = [f for f in o["metadata"].get("finalizers", []) if f != "foregroundDeletion"]
        o["metadata"]["finalizers"] = fins
        if not fins:
            o["metadata"].pop("finalizers")
        self.update(res, cur.ns, cur.name, o, manager="kube-controller-manager", internal=True)

    def _finalize_delete(self, res, cur, obj, policy="Background"):
        rv = self.store.next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        final = Rec(res.skey, obj, rv)
        self.store.remove(res.skey, cur, final)
        self._after(res, "DELETED", obj, None)
        if cur.uid:
            self._gc(cur.uid, policy)
        if res.namespaced:
            self._maybe_finish_namespace(cur.ns)
        if res.kind == "CustomResourceDefinition" and not res.crd:
            self._drop_crd(obj)

    def _gc(self, uid, policy):
        for (skey, ns, name) in self.store.dependents(uid):
            dres = self._res_for_skey(skey)
            cur = self.store.get(skey, ns, name)
            if cur is None or dres is None:
                continue
            if policy == "Orphan":
                o = cur.obj()
                refs = [r for r in o["metadata"].get("ownerReferences", []) if r.get("uid") != uid]
                if refs:
                    o["metadata"]["ownerReferences"] = refs
                else:
                    o["metadata"].pop("ownerReferences", None)
                self.update(dres, ns, name, o, manager="kube-controller-manager", internal=True)
            else:
                try:
                    self.delete(dres, ns, name, {"propagationPolicy": "Background"})
                except ApiError:
                    pass

    def _res_for_skey(self, skey):
        vs = self.registry.versions_of(skey)
        if not vs:
            return None
        for r in vs:
            if r.version == r.storage_version:
                return r
        return vs[0]

    def _delete_namespace(self, res, cur, obj, policy):
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = objects.now_ts()
            obj.setdefault("status", {})["phase"] = "Terminating"
            self._commit(res, obj, cur, cur.applied, False)
            self._after(res, "MODIFIED", obj, cur.obj())
        ns = cur.name
        for (skey, ons, oname) in self.store.namespaced_keys(ns):
            dres = self._res_for_skey(skey)
            if dres is None or self.store.get(skey, ons, oname) is None:
                continue
            try:
                self.delete(dres, ons, oname, {"propagationPolicy": "Background"})
            except ApiError:
                pass
        snapshot = self.store.get(res.skey, "", ns)
        out = snapshot.obj() if snapshot else obj
        self._maybe_finish_namespace(ns)
        return out

    def _maybe_finish_namespace(self, ns):
        nres = self._ns_res()
        cur = self.store.get(nres.skey, "", ns)
        if cur is None or not cur.meta.get("deletionTimestamp"):
            return
        if self.store.namespaced_keys(ns):
            return
        obj = cur.obj()
        obj.setdefault("spec", {})["finalizers"] = []
        obj["metadata"].pop("finalizers", None)
        self._finalize_delete(nres, cur, obj)

    def _drop_crd(self, crd):
        skey = self.registry.unregister_crd(crd["metadata"]["name"])
        if skey is None:
            return
        for k in list(self.store.keys.get(skey, [])):
            r = self.store.get(skey, *k)
            if r is None:
                continue
            o = r.obj()
            rv = self.store.next_rv()
            o["metadata"]["resourceVersion"] = str(rv)
            self.store.remove(skey, r, Rec(skey, o, rv))

    def delete_collection(self, res, ns, lsel, fsel, opts=None, dry_run=False):
        with self.lock:
            _, recs, _, _ = self.store.list(res.skey, ns if res.namespaced else None, lsel, fsel)
            out = []
            for r in recs:
                try:
                    code, body = self.delete(res, r.ns, r.name, opts, dry_run)
                    out.append(r.obj())
                except ApiError as e:
                    if e.code != 404:
                        raise
            return out


def _qual(res):
    return res.plural + ("." + res.group if res.group else "")


_META_ORDER = ["name", "generateName", "namespace", "uid", "resourceVersion", "generation",
               "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
               "annotations", "ownerReferences", "finalizers", "managedFields"]


def _order_meta(obj):
    """Field order of kube-apiserver's metadata encoding (cosmetic, makes diffs readable)."""
    m = obj["metadata"]
    ordered = {k: m[k] for k in _META_ORDER if k in m}
    for k, v in m.items():
        if k not in ordered:
            ordered[k] = v
    obj["metadata"] = ordered


def parse_yaml_or_json(body):
    """apply-patch+yaml bodies: kubectl and helm send JSON (valid YAML); other YAML goes
    through the small block-YAML reader."""
    text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    try:
        return json.loads(text)
    except ValueError:
        pass
    from .yamlmini import load
    try:
        return load(text)
    except ValueError as e:
        raise bad_request("error decoding YAML: %s" % e)
