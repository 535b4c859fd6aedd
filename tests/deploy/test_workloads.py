#!/usr/bin/env python3
"""The real binaries run with the command lines and environment that manifests/ gives them.

Containers cannot run here, so this test plays kubelet for the base's two workloads, as far as a
process can: it takes the agent container and the operator container from `kubectl kustomize
manifests/` (which tests/k8s/test_chart_render.py keeps equal to the chart) and starts build/bin/kong-cluster and
build/bin/kong-cluster-operator with exactly their args and env, except:
- downward-API fields get test values (POD_IP/HOST_IP = 127.0.0.1), secretKeyRefs test secrets;
- `0.0.0.0:PORT` listen addresses become 127.0.0.1 with a free port (tests run in parallel);
- Secret volumes become a temporary directory laid out from the volume's `items`, at the path the
  container's volumeMount gives (so --rpc-auth-file must point into it);
- `$(VAR)` in args is expanded from the container's env, as the kubelet does;
- the operator talks to the real apiserver (hack/k8s, etcd and kube-apiserver only) through
  --kubeconfig as the admin instead of the in-cluster service account (whose RBAC
  tests/k8s/test_chart_cluster.py checks).

Verified: both binaries accept every flag and every KONG_* value the manifests set (they refuse
unknown flags and invalid values); the agent's readiness and liveness probe paths answer 200 on the
`http` port and its /metrics (the PodMonitor's path) serves kong_cluster_* series; SIGTERM ends the
agent (graceful leave) with status 0 well within terminationGracePeriodSeconds; the Deployment's
two operator replicas elect exactly one leader through the Lease named by --lease-name in the pod's
namespace, with --identity=$(POD_NAME) as holder, both pass the /readyz probe on the `health` port
and serve /metrics (the ServiceMonitor's path) with leader_election_master_status 1 and 0; the
leader releases the Lease on SIGTERM and the other replica takes over.

Not verified: Postgres (KONG_PG_HOST points at an unresolvable `postgres`, which both binaries
tolerate), gossip between several agents, images, RBAC. Exit 77 (skipped) until hack/k8s/build.sh
has built etcd and kube-apiserver.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deployharness as h  # noqa: E402
from deployharness import wait_until  # noqa: E402

BIN = os.environ.get("KC_BIN_DIR") or os.path.join(h.ROOT, "build", "bin")
AGENT = os.path.join(BIN, "kong-cluster")
OPERATOR = os.path.join(BIN, "kong-cluster-operator")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


class Pod:
    """One container of a pod template, run as a local process."""

    def __init__(self, testcase, template, container_name, pod_name, secrets, workdir):
        self.tc = testcase
        spec = template["spec"]
        self.spec = spec
        self.c = h.container({"spec": {"template": template}}, container_name)
        self.pod_name = pod_name
        self.dir = tempfile.mkdtemp(prefix="pod-", dir=workdir)
        self.ports = {}  # container port name -> local port
        fields = {"metadata.name": pod_name, "metadata.namespace": "kong-cluster",
                  "metadata.uid": "uid-" + pod_name, "status.podIP": "127.0.0.1", "status.hostIP": "127.0.0.1",
                  "spec.nodeName": "worker-1"}
        self.env = {"PATH": "/usr/bin:/bin"}
        for e in self.c.get("env", []):
            if "value" in e:
                self.env[e["name"]] = expand(e["value"], self.env)
                continue
            src = e["valueFrom"]
            if "fieldRef" in src:
                self.env[e["name"]] = fields[src["fieldRef"]["fieldPath"]]
            elif "secretKeyRef" in src:
                ref = src["secretKeyRef"]
                self.env[e["name"]] = secrets[ref["name"]][ref["key"]]
            else:
                raise AssertionError("unsupported env source %r" % src)
        # Secret and emptyDir volumes at their mount paths, remapped below the pod's directory
        self.mounts = {}
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for m in self.c.get("volumeMounts", []):
            local = os.path.join(self.dir, m["name"])
            os.makedirs(local)
            if "emptyDir" in volumes[m["name"]]:
                self.mounts[m["mountPath"].rstrip("/")] = local
                continue
            vol = volumes[m["name"]]["secret"]
            data = secrets[vol["secretName"]]
            for item in vol.get("items") or [{"key": k, "path": k} for k in data]:
                with open(os.path.join(local, item["path"]), "w") as f:
                    f.write(data[item["key"]])
            self.mounts[m["mountPath"].rstrip("/")] = local
        port_of = {p["containerPort"]: p["name"] for p in self.c.get("ports", [])}
        self.args = []
        for a in self.c.get("args", []):
            a = expand(a, self.env)
            m = re.match(r"^(--[\w-]+=)0\.0\.0\.0:(\d+)$", a)
            if m:
                port = free_port()
                self.ports[port_of.get(int(m.group(2)), m.group(1))] = port
                a = "%s127.0.0.1:%d" % (m.group(1), port)
            for mount, local in self.mounts.items():
                a = a.replace("=" + mount + "/", "=" + local + "/")
            self.args.append(a)
        self.proc = None

    def start(self, binary, extra=()):
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.proc = subprocess.Popen([binary] + self.args + list(extra), env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=self.dir)
        return self

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def probe(self, kind):
        p = self.c[kind]["httpGet"]
        return http_get("http://127.0.0.1:%d%s" % (self.ports[p["port"]], p["path"]))

    def stop(self, timeout=None):
        """SIGTERM (what the kubelet sends) and wait up to the pod's grace period; returns (status, seconds)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        grace = timeout or self.spec.get("terminationGracePeriodSeconds", 30)
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # this process only, by PID
            self.proc.wait(5)
            rc = "killed after the grace period"
        return rc, time.monotonic() - t0

    def close(self):
        self.stop(5)
        self.log.close()


