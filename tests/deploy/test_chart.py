#!/usr/bin/env python3
"""charts/kong-cluster checked without Helm.

No Helm binary is reachable here. The chart is rendered by tests/deploy/helmlite.py, a small
renderer for the subset of Go templates + Sprig the chart uses; it raises on anything outside
that subset, so the chart cannot silently drift into constructs the test does not understand.

Verified:
- Chart.yaml is a v2 chart with name/version/appVersion; values.yaml parses, is sectioned with
  banner comments and every top-level key is preceded by a comment.
- Every `.Values.a.b.c` reference in every template exists in values.yaml, and every value in
  values.yaml is referenced by some template (no dead or misspelt keys); docs/operations.md's
  "Values reference" names every value and no value that does not exist.
- crds/clusternodes.yaml is byte-equal to manifests/crd/clusternodes.yaml.
- Rendered with the base's values (the three existingSecret values set), the chart's objects
  equal `kubectl kustomize manifests/`'s objects field for field -- kinds, names, namespaces,
  labels, selectors, args, env, ports, probes, RBAC rules, Services, PDB -- except the labels only
  Helm sets (helm.sh/chart, app.kubernetes.io/managed-by), the base's Namespace and the CRD
  (compared byte-for-byte above). With monitoring.coreos.com/v1 present the monitors equal
  manifests/overlays/monitoring's.
- Behaviour of the values: monitors only with the API or trustCRDsExist; hostPort on both gossip
  ports only; advertiseMode host without hostPort and a grace period not longer than the leave
  timeout are refused (`fail`); generated gossip key is base64 of 32 bytes and a bad given key is
  refused; gossip encryption off removes the key; existingSecret switches every reference and
  drops the chart's Secret; the optional Kong container and its admin URL; no Postgres env when
  postgres.host is empty; least-privilege RBAC rules exactly; two operator replicas with
  --leader-elect and a PDB selecting them; downward-API env; probes on the named http port;
  NOTES.txt renders.
- The default render (with generated Secrets) and a render with every optional feature on are
  accepted by `kubectl apply --validate=strict` against kube-sim.

Not verified (needs Helm or a real cluster): Helm's own parsing and its exact whitespace
handling, `helm lint`, `lookup` against a live cluster (helmlite returns {} as `helm template`
does, so the keep-the-generated-key-on-upgrade path is not exercised), Sprig functions outside
the subset, CRD installation ordering by Helm, `.Capabilities` detection on a real server,
and whether the pods actually run (no images are built here).
"""
import base64
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deployharness as h  # noqa: E402
import helmlite  # noqa: E402

yaml = h.yaml
TEMPLATES = os.path.join(h.CHART, "templates")


def load_values():
    with open(os.path.join(h.CHART, "values.yaml")) as f:
        return yaml.safe_load(f)


def leaf_paths(d, prefix=()):
    for k, v in d.items():
        p = prefix + (k,)
        if isinstance(v, dict) and v:
            yield from leaf_paths(v, p)
        else:
            yield p


def template_texts():
    out = {}
    for fn in sorted(os.listdir(TEMPLATES)):
        with open(os.path.join(TEMPLATES, fn)) as f:
            out[fn] = f.read()
    return out


