"""Shared fixture of the node tests: a real control plane (hack/k8s/cluster) with Nodes from
hack/nodeagent, whose pods run as Docker containers; kubectl helpers and condition waits.

Everything started here is stopped by PID; the control plane and the node agent each have a
reaper, so a SIGKILLed test leaves nothing behind either. Tests exit 77 (ctest SKIP) when the
machine cannot run them: not root, no Docker engine, or no hack/k8s/cluster in the tree.
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or os.path.join(HERE, "..", "..", ".."))
CLUSTER = os.environ.get("KC_K8S_CLUSTER") or os.path.join(ROOT, "hack", "k8s", "cluster")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
_letters = iter("abcdefghijklmnopqrstuvwxyz")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import testrun  # noqa: E402
from testrun import SKIP_CODE, log  # noqa: E402,F401


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (Docker networks, iptables in node namespaces)"
    if not os.path.exists(CLUSTER):
        return "no control plane tool at %s (set KC_K8S_CLUSTER)" % CLUSTER
    if not os.path.exists(KUBECTL):
        return "kubectl not found"
    r = subprocess.run(["docker", "info", "-f", "{{.ServerVersion}}"], capture_output=True, text=True)
    if r.returncode != 0:
        return "no Docker engine: %s" % r.stderr.strip()
    return None


def main():
    testrun.main(skip_reason)


def wait_until(cond, timeout, what, interval=0.5):
    """testrun.wait_until, a failed kubectl, connection or parse of the probe itself counting as
    not yet (the next poll tries again)."""
    return testrun.wait_until(cond, timeout, what, interval,
                              transient=(subprocess.CalledProcessError, OSError, ValueError))


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def run(cmd, **kw):
    kw.setdefault("check", True)
    kw.setdefault("text", True)
    kw.setdefault("capture_output", True)
    return subprocess.run(cmd, **kw)


def go_build(module_dir, out):
    run(["go", "-C", module_dir, "build", "-trimpath", "-o", out, "."], env=dict(os.environ, CGO_ENABLED="0"))


def scratch_image(binary, name):
    """A FROM-scratch image holding one static binary as its entrypoint; tagged by content."""
    with open(binary, "rb") as f:
        tag = "%s:%s" % (name, hashlib.sha256(f.read()).hexdigest()[:16])
    if run(["docker", "image", "inspect", tag], check=False).returncode == 0:
        return tag
    ctx = tempfile.mkdtemp(prefix="kc-img-")
    try:
        shutil.copy(binary, os.path.join(ctx, "app"))
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write('FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n')
        run(["docker", "build", "-q", "--force-rm", "-t", tag, ctx], env=dict(os.environ, DOCKER_BUILDKIT="0"))
    finally:
        shutil.rmtree(ctx)
    return tag


def testpod_image():
    out = os.path.join(tempfile.gettempdir(), "kc-testpod-%d" % os.getpid())
    try:
        go_build(os.path.join(HERE, "testpod"), out)
        return scratch_image(out, "kong-cluster/k8s-testpod")
    finally:
        if os.path.exists(out):
            os.unlink(out)


class Cluster:
    """A control plane and a node agent with `nodes` Nodes; use as a context manager."""

    def __init__(self, nodes=2, topology="dc1/dc1-a,dc1/dc1-b", network="flat"):
        self.nodes, self.topology, self.network = nodes, topology, network
        self.instance = "kcna%d%s" % (os.getpid(), next(_letters))
        self.tmp = tempfile.mkdtemp(prefix="kc-k8s-nodes-")
        self.agent = None
        self._agents = []
        self.state = None
        self.kubeconfig = None

    def __enter__(self):
        try:
            self._up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()

    def _up(self):
        t0 = time.monotonic()
        r = run([CLUSTER, "up", "--owner", str(os.getpid())], timeout=1800, capture_output=False,
                stdout=subprocess.PIPE, stderr=None)
        for line in r.stdout.splitlines():
            if line.startswith("export KC_K8S_STATE="):
                self.state = line.split("=", 1)[1]
            elif line.startswith("export KUBECONFIG="):
                self.kubeconfig = line.split("=", 1)[1]
        if not self.kubeconfig:
            raise AssertionError("cluster up printed no KUBECONFIG: %r" % r.stdout)
        log("control plane up in %.1fs" % (time.monotonic() - t0))
        self.agent, self.ready = self.start_agent(self.instance, self.nodes, self.topology, self.network)

    def start_agent(self, instance, nodes, topology, network="flat", prefix="node-", owner=None):
        """Starts a node agent against this control plane, living no longer than process owner
        (default: this test); returns (Popen, its ready file)."""
        binary = run([os.path.join(ROOT, "hack", "nodeagent", "build.sh")], capture_output=False,
                     stdout=subprocess.PIPE, stderr=None, timeout=1200).stdout.strip()
        ready_file = os.path.join(self.tmp, instance + ".ready.json")
        log_file = open(os.path.join(self.tmp, instance + ".log"), "w")
        t1 = time.monotonic()
        agent = subprocess.Popen(
            [binary, "--kubeconfig", self.kubeconfig, "--nodes", str(nodes), "--topology", topology,
             "--network", network, "--ready-file", ready_file, "--instance", instance, "--name-prefix", prefix,
             "--owner", str(owner or os.getpid())],
            stdout=log_file, stderr=subprocess.STDOUT)
        log_file.close()
        self._agents.append(agent)
        wait_until(lambda: os.path.exists(ready_file) or agent.poll() is not None, 180, "node agent ready")
        if agent.poll() is not None:
            raise AssertionError("node agent exited %s:\n%s" % (agent.returncode, self.agent_output(instance)))
        with open(ready_file) as f:
            ready = json.load(f)
        log("node agent %s ready in %.1fs: %s" % (instance, time.monotonic() - t1,
                                                  ", ".join("%s %s" % (n["name"],
                                                                       n["internalIP"]) for n in ready["nodes"])))
        return agent, ready

    def agent_output(self, instance=None):
        try:
            with open(os.path.join(self.tmp, (instance or self.instance) + ".log")) as f:
                return f.read()[-6000:]
        except OSError:
            return ""

    def down(self):
        for agent in self._agents:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                try:
                    agent.wait(60)
                except subprocess.TimeoutExpired:
                    agent.kill()
                    agent.wait()
        if self.state:
            run([CLUSTER, "down", "--state", self.state], check=False, timeout=120)
            self.state = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def docker_leftovers(self, instance=None):
        """Containers and networks of this node agent that still exist."""
        label = "label=kong-cluster.nodeagent=" + (instance or self.instance)
        c = run(["docker", "ps", "-aq", "--filter", label]).stdout.split()
        n = run(["docker", "network", "ls", "-q", "--filter", label]).stdout.split()
        return c + n

    def kubectl(self, *args, input=None, check=True, timeout=60):
        return run([KUBECTL, "--kubeconfig", self.kubeconfig, *args], input=input, check=check, timeout=timeout)

    def apply(self, manifest):
        return self.kubectl("apply", "-f", "-", input=json.dumps(manifest) if isinstance(manifest, dict) else manifest)

    def get(self, *args):
        return json.loads(self.kubectl("get", "-o", "json", *args).stdout)

    def pods(self, ns, selector=None):
        args = ["pods", "-n", ns] + (["-l", selector] if selector else [])
        return self.get(*args)["items"]

    def heartbeat(self, node, on):
        req = urllib.request.Request("http://%s/heartbeat?node=%s&beat=%s" % (self.ready["control"], node,
                                                                              "on" if on else "off"),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 204, r.status


def shared_dir(prefix):
    """A new temporary directory that every container user may write (a hostPath volume)."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o777)
    return d


