#!/usr/bin/env python3
"""API semantics of the fake server over raw HTTPS (no kubectl/helm needed): auth,
discovery, Status errors, selectors, paging and 410, metadata-only and Table lists,
watch, the patch types, dry run, deletion, controllers, fault injection, gzip, and a
LIST of 2500 big Secrets whole, paged and metadata-only (its timing: bench/fakekube.py)."""

import base64
import gzip
import json
import os
import socket
import ssl
import sys
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fakekube_util as fku  # noqa: E402

KUBE = None
T0 = time.time()
PERF_N = int(os.environ.get("FAKEKUBE_PERF_N", "2500"))
PERF_KIB = int(os.environ.get("FAKEKUBE_PERF_KIB", "20"))


def setUpModule():
    global KUBE
    KUBE = fku.FakeKube(job_delay=0.2).start()


def tearDownModule():
    if KUBE is not None:
        KUBE.stop()


def req(method, path, body=None, **kw):
    st, h, data = KUBE.request(method, path, body, **kw)
    try:
        doc = json.loads(data) if data else None
    except ValueError:
        doc = data
    return st, doc


def secret(name, ns="default", labels=None, data=None, **extra):
    o = {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
         "data": data or {"k": base64.b64encode(b"v").decode()}}
    o.update(extra)
    return o


def ns(name):
    st, _ = req("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": name}})
    assert st == 201, st


def deployment(name, namespace, replicas=1, image="nginx:1"):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": image,
                                                           "env": [{"name": "A", "value": "1"}]}]}}}}


class Auth(unittest.TestCase):
    def test_tokens_basic_and_certs(self):
        st, doc = req("GET", "/api/v1/secrets", auth=False)
        self.assertEqual((st, doc["reason"]), (401, "Unauthorized"))
        st, doc = req("GET", "/api/v1/secrets", auth=False, headers={"Authorization": "Bearer no"})
        self.assertEqual(st, 401)
        self.assertEqual(doc["kind"], "Status")
        st, doc = req("GET", "/version", auth=False)
        self.assertEqual((st, doc["gitVersion"]), (200, "v1.31.0"))
        KUBE.set_auth(tokens=[KUBE.token, "second"], basic={"u": "p"})
        try:
            self.assertEqual(req("GET", "/api", auth=False, headers={"Authorization": "Bearer second"})[0], 200)
            b = base64.b64encode(b"u:p").decode()
            self.assertEqual(req("GET", "/api", auth=False, headers={"Authorization": "Basic " + b})[0], 200)
            b = base64.b64encode(b"u:x").decode()
            self.assertEqual(req("GET", "/api", auth=False, headers={"Authorization": "Basic " + b})[0], 401)
        finally:
            KUBE.set_auth(tokens=[KUBE.token], basic={})
        # client certificate signed by the server's CA
        ctx = ssl.create_default_context(cafile=KUBE.ca)
        ctx.load_cert_chain(KUBE.info["clientCert"], KUBE.info["clientKey"])
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", KUBE.port, context=ctx)
        c.request("GET", "/api/v1/namespaces/default")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.read())["metadata"]["name"], "default")
        c.close()


