#!/usr/bin/env python3
"""A real Prometheus server scrapes the demo's agents and operators where the chart's monitors say.

Starts hack/demo.py --loopback --setup-only --keep-running (kube-sim, Postgres, four agent pods, two
operator replicas with leader election; see test_demo.py) and Debian's `prometheus` (2.42) with a
temporary config and TSDB, listening on a free loopback port, scrape interval 1 s. Always the
demo's loopback mode: Prometheus (and this test, reading kube-sim) run in the root network
namespace, from which the namespace mode's pod IPs (10.1.0.x, behind a bridge in a namespace of
its own) are not reachable.

The scrape jobs come from the PodMonitor and ServiceMonitor in manifests/overlays/monitoring
(tests/k8s/test_chart_render.py keeps them equal to the chart's templates/monitors.yaml). Debian's prometheus is
built without Kubernetes service discovery, so this test does what the Prometheus Operator and
kubernetes_sd would do, against kube-sim's API: the PodMonitor's namespaceSelector and label
selector pick the pods (Running ones), its endpoint's port *name* (`probe`) is looked up among each
pod's container ports, and the target is podIP:containerPort with the endpoint's path and scheme;
the ServiceMonitor's selector picks the Service, the Endpoints of that Service give the addresses
and the port named like the endpoint's port (`metrics`). Job names, `job` (from jobLabel),
`namespace`, `pod`, `service`, `endpoint` and the podTargetLabels are set as the Prometheus Operator
sets them. The targets are written as static_configs.

Verified through Prometheus' HTTP API: every target (4 agents, 2 operators) is `up`;
kong_cluster_members{status="alive"} is 4 on each agent and failed is 0; kong_cluster_build_info and
the gossip packet counters come from every agent; leader_election_master_status is 1 on exactly one
operator, the Lease holder, and 0 on the other; the leader's kong_cluster_operator_members{status=
"alive"} is 4 (a standby does not publish it); controller_runtime_reconcile_total is served. Then
Prometheus and the demo are stopped by PID (the demo by SIGINT, as Ctrl-C) and every process they started is gone.

Skipped (exit 77) when the binaries are not built, or when prometheus is missing and cannot be
installed with apt-get (hack/deps.sh installs it).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demoharness as d  # noqa: E402

MONITORS = os.path.join(d.ROOT, "manifests", "overlays", "monitoring", "monitors.yaml")
AGENTS = 4


def find_prometheus():
    for p in (shutil.which("prometheus"), "/usr/bin/prometheus"):
        if p and os.access(p, os.X_OK):
            return p
    if os.getuid() == 0 and shutil.which("apt-get"):
        print("prometheus not found: apt-get install prometheus (as hack/deps.sh does)", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
                           env=env, timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        except (subprocess.TimeoutExpired, OSError):
            pass
        if os.access("/usr/bin/prometheus", os.X_OK):
            return "/usr/bin/prometheus"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
        except (OSError, ValueError, KeyError):
            last = None
        if last:
            return last
        time.sleep(0.25)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


def sanitize(label):
    """Prometheus label name from a Kubernetes label key, as the Prometheus Operator does."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", label)


def selector(match_labels):
    return ",".join("%s=%s" % kv for kv in sorted(match_labels.items()))


