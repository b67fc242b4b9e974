"""Controllers-lite: just enough of kube-controller-manager for `helm install --wait`,
hooks and tests.  They run synchronously after each write (so a client that reads after its
write sees ready status), except Jobs and run-to-completion Pods, which finish after a delay.

Per-object test switches (annotations):
  fakekube.test/fail: "true"            Job fails (BackoffLimitExceeded) / Pod phase Failed
  fakekube.test/never-ready: "true"     workload never becomes ready, Job never completes
  fakekube.test/delay-seconds: "2.5"    delay before a Job / Pod completes
"""

import hashlib
import heapq
import json
import threading
import time

from .errors import ApiError
from .objects import now_ts
from .ops import rand_suffix

MANAGER = "kube-controller-manager"
ANN_FAIL = "fakekube.test/fail"
ANN_NEVER = "fakekube.test/never-ready"
ANN_DELAY = "fakekube.test/delay-seconds"
NODE = "fakekube-node"


def _ann(obj, key):
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(key)


def _hash(x, n=10):
    h = hashlib.sha256(json.dumps(x, sort_keys=True).encode()).digest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[b % len(alphabet)] for b in h[:n])


def set_condition(conds, ctype, status, reason=None, message=None, probe=False):
    now = now_ts()
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
                if "lastUpdateTime" in c:
                    c["lastUpdateTime"] = now
            elif (c.get("reason"), c.get("message")) != (reason, message) and "lastUpdateTime" in c:
                c["lastUpdateTime"] = now
            c["status"] = status
            if reason is not None:
                c["reason"] = reason
            if message is not None:
                c["message"] = message
            return conds
    c = {"type": ctype, "status": status}
    if probe:
        c["lastProbeTime"] = now
    c["lastTransitionTime"] = now
    if reason is not None:
        c["reason"] = reason
    if message is not None:
        c["message"] = message
    conds.append(c)
    return conds