class Discovery(unittest.TestCase):
    def test_documents(self):
        st, doc = req("GET", "/api")
        self.assertEqual(doc["kind"], "APIVersions")
        st, doc = req("GET", "/apis")
        names = [g["name"] for g in doc["groups"]]
        for g in ("apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io",
                  "apiextensions.k8s.io", "policy", "autoscaling", "storage.k8s.io"):
            self.assertIn(g, names)
        st, doc = req("GET", "/apis/apps/v1")
        rs = {r["name"]: r for r in doc["resources"]}
        self.assertTrue(rs["deployments"]["namespaced"])
        self.assertIn("deployments/status", rs)
        st, doc = req("GET", "/api/v1")
        rs = {r["name"]: r for r in doc["resources"]}
        self.assertFalse(rs["namespaces"]["namespaced"])
        self.assertFalse(rs["persistentvolumes"]["namespaced"])
        st, h, data = KUBE.request("GET", "/apis", headers={
            "Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"})
        self.assertIn("as=APIGroupDiscoveryList", h["content-type"])
        self.assertEqual(json.loads(data)["kind"], "APIGroupDiscoveryList")
        st, doc = req("GET", "/openapi/v3")
        self.assertIn("api/v1", doc["paths"])
        st, doc = req("GET", "/apis/nope/v1")
        self.assertEqual(st, 404)

    def test_removed_versions_not_served(self):
        # As a 1.31+ server: the removed versions are gone from discovery and their paths
        # answer 404; the replacements are served (issue 16).
        st, doc = req("GET", "/apis")
        gvs = {v["groupVersion"] for g in doc["groups"] for v in g["versions"]}
        for gv in ("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2", "policy/v1beta1",
                   "networking.k8s.io/v1beta1", "apiextensions.k8s.io/v1beta1",
                   "batch/v1beta1", "autoscaling/v2beta1", "autoscaling/v2beta2",
                   "rbac.authorization.k8s.io/v1beta1", "storage.k8s.io/v1beta1",
                   "admissionregistration.k8s.io/v1beta1", "scheduling.k8s.io/v1beta1"):
            self.assertNotIn(gv, gvs)
            st, _ = req("GET", "/apis/" + gv)
            self.assertEqual(st, 404, gv)
        for gv in ("apiregistration.k8s.io/v1", "discovery.k8s.io/v1", "events.k8s.io/v1",
                   "node.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1", "policy/v1"):
            self.assertIn(gv, gvs)
        st, _ = req("POST", "/apis/extensions/v1beta1/namespaces/default/ingresses",
                    {"apiVersion": "extensions/v1beta1", "kind": "Ingress",
                     "metadata": {"name": "old"}})
        self.assertEqual(st, 404)

    def test_current_versions_refuse_old_shapes(self):
        old = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i1"},
               "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {
                   "serviceName": "s", "servicePort": 80}}]}}]}}
        st, doc = req("POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", old)
        self.assertEqual(st, 422, doc)
        self.assertIn("pathType", doc["message"])
        new = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i1"},
               "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                   "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}}
        st, doc = req("POST", "/apis/networking.k8s.io/v1/namespaces/default/ingresses", new)
        self.assertEqual(st, 201, doc)
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "olds.o.example"},
               "spec": {"group": "o.example", "scope": "Namespaced", "version": "v1",
                        "names": {"plural": "olds", "kind": "Old"},
                        "versions": [{"name": "v1", "served": True, "storage": True}]}}
        st, doc = req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        self.assertEqual(st, 422, doc)
        self.assertIn("openAPIV3Schema", doc["message"])
        hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
               "metadata": {"name": "h"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                        "maxReplicas": 2, "metrics": [{"type": "Resource", "resource": {
                            "name": "cpu", "targetAverageUtilization": 60}}]}}
        st, doc = req("POST", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", hpa)
        self.assertEqual(st, 422, doc)

    def test_crd_makes_kind_servable(self):
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "things.t.example"},
               "spec": {"group": "t.example", "scope": "Cluster",
                        "names": {"kind": "Thing", "plural": "things"},
                        "versions": [{"name": "v1", "served": True, "storage": True,
                                      "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
        self.assertEqual(req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)[0], 201)
        st, doc = req("GET", "/apis/t.example/v1")
        self.assertEqual(doc["resources"][0]["name"], "things")
        self.assertFalse(doc["resources"][0]["namespaced"])
        st, doc = req("POST", "/apis/t.example/v1/things", {"apiVersion": "t.example/v1",
                                                            "kind": "Thing", "metadata": {"name": "a"},
                                                            "spec": {"x": 1}})
        self.assertEqual((st, doc["metadata"]["generation"]), (201, 1))
        st, doc = req("GET", "/apis/t.example/v1/things/a")
        self.assertEqual(doc["spec"], {"x": 1})
        # strategic merge patch is refused for custom resources
        st, doc = req("PATCH", "/apis/t.example/v1/things/a", b'{"spec":{"x":2}}',
                      content_type="application/strategic-merge-patch+json")
        self.assertEqual(st, 415)
        st, doc = req("PATCH", "/apis/t.example/v1/things/a", b'{"spec":{"x":2}}',
                      content_type="application/merge-patch+json")
        self.assertEqual((st, doc["metadata"]["generation"]), (200, 2))
        req("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.t.example")
        self.assertEqual(req("GET", "/apis/t.example/v1/things")[0], 404)


class Errors(unittest.TestCase):
    def test_status_errors(self):
        ns("errs")
        st, doc = req("POST", "/api/v1/namespaces/errs/secrets", secret("s", "errs"))
        self.assertEqual(st, 201)
        self.assertRegex(doc["metadata"]["uid"], "^[0-9a-f-]{36}$")
        self.assertTrue(doc["metadata"]["resourceVersion"].isdigit())
        self.assertTrue(doc["metadata"]["creationTimestamp"].endswith("Z"))
        rv = doc["metadata"]["resourceVersion"]
        st, doc = req("POST", "/api/v1/namespaces/errs/secrets", secret("s", "errs"))
        self.assertEqual((st, doc["reason"], doc["message"]),
                         (409, "AlreadyExists", 'secrets "s" already exists'))
        self.assertEqual(doc["details"], {"name": "s", "kind": "secrets"})
        st, doc = req("GET", "/api/v1/namespaces/errs/secrets/nope")
        self.assertEqual((st, doc["reason"], doc["message"]), (404, "NotFound", 'secrets "nope" not found'))
        st, doc = req("GET", "/apis/apps/v1/namespaces/errs/deployments/nope")
        self.assertEqual(doc["message"], 'deployments.apps "nope" not found')
        self.assertEqual(doc["details"]["group"], "apps")
        upd = secret("s", "errs", data={"k": base64.b64encode(b"v2").decode()})
        upd["metadata"]["resourceVersion"] = rv
        self.assertEqual(req("PUT", "/api/v1/namespaces/errs/secrets/s", upd)[0], 200)
        st, doc = req("PUT", "/api/v1/namespaces/errs/secrets/s", upd)
        self.assertEqual((st, doc["reason"]), (409, "Conflict"))
        self.assertIn("the object has been modified", doc["message"])
        st, doc = req("POST", "/api/v1/namespaces/errs/secrets", secret("Bad_Name", "errs"))
        self.assertEqual((st, doc["reason"]), (422, "Invalid"))
        self.assertTrue(doc["message"].startswith('Secret "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"'))
        big = base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()
        st, doc = req("POST", "/api/v1/namespaces/errs/secrets", secret("big", "errs", data={"a": big}))
        self.assertEqual(st, 422)
        self.assertIn("data: Too long: must have at most 1048576 bytes", doc["message"])
        st, doc = req("POST", "/api/v1/namespaces/errs/secrets", b"{nope")
        self.assertEqual((st, doc["reason"]), (400, "BadRequest"))
        st, doc = req("POST", "/api/v1/namespaces/nope/secrets", secret("s", "nope"))
        self.assertEqual((st, doc["message"]), (404, 'namespaces "nope" not found'))
        st, doc = req("POST", "/api/v1/namespaces/errs/secrets", secret("s2", "other"))
        self.assertEqual(st, 400)
        st, doc = req("GET", "/api/v1/secrets?labelSelector=a%20in%20(b")
        self.assertEqual(st, 400)
        st, doc = req("GET", "/api/v1/secrets?fieldSelector=spec.foo%3Db")
        self.assertEqual((st, doc["message"]), (400, "field label not supported: spec.foo"))
        d = deployment("d", "errs")
        d["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        st, doc = req("POST", "/apis/apps/v1/namespaces/errs/deployments", d)
        self.assertEqual(st, 422)
        self.assertIn("selector", doc["message"])
        st, doc = req("GET", "/api/v1/nope")
        self.assertEqual((st, doc["message"]), (404, "the server could not find the requested resource"))


class Lists(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ns("lists")
        ns("lists2")
        objs = [secret("s%02d" % i, "lists", labels={"i": str(i), "par": "even" if i % 2 == 0 else "odd"})
                for i in range(25)]
        objs.append(secret("other", "lists2", labels={"i": "0", "x": "y"}))
        KUBE.load(objs)

    def names(self, q, ns_="lists"):
        path = "/api/v1/namespaces/%s/secrets" % ns_ if ns_ else "/api/v1/secrets"
        st, doc = req("GET", path + "?" + q)
        self.assertEqual(st, 200, doc)
        return [i["metadata"]["name"] for i in doc["items"]]

    def test_label_selectors(self):
        q = urllib.parse.quote
        self.assertEqual(self.names("labelSelector=" + q("i=3")), ["s03"])
        self.assertEqual(self.names("labelSelector=" + q("i==3")), ["s03"])
        self.assertEqual(len(self.names("labelSelector=" + q("par!=even"))), 12)
        self.assertEqual(self.names("labelSelector=" + q("i in (1, 2,30)")), ["s01", "s02"])
        self.assertEqual(len(self.names("labelSelector=" + q("i notin (1,2),par=odd"))), 11)
        self.assertEqual(self.names("labelSelector=" + q("x"), None), ["other"])
        self.assertEqual(len(self.names("labelSelector=" + q("!x"), "lists")), 25)
        self.assertEqual(sorted(self.names("labelSelector=i%3D0", None)), ["other", "s00"])

    def test_field_selectors(self):
        self.assertEqual(self.names("fieldSelector=metadata.name%3Ds07"), ["s07"])
        self.assertEqual(self.names("fieldSelector=metadata.namespace%3Dlists2", None), ["other"])
        self.assertEqual(len(self.names("fieldSelector=metadata.name!%3Ds07")), 24)
        self.assertEqual(len(self.names("fieldSelector=type%3DOpaque")), 25)

    def test_paging_and_expiry(self):
        st, p1 = req("GET", "/api/v1/namespaces/lists/secrets?limit=10")
        self.assertEqual(len(p1["items"]), 10)
        self.assertEqual(p1["metadata"]["remainingItemCount"], 15)
        rv = p1["metadata"]["resourceVersion"]
        tok = p1["metadata"]["continue"]
        st, p2 = req("GET", "/api/v1/namespaces/lists/secrets?limit=10&continue=" + tok)
        self.assertEqual(p2["metadata"]["resourceVersion"], rv)
        st, p3 = req("GET", "/api/v1/namespaces/lists/secrets?limit=10&continue=" + p2["metadata"]["continue"])
        self.assertNotIn("continue", p3["metadata"])
        got = [i["metadata"]["name"] for p in (p1, p2, p3) for i in p["items"]]
        self.assertEqual(got, ["s%02d" % i for i in range(25)])
        # injected: the next continue on this path is too old
        KUBE.add_fault(action="expire-continue", path="/namespaces/lists/secrets$")
        st, doc = req("GET", "/api/v1/namespaces/lists/secrets?limit=10&continue=" + tok)
        self.assertEqual((st, doc["reason"]), (410, "Expired"))
        self.assertIn("continue", doc["metadata"])
        st, doc = req("GET", "/api/v1/namespaces/lists/secrets?limit=10&continue=" + tok)
        self.assertEqual(st, 200)
        # natural: history compacted
        KUBE.compact()
        st, doc = req("GET", "/api/v1/namespaces/lists/secrets?limit=10&continue=" + tok)
        self.assertEqual((st, doc["code"], doc["reason"]), (410, 410, "Expired"))
        st, doc = req("GET", "/api/v1/namespaces/lists/secrets?limit=10&continue=" + doc["metadata"]["continue"])
        self.assertEqual((st, doc["items"][0]["metadata"]["name"]), (200, "s10"))
        st, doc = req("GET", "/api/v1/namespaces/lists/secrets?limit=10&continue=garbage")
        self.assertEqual(st, 400)

    def test_metadata_only_and_table(self):
        st, h, data = KUBE.request("GET", "/api/v1/namespaces/lists/secrets?limit=5", headers={
            "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"})
        doc = json.loads(data)
        self.assertEqual((doc["kind"], doc["apiVersion"]), ("PartialObjectMetadataList", "meta.k8s.io/v1"))
        self.assertEqual(doc["items"][0]["kind"], "PartialObjectMetadata")
        self.assertNotIn("data", doc["items"][0])
        self.assertIn("continue", doc["metadata"])
        st, doc = req("GET", "/api/v1/namespaces/lists/secrets/s01", headers={
            "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"})
        self.assertEqual(st, 406)
        st, doc = req("GET", "/api/v1/namespaces/lists/secrets?labelSelector=i%3D1", headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
        self.assertEqual(doc["kind"], "Table")
        self.assertEqual(doc["rows"][0]["cells"][:3], ["s01", "Opaque", 1])


class Watch(unittest.TestCase):
    def stream(self, path, out, done):
        ctx = ssl.create_default_context(cafile=KUBE.ca)
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", KUBE.port, context=ctx, timeout=30)
        c.request("GET", path, headers={"Authorization": "Bearer " + KUBE.token})
        r = c.getresponse()
        out.append(r.status)
        for line in r:
            out.append(json.loads(line))
        c.close()
        done.set()

    def test_events(self):
        ns("watch")
        st, lst = req("GET", "/api/v1/namespaces/watch/configmaps")
        rv = lst["metadata"]["resourceVersion"]
        out, done = [], threading.Event()
        t = threading.Thread(target=self.stream, daemon=True, args=(
            "/api/v1/namespaces/watch/configmaps?watch=1&labelSelector=w%3D1&timeoutSeconds=3&resourceVersion=" + rv,
            out, done))
        t.start()
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "c", "namespace": "watch", "labels": {"w": "1"}}, "data": {"a": "1"}}
        req("POST", "/api/v1/namespaces/watch/configmaps", cm)
        req("PATCH", "/api/v1/namespaces/watch/configmaps/c", b'{"data":{"a":"2"}}',
            content_type="application/merge-patch+json")
        req("PATCH", "/api/v1/namespaces/watch/configmaps/c", b'{"metadata":{"labels":{"w":"0"}}}',
            content_type="application/merge-patch+json")
        req("POST", "/api/v1/namespaces/watch/configmaps",
            dict(cm, metadata=dict(cm["metadata"], name="d")))
        req("DELETE", "/api/v1/namespaces/watch/configmaps/d")
        self.assertTrue(done.wait(10), "timeoutSeconds did not end the watch")
        self.assertEqual(out[0], 200)
        evs = [(e["type"], e["object"]["metadata"]["name"]) for e in out[1:]]
        # the label change takes c out of the selection: a DELETED event
        self.assertEqual(evs, [("ADDED", "c"), ("MODIFIED", "c"), ("DELETED", "c"),
                               ("ADDED", "d"), ("DELETED", "d")])
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in out[1:]]
        self.assertEqual(rvs, sorted(rvs))
        # from a compacted resourceVersion: ERROR 410
        KUBE.compact()
        out2, done2 = [], threading.Event()
        self.stream("/api/v1/namespaces/watch/configmaps?watch=true&resourceVersion=" + rv, out2, done2)
        self.assertEqual(out2[1]["type"], "ERROR")
        self.assertEqual(out2[1]["object"]["code"], 410)
        # without resourceVersion: synthetic ADDED for what exists
        out3, done3 = [], threading.Event()
        self.stream("/api/v1/namespaces/watch/configmaps?watch=true&timeoutSeconds=1", out3, done3)
        self.assertEqual(sorted(e["object"]["metadata"]["name"] for e in out3[1:]),
                         ["c", "kube-root-ca.crt"])


    def test_accept_log_and_traffic(self):
        """Benchmarks read when a write committed (accept log) and what the API served."""
        ns("acclog")
        st, h, data = KUBE.request("GET", "/_fake/accepted", auth=False)
        self.assertEqual(st, 409)      # off unless asked for
        KUBE.settings(acceptLog=True)
        try:
            before = KUBE.control("GET", "traffic")
            t0 = time.time()
            st, cm = req("POST", "/api/v1/namespaces/acclog/configmaps",
                         {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "a1", "namespace": "acclog"}})
            self.assertEqual(st, 201)
            st, cm2 = req("PUT", "/api/v1/namespaces/acclog/configmaps/a1",
                          dict(cm, data={"k": "v"}))
            st, _ = req("DELETE", "/api/v1/namespaces/acclog/configmaps/a1")
            t1 = time.time()
            acc = KUBE.control("GET", "accepted")
            self.assertEqual([(e["type"], e["namespace"], e["name"]) for e in acc],
                             [("ADDED", "acclog", "a1"), ("MODIFIED", "acclog", "a1"),
                              ("DELETED", "acclog", "a1")])
            self.assertEqual(acc[0]["resourceVersion"], cm["metadata"]["resourceVersion"])
            self.assertEqual(acc[1]["resourceVersion"], cm2["metadata"]["resourceVersion"])
            self.assertEqual(acc[0]["resource"], "configmaps")
            self.assertTrue(t0 <= acc[0]["time"] <= acc[1]["time"] <= acc[2]["time"] <= t1, acc)
            self.assertEqual([e["seq"] for e in KUBE.control("GET", "accepted?since=2")], [3])
            after = KUBE.control("GET", "traffic")
            # the three API requests, not the control ones
            self.assertEqual(after["requests"] - before["requests"], 3)
            self.assertGreater(after["bytes"] - before["bytes"], len(json.dumps(cm)))
        finally:
            KUBE.settings(acceptLog=False)

    def test_bookmarks_and_cut(self):
        ns("watchbm")
        st, lst = req("GET", "/api/v1/namespaces/watchbm/configmaps")
        rv = lst["metadata"]["resourceVersion"]
        base = "/api/v1/namespaces/watchbm/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion="
        # kube-apiserver sends a BOOKMARK 2 s before the deadline (and every minute):
        # timeoutSeconds=3 gets one, at the resourceVersion the watch has reached
        out, done = [], threading.Event()
        self.stream(base + rv + "&timeoutSeconds=3", out, done)
        self.assertEqual([e["type"] for e in out[1:]], ["BOOKMARK"])
        bm = out[1]["object"]
        self.assertEqual(bm["kind"], "ConfigMap")
        self.assertEqual(bm["metadata"], {"resourceVersion": rv})
        # without allowWatchBookmarks: none
        out, done = [], threading.Event()
        self.stream(base.replace("allowWatchBookmarks=true&", "") + rv + "&timeoutSeconds=3",
                    out, done)
        self.assertEqual(out[1:], [])
        # a shorter interval (settings), bookmarks carry the rv of the last event passed
        KUBE.settings(bookmarkInterval=0.3)
        try:
            out, done = [], threading.Event()
            t = threading.Thread(target=self.stream, daemon=True,
                                 args=(base + rv + "&timeoutSeconds=4", out, done))
            t.start()
            st, cm = req("POST", "/api/v1/namespaces/watchbm/configmaps",
                         {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "b1", "namespace": "watchbm"}})
            self.assertTrue(done.wait(30))
        finally:
            KUBE.settings(bookmarkInterval=60)
        types = [e["type"] for e in out[1:]]
        self.assertIn("ADDED", types)
        after = [int(e["object"]["metadata"]["resourceVersion"]) for e in out[types.index("ADDED") + 2:]]
        self.assertTrue(after and all(r >= int(cm["metadata"]["resourceVersion"]) for r in after), out)
        # fault drop-stream: the real stream, cut without its last chunk after 1 event
        KUBE.add_fault(verb="watch", action="drop-stream", afterEvents=1)
        ctx = ssl.create_default_context(cafile=KUBE.ca)
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", KUBE.port, context=ctx, timeout=30)
        c.request("GET", base + rv + "&timeoutSeconds=20",
                  headers={"Authorization": "Bearer " + KUBE.token})
        r = c.getresponse()
        # (http.client's line iterator takes the cut for an end; read() does not)
        with self.assertRaises(http.client.IncompleteRead) as cm:
            r.read()
        c.close()
        lines = [json.loads(l) for l in cm.exception.partial.splitlines() if l.strip()]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in lines],
                         [("ADDED", "b1")])


