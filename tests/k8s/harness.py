"""Shared helpers of the control-plane tests: one real cluster per test file, waits, objects.

Each test file brings up its own control plane (hack/k8s/k8scluster.py) in setUpClass and
brings it down in tearDownClass; its reaper brings it down if the test is killed. Every wait
polls a condition against a deadline.
"""
import datetime
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "hack", "k8s"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import k8scluster  # noqa: E402
from testrun import SKIP_CODE, log, wait_until  # noqa: E402,F401

TESTDATA = os.path.join(HERE, "testdata")
# Deadline for one thing a controller does: generous, the machine is small and shared.
CONTROLLER_TIMEOUT = 60


def stays_true(cond, seconds, what, interval=0.25):
    """Asserts that cond() holds at every poll for the given number of seconds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not cond():
            raise AssertionError("%s: it stopped holding" % what)
        time.sleep(interval)


def now_rfc3339(micro=False):
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


class ClusterTestCase(unittest.TestCase):
    """A TestCase with self.cluster: a control plane up for the whole class."""

    cluster = None

    @classmethod
    def setUpClass(cls):
        cls.cluster = k8scluster.Cluster(log=sys.stdout)
        cls.cluster.up()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.down()

    def api(self, method, path, body=None, token=None, expect=None):
        """A request as the admin (or with token); with expect, asserts the status."""
        status, obj = self.cluster.request(method, path, body, token)
        if expect is not None:
            self.assertEqual(status, expect, "%s %s: %r" % (method, path, obj))
        return obj

    def get(self, path):
        """The object at path, or None when it is not found (404)."""
        status, obj = self.cluster.request("GET", path)
        if status == 404:
            return None
        self.assertEqual(status, 200, "GET %s: %r" % (path, obj))
        return obj

    def create_namespace(self, name):
        self.api("POST", "/api/v1/namespaces", {"metadata": {"name": name}}, expect=201)


class NodeHeartbeat:
    """Stands in for the kubelets of Node objects this test creates: registers each Node with
    a Ready condition and capacity, then renews its Lease in kube-node-lease every `every`
    seconds until stop(name) (the node "dies") or stop_all()."""

    def __init__(self, cluster, every=1.0):
        self.cluster = cluster
        self.every = every
        self.beating = set()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def add(self, name, zone="zone-a"):
        labels = {"kubernetes.io/hostname": name, "topology.kubernetes.io/region": "region-1",
                  "topology.kubernetes.io/zone": zone}
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}
        self._check(self.cluster.request("POST", "/api/v1/nodes", node), 201, "create node " + name)
        beat = now_rfc3339()
        status = {"status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "test heartbeat", "lastHeartbeatTime": beat,
                            "lastTransitionTime": beat}],
            "addresses": [{"type": "InternalIP", "address": "192.0.2.10"},
                          {"type": "Hostname", "address": name}]}}
        self._patch("/api/v1/nodes/%s/status" % name, status)
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": name, "namespace": "kube-node-lease"},
                 "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                          "renewTime": now_rfc3339(micro=True)}}
        self._check(self.cluster.request(
            "POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease),
            201, "create lease " + name)
        with self.lock:
            self.beating.add(name)

    def stop(self, name):
        with self.lock:
            self.beating.discard(name)

    def stop_all(self):
        self.done.set()
        self.thread.join()

    def _run(self):
        while not self.done.wait(self.every):
            with self.lock:
                names = list(self.beating)
            for name in names:
                try:
                    self._patch("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + name,
                                {"spec": {"renewTime": now_rfc3339(micro=True)}}, must=False)
                except OSError:
                    pass  # the apiserver is away (a restart test); renew at the next beat

    def _patch(self, path, body, must=True):
        status, obj = self.cluster.request("PATCH", path, body)
        if must:
            self._check((status, obj), 200, "PATCH " + path)

    @staticmethod
    def _check(result, want, what):
        if result[0] != want:
            raise AssertionError("%s: HTTP %d %r" % (what, result[0], result[1]))


def main():
    """unittest.main(), or exit 77 (ctest SKIP_RETURN_CODE, reported as skipped, never as
    passed) when the binaries are not built yet: hack/test.sh builds them before ctest."""
    try:
        k8scluster.bin_dir()
    except k8scluster.ClusterError as e:
        print("SKIP: %s" % e, flush=True)
        sys.exit(SKIP_CODE)
    if not os.access(k8scluster.KUBECTL, os.X_OK):
        print("FAIL: kubectl not found (the machine's /usr/bin/kubectl is needed)", flush=True)
        sys.exit(1)
    unittest.main(verbosity=2)
