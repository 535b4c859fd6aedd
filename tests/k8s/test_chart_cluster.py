#!/usr/bin/env python3
"""charts/kong-cluster on the real control plane (hack/k8s), with real Helm.

Verified:
- Server-side validation: the default render and every examples/*.yaml (helm test pods
  included) pass `kubectl apply --dry-run=server` with the CRDs installed, so the apiserver's
  own validation (OpenAPI, strict fields, admission) checks every object; a broken object is
  refused the same way, so "passes" means something.
- `helm install`, `helm upgrade` with a changed value (the DaemonSet's pod template changes, the
  real DaemonSet controller records a new revision, the generated gossip key and RPC token keep
  their data through `lookup`), `helm uninstall` (what is left: the CRD, kept on purpose, and
  what Kubernetes puts in every namespace).
- existingSecret: Secrets created beforehand are used as given, never rendered, changed or
  deleted by the chart.
- Values that the schema or a `fail` refuses are refused by `helm install` too, and nothing
  is installed.
- RBAC as the apiserver enforces it: `kubectl auth can-i --list --as=system:serviceaccount:...`
  for the chart's ServiceAccounts gives exactly the calls the code makes (in the release
  namespace and elsewhere), single calls outside it are refused, and a ServiceAccount token
  of the operator is refused by the apiserver for what its Role does not allow.
- The ClusterNode CRD's validation: an unknown status, a missing memberName, two conditions of
  one type are refused.
- `helm test` hooks are installed with the release (`helm get hooks`). Running them needs agent
  and operator pods (images and the node stand-in of tests/k8s/nodes), which this control plane
  alone has not: they are rendered and checked in test_chart_render.py.
"""
import base64
import json
import os
import re

import harness
import helmchart as hc