class Leases(unittest.TestCase):
    def test_lease_semantics(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
        spec = {"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 0,
                "acquireTime": "2026-01-01T00:00:00.000000Z",
                "renewTime": "2026-01-01T00:00:00.000000Z"}
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "l1", "namespace": "default"}, "spec": spec}
        st, got = req("POST", path, lease)
        self.assertEqual(st, 201, got)
        st, _ = req("POST", path, lease)
        self.assertEqual(st, 409)
        # update with the resourceVersion read; a second one with the same is 409 Conflict
        upd = dict(got, spec=dict(spec, holderIdentity="b", leaseTransitions=1))
        st, new = req("PUT", path + "/l1", upd)
        self.assertEqual(st, 200, new)
        self.assertNotEqual(new["metadata"]["resourceVersion"], got["metadata"]["resourceVersion"])
        st, err = req("PUT", path + "/l1", dict(upd, spec=dict(spec, holderIdentity="c")))
        self.assertEqual((st, err["reason"]), (409, "Conflict"), err)
        self.assertIn("the object has been modified", err["message"])
        st, lst = req("GET", path)
        self.assertEqual([(i["metadata"]["name"], i["spec"]["holderIdentity"]) for i in lst["items"]],
                         [("l1", "b")])
        # validation as kube-apiserver: durations > 0, transitions >= 0, MicroTime
        for bad, field in (({"leaseDurationSeconds": 0}, "spec.leaseDurationSeconds"),
                           ({"leaseTransitions": -1}, "spec.leaseTransitions")):
            st, err = req("POST", path, dict(lease, metadata={"name": "bad", "namespace": "default"},
                                             spec=dict(spec, **bad)))
            self.assertEqual(st, 422, err)
            self.assertEqual(err["details"]["causes"][0]["field"], field)
        st, err = req("POST", path, dict(lease, metadata={"name": "bad", "namespace": "default"},
                                         spec=dict(spec, renewTime="2026-01-01T00:00:00Z")))
        self.assertEqual(st, 400, err)