class ChartFilesTest(unittest.TestCase):
    def test_chart_yaml(self):
        with open(os.path.join(h.CHART, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.assertEqual(chart["apiVersion"], "v2")
        self.assertEqual(chart["name"], "kong-cluster")
        self.assertRegex(chart["version"], r"^\d+\.\d+\.\d+$")
        self.assertRegex(str(chart["appVersion"]), r"^\d+\.\d+\.\d+$")
        with open(os.path.join(h.ROOT, "CMakeLists.txt")) as f:
            m = re.search(r"project\(kong_cluster VERSION (\S+)", f.read())
        self.assertEqual(chart["appVersion"], m.group(1), "appVersion follows the project version")

    def test_values_are_sectioned_and_commented(self):
        with open(os.path.join(h.CHART, "values.yaml")) as f:
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

    def test_operations_guide_documents_every_value(self):
        with open(os.path.join(h.ROOT, "docs", "operations.md")) as f:
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

    def test_crd_copy_is_identical(self):
        with open(h.CRD, "rb") as a, open(os.path.join(h.CHART, "crds", "clusternodes.yaml"), "rb") as b:
            self.assertEqual(a.read(), b.read(), "charts/kong-cluster/crds/ must be a copy of manifests/crd/")
        self.assertEqual(sorted(os.listdir(os.path.join(h.CHART, "crds"))), ["clusternodes.yaml"])

    def test_every_template_renders_with_defaults(self):
        rendered = h.render().render()
        self.assertEqual(set(rendered), {fn for fn in os.listdir(TEMPLATES) if not fn.startswith("_")})
        for fn, text in rendered.items():
            self.assertNotIn("{{", text, fn)
            if fn.endswith(".yaml"):
                list(yaml.safe_load_all(text))  # parses


@unittest.skipIf(h.kubectl_path() is None, "kubectl not installed: the base is rendered with kubectl kustomize")
class ChartEqualsKustomizeTest(unittest.TestCase):
    maxDiff = None

    def compare(self, chart_objs, kustomize_objs):
        chart = h.by_key([h.normalize(o) for o in chart_objs])
        kust = h.by_key([o for o in kustomize_objs if o["kind"] not in ("Namespace", "CustomResourceDefinition")])
        self.assertEqual(sorted(chart), sorted(kust))
        for k in kust:
            self.assertEqual(chart[k], kust[k], "%s differs between the chart and manifests/" % (k,))

    def test_chart_equals_base(self):
        _, base = h.kustomize(h.MANIFESTS)
        self.compare(h.render(h.BASE_VALUES).objects(), base)

    def test_chart_with_monitoring_api_equals_monitoring_overlay(self):
        _, mon = h.kustomize(os.path.join(h.MANIFESTS, "overlays", "monitoring"))
        self.compare(h.render(h.BASE_VALUES, api_versions=h.MONITORING_API).objects(), mon)


class ChartValuesTest(unittest.TestCase):
    def objs(self, set_values=None, api_versions=()):
        return h.render(set_values, api_versions=api_versions).objects()

    def agent(self, objs):
        return h.container(h.find(objs, "DaemonSet"), "agent")

    def test_monitors_only_with_the_api_or_when_trusted(self):
        kinds = lambda objs: {o["kind"] for o in objs}  # noqa: E731
        self.assertFalse({"PodMonitor", "ServiceMonitor"} & kinds(self.objs()))
        self.assertTrue({"PodMonitor", "ServiceMonitor"} <= kinds(self.objs(api_versions=h.MONITORING_API)))
        self.assertTrue({"PodMonitor", "ServiceMonitor"} <= kinds(
            self.objs({"metrics": {"monitors": {"trustCRDsExist": True}}})))
        self.assertFalse({"PodMonitor", "ServiceMonitor"} & kinds(
            self.objs({"metrics": {"monitors": {"enabled": False}}}, api_versions=h.MONITORING_API)))
        objs = self.objs({"metrics": {"monitors": {"interval": "15s", "labels": {"release": "prom"}}}},
                         api_versions=h.MONITORING_API)
        pm, sm = h.find(objs, "PodMonitor"), h.find(objs, "ServiceMonitor")
        self.assertEqual(pm["spec"]["podMetricsEndpoints"], [{"port": "probe", "path": "/metrics", "scheme": "http",
                                                               "interval": "15s"}])
        self.assertEqual(sm["metadata"]["labels"]["release"], "prom")
        # the monitors point at what exists: the agent container port and the operator Service port
        ports = {p["name"]: p["containerPort"] for p in self.agent(objs)["ports"]}
        self.assertEqual(ports["probe"], 8947)
        svc = h.find(objs, "Service", "kong-cluster-operator-metrics")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], svc["spec"]["ports"][0]["name"])

    def test_network_policy(self):
        objs = self.objs()
        np = h.find(objs, "NetworkPolicy", "kong-cluster-agent")
        sel = {"app.kubernetes.io/name": "kong-cluster", "app.kubernetes.io/instance": "kong-cluster"}
        agents = dict(sel, **{"app.kubernetes.io/component": "agent"})
        self.assertEqual(np["spec"]["podSelector"]["matchLabels"], agents)
        self.assertEqual(np["spec"]["policyTypes"], ["Ingress"])
        gossip, api, probe = np["spec"]["ingress"]
        self.assertEqual(gossip["from"], [{"podSelector": {"matchLabels": agents}}])
        self.assertEqual(gossip["ports"],
                         [{"port": "gossip-tcp", "protocol": "TCP"}, {"port": "gossip-udp", "protocol": "UDP"}])
        operators = dict(sel, **{"app.kubernetes.io/component": "operator"})
        self.assertEqual(api["from"], [{"podSelector": {"matchLabels": operators}}])
        self.assertEqual(api["ports"], [{"port": "rpc", "protocol": "TCP"}, {"port": "http", "protocol": "TCP"}])
        self.assertEqual(probe, {"ports": [{"port": "probe", "protocol": "TCP"}]})
        # every port the policy names is a port of the agent container
        names = {p["name"] for p in self.agent(objs)["ports"]}
        for rule in np["spec"]["ingress"]:
            for p in rule["ports"]:
                self.assertIn(p["port"], names)
        # extra peers are added; without an operator or apiFrom nothing reaches RPC and HTTP
        peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kong"}}}
        objs = self.objs({"agent": {"networkPolicy": {"apiFrom": [peer], "probeFrom": [peer], "gossipFrom": [peer]}}})
        gossip, api, probe = h.find(objs, "NetworkPolicy", "kong-cluster-agent")["spec"]["ingress"]
        self.assertEqual(gossip["from"][1], peer)
        self.assertEqual(api["from"][1], peer)
        self.assertEqual(probe["from"], [peer])
        objs = self.objs({"operator": {"enabled": False}})
        api = h.find(objs, "NetworkPolicy", "kong-cluster-agent")["spec"]["ingress"][1]
        nothing = dict(sel, **{"app.kubernetes.io/component": "nothing"})
        self.assertEqual(api["from"], [{"podSelector": {"matchLabels": nothing}}])
        self.assertFalse([o for o in self.objs({"agent": {"networkPolicy": {"enabled": False}}})
                          if o["kind"] == "NetworkPolicy"])

    def test_agent_daemonset_defaults(self):
        objs = self.objs()
        ds = h.find(objs, "DaemonSet", "kong-cluster-agent")
        spec = ds["spec"]["template"]["spec"]
        c = self.agent(objs)
        self.assertEqual([x["name"] for x in spec["containers"]], ["agent"])
        self.assertEqual(c["args"], ["agent", "--bind=0.0.0.0:7946", "--rpc-addr=0.0.0.0:7373",
                                     "--http-addr=0.0.0.0:8946", "--advertise-mode=pod",
                                     "--probe-addr=0.0.0.0:8947"])
        e = h.env(c)
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
        for o in objs:  # app.kubernetes.io/* on every object
            labels = o["metadata"]["labels"]
            for k in ("name", "instance", "version", "part-of", "managed-by"):
                self.assertIn("app.kubernetes.io/" + k, labels, h.key(o))
            self.assertEqual(labels["app.kubernetes.io/managed-by"], "Helm")

    def test_host_port_and_advertise_modes(self):
        objs = self.objs({"agent": {"hostPort": {"enabled": True}, "advertiseMode": "node-external"}})
        c = self.agent(objs)
        self.assertEqual([p.get("hostPort") for p in c["ports"]], [7946, 7946, None, None, None])
        self.assertIn("--advertise-mode=node-external", c["args"])
        with self.assertRaisesRegex(helmlite.Fail, "advertiseMode host needs"):
            self.objs({"agent": {"advertiseMode": "host"}})
        c = self.agent(self.objs({"agent": {"advertiseMode": "host", "hostPort": {"enabled": True}}}))
        self.assertIn("--advertise-mode=host", c["args"])
        ds = h.find(self.objs({"agent": {"advertiseMode": "host", "hostNetwork": True,
                                         "dnsPolicy": "ClusterFirstWithHostNet"}}), "DaemonSet")
        self.assertTrue(ds["spec"]["template"]["spec"]["hostNetwork"])
        e = h.env(self.agent(self.objs({"agent": {"topology": {"datacenterLabel": "example.com/dc"}}})))
        self.assertEqual(e["KONG_CLUSTER_DATACENTER_LABEL"], "example.com/dc")
        self.assertEqual(e["KONG_CLUSTER_ZONE_LABEL"], "topology.kubernetes.io/zone")

    def test_large_numbers_render_as_integers(self):
        e = h.env(self.agent(self.objs({"cluster": {"ttlOnFailure": 31536000}, "postgres": {"port": 1000000}})))
        self.assertEqual((e["KONG_CLUSTER_TTL_ON_FAILURE"], e["KONG_PG_PORT"]), ("31536000", "1000000"))

    def test_grace_period_must_outlast_the_leave(self):
        with self.assertRaisesRegex(helmlite.Fail, "terminationGracePeriodSeconds must be larger"):
            self.objs({"agent": {"terminationGracePeriodSeconds": 15}})
        ds = h.find(self.objs({"agent": {"terminationGracePeriodSeconds": 60}, "cluster": {"leaveTimeout": 45}}),
                    "DaemonSet")
        self.assertEqual(ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], 60)

    def test_secrets(self):
        objs = self.objs()
        gossip = h.find(objs, "Secret", "kong-cluster-gossip")
        key = base64.b64decode(gossip["data"]["key"]).decode()
        self.assertEqual(len(base64.b64decode(key, validate=True)), 32, "generated key: base64 of 32 bytes")
        token = base64.b64decode(h.find(objs, "Secret", "kong-cluster-rpc")["data"]["token"]).decode()
        self.assertRegex(token, r"^[A-Za-z0-9]{32}$")
        self.assertEqual([o for o in objs if o["kind"] == "Secret" and "postgres" in o["metadata"]["name"]], [])
        # given values are used as they are
        given = base64.b64encode(bytes(range(16))).decode()
        objs = self.objs({"gossipKey": {"value": given}, "rpcToken": {"value": "t0k"},
                          "postgres": {"password": "pw"}})
        self.assertEqual(base64.b64decode(h.find(objs, "Secret", "kong-cluster-gossip")["data"]["key"]).decode(), given)
        self.assertEqual(base64.b64decode(h.find(objs, "Secret", "kong-cluster-rpc")["data"]["token"]), b"t0k")
        self.assertEqual(base64.b64decode(h.find(objs, "Secret", "kong-cluster-postgres")["data"]["password"]), b"pw")
        self.assertEqual(h.env(self.agent(objs))["KONG_PG_PASSWORD"], ("secret", "kong-cluster-postgres", "password"))
        op = h.container(h.find(objs, "Deployment"), "operator")
        self.assertEqual(h.env(op)["KONG_PG_PASSWORD"], ("secret", "kong-cluster-postgres", "password"))
        with self.assertRaisesRegex(helmlite.Fail, "base64 of 16, 24 or 32 bytes"):
            self.objs({"gossipKey": {"value": base64.b64encode(b"short").decode()}})
        # existing Secrets: no Secret rendered, every reference switched
        objs = self.objs({"gossipKey": {"existingSecret": "g", "secretKey": "gk"},
                          "rpcToken": {"existingSecret": "r", "secretKey": "rt"},
                          "postgres": {"existingSecret": "p", "secretKey": "pk"}})
        self.assertEqual([o for o in objs if o["kind"] == "Secret"], [])
        e = h.env(self.agent(objs))
        self.assertEqual((e["KONG_CLUSTER_ENCRYPT_KEY"], e["KONG_CLUSTER_RPC_AUTH"], e["KONG_PG_PASSWORD"]),
                         (("secret", "g", "gk"), ("secret", "r", "rt"), ("secret", "p", "pk")))
        dep = h.find(objs, "Deployment")
        vol = dep["spec"]["template"]["spec"]["volumes"][0]["secret"]
        self.assertEqual((vol["secretName"], vol["items"]), ("r", [{"key": "rt", "path": "rt"}]))
        self.assertIn("--rpc-auth-file=/etc/kong-cluster/rpc/rt", h.container(dep, "operator")["args"])
        # encryption off
        objs = self.objs({"gossipKey": {"enabled": False}})
        self.assertNotIn("KONG_CLUSTER_ENCRYPT_KEY", h.env(self.agent(objs)))
        self.assertEqual([o["metadata"]["name"] for o in objs if o["kind"] == "Secret"], ["kong-cluster-rpc"])

    def test_no_postgres(self):
        objs = self.objs({"postgres": {"host": "", "password": "pw"}})
        self.assertFalse([k for k in h.env(self.agent(objs)) if k.startswith("KONG_PG_")])
        self.assertFalse([o for o in objs if o["kind"] == "Secret" and "postgres" in o["metadata"]["name"]])

    def test_kong_container(self):
        objs = self.objs({"kong": {"enabled": True, "env": {"KONG_SERF_PATH": "/bin/true"}}})
        ds = h.find(objs, "DaemonSet")
        self.assertEqual([c["name"] for c in ds["spec"]["template"]["spec"]["containers"]], ["agent", "kong"])
        self.assertEqual(h.env(self.agent(objs))["KONG_CLUSTER_KONG_ADMIN_URL"], "http://127.0.0.1:8001")
        kong = h.env(h.container(ds, "kong"))
        self.assertEqual((kong["KONG_ADMIN_LISTEN"], kong["KONG_PG_HOST"], kong["KONG_SERF_PATH"]),
                         ("127.0.0.1:8001", "postgres", "/bin/true"))
        self.assertNotIn("KONG_CLUSTER_KONG_ADMIN_URL", h.env(self.agent(self.objs())))
        with self.assertRaisesRegex(helmlite.Fail, "kong.enabled needs postgres.host"):
            self.objs({"kong": {"enabled": True}, "postgres": {"host": ""}})

    def test_extra_env_join_and_tags(self):
        e = h.env(self.agent(self.objs({"agent": {"join": ["10.0.0.5:7946", "10.0.0.6:7946"],
                                                  "tags": {"role": "kong", "a": 1},
                                                  "env": {"KONG_CLUSTER_KEEPALIVE_INTERVAL": 10}}})))
        self.assertEqual(e["KONG_CLUSTER_JOIN"], "10.0.0.5:7946,10.0.0.6:7946")
        self.assertEqual(e["KONG_CLUSTER_TAGS"], "a=1,role=kong")
        self.assertEqual(e["KONG_CLUSTER_KEEPALIVE_INTERVAL"], "10")

    def test_rbac_is_least_privilege(self):
        objs = self.objs()
        group = h.crd_info()[1]  # the operator's CRD decides the group the Role must name

        def rules(kind, name):
            return [(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(r["verbs"]))
                    for r in h.find(objs, kind, name)["rules"]]
        self.assertEqual(rules("ClusterRole", "kong-cluster-agent"), [(("",), ("nodes",), ("get",))])
        # ClusterNodes are read through one informer over all namespaces (operator/controller), hence
        # read-only cluster-wide; every write is confined to the release namespace by the Role.
        self.assertEqual(rules("ClusterRole", "kong-cluster-operator"), [(("",), ("nodes",), ("get", "list", "watch")),
                                                                          ((group,), ("clusternodes",),
                                                                           ("get", "list", "watch"))])
        self.assertEqual(rules("Role", "kong-cluster-operator"), [
            (("",), ("pods",), ("get", "list", "watch")),
            (("apps",), ("daemonsets",), ("get",)),
            ((group,), ("clusternodes",), ("get", "list", "watch", "create", "update", "patch", "delete")),
            ((group,), ("clusternodes/status",), ("get", "update", "patch")),
            (("coordination.k8s.io",), ("leases",), ("get", "create", "update")),
            (("",), ("events",), ("create", "patch")),
        ])
        # the operator reads only the agent DaemonSet (its uid, which agent pods' owner references name)
        ds_rule = [r for r in h.find(objs, "Role", "kong-cluster-operator")["rules"]
                   if r["resources"] == ["daemonsets"]]
        self.assertEqual(ds_rule[0]["resourceNames"], [h.find(objs, "DaemonSet")["metadata"]["name"]])
        self.assertEqual(h.find(objs, "Role")["metadata"]["namespace"], "kong-cluster")
        for kind, sa in (("ClusterRoleBinding", "kong-cluster-agent"), ("ClusterRoleBinding", "kong-cluster-operator"),
                         ("RoleBinding", "kong-cluster-operator")):
            b = h.find(objs, kind, sa)
            self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": sa, "namespace": "kong-cluster"}])
            self.assertEqual(b["roleRef"]["name"], sa)
        self.assertFalse([o for o in self.objs({"rbac": {"create": False}}) if "Role" in o["kind"]])

    def test_operator(self):
        objs = self.objs()
        dep = h.find(objs, "Deployment", "kong-cluster-operator")
        self.assertEqual(dep["spec"]["replicas"], 2)
        c = h.container(dep, "operator")
        for a in ("--leader-elect", "--lease-name=kong-cluster-operator", "--lease-namespace=$(POD_NAMESPACE)",
                  "--namespace=$(POD_NAMESPACE)", "--agent-rpc-port=7373", "--metrics-addr=0.0.0.0:8080",
                  "--health-addr=0.0.0.0:8081", "--rpc-auth-file=/etc/kong-cluster/rpc/token"):
            self.assertIn(a, c["args"])
        sel = [a for a in c["args"] if a.startswith("--selector=")][0][len("--selector="):]
        ds = h.find(objs, "DaemonSet")
        # only the agent DaemonSet's own pods, under its ServiceAccount, are trusted as agents
        self.assertIn("--agent-daemonset=" + ds["metadata"]["name"], c["args"])
        self.assertIn("--agent-service-account=" + ds["spec"]["template"]["spec"]["serviceAccountName"], c["args"])
        pod_labels = ds["spec"]["template"]["metadata"]["labels"]
        for term in sel.split(","):
            k, v = term.split("=")
            self.assertEqual(pod_labels[k], v, "the operator's selector must match the agent pods")
        pdb = h.find(objs, "PodDisruptionBudget")
        self.assertEqual(pdb["spec"]["minAvailable"], 1)
        self.assertEqual(pdb["spec"]["selector"], dep["spec"]["selector"])
        self.assertEqual(c["readinessProbe"]["httpGet"]["port"], "health")
        args = h.container(h.find(self.objs({"operator": {"failedGrace": "30s", "resync": "5m",
                                                           "leaderElection": {"enabled": False}}}),
                                  "Deployment"), "operator")["args"]
        self.assertIn("--failed-grace=30s", args)
        self.assertIn("--resync=5m", args)
        self.assertNotIn("--leader-elect", args)
        off = self.objs({"operator": {"enabled": False}})
        self.assertFalse([o for o in off if o["metadata"]["name"].startswith("kong-cluster-operator")])

    def test_names_follow_release_and_overrides(self):
        objs = h.render(release="edge").objects()
        self.assertEqual(h.find(objs, "DaemonSet")["metadata"]["name"], "edge-kong-cluster-agent")
        objs = h.render({"fullnameOverride": "kc"}).objects()
        self.assertEqual(h.find(objs, "Deployment")["metadata"]["name"], "kc-operator")
        self.assertIn("--selector=app.kubernetes.io/name=kong-cluster,app.kubernetes.io/instance=kong-cluster,"
                      "app.kubernetes.io/component=agent", h.container(h.find(objs, "Deployment"), "operator")["args"])

    def test_notes(self):
        notes = h.render().render()["NOTES.txt"]
        self.assertIn("kubectl -n kong-cluster get clusternodes", notes)
        self.assertIn("kong-cluster members", notes)
        self.assertIn("No PodMonitor/ServiceMonitor was created", notes)
        notes = h.render(api_versions=h.MONITORING_API).render()["NOTES.txt"]
        self.assertNotIn("No PodMonitor", notes)