MONITORING_CRDS = os.path.join(hc.ROOT, "tests", "deploy", "testdata", "monitoring-crds.yaml")
GROUP = "kongcluster.dev"
# What Kubernetes puts in every namespace, and what no chart controls.
NAMESPACE_DEFAULTS = {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
# Rules every authenticated user has (system:basic-user): not the chart's.
# A ServiceAccount that no binding names: what every authenticated identity may do anyway (the
# self-reviews, and whatever the release's default ClusterRoles grant to all, e.g. reading
# ClusterTrustBundles since Kubernetes 1.33), subtracted so the test sees only the chart's grants.
NOBODY = "kc-rbac-baseline-nobody"


def parse_can_i_list(text):
    """`kubectl auth can-i --list` -> {(resource, resourceNames, verb)} (resource rules only)."""
    lines = text.strip().splitlines()
    header = lines[0]
    cols = [header.index(c) for c in ("Resources", "Non-Resource URLs", "Resource Names", "Verbs")]
    out = set()
    for ln in lines[1:]:
        cells = [ln[cols[i]:cols[i + 1] if i + 1 < len(cols) else None].strip() for i in range(4)]
        resource, _, names, verbs = cells
        if not resource:
            continue  # a non-resource URL rule (discovery)
        names = tuple(n for n in names.strip("[]").split() if n)
        for v in verbs.strip("[]").split():
            out.add((resource, names, v))
    return out


class ChartOnClusterTest(harness.ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.helm = hc.Helm(kubeconfig=cls.cluster.kubeconfig)
        c = cls.cluster
        c.kubectl("apply", "-f", MONITORING_CRDS)
        c.kubectl("apply", "-f", "-", input=cls.helm.run("show", "crds", hc.CHART))
        for crd in ("clusternodes." + GROUP, "podmonitors.monitoring.coreos.com",
                    "servicemonitors.monitoring.coreos.com"):
            c.kubectl("wait", "--for=condition=Established", "crd/" + crd, "--timeout=60s")

    @classmethod
    def tearDownClass(cls):
        cls.helm.close()
        super().tearDownClass()

    def kubectl(self, *args, **kw):
        return self.cluster.kubectl(*args, **kw)

    def secret_data(self, ns, name):
        obj = self.get("/api/v1/namespaces/%s/secrets/%s" % (ns, name))
        self.assertIsNotNone(obj, "secret %s/%s" % (ns, name))
        return {k: base64.b64decode(v) for k, v in obj["data"].items()}

    def daemonset(self, ns, name):
        return self.get("/apis/apps/v1/namespaces/%s/daemonsets/%s" % (ns, name))

    def revisions(self, ns, release):
        items = self.get("/apis/apps/v1/namespaces/%s/controllerrevisions?labelSelector=%s" % (
            ns, "app.kubernetes.io/instance%3D" + release))["items"]
        return sorted(r["revision"] for r in items)

    def leftovers(self, ns):
        """Every object of every listable namespaced kind in ns, as (kind, name)."""
        kinds = self.kubectl("api-resources", "--verbs=list", "--namespaced", "-o", "name").stdout.split()
        kinds = [k for k in kinds if k not in ("events", "events.events.k8s.io")]  # expire on their own
        items = json.loads(self.kubectl("get", ",".join(kinds), "-n", ns, "-o", "json").stdout)["items"]
        return {(o["kind"], o["metadata"]["name"]) for o in items}

    # ------------------------------------------------------------ server-side validation

    def dry_run(self, ns, objs):
        r = self.kubectl("apply", "--dry-run=server", "-n", ns, "-f", "-", input=hc.dump_all(objs), check=False)
        return r

    def test_every_render_passes_server_side_validation(self):
        cases = [("defaults", [], None)] + [(os.path.basename(f)[:-5], [f], None) for f in hc.example_files()]
        cases.append(("everything", [], {
            "kong": {"enabled": True}, "postgres": {"password": "pw"},
            "agent": {"hostPort": {"enabled": True}, "advertiseMode": "host", "join": ["a:7946"],
                      "tags": {"role": "kong"}, "tolerations": [{"operator": "Exists"}],
                      "nodeSelector": {"kubernetes.io/os": "linux"}, "podAnnotations": {"a": "b"},
                      "extraEnv": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                      "envFrom": [{"configMapRef": {"name": "x", "optional": True}}]},
            "metrics": {"monitors": {"interval": "15s"}}}))
        for i, (name, files, values) in enumerate(cases):
            with self.subTest(case=name):
                ns = "dry-%d" % i
                self.kubectl("create", "namespace", ns)
                r = self.helm.template(values, release="r%d" % i, namespace=ns, values_files=files,
                                       api_versions=hc.MONITORING_API)
                objs = r.all_objects()
                self.assertTrue(r.hooks(), "the helm test pods are validated too")
                res = self.dry_run(ns, objs)
                self.assertEqual(res.returncode, 0, res.stderr)
                lines = res.stdout.strip().splitlines()
                self.assertEqual(len(lines), len(objs), res.stdout)
                self.assertTrue(all(ln.endswith(" created (server dry run)") for ln in lines), res.stdout)
                self.assertNotIn("Warning", res.stderr)
        # the apiserver does validate: a hostPort out of range and an unknown field are refused
        objs = self.helm.template(namespace="dry-0", release="bad").objects()
        ds = hc.find(objs, "DaemonSet")
        hc.container(ds, "agent")["ports"][0]["hostPort"] = 70000
        res = self.dry_run("dry-0", [ds])
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("hostPort", res.stderr)
        ds = hc.find(objs, "DaemonSet")
        ds["spec"]["template"]["spec"]["containers"][0]["hostPorts"] = [1]
        hc.container(ds, "agent")["ports"][0].pop("hostPort")
        res = self.dry_run("dry-0", [ds])
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("unknown field", res.stderr)

    # ------------------------------------------------------------ install, upgrade, uninstall

    def test_install_upgrade_uninstall(self):
        ns, rel = "kc-life", "kc"
        self.helm.run("install", rel, hc.CHART, "--namespace", ns, "--create-namespace")
        gossip, rpc = self.secret_data(ns, "kc-kong-cluster-gossip"), self.secret_data(ns, "kc-kong-cluster-rpc")
        self.assertEqual(len(base64.b64decode(gossip["key"])), 32)
        ds = self.daemonset(ns, "kc-kong-cluster-agent")
        env = hc.env(hc.container(ds, "agent"))
        self.assertEqual(env["KONG_LOG_LEVEL"], "info")
        harness.wait_until(lambda: self.revisions(ns, rel) == [1], harness.CONTROLLER_TIMEOUT,
                           "the DaemonSet controller's first revision")
        hooks = self.helm.run("get", "hooks", rel, "--namespace", ns)
        self.assertIn("kc-kong-cluster-test-agents", hooks)
        self.assertIn("kc-kong-cluster-test-operator", hooks)

        self.helm.run("upgrade", rel, hc.CHART, "--namespace", ns, "--set", "cluster.logLevel=debug")
        ds2 = self.daemonset(ns, "kc-kong-cluster-agent")
        self.assertEqual(hc.env(hc.container(ds2, "agent"))["KONG_LOG_LEVEL"], "debug")
        self.assertGreater(ds2["metadata"]["generation"], ds["metadata"]["generation"])
        # the pod template changed: the DaemonSet controller rolls to a new revision
        harness.wait_until(lambda: self.revisions(ns, rel) == [1, 2], harness.CONTROLLER_TIMEOUT,
                           "a second DaemonSet revision after the upgrade")
        # ... and the generated secrets were read back, not generated again
        self.assertEqual(self.secret_data(ns, "kc-kong-cluster-gossip"), gossip)
        self.assertEqual(self.secret_data(ns, "kc-kong-cluster-rpc"), rpc)
        history = json.loads(self.helm.run("history", rel, "--namespace", ns, "-o", "json"))
        self.assertEqual([h["revision"] for h in history], [1, 2])

        self.helm.run("uninstall", rel, "--namespace", ns)
        # what is left: nothing of the release in its namespace (the garbage collector removes
        # the ReplicaSets and ControllerRevisions its owners leave) ...
        harness.wait_until(lambda: self.leftovers(ns) <= NAMESPACE_DEFAULTS, harness.CONTROLLER_TIMEOUT,
                           "an empty namespace after helm uninstall")
        # ... nor cluster-wide, except the CRD: Helm never deletes crds/ (ClusterNodes would go with it)
        for kind in ("clusterroles", "clusterrolebindings"):
            names = [o["metadata"]["name"] for o in
                     self.get("/apis/rbac.authorization.k8s.io/v1/" + kind)["items"]]
            self.assertFalse([n for n in names if n.startswith("kc-kong-cluster")], kind)
        self.assertIsNotNone(self.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusternodes." + GROUP))
        harness.log("left after helm uninstall: CustomResourceDefinition clusternodes.%s (kept on purpose); "
                    "in %s: %s (Kubernetes' own)" % (GROUP, ns, sorted(NAMESPACE_DEFAULTS)))
        self.assertEqual(json.loads(self.helm.run("list", "--namespace", ns, "-o", "json")), [])

    def test_existing_secrets_are_used_as_given(self):
        ns, rel = "kc-existing", "kc2"
        self.kubectl("create", "namespace", ns)
        given = {"kong-cluster-gossip": {"key": base64.b64encode(bytes(range(32)))},
                 "kong-cluster-rpc": {"token": b"given-token"},
                 "kong-cluster-postgres": {"password": b"given-password"}}
        for name, data in given.items():
            self.api("POST", "/api/v1/namespaces/%s/secrets" % ns, {
                "metadata": {"name": name},
                "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}, expect=201)
        example = os.path.join(hc.EXAMPLES, "existing-secrets.yaml")
        self.helm.run("install", rel, hc.CHART, "--namespace", ns, "-f", example)
        self.helm.run("upgrade", rel, hc.CHART, "--namespace", ns, "-f", example, "--set", "cluster.logLevel=debug")
        secrets = self.get("/api/v1/namespaces/%s/secrets" % ns)["items"]
        # Helm keeps its release records as Secrets of their own type; the chart made none.
        made = [s["metadata"]["name"] for s in secrets if s.get("type") != "helm.sh/release.v1"]
        self.assertEqual(sorted(made), sorted(given))
        for name, data in given.items():
            self.assertEqual(self.secret_data(ns, name), data, name)
        e = hc.env(hc.container(self.daemonset(ns, "kc2-kong-cluster-agent"), "agent"))
        self.assertEqual((e["KONG_CLUSTER_ENCRYPT_KEY"], e["KONG_CLUSTER_RPC_AUTH"], e["KONG_PG_PASSWORD"]),
                         (("secret", "kong-cluster-gossip", "key"), ("secret", "kong-cluster-rpc", "token"),
                          ("secret", "kong-cluster-postgres", "password")))
        self.helm.run("uninstall", rel, "--namespace", ns)
        for name, data in given.items():  # the user's, not the release's
            self.assertEqual(self.secret_data(ns, name), data, name)

    def test_refused_values_install_nothing(self):
        ns = "kc-refused"
        self.kubectl("create", "namespace", ns)
        for args, message in ((["--set", "agent.advertiseMode=nodeexternal"], "/agent/advertiseMode"),
                              (["--set", "operator.replicas=two"], "/operator/replicas"),
                              (["--set", "operator.leaderElection.enabled=false"], "leaderElection.enabled is false"),
                              (["--set", "agent.advertiseMode=node-internal"], "needs agent.hostPort.enabled"),
                              (["--set", "operator.replicas=1"], "block every node drain")):
            with self.subTest(args=args):
                with self.assertRaisesRegex(hc.HelmError, message if not message.startswith("/") else
                                            "(%s|%s)" % (re.escape(message), re.escape(message[1:].replace("/", ".")))):
                    self.helm.run("install", "bad", hc.CHART, "--namespace", ns, *args)
                self.assertEqual(json.loads(self.helm.run("list", "--namespace", ns, "-o", "json")), [])
                self.assertLessEqual(self.leftovers(ns), NAMESPACE_DEFAULTS)

    # ------------------------------------------------------------ RBAC as enforced

    def can_i_list(self, sa_ns, sa, ns):
        out = self.kubectl("auth", "can-i", "--list", "-n", ns,
                           "--as=system:serviceaccount:%s:%s" % (sa_ns, sa)).stdout
        baseline = self.kubectl("auth", "can-i", "--list", "-n", ns,
                                "--as=system:serviceaccount:%s:%s" % (sa_ns, NOBODY)).stdout
        return parse_can_i_list(out) - parse_can_i_list(baseline)

    def can_i(self, sa_ns, sa, verb, resource, ns=None):
        """yes or no: `kubectl auth can-i VERB RESOURCE[/NAME][/SUBRESOURCE]` as the ServiceAccount."""
        parts = resource.split("/")
        args = ["auth", "can-i", verb, "/".join(parts[:2]), "--as=system:serviceaccount:%s:%s" % (sa_ns, sa)]
        args += ["--subresource=" + parts[2]] if len(parts) > 2 else []
        args += ["-n", ns] if ns else []
        r = self.kubectl(*args, check=False)
        answer = r.stdout.strip().split()[0] if r.stdout.strip() else r.stderr.strip()
        self.assertEqual(r.returncode, 0 if answer == "yes" else 1, r.stderr)
        return answer

    def test_rbac_allows_exactly_what_the_code_calls(self):
        ns, rel = "kc-rbac", "rb"
        self.helm.run("install", rel, hc.CHART, "--namespace", ns, "--create-namespace")
        agent, op = "rb-kong-cluster-agent", "rb-kong-cluster-operator"
        cn = "clusternodes." + GROUP
        kube_system = ("namespaces", ("kube-system",), "get")  # the default cluster identity
        operator_cluster_wide = {("nodes", (), "list"), ("nodes", (), "watch"), (cn, (), "list"), (cn, (), "watch"),
                                 kube_system}
        operator_in_ns = operator_cluster_wide | {
            ("pods", (), "get"), ("pods", (), "list"), ("pods", (), "watch"),
            ("daemonsets.apps", (agent,), "get"),
            (cn, (), "create"), (cn, (), "delete"), (cn + "/status", (), "patch"),
            ("leases.coordination.k8s.io", (), "create"),
            ("leases.coordination.k8s.io", (op,), "get"), ("leases.coordination.k8s.io", (op,), "update"),
            ("events", (), "create")}
        self.assertEqual(self.can_i_list(ns, op, ns), operator_in_ns)
        self.assertEqual(self.can_i_list(ns, op, "default"), operator_cluster_wide)
        self.assertEqual(self.can_i_list(ns, agent, ns), {("nodes", (), "get"), kube_system})
        self.assertEqual(self.can_i_list(ns, agent, "default"), {("nodes", (), "get"), kube_system})
        # single calls around the allowed set are refused
        for sa, verb, resource, where in (
                (op, "update", cn + "/x", ns), (op, "get", cn + "/x", ns), (op, "get", cn + "/x/status", ns),
                (op, "create", cn, "default"), (op, "patch", "events", ns), (op, "get", "nodes/n1", None),
                (op, "get", "secrets", ns), (op, "delete", "pods", ns), (op, "list", "pods", "default"),
                (op, "get", "leases.coordination.k8s.io/other", ns),
                (op, "update", "leases.coordination.k8s.io/other", ns),
                (op, "get", "daemonsets.apps/other", ns), (op, "list", "daemonsets.apps", ns),
                (agent, "list", "nodes", None), (agent, "get", "pods", ns), (agent, "get", "secrets", ns),
                (agent, "get", "namespaces/default", None), (op, "list", "namespaces", None)):
            with self.subTest(sa=sa, verb=verb, resource=resource):
                self.assertEqual(self.can_i(ns, sa, verb, resource, where), "no")
        for sa, verb, resource, where in ((op, "get", "leases.coordination.k8s.io/" + op, ns),
                                          (op, "get", "daemonsets.apps/" + agent, ns),
                                          (agent, "get", "nodes/n1", None),
                                          (agent, "get", "namespaces/kube-system", None),
                                          (op, "get", "namespaces/kube-system", None)):
            self.assertEqual(self.can_i(ns, sa, verb, resource, where), "yes")
        # and a real token of the operator's ServiceAccount, at the apiserver
        token = self.api("POST", "/api/v1/namespaces/%s/serviceaccounts/%s/token" % (ns, op),
                         {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                          "spec": {"expirationSeconds": 600}}, expect=201)["status"]["token"]
        self.api("GET", "/api/v1/nodes", token=token, expect=200)
        self.api("GET", "/api/v1/namespaces/%s/pods" % ns, token=token, expect=200)
        self.api("GET", "/api/v1/namespaces/%s/secrets" % ns, token=token, expect=403)
        self.api("GET", "/api/v1/namespaces/default/pods", token=token, expect=403)
        self.api("GET", "/apis/%s/v1alpha1/namespaces/%s/clusternodes/x" % (GROUP, ns), token=token, expect=403)
        self.helm.run("uninstall", rel, "--namespace", ns)

    # ------------------------------------------------------------ the CRD's validation

    def test_clusternode_validation(self):
        ns = "kc-crd"
        self.kubectl("create", "namespace", ns)
        base = "/apis/%s/v1alpha1/namespaces/%s/clusternodes" % (GROUP, ns)
        status, obj = self.cluster.request("POST", base, {"apiVersion": GROUP + "/v1alpha1", "kind": "ClusterNode",
                                                          "metadata": {"name": "no-member"}, "spec": {}})
        self.assertEqual(status, 422, obj)
        self.assertIn("spec.memberName", obj["message"])
        self.api("POST", base, {"apiVersion": GROUP + "/v1alpha1", "kind": "ClusterNode",
                                "metadata": {"name": "m1"}, "spec": {"memberName": "m1"}}, expect=201)
        merge = "application/merge-patch+json"
        good = {"status": {"memberName": "m1", "status": "alive",
                           "conditions": [{"type": "Alive", "status": "True", "reason": "alive"}]}}
        status, obj = self.cluster.request("PATCH", base + "/m1/status", good, content_type=merge)
        self.assertEqual(status, 200, obj)
        for bad, field in (({"status": {"status": "zombie"}}, "status.status"),
                           ({"status": {"conditions": [{"type": "Alive", "status": "True"},
                                                       {"type": "Alive", "status": "False"}]}},
                            "status.conditions"),
                           ({"status": {"conditions": [{"type": "Alive", "status": "maybe"}]}},
                            "status.conditions[0].status")):
            with self.subTest(bad=bad):
                status, obj = self.cluster.request("PATCH", base + "/m1/status", bad, content_type=merge)
                self.assertEqual(status, 422, obj)
                self.assertIn(field, obj["message"])


if __name__ == "__main__":
    harness.main()