class Resolver:
    """Turns PodMonitor/ServiceMonitor objects into Prometheus scrape configs, reading kube-sim."""

    def __init__(self, api):
        self.api = api

    def get(self, path, **query):
        url = self.api + path + ("?" + urllib.parse.urlencode(query) if query else "")
        return get_json(url)

    def pod_monitor(self, pm):
        md, spec = pm["metadata"], pm["spec"]
        out = []
        for i, ep in enumerate(spec["podMetricsEndpoints"]):
            targets = []
            for ns in spec["namespaceSelector"]["matchNames"]:
                pods = self.get("/api/v1/namespaces/%s/pods" % ns,
                                labelSelector=selector(spec["selector"]["matchLabels"]))["items"]
                for pod in pods:
                    if pod["status"].get("phase") != "Running" or not pod["status"].get("podIP"):
                        continue
                    for c in pod["spec"]["containers"]:
                        for p in c.get("ports", []):
                            if p.get("name") != ep["port"] or p.get("protocol", "TCP") != "TCP":
                                continue
                            labels = pod["metadata"].get("labels", {})
                            tl = {"namespace": ns, "pod": pod["metadata"]["name"], "container": c["name"],
                                  "endpoint": ep["port"],
                                  "job": labels.get(spec.get("jobLabel", ""), "%s/%s" % (md["namespace"], md["name"]))}
                            for k in spec.get("podTargetLabels", []):
                                if k in labels:
                                    tl[sanitize(k)] = labels[k]
                            targets.append({"targets": ["%s:%d" % (pod["status"]["podIP"], p["containerPort"])],
                                            "labels": tl})
            out.append({"job_name": "podMonitor/%s/%s/%d" % (md["namespace"], md["name"], i),
                        "metrics_path": ep.get("path", "/metrics"), "scheme": ep.get("scheme", "http"),
                        "static_configs": targets})
        return out

    def service_monitor(self, sm):
        md, spec = sm["metadata"], sm["spec"]
        out = []
        for i, ep in enumerate(spec["endpoints"]):
            targets = []
            for ns in spec["namespaceSelector"]["matchNames"]:
                svcs = self.get("/api/v1/namespaces/%s/services" % ns,
                                labelSelector=selector(spec["selector"]["matchLabels"]))["items"]
                for svc in svcs:
                    name = svc["metadata"]["name"]
                    try:
                        eps = self.get("/api/v1/namespaces/%s/endpoints/%s" % (ns, name))
                    except urllib.error.HTTPError:
                        continue
                    for subset in eps.get("subsets", []):
                        for p in subset.get("ports", []):
                            if p.get("name") != ep["port"]:
                                continue
                            for a in subset.get("addresses", []):
                                tl = {"namespace": ns, "service": name, "endpoint": ep["port"],
                                      "job": svc["metadata"].get("labels", {}).get(spec.get("jobLabel", ""), name)}
                                ref = a.get("targetRef") or {}
                                if ref.get("kind") == "Pod":
                                    tl["pod"] = ref["name"]
                                targets.append({"targets": ["%s:%d" % (a["ip"], p["port"])], "labels": tl})
            out.append({"job_name": "serviceMonitor/%s/%s/%d" % (md["namespace"], md["name"], i),
                        "metrics_path": ep.get("path", "/metrics"), "scheme": ep.get("scheme", "http"),
                        "static_configs": targets})
        return out


class PrometheusScrapeTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kc-prometheus-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # --loopback: pod IPs Prometheus can reach from here (see the docstring).
        self.demo = d.DemoRun("--loopback", "--setup-only", "--keep-running", "--no-serf",
                              "--agents", str(AGENTS)).start()
        self.addCleanup(self.demo.stop)
        self.prom = None
        self.addCleanup(self.stop_prometheus)

    def stop_prometheus(self):
        if self.prom is not None and self.prom.poll() is None:
            self.prom.terminate()  # by PID
            try:
                self.prom.wait(15)
            except subprocess.TimeoutExpired:
                self.prom.kill()
                self.prom.wait(5)

    def query(self, q):
        r = get_json("%s/api/v1/query?%s" % (self.prom_url, urllib.parse.urlencode({"query": q})))
        self.assertEqual(r["status"], "success", r)
        return {tuple(sorted(s["metric"].items())): float(s["value"][1]) for s in r["data"]["result"]}

    def wait_query(self, q, check, what, timeout=20):
        """Polls query `q` until check(result) holds; returns the result."""
        last = {}

        def ok():
            nonlocal last
            last = self.query(q)
            return check(last)
        try:
            wait_until(ok, timeout, what)
        except AssertionError:
            self.fail("%s: %s = %s" % (what, q, json.dumps({str(k): v for k, v in last.items()})))
        return last

    def test_prometheus_scrapes_agents_and_operators(self):
        state = self.demo.wait_state(timeout=90)
        self.assertEqual(state["mode"], "loopback")
        agents = {a["name"]: a for a in state["agents"]}
        operators = {o["name"]: o for o in state["operators"]}
        self.assertEqual((len(agents), len(operators)), (AGENTS, 2))

        with open(MONITORS) as f:
            mons = {o["kind"]: o for o in yaml.safe_load_all(f) if o}
        pm, sm = mons["PodMonitor"], mons["ServiceMonitor"]
        self.assertEqual([(e["port"], e["path"]) for e in pm["spec"]["podMetricsEndpoints"]], [("probe", "/metrics")])
        self.assertEqual([(e["port"], e["path"]) for e in sm["spec"]["endpoints"]], [("metrics", "/metrics")])
        self.assertEqual(pm["spec"]["namespaceSelector"]["matchNames"], [state["namespace"]])

        res = Resolver(state["kube_sim"])
        jobs = res.pod_monitor(pm) + res.service_monitor(sm)
        for j in jobs:
            j["scrape_interval"] = "1s"
            j["scrape_timeout"] = "1s"
        pod_targets = {t["labels"]["pod"]: t["targets"][0] for t in jobs[0]["static_configs"]}
        self.assertEqual(pod_targets, {n: "%s:%d" % (a["ip"], a["ports"]["probe"]) for n, a in agents.items()},
                         "the PodMonitor must select every agent pod's `probe` port")
        svc_targets = {t["labels"]["pod"]: t["targets"][0] for t in jobs[1]["static_configs"]}
        self.assertEqual(svc_targets, {n: "%s:%d" % (o["ip"], o["ports"]["metrics"]) for n, o in operators.items()},
                         "the ServiceMonitor must select both operator replicas' `metrics` port")
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            yaml.safe_dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                            "scrape_configs": jobs}, f, sort_keys=False)

        port = free_port()
        self.prom_url = "http://127.0.0.1:%d" % port
        log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.addCleanup(log.close)
        self.prom = subprocess.Popen([PROMETHEUS, "--config.file=" + config,
                                      "--storage.tsdb.path=" + os.path.join(self.dir, "tsdb"),
                                      "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)

        def prom_log():
            with open(os.path.join(self.dir, "prometheus.log")) as f:
                return f.read()
        try:
            wait_until(lambda: urllib.request.urlopen(self.prom_url + "/-/ready", timeout=2).status == 200,
                       30, "prometheus /-/ready")
        except AssertionError:
            self.fail("prometheus did not become ready:\n" + prom_log())

        # every target up
        want = len(agents) + len(operators)

        def all_up():
            ts = get_json(self.prom_url + "/api/v1/targets?state=active")["data"]["activeTargets"]
            self.targets = ts
            return len(ts) == want and all(t["health"] == "up" for t in ts)
        try:
            wait_until(all_up, 45, "every target up")
        except AssertionError:
            self.fail("targets: %s\n%s" % (json.dumps([(t["scrapeUrl"], t["health"], t["lastError"])
                                                       for t in getattr(self, "targets", [])]), prom_log()))
        urls = sorted(t["scrapeUrl"] for t in self.targets)
        self.assertEqual(urls, sorted("http://%s/metrics" % a for a in list(pod_targets.values())
                                      + list(svc_targets.values())))
        for t in self.targets:
            print("target %-55s %-48s %s" % (t["scrapePool"], t["scrapeUrl"], t["health"]))

        # agents: membership as each agent sees it
        n = len(agents)
        alive = self.wait_query('kong_cluster_members{status="alive"}',
                                lambda r: len(r) == n and all(v == n for v in r.values()),
                                "every agent reports %d alive members" % n)
        self.assertEqual(sorted(dict(k)["pod"] for k in alive), sorted(agents))
        for k in alive:
            labels = dict(k)
            self.assertEqual((labels["job"], labels["namespace"], labels["app_kubernetes_io_component"],
                              labels["endpoint"]), ("kong-cluster", state["namespace"], "agent", "probe"))
        failed = self.query('kong_cluster_members{status="failed"}')
        self.assertEqual(sorted(failed.values()), [0.0] * n)
        self.assertEqual(self.query("count(kong_cluster_build_info == 1)"), {(): float(n)})
        self.wait_query('count(kong_cluster_gossip_packets_total{direction="received"} > 0)',
                        lambda r: r == {(): float(n)}, "every agent received gossip packets")

        # operators: one leader, the Lease holder
        lease = get_json("%s/apis/coordination.k8s.io/v1/namespaces/%s/leases/kong-cluster-operator"
                         % (state["kube_sim"], state["namespace"]))
        holder = lease["spec"]["holderIdentity"]
        self.assertIn(holder, operators)
        leader = self.wait_query('leader_election_master_status{name="kong-cluster-operator"}',
                                 lambda r: len(r) == 2 and sum(r.values()) == 1.0, "one leader among two replicas")
        self.assertEqual({dict(k)["pod"]: v for k, v in leader.items()},
                         {o: (1.0 if o == holder else 0.0) for o in operators})
        for k in leader:
            labels = dict(k)
            self.assertEqual((labels["service"], labels["endpoint"], labels["job"]),
                             ("kong-cluster-operator-metrics", "metrics", "kong-cluster"))
        # the leader's view of the membership (a standby does not publish this gauge)
        self.wait_query('kong_cluster_operator_members{status="alive"}',
                        lambda r: {dict(k)["pod"]: v for k, v in r.items()}.get(holder) == float(n),
                        "the leader counts %d alive members" % n)
        self.assertEqual(len(self.query("controller_runtime_reconcile_total")) > 0, True)
        self.assertEqual(self.query("count(up == 1)"), {(): float(want)})

        # stop: Prometheus by PID, the demo by SIGINT (Ctrl-C); nothing left running
        self.stop_prometheus()
        self.assertEqual(self.demo.interrupt(timeout=60), 0, self.demo.output())
        self.assertIn("processes stopped by PID", self.demo.output())
        self.assertEqual([p for p in state["pids"] if d.pid_alive(p)], [])


if __name__ == "__main__":
    missing = d.binaries_missing()
    if missing:
        print("SKIP: %s not built in %s" % (", ".join(missing), d.BIN))
        sys.exit(d.SKIP)
    PROMETHEUS = find_prometheus()
    if PROMETHEUS is None:
        print("SKIP: prometheus is not installed and could not be installed (hack/deps.sh installs it)")
        sys.exit(d.SKIP)
    unittest.main(verbosity=2)
