#!/usr/bin/env python3
"""kube-sim driven by the real kubectl 1.32."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simharness import TESTDATA, Sim, kubectl_path, read_bg, stop_bg, wait_until  # noqa: E402

CRD = os.path.join(TESTDATA, "crd-clusternode.yaml")
NODE_A = os.path.join(TESTDATA, "clusternode-a.yaml")


def cr(name, node="worker-1", zone="eu-west-1a", labels=None, extra_spec=""):
    lines = ["apiVersion: kongcluster.dev/v1alpha1", "kind: ClusterNode", "metadata:", "  name: %s" % name]
    if labels:
        lines.append("  labels:")
        lines += ['    %s: "%s"' % kv for kv in labels.items()]
    lines += ["spec:", "  nodeName: %s" % node, "  datacenter: dc1", "  zone: %s" % zone]
    if extra_spec:
        lines.append("  " + extra_spec)
    return "\n".join(lines) + "\n"


@unittest.skipIf(kubectl_path() is None, "kubectl not installed: skipping the kubectl tests against kube-sim")
class KubectlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = Sim().start()
        cls.sim.kubectl("apply", "-f", CRD)
        cls.sim.kubectl("wait", "--for=condition=Established", "crd/clusternodes.kongcluster.dev", "--timeout=20s")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def k(self, *args, **kw):
        return self.sim.kubectl(*args, **kw)

    def header(self, out):
        return out.splitlines()[0].split()

    def test_version_and_fast_start(self):
        self.assertLess(self.sim.startup_seconds, 2.0, "startup took %.2fs" % self.sim.startup_seconds)
        out = self.k("version").stdout
        self.assertIn("Server Version: v1.32.4", out)

    def test_apply_crd_object_and_printer_columns(self):
        out = self.k("apply", "-f", NODE_A).stdout
        self.assertIn("clusternode.kongcluster.dev/node-a created", out)
        out = self.k("get", "clusternodes").stdout
        self.assertEqual(self.header(out), ["NAME", "NODE", "DATACENTER", "ADDRESS", "READY", "AGE"])
        self.assertRegex(out, r"node-a\s+worker-1\s+dc1\s+\d+s")
        wide = self.k("get", "cn", "-o", "wide").stdout
        self.assertEqual(self.header(wide), ["NAME", "NODE", "DATACENTER", "ADDRESS", "READY", "MEMBERS", "ZONE",
                                             "AGE"])
        self.k("patch", "cn", "node-a", "--subresource=status", "--type=merge", "-p",
               '{"status":{"address":"10.0.0.7:7946","members":3,"conditions":[{"type":"Ready","status":"True"}]}}')
        wide = self.k("get", "cn", "node-a", "-o", "wide").stdout
        self.assertRegex(wide, r"node-a\s+worker-1\s+dc1\s+10\.0\.0\.7:7946\s+True\s+3\s+eu-west-1a\s+\d+s")
        # defaulting from the schema, generation on spec changes only
        self.assertEqual(self.k("get", "cn", "node-a", "-o", "jsonpath={.spec.gossipPort} {.metadata.generation}")
                         .stdout, "7946 1")
        out = self.k("apply", "-f", "-", input=cr("node-a", zone="eu-west-1b",
                                                  labels={"app.kubernetes.io/name": "kong-cluster"})).stdout
        self.assertIn("configured", out)
        self.assertEqual(self.k("get", "cn", "node-a", "-o", "jsonpath={.spec.zone} {.metadata.generation} "
                                "{.status.members}").stdout, "eu-west-1b 2 3")
        # server-side apply: conflict with the client-side applier, then forced
        r = self.k("apply", "--server-side", "-f", NODE_A, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Apply failed with 1 conflict", r.stderr)
        self.assertIn(".spec.zone", r.stderr)
        self.k("apply", "--server-side", "--force-conflicts", "-f", NODE_A)
        self.assertEqual(self.k("get", "cn", "node-a", "-o", "jsonpath={.spec.zone}").stdout, "eu-west-1a")
        # the CRD itself prints with the default columns
        self.assertEqual(self.header(self.k("get", "crd").stdout), ["NAME", "CREATED", "AT"])

    def test_validation(self):
        r = self.k("apply", "-f", "-", input=cr("bad-1", extra_spec="bogus: 1"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('strict decoding error: unknown field "spec.bogus"', r.stderr)
        r = self.k("apply", "-f", "-", input=cr("bad-2", extra_spec='gossipPort: "x"'), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("spec.gossipPort in body must be of type integer", r.stderr)
        r = self.k("apply", "-f", "-", input=cr("bad-3", extra_spec="gossipPort: 70000"), check=False)
        self.assertIn("should be less than or equal to 65535", r.stderr)
        r = self.k("get", "cn", "bad-1", check=False)
        self.assertIn('clusternodes.kongcluster.dev "bad-1" not found', r.stderr)

    def test_get_watch_sees_added_modified_deleted(self):
        before = self.sim.watches()
        w = self.sim.kubectl_bg("get", "cn", "-w", "--output-watch-events", "-l", "watch=yes")
        try:
            wait_until(lambda: self.sim.watches() > before, what="kubectl's watch to open")
            self.k("apply", "-f", "-", input=cr("w-1", labels={"watch": "yes"}))
            self.k("label", "cn", "w-1", "extra=1")
            self.k("delete", "cn", "w-1")
            wait_until(lambda: "DELETED" in read_bg(w), what="DELETED in kubectl get -w")
        finally:
            out = stop_bg(w)
        events = [line.split()[:2] for line in out.splitlines()[1:] if line.strip()]
        self.assertEqual(events[0], ["ADDED", "w-1"], out)
        self.assertIn(["MODIFIED", "w-1"], events, out)
        self.assertEqual(events[-1], ["DELETED", "w-1"], out)

    def test_delete_with_and_without_finalizer(self):
        self.k("apply", "-f", "-", input=cr("d-1"))
        self.assertIn('"d-1" deleted', self.k("delete", "cn", "d-1").stdout)
        self.assertIn("not found", self.k("get", "cn", "d-1", check=False).stderr)

        self.k("apply", "-f", "-", input=cr("d-2"))
        self.k("patch", "cn", "d-2", "--type=merge", "-p", '{"metadata":{"finalizers":["kongcluster.dev/cleanup"]}}')
        self.k("delete", "cn", "d-2", "--wait=false")
        ts = self.k("get", "cn", "d-2", "-o", "jsonpath={.metadata.deletionTimestamp}").stdout
        self.assertRegex(ts, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        before = self.sim.watches()
        waiter = self.sim.kubectl_bg("wait", "--for=delete", "cn/d-2", "--timeout=30s")
        try:
            wait_until(lambda: self.sim.watches() > before or waiter.poll() is not None,
                       what="kubectl wait to watch")
            self.assertIsNone(waiter.poll(), read_bg(waiter))
            self.k("patch", "cn", "d-2", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
            wait_until(lambda: waiter.poll() is not None, what="kubectl wait --for=delete to finish")
        finally:
            out = stop_bg(waiter)
        self.assertEqual(waiter.returncode, 0, out)
        self.assertIn("condition met", out)
        self.assertIn("not found", self.k("get", "cn", "d-2", check=False).stderr)

    def test_selectors(self):
        self.k("apply", "-f", "-", input=cr("s-1", node="worker-7", labels={"tier": "edge"}))
        self.k("apply", "-f", "-", input=cr("s-2", node="worker-8", labels={"tier": "core"}))
        out = self.k("get", "cn", "-l", "tier=edge", "-o", "name").stdout.split()
        self.assertEqual(out, ["clusternode.kongcluster.dev/s-1"])
        out = self.k("get", "cn", "-l", "tier in (edge,core)", "-o", "name").stdout.split()
        self.assertEqual(out, ["clusternode.kongcluster.dev/s-1", "clusternode.kongcluster.dev/s-2"])
        out = self.k("get", "cn", "-l", "tier,tier!=edge", "-o", "name").stdout.split()
        self.assertEqual(out, ["clusternode.kongcluster.dev/s-2"])
        out = self.k("get", "cn", "--field-selector", "spec.nodeName=worker-8", "-o", "name").stdout.split()
        self.assertEqual(out, ["clusternode.kongcluster.dev/s-2"])
        out = self.k("get", "cn", "--field-selector", "metadata.name!=s-1", "-l", "tier", "-o", "name").stdout.split()
        self.assertEqual(out, ["clusternode.kongcluster.dev/s-2"])
        r = self.k("get", "cn", "--field-selector", "spec.zone=x", check=False)
        self.assertIn("field label not supported: spec.zone", r.stderr)

    def test_simulated_pods_and_nodes(self):
        self.sim.ctl("POST", "/nodes", {"name": "k-worker-1", "labels": {"topology.kubernetes.io/zone": "z1"},
                                        "internalIP": "10.0.0.21", "externalIP": "203.0.113.21"})
        self.sim.ctl("POST", "/nodes", {"name": "k-worker-2", "internalIP": "10.0.0.22"})
        self.sim.ctl("POST", "/pods", {"name": "agent-1", "namespace": "kube-system", "node": "k-worker-1",
                                       "podIP": "10.244.1.5", "labels": {"app": "agent"},
                                       "ports": ["serflan:7946", "admin:8001/TCP"]})
        self.sim.ctl("POST", "/pods", {"name": "agent-2", "namespace": "kube-system", "node": "k-worker-2",
                                       "labels": {"app": "agent"}})
        out = self.k("get", "pods", "-n", "kube-system", "-o", "wide").stdout
        self.assertEqual(self.header(out)[:5], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])
        self.assertRegex(out, r"agent-1\s+1/1\s+Running\s+0\s+\S+\s+10\.244\.1\.5\s+k-worker-1")
        self.assertEqual(self.k("get", "pod", "agent-1", "-n", "kube-system", "-o",
                                "jsonpath={.status.hostIP} {.spec.containers[0].ports[*].name}").stdout,
                         "10.0.0.21 serflan admin")
        out = self.k("get", "nodes", "-o", "wide").stdout
        self.assertRegex(out, r"k-worker-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.4\s+10\.0\.0\.21\s+203\.0\.113\.21")
        self.assertEqual(self.k("get", "node", "-l", "topology.kubernetes.io/zone=z1", "-o", "name").stdout.split(),
                         ["node/k-worker-1"])
        self.sim.ctl("POST", "/namespaces/kube-system/pods/agent-2/fail", {"reason": "Evicted"})
        self.sim.ctl("POST", "/nodes/k-worker-2/ready", {"ready": False})
        out = self.k("get", "pods", "-n", "kube-system", "--field-selector",
                     "spec.nodeName=k-worker-1,status.phase=Running", "-o", "name").stdout.split()
        self.assertEqual(out, ["pod/agent-1"])
        out = self.k("get", "pods", "-n", "kube-system", "--field-selector", "status.phase=Failed").stdout
        self.assertRegex(out, r"agent-2\s+0/1\s+Error")
        self.assertEqual(self.k("get", "pod", "agent-2", "-n", "kube-system", "-o",
                                "jsonpath={.status.phase} {.status.reason}").stdout, "Failed Evicted")
        self.assertRegex(self.k("get", "node", "k-worker-2").stdout, r"k-worker-2\s+NotReady")
        # kubectl delete of a bound pod is graceful; the simulated kubelet confirms it quickly
        self.assertIn('pod "agent-1" deleted', self.k("delete", "pod", "agent-1", "-n", "kube-system").stdout)
        self.assertIn("not found", self.k("get", "pod", "agent-1", "-n", "kube-system", check=False).stderr)

    def test_builtin_objects(self):
        self.k("create", "configmap", "cm-1", "--from-literal=a=b")  # kubectl sends protobuf here
        self.k("create", "secret", "generic", "sec-1", "--from-literal=k=v")
        cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-2\ndata:\n  a: b\n"
        self.assertIn("created", self.k("apply", "-f", "-", input=cm).stdout)
        cm2 = cm.replace("  name: cm-2\n", "  name: cm-2\n  labels:\n    role: cfg\n").replace("a: b", "a: c")
        self.assertIn("configured", self.k("apply", "-f", "-", input=cm2).stdout)
        self.assertEqual(self.k("get", "cm", "cm-2", "-o", "jsonpath={.data.a} {.metadata.labels.role}").stdout,
                         "c cfg")
        self.k("label", "cm", "cm-1", "team=mesh")
        self.k("annotate", "cm", "cm-1", "note=x")
        self.assertEqual(self.k("get", "cm", "-l", "team=mesh", "-o", "name").stdout.split(), ["configmap/cm-1"])
        self.assertRegex(self.k("get", "secret", "sec-1").stdout, r"sec-1\s+Opaque\s+1")
        dep = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n"
               "    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n"
               "      containers:\n      - name: a\n        image: img-a:1\n      - name: b\n        image: img-b:1\n")
        self.k("apply", "-f", "-", input=dep)
        # strategic merge patch merges containers by name
        self.k("patch", "deployment", "web", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"c",'
               '"image":"img-c:1"},{"name":"b","image":"img-b:2"}]}}}}')
        self.assertEqual(self.k("get", "deploy", "web", "-o",
                                "jsonpath={.spec.template.spec.containers[*].image} {.metadata.generation}").stdout,
                         "img-a:1 img-b:2 img-c:1 2")
        # client-side apply: a three-way strategic patch; c is not in the last-applied configuration and stays
        self.k("apply", "-f", "-", input=dep.replace("img-a:1", "img-a:3"))
        self.assertEqual(self.k("get", "deploy", "web", "-o",
                                "jsonpath={.spec.template.spec.containers[*].image}").stdout,
                         "img-a:3 img-b:1 img-c:1")
        self.k("delete", "cm", "cm-1", "cm-2")
        self.assertEqual(self.k("get", "cm", "-o", "name").stdout.split(), [])

    def test_faults_seen_by_kubectl(self):
        self.k("apply", "-f", "-", input=cr("f-1"))
        self.sim.ctl("POST", "/faults/errors", {"code": 500, "count": 1, "path": "/clusternodes/f-1"})
        r = self.k("get", "cn", "f-1", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Error from server (InternalError)", r.stderr)
        self.k("get", "cn", "f-1")  # consumed
        # 429 with Retry-After: client-go waits and retries on its own
        self.sim.ctl("POST", "/faults/errors", {"code": 429, "count": 1, "path": "/clusternodes/f-1",
                                                "retryAfter": 1})
        t0 = time.monotonic()
        self.k("get", "cn", "f-1")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(self.sim.ctl("GET", "/faults")["errors"], [])
        self.sim.ctl("POST", "/faults/latency", {"seconds": 0.5, "path": "/clusternodes/f-1"})
        t0 = time.monotonic()
        self.k("get", "cn", "f-1")
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        self.sim.ctl("DELETE", "/faults")
        # ending all watches: kubectl get -w sees its stream end and exits
        before = self.sim.watches()
        w = self.sim.kubectl_bg("get", "cn", "-w")
        try:
            wait_until(lambda: self.sim.watches() > before, what="kubectl's watch to open")
            self.assertGreaterEqual(self.sim.ctl("POST", "/faults/end-watches")["ended"], 1)
            wait_until(lambda: self.sim.watches() <= before, what="watches to end")
        finally:
            stop_bg(w)


@unittest.skipIf(kubectl_path() is None, "kubectl not installed: skipping the kubectl tests against kube-sim")
class KubectlCRDLifecycleTest(unittest.TestCase):
    def test_crd_delete_removes_custom_objects_and_api(self):
        with Sim() as sim:
            sim.kubectl("apply", "-f", CRD)
            sim.kubectl("wait", "--for=condition=Established", "crd/clusternodes.kongcluster.dev")
            sim.kubectl("apply", "-f", NODE_A)
            sim.kubectl("delete", "-f", CRD)
            r = sim.kubectl("get", "clusternodes", check=False)
            self.assertNotEqual(r.returncode, 0)
            # kubectl's discovery cache may still list the type; either way the API is gone
            self.assertTrue('the server doesn\'t have a resource type "clusternodes"' in r.stderr or
                            "the server could not find the requested resource" in r.stderr, r.stderr)
            self.assertNotIn("clusternodes.kongcluster.dev", sim.kubectl("api-resources").stdout)
            sim.kubectl("apply", "-f", CRD)
            sim.kubectl("wait", "--for=condition=Established", "crd/clusternodes.kongcluster.dev")
            self.assertIn("No resources found", sim.kubectl("get", "cn").stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
