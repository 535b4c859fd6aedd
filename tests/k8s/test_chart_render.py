#!/usr/bin/env python3
"""charts/kong-cluster checked by real Helm (hack/k8s/build.sh builds it from its module):
`helm lint --strict`, `helm template` and values.schema.json, without a cluster.

Verified:
- Chart.yaml is a v2 chart with name/version/appVersion (appVersion = the project version);
  values.yaml is sectioned with banner comments and every top-level key has a comment.
- Every `.Values.a.b.c` a template reads exists in values.yaml, every value is read by some
  template, and docs/operations.md's "Values reference" names every value and no other;
  values.schema.json describes exactly the keys values.yaml has.
- crds/clusternodes.yaml is byte-equal to manifests/crd/clusternodes.yaml and validates what
  the operator writes (status enum, spec.memberName required, conditions a list-map by type).
- `helm lint --strict` is clean with the default values and with every examples/*.yaml; each
  example renders; every template file renders an object with the monitoring API present.
- The chart, with the three existingSecret values, equals `kubectl kustomize manifests/` object
  for object (the labels only Helm sets aside), and with monitoring.coreos.com/v1 equals
  manifests/overlays/monitoring.
- values.schema.json refuses typos and wrong types (an unknown advertiseMode, a string for a
  number, unknown keys), and `fail` refuses contradictions (two operator replicas without
  leader election; host/node-* advertise modes without hostPort or hostNetwork; a budget that
  blocks drains; a grace period shorter than the leave; a bad gossip key; Kong without
  Postgres), each with a message naming the value.
- Names stay within 63 characters and distinct for the longest release name Helm accepts.
- Behaviour of the values: monitors, hostPort, advertise modes, secrets (generated, given,
  existing), gossip encryption off, the Kong container (its securityContext, probes and
  writable prefix), Postgres off, join/tags/env/extraEnv/envFrom, extra volumes, the /tmp
  emptyDir, topology spread, automountServiceAccountToken where the apiserver is called,
  least-privilege RBAC, the operator's arguments and PDB, names, NOTES.txt, the helm test pods
  (their scripts parse with bash -n).

The same chart on a real apiserver (server-side validation, install/upgrade/uninstall, RBAC
as enforced): test_chart_cluster.py.
"""
import base64
import json
import os
import re
import subprocess
import sys
import unittest

import harness
import helmchart as hc

yaml = hc.yaml
TEMPLATES = os.path.join(hc.CHART, "templates")
CRD = os.path.join(hc.ROOT, "manifests", "crd", "clusternodes.yaml")
MANIFESTS = os.path.join(hc.ROOT, "manifests")
# The longest release name Helm accepts.
LONG_RELEASE = "a-very-long-release-name-that-helm-still-accepts-x053"
assert len(LONG_RELEASE) == 53


def load_values():
    with open(os.path.join(hc.CHART, "values.yaml")) as f:
        return yaml.safe_load(f)


def crd_group():
    with open(CRD) as f:
        return yaml.safe_load(f)["spec"]["group"]


def leaf_paths(d, prefix=()):
    for k, v in d.items():
        p = prefix + (k,)
        if isinstance(v, dict) and v:
            yield from leaf_paths(v, p)
        else:
            yield p


def template_files():
    """Every file under templates/, relative to it."""
    out = []
    for d, _, files in os.walk(TEMPLATES):
        out += [os.path.relpath(os.path.join(d, f), TEMPLATES) for f in files]
    return sorted(out)


def template_texts():
    out = {}
    for fn in template_files():
        with open(os.path.join(TEMPLATES, fn)) as f:
            out[fn] = f.read()
    return out


def schema_path(where):
    """A regex for where a schema error points: `/agent/advertiseMode` (Helm's JSON pointer) or
    `agent.advertiseMode` (older Helm's dotted form); a bare key matches as it is."""
    if not where.startswith("/"):
        return re.escape(where)
    return "(%s|%s)" % (re.escape(where), re.escape(where[1:].replace("/", ".")))


def kustomize(path):
    r = subprocess.run([harness.k8scluster.KUBECTL, "kustomize", path], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, KUBECONFIG=os.devnull))
    if r.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed (%d): %s" % (path, r.returncode, r.stderr))
    return [d for d in yaml.safe_load_all(r.stdout) if d]


class HelmCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.helm = hc.Helm()

    @classmethod
    def tearDownClass(cls):
        cls.helm.close()

    def render(self, values=None, api_versions=(), release="kong-cluster", **kw):
        return self.helm.template(values, api_versions=api_versions, release=release, **kw)

    def objs(self, values=None, api_versions=(), **kw):
        return self.render(values, api_versions, **kw).objects()

    def agent(self, objs):
        return hc.container(hc.find(objs, "DaemonSet"), "agent")

    def refused(self, values, message, **kw):
        """helm template refuses values, with message (a regex) in its error."""
        with self.assertRaisesRegex(hc.HelmError, message):
            self.render(values, **kw)


