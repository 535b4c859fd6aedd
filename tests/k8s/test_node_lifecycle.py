"""The real node-lifecycle controller: a Node whose Lease stops being renewed turns Unknown
(NotReady), gets the unreachable taints, and its pods are evicted once their default
toleration runs out, while a Node that keeps renewing stays Ready."""
import time

import harness

K = harness.k8scluster
GRACE = int(K.NODE_MONITOR_GRACE.rstrip("s"))


def ready_status(node):
    return next((c["status"] for c in node["status"].get("conditions", []) if c["type"] == "Ready"), None)


def taints(node):
    return sorted("%s:%s" % (t["key"], t["effect"]) for t in node["spec"].get("taints", []))


class NodeLifecycleTest(harness.ClusterTestCase):
    def test_node_without_heartbeat_goes_unknown_tainted_and_evicted(self):
        beat = harness.NodeHeartbeat(self.cluster)
        try:
            # Two Nodes in one zone: with every Node of every zone down the controller
            # assumes its own network is at fault and evicts nothing; a live one keeps it honest.
            beat.add("alive")
            beat.add("dead")
            self.create_namespace("work")
            pod = {"metadata": {"name": "victim"},
                   "spec": {"nodeName": "dead",
                            "containers": [{"name": "main", "image": "kong-cluster/none:test"}]}}
            created = self.api("POST", "/api/v1/namespaces/work/pods", pod, expect=201)
            tolerated = {t["key"]: t.get("tolerationSeconds") for t in created["spec"]["tolerations"]}
            self.assertEqual(tolerated["node.kubernetes.io/unreachable"], K.TOLERATION_SECONDS)

            # Both stay Ready for longer than the grace period while their Leases are renewed.
            harness.stays_true(lambda: ready_status(self.get("/api/v1/nodes/dead")) == "True", GRACE + 3,
                               "the Node with a renewed Lease to stay Ready")

            beat.stop("dead")
            stopped = time.monotonic()
            harness.wait_until(lambda: ready_status(self.get("/api/v1/nodes/dead")) == "Unknown",
                               GRACE + 30, "the Node to turn Unknown")
            harness.log("dead Node Unknown %.1fs after its last renewal" % (time.monotonic() - stopped))
            harness.wait_until(lambda: taints(self.get("/api/v1/nodes/dead")) == [
                "node.kubernetes.io/unreachable:NoExecute", "node.kubernetes.io/unreachable:NoSchedule"],
                30, "the unreachable taints")
            tainted = time.monotonic()
            evicted = harness.wait_until(
                lambda: self.get("/api/v1/namespaces/work/pods/victim") is None or
                self.get("/api/v1/namespaces/work/pods/victim")["metadata"].get("deletionTimestamp"),
                K.TOLERATION_SECONDS + 30, "the pod to be evicted")
            harness.log("pod evicted (%r) %.1fs after the taint" % (evicted, time.monotonic() - tainted))

            alive = self.get("/api/v1/nodes/alive")
            self.assertEqual(ready_status(alive), "True")
            self.assertEqual(taints(alive), [])
        finally:
            beat.stop_all()


if __name__ == "__main__":
    harness.main()
