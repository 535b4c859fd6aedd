#!/usr/bin/env python3
"""kube-sim wire-level behaviour checked with plain HTTP (no client library): the shapes
that kubectl 1.32 and python3-kubernetes send and expect (docs/kube-sim.md)."""
import http.client
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simharness import TESTDATA, Sim, kubectl_path, wait_until  # noqa: E402

AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
TABLE = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
         "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
CN = "/apis/kongcluster.dev/v1alpha1/namespaces/default/clusternodes"


def crd_json():
    # the test data is YAML; the simulator accepts JSON, so convert the one file we need with a tiny reader
    try:
        import yaml
        with open(os.path.join(TESTDATA, "crd-clusternode.yaml")) as f:
            return yaml.safe_load(f)
    except ImportError:
        raise unittest.SkipTest("python3-yaml needed to read the CRD test data")


class WatchStream:
    """A raw chunked watch: one JSON event per line."""

    def __init__(self, sim, path, accept="application/json"):
        host, port = sim.url.split("://")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.conn.request("GET", path, headers={"Accept": accept})
        self.resp = self.conn.getresponse()

    def next(self):
        line = self.resp.readline()
        return json.loads(line) if line.strip() else None

    def close(self):
        self.conn.close()


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim().start()
        st, _, body = cls.sim.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd_json())
        assert st == 201, body

        def established():
            _, _, crd = cls.sim.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                               "clusternodes.kongcluster.dev")
            return any(c["type"] == "Established" for c in (crd.get("status") or {}).get("conditions", []))
        wait_until(established, what="Established")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def req(self, *a, **kw):
        return self.sim.request(*a, **kw)

    def cn(self, name, ns="default", **spec):
        st, _, body = self.req("POST", "/apis/kongcluster.dev/v1alpha1/namespaces/%s/clusternodes" % ns, {
            "apiVersion": "kongcluster.dev/v1alpha1", "kind": "ClusterNode", "metadata": {"name": name},
            "spec": dict({"nodeName": "w"}, **spec)})
        self.assertEqual(st, 201, body)
        return body

    def test_version_and_discovery(self):
        _, _, v = self.req("GET", "/version")
        self.assertEqual((v["major"], v["minor"], v["gitVersion"]), ("1", "32", "v1.32.4"))
        st, hdrs, agg = self.req("GET", "/apis", headers={"Accept": AGG + ",application/json"})
        self.assertEqual(hdrs["Content-Type"], AGG)
        groups = {i["metadata"]["name"]: i for i in agg["items"]}
        res = groups["kongcluster.dev"]["versions"][0]["resources"][0]
        self.assertEqual((res["resource"], res["scope"], res["shortNames"], res["subresources"][0]["subresource"]),
                         ("clusternodes", "Namespaced", ["cn"], "status"))
        self.assertIn("coordination.k8s.io", groups)
        _, hdrs, core = self.req("GET", "/api", headers={"Accept": AGG})
        self.assertNotIn("name", core["items"][0]["metadata"])
        _, hdrs, legacy = self.req("GET", "/apis")
        self.assertEqual(legacy["kind"], "APIGroupList")
        _, _, rl = self.req("GET", "/apis/kongcluster.dev/v1alpha1")
        self.assertEqual([r["name"] for r in rl["resources"]], ["clusternodes", "clusternodes/status"])
        _, _, root = self.req("GET", "/openapi/v3")
        url = root["paths"]["apis/kongcluster.dev/v1alpha1"]["serverRelativeURL"]
        _, _, doc = self.req("GET", url)
        patch = doc["paths"][CN.replace("default", "{namespace}") + "/{name}"]["patch"]
        self.assertEqual(patch["x-kubernetes-group-version-kind"]["kind"], "ClusterNode")
        self.assertIn("fieldValidation", [p["name"] for p in patch["parameters"]])
        self.assertEqual(self.req("GET", "/openapi/v2")[0], 404)

    def test_tables(self):
        self.cn("t1", zone="z1")
        _, _, t = self.req("GET", CN + "?limit=500", headers={"Accept": TABLE})
        self.assertEqual((t["kind"], t["apiVersion"]), ("Table", "meta.k8s.io/v1"))
        self.assertEqual([c["name"] for c in t["columnDefinitions"]],
                         ["Name", "Node", "Datacenter", "Address", "Ready", "Members", "Zone", "Age"])
        row = next(r for r in t["rows"] if r["cells"][0] == "t1")
        self.assertEqual(row["cells"][1:7], ["w", None, None, None, None, "z1"])
        self.assertEqual(row["object"]["kind"], "PartialObjectMetadata")
        _, _, t = self.req("GET", "/api/v1/namespaces?includeObject=None", headers={"Accept": TABLE})
        self.assertEqual([c["name"] for c in t["columnDefinitions"]], ["Name", "Status", "Age"])
        self.assertNotIn("object", t["rows"][0])
        # a watch in Table form: column definitions only on the first event
        w = WatchStream(self.sim, CN + "?watch=true", TABLE)
        try:
            first = w.next()
            self.assertEqual(first["type"], "ADDED")
            self.assertIsNotNone(first["object"]["columnDefinitions"])
            self.cn("t2")
            nxt = w.next()
            while nxt["object"]["rows"][0]["cells"][0] != "t2":
                nxt = w.next()
            self.assertIsNone(nxt["object"]["columnDefinitions"])
        finally:
            w.close()

    def test_watch_wire_format_and_410(self):
        rv = self.cn("w1")["metadata"]["resourceVersion"]
        w = WatchStream(self.sim, CN + "?watch=1&resourceVersion=%s&allowWatchBookmarks=true" % rv)
        try:
            self.assertEqual(w.resp.status, 200)
            self.assertEqual(w.resp.getheader("Transfer-Encoding"), "chunked")
            self.assertEqual(w.resp.getheader("Content-Type"), "application/json")
            self.req("PATCH", CN + "/w1", {"spec": {"zone": "z"}}, ctype="application/merge-patch+json")
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["metadata"]["generation"]), ("MODIFIED", 2))
            self.assertEqual(self.sim.ctl("POST", "/watches/bookmark")["sent"], 1)
            bm = w.next()
            self.assertEqual(bm, {"type": "BOOKMARK", "object": {"kind": "ClusterNode",
                                                                  "apiVersion": "kongcluster.dev/v1alpha1",
                                                                  "metadata": {"resourceVersion": str(self.sim.ctl(
                                                                      "GET", "/health")["resourceVersion"])}}})
            st, _, gone = self.req("DELETE", CN + "/w1")
            self.assertEqual(gone["status"], "Success")
            ev = w.next()
            self.assertEqual(ev["type"], "DELETED")
            self.assertGreater(int(ev["object"]["metadata"]["resourceVersion"]), int(rv))
        finally:
            w.close()
        self.sim.ctl("POST", "/faults/compact")
        w = WatchStream(self.sim, CN + "?watch=true&resourceVersion=%s" % rv)
        try:
            self.assertEqual(w.resp.status, 200)
            ev = w.next()
            self.assertEqual(ev["type"], "ERROR")
            self.assertEqual((ev["object"]["code"], ev["object"]["reason"], ev["object"]["kind"]),
                             (410, "Expired", "Status"))
            self.assertTrue(ev["object"]["message"].startswith("too old resource version: %s (" % rv))
            self.assertIsNone(w.next())  # then the stream ends
        finally:
            w.close()
        st, _, body = self.req("GET", CN + "?resourceVersion=%s&resourceVersionMatch=Exact" % rv)
        self.assertEqual((st, body["reason"], body["message"]),
                         (410, "Expired", "The resourceVersion for the provided list is too old."))

    def test_selector_enter_and_leave_in_watch(self):
        self.cn("sel-1")
        w = WatchStream(self.sim, CN + "?watch=true&labelSelector=role%3Dedge")
        try:
            self.req("PATCH", CN + "/sel-1", {"metadata": {"labels": {"role": "edge"}}},
                     ctype="application/merge-patch+json")
            self.assertEqual(w.next()["type"], "ADDED")
            self.req("PATCH", CN + "/sel-1", {"metadata": {"labels": {"role": "core"}}},
                     ctype="application/merge-patch+json")
            ev = w.next()
            self.assertEqual((ev["type"], ev["object"]["metadata"]["labels"]["role"]), ("DELETED", "edge"))
        finally:
            w.close()

    def test_write_errors(self):
        o = self.cn("e1")
        st, _, body = self.req("POST", CN, {"apiVersion": "kongcluster.dev/v1alpha1", "kind": "ClusterNode",
                                            "metadata": {"name": "e1"}, "spec": {"nodeName": "w"}})
        self.assertEqual((st, body["reason"], body["message"]),
                         (409, "AlreadyExists", 'clusternodes.kongcluster.dev "e1" already exists'))
        stale = dict(o, spec={"nodeName": "x"})
        self.req("PATCH", CN + "/e1", {"spec": {"zone": "q"}}, ctype="application/merge-patch+json")
        st, _, body = self.req("PUT", CN + "/e1", stale)
        self.assertEqual(body, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": 'Operation cannot be fulfilled on clusternodes.kongcluster.dev "e1": the '
                                           'object has been modified; please apply your changes to the latest '
                                           'version and try again',
                                "reason": "Conflict",
                                "details": {"name": "e1", "group": "kongcluster.dev", "kind": "clusternodes"},
                                "code": 409})
        st, _, body = self.req("PATCH", CN + "/e1", {"spec": {}}, ctype="application/strategic-merge-patch+json")
        self.assertEqual(st, 415)
        st, _, body = self.req("PATCH", CN + "/e1", [{"op": "test", "path": "/spec/zone", "value": "nope"}],
                               ctype="application/json-patch+json")
        self.assertEqual(st, 422)
        st, _, body = self.req("PATCH", CN + "/e1", [{"op": "replace", "path": "/metadata/resourceVersion",
                                                      "value": o["metadata"]["resourceVersion"]},
                                                     {"op": "replace", "path": "/spec/zone", "value": "r"}],
                               ctype="application/json-patch+json")
        self.assertEqual((st, body["reason"]), (409, "Conflict"))
        st, _, body = self.req("GET", CN + "/missing")
        self.assertEqual((st, body["message"], body["details"]),
                         (404, 'clusternodes.kongcluster.dev "missing" not found',
                          {"name": "missing", "group": "kongcluster.dev", "kind": "clusternodes"}))
        st, _, body = self.req("POST", "/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "x"}})
        self.assertEqual((st, body["message"]), (404, 'namespaces "nowhere" not found'))
        st, _, body = self.req("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "Bad_Name"}})
        self.assertEqual((st, body["reason"]), (422, "Invalid"))
        st, _, body = self.req("GET", CN + "?continue=abc&resourceVersion=5")
        self.assertEqual(st, 400)
        st, _, body = self.req("PATCH", CN + "/e1", {"spec": {}}, ctype="application/apply-patch+yaml")
        self.assertEqual((st, body["message"]), (422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                                      'Required value: is required for apply patch'))

    def test_server_side_apply_creates_and_tracks_managers(self):
        body = {"apiVersion": "kongcluster.dev/v1alpha1", "kind": "ClusterNode", "metadata": {"name": "ssa"},
                "spec": {"nodeName": "w", "zone": "a"}}
        st, _, o = self.req("PATCH", CN + "/ssa?fieldManager=op", body, ctype="application/apply-patch+yaml")
        self.assertEqual(st, 201)
        self.assertEqual(o["metadata"]["managedFields"][0]["manager"], "op")
        self.assertEqual(o["metadata"]["managedFields"][0]["operation"], "Apply")
        st, _, err = self.req("PATCH", CN + "/ssa?fieldManager=other", dict(body, spec={"nodeName": "w", "zone": "b"}),
                              ctype="application/apply-patch+yaml")
        self.assertEqual((st, err["message"]), (409, 'Apply failed with 1 conflict: conflict with "op": .spec.zone'))
        self.assertEqual(err["details"]["causes"][0]["reason"], "FieldManagerConflict")
        # dropping a field from the applied configuration removes it
        st, _, o = self.req("PATCH", CN + "/ssa?fieldManager=op", dict(body, spec={"nodeName": "w"}),
                            ctype="application/apply-patch+yaml")
        self.assertEqual((st, "zone" in o["spec"]), (200, False))

    def test_namespace_deletion_and_foreground_gc(self):
        self.req("POST", "/api/v1/namespaces", {"metadata": {"name": "doomed"}})
        _, _, owner = self.req("POST", "/api/v1/namespaces/doomed/configmaps", {"metadata": {"name": "owner"}})
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"],
               "blockOwnerDeletion": True}
        self.req("POST", "/api/v1/namespaces/doomed/configmaps",
                 {"metadata": {"name": "dep", "ownerReferences": [ref], "finalizers": ["x/hold"]}})
        st, _, o = self.req("DELETE", "/api/v1/namespaces/doomed/configmaps/owner",
                            {"propagationPolicy": "Foreground"})
        self.assertEqual(o["metadata"]["finalizers"], ["foregroundDeletion"])
        _, _, dep = self.req("GET", "/api/v1/namespaces/doomed/configmaps/dep")
        self.assertIn("deletionTimestamp", dep["metadata"])
        self.assertEqual(self.req("GET", "/api/v1/namespaces/doomed/configmaps/owner")[0], 200)  # blocked
        self.req("PATCH", "/api/v1/namespaces/doomed/configmaps/dep", {"metadata": {"finalizers": None}},
                 ctype="application/merge-patch+json")
        self.assertEqual(self.req("GET", "/api/v1/namespaces/doomed/configmaps/owner")[0], 404)
        self.req("POST", "/api/v1/namespaces/doomed/configmaps", {"metadata": {"name": "leftover"}})
        _, _, ns = self.req("DELETE", "/api/v1/namespaces/doomed")
        self.assertEqual(ns["status"]["phase"], "Terminating")
        wait_until(lambda: self.req("GET", "/api/v1/namespaces/doomed")[0] == 404, what="namespace gone")
        _, _, lst = self.req("GET", "/api/v1/configmaps")
        self.assertNotIn("doomed", [i["metadata"]["namespace"] for i in lst["items"]])
        self.assertNotIn("apiVersion", lst["items"][0] if lst["items"] else {})
        st, _, body = self.req("DELETE", "/api/v1/namespaces/default")
        self.assertEqual(st, 403)


class TLSTest(unittest.TestCase):
    def test_tls_and_bearer_token(self):
        with Sim("--tls", "--token", "s3cret") as sim:
            self.assertTrue(sim.url.startswith("https://127.0.0.1:"))
            self.assertEqual(sim.token, "s3cret")
            st, _, body = sim.request("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer wrong"})
            self.assertEqual((st, body["reason"]), (401, "Unauthorized"))
            st, _, body = sim.request("GET", "/api/v1/namespaces")
            self.assertEqual(st, 200)
            self.assertEqual(sim.request("GET", "/version", headers={"Authorization": "Bearer wrong"})[0], 200)
            if kubectl_path():
                sim.ctl("POST", "/nodes", {"name": "tls-node"})
                out = sim.kubectl("get", "nodes").stdout
                self.assertIn("tls-node", out)
            try:
                from kubernetes import client, config
            except ImportError:
                return
            api = config.new_client_from_config(config_file=sim.kubeconfig)
            try:
                names = [n.metadata.name for n in client.CoreV1Api(api).list_namespace().items]
                self.assertIn("kube-system", names)
            finally:
                api.close()

    def test_in_cluster_service_account_files(self):
        try:
            from kubernetes import client
            from kubernetes.config import incluster_config
        except ImportError:
            self.skipTest("python3-kubernetes not installed")
        sim = Sim("--tls")
        sa = os.path.join(sim.dir, "serviceaccount")
        sim.args += ["--write-service-account", sa]
        with sim:
            host, port = sim.url.split("://")[1].split(":")
            os.environ.update(KUBERNETES_SERVICE_HOST=host, KUBERNETES_SERVICE_PORT=port)
            try:
                cfg = client.Configuration()
                incluster_config.InClusterConfigLoader(token_filename=os.path.join(sa, "token"),
                                                       cert_filename=os.path.join(sa, "ca.crt")).load_and_set(cfg)
            finally:
                del os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
            with open(os.path.join(sa, "namespace")) as f:
                self.assertEqual(f.read(), "default")
            with client.ApiClient(cfg) as api:
                ns = client.CoreV1Api(api).read_namespace("default")
                self.assertEqual(ns.status.phase, "Active")