class ChartFilesTest(HelmCase):
    def test_chart_yaml(self):
        with open(os.path.join(hc.CHART, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.assertEqual(chart["apiVersion"], "v2")
        self.assertEqual(chart["name"], "kong-cluster")
        self.assertRegex(chart["version"], r"^\d+\.\d+\.\d+$")
        self.assertRegex(str(chart["appVersion"]), r"^\d+\.\d+\.\d+$")
        with open(os.path.join(hc.ROOT, "CMakeLists.txt")) as f:
            m = re.search(r"project\(kong_cluster VERSION (\S+)", f.read())
        self.assertEqual(chart["appVersion"], m.group(1), "appVersion follows the project version")

    def test_values_are_sectioned_and_commented(self):
        with open(os.path.join(hc.CHART, "values.yaml")) as f:
            lines = f.read().splitlines()
        banners = [i for i, ln in enumerate(lines) if re.match(r"^# -{20,}$", ln)]
        self.assertGreaterEqual(len(banners), 12, "banner-separated sections, as Kong's charts")
        for i, ln in enumerate(lines):
            if re.match(r"^[A-Za-z]\w*:", ln):
                self.assertTrue(lines[i - 1].startswith("#"), "top-level key without a comment: %s" % ln)

    def test_every_values_reference_exists_and_every_value_is_used(self):
        values = load_values()
        refs = set()
        for fn, text in template_texts().items():
            for m in re.finditer(r"\.Values((?:\.[A-Za-z_]\w*)+)", text):
                path = tuple(m.group(1).lstrip(".").split("."))
                refs.add(path)
                cur = values
                for i, part in enumerate(path):
                    self.assertIsInstance(cur, dict, "%s: .Values.%s: %s is not a map" % (fn, ".".join(path),
                                                                                          ".".join(path[:i])))
                    self.assertIn(part, cur, "%s: .Values.%s is not in values.yaml" % (fn, ".".join(path)))
                    cur = cur[part]
        unused = [".".join(p) for p in leaf_paths(values) if not any(p[:len(r)] == r for r in refs)]
        self.assertEqual(unused, [], "values.yaml keys no template reads")

    def test_schema_describes_exactly_the_values(self):
        with open(os.path.join(hc.CHART, "values.schema.json")) as f:
            schema = json.load(f)
        self.assertEqual(schema["$schema"], "http://json-schema.org/draft-07/schema#")

        def keys(s, prefix=()):
            for k, sub in s.get("properties", {}).items():
                yield prefix + (k,)
                yield from keys(sub, prefix + (k,))
        described = set(keys(schema)) - {("global",)}
        values = set()

        def walk(d, prefix=()):
            for k, v in d.items():
                values.add(prefix + (k,))
                if isinstance(v, dict) and (prefix + (k,)) in described_maps:
                    walk(v, prefix + (k,))
        # maps the schema closes (additionalProperties false) must list their keys
        described_maps = set()

        def closed(s, prefix=()):
            if s.get("additionalProperties") is False:
                described_maps.add(prefix)
            for k, sub in s.get("properties", {}).items():
                closed(sub, prefix + (k,))
        closed(schema)
        described_maps.discard(())
        walk({k: v for k, v in load_values().items()})
        for path in values:
            self.assertIn(path, described, "values.yaml key %s missing from values.schema.json" % ".".join(path))
        for path in described:
            if path[:-1] == () or path[:-1] in described_maps:
                self.assertIn(path, values, "values.schema.json describes %s, values.yaml has no such key"
                              % ".".join(path))

    def test_operations_guide_documents_every_value(self):
        with open(os.path.join(hc.ROOT, "docs", "operations.md")) as f:
            text = f.read()
        self.assertIn("## Install with Helm", text)
        self.assertIn("## Install with kustomize", text)
        section = text.split("## Values reference", 1)[1].split("\n## ", 1)[0]
        documented = set()
        for row in section.splitlines():
            if not row.startswith("| `"):
                continue
            first_cell = row.split("|")[1]
            parent = None
            for tok in re.findall(r"`([^`]+)`", first_cell):
                if tok.startswith(".") and parent:
                    tok = parent + tok
                documented.add(tuple(tok.split(".")))
                parent = ".".join(tok.split(".")[:-1])
        undocumented = [".".join(p) for p in leaf_paths(load_values())
                        if not any(p[:n] in documented for n in range(1, len(p) + 1))]
        self.assertEqual(undocumented, [], "values missing from docs/operations.md's Values reference")
        stale = [".".join(d) for d in documented if not self._exists(load_values(), d)]
        self.assertEqual(stale, [], "documented values that values.yaml does not have")

    @staticmethod
    def _exists(values, path):
        cur = values
        for part in path:
            if not isinstance(cur, dict) or part not in cur:
                return False
            cur = cur[part]
        return True

    def test_crd_copy_is_identical_and_validates_what_the_operator_writes(self):
        with open(CRD, "rb") as a, open(os.path.join(hc.CHART, "crds", "clusternodes.yaml"), "rb") as b:
            self.assertEqual(a.read(), b.read(), "charts/kong-cluster/crds/ must be a copy of manifests/crd/")
        self.assertEqual(sorted(os.listdir(os.path.join(hc.CHART, "crds"))), ["clusternodes.yaml"])
        with open(CRD) as f:
            crd = yaml.safe_load(f)
        props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
        self.assertEqual(props["spec"]["required"], ["memberName"])
        status = props["status"]["properties"]
        self.assertEqual(status["status"]["enum"], ["none", "alive", "leaving", "left", "failed"])
        conditions = status["conditions"]
        self.assertEqual((conditions["x-kubernetes-list-type"], conditions["x-kubernetes-list-map-keys"]),
                         ("map", ["type"]))
        self.assertIn("type", conditions["items"]["required"])

    def test_every_template_renders(self):
        r = self.render(api_versions=hc.MONITORING_API)
        produced = set(r.by_file)
        expected = {"templates/" + fn for fn in template_files()
                    if fn.endswith(".yaml") and not os.path.basename(fn).startswith("_")}
        self.assertEqual(produced, expected)
        self.assertNotIn("{{", r.text)

    def test_lint_strict_with_defaults_and_every_example(self):
        out = self.helm.lint()
        self.assertIn("1 chart(s) linted, 0 chart(s) failed", out)
        self.assertNotRegex(out, r"\[(WARNING|ERROR)\]")
        examples = hc.example_files()
        self.assertGreaterEqual(len(examples), 5)
        for f in examples:
            with self.subTest(example=os.path.basename(f)):
                out = self.helm.lint(values_files=[f])
                self.assertIn("0 chart(s) failed", out)
                self.assertNotRegex(out, r"\[(WARNING|ERROR)\]")
                objs = self.objs(values_files=[f], api_versions=hc.MONITORING_API)
                self.assertIn("DaemonSet", {o["kind"] for o in objs})

    def test_examples_are_documented(self):
        with open(os.path.join(hc.ROOT, "docs", "operations.md")) as f:
            text = f.read()
        for f in hc.example_files():
            self.assertIn("examples/" + os.path.basename(f), text)


class ChartEqualsKustomizeTest(HelmCase):
    def compare(self, chart_objs, kustomize_objs):
        chart = hc.by_key([hc.normalize(o) for o in chart_objs])
        kust = hc.by_key([o for o in kustomize_objs if o["kind"] not in ("Namespace", "CustomResourceDefinition")])
        self.assertEqual(sorted(chart), sorted(kust))
        for k in kust:
            self.assertEqual(chart[k], kust[k], "%s differs between the chart and manifests/ "
                                                "(tests/deploy/sync_base.py regenerates them)" % (k,))

    def test_chart_equals_base(self):
        self.compare(self.objs(hc.BASE_VALUES), kustomize(MANIFESTS))

    def test_chart_with_monitoring_api_equals_monitoring_overlay(self):
        self.compare(self.objs(hc.BASE_VALUES, api_versions=hc.MONITORING_API),
                     kustomize(os.path.join(MANIFESTS, "overlays", "monitoring")))


class ChartRefusesTest(HelmCase):
    """values.schema.json and `fail`: mistakes stop at template/install time, with the value named."""

    def test_schema_refuses_typos_and_wrong_types(self):
        for values, where in (
                ({"agent": {"advertiseMode": "nodeexternal"}}, "/agent/advertiseMode"),
                ({"operator": {"replicas": "two"}}, "/operator/replicas"),
                ({"agent": {"ports": {"gossip": "7946"}}}, "/agent/ports/gossip"),
                ({"agent": {"ports": {"gossip": 70000}}}, "/agent/ports/gossip"),
                ({"cluster": {"ttlOnFailure": 30}}, "/cluster/ttlOnFailure"),
                ({"cluster": {"profile": "LAN"}}, "/cluster/profile"),
                ({"agent": {"hostport": {"enabled": True}}}, "hostport"),
                ({"opertor": {"replicas": 1}}, "opertor"),
                ({"gossipKey": {"enabled": "yes"}}, "/gossipKey/enabled"),
                ({"operator": {"failedGrace": "30 seconds"}}, "/operator/failedGrace"),
                ({"agent": {"join": ["10.0.0.5"]}}, "/agent/join/0"),
                ({"fullnameOverride": "Not_A_DNS_Label"}, "/fullnameOverride")):
            with self.subTest(values=values):
                self.refused(values, "values don't meet the specifications of the schema(?s:.*)" + schema_path(where))

    def test_contradictions_are_refused(self):
        self.refused({"operator": {"replicas": 2, "leaderElection": {"enabled": False}}},
                     "operator.replicas is 2 but operator.leaderElection.enabled is false")
        for mode in ("host", "node-internal", "node-external"):
            with self.subTest(mode=mode):
                self.refused({"agent": {"advertiseMode": mode}},
                             "agent.advertiseMode %s needs agent.hostPort.enabled or agent.hostNetwork" % mode)
                self.objs({"agent": {"advertiseMode": mode, "hostNetwork": True}})
                self.objs({"agent": {"advertiseMode": mode, "hostPort": {"enabled": True}}})
        self.refused({"operator": {"replicas": 1, "leaderElection": {"enabled": False}}},
                     r"operator.podDisruptionBudget.minAvailable \(1\) must be smaller than operator.replicas \(1\)")
        self.refused({"operator": {"replicas": 2, "podDisruptionBudget": {"minAvailable": 2}}},
                     "would allow no eviction and block every node drain")
        objs = self.objs({"operator": {"replicas": 1, "leaderElection": {"enabled": False},
                                       "podDisruptionBudget": {"enabled": False}}})
        self.assertEqual(hc.find(objs, "Deployment")["spec"]["replicas"], 1)
        self.assertFalse([o for o in objs if o["kind"] == "PodDisruptionBudget"])

    def test_install_refuses_too(self):
        # `helm install --dry-run` runs the same checks as an install would (no cluster needed).
        with self.assertRaisesRegex(hc.HelmError, "/agent/advertiseMode"):
            self.helm.run("install", "kc", hc.CHART, "--dry-run=client", "--set", "agent.advertiseMode=nodeexternal")


class ChartValuesTest(HelmCase):
    def test_monitors_only_with_the_api_or_when_trusted(self):
        kinds = lambda objs: {o["kind"] for o in objs}  # noqa: E731
        self.assertFalse({"PodMonitor", "ServiceMonitor"} & kinds(self.objs()))
        self.assertTrue({"PodMonitor", "ServiceMonitor"} <= kinds(self.objs(api_versions=hc.MONITORING_API)))
        self.assertTrue({"PodMonitor", "ServiceMonitor"} <= kinds(
            self.objs({"metrics": {"monitors": {"trustCRDsExist": True}}})))
        self.assertFalse({"PodMonitor", "ServiceMonitor"} & kinds(
            self.objs({"metrics": {"monitors": {"enabled": False}}}, api_versions=hc.MONITORING_API)))
        objs = self.objs({"metrics": {"monitors": {"interval": "15s", "labels": {"release": "prom"}}}},
                         api_versions=hc.MONITORING_API)
        pm, sm = hc.find(objs, "PodMonitor"), hc.find(objs, "ServiceMonitor")
        self.assertEqual(pm["spec"]["podMetricsEndpoints"], [{"port": "probe", "path": "/metrics", "scheme": "http",
                                                               "interval": "15s"}])
        self.assertEqual(sm["metadata"]["labels"]["release"], "prom")
        # the monitors point at what exists: the agent container port and the operator Service port
        ports = {p["name"]: p["containerPort"] for p in self.agent(objs)["ports"]}
        self.assertEqual(ports["probe"], 8947)
        svc = hc.find(objs, "Service", "kong-cluster-operator-metrics")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], svc["spec"]["ports"][0]["name"])

    def test_network_policy(self):
        objs = self.objs()
        np = hc.find(objs, "NetworkPolicy", "kong-cluster-agent")
        sel = {"app.kubernetes.io/name": "kong-cluster", "app.kubernetes.io/instance": "kong-cluster"}

        def peer(component):
            return {"podSelector": {"matchLabels": dict(sel, **{"app.kubernetes.io/component": component})}}
        self.assertEqual(np["spec"]["podSelector"]["matchLabels"],
                         dict(sel, **{"app.kubernetes.io/component": "agent"}))
        self.assertEqual(np["spec"]["policyTypes"], ["Ingress"])
        gossip, api, probe = np["spec"]["ingress"]
        self.assertEqual(gossip["from"], [peer("agent")])
        self.assertEqual(gossip["ports"],
                         [{"port": "gossip-tcp", "protocol": "TCP"}, {"port": "gossip-udp", "protocol": "UDP"}])
        # the operator, and the helm test pods (they read /v1/members)
        self.assertEqual(api["from"], [peer("operator"), peer("test")])
        self.assertEqual(api["ports"], [{"port": "rpc", "protocol": "TCP"}, {"port": "http", "protocol": "TCP"}])
        self.assertEqual(probe, {"ports": [{"port": "probe", "protocol": "TCP"}]})
        # the helm test pods carry the label the policy admits
        for pod in self.render().hooks():
            self.assertEqual(pod["metadata"]["labels"]["app.kubernetes.io/component"], "test")
        # every port the policy names is a port of the agent container
        names = {p["name"] for p in self.agent(objs)["ports"]}
        for rule in np["spec"]["ingress"]:
            for p in rule["ports"]:
                self.assertIn(p["port"], names)
        # extra peers are added; without an operator, test pods or apiFrom nothing reaches RPC and HTTP
        extra = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kong"}}}
        policy = {"apiFrom": [extra], "probeFrom": [extra], "gossipFrom": [extra]}
        objs = self.objs({"agent": {"networkPolicy": policy}})
        gossip, api, probe = hc.find(objs, "NetworkPolicy", "kong-cluster-agent")["spec"]["ingress"]
        self.assertEqual(gossip["from"][1], extra)
        self.assertEqual(api["from"][2], extra)
        self.assertEqual(probe["from"], [extra, peer("test")])
        objs = self.objs({"operator": {"enabled": False}})
        api = hc.find(objs, "NetworkPolicy", "kong-cluster-agent")["spec"]["ingress"][1]
        self.assertEqual(api["from"], [peer("test")])
        objs = self.objs({"operator": {"enabled": False}, "tests": {"enabled": False}})
        api = hc.find(objs, "NetworkPolicy", "kong-cluster-agent")["spec"]["ingress"][1]
        self.assertEqual(api["from"], [peer("nothing")])
        self.assertFalse([o for o in self.objs({"agent": {"networkPolicy": {"enabled": False}}})
                          if o["kind"] == "NetworkPolicy"])

    def test_agent_daemonset_defaults(self):
        objs = self.objs()
        ds = hc.find(objs, "DaemonSet", "kong-cluster-agent")
        spec = ds["spec"]["template"]["spec"]
        c = self.agent(objs)
        self.assertEqual([x["name"] for x in spec["containers"]], ["agent"])
        self.assertEqual(c["args"], ["agent", "--bind=0.0.0.0:7946", "--rpc-addr=0.0.0.0:7373",
                                     "--http-addr=0.0.0.0:8946", "--advertise-mode=pod",
                                     "--probe-addr=0.0.0.0:8947"])
        e = hc.env(c)
        self.assertEqual({k: e[k] for k in ("POD_NAME", "POD_NAMESPACE", "POD_UID", "POD_IP", "HOST_IP", "NODE_NAME")},
                         {"POD_NAME": ("field", "metadata.name"), "POD_NAMESPACE": ("field", "metadata.namespace"),
                          "POD_UID": ("field", "metadata.uid"), "POD_IP": ("field", "status.podIP"),
                          "HOST_IP": ("field", "status.hostIP"), "NODE_NAME": ("field", "spec.nodeName")})
        self.assertEqual(e["KONG_CLUSTER_ENCRYPT_KEY"], ("secret", "kong-cluster-gossip", "key"))
        self.assertEqual(e["KONG_CLUSTER_RPC_AUTH"], ("secret", "kong-cluster-rpc", "token"))
        self.assertEqual(e["KONG_PG_HOST"], "postgres")
        self.assertNotIn("KONG_PG_PASSWORD", e)  # no password given, no existing Secret
        self.assertEqual(e["KONG_CLUSTER_LEAVE_TIMEOUT"], "15")
        self.assertGreater(spec["terminationGracePeriodSeconds"], int(e["KONG_CLUSTER_LEAVE_TIMEOUT"]))
        self.assertEqual([(p["name"], p["containerPort"], p["protocol"], p.get("hostPort")) for p in c["ports"]],
                         [("gossip-tcp", 7946, "TCP", None), ("gossip-udp", 7946, "UDP", None),
                          ("rpc", 7373, "TCP", None), ("http", 8946, "TCP", None),
                          ("probe", 8947, "TCP", None)])
        # Probes on their own listener: API connections cannot starve them.
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "probe"})
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "probe"})
        self.assertTrue(spec["securityContext"]["runAsNonRoot"])
        self.assertEqual(spec["serviceAccountName"], "kong-cluster-agent")
        # handlers get a writable /tmp under the read-only root filesystem
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertIn({"name": "tmp", "mountPath": "/tmp"}, c["volumeMounts"])
        self.assertIn({"name": "tmp", "emptyDir": {}}, spec["volumes"])
        for o in objs:  # app.kubernetes.io/* on every object
            labels = o["metadata"]["labels"]
            for k in ("name", "instance", "version", "part-of", "managed-by"):
                self.assertIn("app.kubernetes.io/" + k, labels, hc.key(o))
            self.assertEqual(labels["app.kubernetes.io/managed-by"], "Helm")

    def test_service_account_tokens_only_where_the_apiserver_is_called(self):
        r = self.render()
        objs = r.objects()
        for sa in [o for o in objs if o["kind"] == "ServiceAccount"]:
            self.assertIs(sa["automountServiceAccountToken"], False, sa["metadata"]["name"])
        # the agent reads its Node, the operator is an apiserver client: both mount a token
        self.assertIs(hc.find(objs, "DaemonSet")["spec"]["template"]["spec"]["automountServiceAccountToken"], True)
        self.assertIs(hc.find(objs, "Deployment")["spec"]["template"]["spec"]["automountServiceAccountToken"], True)
        # the helm test pods talk to the agents and the operator only
        hooks = r.hooks()
        self.assertEqual(len(hooks), 2)
        for pod in hooks:
            self.assertIs(pod["spec"]["automountServiceAccountToken"], False, pod["metadata"]["name"])

    def test_host_port_and_advertise_modes(self):
        objs = self.objs({"agent": {"hostPort": {"enabled": True}, "advertiseMode": "node-external"}})
        c = self.agent(objs)
        self.assertEqual([p.get("hostPort") for p in c["ports"]], [7946, 7946, None, None, None])
        self.assertIn("--advertise-mode=node-external", c["args"])
        self.refused({"agent": {"advertiseMode": "host"}}, "advertiseMode host needs")
        c = self.agent(self.objs({"agent": {"advertiseMode": "host", "hostPort": {"enabled": True}}}))
        self.assertIn("--advertise-mode=host", c["args"])
        ds = hc.find(self.objs({"agent": {"advertiseMode": "host", "hostNetwork": True,
                                          "dnsPolicy": "ClusterFirstWithHostNet"}}), "DaemonSet")
        self.assertTrue(ds["spec"]["template"]["spec"]["hostNetwork"])
        e = hc.env(self.agent(self.objs({"agent": {"topology": {"datacenterLabel": "example.com/dc"}}})))
        self.assertEqual(e["KONG_CLUSTER_DATACENTER_LABEL"], "example.com/dc")
        self.assertEqual(e["KONG_CLUSTER_ZONE_LABEL"], "topology.kubernetes.io/zone")

    def test_large_numbers_render_as_integers(self):
        e = hc.env(self.agent(self.objs({"cluster": {"ttlOnFailure": 31536000}, "postgres": {"port": 65000}})))
        self.assertEqual((e["KONG_CLUSTER_TTL_ON_FAILURE"], e["KONG_PG_PORT"]), ("31536000", "65000"))
        e = hc.env(self.agent(self.objs({"cluster": {"ttlOnFailure": 1000000}})))
        self.assertEqual(e["KONG_CLUSTER_TTL_ON_FAILURE"], "1000000")

    def test_grace_period_must_outlast_the_leave(self):
        self.refused({"agent": {"terminationGracePeriodSeconds": 15}}, "terminationGracePeriodSeconds must be larger")
        ds = hc.find(self.objs({"agent": {"terminationGracePeriodSeconds": 60}, "cluster": {"leaveTimeout": 45}}),
                     "DaemonSet")
        self.assertEqual(ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 60)

    def test_secrets(self):
        objs = self.objs()
        gossip = hc.find(objs, "Secret", "kong-cluster-gossip")
        key = base64.b64decode(gossip["data"]["key"]).decode()
        self.assertEqual(len(base64.b64decode(key, validate=True)), 32, "generated key: base64 of 32 bytes")
        token = base64.b64decode(hc.find(objs, "Secret", "kong-cluster-rpc")["data"]["token"]).decode()
        self.assertRegex(token, r"^[A-Za-z0-9]{32}$")
        self.assertEqual([o for o in objs if o["kind"] == "Secret" and "postgres" in o["metadata"]["name"]], [])
        # without a cluster to look the Secret up in, every render generates new ones (hence
        # existingSecret for GitOps; test_chart_cluster.py shows an upgrade keeps them)
        again = self.objs()
        self.assertNotEqual(hc.find(again, "Secret", "kong-cluster-gossip")["data"], gossip["data"])
        # given values are used as they are
        given = base64.b64encode(bytes(range(16))).decode()
        objs = self.objs({"gossipKey": {"value": given}, "rpcToken": {"value": "t0k"},
                          "postgres": {"password": "pw"}})
        gossip = hc.find(objs, "Secret", "kong-cluster-gossip")
        self.assertEqual(base64.b64decode(gossip["data"]["key"]).decode(), given)
        self.assertEqual(base64.b64decode(hc.find(objs, "Secret", "kong-cluster-rpc")["data"]["token"]), b"t0k")
        self.assertEqual(base64.b64decode(hc.find(objs, "Secret", "kong-cluster-postgres")["data"]["password"]), b"pw")
        self.assertEqual(hc.env(self.agent(objs))["KONG_PG_PASSWORD"], ("secret", "kong-cluster-postgres", "password"))
        op = hc.container(hc.find(objs, "Deployment"), "operator")
        self.assertEqual(hc.env(op)["KONG_PG_PASSWORD"], ("secret", "kong-cluster-postgres", "password"))
        self.refused({"gossipKey": {"value": base64.b64encode(b"short").decode()}}, "base64 of 16, 24 or 32 bytes")
        # existing Secrets: no Secret rendered, every reference switched
        objs = self.objs({"gossipKey": {"existingSecret": "g", "secretKey": "gk"},
                          "rpcToken": {"existingSecret": "r", "secretKey": "rt"},
                          "postgres": {"existingSecret": "p", "secretKey": "pk"}})
        self.assertEqual([o for o in objs if o["kind"] == "Secret"], [])
        e = hc.env(self.agent(objs))
        self.assertEqual((e["KONG_CLUSTER_ENCRYPT_KEY"], e["KONG_CLUSTER_RPC_AUTH"], e["KONG_PG_PASSWORD"]),
                         (("secret", "g", "gk"), ("secret", "r", "rt"), ("secret", "p", "pk")))
        dep = hc.find(objs, "Deployment")
        vol = dep["spec"]["template"]["spec"]["volumes"][0]["secret"]
        self.assertEqual((vol["secretName"], vol["items"]), ("r", [{"key": "rt", "path": "rt"}]))
        self.assertIn("--rpc-auth-file=/etc/kong-cluster/rpc/rt", hc.container(dep, "operator")["args"])
        # encryption off
        objs = self.objs({"gossipKey": {"enabled": False}})
        self.assertNotIn("KONG_CLUSTER_ENCRYPT_KEY", hc.env(self.agent(objs)))
        self.assertEqual([o["metadata"]["name"] for o in objs if o["kind"] == "Secret"], ["kong-cluster-rpc"])

    def test_no_postgres(self):
        objs = self.objs({"postgres": {"host": "", "password": "pw"}})
        self.assertFalse([k for k in hc.env(self.agent(objs)) if k.startswith("KONG_PG_")])
        self.assertFalse([o for o in objs if o["kind"] == "Secret" and "postgres" in o["metadata"]["name"]])

    def test_kong_container(self):
        # kong.serfPath.enabled=false opts out of Kong mode: the agent container beside Kong.
        objs = self.objs({"kong": {"enabled": True, "serfPath": {"enabled": False},
                                   "env": {"KONG_SERF_PATH": "/bin/true"}}})
        ds = hc.find(objs, "DaemonSet")
        self.assertEqual([c["name"] for c in ds["spec"]["template"]["spec"]["containers"]], ["agent", "kong"])
        self.assertNotIn("initContainers", ds["spec"]["template"]["spec"])
        self.assertEqual(hc.env(self.agent(objs))["KONG_CLUSTER_KONG_ADMIN_URL"], "http://127.0.0.1:8001")
        kong = hc.env(hc.container(ds, "kong"))
        self.assertEqual((kong["KONG_ADMIN_LISTEN"], kong["KONG_PG_HOST"], kong["KONG_SERF_PATH"]),
                         ("127.0.0.1:8001", "postgres", "/bin/true"))
        self.assertNotIn("KONG_CLUSTER_LISTEN", kong)
        self.assertNotIn("KONG_CLUSTER_KONG_ADMIN_URL", hc.env(self.agent(self.objs())))
        self.refused({"kong": {"enabled": True}, "postgres": {"host": ""}}, "kong.enabled needs postgres.host")

    def test_kong_mode_is_the_default_with_kong(self):
        # Kong always starts the Serf at its serf_path: kong.enabled alone makes that kong-cluster
        # (one cluster, carrying Kong's invalidations), with no agent container beside it.
        for values in ({"kong": {"enabled": True}}, {"kong": {"enabled": True, "serfPath": {"enabled": True}}}):
            with self.subTest(values=values):
                ds = hc.find(self.objs(values), "DaemonSet")
                spec = ds["spec"]["template"]["spec"]
                self.assertEqual([c["name"] for c in spec["containers"]], ["kong"])
                self.assertEqual([c["name"] for c in spec["initContainers"]], ["kong-cluster-serf"])
                kong = hc.container(ds, "kong")
                e = hc.env(kong)
                self.assertEqual(e["KONG_SERF_PATH"], "/opt/kong-cluster/serf")
                listen = (e["KONG_CLUSTER_LISTEN"], e["KONG_CLUSTER_LISTEN_RPC"], e["KONG_CLUSTER_HTTP_LISTEN"])
                self.assertEqual(listen, ("0.0.0.0:7946", "0.0.0.0:7373", "0.0.0.0:8946"))
                self.assertEqual(e["KONG_CLUSTER_RPC_AUTH"], ("secret", "kong-cluster-rpc", "token"))
                self.assertEqual(e["POD_UID"], ("field", "metadata.uid"))
                self.assertEqual(e["NODE_NAME"], ("field", "spec.nodeName"))
                self.assertNotIn("KONG_CLUSTER_KONG_ADMIN_URL", e)
                self.assertEqual({p["name"] for p in kong["ports"]},
                                 {"proxy", "gossip-tcp", "gossip-udp", "rpc", "http"})
                self.assertIn({"name": "kong-cluster-serf", "mountPath": "/opt/kong-cluster", "readOnly": True},
                              kong["volumeMounts"])
        # without Kong nothing of it: the agent container alone
        ds = hc.find(self.objs(), "DaemonSet")
        self.assertEqual([c["name"] for c in ds["spec"]["template"]["spec"]["containers"]], ["agent"])
        self.assertNotIn("initContainers", ds["spec"]["template"]["spec"])
        # NOTES point at the member's CLI where it runs
        notes = self.helm.notes({"kong": {"enabled": True}, "postgres": {"password": "pw"}})
        self.assertIn("-c kong -- /opt/kong-cluster/serf members", notes)
        self.assertIn("Kong mode: Kong runs kong-cluster as its serf_path", notes)
        notes = self.helm.notes({"kong": {"enabled": True, "serfPath": {"enabled": False}},
                                 "postgres": {"password": "pw"}})
        self.assertIn("-c agent -- kong-cluster members", notes)
        self.assertNotIn("Kong mode", notes)

    def test_kong_container_is_hardened_and_probed(self):
        ds = hc.find(self.objs({"kong": {"enabled": True}}), "DaemonSet")
        kong = hc.container(ds, "kong")
        sc = kong["securityContext"]
        self.assertEqual((sc["allowPrivilegeEscalation"], sc["readOnlyRootFilesystem"], sc["capabilities"]),
                         (False, True, {"drop": ["ALL"]}))
        # the Admin API is on loopback, out of the kubelet's reach: the probes use the proxy port
        self.assertEqual(kong["readinessProbe"]["tcpSocket"], {"port": "proxy"})
        self.assertEqual(kong["livenessProbe"]["tcpSocket"], {"port": "proxy"})
        self.assertIn("proxy", [p["name"] for p in kong["ports"]])
        # a writable prefix and /tmp under the read-only root
        self.assertEqual(hc.env(kong)["KONG_PREFIX"], "/kong-prefix")
        mounts = {m["mountPath"]: m["name"] for m in kong["volumeMounts"]}
        self.assertEqual((mounts["/kong-prefix"], mounts["/tmp"]), ("kong-prefix", "tmp"))
        vols = {v["name"]: v for v in ds["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(vols["kong-prefix"], {"name": "kong-prefix", "emptyDir": {}})
        # Kong mode (the default with Kong): the init container is hardened as the agent container is
        init = ds["spec"]["template"]["spec"]["initContainers"][0]
        self.assertTrue(init["securityContext"]["readOnlyRootFilesystem"])
        self.assertIn("kong-cluster-serf", {v["name"] for v in ds["spec"]["template"]["spec"]["volumes"]})

    def test_extra_env_join_and_tags(self):
        e = hc.env(self.agent(self.objs({"agent": {"join": ["10.0.0.5:7946", "10.0.0.6:7946"],
                                                   "tags": {"role": "kong", "a": 1},
                                                   "env": {"KONG_CLUSTER_KEEPALIVE_INTERVAL": 10}}})))
        self.assertEqual(e["KONG_CLUSTER_JOIN"], "10.0.0.5:7946,10.0.0.6:7946")
        self.assertEqual(e["KONG_CLUSTER_TAGS"], "a=1,role=kong")
        self.assertEqual(e["KONG_CLUSTER_KEEPALIVE_INTERVAL"], "10")

    def test_value_from_env_env_from_extra_volumes_and_spread(self):
        objs = self.objs(values_files=[os.path.join(hc.EXAMPLES, "production.yaml")])
        ds, dep = hc.find(objs, "DaemonSet"), hc.find(objs, "Deployment")
        agent = self.agent(objs)
        self.assertEqual(hc.env(agent)["KONG_CLUSTER_TAGS"],
                         ("other", {"configMapKeyRef": {"name": "kong-cluster-tags", "key": "tags", "optional": True}}))
        self.assertEqual(agent["envFrom"], [{"secretRef": {"name": "kong-cluster-extra", "optional": True}}])
        self.assertIn({"name": "handlers", "mountPath": "/etc/kong-cluster/handlers", "readOnly": True},
                      agent["volumeMounts"])
        vols = {v["name"]: v for v in ds["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(vols["handlers"]["configMap"]["name"], "kong-cluster-handlers")
        spread = dep["spec"]["template"]["spec"]["topologySpreadConstraints"]
        self.assertEqual(spread[0]["topologyKey"], "topology.kubernetes.io/zone")
        # the operator's own extras
        objs = self.objs({"operator": {
            "extraEnv": [{"name": "KONG_PG_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "pw"}}}],
            "envFrom": [{"configMapRef": {"name": "op"}}],
            "extraVolumes": [{"name": "certs", "secret": {"secretName": "certs"}}],
            "extraVolumeMounts": [{"name": "certs", "mountPath": "/certs"}]}})
        dep = hc.find(objs, "Deployment")
        op = hc.container(dep, "operator")
        self.assertEqual(hc.env(op)["KONG_PG_PASSWORD"], ("secret", "pg", "pw"))
        self.assertEqual(op["envFrom"], [{"configMapRef": {"name": "op"}}])
        self.assertIn({"name": "certs", "mountPath": "/certs"}, op["volumeMounts"])
        self.assertIn({"name": "certs", "secret": {"secretName": "certs"}}, dep["spec"]["template"]["spec"]["volumes"])
        # nothing of it by default
        objs = self.objs()
        self.assertNotIn("envFrom", self.agent(objs))
        self.assertNotIn("topologySpreadConstraints", hc.find(objs, "Deployment")["spec"]["template"]["spec"])

    def test_rbac_is_least_privilege(self):
        objs = self.objs()
        group = crd_group()  # the operator's CRD decides the group the Role must name

        def rules(kind, name):
            return [(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r.get("resourceNames", ())),
                     tuple(r["verbs"])) for r in hc.find(objs, kind, name)["rules"]]
        # Both read their cluster identity (clusterId empty): the kube-system Namespace, by name.
        kube_system = (("",), ("namespaces",), ("kube-system",), ("get",))
        self.assertEqual(rules("ClusterRole", "kong-cluster-agent"), [(("",), ("nodes",), (), ("get",)), kube_system])
        # ClusterNodes are read through one informer over all namespaces (operator/controller), hence
        # read-only cluster-wide; every write is confined to the release namespace by the Role.
        self.assertEqual(rules("ClusterRole", "kong-cluster-operator"), [
            (("",), ("nodes",), (), ("list", "watch")),
            ((group,), ("clusternodes",), (), ("list", "watch")), kube_system])
        # A configured clusterId needs no read at all.
        objs_with_id = self.objs({"clusterId": "dc-east"})
        for name in ("kong-cluster-agent", "kong-cluster-operator"):
            granted = [r["resources"][0] for r in hc.find(objs_with_id, "ClusterRole", name)["rules"]]
            self.assertNotIn("namespaces", granted)
        self.assertEqual(rules("Role", "kong-cluster-operator"), [
            (("",), ("pods",), (), ("get", "list", "watch")),
            (("apps",), ("daemonsets",), ("kong-cluster-agent",), ("get",)),
            ((group,), ("clusternodes",), (), ("create", "delete")),
            ((group,), ("clusternodes/status",), (), ("patch",)),
            (("coordination.k8s.io",), ("leases",), (), ("create",)),
            (("coordination.k8s.io",), ("leases",), ("kong-cluster-operator",), ("get", "update")),
            (("",), ("events",), (), ("create",)),
        ])
        # the operator reads only the agent DaemonSet (its uid, which agent pods' owner references name)
        role_rules = hc.find(objs, "Role", "kong-cluster-operator")["rules"]
        ds_rule = [r for r in role_rules if r["resources"] == ["daemonsets"]]
        self.assertEqual(ds_rule[0]["resourceNames"], [hc.find(objs, "DaemonSet")["metadata"]["name"]])
        self.assertEqual(hc.find(objs, "Role")["metadata"]["namespace"], "kong-cluster")
        for kind, sa in (("ClusterRoleBinding", "kong-cluster-agent"), ("ClusterRoleBinding", "kong-cluster-operator"),
                         ("RoleBinding", "kong-cluster-operator")):
            b = hc.find(objs, kind, sa)
            self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": sa, "namespace": "kong-cluster"}])
            self.assertEqual(b["roleRef"]["name"], sa)
        self.assertFalse([o for o in self.objs({"rbac": {"create": False}}) if "Role" in o["kind"]])
        # without leader election there is no Lease to touch
        role = hc.find(self.objs({"operator": {"replicas": 1, "leaderElection": {"enabled": False},
                                               "podDisruptionBudget": {"enabled": False}}}), "Role")
        self.assertFalse([r for r in role["rules"] if r["resources"] == ["leases"]])
        # a custom lease name is the one the Role names and the operator uses
        objs = self.objs({"operator": {"leaderElection": {"leaseName": "kc-leader"}}})
        lease_rule = [r for r in hc.find(objs, "Role")["rules"]
                      if r.get("resourceNames") and r["resources"] == ["leases"]]
        self.assertEqual(lease_rule[0]["resourceNames"], ["kc-leader"])
        self.assertIn("--lease-name=kc-leader", hc.container(hc.find(objs, "Deployment"), "operator")["args"])

    def test_operator(self):
        objs = self.objs()
        dep = hc.find(objs, "Deployment", "kong-cluster-operator")
        self.assertEqual(dep["spec"]["replicas"], 2)
        c = hc.container(dep, "operator")
        for a in ("--leader-elect", "--lease-name=kong-cluster-operator", "--lease-namespace=$(POD_NAMESPACE)",
                  "--namespace=$(POD_NAMESPACE)", "--agent-rpc-port=7373", "--metrics-addr=0.0.0.0:8080",
                  "--health-addr=0.0.0.0:8081", "--rpc-auth-file=/etc/kong-cluster/rpc/token"):
            self.assertIn(a, c["args"])
        sel = [a for a in c["args"] if a.startswith("--selector=")][0][len("--selector="):]
        ds = hc.find(objs, "DaemonSet")
        # only the agent DaemonSet's own pods, under its ServiceAccount, are trusted as agents
        self.assertIn("--agent-daemonset=" + ds["metadata"]["name"], c["args"])
        self.assertIn("--agent-service-account=" + ds["spec"]["template"]["spec"]["serviceAccountName"], c["args"])
        pod_labels = ds["spec"]["template"]["metadata"]["labels"]
        for term in sel.split(","):
            k, v = term.split("=")
            self.assertEqual(pod_labels[k], v, "the operator's selector must match the agent pods")
        pdb = hc.find(objs, "PodDisruptionBudget")
        self.assertEqual(pdb["spec"]["minAvailable"], 1)
        self.assertEqual(pdb["spec"]["selector"], dep["spec"]["selector"])
        self.assertEqual(c["readinessProbe"]["httpGet"]["port"], "health")
        args = hc.container(hc.find(self.objs({"operator": {"failedGrace": "30s", "resync": "5m", "replicas": 1,
                                                            "leaderElection": {"enabled": False},
                                                            "podDisruptionBudget": {"enabled": False}}}),
                                    "Deployment"), "operator")["args"]
        self.assertIn("--failed-grace=30s", args)
        self.assertIn("--resync=5m", args)
        self.assertNotIn("--leader-elect", args)
        off = self.objs({"operator": {"enabled": False}})
        self.assertFalse([o for o in off if o["metadata"]["name"].startswith("kong-cluster-operator")])

    def test_names_follow_release_and_overrides(self):
        objs = self.objs(release="edge")
        self.assertEqual(hc.find(objs, "DaemonSet")["metadata"]["name"], "edge-kong-cluster-agent")
        objs = self.objs({"fullnameOverride": "kc"})
        self.assertEqual(hc.find(objs, "Deployment")["metadata"]["name"], "kc-operator")
        self.assertIn("--selector=app.kubernetes.io/name=kong-cluster,app.kubernetes.io/instance=kong-cluster,"
                      "app.kubernetes.io/component=agent",
                      hc.container(hc.find(objs, "Deployment"), "operator")["args"])

    def test_long_release_names_stay_within_63_characters(self):
        with self.assertRaisesRegex(hc.HelmError, "release name"):
            self.render(release=LONG_RELEASE + "y")  # Helm's own limit: 53
        r = self.render(release=LONG_RELEASE, api_versions=hc.MONITORING_API)
        objs = r.all_objects()
        names = {}
        for o in objs:
            name = o["metadata"]["name"]
            self.assertLessEqual(len(name), 63, hc.key(o))
            self.assertRegex(name, r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", hc.key(o))
            self.assertNotIn(hc.key(o), names)
            names[hc.key(o)] = o
            for v in (o["metadata"].get("labels") or {}).values():
                self.assertLessEqual(len(v), 63, hc.key(o))
        services = [o["metadata"]["name"] for o in objs if o["kind"] == "Service"]
        self.assertEqual(len(set(services)), 2)
        # the suffixes survive the truncation
        self.assertEqual(sorted(n.rsplit("-", 2)[-2:] == ["operator", "metrics"] or n.endswith("-agent")
                                for n in services), [True, True], services)
        self.assertEqual(len([n for n in services if n.endswith("-operator-metrics")]), 1, services)
        secrets = sorted(o["metadata"]["name"] for o in objs if o["kind"] == "Secret")
        self.assertEqual([s.rsplit("-", 1)[1] for s in secrets], ["gossip", "rpc"])
        # references follow the names
        ds, dep = hc.find(objs, "DaemonSet"), hc.find(objs, "Deployment")
        self.assertIn("--agent-daemonset=" + ds["metadata"]["name"], hc.container(dep, "operator")["args"])
        sm = hc.find(objs, "ServiceMonitor")
        self.assertEqual(sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"], LONG_RELEASE)

    def test_notes(self):
        notes = self.helm.notes()
        self.assertIn("kubectl -n kong-cluster get clusternodes", notes)
        self.assertIn("kong-cluster members", notes)
        self.assertIn("No PodMonitor/ServiceMonitor was created", notes)
        notes = self.helm.notes({"metrics": {"monitors": {"trustCRDsExist": True}}})
        self.assertNotIn("No PodMonitor", notes)


class HelmTestPodsTest(HelmCase):
    """templates/tests/: the pods `helm test` runs (they run in test_chart_cluster.py when pods can)."""

    def test_pods_render_with_hook_annotations_and_valid_scripts(self):
        hooks = self.render().hooks()
        self.assertEqual(sorted(p["metadata"]["name"] for p in hooks),
                         ["kong-cluster-test-agents", "kong-cluster-test-operator"])
        for pod in hooks:
            self.assertEqual(pod["kind"], "Pod")
            self.assertEqual(pod["metadata"]["annotations"]["helm.sh/hook"], "test")
            self.assertEqual(pod["spec"]["restartPolicy"], "Never")
            c = pod["spec"]["containers"][0]
            # the Debian operator image (bash, getent): the agent image has only BusyBox
            self.assertEqual(c["image"], "kong-cluster/operator:0.1.0")
            self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
            self.assertEqual(c["command"], ["/bin/bash", "-c"])
            r = subprocess.run(["bash", "-n", "-c", c["args"][0]], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, "%s: %s" % (pod["metadata"]["name"], r.stderr))
        agents = hc.find(hooks, "Pod", "kong-cluster-test-agents")
        script = agents["spec"]["containers"][0]["args"][0]
        self.assertIn("kong-cluster-agent.kong-cluster.svc", script)
        self.assertIn("/v1/members", script)
        self.assertEqual(hc.env(agents["spec"]["containers"][0])["KONG_CLUSTER_RPC_AUTH"],
                         ("secret", "kong-cluster-rpc", "token"))
        op = hc.find(hooks, "Pod", "kong-cluster-test-operator")["spec"]["containers"][0]["args"][0]
        self.assertIn("kong-cluster-operator-metrics.kong-cluster.svc", op)
        self.assertIn('leader_election_master_status{name="kong-cluster-operator"} 1', op)
        # without leader election there is no leader to look for; without an operator, no operator test
        hooks = self.render({"operator": {"replicas": 1, "leaderElection": {"enabled": False},
                                          "podDisruptionBudget": {"enabled": False}}}).hooks()
        op = hc.find(hooks, "Pod", "kong-cluster-test-operator")["spec"]["containers"][0]["args"][0]
        self.assertNotIn("leader_election_master_status", op)
        self.assertEqual([p["metadata"]["name"] for p in self.render({"operator": {"enabled": False}}).hooks()],
                         ["kong-cluster-test-agents"])
        self.assertEqual(self.render({"tests": {"enabled": False}}).hooks(), [])


if __name__ == "__main__":
    try:
        hc.helm_binary()
    except harness.k8scluster.ClusterError as e:
        print("SKIP: %s" % e, flush=True)
        sys.exit(harness.SKIP_CODE)
    unittest.main(verbosity=2)
