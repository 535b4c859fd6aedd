#!/usr/bin/env python3
"""A Node whose heartbeat stops is handled by the real controllers: the node-lifecycle
controller marks it NotReady (Ready=Unknown) and taints it unreachable (NoExecute and
NoSchedule); the taint-eviction controller deletes its pod once the pod's short toleration
ran out; the ReplicaSet controller makes a replacement, which the scheduler places on the
healthy Node. When the heartbeat comes back the Node is Ready again and the node agent finishes
the evicted pod (SIGTERM, final delete). A node agent goes, with its Nodes and containers, when
its owner process is SIGKILLed; a SIGKILLed node agent's containers are removed by its reaper.
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NS = "heartbeat-test"
TOLERATION = 5


def taints(node):
    return {(t["key"], t["effect"]) for t in node["spec"].get("taints", [])}


class Heartbeat(unittest.TestCase):
    def test_silent_node_goes_not_ready_and_its_pod_is_evicted(self):
        image = h.testpod_image()
        with h.Cluster(nodes=2, topology="dc1/dc1-a,dc1/dc1-b") as c:
            c.kubectl("create", "namespace", NS)
            h.wait_until(lambda: c.kubectl("get", "sa", "default", "-n", NS, check=False).returncode == 0,
                         60, "default ServiceAccount")
            tolerations = [{"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": TOLERATION}
                           for k in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
            dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": NS},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"terminationGracePeriodSeconds": 5, "tolerations": tolerations,
                                                  "containers": [{"name": "app", "image": image,
                                                                  "readinessProbe": {"httpGet": {"path": "/readyz",
                                                                                                 "port": 8080},
                                                                                     "periodSeconds": 1}}]}}}}
            c.apply(dep)
            pod = h.wait_until(lambda: next((p for p in c.pods(NS, "app=web") if h.running_ready(p)), None),
                               90, "the web pod Ready")
            victim, name = pod["spec"]["nodeName"], pod["metadata"]["name"]
            other = "node-2" if victim == "node-1" else "node-1"
            t0 = time.monotonic()
            c.heartbeat(victim, False)
            h.log("heartbeat of %s stopped (pod %s runs there)" % (victim, name))

            h.wait_until(lambda: h.condition(c.get("node", victim), "Ready") == "Unknown", 90, "%s NotReady" % victim)
            t_notready = time.monotonic() - t0
            h.wait_until(lambda: {("node.kubernetes.io/unreachable", "NoExecute"),
                                  ("node.kubernetes.io/unreachable", "NoSchedule")}
                         <= taints(c.get("node", victim)), 60, "unreachable taints on %s" % victim)
            self.assertEqual(h.condition(c.get("node", other), "Ready"), "True")

            evicted = h.wait_until(lambda: (lambda p: p if p["metadata"].get("deletionTimestamp") else None)(
                c.get("pod", name, "-n", NS)), 90, "pod %s evicted" % name)
            t_evicted = time.monotonic() - t0
            self.assertEqual(evicted["spec"]["nodeName"], victim)
            repl = h.wait_until(lambda: next((p for p in c.pods(NS, "app=web") if p["metadata"]["name"] != name
                                              and h.running_ready(p)), None), 90, "a replacement pod Ready")
            self.assertEqual(repl["spec"]["nodeName"], other)
            t_replaced = time.monotonic() - t0
            # A silent kubelet finishes nothing: the evicted pod is still there, Terminating.
            self.assertTrue(c.get("pod", name, "-n", NS)["metadata"].get("deletionTimestamp"))
            h.log("NotReady after %.1fs, evicted after %.1fs, replacement Ready after %.1fs"
                  % (t_notready, t_evicted, t_replaced))

            c.heartbeat(victim, True)
            h.wait_until(lambda: h.condition(c.get("node", victim), "Ready") == "True", 60, "%s Ready again" % victim)
            h.wait_until(lambda: not any(k == "node.kubernetes.io/unreachable"
                                         for k, _ in taints(c.get("node", victim))),
                         60, "unreachable taints removed")
            h.wait_until(lambda: c.kubectl("get", "pod", name, "-n", NS, check=False).returncode != 0,
                         60, "the evicted pod finished by its node")

            # A node agent killed with SIGKILL cleans nothing itself; its reaper removes its
            # containers (node, sandboxes, pods) and networks.
            doomed = c.instance + "k"
            agent, _ = c.start_agent(doomed, 1, "dc3/dc3-a", prefix="doomed-")
            h.wait_until(lambda: c.docker_leftovers(doomed), 30, "the doomed agent's containers")
            agent.kill()
            agent.wait()
            h.wait_until(lambda: not c.docker_leftovers(doomed), 60,
                         "the reaper to remove the doomed agent's containers")
        self.assertEqual(c.docker_leftovers(), [])

    def test_agent_ends_with_its_owner(self):
        # A harness killed by SIGKILL (or a SIGTERM it does not handle) takes its node agent
        # along: the agent watches its --owner, stops its pods, deletes its Nodes and removes
        # its containers and networks itself (the reaper is not needed for that).
        with h.Cluster(nodes=1, topology="dc1/dc1-a") as c:
            owner = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(60)"])
            try:
                instance = c.instance + "o"
                agent, _ = c.start_agent(instance, 2, "dc2/dc2-a", prefix="owned-", owner=owner.pid)
                h.wait_until(lambda: c.docker_leftovers(instance), 30, "the owned agent's containers")
                self.assertEqual(len(c.get("nodes", "-l", "topology.kubernetes.io/region=dc2")["items"]), 2)
                t0 = time.monotonic()
                owner.kill()
                owner.wait()
                self.assertEqual(agent.wait(60), 0, c.agent_output(instance))
                h.log("agent exited %.1fs after its owner's SIGKILL" % (time.monotonic() - t0))
                self.assertIn("owner process %d ended" % owner.pid, c.agent_output(instance))
                h.wait_until(lambda: not c.docker_leftovers(instance), 60, "the owned agent's containers gone")
                h.wait_until(lambda: not c.get("nodes", "-l", "topology.kubernetes.io/region=dc2")["items"], 30,
                             "the owned agent's Nodes deleted")
            finally:
                if owner.poll() is None:
                    owner.kill()
                    owner.wait()


if __name__ == "__main__":
    h.main()