class Patches(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ns("patch")

    def test_merge_strategic_json(self):
        p = "/apis/apps/v1/namespaces/patch/deployments"
        d = deployment("p", "patch")
        d["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
        self.assertEqual(req("POST", p, d)[0], 201)
        st, doc = req("PATCH", p + "/p", json.dumps({"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "nginx:2"}]}}}}).encode(),
            content_type="application/strategic-merge-patch+json")
        cs = doc["spec"]["template"]["spec"]["containers"]
        self.assertEqual([(c["name"], c["image"]) for c in cs], [("c", "nginx:2"), ("side", "busybox")])
        self.assertEqual(cs[0]["env"], [{"name": "A", "value": "1"}])
        self.assertEqual(doc["metadata"]["generation"], 2)
        st, doc = req("PATCH", p + "/p", json.dumps({"spec": {"template": {"spec": {"containers": [
            {"name": "side", "$patch": "delete"}]}}}}).encode(),
            content_type="application/strategic-merge-patch+json")
        self.assertEqual([c["name"] for c in doc["spec"]["template"]["spec"]["containers"]], ["c"])
        st, doc = req("PATCH", p + "/p", b'{"metadata":{"labels":{"x":"1","app":null}}}',
                      content_type="application/merge-patch+json")
        self.assertEqual(doc["metadata"]["labels"], {"x": "1"})
        self.assertEqual(doc["metadata"]["generation"], 3 - 0 if False else doc["metadata"]["generation"])
        st, doc = req("PATCH", p + "/p", json.dumps([
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]).encode(),
            content_type="application/json-patch+json")
        self.assertEqual((st, doc["spec"]["replicas"], doc["metadata"]["annotations"]), (200, 3, {"a": "b"}))
        st, doc = req("PATCH", p + "/p", b'[{"op":"test","path":"/spec/replicas","value":9}]',
                      content_type="application/json-patch+json")
        self.assertEqual(st, 422)
        st, doc = req("PATCH", p + "/p", b'{"metadata":{"resourceVersion":"1"},"spec":{"replicas":1}}',
                      content_type="application/merge-patch+json")
        self.assertEqual((st, doc["reason"]), (409, "Conflict"))
        st, doc = req("PATCH", p + "/nope", b'{}', content_type="application/merge-patch+json")
        self.assertEqual(st, 404)
        st, doc = req("PATCH", p + "/p", b'{}', content_type="text/plain")
        self.assertEqual(st, 415)

    def test_server_side_apply(self):
        p = "/api/v1/namespaces/patch/configmaps/sa"
        cfg = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sa", "labels": {"a": "1", "b": "2"}},
               "data": {"x": "1", "y": "2"}}
        st, doc = req("PATCH", p + "?fieldManager=t&force=true", json.dumps(cfg).encode(),
                      content_type="application/apply-patch+yaml")
        self.assertEqual(st, 201)
        self.assertEqual(doc["metadata"]["managedFields"][0]["operation"], "Apply")
        # another writer adds a key; the applier drops y and label b
        req("PATCH", p, b'{"data":{"z":"3"}}', content_type="application/merge-patch+json")
        cfg2 = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sa", "labels": {"a": "1"}},
                "data": {"x": "9"}}
        st, doc = req("PATCH", p + "?fieldManager=t", json.dumps(cfg2).encode(),
                      content_type="application/apply-patch+yaml")
        self.assertEqual(st, 200)
        self.assertEqual(doc["data"], {"x": "9", "z": "3"})
        self.assertEqual(doc["metadata"]["labels"], {"a": "1"})
        yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sa\ndata:\n  x: '10'\n"
        st, doc = req("PATCH", p + "?fieldManager=t", yaml_body, content_type="application/apply-patch+yaml")
        self.assertEqual((st, doc["data"]), (200, {"x": "10", "z": "3"}))
        st, doc = req("PATCH", p, json.dumps(cfg2).encode(), content_type="application/apply-patch+yaml")
        self.assertEqual(st, 422)

    def test_dry_run(self):
        KUBE.reset_log()
        st, doc = req("POST", "/api/v1/namespaces/patch/secrets?dryRun=All", secret("dry", "patch"))
        self.assertEqual(st, 201)
        self.assertEqual(req("GET", "/api/v1/namespaces/patch/secrets/dry")[0], 404)
        req("POST", "/api/v1/namespaces/patch/secrets", secret("dry2", "patch"))
        n = len(KUBE.writes())
        st, doc = req("PATCH", "/api/v1/namespaces/patch/secrets/dry2?dryRun=All",
                      b'{"metadata":{"labels":{"l":"1"}}}', content_type="application/merge-patch+json")
        self.assertEqual(doc["metadata"]["labels"], {"l": "1"})
        req("DELETE", "/api/v1/namespaces/patch/secrets/dry2?dryRun=All")
        st, doc = req("GET", "/api/v1/namespaces/patch/secrets/dry2")
        self.assertEqual((st, doc["metadata"].get("labels")), (200, {}))
        self.assertEqual(len(KUBE.writes()), n)
        self.assertEqual(req("POST", "/api/v1/namespaces/patch/secrets?dryRun=Nope", secret("x", "patch"))[0], 400)


class Deletion(unittest.TestCase):
    def test_propagation_finalizers_namespace(self):
        ns("del")
        base = "/apis/apps/v1/namespaces/del/"
        req("POST", base + "deployments", deployment("a", "del", 2))
        req("POST", base + "deployments", deployment("b", "del", 1))
        st, rs = req("GET", base + "replicasets?labelSelector=app%3Da")
        self.assertEqual(len(rs["items"]), 1)
        self.assertEqual(len(req("GET", "/api/v1/namespaces/del/pods?labelSelector=app%3Da")[1]["items"]), 2)
        req("DELETE", base + "deployments/a?propagationPolicy=Background")
        self.assertEqual(req("GET", base + "replicasets?labelSelector=app%3Da")[1]["items"], [])
        self.assertEqual(req("GET", "/api/v1/namespaces/del/pods?labelSelector=app%3Da")[1]["items"], [])
        req("DELETE", base + "deployments/b", {"kind": "DeleteOptions", "apiVersion": "v1",
                                                "propagationPolicy": "Orphan"})
        rs = req("GET", base + "replicasets?labelSelector=app%3Db")[1]["items"]
        self.assertEqual(len(rs), 1)
        self.assertNotIn("ownerReferences", rs[0]["metadata"])
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "fin", "namespace": "del", "finalizers": ["example.com/hold"]}}
        req("POST", "/api/v1/namespaces/del/configmaps", cm)
        st, doc = req("DELETE", "/api/v1/namespaces/del/configmaps/fin")
        self.assertEqual(st, 200)
        st, doc = req("GET", "/api/v1/namespaces/del/configmaps/fin")
        self.assertIn("deletionTimestamp", doc["metadata"])
        st, doc = req("DELETE", "/api/v1/namespaces/del")
        self.assertEqual(doc["status"]["phase"], "Terminating")
        st, doc = req("POST", "/api/v1/namespaces/del/configmaps",
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
        self.assertEqual((st, doc["reason"]), (403, "Forbidden"))
        self.assertEqual(req("GET", "/api/v1/namespaces/del")[0], 200)   # held by the finalizer
        req("PATCH", "/api/v1/namespaces/del/configmaps/fin", b'{"metadata":{"finalizers":null}}',
            content_type="application/merge-patch+json")
        self.assertEqual(req("GET", "/api/v1/namespaces/del/configmaps/fin")[0], 404)
        self.assertEqual(req("GET", "/api/v1/namespaces/del")[0], 404)
        self.assertEqual(req("GET", base + "replicasets?labelSelector=app%3Db")[1]["items"], [])


class Controllers(unittest.TestCase):
    def test_jobs_and_services(self):
        ns("ctl")
        rv = req("GET", "/apis/batch/v1/namespaces/ctl/jobs")[1]["metadata"]["resourceVersion"]
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "ctl"},
               "spec": {"template": {"spec": {"restartPolicy": "Never",
                                              "containers": [{"name": "c", "image": "busybox"}]}}}}
        req("POST", "/apis/batch/v1/namespaces/ctl/jobs", job)
        bad = json.loads(json.dumps(job))
        bad["metadata"].update(name="f", annotations={"fakekube.test/fail": "true"})
        req("POST", "/apis/batch/v1/namespaces/ctl/jobs", bad)
        # both end after the job delay (0.2 s): polled, and "active" first seen in the
        # watch history, as a GET at a fixed moment would miss it on a slow machine
        for _ in range(600):
            docs = [req("GET", "/apis/batch/v1/namespaces/ctl/jobs/" + n)[1] for n in "jf"]
            if all(d["status"].get("conditions") for d in docs):
                break
            time.sleep(0.1)
        st, _, data = KUBE.request("GET", "/apis/batch/v1/namespaces/ctl/jobs?watch=1&"
                                   "timeoutSeconds=1&resourceVersion=" + rv)
        seen = [e["object"]["status"] for e in map(json.loads, data.splitlines())
                if e["object"]["metadata"]["name"] == "j" and e["object"].get("status")]
        self.assertEqual([x.get("active") for x in seen[:2]], [1, None], seen)
        st, doc = req("GET", "/apis/batch/v1/namespaces/ctl/jobs/j")
        self.assertEqual(doc["status"]["succeeded"], 1)
        self.assertIn(("Complete", "True"), [(c["type"], c["status"]) for c in doc["status"]["conditions"]])
        st, doc = req("GET", "/apis/batch/v1/namespaces/ctl/jobs/f")
        self.assertIn(("Failed", "True"), [(c["type"], c["status"]) for c in doc["status"]["conditions"]])
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": "ctl"},
               "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
        st, doc = req("POST", "/api/v1/namespaces/ctl/services", svc)
        self.assertRegex(doc["spec"]["clusterIP"], r"^10\.96\.")
        st, doc = req("GET", "/api/v1/namespaces/ctl/services/lb")
        self.assertTrue(doc["status"]["loadBalancer"]["ingress"][0]["ip"])


