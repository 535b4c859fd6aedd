#!/usr/bin/env python3
"""The agent and operator images, assembled from deploy/docker/*.Dockerfile around this build
tree's binaries (hack/images/build.sh --build-dir KC_BUILD_DIR):
- carry the tested binaries: each binary in an image is the `objcopy --strip-all` copy of the
  one in KC_BUILD_DIR/bin (same bytes, same GNU build id), and the image's labels record that
  binary's sha256 and build id;
- run as the non-root user 10001;
- the agent image joins a real serf agent (Debian's serf 0.9.4 in a container from the
  debootstrap base) on a Docker network made here, and each side sees the other alive;
- on the node agent's Nodes against the real control plane, with the chart's ServiceAccounts
  and RBAC: an agent DaemonSet gets one Ready pod per Node (the chart's container: args,
  downward-API env, probes, non-root, read-only root), the agents join each other (every
  pod's /metrics, at its pod IP, counts all of them alive) and read their Node's zone through
  their in-cluster configuration; the operator Deployment's pod becomes Ready through its
  /readyz (informer caches synced against the API server).
"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NS = "kong-cluster"
AGENT_LABELS = {"app.kubernetes.io/name": "kong-cluster", "app.kubernetes.io/instance": "kong-cluster",
                "app.kubernetes.io/component": "agent"}
AGENT_SELECTOR = ",".join("%s=%s" % kv for kv in AGENT_LABELS.items())
NODES = 3
LABEL = "kong-cluster.k8s-test=%d" % os.getpid()
BUILD_DIR = os.path.abspath(os.environ.get("KC_BUILD_DIR") or os.path.join(h.ROOT, "build"))
BINARIES = {"agent": ["kong-cluster"], "operator": ["kong-cluster-operator", "kong-cluster"]}


def build_images():
    t0 = time.monotonic()
    out = h.run([os.path.join(h.ROOT, "hack", "images", "build.sh"), "--build-dir", BUILD_DIR],
                capture_output=False, stdout=subprocess.PIPE, stderr=None, timeout=5000).stdout
    images = dict(line.split() for line in out.splitlines() if line.strip())
    h.log("images ready in %.1fs: %s" % (time.monotonic() - t0, images))
    return images


def docker(*args, check=True):
    return h.run(["docker", *args], check=check)


class Images(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.images = build_images()

    def test_images_carry_the_tested_binaries(self):
        for name, tag in self.images.items():
            labels = json.loads(docker("image", "inspect", "-f", "{{json .Config.Labels}}", tag).stdout)
            for binary in BINARIES[name]:
                tested = os.path.join(BUILD_DIR, "bin", binary)
                with tempfile.TemporaryDirectory() as tmp:
                    shipped = os.path.join(tmp, "shipped")
                    copy_from_image(tag, "/usr/local/bin/" + binary, shipped)
                    stripped = os.path.join(tmp, "stripped")
                    h.run(["objcopy", "--strip-all", tested, stripped])
                    self.assertEqual(file_sha256(shipped), file_sha256(stripped),
                                     "%s in %s is not the strip-all copy of %s" % (binary, tag, tested))
                    self.assertEqual(build_id(shipped), build_id(tested))
                self.assertEqual(labels.get("kong-cluster.sha256." + binary), file_sha256(tested), tag)
                self.assertEqual(labels.get("kong-cluster.build-id." + binary), build_id(tested), tag)
        h.log("every image carries the strip-all copy of the tested binaries of %s/bin" % BUILD_DIR)

    def test_images_run_as_non_root(self):
        for name, tag in self.images.items():
            user = docker("image", "inspect", "-f", "{{.Config.User}}", tag).stdout.strip()
            self.assertEqual(user, "10001:10001", name)
            out = docker("run", "--rm", "--label", LABEL, "--entrypoint", "/bin/id", tag, "-u").stdout.strip()
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
                rows = [line.split() for line in out.splitlines() if line.split()]
                return out if any(r[0] == "serf-1" and "alive" in r for r in rows) else None
            h.wait_until(agent_sees_serf, 60, "the agent to list serf-1 alive")
        finally:
            for c in (net + "-agent", net + "-serf"):
                docker("rm", "-f", c, check=False)
            docker("network", "rm", net, check=False)

    def test_agent_daemonset_and_operator_on_nodes(self):
        with h.Cluster(nodes=NODES, topology="dc1/dc1-a,dc1/dc1-b,dc2/dc2-a") as c:
            c.kubectl("apply", "-f", os.path.join(h.ROOT, "manifests", "crd", "clusternodes.yaml"))
            for f in ("namespace.yaml", "serviceaccounts.yaml", "rbac.yaml"):
                c.kubectl("apply", "-f", os.path.join(BASE, f))
            c.kubectl("create", "secret", "generic", "kong-cluster-rpc", "-n", NS, "--from-literal=token=t0ken")
            c.kubectl("create", "secret", "generic", "kong-cluster-gossip", "-n", NS,
                      "--from-literal=key=" + base64.b64encode(os.urandom(32)).decode())
            node_ips = [n["internalIP"] for n in c.ready["nodes"]]
            t0 = time.monotonic()
            c.apply(agent_daemonset(self.images["agent"], node_ips))
            c.apply(operator_deployment(self.images["operator"]))
            try:
                pods = h.wait_until(lambda: ready_pods(c, AGENT_SELECTOR, NODES), 180,
                                    "an agent pod Ready on every Node")
                h.log("agent DaemonSet Ready on %d Nodes in %.1fs" % (NODES, time.monotonic() - t0))
                self.assertEqual(sorted(p["spec"]["nodeName"] for p in pods),
                                 sorted(n["name"] for n in c.ready["nodes"]))
                for p in pods:
                    url = "http://%s:8947/metrics" % p["status"]["podIP"]
                    h.wait_until(lambda: alive_members(url) == NODES, 60, "%s to count %d members alive" % (url, NODES))
                    self.assertEqual(p["status"]["containerStatuses"][0]["restartCount"], 0)
                h.log("every agent counts %d alive members %.1fs after the apply" % (NODES, time.monotonic() - t0))
                op = h.wait_until(lambda: ready_pods(c, OPERATOR_SELECTOR, 1), 120, "the operator pod Ready")
                h.log("operator pod Ready %.1fs after the apply" % (time.monotonic() - t0))
                self.assertEqual(h.http_get("http://%s:8081/readyz" % op[0]["status"]["podIP"])[1].strip(), "ok")
                self.assertEqual(op[0]["status"]["containerStatuses"][0]["restartCount"], 0)
            except AssertionError:
                print(c.kubectl("get", "pods", "-n", NS, "-o", "wide", check=False).stdout)
                print(c.agent_output())
                raise


def copy_from_image(tag, path, dest):
    """`docker cp` out of a created (never started) container of the image."""
    container = docker("create", "--label", LABEL, tag).stdout.strip()
    try:
        docker("cp", "%s:%s" % (container, path), dest)
    finally:
        docker("rm", "-f", container, check=False)


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_id(path):
    """The GNU build id (readelf -n), which objcopy --strip-all keeps."""
    m = re.search(r"Build ID:\s*([0-9a-f]+)", h.run(["readelf", "-n", path]).stdout)
    assert m, "%s has no GNU build id" % path
    return m.group(1)


BASE = os.path.join(h.ROOT, "manifests", "base")
OPERATOR_SELECTOR = "app.kubernetes.io/component=operator"


def load_manifest(name):
    with open(os.path.join(BASE, name)) as f:
        return yaml.safe_load(f)


def without_datastore(container):
    """No Postgres runs in this test: the agents and the operator go without the datastore."""
    container["env"] = [e for e in container["env"] if not e["name"].startswith("KONG_PG_")]


def agent_daemonset(image, node_ips):
    """manifests/base's agent DaemonSet (the chart rendered) with this image. The pods take their
    Node's network (hostNetwork), so the Nodes' addresses are the seeds every agent joins."""
    ds = load_manifest("agent-daemonset.yaml")
    spec = ds["spec"]["template"]["spec"]
    spec["hostNetwork"] = True
    agent = spec["containers"][0]
    agent["image"], agent["imagePullPolicy"] = image, "Never"
    without_datastore(agent)
    agent["env"].append({"name": "KONG_CLUSTER_JOIN", "value": ",".join("%s:7946" % ip for ip in node_ips)})
    return ds


def operator_deployment(image):
    op = load_manifest("operator-deployment.yaml")
    op["spec"]["replicas"] = 1
    container = op["spec"]["template"]["spec"]["containers"][0]
    container["image"], container["imagePullPolicy"] = image, "Never"
    without_datastore(container)
    return op


def ready_pods(c, selector, want):
    pods = [p for p in c.pods(NS, selector) if h.running_ready(p)]
    return pods if len(pods) == want else None


def alive_members(url):
    """kong_cluster_members{status="alive"} of an agent's /metrics."""
    _, text = h.http_get(url)
    for line in text.splitlines():
        if line.startswith('kong_cluster_members{status="alive"}'):
            return int(float(line.split()[-1]))
    return None


if __name__ == "__main__":
    h.main()
