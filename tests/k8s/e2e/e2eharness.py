"""The chart installed by real Helm on the real control plane, as a user's `helm install` makes it:
the agent and operator images (hack/images/build.sh), agents as a DaemonSet on Nodes of the
node stand-in (hack/nodeagent: pods are Docker containers), two operator replicas with Lease
election, the chart's ServiceAccounts and RBAC enforced by the apiserver, and a throwaway
Postgres on the host that the pods reach at their network's gateway.

What the tests observe, each from its source: the members every agent's /v1/members lists, the
`nodes` rows in Postgres, the ClusterNodes and the operator Lease at the apiserver. Everything
started here is stopped by PID (the control plane and node agent also have reapers).
"""
import base64
import importlib.util
import json
import os
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

HERE = os.path.dirname(os.path.abspath(__file__))
K8S_TESTS = os.path.dirname(HERE)
ROOT = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or os.path.join(K8S_TESTS, "..", ".."))
sys.path.insert(0, K8S_TESTS)
sys.path.insert(0, os.path.join(ROOT, "hack", "bench"))
import helmchart as hc  # noqa: E402
import k8scluster  # noqa: E402
from throwaway_postgres import ThrowawayPostgres, available as postgres_available  # noqa: E402


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# The node stand-in's fixture (a control plane plus Nodes running pods as containers).
nodes = _load("nodeharness", os.path.join(K8S_TESTS, "nodes", "harness.py"))
log, wait_until, run = nodes.log, nodes.wait_until, nodes.run
SKIP_CODE = nodes.SKIP_CODE

NS, RELEASE = "kong-cluster", "kc"
FULL = RELEASE + "-kong-cluster"
AGENT_SELECTOR = "app.kubernetes.io/instance=%s,app.kubernetes.io/component=agent" % RELEASE
OPERATOR_SELECTOR = "app.kubernetes.io/instance=%s,app.kubernetes.io/component=operator" % RELEASE
LEASE = FULL + "-operator"
CLUSTERNODES = "/apis/kongcluster.dev/v1alpha1/namespaces/%s/clusternodes" % NS
OPERATOR_METRICS_PORT = 8080
GOSSIP_PORT, HTTP_PORT = 7946, 8946


class ApiUnavailable(OSError):
    """The apiserver answered 429 or 5xx, or does not serve a resource yet (just after a
    restart): an OSError, so every poll (wait_until) counts it as not yet and asks again."""


def skip_reason():
    why = nodes.skip_reason()
    if why:
        return why
    try:
        k8scluster.bin_dir(needs=("helm",))
    except k8scluster.ClusterError as e:
        return str(e)
    if not postgres_available():
        return "PostgreSQL 15 server binaries not installed (postgresql-15)"
    return None


def main():
    nodes.testrun.main(skip_reason)


def build_images():
    """{name: repository:tag} from hack/images/build.sh (cached after the first build), or the
    images KC_IMAGES names ("agent=repo:tag,operator=repo:tag": a CI job that built them
    already), which must exist in the Docker engine."""
    given = os.environ.get("KC_IMAGES")
    if given:
        images = dict(kv.split("=", 1) for kv in given.split(","))
        for tag in images.values():
            run(["docker", "image", "inspect", "-f", "{{.Id}}", tag])
        log("images given by KC_IMAGES: %s" % images)
        return images
    t0 = time.monotonic()
    out = run([os.path.join(ROOT, "hack", "images", "build.sh")], capture_output=False,
              stdout=subprocess.PIPE, stderr=None, timeout=5400).stdout
    images = dict(line.split() for line in out.splitlines() if len(line.split()) == 2)
    log("images ready in %.1fs: %s" % (time.monotonic() - t0, images))
    return images


def percentile(values, p):
    """The p-th percentile (nearest rank) of values."""
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


# Values for tests that replace agent pods and then rely on gossip reaching the replacements:
# the agents advertise their pod IPs (they still join through the Nodes' hostPorts over TCP).
# The stand-in leaves a Node's UDP conntrack entries for a hostPort pointing at the replaced pod's
# IP (docs/kubernetes-nodes.md), which cuts a replacement with another IP off UDP gossip.
POD_ADVERTISE = {"agent": {"advertiseMode": "pod"}}