def expand(s, env):
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), s)


class WorkloadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, cls.objs = h.kustomize(h.MANIFESTS)
        cls.secrets = {
            "kong-cluster-gossip": {"key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="},  # 32 bytes
            "kong-cluster-rpc": {"token": "test-rpc-token"},
            "kong-cluster-postgres": {"password": "unused"},
        }

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="kc-workloads-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    @unittest.skipUnless(os.path.exists(AGENT), "build/bin/kong-cluster not built")
    def test_agent_runs_with_the_daemonset_command_line(self):
        ds = h.find(self.objs, "DaemonSet", "kong-cluster-agent")
        pod = Pod(self, ds["spec"]["template"], "agent", "kong-cluster-agent-x7k2p", self.secrets, self.dir)
        self.assertEqual(pod.args[0], "agent")
        pod.start(AGENT)
        self.addCleanup(pod.close)
        wait_until(lambda: pod.probe("readinessProbe")[0] == 200 or pod.proc.poll() is not None, timeout=15,
                   what="the agent's readiness probe")
        self.assertIsNone(pod.proc.poll(), "the agent exited:\n" + pod.output())
        self.assertEqual(pod.probe("livenessProbe")[0], 200)
        status, body = http_get("http://127.0.0.1:%d/metrics" % pod.ports["probe"])
        self.assertEqual(status, 200)
        self.assertRegex(body, r'kong_cluster_members\{status="alive"\} 1')
        # the member carries the downward-API tags and the pod name
        rpc = "127.0.0.1:%d" % pod.ports["rpc"]
        r = subprocess.run([AGENT, "members", "--rpc-addr", rpc, "--format", "serf-json"], env=dict(
            pod.env, KONG_CLUSTER_RPC_AUTH=self.secrets["kong-cluster-rpc"]["token"]), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        members = json.loads(r.stdout)["members"]
        self.assertEqual([(m["name"], m["status"]) for m in members], [(pod.pod_name, "alive")])
        self.assertEqual({k: members[0]["tags"].get(k) for k in ("pod", "namespace", "uid", "node")},
                         {"pod": pod.pod_name, "namespace": "kong-cluster", "uid": "uid-" + pod.pod_name,
                          "node": "worker-1"})
        # the RPC listens beyond loopback in the pod and needs the token from the Secret
        r = subprocess.run([AGENT, "members", "--rpc-addr", rpc], env={"PATH": "/usr/bin:/bin"},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0, "RPC without the token must be refused")
        rc, took = pod.stop()
        self.assertEqual(rc, 0, pod.output())
        leave = int(pod.env["KONG_CLUSTER_LEAVE_TIMEOUT"])
        self.assertLess(took, leave, "graceful leave took %.1fs" % took)
        self.assertLess(leave, ds["spec"]["template"]["spec"]["terminationGracePeriodSeconds"])

    @unittest.skipUnless(os.path.exists(OPERATOR), "build/bin/kong-cluster-operator not built")
    def test_two_operator_replicas_elect_one_leader(self):
        dep = h.find(self.objs, "Deployment", "kong-cluster-operator")
        self.assertEqual(dep["spec"]["replicas"], 2)
        k8s = h.api_server()
        self.addCleanup(k8s.down)
        crd_name = h.crd_info()[0]
        k8s.kubectl("create", "namespace", "kong-cluster")
        k8s.kubectl("apply", "-f", h.CRD)
        k8s.kubectl("wait", "--for=condition=Established", "crd/" + crd_name, "--timeout=20s")
        pods = []
        for i in range(dep["spec"]["replicas"]):
            pod = Pod(self, dep["spec"]["template"], "operator", "kong-cluster-operator-%d" % i, self.secrets,
                      self.dir)
            self.assertTrue(any(a.startswith("--rpc-auth-file=" + pod.dir) for a in pod.args),
                            "--rpc-auth-file must point into the mounted Secret: %s" % pod.args)
            pod.start(OPERATOR, ["--kubeconfig", k8s.kubeconfig])
            self.addCleanup(pod.close)
            pods.append(pod)

        def ready():
            for p in pods:
                if p.proc.poll() is not None:
                    raise AssertionError("operator exited:\n" + p.output())
            return all(p.probe("readinessProbe")[0] == 200 for p in pods)
        wait_until(ready, timeout=20, what="both operator replicas ready")
        for p in pods:
            self.assertEqual(p.probe("livenessProbe")[0], 200)
        lease_name = [a for a in pods[0].args if a.startswith("--lease-name=")][0].split("=", 1)[1]

        def holder():
            r = k8s.kubectl("get", "lease", lease_name, "-n", "kong-cluster", "-o",
                            "jsonpath={.spec.holderIdentity}", check=False)
            return r.stdout if r.returncode == 0 and r.stdout else None
        leader = wait_until(holder, timeout=20, what="a lease holder")
        self.assertIn(leader, [p.pod_name for p in pods])

        def gauges():
            out = []
            for p in pods:
                status, body = http_get("http://127.0.0.1:%d/metrics" % p.ports["metrics"])
                m = re.search(r'leader_election_master_status\{name="%s"\} (\d)' % re.escape(lease_name), body)
                out.append(int(m.group(1)) if status == 200 and m else None)
            return out if sorted(out) == [0, 1] else None
        g = wait_until(gauges, timeout=20, what="leader_election_master_status 1 on one replica, 0 on the other")
        self.assertEqual(pods[g.index(1)].pod_name, leader)
        # the leader goes (a rollout or a drain): it releases the Lease and the other takes over
        lead = pods[g.index(1)]
        rc, _ = lead.stop()
        self.assertEqual(rc, 0, lead.output())
        other = pods[g.index(0)].pod_name
        wait_until(lambda: holder() == other, timeout=30, what="the other replica taking the lease")


if __name__ == "__main__":
    h.main()
