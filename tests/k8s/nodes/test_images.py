#!/usr/bin/env python3
"""The agent and operator images run (test_images.py --fast: the Dockerfiles' runtime stages
with this tree's binaries; --real: deploy/docker/*.Dockerfile built as users build them):
- the agent image joins a real serf agent (Debian's serf 0.9.4 in a container from the
  debootstrap base) on a Docker network made here, and each side sees the other alive;
- the images run as the non-root user 10001;
- the operator image runs as a pod on the node agent's Nodes with the chart's RBAC, talks to
  the real API server through its in-cluster configuration, and reports healthy: its /readyz
  (caches synced against the API server) makes the pod Ready.
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

MODE = "--real" if "--real" in sys.argv else "--fast"
sys.argv = [a for a in sys.argv if a not in ("--real", "--fast")]
NS = "kong-cluster"
LABEL = "kong-cluster.k8s-test=%d" % os.getpid()


def build_images():
    t0 = time.monotonic()
    out = h.run([os.path.join(h.ROOT, "hack", "images", "build.sh"), MODE], capture_output=False,
                stdout=subprocess.PIPE, stderr=None, timeout=5000).stdout
    images = dict(line.split() for line in out.splitlines() if line.strip())
    h.log("images %s ready in %.1fs: %s" % (MODE, time.monotonic() - t0, images))
    return images


def docker(*args, check=True):
    return h.run(["docker", *args], check=check)


class Images(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.images = build_images()

    def test_images_run_as_non_root(self):
        for name, tag in self.images.items():
            user = docker("image", "inspect", "-f", "{{.Config.User}}", tag).stdout.strip()
            self.assertEqual(user, "10001:10001", name)
            out = docker("run", "--rm", "--label", LABEL, "--entrypoint", "/usr/bin/id", tag, "-u").stdout.strip()
            self.assertEqual(out, "10001", name)

    def test_agent_image_joins_real_serf(self):
        net = "kc-img-%d" % os.getpid()
        docker("network", "create", "--label", LABEL, net)
        try:
            docker("run", "-d", "--name", net + "-serf", "--label", LABEL, "--network", net,
                   "-v", "/usr/bin/serf:/usr/bin/serf:ro", "kong-cluster/debian:bookworm",
                   "serf", "agent", "-node=serf-1", "-bind=0.0.0.0:7946", "-rpc-addr=127.0.0.1:7373")
            serf_ip = docker("inspect", "-f", "{{(index .NetworkSettings.Networks \"%s\").IPAddress}}" % net,
                             net + "-serf").stdout.strip()
            docker("run", "-d", "--name", net + "-agent", "--label", LABEL, "--network", net, self.images["agent"],
                   "agent", "--node=kc-agent-1", "--bind=0.0.0.0:7946", "--http-addr=0.0.0.0:8946",
                   "--join=%s:7946" % serf_ip)

            def serf_sees_agent():
                out = docker("exec", net + "-serf", "serf", "members", "-rpc-addr=127.0.0.1:7373", check=False).stdout
                return out if any(l.split()[0] == "kc-agent-1" and "alive" in l for l in out.splitlines()) else None
            members = h.wait_until(serf_sees_agent, 60, "serf to list kc-agent-1 alive")
            h.log("serf members:\n" + members)

            def agent_sees_serf():
                out = docker("exec", net + "-agent", "kong-cluster", "members", check=False).stdout
                alive = any(l.split()[0] == "serf-1" and "alive" in l for l in out.splitlines() if l.split())
                return out if alive else None
            h.wait_until(agent_sees_serf, 60, "the agent to list serf-1 alive")
        finally:
            for c in (net + "-agent", net + "-serf"):
                docker("rm", "-f", c, check=False)
            docker("network", "rm", net, check=False)

    def test_operator_image_healthy_against_control_plane(self):
        with h.Cluster(nodes=2, topology="dc1/dc1-a,dc2/dc2-a") as c:
            c.kubectl("apply", "-f", os.path.join(h.ROOT, "manifests", "crd"))
            base = os.path.join(h.ROOT, "manifests", "base")
            for f in ("namespace.yaml", "serviceaccounts.yaml", "rbac.yaml"):
                c.kubectl("apply", "-f", os.path.join(base, f))
            c.kubectl("create", "secret", "generic", "rpc-token", "-n", NS, "--from-literal=token=t0ken")
            op = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "operator", "namespace": NS},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "operator"}},
                           "template": {"metadata": {"labels": {"app": "operator"}}, "spec": {
                               "serviceAccountName": "kong-cluster-operator",
                               "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                                   "fsGroup": 10001},
                               "containers": [{
                                   "name": "operator", "image": self.images["operator"], "imagePullPolicy": "Never",
                                   "args": ["--namespace=$(POD_NAMESPACE)",
                                            "--selector=app.kubernetes.io/component=agent",
                                            "--rpc-auth-file=/etc/kong-cluster/rpc/token", "--health-addr=0.0.0.0:8081",
                                            "--metrics-addr=0.0.0.0:8080"],
                                   "env": [{"name": "POD_NAMESPACE",
                                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
                                   "ports": [{"name": "metrics", "containerPort": 8080}, {"name": "health",
                                                                                          "containerPort": 8081}],
                                   "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"},
                                                      "periodSeconds": 2},
                                   "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"},
                                                     "periodSeconds": 5},
                                   "securityContext": {"allowPrivilegeEscalation": False,
                                                       "readOnlyRootFilesystem": True},
                                   "volumeMounts": [{"name": "rpc", "mountPath": "/etc/kong-cluster/rpc",
                                                     "readOnly": True}]}],
                               "volumes": [{"name": "rpc", "secret": {"secretName": "rpc-token"}}]}}}}
            t0 = time.monotonic()
            c.apply(op)
            try:
                pod = h.wait_until(lambda: next((p for p in c.pods(NS, "app=operator") if h.running_ready(p)), None),
                                   120, "the operator pod Ready")
            except AssertionError:
                print(c.kubectl("logs", "-n", NS, "-l", "app=operator", "--tail=50", check=False).stdout)
                print(c.agent_output())
                raise
            h.log("operator pod Ready in %.1fs" % (time.monotonic() - t0))
            ip = pod["status"]["podIP"]
            self.assertEqual(h.http_get("http://%s:8081/readyz" % ip)[1].strip(), "ok")
            self.assertEqual(pod["status"]["containerStatuses"][0]["restartCount"], 0)


if __name__ == "__main__":
    h.main()