def merged(base, extra):
    """base with extra's keys laid over it, recursively (Helm's own merge of values)."""
    out = dict(base)
    for k, v in extra.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class Deployment:
    """Control plane + Nodes + Postgres + the chart installed; use as a context manager.
    values are laid over the test's chart values (e.g. operator.failedGrace). Two Kubernetes
    clusters sharing one Postgres: start() both, then install() each with that Postgres."""

    def __init__(self, node_count=3, topology="dc1/dc1-a,dc1/dc1-b,dc2/dc2-a", values=None,
                 before_install=None):
        self.node_count = node_count
        self.cluster = nodes.Cluster(nodes=node_count, topology=topology)
        self.values = values or {}
        # Called with (deployment, chart values) before `helm install`: may create objects the
        # values refer to (a ConfigMap of handler scripts) and change the values.
        self.before_install = before_install
        self.pg = None
        self.own_pg = None  # the Postgres this deployment started (stopped by down())
        self.api = None  # REST calls of the polling loops: much cheaper than a kubectl process
        self.helm = None
        self.token = None
        self.gateway = self.subnet = None

    def __enter__(self):
        try:
            self.start()
            self.own_pg = ThrowawayPostgres(max_connections=50, also_listen=self.gateway, allow_subnet=self.subnet)
            self.install(self.own_pg)
            self.wait_installed()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()

    def start(self):
        """The control plane and its Nodes (not the chart yet)."""
        self.cluster.__enter__()
        c = self.cluster
        self.api = k8scluster.Cluster.load(c.state)
        self.gateway, self.subnet = run(["docker", "network", "inspect", c.instance + "-net", "-f",
                                         "{{(index .IPAM.Config 0).Gateway}} {{(index .IPAM.Config 0).Subnet}}"]
                                        ).stdout.split()

    def node_ips(self):
        return [n["internalIP"] for n in self.cluster.ready["nodes"]]

    def bridge(self):
        """The host's bridge interface of the Nodes' Docker network."""
        return "br-" + run(["docker", "network", "inspect", self.cluster.instance + "-net", "-f", "{{.Id}}"]
                           ).stdout.strip()[:12]

    def install(self, pg, join=()):
        """helm install with pg as the datastore; the agents join their Nodes and the addresses
        in join (host:port). wait_installed() waits until they are steady."""
        images = build_images()
        c = self.cluster
        self.pg = pg
        log("postgres on %s:%d (and 127.0.0.1) for %s" % (self.gateway, pg.port, self.subnet))
        self.helm = hc.Helm(kubeconfig=c.kubeconfig)
        agent_repo, agent_tag = images["agent"].rsplit(":", 1)
        op_repo, op_tag = images["operator"].rsplit(":", 1)
        values = {
            "postgres": {"host": self.gateway, "port": pg.port, "user": "kong", "database": "kong",
                         "password": "unused-trust-auth"},
            # Pod IPs are not known before install, Node addresses are: the agents expose
            # gossip on their Node's address (hostPort) and advertise it, and join the Nodes.
            # (Not hostNetwork: the stand-in gives hostNetwork pods no kubernetes.default.svc,
            # so the agents could not read their Node's dc and zone.)
            "agent": {"image": {"repository": agent_repo, "tag": agent_tag, "pullPolicy": "Never"},
                      "hostPort": {"enabled": True}, "advertiseMode": "host",
                      "join": ["%s:%d" % (ip, GOSSIP_PORT) for ip in self.node_ips()] + list(join)},
            "operator": {"image": {"repository": op_repo, "tag": op_tag, "pullPolicy": "Never"}, "replicas": 2},
            "metrics": {"monitors": {"enabled": False}},
        }
        if self.before_install:
            self.before_install(self, values)
        t0 = time.monotonic()
        self.helm.run("install", RELEASE, hc.CHART, "--namespace", NS, "--create-namespace",
                      *self.helm.value_args(merged(values, self.values)))
        log("helm install done in %.1fs" % (time.monotonic() - t0))
        self.token = base64.b64decode(self.cluster.get("secret", "-n", NS, FULL + "-rpc")["data"]["token"]).decode()

    def wait_installed(self, timeout=300, extra=frozenset()):
        t0 = time.monotonic()
        try:
            self.wait_steady(timeout=timeout, extra=extra)
        except AssertionError:
            self.dump()
            raise
        log("steady %.1fs later: %d agents alive, rows and ClusterNodes present"
            % (time.monotonic() - t0, self.node_count))

    def down(self):
        if self.helm:
            self.helm.close()
        self.cluster.down()
        if self.own_pg:
            self.own_pg.stop()
            self.own_pg = None

    def dump(self):
        print(self.cluster.kubectl("get", "pods,clusternodes,leases", "-n", NS, "-o", "wide", check=False).stdout)
        print(self.cluster.agent_output())
        print(self.operator_report(tail=60))

    def operator_report(self, tail=25):
        """A short account of the operator replicas for a failure message: the Lease's spec, each
        pod's phase, readiness, restarts and last termination, and its container's last log lines
        (the end of a long CI log is what survives). No kubelet server here: the logs are
        Docker's."""
        try:
            lines = ["Lease: %s" % json.dumps((self.lease() or {}).get("spec"))]
        except (AssertionError, OSError) as ex:  # the report must not hide the failure it explains
            lines = ["Lease: unreadable (%s)" % ex]
        for p in self.pods(OPERATOR_SELECTOR):
            st = p.get("status", {})
            for cs in st.get("containerStatuses", []):
                lines.append("%s on %s: phase %s ready %s restarts %s last %s deleting %s" % (
                    p["metadata"]["name"], p["spec"].get("nodeName"), st.get("phase"), cs.get("ready"),
                    cs.get("restartCount"), json.dumps(cs.get("lastState") or {}),
                    bool(p["metadata"].get("deletionTimestamp"))))
                if cs.get("containerID"):
                    out = run(["docker", "logs", "--tail", str(tail), cs["containerID"].split("://", 1)[1]],
                              check=False)
                    lines += ["  | " + x for x in (out.stdout + out.stderr).splitlines()]
        return "\n".join(lines)

    def agent_logs(self, pods, since):
        """Docker's log of each agent pod's container since the Unix time since."""
        for p in pods:
            cid = self.container_id(p)
            out = run(["docker", "logs", "--since", "%d" % since, cid], check=False)
            print("--- %s:\n%s%s" % (p["metadata"]["name"], out.stdout[-5000:], out.stderr[-5000:]))

    def remains(self, name, survivors):
        """What is left of name: each survivor's view of it, its row, its ClusterNode."""
        views = {p["metadata"]["name"]: (self.members(p) or {}).get(name, "-") for p in survivors}
        return "views %s, row %s, ClusterNode %s" % (views, name in self.rows(), name in self.clusternodes())

    # ------------------------------------------------------------ observations

    def kubectl(self, *args, **kw):
        return self.cluster.kubectl(*args, **kw)

    def pods(self, selector):
        return self.cluster.pods(NS, selector)

    def ready_agents(self):
        return [p for p in self.pods(AGENT_SELECTOR)
                if nodes.running_ready(p) and not p["metadata"].get("deletionTimestamp")]

    def members(self, pod):
        """name -> status as pod's agent lists them, or None if it does not answer."""
        req = urllib.request.Request("http://%s:%d/v1/members" % (pod["status"]["podIP"], HTTP_PORT),
                                     headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(req, timeout=2) as r:
                return {m["name"]: m["status"] for m in json.load(r)["members"]}
        except (OSError, ValueError, urllib.error.URLError):
            return None

    def rows(self):
        out = self.pg.psql("SELECT name FROM nodes", check=False, database="kong")
        if out is None:  # the table is made by the first agent
            return set()
        return set(out.split())

    def rest(self, path):
        status, obj = self.api.request("GET", path, timeout=10)
        if status == 429 or status >= 500:
            raise ApiUnavailable("GET %s: HTTP %d %r" % (path, status, obj))
        if status not in (200, 404):
            raise AssertionError("GET %s: HTTP %d %r" % (path, status, obj))
        return obj if status == 200 else None

    def pod_exists(self, name):
        return self.rest("/api/v1/namespaces/%s/pods/%s" % (NS, name)) is not None

    def clusternodes(self):
        listed = self.rest(CLUSTERNODES)
        if listed is None:  # the namespace list of a served CRD is never 404
            raise ApiUnavailable("GET %s: HTTP 404: the ClusterNode resource is not served (yet)" % CLUSTERNODES)
        return {o["spec"]["memberName"]: o for o in listed["items"]}

    def lease(self):
        return self.rest("/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s" % (NS, LEASE))

    def leader(self):
        return self.lease()["spec"].get("holderIdentity") or None

    def steady(self, extra=frozenset()):
        """The ready agents' names when every one lists exactly them (and the members named in
        extra, joined from outside Kubernetes) alive, has its `nodes` row and its ClusterNode;
        else None."""
        pods = self.ready_agents()
        names = {p["metadata"]["name"] for p in pods}
        if len(names) != self.node_count:
            return None
        for p in pods:
            ms = self.members(p)
            if ms is None or set(ms) != names | extra or any(s != "alive" for s in ms.values()):
                return None
        if not names <= self.rows() or set(self.clusternodes()) - extra != names:
            return None
        return names

    def wait_steady(self, timeout=120, extra=frozenset()):
        return wait_until(lambda: self.steady(extra), timeout,
                          "%d agents alive everywhere, rows and ClusterNodes" % self.node_count)

    def gone_everywhere(self, name, survivors):
        """True when name is in no survivor's member list, no `nodes` row and no ClusterNode."""
        for p in survivors:
            ms = self.members(p)
            if ms is None or name in ms:
                return False
        return name not in self.rows() and name not in self.clusternodes()

    def scrape_targets(self, port_names):
        """[(podIP:port, {pod, component})] of the Running pods' container ports named in
        port_names: what a PodMonitor on those ports selects."""
        out = []
        for p in self.cluster.pods(NS):
            if p["status"].get("phase") != "Running" or not p["status"].get("podIP"):
                continue
            for c in p["spec"]["containers"]:
                for port in c.get("ports", []):
                    if port.get("name") in port_names and port.get("protocol", "TCP") == "TCP":
                        out.append(("%s:%d" % (p["status"]["podIP"], port["containerPort"]),
                                    {"pod": p["metadata"]["name"],
                                     "component": p["metadata"]["labels"]["app.kubernetes.io/component"]}))
        return out

    def leader_metrics(self, prefix):
        """{sample name with its labels: value} of the leader operator's /metrics lines that
        start with prefix."""
        leader = self.leader()
        pod = [p for p in self.pods(OPERATOR_SELECTOR) if p["metadata"]["name"] == leader][0]
        _, text = nodes.http_get("http://%s:%d/metrics" % (pod["status"]["podIP"], OPERATOR_METRICS_PORT))
        vals = {}
        for line in text.splitlines():
            if line.startswith(prefix):
                k, v = line.rsplit(None, 1)
                vals[k] = float(v)
        return vals

    def operator_prune_latency(self):
        """(sum, count) of the leader's kong_cluster_operator_prune_latency_seconds: its own
        measure from the pod event to member, row and ClusterNode gone."""
        vals = self.leader_metrics("kong_cluster_operator_prune_latency_seconds_")
        return (vals.get("kong_cluster_operator_prune_latency_seconds_sum", 0.0),
                int(vals.get("kong_cluster_operator_prune_latency_seconds_count", 0)))

    def prunes(self, reason):
        """The leader's kong_cluster_operator_prunes_total for reason."""
        return self.leader_metrics("kong_cluster_operator_prunes_total").get(
            'kong_cluster_operator_prunes_total{reason="%s"}' % reason, 0.0)

    def agent_pod(self, name):
        return [p for p in self.ready_agents() if p["metadata"]["name"] == name][0]

    def container_id(self, pod):
        """The Docker id of pod's (one) agent container."""
        return pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]

    def timed_cleanup(self, pod_name, act, survivors=None, timeout=60, poll=0.05):
        """Runs act() (what makes pod_name's member go), then polls every poll seconds until its
        member, row and ClusterNode are gone from survivors (default: the other ready agents).
        Returns (seconds from act() to all three gone, seconds from the pod object's removal to
        that or None if the pod still exists, the operator's own measure from its pod event)."""
        if survivors is None:
            survivors = [p for p in self.ready_agents() if p["metadata"]["name"] != pod_name]
        before = self.operator_prune_latency()
        t0 = time.monotonic()
        act()
        pod_gone = None
        shown = None
        while True:
            now = time.monotonic()
            try:
                if pod_gone is None and not self.pod_exists(pod_name):
                    pod_gone = now
                if now - t0 > 2:  # slower than expected: log what is left whenever it changes
                    left = self.remains(pod_name, survivors)
                    if left != shown:
                        log("%.2fs after the act: %s" % (now - t0, left))
                        shown = left
                gone = self.gone_everywhere(pod_name, survivors)
            except ApiUnavailable as e:  # not yet known: ask again (the timeout still holds)
                if str(e) != shown:  # once per distinct answer, not every poll
                    log("%.2fs after the act: %s" % (now - t0, e))
                    shown = str(e)
                gone = False
            if gone:
                done = time.monotonic()
                if pod_gone is None and not self.pod_exists(pod_name):
                    pod_gone = done
                after = wait_until(lambda: (lambda now: now[1] > before[1] and now)(self.operator_prune_latency()),
                                   10, "the operator to count the prune")
                return (done - t0, None if pod_gone is None else max(0.0, done - pod_gone),
                        (after[0] - before[0]) / (after[1] - before[1]))
            if now - t0 > timeout:
                self.dump()
                raise AssertionError("%s not cleaned up %ds after it was made to go: %s"
                                     % (pod_name, timeout, self.remains(pod_name, survivors)))
            time.sleep(poll)

    def crash_and_force_delete(self, pod_name):
        """What timed_cleanup runs for an agent that crashed and whose pod was then force-deleted:
        its container killed (`docker kill`, SIGKILL), then `kubectl delete pod --force
        --grace-period=0`. Its member is still alive in gossip when the pod goes."""
        container = self.container_id(self.agent_pod(pod_name))

        def act():
            run(["docker", "kill", container])
            self.kubectl("delete", "pod", "-n", NS, pod_name, "--force", "--grace-period=0", "--wait=false")
        return act

    def timed_delete(self, pod_name, *args):
        """kubectl delete pod (not waiting) with args; timed_cleanup's numbers (from the removal: 0
        when the cleanup finished before the pod object went)."""
        total, after_removal, op = self.timed_cleanup(
            pod_name, lambda: self.kubectl("delete", "pod", "-n", NS, pod_name, "--wait=false", *args))
        return total, after_removal or 0.0, op