class Controllers:
    def __init__(self, registry, job_delay=0.3, ca_pem=""):
        self.registry = registry
        self.job_delay = job_delay
        self.ca_pem = ca_pem
        self.api = None
        self._heap = []
        self._seq = 0
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fakekube-controllers", daemon=True)
        self._thread.start()
        self._lb = 0

    # ---- scheduling ---------------------------------------------------------------------

    def schedule(self, delay, fn):
        with self._cv:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, self._seq, fn))
            self._cv.notify()

    def _run(self):
        while True:
            with self._cv:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    wait = self._heap[0][0] - time.monotonic() if self._heap else 1.0
                    self._cv.wait(max(0.001, min(wait, 1.0)))
                if self._stop:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                with self.api.lock:
                    fn()
            except Exception as e:  # a controller must never take the server down
                import sys
                print("fakekube: controller error: %r" % e, file=sys.stderr)

    def stop(self):
        with self._cv:
            self._stop = True
            self._cv.notify()

    # ---- helpers ------------------------------------------------------------------------

    def res(self, group, plural):
        versions = self.registry.groups.get(group) or ["v1"]
        for v in versions:
            r = self.registry.lookup(group, v, plural)
            if r:
                return r
        return None

    def _get(self, group, plural, ns, name):
        r = self.res(group, plural)
        rec = self.api.store.get(r.skey, ns, name)
        return rec.obj() if rec else None

    def _set_status(self, group, plural, ns, name, status, spec_update=None):
        r = self.res(group, plural)
        rec = self.api.store.get(r.skey, ns, name)
        if rec is None:
            return
        obj = rec.obj()
        if obj["metadata"].get("deletionTimestamp"):
            return
        if spec_update:
            before = json.dumps(obj.get("spec"), sort_keys=True)
            spec_update(obj)
            if json.dumps(obj.get("spec"), sort_keys=True) != before:
                obj["metadata"].pop("resourceVersion", None)
                self.api.update(r, ns, name, obj, manager=MANAGER, internal=True)
                rec = self.api.store.get(r.skey, ns, name)
                if rec is None:
                    return
                obj = rec.obj()
        if obj.get("status") == status:
            return
        obj["status"] = status
        obj["metadata"].pop("resourceVersion", None)
        self.api.update(r, ns, name, obj, manager=MANAGER, subresource="status", internal=True)

    def _upd(self, res, ns, name, obj, **kw):
        """Unconditional write by a controller (nested reconciles may have moved the object on)."""
        obj["metadata"].pop("resourceVersion", None)
        return self.api.update(res, ns, name, obj, **kw)

    def _owned(self, uid, plural):
        r = self.res("apps" if plural in ("replicasets", "controllerrevisions") else "", plural)
        out = []
        for (skey, ns, name) in self.api.store.dependents(uid):
            if skey == r.skey:
                rec = self.api.store.get(skey, ns, name)
                if rec:
                    out.append(rec.obj())
        out.sort(key=lambda o: o["metadata"]["name"])
        return out

    @staticmethod
    def _owner_ref(obj):
        return {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                "name": obj["metadata"]["name"], "uid": obj["metadata"]["uid"],
                "controller": True, "blockOwnerDeletion": True}

    def _create(self, group, plural, ns, obj):
        r = self.res(group, plural)
        obj.setdefault("apiVersion", r.api_version)
        obj.setdefault("kind", r.kind)
        try:
            return self.api.create(r, ns, obj, manager=MANAGER, internal=True)
        except ApiError as e:
            if e.code != 409:
                raise
            return None

    def _delete(self, group, plural, ns, name):
        r = self.res(group, plural)
        try:
            self.api.delete(r, ns, name, {"propagationPolicy": "Background"})
        except ApiError:
            pass

    # ---- dispatch -----------------------------------------------------------------------

    def on_write(self, res, etype, obj, old):
        try:
            self._on_write(res, etype, obj, old)
        except Exception:
            import sys
            import traceback
            print("fakekube: controller error for %s %s:" % (res.kind, obj["metadata"].get("name")),
                  file=sys.stderr)
            traceback.print_exc()

    def _on_write(self, res, etype, obj, old):
        if etype == "DELETED":
            return
        if obj["metadata"].get("deletionTimestamp"):
            return
        if res.crd:
            return
        fn = getattr(self, "_" + res.kind, None)
        if fn is not None:
            fn(obj, old, etype)

    # ---- kinds --------------------------------------------------------------------------

    def _Namespace(self, obj, old, etype):
        if etype != "ADDED":
            return
        ns = obj["metadata"]["name"]
        self._create("", "serviceaccounts", ns, {"metadata": {"name": "default", "namespace": ns}})
        self._create("", "configmaps", ns, {"metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                                                          "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                                            "data": {"ca.crt": self.ca_pem}})

    def _CustomResourceDefinition(self, obj, old, etype):
        self.registry.register_crd(obj)
        spec = obj.get("spec") or {}
        st = json.loads(json.dumps(obj.get("status") or {}))
        names = dict(spec.get("names") or {})
        st["acceptedNames"] = names
        conds = st.setdefault("conditions", [])
        set_condition(conds, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
        set_condition(conds, "Established", "True", "InitialNamesAccepted",
                      "the initial names have been accepted")
        stored = st.get("storedVersions") or []
        for v in spec.get("versions") or []:
            if v.get("storage") and v["name"] not in stored:
                stored.append(v["name"])
        st["storedVersions"] = stored
        if st != obj.get("status"):
            self._set_status("apiextensions.k8s.io", "customresourcedefinitions", "",
                             obj["metadata"]["name"], st)

    def _Service(self, obj, old, etype):
        spec = obj.get("spec") or {}
        if spec.get("type") == "LoadBalancer":
            st = obj.get("status") or {}
            if not (st.get("loadBalancer") or {}).get("ingress"):
                self._lb += 1
                self._set_status("", "services", obj["metadata"]["namespace"],
                                 obj["metadata"]["name"],
                                 {"loadBalancer": {"ingress": [{"ip": "172.18.255.%d" % (self._lb % 250 + 1),
                                                                "ipMode": "VIP"}]}})

    def _PersistentVolumeClaim(self, obj, old, etype):
        st = obj.get("status") or {}
        if st.get("phase") == "Bound":
            return
        spec = obj.get("spec") or {}
        cap = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        vol = spec.get("volumeName") or "pvc-" + obj["metadata"]["uid"]

        def bind(o):
            o["spec"]["volumeName"] = vol
        self._set_status("", "persistentvolumeclaims", obj["metadata"]["namespace"],
                         obj["metadata"]["name"],
                         {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                          "capacity": {"storage": cap}}, spec_update=bind)

    def _PersistentVolume(self, obj, old, etype):
        if not (obj.get("status") or {}).get("phase"):
            self._set_status("", "persistentvolumes", "", obj["metadata"]["name"],
                             {"phase": "Available"})

    def _Deployment(self, obj, old, etype):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        ns, name = meta["namespace"], meta["name"]
        replicas = spec.get("replicas", 1)
        tmpl = json.loads(json.dumps(spec.get("template") or {}))
        h = _hash(tmpl)
        owned = self._owned(meta["uid"], "replicasets")
        current = None
        revs = [int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
                for rs in owned]
        for rs in owned:
            if (rs["metadata"].get("labels") or {}).get("pod-template-hash") == h:
                current = rs
        rev = str(max(revs + [0]) + (0 if current else 1))
        if current is not None:
            rev = (current["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", rev)
        if spec.get("paused"):
            return
        for rs in owned:
            if rs is not current and (rs.get("spec") or {}).get("replicas", 1) != 0:
                rs["spec"]["replicas"] = 0
                self._upd(self.res("apps", "replicasets"), ns, rs["metadata"]["name"], rs,
                                manager=MANAGER, internal=True)
        # like the deployment controller, copy the Deployment's annotations to its ReplicaSets
        copied = {k: v for k, v in (meta.get("annotations") or {}).items()
                  if k != "kubectl.kubernetes.io/last-applied-configuration"
                  and not k.startswith("deployment.kubernetes.io/")}
        for rs in owned:
            ra = rs["metadata"].get("annotations") or {}
            want = dict({k: v for k, v in ra.items() if k.startswith("deployment.kubernetes.io/")}, **copied)
            if want != ra:
                rs["metadata"]["annotations"] = want
                self._upd(self.res("apps", "replicasets"), ns, rs["metadata"]["name"], rs,
                          manager=MANAGER, internal=True)
                if rs is current:
                    current = self._get("apps", "replicasets", ns, rs["metadata"]["name"])
        if current is None:
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = json.loads(json.dumps(spec.get("selector") or {}))
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            self._create("apps", "replicasets", ns, {
                "metadata": {"name": "%s-%s" % (name, h), "namespace": ns,
                             "labels": dict(tmpl["metadata"]["labels"]),
                             "annotations": dict(copied, **{
                                 "deployment.kubernetes.io/desired-replicas": str(replicas),
                                 "deployment.kubernetes.io/max-replicas": str(replicas + 1),
                                 "deployment.kubernetes.io/revision": rev}),
                             "ownerReferences": [self._owner_ref(obj)]},
                "spec": {"replicas": replicas, "selector": sel, "template": tmpl}})
        elif current["spec"].get("replicas") != replicas:
            current["spec"]["replicas"] = replicas
            current["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(replicas)
            self._upd(self.res("apps", "replicasets"), ns, current["metadata"]["name"], current,
                            manager=MANAGER, internal=True)
        if (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision") != rev:
            d = self._get("apps", "deployments", ns, name)
            d["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = rev
            obj = self._upd(self.res("apps", "deployments"), ns, name, d, manager=MANAGER,
                                  internal=True)
        never = _ann(obj, ANN_NEVER) == "true"
        ready = 0 if never else replicas
        st = json.loads(json.dumps(obj.get("status") or {}))
        st["observedGeneration"] = obj["metadata"].get("generation", 1)
        for f, v in (("replicas", replicas), ("updatedReplicas", replicas),
                     ("readyReplicas", ready), ("availableReplicas", ready),
                     ("unavailableReplicas", replicas - ready)):
            if v:
                st[f] = v
            else:
                st.pop(f, None)
        conds = st.setdefault("conditions", [])
        for c in conds:
            c.setdefault("lastUpdateTime", c.get("lastTransitionTime"))
        if never:
            set_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability.")
            set_condition(conds, "Progressing", "True", "ReplicaSetUpdated",
                          'ReplicaSet "%s-%s" is progressing.' % (name, h))
        else:
            set_condition(conds, "Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability.")
            set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                          'ReplicaSet "%s-%s" has successfully progressed.' % (name, h))
        for c in conds:
            c.setdefault("lastUpdateTime", c["lastTransitionTime"])
        if st != obj.get("status"):
            self._set_status("apps", "deployments", ns, name, st)

    def _pod_status(self, phase="Running", ready=True):
        now = now_ts()
        st = {"phase": phase, "hostIP": "172.18.0.2", "hostIPs": [{"ip": "172.18.0.2"}],
              "podIP": "10.244.0.%d" % (self._seq % 250 + 2), "startTime": now,
              "qosClass": "BestEffort"}
        st["podIPs"] = [{"ip": st["podIP"]}]
        conds = []
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"):
            s = "True" if (ready or t in ("Initialized", "PodScheduled", "PodReadyToStartContainers")) else "False"
            c = {"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": now}
            if s == "False" and phase == "Succeeded":
                c["reason"] = "PodCompleted"
            conds.append(c)
        st["conditions"] = conds
        return st

    def _container_statuses(self, pod, phase):
        out = []
        for c in ((pod.get("spec") or {}).get("containers") or []):
            cs = {"name": c.get("name"), "image": c.get("image"), "imageID": "",
                  "ready": phase == "Running", "restartCount": 0, "started": phase == "Running"}
            if phase == "Running":
                cs["state"] = {"running": {"startedAt": now_ts()}}
            else:
                code = 0 if phase == "Succeeded" else 1
                cs["state"] = {"terminated": {"exitCode": code,
                                              "reason": "Completed" if code == 0 else "Error",
                                              "startedAt": now_ts(), "finishedAt": now_ts()}}
            out.append(cs)
        return out

    def _make_pod(self, owner, ns, name, tmpl, extra_labels, phase="Running"):
        tmpl = json.loads(json.dumps(tmpl or {}))
        md = tmpl.get("metadata") or {}
        labels = dict(md.get("labels") or {})
        labels.update(extra_labels)
        pod = {"metadata": {"name": name, "namespace": ns, "labels": labels,
                            "annotations": md.get("annotations") or {},
                            "ownerReferences": [self._owner_ref(owner)]},
               "spec": dict(tmpl.get("spec") or {}, nodeName=NODE)}
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        ready = phase == "Running" and _ann(owner, ANN_NEVER) != "true"
        pod["status"] = self._pod_status(phase, ready)
        pod["status"]["containerStatuses"] = self._container_statuses(pod, phase)
        if not ready:
            for cs in pod["status"]["containerStatuses"]:
                cs["ready"] = False
        self._seq += 1
        return self._create("", "pods", ns, pod)

    def _scale_pods(self, owner, replicas, tmpl, extra_labels, names=None):
        ns = owner["metadata"]["namespace"]
        pods = self._owned(owner["metadata"]["uid"], "pods")
        if names is not None:
            want = set(names)
            for p in pods:
                if p["metadata"]["name"] not in want:
                    self._delete("", "pods", ns, p["metadata"]["name"])
            have = {p["metadata"]["name"] for p in pods}
            for n in names:
                if n not in have:
                    self._make_pod(owner, ns, n, tmpl, dict(extra_labels, **{"statefulset.kubernetes.io/pod-name": n}))
            return
        for p in pods[replicas:]:
            self._delete("", "pods", ns, p["metadata"]["name"])
        for _ in range(len(pods), replicas):
            self._make_pod(owner, ns, owner["metadata"]["name"] + "-" + rand_suffix(), tmpl,
                           extra_labels)

    def _ReplicaSet(self, obj, old, etype):
        spec = obj.get("spec") or {}
        replicas = spec.get("replicas", 1)
        self._scale_pods(obj, replicas, spec.get("template"), {})
        never = _ann(obj, ANN_NEVER) == "true"
        st = {"replicas": replicas, "fullyLabeledReplicas": replicas,
              "readyReplicas": 0 if never else replicas,
              "availableReplicas": 0 if never else replicas,
              "observedGeneration": obj["metadata"].get("generation", 1)}
        st = {k: v for k, v in st.items() if v or k in ("replicas", "observedGeneration")}
        if st != obj.get("status"):
            self._set_status("apps", "replicasets", obj["metadata"]["namespace"],
                             obj["metadata"]["name"], st)

    def _StatefulSet(self, obj, old, etype):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        ns, name = meta["namespace"], meta["name"]
        replicas = spec.get("replicas", 1)
        rev = "%s-%s" % (name, _hash(spec.get("template") or {}))
        names = ["%s-%d" % (name, i) for i in range(replicas)]
        for vct in spec.get("volumeClaimTemplates") or []:
            for pn in names:
                cn = "%s-%s" % ((vct.get("metadata") or {}).get("name", "data"), pn)
                self._create("", "persistentvolumeclaims", ns, {
                    "metadata": {"name": cn, "namespace": ns,
                                 "labels": dict((spec.get("selector") or {}).get("matchLabels") or {})},
                    "spec": json.loads(json.dumps(vct.get("spec") or {}))})
        self._scale_pods(obj, replicas, spec.get("template"),
                         {"controller-revision-hash": rev}, names=names)
        never = _ann(obj, ANN_NEVER) == "true"
        ready = 0 if never else replicas
        st = {"observedGeneration": meta.get("generation", 1), "replicas": replicas,
              "readyReplicas": ready, "currentReplicas": replicas, "updatedReplicas": replicas,
              "availableReplicas": ready, "currentRevision": rev, "updateRevision": rev,
              "collisionCount": 0}
        st = {k: v for k, v in st.items() if v or k in ("replicas", "observedGeneration", "collisionCount", "availableReplicas")}
        if st != obj.get("status"):
            self._set_status("apps", "statefulsets", ns, name, st)

    def _DaemonSet(self, obj, old, etype):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        ns, name = meta["namespace"], meta["name"]
        self._scale_pods(obj, 1, spec.get("template"),
                         {"controller-revision-hash": _hash(spec.get("template") or {})})
        never = _ann(obj, ANN_NEVER) == "true"
        n = 0 if never else 1
        st = {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 0,
              "numberReady": n, "numberAvailable": n, "updatedNumberScheduled": 1,
              "observedGeneration": meta.get("generation", 1)}
        if never:
            st["numberUnavailable"] = 1
            del st["numberAvailable"]
        if st != obj.get("status"):
            self._set_status("apps", "daemonsets", ns, name, st)

    def _delay(self, obj):
        d = _ann(obj, ANN_DELAY)
        try:
            return float(d) if d is not None else self.job_delay
        except ValueError:
            return self.job_delay

    def _Job(self, obj, old, etype):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        if etype != "ADDED" or spec.get("suspend"):
            return
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        start = now_ts()
        self._make_pod(obj, ns, "%s-%s" % (name, rand_suffix()), spec.get("template"),
                       {"batch.kubernetes.io/controller-uid": uid,
                        "batch.kubernetes.io/job-name": name, "controller-uid": uid,
                        "job-name": name})
        self._set_status("batch", "jobs", ns, name,
                         {"startTime": start, "active": 1, "ready": 0,
                          "uncountedTerminatedPods": {}})
        if _ann(obj, ANN_NEVER) == "true":
            return
        self.schedule(self._delay(obj), lambda: self._finish_job(ns, name, uid, start))

    def _finish_job(self, ns, name, uid, start):
        job = self._get("batch", "jobs", ns, name)
        if job is None or job["metadata"]["uid"] != uid:
            return
        fail = _ann(job, ANN_FAIL) == "true"
        now = now_ts()
        phase = "Failed" if fail else "Succeeded"
        for p in self._owned(uid, "pods"):
            p["status"]["phase"] = phase
            p["status"]["conditions"] = self._pod_status(phase, False)["conditions"]
            p["status"]["containerStatuses"] = self._container_statuses(p, phase)
            self._upd(self.res("", "pods"), ns, p["metadata"]["name"], p, manager=MANAGER,
                            subresource="status", internal=True)
        st = {"startTime": start, "ready": 0, "uncountedTerminatedPods": {}, "conditions": []}
        if fail:
            backoff = (job.get("spec") or {}).get("backoffLimit", 6)
            st["failed"] = backoff + 1
            for t in ("FailureTarget", "Failed"):
                st["conditions"].append({"type": t, "status": "True", "lastProbeTime": now,
                                         "lastTransitionTime": now, "reason": "BackoffLimitExceeded",
                                         "message": "Job has reached the specified backoff limit"})
        else:
            st["succeeded"] = 1
            st["completionTime"] = now
            st["conditions"] = [
                {"type": "SuccessCriteriaMet", "status": "True", "lastProbeTime": now,
                 "lastTransitionTime": now, "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"},
                {"type": "Complete", "status": "True", "lastProbeTime": now,
                 "lastTransitionTime": now, "reason": "CompletionsReached",
                 "message": "Reached expected number of succeeded pods"}]
        self._set_status("batch", "jobs", ns, name, st)

    def _Pod(self, obj, old, etype):
        meta, spec = obj["metadata"], obj.get("spec") or {}
        if etype != "ADDED" or meta.get("ownerReferences"):
            return
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        if not spec.get("nodeName"):
            def bind(o):
                o["spec"]["nodeName"] = NODE
        else:
            bind = None
        st = self._pod_status("Running", True)
        st["containerStatuses"] = self._container_statuses(obj, "Running")
        self._set_status("", "pods", ns, name, st, spec_update=bind)
        if spec.get("restartPolicy", "Always") == "Always" or _ann(obj, ANN_NEVER) == "true":
            return

        def finish():
            p = self._get("", "pods", ns, name)
            if p is None or p["metadata"]["uid"] != uid:
                return
            phase = "Failed" if _ann(p, ANN_FAIL) == "true" else "Succeeded"
            st2 = self._pod_status(phase, False)
            st2["containerStatuses"] = self._container_statuses(p, phase)
            self._set_status("", "pods", ns, name, st2)
        self.schedule(self._delay(obj), finish)


def bootstrap(api, registry):
    """The objects every cluster starts with."""
    def res(g, v, p):
        return registry.lookup(g, v, p)
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        api.create(res("", "v1", "namespaces"), "", {"apiVersion": "v1", "kind": "Namespace",
                                                       "metadata": {"name": ns}},
                   manager="kube-apiserver")
    api.create(res("", "v1", "nodes"), "", {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": NODE, "labels": {"kubernetes.io/hostname": NODE,
                                              "kubernetes.io/os": "linux",
                                              "kubernetes.io/arch": "amd64",
                                              "node-role.kubernetes.io/control-plane": ""}},
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "message": "kubelet is posting ready status"}],
                   "addresses": [{"type": "InternalIP", "address": "172.18.0.2"},
                                 {"type": "Hostname", "address": NODE}],
                   "capacity": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                   "allocatable": {"cpu": "2", "memory": "8Gi", "pods": "110"},
                   "nodeInfo": {"kubeletVersion": "v1.31.0", "operatingSystem": "linux",
                                "architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.18"}}},
        manager="kubelet", internal=True)
    api.create(res("", "v1", "services"), "default", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"clusterIP": "10.96.0.1",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
        manager="kube-apiserver")
    api.create(res("storage.k8s.io", "v1", "storageclasses"), "", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "standard",
                     "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate"}, manager="kube-apiserver")