@unittest.skipIf(h.kubectl_path() is None, "kubectl not installed")
class ChartApplyTest(unittest.TestCase):
    def test_rendered_chart_is_accepted_by_kubectl_apply(self):
        with h.Sim() as sim:
            sim.kubectl("create", "namespace", "kong-cluster")
            sim.kubectl("apply", "-f", os.path.join(h.CHART, "crds", "clusternodes.yaml"))
            sim.kubectl("apply", "-f", os.path.join(h.TESTDATA, "monitoring-crds.yaml"))
            for crd in (h.crd_info()[0], "podmonitors.monitoring.coreos.com",
                        "servicemonitors.monitoring.coreos.com"):
                sim.kubectl("wait", "--for=condition=Established", "crd/" + crd, "--timeout=20s")
            for i, set_values in enumerate([
                    None,
                    {"kong": {"enabled": True}, "postgres": {"password": "pw"},
                     "agent": {"hostPort": {"enabled": True}, "advertiseMode": "host", "join": ["a:7946"],
                               "tags": {"role": "kong"}, "tolerations": [{"operator": "Exists"}],
                               "nodeSelector": {"kubernetes.io/os": "linux"}, "podAnnotations": {"a": "b"}},
                     "metrics": {"monitors": {"interval": "15s"}}}]):
                objs = h.render(set_values, api_versions=h.MONITORING_API, release="r%d" % i).objects()
                r = sim.kubectl("apply", "--validate=strict", "-f", "-", input=h.dump_all(objs))
                lines = r.stdout.strip().splitlines()
                self.assertEqual(len(lines), len(objs), r.stdout)
                self.assertTrue(all(ln.endswith(" created") for ln in lines), r.stdout)
                self.assertNotIn("Warning", r.stderr)


