"""The /_fake/ control API (no authentication; never in the request log).

  GET    /_fake/healthz                 "ok"
  GET    /_fake/info                    url, port, kubeconfig, token, CA, resourceVersion, counts
  GET    /_fake/faults                  active rules
  POST   /_fake/faults                  add a rule (JSON object, or a list of them) -> {"ids": [...]}
  DELETE /_fake/faults[?id=N]           remove one / all rules
  GET    /_fake/requests[?since=SEQ]    request log (JSON array, oldest first)
  POST   /_fake/reset-log               empty the request log (also DELETE /_fake/requests)
  POST   /_fake/load[?replace=1][&precompress=1]  bulk create: a JSON List/array, or NDJSON
  POST   /_fake/compact                 forget history: old watches and continue tokens expire
  POST   /_fake/auth                    {"tokens": [...], "basic": {"user": "pw"}, "clientCerts": bool}
  POST   /_fake/settings                {"jobDelay": seconds, "bookmarkInterval": seconds,
                                         "acceptLog": bool}
  GET    /_fake/accepted[?since=SEQ]    accept log: each committed write (seq, time: Unix
                                        seconds as a float, type, resource, namespace, name,
                                        resourceVersion); on with --accept-log or acceptLog
  GET    /_fake/traffic                 {"requests": N, "bytes": N}: API requests answered
                                        and response body bytes sent (watch streams as written)
  POST   /_fake/shutdown                stop the server (the process exits)
"""

import json
import threading

from .errors import ApiError, bad_request


def _j(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def control(fk, h, path, q, body):
    from .server import _Resp
    m = h.command
    p = path.rstrip("/")
    if p == "/_fake/healthz":
        return _Resp(200, b"ok", "text/plain")
    if p == "/_fake/info":
        info = fk.info()
        with fk.store.lock:
            info["resourceVersion"] = fk.store.rv
            info["counts"] = {"%s/%s" % k if k[0] else k[1]: len(t)
                              for k, t in fk.store.tables.items()}
        return _Resp(200, _j(info))
    if p == "/_fake/faults":
        if m == "GET":
            return _Resp(200, _j(fk.faults.list()))
        if m == "POST":
            spec = json.loads(body or b"{}")
            specs = spec if isinstance(spec, list) else [spec]
            ids = [fk.faults.add(s).id for s in specs]
            return _Resp(201, _j({"ids": ids, "id": ids[0] if ids else None}))
        if m == "DELETE":
            fk.faults.clear(int(q["id"]) if q.get("id") else None)
            return _Resp(200, b"{}")
    if p == "/_fake/requests":
        if m == "GET":
            return _Resp(200, _j(fk.log.since(int(q.get("since") or 0))))
        if m == "DELETE":
            fk.log.reset()
            return _Resp(200, b"{}")
    if p == "/_fake/reset-log" and m == "POST":
        fk.log.reset()
        return _Resp(200, b"{}")
    if p == "/_fake/accepted" and m == "GET":
        since = int(q.get("since") or 0)
        with fk.store.lock:
            acc = fk.store.accepted
            if acc is None:
                raise ApiError(409, "the accept log is off (--accept-log, or POST /_fake/settings "
                               "{\"acceptLog\": true})", "Conflict")
            out = acc[since:]
        return _Resp(200, _j(out))
    if p == "/_fake/traffic" and m == "GET":
        with fk.traffic_lock:
            return _Resp(200, _j(dict(fk.traffic)))
    if p == "/_fake/compact" and m == "POST":
        fk.store.compact()
        return _Resp(200, _j({"compacted": fk.store.compacted}))
    if p == "/_fake/auth" and m == "POST":
        spec = json.loads(body or b"{}")
        if "tokens" in spec:
            fk.tokens = set(spec["tokens"])
        if "basic" in spec:
            fk.basic = dict(spec["basic"])
        if "clientCerts" in spec:
            fk.client_certs = bool(spec["clientCerts"])
        return _Resp(200, b"{}")
    if p == "/_fake/settings" and m == "POST":
        spec = json.loads(body or b"{}")
        if "jobDelay" in spec:
            fk.controllers.job_delay = float(spec["jobDelay"])
        if "bookmarkInterval" in spec:
            fk.bookmark_interval = float(spec["bookmarkInterval"])
        if "acceptLog" in spec:
            with fk.store.lock:
                if not spec["acceptLog"]:
                    fk.store.accepted = None
                elif fk.store.accepted is None:
                    fk.store.accepted = []
        return _Resp(200, b"{}")
    if p == "/_fake/load" and m == "POST":
        return _Resp(200, _j(load(fk, body, q.get("replace") in ("1", "true"),
                                  q.get("precompress") in ("1", "true"))))
    if p == "/_fake/shutdown" and m == "POST":
        threading.Thread(target=fk.stop, daemon=True).start()
        return _Resp(200, b"{}")
    raise ApiError(404, "unknown control endpoint %s %s" % (m, path), "NotFound")


def _items(body):
    if not isinstance(body, (bytes, bytearray)):
        # a lazily read body: NDJSON streams line by line, anything else is read whole
        it = iter(body)
        first = b""
        for first in it:
            if first.strip():
                break
        if first.lstrip()[:1] == b"{":
            try:
                doc = json.loads(first)
            except ValueError:
                doc = None
            if doc is not None and not (isinstance(doc.get("items"), list) and len(first.strip()) and
                                        doc.get("kind", "").endswith("List")):
                yield doc
                for line in it:
                    if line.strip():
                        yield json.loads(line)
                return
        body = first + b"".join(it)
    text = body.lstrip()
    if text[:1] == b"[":
        for o in json.loads(body):
            yield o
        return
    if text[:1] == b"{":
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if doc is not None:
            if isinstance(doc.get("items"), list) and doc.get("kind", "List").endswith("List"):
                for o in doc["items"]:
                    yield o
            else:
                yield doc
            return
    for line in body.splitlines():
        line = line.strip()
        if line:
            yield json.loads(line)


def load(fk, body, replace=False, precompress=False):
    """Bulk create (for seeding benchmarks): objects go through the normal create path;
    missing namespaces are created; with replace, existing objects are overwritten; with
    precompress, the gzip form of each object is computed now rather than on the first
    gzip LIST."""
    api, reg = fk.api, fk.registry
    nsres = reg.lookup("", "v1", "namespaces")
    created = replaced = 0
    errors = []
    with api.lock:
        for obj in _items(body):
            if not isinstance(obj, dict):
                raise bad_request("load: items must be objects")
            res = reg.by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            if res is None:
                errors.append("no resource for %s %s" % (obj.get("apiVersion"), obj.get("kind")))
                continue
            meta = obj.setdefault("metadata", {})
            ns = ""
            if res.namespaced:
                ns = meta.get("namespace") or "default"
                if fk.store.get(nsres.skey, "", ns) is None:
                    api.create(nsres, "", {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": ns}}, manager="fakekube-load")
            try:
                if replace and fk.store.get(res.skey, ns, meta.get("name", "")) is not None:
                    meta.pop("resourceVersion", None)
                    api.update(res, ns, meta["name"], obj, manager="fakekube-load", internal=True)
                    replaced += 1
                else:
                    api.create(res, ns, obj, manager="fakekube-load", internal=True)
                    created += 1
                if precompress:
                    rec = fk.store.get(res.skey, ns, meta["name"])
                    if rec is not None:
                        rec.gz_tail()
            except ApiError as e:
                if len(errors) < 20:
                    errors.append(e.message)
    return {"created": created, "replaced": replaced, "errors": errors,
            "resourceVersion": fk.store.rv}
