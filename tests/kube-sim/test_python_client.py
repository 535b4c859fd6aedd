#!/usr/bin/env python3
"""kube-sim driven by Debian's python3-kubernetes client."""
import datetime
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import kubernetes  # noqa: F401
except ImportError:
    # python3-kubernetes is a Debian package: use Debian's interpreter when another python3 comes first on PATH.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") \
            and not os.environ.get("KUBESIM_REEXEC"):
        os.environ["KUBESIM_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    kubernetes = None

from simharness import TESTDATA, Sim, wait_until  # noqa: E402

if kubernetes is not None:
    from kubernetes import client, config, watch
    from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "kongcluster.dev", "v1alpha1", "clusternodes"


def load_yaml(path):
    import yaml
    with open(path) as f:
        return yaml.safe_load(f)


class EventReader:
    """Runs a Watch.stream in a thread and collects its events, so tests can poll for conditions."""

    def __init__(self, func, *args, **kwargs):
        self.events = []
        self.error = None
        self.done = False
        self.w = watch.Watch()
        self.t = threading.Thread(target=self._run, args=(func, args, kwargs), daemon=True)
        self.t.start()

    def _run(self, func, args, kwargs):
        try:
            for ev in self.w.stream(func, *args, **kwargs):
                self.events.append(ev)
        except Exception as e:  # kept for the test to inspect
            self.error = e
        finally:
            self.done = True

    def types(self):
        return [(e["type"], e["raw_object"]["metadata"].get("name")) for e in list(self.events)]

    def stop(self):
        self.w.stop()


@unittest.skipIf(kubernetes is None, "python3-kubernetes not installed (Debian package python3-kubernetes)")
class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim("--bookmark-interval", "0.3").start()
        cls.api_client = config.new_client_from_config(config_file=cls.sim.kubeconfig)
        cls.core = client.CoreV1Api(cls.api_client)
        cls.custom = client.CustomObjectsApi(cls.api_client)
        cls.coord = client.CoordinationV1Api(cls.api_client)
        ext = client.ApiextensionsV1Api(cls.api_client)
        ext.create_custom_resource_definition(load_yaml(os.path.join(TESTDATA, "crd-clusternode.yaml")))

        def established():
            crd = ext.read_custom_resource_definition("clusternodes.kongcluster.dev")
            return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])
        wait_until(established, what="CRD Established")

    @classmethod
    def tearDownClass(cls):
        cls.api_client.close()
        cls.sim.stop()

    def cn(self, name, ns="default", labels=None, node="worker-1"):
        body = {"apiVersion": "%s/%s" % (GROUP, VERSION), "kind": "ClusterNode",
                "metadata": {"name": name, "labels": labels or {}}, "spec": {"nodeName": node, "datacenter": "dc1"}}
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)

    def ns(self, name):
        self.core.create_namespace({"metadata": {"name": name}})
        return name

    # ------------------------------------------------------------------ list

    def test_list_with_limit_and_continue(self):
        ns = self.ns("paging")
        for i in range(5):
            self.core.create_namespaced_config_map(ns, {"metadata": {"name": "cm-%d" % i}, "data": {"i": str(i)}})
        page = self.core.list_namespaced_config_map(ns, limit=2)
        self.assertEqual([c.metadata.name for c in page.items], ["cm-0", "cm-1"])
        self.assertEqual(page.metadata.remaining_item_count, 3)
        rv = page.metadata.resource_version
        # a write between pages does not show up: every page is a snapshot at the first page's revision
        self.core.create_namespaced_config_map(ns, {"metadata": {"name": "cm-2a"}})
        names = [c.metadata.name for c in page.items]
        while page.metadata._continue:
            page = self.core.list_namespaced_config_map(ns, limit=2, _continue=page.metadata._continue)
            self.assertEqual(page.metadata.resource_version, rv)
            names += [c.metadata.name for c in page.items]
        self.assertEqual(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"])
        full = self.core.list_namespaced_config_map(ns)
        self.assertEqual(len(full.items), 6)
        self.assertGreater(int(full.metadata.resource_version), int(rv))

    def test_selectors(self):
        self.sim.ctl("POST", "/nodes", {"name": "py-w1"})
        self.sim.ctl("POST", "/nodes", {"name": "py-w2"})
        ns = self.ns("sel")
        self.sim.ctl("POST", "/pods", {"name": "p1", "namespace": ns, "node": "py-w1", "labels": {"app": "a"}})
        self.sim.ctl("POST", "/pods", {"name": "p2", "namespace": ns, "node": "py-w2", "labels": {"app": "b"}})
        self.sim.ctl("POST", "/pods", {"name": "p3", "namespace": ns, "node": "py-w2", "labels": {"app": "a"},
                                       "phase": "Pending"})

        def names(**kw):
            return sorted(p.metadata.name for p in self.core.list_namespaced_pod(ns, **kw).items)
        self.assertEqual(names(field_selector="spec.nodeName=py-w2"), ["p2", "p3"])
        self.assertEqual(names(field_selector="spec.nodeName=py-w2,status.phase=Running"), ["p2"])
        self.assertEqual(names(field_selector="metadata.name=p1"), ["p1"])
        self.assertEqual(names(label_selector="app=a", field_selector="status.phase!=Pending"), ["p1"])
        self.assertEqual(names(label_selector="app notin (a)"), ["p2"])
        with self.assertRaises(ApiException) as cm:
            self.core.list_namespaced_pod(ns, field_selector="spec.bogus=1")
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("field label not supported: spec.bogus", cm.exception.body)

    # ------------------------------------------------------------------ watch

    def test_watch_bookmarks_and_resume(self):
        ns = self.ns("watching")
        first = self.cn("a", ns)
        rv0 = first["metadata"]["resourceVersion"]
        r = EventReader(self.custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
                        resource_version=rv0, allow_watch_bookmarks=True, timeout_seconds=30)
        try:
            self.cn("b", ns)
            self.custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "b",
                                                       {"metadata": {"labels": {"x": "1"}}})
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "b")
            wait_until(lambda: ("DELETED", "b") in r.types(), what="DELETED b")
            self.assertEqual([t for t in r.types() if t[0] != "BOOKMARK"],
                             [("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "b")])  # nothing from before rv0
            wait_until(lambda: any(e["type"] == "BOOKMARK" for e in r.events), what="a periodic BOOKMARK")
            bm = next(e for e in r.events if e["type"] == "BOOKMARK")["raw_object"]
            self.assertEqual((bm["kind"], bm["apiVersion"]), ("ClusterNode", "kongcluster.dev/v1alpha1"))
            self.assertGreaterEqual(int(bm["metadata"]["resourceVersion"]), int(rv0))
        finally:
            r.stop()
        last_rv = [e for e in r.events if e["type"] != "BOOKMARK"][-1]["raw_object"]["metadata"]["resourceVersion"]
        # changes made while nobody watches are delivered when resuming from the last seen resourceVersion
        self.cn("c", ns)
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "a")
        events = []
        w = watch.Watch()
        for ev in w.stream(self.custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
                           resource_version=last_rv, timeout_seconds=10):
            events.append((ev["type"], ev["object"]["metadata"]["name"]))
            if len(events) == 2:
                w.stop()
        self.assertEqual(events, [("ADDED", "c"), ("DELETED", "a")])
        # no resourceVersion: the current state first, as ADDED events
        w = watch.Watch()
        got = []
        for ev in w.stream(self.custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, timeout_seconds=10):
            got.append((ev["type"], ev["object"]["metadata"]["name"]))
            w.stop()
        self.assertEqual(got, [("ADDED", "c")])

    def test_watch_timeout_and_typed_objects(self):
        ns = self.ns("typed")
        t0 = time.monotonic()
        events = list(watch.Watch().stream(self.core.list_namespaced_config_map, ns, timeout_seconds=1))
        self.assertEqual(events, [])
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.core.create_namespaced_config_map(ns, {"metadata": {"name": "x"}, "data": {"k": "v"}})
        for ev in watch.Watch().stream(self.core.list_namespaced_config_map, ns, timeout_seconds=5):
            self.assertIsInstance(ev["object"], client.V1ConfigMap)
            self.assertEqual(ev["object"].data, {"k": "v"})
            break

    def test_recover_from_410(self):
        ns = self.ns("expiry")
        old_rv = self.cn("e1", ns)["metadata"]["resourceVersion"]
        self.cn("e2", ns)
        self.sim.ctl("POST", "/faults/compact")
        # python3-kubernetes re-issues the watch once on 410, then raises it to the caller
        with self.assertRaises(ApiException) as cm:
            for _ in watch.Watch().stream(self.custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
                                          resource_version=old_rv):
                pass
        self.assertEqual(cm.exception.status, 410)
        self.assertIn("Expired: too old resource version: %s" % old_rv, cm.exception.reason)
        # the documented recovery: relist, then watch from the list's resourceVersion
        lst = self.custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)
        self.assertEqual([i["metadata"]["name"] for i in lst["items"]], ["e1", "e2"])
        r = EventReader(self.custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL,
                        resource_version=lst["metadata"]["resourceVersion"], timeout_seconds=20)
        try:
            self.cn("e3", ns)
            wait_until(lambda: ("ADDED", "e3") in r.types(), what="ADDED e3 after relist")
        finally:
            r.stop()
        self.assertIsNone(r.error)
        # a single expired watch (fault) is absorbed by the client's own retry
        self.sim.ctl("POST", "/faults/expire-watches", {"count": 1})
        rv = self.custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["metadata"]["resourceVersion"]
        r = EventReader(self.custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, resource_version=rv)
        try:
            wait_until(lambda: self.sim.ctl("GET", "/faults")["expireWatches"] == 0, what="fault consumed")
            self.cn("e4", ns)
            wait_until(lambda: ("ADDED", "e4") in r.types() or r.done, what="ADDED e4")
            self.assertIsNone(r.error)
        finally:
            r.stop()

    def test_end_watches_client_rewatches(self):
        ns = self.ns("ending")
        rv = self.core.list_namespaced_config_map(ns).metadata.resource_version
        before = self.sim.watches()
        r = EventReader(self.core.list_namespaced_config_map, ns, resource_version=rv)
        try:
            wait_until(lambda: self.sim.watches() > before, what="watch open")
            self.core.create_namespaced_config_map(ns, {"metadata": {"name": "before"}})
            wait_until(lambda: ("ADDED", "before") in r.types(), what="ADDED before")
            t = time.time()
            self.assertGreaterEqual(self.sim.ctl("POST", "/faults/end-watches")["ended"], 1)
            # the client sees the stream end and watches again from the last resourceVersion it saw
            wait_until(lambda: any(q["path"].startswith("/api/v1/namespaces/%s/configmaps" % ns) and
                                   "watch=True" in q["path"]
                                   for q in self.sim.ctl("GET", "/requests?since=%f" % t)["items"]),
                       what="the client's second watch request")
            self.core.create_namespaced_config_map(ns, {"metadata": {"name": "after"}})
            wait_until(lambda: ("ADDED", "after") in r.types(), what="ADDED after, on the new watch")
        finally:
            r.stop()
        self.assertIsNone(r.error)
        self.assertEqual(r.types(), [("ADDED", "before"), ("ADDED", "after")])

    # ------------------------------------------------------------------ writes

    def test_status_subresource_and_generation(self):
        ns = self.ns("status")
        self.cn("s1", ns)
        o = self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, PLURAL, "s1", {"status": {"address": "10.0.0.1:7946", "observedGeneration": 1}})
        self.assertEqual(o["status"]["address"], "10.0.0.1:7946")
        self.assertEqual(o["metadata"]["generation"], 1)
        # the main endpoint ignores status; the status endpoint ignores spec
        o = self.custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "s1",
                                                       {"spec": {"zone": "z9"}, "status": {"address": "x"}})
        self.assertEqual((o["spec"]["zone"], o["status"]["address"], o["metadata"]["generation"]),
                         ("z9", "10.0.0.1:7946", 2))
        o = self.custom.patch_namespaced_custom_object_status(GROUP, VERSION, ns, PLURAL, "s1",
                                                              {"spec": {"zone": "nope"}, "status": {"members": 2}})
        self.assertEqual((o["spec"]["zone"], o["status"]["members"], o["metadata"]["generation"]), ("z9", 2, 2))
        # custom objects refuse unconditional updates and stale ones
        stale = dict(o)
        o["spec"]["zone"] = "z10"
        o = self.custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "s1", o)
        with self.assertRaises(ApiException) as cm:
            self.custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "s1", stale)
        self.assertEqual(cm.exception.status, 409)
        o["metadata"].pop("resourceVersion")
        with self.assertRaises(ApiException) as cm:
            self.custom.replace_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "s1", o)
        self.assertEqual(cm.exception.status, 422)
        self.assertIn("must be specified for an update", cm.exception.body)

    def test_lease_create_renew_conflict(self):
        ns = "kube-node-lease"
        now = datetime.datetime.now(datetime.timezone.utc)
        lease = client.V1Lease(metadata=client.V1ObjectMeta(name="kong-operator", namespace=ns),
                               spec=client.V1LeaseSpec(holder_identity="op-a", lease_duration_seconds=15,
                                                       acquire_time=now, renew_time=now, lease_transitions=0))
        created = self.coord.create_namespaced_lease(ns, lease)
        with self.assertRaises(ApiException) as cm:
            self.coord.create_namespaced_lease(ns, lease)
        self.assertEqual(cm.exception.status, 409)
        self.assertIn("AlreadyExists", cm.exception.body)
        # MicroTime is normalised to UTC 'Z' with microseconds
        _, _, raw = self.sim.request("GET", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/kong-operator" % ns)
        self.assertRegex(raw["spec"]["renewTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        # renew with the fetched resourceVersion (what client-go's leader election does)
        cur = self.coord.read_namespaced_lease("kong-operator", ns)
        cur.spec.renew_time = now + datetime.timedelta(seconds=2)
        renewed = self.coord.replace_namespaced_lease("kong-operator", ns, cur)
        self.assertGreater(int(renewed.metadata.resource_version), int(created.metadata.resource_version))
        # a contender holding the old object loses with 409 Conflict
        created.spec.holder_identity = "op-b"
        created.spec.lease_transitions = 1
        with self.assertRaises(ApiException) as cm:
            self.coord.replace_namespaced_lease("kong-operator", ns, created)
        self.assertEqual(cm.exception.status, 409)
        self.assertIn('Operation cannot be fulfilled on leases.coordination.k8s.io \\"kong-operator\\": the object '
                      'has been modified', cm.exception.body)
        got = self.coord.read_namespaced_lease("kong-operator", ns)
        self.assertEqual(got.spec.holder_identity, "op-a")
        self.assertEqual(got.spec.renew_time, (now + datetime.timedelta(seconds=2)).replace(microsecond=(
            now + datetime.timedelta(seconds=2)).microsecond))

    def test_garbage_collection_and_finalizers(self):
        ns = self.ns("gc")
        owner = self.core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid,
               "blockOwnerDeletion": True}
        self.core.create_namespaced_config_map(ns, {"metadata": {"name": "dep", "ownerReferences": [ref]}})
        self.core.delete_namespaced_config_map("owner", ns)
        wait_until(lambda: not self.core.list_namespaced_config_map(ns).items, what="dependent collected")
        # orphan: the dependent stays, without the reference
        owner = self.core.create_namespaced_config_map(ns, {"metadata": {"name": "owner2"}})
        ref["name"], ref["uid"] = "owner2", owner.metadata.uid
        self.core.create_namespaced_config_map(ns, {"metadata": {"name": "dep2", "ownerReferences": [ref]}})
        self.core.delete_namespaced_config_map("owner2", ns, propagation_policy="Orphan")
        wait_until(lambda: [c.metadata.name for c in self.core.list_namespaced_config_map(ns).items] == ["dep2"],
                   what="owner2 gone, dep2 kept")
        self.assertIsNone(self.core.read_namespaced_config_map("dep2", ns).metadata.owner_references)
        # a finalizer holds deletion: deletionTimestamp set until the finalizer is removed
        self.core.patch_namespaced_config_map("dep2", ns, {"metadata": {"finalizers": ["example.com/hold"]}})
        self.core.delete_namespaced_config_map("dep2", ns)
        held = self.core.read_namespaced_config_map("dep2", ns)
        self.assertIsNotNone(held.metadata.deletion_timestamp)
        self.core.patch_namespaced_config_map("dep2", ns, [{"op": "remove", "path": "/metadata/finalizers"}])
        with self.assertRaises(ApiException) as cm:
            self.core.read_namespaced_config_map("dep2", ns)
        self.assertEqual(cm.exception.status, 404)

    def test_graceful_and_immediate_pod_deletion(self):
        self.sim.ctl("POST", "/nodes", {"name": "py-g1"})
        ns = self.ns("grace")
        self.sim.ctl("POST", "/pods", {"name": "slow", "namespace": ns, "node": "py-g1"})
        self.sim.ctl("POST", "/pods", {"name": "fast", "namespace": ns, "node": "py-g1"})
        rv = self.core.list_namespaced_pod(ns).metadata.resource_version
        r = EventReader(self.core.list_namespaced_pod, ns, resource_version=rv, timeout_seconds=30)
        try:
            t0 = time.monotonic()
            self.sim.ctl("POST", "/namespaces/%s/pods/slow/delete" % ns, {"gracePeriodSeconds": 1})
            p = self.core.read_namespaced_pod("slow", ns)
            self.assertIsNotNone(p.metadata.deletion_timestamp)
            self.assertEqual(p.metadata.deletion_grace_period_seconds, 1)
            res = self.sim.ctl("POST", "/namespaces/%s/pods/fast/delete" % ns, {"immediate": True})
            self.assertTrue(res["removed"])
            wait_until(lambda: ("DELETED", "slow") in r.types(), what="slow pod removed after its grace period")
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        finally:
            r.stop()
        self.assertEqual(r.types(), [("MODIFIED", "slow"), ("DELETED", "fast"), ("DELETED", "slow")])

    # ------------------------------------------------------------------ faults

    def test_error_faults(self):
        ns = self.ns("faulty")
        self.sim.ctl("POST", "/faults/errors", {"code": 500, "count": 1, "path": "/namespaces/faulty/"})
        with self.assertRaises(ApiException) as cm:
            self.core.list_namespaced_config_map(ns)
        self.assertEqual(cm.exception.status, 500)
        self.assertIn('"reason":"InternalError"', cm.exception.body)
        # 429 with Retry-After: urllib3 (under python3-kubernetes) waits and retries by itself
        self.sim.ctl("POST", "/faults/errors", {"code": 429, "count": 1, "path": "/namespaces/faulty/",
                                                "retryAfter": 1})
        t = time.time()
        t0 = time.monotonic()
        self.core.list_namespaced_config_map(ns)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        codes = [q["code"] for q in self.sim.ctl("GET", "/requests?since=%f" % t)["items"]
                 if q["path"].startswith("/api/v1/namespaces/faulty/configmaps")]
        self.assertEqual(codes, [429, 200])
        self.sim.ctl("POST", "/faults/errors", {"code": 429, "count": 1, "path": "/namespaces/faulty/",
                                                "retryAfter": 2})
        status, hdrs, body = self.sim.request("GET", "/api/v1/namespaces/faulty/configmaps")
        self.assertEqual((status, hdrs.get("Retry-After"), body["reason"], body["details"]["retryAfterSeconds"]),
                         (429, "2", "TooManyRequests", 2))
        self.core.list_namespaced_config_map(ns)
        self.sim.ctl("POST", "/faults/latency", {"seconds": 0.4, "path": "/namespaces/faulty/"})
        try:
            t0 = time.monotonic()
            self.core.list_namespaced_config_map(ns)
            self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        finally:
            self.sim.ctl("DELETE", "/faults")


if __name__ == "__main__":
    unittest.main(verbosity=2)