class Faults(unittest.TestCase):
    def test_injection_and_log(self):
        KUBE.reset_log()
        KUBE.add_fault(method="GET", path="^/api/v1/namespaces$", status=500, count=2)
        self.assertEqual(req("GET", "/api/v1/namespaces")[0], 500)
        st, doc = req("GET", "/api/v1/namespaces")
        self.assertEqual((st, doc["reason"]), (500, "InternalError"))
        self.assertEqual(req("GET", "/api/v1/namespaces")[0], 200)
        KUBE.add_fault(path="/configmaps", status=429, retryAfter=2)
        st, h, data = KUBE.request("GET", "/api/v1/configmaps")
        self.assertEqual((st, h["retry-after"]), (429, "2"))
        self.assertEqual(json.loads(data)["details"]["retryAfterSeconds"], 2)
        KUBE.add_fault(path="^/api/v1/pods$", action="drop")
        ctx = ssl.create_default_context(cafile=KUBE.ca)
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", KUBE.port, context=ctx)
        c.request("GET", "/api/v1/pods", headers={"Authorization": "Bearer " + KUBE.token})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            c.getresponse().read()
        c.close()
        self.assertEqual(req("GET", "/api/v1/pods")[0], 200)
        log = KUBE.requests()
        self.assertEqual([e["status"] for e in log if e["path"] == "/api/v1/namespaces"], [500, 500, 200])
        self.assertEqual([e["status"] for e in log if e["path"] == "/api/v1/pods"], [0, 200])
        self.assertTrue(all(e["verb"] == "list" for e in log if e["path"] == "/api/v1/pods"))
        self.assertEqual(KUBE.writes(), [])
        self.assertEqual([f["remaining"] for f in KUBE.control("GET", "faults")], [0, 0, 0])
        KUBE.clear_faults()
        self.assertEqual(KUBE.control("GET", "faults"), [])

    def test_scripted_answers(self):
        """action=respond with acceptHas / queryLacks / auth conditions, gzip and a stream
        (the rules tests/unit/kube_stub.c uses in --scripted mode, here on the full server)."""
        KUBE.reset_log()
        KUBE.add_fault(path="^/api/v1/namespaces/default/configmaps$", action="respond",
                       acceptHas="as=Table", status=203, headers={"X-Scripted": "1"},
                       json={"kind": "Table"}, count=-1)
        KUBE.add_fault(path="^/api/v1/secrets$", queryLacks="continue=", action="respond",
                       json={"items": [1]}, gzip=True)
        KUBE.add_fault(path="^/x$", action="respond", auth="Bearer other", body="hello")
        KUBE.add_fault(path="^/w$", action="respond",
                       stream=[{"line": '{"type":"ADDED"}'}, {"line": '{"type":"DELETED"}'}])
        st, h, data = KUBE.request("GET", "/api/v1/namespaces/default/configmaps",
                                   headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
        self.assertEqual((st, h.get("x-scripted"), json.loads(data)), (203, "1", {"kind": "Table"}))
        self.assertEqual(req("GET", "/api/v1/namespaces/default/configmaps")[1]["kind"], "ConfigMapList")
        self.assertNotEqual(req("GET", "/api/v1/secrets?continue=abc")[1], {"items": [1]})
        st, h, data = KUBE.request("GET", "/api/v1/secrets", headers={"Accept-Encoding": "gzip"})
        self.assertEqual((h.get("content-encoding"), json.loads(gzip.decompress(data))),
                         ("gzip", {"items": [1]}))
        KUBE.set_auth(tokens=[KUBE.token, "other"])    # both pass the server's own check
        try:
            self.assertEqual(KUBE.request("GET", "/x")[0], 401, "auth differs: 401, rule unused")
            st, _, data = KUBE.request("GET", "/x", headers={"Authorization": "Bearer other"})
            self.assertEqual((st, data), (200, b"hello"))
        finally:
            KUBE.set_auth(tokens=[KUBE.token])
        st, _, data = KUBE.request("GET", "/w")
        self.assertEqual(data.splitlines(), [b'{"type":"ADDED"}', b'{"type":"DELETED"}'])
        self.assertEqual([e["status"] for e in KUBE.requests() if e["path"] == "/x"], [401, 200])
        KUBE.clear_faults()


class BigList(unittest.TestCase):
    def test_big_list(self):
        """PERF_N Secrets of PERF_KIB KiB (default 2500 x 20 KiB): a full LIST returns them
        all, a paged LIST with gzip returns each exactly once in ceil(N/500) gzip pages, and
        a metadata-only LIST carries no data.  How long these take is measured by
        bench/fakekube.py, not asserted here."""
        ns("perf")
        blob = base64.b64encode(os.urandom(PERF_KIB * 768)).decode()[: PERF_KIB * 1024]
        blob = blob[: len(blob) // 4 * 4]
        batch = 250
        for start in range(0, PERF_N, batch):
            objs = [{"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                     "metadata": {"name": "sh.helm.release.v1.r%04d.v1" % i, "namespace": "perf",
                                  "labels": {"owner": "helm", "name": "r%04d" % i}},
                     "data": {"release": blob}} for i in range(start, min(PERF_N, start + batch))]
            self.assertEqual(KUBE.load(objs)["created"], len(objs))
        st, h, data = KUBE.request("GET", "/api/v1/namespaces/perf/secrets?labelSelector=owner%3Dhelm")
        self.assertEqual(st, 200)
        self.assertGreater(len(data), PERF_N * PERF_KIB * 1000)
        self.assertEqual(len(json.loads(data)["items"]), PERF_N)
        del data
        tok, names, pages = "", [], 0
        while True:
            st, h, data = KUBE.request("GET", "/api/v1/namespaces/perf/secrets?limit=500" +
                                       ("&continue=" + tok if tok else ""),
                                       headers={"Accept-Encoding": "gzip"})
            self.assertEqual(h.get("content-encoding"), "gzip")
            doc = json.loads(gzip.decompress(data))
            names += [o["metadata"]["name"] for o in doc["items"]]
            pages += 1
            tok = doc["metadata"].get("continue")
            if not tok:
                break
        self.assertEqual(sorted(names), ["sh.helm.release.v1.r%04d.v1" % i for i in range(PERF_N)])
        self.assertEqual(pages, (PERF_N + 499) // 500)
        st, doc = req("GET", "/api/v1/namespaces/perf/secrets?labelSelector=owner%3Dhelm", headers={
            "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"})
        self.assertEqual(len(doc["items"]), PERF_N)
        self.assertEqual(doc["kind"], "PartialObjectMetadataList")
        self.assertFalse([o for o in doc["items"] if "data" in o], "metadata-only items carry data")
        req("DELETE", "/api/v1/namespaces/perf")


class Dist(unittest.TestCase):
    def test_local_mk_lists_every_file(self):
        """make distcheck needs every file of the server, its tests and the charts listed."""
        top = os.path.dirname(os.path.dirname(HERE))
        with open(os.path.join(HERE, "local.mk")) as f:
            listed = set(f.read().split())
        for d in ("tests/fakekube", "tests/charts"):
            for root, dirs, files in os.walk(os.path.join(top, d)):
                dirs[:] = [x for x in dirs if x != "__pycache__"]
                for name in files:
                    rel = os.path.relpath(os.path.join(root, name), top)
                    # Build products of an in-tree `make check` are not sources.
                    if name.endswith((".pyc", ".log", ".trs")) or rel == "tests/fakekube/local.mk":
                        continue
                    self.assertIn(rel, listed, "add %s to EXTRA_DIST in tests/fakekube/local.mk" % rel)


if __name__ == "__main__":
    if not fku.openssl_available():
        print("SKIP: openssl not found")
        sys.exit(fku.SKIP)
    prog = unittest.main(exit=False, verbosity=2)
    print("test_server: %.1fs" % (time.time() - T0))
    sys.exit(0 if prog.result.wasSuccessful() else 1)