class NodesTestCase(unittest.TestCase):
    """A test class with one control plane and node agent for all its tests (NODES Nodes in
    TOPOLOGY on a NETWORK), a namespace NS whose default ServiceAccount exists, and the testpod
    image; at the end, checks that the node agent left no Docker object behind."""
    NODES, TOPOLOGY, NETWORK, NS = 2, "dc1/dc1-a,dc1/dc1-b", "flat", "nodes-test"

    @classmethod
    def setUpClass(cls):
        cls.image = testpod_image()
        cls.c = Cluster(nodes=cls.NODES, topology=cls.TOPOLOGY, network=cls.NETWORK)
        cls.c.__enter__()
        cls.c.kubectl("create", "namespace", cls.NS)
        wait_until(lambda: cls.c.kubectl("get", "sa", "default", "-n", cls.NS, check=False).returncode == 0,
                   60, "default ServiceAccount")

    @classmethod
    def tearDownClass(cls):
        cls.c.__exit__(None, None, None)
        left = cls.c.docker_leftovers()
        assert not left, "node agent left Docker objects behind: %s" % left


def condition(obj, ctype):
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == ctype:
            return c["status"]
    return None


def running_ready(pod):
    return pod["status"].get("phase") == "Running" and condition(pod, "Ready") == "True"
