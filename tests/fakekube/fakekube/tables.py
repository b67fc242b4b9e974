"""Response transforms negotiated through Accept: meta.k8s.io Table (kubectl get) and
PartialObjectMetadata(List) (metadata-only clients)."""

import calendar
import json
import time

from .store import Rec

PARTIAL = b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'


def partial_bytes(rec):
    return PARTIAL + rec.meta_raw() + b"}"


def _age(ts):
    if not ts:
        return "<unknown>"
    try:
        t = calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return "<unknown>"
    d = max(0, int(time.time() - t))
    if d < 120:
        return "%ds" % d
    if d < 600:
        return "%dm%ds" % (d // 60, d % 60) if d % 60 else "%dm" % (d // 60)
    if d < 3 * 3600:
        return "%dm" % (d // 60)
    if d < 48 * 3600:
        return "%dh" % (d // 3600)
    return "%dd" % (d // 86400)


def _col(name, typ="string", desc="", fmt="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


NAME_COL = _col("Name", fmt="name", desc="Name must be unique within a namespace. Is required "
                "when creating resources, although some resources may allow a client to request "
                "the generation of an appropriate name automatically. Name is primarily intended "
                "for creation idempotence and configuration definition. Cannot be updated. More "
                "info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
AGE_COL = _col("Age", desc="CreationTimestamp is a timestamp representing the server time when "
               "this object was created.")


def _g(o, path, default=""):
    cur = o
    for p in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(p)
        else:
            return default
    return default if cur is None else cur


def _columns(res):
    """(column definitions, cell function) for a resource; Name first, Age last."""
    k = None if res.crd else res.kind
    if k == "Namespace":
        return [_col("Status")], lambda o: [_g(o, "status.phase")]
    if k == "Secret":
        return [_col("Type"), _col("Data", "integer")], \
            lambda o: [o.get("type", ""), len(o.get("data") or {})]
    if k == "ConfigMap":
        return [_col("Data", "integer")], \
            lambda o: [len(o.get("data") or {}) + len(o.get("binaryData") or {})]
    if k == "Service":
        def cells(o):
            ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
                             for p in _g(o, "spec.ports", []) or [])
            ext = ",".join(i.get("ip", i.get("hostname", "")) for i in
                           _g(o, "status.loadBalancer.ingress", []) or []) or "<none>"
            return [_g(o, "spec.type"), _g(o, "spec.clusterIP"), ext, ports or "<none>"]
        return [_col("Type"), _col("Cluster-IP"), _col("External-IP"), _col("Port(s)")], cells
    if k == "Pod":
        def cells(o):
            cs = _g(o, "status.containerStatuses", []) or []
            n = len(_g(o, "spec.containers", []) or [])
            ready = sum(1 for c in cs if c.get("ready"))
            return ["%d/%d" % (ready, n), _g(o, "status.phase"), 0]
        return [_col("Ready"), _col("Status"), _col("Restarts", "string")], cells
    if k == "Deployment":
        return [_col("Ready"), _col("Up-to-date", "integer"), _col("Available", "integer")], \
            lambda o: ["%d/%d" % (_g(o, "status.readyReplicas", 0), _g(o, "spec.replicas", 1)),
                       _g(o, "status.updatedReplicas", 0), _g(o, "status.availableReplicas", 0)]
    if k in ("StatefulSet",):
        return [_col("Ready")], \
            lambda o: ["%d/%d" % (_g(o, "status.readyReplicas", 0), _g(o, "spec.replicas", 1))]
    if k == "ReplicaSet":
        return [_col("Desired", "integer"), _col("Current", "integer"), _col("Ready", "integer")], \
            lambda o: [_g(o, "spec.replicas", 1), _g(o, "status.replicas", 0),
                       _g(o, "status.readyReplicas", 0)]
    if k == "Job":
        return [_col("Status"), _col("Completions")], \
            lambda o: ["Complete" if _g(o, "status.succeeded", 0) else
                       ("Failed" if _g(o, "status.failed", 0) else "Running"),
                       "%d/%d" % (_g(o, "status.succeeded", 0), _g(o, "spec.completions", 1))]
    if k == "PersistentVolumeClaim":
        return [_col("Status"), _col("Volume"), _col("Capacity"), _col("StorageClass")], \
            lambda o: [_g(o, "status.phase"), _g(o, "spec.volumeName"),
                       _g(o, "status.capacity.storage"), _g(o, "spec.storageClassName")]
    if k == "CustomResourceDefinition":
        return [_col("Created At", "date")], lambda o: [_g(o, "metadata.creationTimestamp")]
    if k == "Lease":
        return [_col("Holder", desc="holderIdentity contains the identity of the holder of a "
                     "current lease.")], lambda o: [_g(o, "spec.holderIdentity")]
    if k == "Node":
        return [_col("Status"), _col("Roles"), _col("Version")], \
            lambda o: ["Ready", "control-plane", _g(o, "status.nodeInfo.kubeletVersion")]
    return [], lambda o: []


def table(res, recs, list_meta, include="Metadata", api_version="meta.k8s.io/v1"):
    cols, cellfn = _columns(res)
    need_obj = bool(cols) or include == "Object"
    rows = []
    for r in recs:
        o = r.obj() if need_obj else None
        cells = [r.name] + (cellfn(o) if cols else []) + [_age(r.meta.get("creationTimestamp"))]
        row = {"cells": cells}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": r.meta}
        rows.append(row)
    return {"kind": "Table", "apiVersion": api_version, "metadata": list_meta,
            "columnDefinitions": [NAME_COL] + cols + [AGE_COL], "rows": rows}


def encode_table(res, recs, list_meta, include, api_version):
    return json.dumps(table(res, recs, list_meta, include, api_version),
                      separators=(",", ":"), ensure_ascii=False).encode()
