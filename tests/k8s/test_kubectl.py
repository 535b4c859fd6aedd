"""The machine's kubectl against the real apiserver: version, nodes, API resources."""
import json

import harness


class KubectlTest(harness.ClusterTestCase):
    def test_version_is_the_pinned_release(self):
        out = json.loads(self.cluster.kubectl("version", "-o", "json").stdout)
        self.assertEqual(out["serverVersion"]["gitVersion"], "v1.37.2")

    def test_get_nodes_lists_a_registered_node(self):
        self.assertEqual(self.cluster.kubectl("get", "nodes", "-o", "name").stdout.strip(), "")
        beat = harness.NodeHeartbeat(self.cluster)
        try:
            beat.add("kubectl-node")
            out = self.cluster.kubectl("get", "nodes", "-o", "json").stdout
            names = [n["metadata"]["name"] for n in json.loads(out)["items"]]
            self.assertEqual(names, ["kubectl-node"])
        finally:
            beat.stop_all()

    def test_api_resources_are_served(self):
        out = self.cluster.kubectl("api-resources", "-o", "name").stdout.split()
        for resource in ("pods", "nodes", "serviceaccounts", "deployments.apps", "daemonsets.apps",
                         "leases.coordination.k8s.io", "roles.rbac.authorization.k8s.io",
                         "customresourcedefinitions.apiextensions.k8s.io", "endpointslices.discovery.k8s.io"):
            self.assertIn(resource, out)


if __name__ == "__main__":
    harness.main()