class Prometheus:
    """Debian's prometheus on 127.0.0.1 (a free port) scraping /metrics every second at the
    targets given: [(host:port, {label: value})]. Debian builds it without the Kubernetes
    service discovery, so the caller resolves the pods from the apiserver, as that discovery
    would. stop() by PID."""

    def __init__(self, targets):
        self.dir = tempfile.mkdtemp(prefix="kc-e2e-prom-")
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                  "scrape_configs": [{"job_name": "kong-cluster", "static_configs": [
                      {"targets": [addr], "labels": labels} for addr, labels in targets]}]}
        path = os.path.join(self.dir, "prometheus.yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % port
        with open(os.path.join(self.dir, "prometheus.log"), "w") as out:
            self.proc = subprocess.Popen(["prometheus", "--config.file=" + path,
                                          "--storage.tsdb.path=" + os.path.join(self.dir, "tsdb"),
                                          "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log(self):
        with open(os.path.join(self.dir, "prometheus.log")) as f:
            return f.read()[-3000:]

    def _get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.load(r)["data"]

    def targets_up(self, want):
        ts = self._get("/api/v1/targets?state=active")["activeTargets"]
        return ts if len(ts) == want and all(t["health"] == "up" for t in ts) else None

    def query(self, q, by):
        """{value of label by: sample value} of an instant query."""
        r = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": q}))
        return {s["metric"].get(by): float(s["value"][1]) for s in r["result"]}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class DeploymentTestCase(unittest.TestCase):
    """One Deployment (the chart on its own control plane) for all the tests of a class, made
    with the class's `deployment` keyword arguments; afterwards no container or network of it
    may be left."""
    deployment = {}

    @classmethod
    def setUpClass(cls):
        cls.d = Deployment(**cls.deployment)
        cls.d.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.d.__exit__(None, None, None)
        left = cls.d.cluster.docker_leftovers()
        assert not left, "containers or networks left: %s" % left
