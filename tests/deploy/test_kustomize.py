#!/usr/bin/env python3
"""manifests/ rendered by the real `kubectl kustomize` and applied to the real apiserver (hack/k8s).

Verified:
- `kubectl kustomize` renders manifests/ (the base), manifests/overlays/two-dc and
  manifests/overlays/monitoring without error, and the base holds exactly the expected objects.
- The two-dc overlay changes only what it claims: advertise mode node-external, hostPort 7946 on
  the gossip TCP and UDP ports, profile wan; every other field of every object equals the base's.
- Everything rendered is applied with `kubectl apply` (client 1.32, validation on: kubectl's
  default `--validate=strict`, which sends fieldValidation=Strict) to kube-apiserver 1.37 (etcd and
  the apiserver only, one per test: hack/k8s `--apiserver-only`) and accepted: every
  object is reported created (then configured/unchanged on re-apply), and reading each one back
  gives the fields we sent (names, ports, env, RBAC rules, CRD served and Established).
- Validation really is on: a ClusterNode with an unknown field is refused with the strict
  decoding error, so "accepted" above means something.
- The monitors overlay applies once monitoring.coreos.com/v1 exists (stand-in CRDs from
  testdata/monitoring-crds.yaml; the real Prometheus Operator CRDs validate much more).

Not verified here: no controller or kubelet runs, so this does not prove that pods start or that
the RBAC rules suffice at run time (tests/k8s/test_chart_cluster.py and tests/k8s/e2e install the
chart, which tests/k8s/test_chart_render.py keeps equal to manifests/, with real Helm on a whole
control plane, and run it). Exit 77 (skipped) until hack/k8s/build.sh has built etcd and
kube-apiserver.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deployharness as h  # noqa: E402

CRD_NAME, CRD_GROUP, CRD_VERSION = h.crd_info()

EXPECTED_BASE = {
    ("Namespace", "", "kong-cluster"),
    ("CustomResourceDefinition", "", CRD_NAME),
    ("ServiceAccount", "kong-cluster", "kong-cluster-agent"),
    ("ServiceAccount", "kong-cluster", "kong-cluster-operator"),
    ("ClusterRole", "", "kong-cluster-agent"),
    ("ClusterRoleBinding", "", "kong-cluster-agent"),
    ("ClusterRole", "", "kong-cluster-operator"),
    ("ClusterRoleBinding", "", "kong-cluster-operator"),
    ("Role", "kong-cluster", "kong-cluster-operator"),
    ("RoleBinding", "kong-cluster", "kong-cluster-operator"),
    ("Service", "kong-cluster", "kong-cluster-agent"),
    ("Service", "kong-cluster", "kong-cluster-operator-metrics"),
    ("DaemonSet", "kong-cluster", "kong-cluster-agent"),
    ("Deployment", "kong-cluster", "kong-cluster-operator"),
    ("PodDisruptionBudget", "kong-cluster", "kong-cluster-operator"),
    ("NetworkPolicy", "kong-cluster", "kong-cluster-agent"),
}

RESOURCE = {  # kind -> kubectl resource name
    "Namespace": "namespace", "CustomResourceDefinition": "customresourcedefinition.apiextensions.k8s.io",
    "ServiceAccount": "serviceaccount", "ClusterRole": "clusterrole.rbac.authorization.k8s.io",
    "ClusterRoleBinding": "clusterrolebinding.rbac.authorization.k8s.io",
    "Role": "role.rbac.authorization.k8s.io", "RoleBinding": "rolebinding.rbac.authorization.k8s.io",
    "Service": "service", "DaemonSet": "daemonset.apps", "Deployment": "deployment.apps",
    "PodDisruptionBudget": "poddisruptionbudget.policy", "PodMonitor": "podmonitor.monitoring.coreos.com",
    "ServiceMonitor": "servicemonitor.monitoring.coreos.com",
    "NetworkPolicy": "networkpolicy.networking.k8s.io",
}


def applied_lines(objs, verb):
    out = set()
    for o in objs:
        res = RESOURCE[o["kind"]]
        short = res.split(".")[0] if o["kind"] in ("Namespace", "ServiceAccount", "Service") else res
        out.add("%s/%s %s" % (short, o["metadata"]["name"], verb))
    return out


class KustomizeRenderTest(unittest.TestCase):
    def test_base_renders_the_expected_objects(self):
        _, objs = h.kustomize(h.MANIFESTS)
        self.assertEqual(set(map(h.key, objs)), EXPECTED_BASE)
        crd = h.find(objs, "CustomResourceDefinition")
        with open(h.CRD) as f:
            self.assertEqual(crd, h.yaml.safe_load(f), "the base must carry manifests/crd/clusternodes.yaml as is")

    def test_two_dc_overlay_changes_only_advertise_hostport_and_profile(self):
        _, base = h.kustomize(h.MANIFESTS)
        _, two = h.kustomize(os.path.join(h.MANIFESTS, "overlays", "two-dc"))
        base, two = h.by_key(base), h.by_key(two)
        self.assertEqual(set(base), set(two))
        ds_key = ("DaemonSet", "kong-cluster", "kong-cluster-agent")
        np_key = ("NetworkPolicy", "kong-cluster", "kong-cluster-agent")
        for k in base:
            if k not in (ds_key, np_key):
                self.assertEqual(base[k], two[k], "two-dc changed %s" % (k,))
        # Cross-DC gossip arrives from node addresses, not from agent pods: the overlay admits
        # the gossip ports from any source and leaves every other rule as the base has it.
        gossip_rules = [r for r in two[np_key]["spec"]["ingress"]
                        if {p["port"] for p in r["ports"]} & {"gossip-tcp", "gossip-udp"}]
        self.assertTrue(gossip_rules)
        self.assertTrue(all("from" not in r for r in gossip_rules), gossip_rules)
        strip = lambda np: [r for r in np["spec"]["ingress"]
                            if not {p["port"] for p in r["ports"]} & {"gossip-tcp", "gossip-udp"}]
        self.assertEqual(strip(base[np_key]), strip(two[np_key]))
        c2 = h.container(two[ds_key], "agent")
        self.assertIn("--advertise-mode=node-external", c2["args"])
        self.assertNotIn("--advertise-mode=pod", c2["args"])
        ports = {p["name"]: p for p in c2["ports"]}
        self.assertEqual((ports["gossip-tcp"]["hostPort"], ports["gossip-tcp"]["protocol"]), (7946, "TCP"))
        self.assertEqual((ports["gossip-udp"]["hostPort"], ports["gossip-udp"]["protocol"]), (7946, "UDP"))
        self.assertNotIn("hostPort", ports["rpc"])
        self.assertNotIn("hostPort", ports["http"])
        e = h.env(c2)
        self.assertEqual(e["KONG_CLUSTER_PROFILE"], "wan")
        self.assertEqual(e["KONG_CLUSTER_DATACENTER_LABEL"], "topology.kubernetes.io/region")
        # apart from those, the DaemonSet is the base's
        c1 = h.container(base[ds_key], "agent")
        self.assertEqual({k: v for k, v in e.items() if k != "KONG_CLUSTER_PROFILE"},
                         {k: v for k, v in h.env(c1).items() if k != "KONG_CLUSTER_PROFILE"})
        self.assertEqual([a for a in c1["args"] if "advertise" not in a],
                         [a for a in c2["args"] if "advertise" not in a])

    def test_monitoring_overlay_is_base_plus_two_monitors(self):
        _, base = h.kustomize(h.MANIFESTS)
        _, mon = h.kustomize(os.path.join(h.MANIFESTS, "overlays", "monitoring"))
        extra = set(map(h.key, mon)) - set(map(h.key, base))
        self.assertEqual(extra, {("PodMonitor", "kong-cluster", "kong-cluster-agent"),
                                 ("ServiceMonitor", "kong-cluster", "kong-cluster-operator")})
        pm = h.find(mon, "PodMonitor")
        self.assertEqual(pm["spec"]["podMetricsEndpoints"][0]["port"], "probe")
        ds = h.find(base, "DaemonSet")
        self.assertTrue(all(pm["spec"]["selector"]["matchLabels"][k] == v
                            for k, v in ds["spec"]["template"]["metadata"]["labels"].items()
                            if k in pm["spec"]["selector"]["matchLabels"]))
        sm = h.find(mon, "ServiceMonitor")
        svc = h.find(base, "Service", "kong-cluster-operator-metrics")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], svc["spec"]["ports"][0]["name"])
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(svc["metadata"]["labels"].get(k), v, "ServiceMonitor selector must match the Service")


class KustomizeApplyTest(unittest.TestCase):
    def setUp(self):
        self.k8s = h.api_server()
        self.addCleanup(self.k8s.down)

    def apply(self, text, *extra, check=True):
        return self.k8s.kubectl("apply", "--validate=strict", "-f", "-", *extra, input=text, check=check)

    def test_base_and_overlay_apply_and_read_back(self):
        text, objs = h.kustomize(h.MANIFESTS)
        out = self.apply(text)
        lines = set(out.stdout.strip().splitlines())
        self.assertEqual(lines, applied_lines(objs, "created"), out.stdout + out.stderr)
        self.assertNotIn("Warning", out.stderr)
        self.k8s.kubectl("wait", "--for=condition=Established", "crd/" + CRD_NAME, "--timeout=20s")
        # read every object back and compare what we sent (the server adds metadata and status)
        for o in objs:
            ns = ["-n", o["metadata"]["namespace"]] if o["metadata"].get("namespace") else []
            got = h.yaml.safe_load(self.k8s.kubectl("get", RESOURCE[o["kind"]], o["metadata"]["name"], *ns,
                                                    "-o", "yaml").stdout)
            for field in ("spec", "rules", "roleRef", "subjects"):
                if field in o:
                    sent = o[field]
                    if o["kind"] == "CustomResourceDefinition":
                        sent = {k: v for k, v in sent.items()}
                    self.assertEqual(subset(sent, got[field]), True,
                                     "%s %s: %s differs:\nsent %s\ngot %s" % (o["kind"], o["metadata"]["name"], field,
                                                                             sent, got[field]))
            self.assertEqual(subset(o["metadata"].get("labels", {}), got["metadata"].get("labels", {})), True)
        # the ClusterNode API is served; validation is on (an unknown field is refused)
        self.assertEqual(self.k8s.kubectl("get", "clusternodes", "-n", "kong-cluster").stderr.strip(),
                         "No resources found in kong-cluster namespace.")
        bad = ("apiVersion: %s/%s\nkind: ClusterNode\nmetadata:\n  name: x\n"
               "  namespace: kong-cluster\nspec:\n  bogus: 1\n" % (CRD_GROUP, CRD_VERSION))
        r = self.apply(bad, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('strict decoding error: unknown field "spec.bogus"', r.stderr)

        # idempotent. The PDB is the exception kubectl itself makes: policy/v1's selector has
        # patchStrategy "replace", so client-side apply always sends it again and prints
        # "configured" (kubernetes PR #99290; noted in Azure/eno#246); the object stays the same.
        pdb_before = self.k8s.kubectl("get", "pdb", "kong-cluster-operator", "-n", "kong-cluster", "-o",
                                      "jsonpath={.metadata.generation} {.spec}").stdout
        again = self.apply(text)
        self.assertEqual(set(again.stdout.strip().splitlines()),
                         applied_lines([o for o in objs if o["kind"] != "PodDisruptionBudget"], "unchanged")
                         | {"poddisruptionbudget.policy/kong-cluster-operator configured"})
        self.assertEqual(self.k8s.kubectl("get", "pdb", "kong-cluster-operator", "-n", "kong-cluster", "-o",
                                          "jsonpath={.metadata.generation} {.spec}").stdout, pdb_before)

        # the two-dc overlay on top of the running base. Server-side apply, as docs/deploy.md says:
        # client-side apply merges container ports by containerPort alone, so the second 7946
        # entry (UDP) would not get its hostPort (kubernetes/kubernetes#39188, still open).
        text2, objs2 = h.kustomize(os.path.join(h.MANIFESTS, "overlays", "two-dc"))
        out = self.apply(text2, "--server-side", "--force-conflicts")
        lines = set(out.stdout.strip().splitlines())
        self.assertIn("daemonset.apps/kong-cluster-agent serverside-applied", lines, out.stdout + out.stderr)
        self.assertEqual(len(lines), len(objs2))
        ds = h.yaml.safe_load(self.k8s.kubectl("get", "ds", "kong-cluster-agent", "-n", "kong-cluster", "-o",
                                               "yaml").stdout)
        c = h.container(ds, "agent")
        self.assertIn("--advertise-mode=node-external", c["args"])
        self.assertEqual([p.get("hostPort") for p in c["ports"]], [7946, 7946, None, None, None])

    def test_two_dc_overlay_applies_on_an_empty_cluster(self):
        text, objs = h.kustomize(os.path.join(h.MANIFESTS, "overlays", "two-dc"))
        out = self.apply(text)
        self.assertEqual(set(out.stdout.strip().splitlines()), applied_lines(objs, "created"))

    def test_monitoring_overlay_applies_when_the_monitoring_api_exists(self):
        text, objs = h.kustomize(os.path.join(h.MANIFESTS, "overlays", "monitoring"))
        # without the API, kubectl refuses the monitors (the chart would not render them)
        r = self.apply(text, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr,
                         r'no matches for kind "(PodMonitor|ServiceMonitor)" in version "monitoring\.coreos\.com/v1"')
        self.k8s.kubectl("apply", "-f", os.path.join(h.TESTDATA, "monitoring-crds.yaml"))
        for crd in ("podmonitors", "servicemonitors"):
            self.k8s.kubectl("wait", "--for=condition=Established", "crd/%s.monitoring.coreos.com" % crd,
                             "--timeout=20s")
        out = self.apply(text)
        lines = set(out.stdout.strip().splitlines())
        self.assertIn("podmonitor.monitoring.coreos.com/kong-cluster-agent created", lines)
        self.assertIn("servicemonitor.monitoring.coreos.com/kong-cluster-operator created", lines)
        got = h.yaml.safe_load(self.k8s.kubectl("get", "podmonitor", "kong-cluster-agent", "-n", "kong-cluster",
                                                "-o", "yaml").stdout)
        self.assertEqual(got["spec"], h.find(objs, "PodMonitor")["spec"])


def subset(a, b):
    """True when everything in a is in b (b may have server-added fields)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in b and subset(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(subset(x, y) for x, y in zip(a, b))
    return a == b


if __name__ == "__main__":
    h.main()