class CtlTest(unittest.TestCase):
    def test_ctl_cli(self):
        import subprocess
        from simharness import KUBE_SIM, python
        with Sim() as sim:
            def ctl(*args):
                r = subprocess.run([python(), KUBE_SIM, "ctl", "--kubeconfig", sim.kubeconfig] + list(args),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                return json.loads(r.stdout)
            node = ctl("node-create", "n1", "-l", "topology.kubernetes.io/zone=z", "--internal-ip", "10.1.0.1",
                       "--external-ip", "198.51.100.1")
            self.assertEqual(node["status"]["addresses"][:2], [{"type": "InternalIP", "address": "10.1.0.1"},
                                                               {"type": "ExternalIP", "address": "198.51.100.1"}])
            pod = ctl("pod-create", "p1", "--node", "n1", "-l", "app=x", "-p", "serflan:7946", "-p", "9000/UDP")
            self.assertEqual(pod["status"]["phase"], "Running")
            self.assertEqual(pod["status"]["hostIP"], "10.1.0.1")
            self.assertEqual(pod["spec"]["containers"][0]["ports"],
                             [{"containerPort": 7946, "protocol": "TCP", "name": "serflan"},
                              {"containerPort": 9000, "protocol": "UDP"}])
            ready = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
            self.assertEqual(ready["status"], "True")
            self.assertEqual(ctl("pod-fail", "p1")["status"]["phase"], "Failed")
            node = ctl("node-not-ready", "n1")
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            self.assertEqual(ready["status"], "Unknown")
            self.assertIn("node.kubernetes.io/unreachable", [t["key"] for t in node["spec"]["taints"]])
            ctl("pod-create", "p2", "--node", "n1", "--grace-period", "5")
            r = ctl("pod-delete", "p2", "--grace-period", "1")
            self.assertEqual(r["object"]["metadata"]["deletionGracePeriodSeconds"], 1)
            wait_until(lambda: sim.request("GET", "/api/v1/namespaces/default/pods/p2")[0] == 404,
                       what="graceful deletion to finish")
            ctl("fault-error", "--code", "500", "--count", "1")
            self.assertEqual(sim.request("GET", "/api/v1/nodes")[0], 500)
            self.assertEqual(sim.request("GET", "/api/v1/nodes")[0], 200)
            self.assertEqual(ctl("fault-compact")["compactedRevision"], ctl("health")["resourceVersion"])
            self.assertEqual(ctl("fault-clear")["errors"], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
