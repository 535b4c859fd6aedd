"""The real kube-controller-manager and kube-scheduler at work: Deployment -> ReplicaSet ->
Pods, scheduling onto Nodes, DaemonSet pods per Node, garbage collection, namespace deletion,
ServiceAccounts and the root CA ConfigMap in new namespaces."""
import harness

WAIT = harness.CONTROLLER_TIMEOUT


def pod_spec(node_selector=None):
    spec = {"containers": [{"name": "main", "image": "kong-cluster/none:test", "command": ["sleep", "1d"]}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return spec


def deployment(name, replicas, node_selector):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": pod_spec(node_selector)}}}


class ControllersTest(harness.ClusterTestCase):
    def pods(self, ns, selector):
        return self.api("GET", "/api/v1/namespaces/%s/pods?labelSelector=%s" % (ns, selector), expect=200)["items"]

    def test_deployment_makes_replicaset_and_pods_and_gc_removes_them(self):
        self.create_namespace("deploy")
        # No Node matches: the pods stay Pending, which the scheduler reports.
        self.api("POST", "/apis/apps/v1/namespaces/deploy/deployments",
                 deployment("web", 2, {"kong-cluster/none": "x"}), expect=201)
        rs = harness.wait_until(lambda: self.api("GET", "/apis/apps/v1/namespaces/deploy/replicasets",
                                                 expect=200)["items"], WAIT, "a ReplicaSet")
        self.assertEqual(len(rs), 1)
        self.assertEqual(rs[0]["metadata"]["ownerReferences"][0]["kind"], "Deployment")
        pods = harness.wait_until(lambda: len(self.pods("deploy", "app=web")) == 2 and self.pods("deploy", "app=web"),
                                  WAIT, "two pods")
        for p in pods:
            self.assertEqual(p["metadata"]["ownerReferences"][0]["name"], rs[0]["metadata"]["name"])

        def unschedulable():
            pods = self.pods("deploy", "app=web")
            return pods and all(any(c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
                                    for c in p["status"].get("conditions", [])) for p in pods)
        harness.wait_until(unschedulable, WAIT, "the scheduler to report the pods Unschedulable")

        self.api("PATCH", "/apis/apps/v1/namespaces/deploy/deployments/web", {"spec": {"replicas": 3}}, expect=200)
        harness.wait_until(lambda: len(self.pods("deploy", "app=web")) == 3, WAIT, "three pods after scaling")

        self.api("DELETE", "/apis/apps/v1/namespaces/deploy/deployments/web", expect=200)
        harness.wait_until(lambda: not self.api("GET", "/apis/apps/v1/namespaces/deploy/replicasets",
                                                expect=200)["items"], WAIT, "the GC to delete the ReplicaSet")
        harness.wait_until(lambda: not self.pods("deploy", "app=web"), WAIT, "the GC to delete the pods")

    def test_scheduler_binds_pods_and_daemonset_covers_every_node(self):
        beat = harness.NodeHeartbeat(self.cluster)
        try:
            beat.add("sched-1")
            beat.add("sched-2")
            self.create_namespace("sched")
            pod = {"metadata": {"name": "one", "labels": {"app": "one"}}, "spec": pod_spec()}
            self.api("POST", "/api/v1/namespaces/sched/pods", pod, expect=201)
            bound = harness.wait_until(lambda: self.get("/api/v1/namespaces/sched/pods/one")["spec"].get("nodeName"),
                                       WAIT, "the scheduler to bind the pod")
            self.assertIn(bound, ("sched-1", "sched-2"))

            labels = {"app": "agent"}
            ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                  "spec": {"selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels}, "spec": pod_spec()}}}
            self.api("POST", "/apis/apps/v1/namespaces/sched/daemonsets", ds, expect=201)

            def nodes_of_agents():
                return sorted(p["spec"].get("nodeName") or "" for p in self.pods("sched", "app=agent"))
            harness.wait_until(lambda: nodes_of_agents() == ["sched-1", "sched-2"], WAIT,
                               "one DaemonSet pod bound to each Node")
            beat.add("sched-3")
            harness.wait_until(lambda: nodes_of_agents() == ["sched-1", "sched-2", "sched-3"], WAIT,
                               "a DaemonSet pod for the Node that joined")
        finally:
            beat.stop_all()

    def test_new_namespace_gets_service_account_and_root_ca(self):
        self.create_namespace("fresh")
        harness.wait_until(lambda: self.get("/api/v1/namespaces/fresh/serviceaccounts/default"), WAIT,
                           "the default ServiceAccount")
        ca = harness.wait_until(lambda: self.get("/api/v1/namespaces/fresh/configmaps/kube-root-ca.crt"), WAIT,
                                "the kube-root-ca.crt ConfigMap")
        with open(self.cluster.ca_file) as f:
            self.assertEqual(ca["data"]["ca.crt"].strip(), f.read().strip())

    def test_namespace_deletion_removes_its_contents(self):
        self.create_namespace("doomed")
        for i in range(3):
            self.api("POST", "/api/v1/namespaces/doomed/configmaps", {"metadata": {"name": "c%d" % i}}, expect=201)
        self.api("POST", "/apis/apps/v1/namespaces/doomed/deployments",
                 deployment("d", 1, {"kong-cluster/none": "x"}), expect=201)
        self.api("DELETE", "/api/v1/namespaces/doomed", expect=200)
        self.assertEqual(self.get("/api/v1/namespaces/doomed")["status"]["phase"], "Terminating")
        harness.wait_until(lambda: self.get("/api/v1/namespaces/doomed") is None, WAIT,
                           "the namespace controller to finish deleting the namespace")
        self.assertEqual(self.cluster.kubectl("get", "configmaps", "-n", "doomed", "-o", "name").stdout.strip(), "")


if __name__ == "__main__":
    harness.main()