class HelmliteSemanticsTest(unittest.TestCase):
    """The renderer's Go-template semantics for the constructs the chart uses (expected outputs are
    what text/template + Sprig print)."""

    def run_tpl(self, text, values=None):
        import tempfile
        d = tempfile.mkdtemp(prefix="helmlite-")
        os.makedirs(os.path.join(d, "templates"))
        with open(os.path.join(d, "Chart.yaml"), "w") as f:
            f.write("apiVersion: v2\nname: t\nversion: 1.0.0\nappVersion: '2'\n")
        with open(os.path.join(d, "templates", "t.txt"), "w") as f:
            f.write(text)
        try:
            return helmlite.Renderer(d, helmlite.helm_numbers(values or {}), "rel", "ns").render()["t.txt"]
        finally:
            import shutil
            shutil.rmtree(d)

    def test_trim_markers(self):
        self.assertEqual(self.run_tpl("a  {{- 1 -}}  b\n{{ 2 }} c"), "a1b\n2 c")
        self.assertEqual(self.run_tpl("x:\n  {{- if true }}\n  y: 1\n  {{- end }}\n"), "x:\n  y: 1\n")

    def test_if_else_with_range_and_scopes(self):
        v = {"m": {"b": 2, "a": 1}, "l": ["x", "y"], "e": ""}
        self.assertEqual(self.run_tpl("{{ if .Values.e }}A{{ else if .Values.l }}B{{ else }}C{{ end }}", v), "B")
        self.assertEqual(self.run_tpl("{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}", v), "a=1;b=2;")
        self.assertEqual(self.run_tpl("{{ with .Values.l }}{{ join \",\" . }}{{ end }}{{ with .Values.e }}X{{ end }}",
                                      v), "x,y")
        self.assertEqual(self.run_tpl("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}"), "2")
        with self.assertRaises(helmlite.TemplateError):
            self.run_tpl("{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}")

    def test_functions(self):
        self.assertEqual(self.run_tpl('{{ "a" | quote }} {{ 3 | quote }} {{ printf "%s-%d" "x" 4 }}'), '"a" "3" x-4')
        self.assertEqual(self.run_tpl('{{ default "d" "" }} {{ default "d" "v" }} {{ "abcdef-" | trunc 4 }}'),
                         "d v abcd")
        self.assertEqual(self.run_tpl('{{ toYaml .Values.m | nindent 2 }}', {"m": {"b": [1], "a": "x"}}),
                         "\n  a: x\n  b:\n  - 1")
        self.assertEqual(self.run_tpl('{{ and 1 0 }} {{ or 0 "" "z" }} {{ not "" }} {{ ternary "on" "off" false }}'),
                         "0 z true off")

    def test_numbers_are_float64_as_in_helm(self):
        # values files reach templates as float64: %v prints large ones in exponent form
        v = {"n": 1000000, "p": 7946, "r": {"a": 1}}
        self.assertEqual(self.run_tpl("{{ .Values.n }} {{ int .Values.n }} {{ .Values.p }} {{ .Values.n | quote }}", v),
                         '1e+06 1000000 7946 "1e+06"')
        self.assertEqual(self.run_tpl("{{ toYaml .Values.r }}", v), "a: 1")

    def test_unsupported_constructs_fail_loudly(self):
        for bad in ("{{ tpl .Values.x . }}", "{{ template \"x\" . }}", "{{ if true }}", "{{ end }}",
                    "{{ include \"nope\" . }}"):
            with self.assertRaises(helmlite.TemplateError, msg=bad):
                self.run_tpl(bad)


if __name__ == "__main__":
    unittest.main()
