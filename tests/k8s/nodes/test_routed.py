#!/usr/bin/env python3
"""The node agent's routed topology (`--network routed`) against a real control plane: each
Node's pods sit on a network of their own, so a pod address of one Node does not route from
another Node's pods, while node addresses do, and a hostPort reaches the pod through its
Node's address. This is the topology of two datacenters whose pod networks do not route
(agents must advertise node addresses there; docs/kubernetes-nodes.md).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NS = "routed-test"


class Routed(h.NodesTestCase):
    NODES, TOPOLOGY, NETWORK, NS = 2, "dc1/dc1-a,dc2/dc2-a", "routed", NS

    def fetch(self, src_ip, url):
        return json.loads(h.http_get("http://%s:8080/fetch?url=%s" % (src_ip, url), timeout=15)[1])

    def test_only_node_addresses_route_between_nodes(self):
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "routed-ds", "namespace": NS},
              "spec": {"selector": {"matchLabels": {"app": "routed-ds"}},
                       "template": {"metadata": {"labels": {"app": "routed-ds"}},
                                    "spec": {"containers": [{
                                        "name": "app", "image": self.image, "imagePullPolicy": "Never",
                                        "ports": [{"name": "http", "containerPort": 8080, "hostPort": 18080}],
                                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"},
                                                           "periodSeconds": 1}}]}}}}
        self.c.apply(ds)

        def all_ready():
            pods = self.c.pods(NS, "app=routed-ds")
            return pods if len(pods) == 2 and all(h.running_ready(p) for p in pods) else None
        pods = h.wait_until(all_ready, 120, "2 Running, Ready DaemonSet pods")
        by_node = {p["spec"]["nodeName"]: p for p in pods}
        self.assertEqual(sorted(by_node), ["node-1", "node-2"])
        external = {n["name"]: n["externalIP"] for n in self.c.ready["nodes"]}
        internal = {n["name"]: n["internalIP"] for n in self.c.ready["nodes"]}
        for name, p in by_node.items():
            # The pod's hostIP is its Node's address on the pods' network, not the routed one.
            self.assertEqual(p["status"]["hostIP"], internal[name])
            self.assertNotEqual(internal[name], external[name])
        a, b = by_node["node-1"]["status"]["podIP"], by_node["node-2"]["status"]["podIP"]
        # Through the other Node's address and hostPort: reaches the pod (what agents advertising
        # node addresses rely on).
        got = self.fetch(a, "http://%s:18080/healthz" % external["node-2"])
        self.assertEqual(got.get("status"), 200, got)
        got = self.fetch(b, "http://%s:18080/healthz" % external["node-1"])
        self.assertEqual(got.get("status"), 200, got)
        # The other Node's pod address: no route (the request fails; it must not answer).
        t0 = time.monotonic()
        got = self.fetch(a, "http://%s:8080/healthz" % b)
        self.assertIn("error", got, "a pod address of another Node answered in routed mode: %r" % got)
        h.log("pod to foreign pod IP: %s after %.1fs" % (got["error"], time.monotonic() - t0))
        got = self.fetch(b, "http://%s:8080/healthz" % a)
        self.assertIn("error", got, got)
        # Leaving through their Node, pods still reach the API server (an in-cluster client).
        for ip in (a, b):
            got = json.loads(h.http_get("http://%s:8080/api?path=/version" % ip, timeout=15)[1])
            self.assertEqual(got.get("status"), 200, (ip, got))


if __name__ == "__main__":
    h.main()
