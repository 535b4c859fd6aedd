"""hack/k8s/cluster itself: up/status/down from the command line, restarting only the
apiserver (state survives, controllers reconnect), kubeconfigs for other identities and for
containers, and the reaper bringing everything down after the owner is SIGKILLed."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import unittest

import harness

K = harness.k8scluster
CLI = os.path.join(harness.ROOT, "hack", "k8s", "cluster")
WAIT = harness.CONTROLLER_TIMEOUT


def cli(*args, state=None, check=True):
    env = dict(os.environ)
    if state:
        env["KC_K8S_STATE"] = state
    r = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError("cluster %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def running(records):
    return [n for n, r in records.items() if K.k8sproc.alive(r["pid"], r["start"])]


class ClusterToolTest(unittest.TestCase):
    def test_cli_up_restart_apiserver_and_down(self):
        out = cli("up", "--owner", str(os.getpid())).stdout  # the reaper covers a killed test
        exports = dict(line.split(" ", 1)[1].split("=", 1) for line in out.splitlines())
        state = exports["KC_K8S_STATE"]
        c = K.Cluster.load(state)
        procs = dict(c.state["procs"])
        try:
            self.assertEqual(exports["KUBECONFIG"], c.kubeconfig)
            status = json.loads(cli("status", state=state).stdout)
            self.assertTrue(all(p["running"] for p in status["processes"].values()), status)
            c.kubectl("create", "configmap", "survivor", "--from-literal=k=v")

            old_pid = c.pid("kube-apiserver")
            cli("apiserver", "stop", state=state)
            self.assertFalse(K.k8sproc.alive(old_pid, procs["kube-apiserver"]["start"]))
            self.assertEqual(cli("status", state=state, check=False).returncode, 1)
            self.assertNotEqual(c.kubectl("get", "ns", check=False, timeout=30).returncode, 0)

            cli("apiserver", "start", state=state)
            c = K.Cluster.load(state)
            self.assertNotEqual(c.pid("kube-apiserver"), old_pid)
            got = json.loads(c.kubectl("get", "configmap", "survivor", "-o", "json").stdout)
            self.assertEqual(got["data"], {"k": "v"})
            # The controller-manager reconnected: it makes the ServiceAccount of a new namespace.
            c.kubectl("create", "namespace", "after-restart")
            harness.wait_until(lambda: c.kubectl("get", "serviceaccount", "default", "-n", "after-restart",
                                                 check=False).returncode == 0, WAIT,
                               "the default ServiceAccount after the apiserver restart")
            procs = dict(c.state["procs"])
        finally:
            cli("down", state=state)
        self.assertEqual(running(procs), [])
        self.assertFalse(os.path.exists(state))

    def test_reaper_brings_the_cluster_down_when_its_owner_is_killed(self):
        owner = subprocess.Popen(
            [sys.executable, "-c", "import sys, time; sys.path.insert(0, %r); import k8scluster\n"
             "c = k8scluster.Cluster().up(); print(c.state_dir, flush=True); time.sleep(3600)"
             % os.path.join(harness.ROOT, "hack", "k8s")],
            stdout=subprocess.PIPE, text=True)
        try:
            state = owner.stdout.readline().strip()
            self.assertTrue(state, "the owner did not bring a cluster up")
            procs = dict(K.Cluster.load(state).state["procs"])
            self.assertEqual(sorted(running(procs)), sorted(K.COMPONENTS))
        finally:
            owner.send_signal(signal.SIGKILL)
            owner.wait()
            owner.stdout.close()
        harness.wait_until(lambda: not running(procs), 60, "the reaper to stop every process")
        harness.wait_until(lambda: not os.path.exists(state), 10, "the reaper to remove the state")

    def test_kubeconfig_for_a_node_and_for_containers(self):
        with K.Cluster(log=sys.stdout) as c, tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "node.kubeconfig")
            cli("kubeconfig", "--user", "system:node:n1", "--group", "system:nodes", "--for-containers",
                "-o", path, state=c.state_dir)
            with open(path) as f:
                self.assertIn("server: https://%s:%d" % (c.state["advertise_address"], c.port), f.read())
            # The advertised address is in the serving cert: TLS verification passes there too.
            who = c.kubectl("auth", "whoami", "-o", "json", kubeconfig=path, check=False)
            self.assertEqual(who.returncode, 0, who.stderr)
            info = json.loads(who.stdout)["status"]["userInfo"]
            self.assertEqual(info["username"], "system:node:n1")
            self.assertIn("system:nodes", info["groups"])


if __name__ == "__main__":
    harness.main()
