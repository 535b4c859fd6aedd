#!/usr/bin/env python3
"""A real kubelet Node (hack/k8s/kubelet-node: Debian's containerd with CRI, runc, a CNI bridge)
beside the stand-in's Nodes (hack/nodeagent) on one real control plane: the kubelet's Node is
Ready next to them, a pod bound to it runs in containerd with an address from CNI and answers
HTTP at that address, its deletion stops its containers, and down() leaves nothing on the
machine (processes, kubepods cgroups, the bridge, kernel settings, the state directory).
"""
import ipaddress
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

sys.path.insert(0, os.path.join(h.ROOT, "hack", "k8s"))
import k8skubelet  # noqa: E402

NS = "kubelet-test"
NODE = "kubelet-1"


def machine_snapshot():
    """What a kubelet Node changes on the machine, for the check that down() undid it. Other
    tests' Docker networks come and go meanwhile: only what the kubelet, containerd and CNI
    make is compared (kubepods cgroups, bridges and veths without a Docker bridge, KUBE-/CNI-
    chains and the tables holding them, the kernel settings the kubelet writes)."""
    links = []
    for line in h.run(["ip", "-o", "link"]).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith("kckl") or (name.startswith("veth") and " master br-" not in line
                                       and " master docker0 " not in line):
            links.append(name)
    chains = {}
    for tool in k8skubelet.IPTABLES:
        for table, names in k8skubelet._chains(tool).items():
            chains["%s %s" % (tool, table)] = sorted(c for c in names if c.startswith(k8skubelet.CHAIN_PREFIXES))
    return {
        "cgroups": {d: os.path.isdir(os.path.join(d, k8skubelet.POD_CGROUP))
                    for d in k8skubelet._cgroup_hierarchies()},
        "sysctls": k8skubelet._read_sysctls(),
        "links": sorted(links),
        "chains": chains,
    }


class KubeletNode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        h.run([os.path.join(h.ROOT, "hack", "k8s", "build.sh"), "--with-kubelet"], timeout=3600,
              capture_output=False, stdout=subprocess.DEVNULL, stderr=None)
        cls.image = h.testpod_image()
        cls.before = machine_snapshot()
        cls.c = h.Cluster(nodes=2, topology="dc1/dc1-a,dc1/dc1-b")
        cls.c.__enter__()
        try:
            cls.node = k8skubelet.KubeletNode(cls.c.state, NODE, images=[cls.image])
            cls.node.up()
        except BaseException:
            cls.c.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        state_dir = cls.node.state_dir
        pids = [r["pid"] for r in cls.node.state["procs"].values()] if cls.node.state else []
        cls.node.down()
        cls.c.__exit__(None, None, None)
        after = machine_snapshot()
        assert after == cls.before, "the kubelet Node left changes behind:\nbefore %s\nafter  %s" % (
            json.dumps(cls.before, sort_keys=True), json.dumps(after, sort_keys=True))
        assert not os.path.exists(state_dir), state_dir
        alive = [p for p in pids if os.path.exists("/proc/%d" % p)]
        assert not alive, "processes still running: %s" % alive

    def test_kubelet_node_ready_beside_stand_in_and_runs_a_pod(self):
        nodes = {n["metadata"]["name"]: n for n in self.c.get("nodes")["items"]}
        self.assertEqual(set(nodes), {NODE, "node-1", "node-2"})
        for name, n in nodes.items():
            self.assertEqual(h.condition(n, "Ready"), "True", name)
        info = nodes[NODE]["status"]["nodeInfo"]
        self.assertEqual(info["kubeletVersion"], "v1.37.2")
        self.assertTrue(info["containerRuntimeVersion"].startswith("containerd://"), info)
        h.log("kubelet Node %s: kubelet %s, %s, kernel %s, InternalIP %s" % (
            NODE, info["kubeletVersion"], info["containerRuntimeVersion"], info["kernelVersion"],
            [a["address"] for a in nodes[NODE]["status"]["addresses"] if a["type"] == "InternalIP"]))

        self.c.kubectl("create", "namespace", NS)
        h.wait_until(lambda: self.c.kubectl("get", "sa", "default", "-n", NS, check=False).returncode == 0,
                     60, "default ServiceAccount")
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "on-kubelet", "namespace": NS},
               "spec": {"nodeSelector": {"kubernetes.io/hostname": NODE},
                        "terminationGracePeriodSeconds": 2,
                        "containers": [{"name": "app", "image": self.image, "imagePullPolicy": "Never",
                                        "env": [{"name": "POD_NAME", "valueFrom": {
                                            "fieldRef": {"fieldPath": "metadata.name"}}}],
                                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080},
                                                           "periodSeconds": 1}}]}}
        self.c.apply(pod)
        got = h.wait_until(lambda: (lambda p: p if h.running_ready(p) else None)(
            self.c.get("pod", "on-kubelet", "-n", NS)), 120, "pod Running and Ready on the kubelet Node")
        ip = got["status"]["podIP"]
        h.log("pod on-kubelet Running on %s with IP %s (subnet %s)" % (got["spec"]["nodeName"], ip,
                                                                      self.node.state["subnet"]))
        self.assertEqual(got["spec"]["nodeName"], NODE)
        self.assertIn(ipaddress.ip_address(ip), ipaddress.ip_network(self.node.state["subnet"]))
        env = json.loads(h.http_get("http://%s:8080/env" % ip)[1])
        self.assertEqual(env["POD_NAME"], "on-kubelet")
        self.assertEqual(env["HOSTNAME"], "on-kubelet")

        self.c.kubectl("delete", "pod", "on-kubelet", "-n", NS, "--wait=true", timeout=60)
        h.wait_until(lambda: not self.node._ctr("tasks", "ls", "-q").stdout.split(), 30,
                     "containerd runs no task after the delete")


if __name__ == "__main__":
    h.main()
