#!/usr/bin/env python3
"""Pods on the node agent's Nodes against a real control plane:
- three Nodes registered with region/zone labels, InternalIP/ExternalIP and renewed Leases;
- a DaemonSet gets one Running, Ready pod per Node (HTTP readiness probe through the pod IP),
  with the downward API, a Secret key and a ConfigMap key in its environment, reachable
  across Nodes (flat network);
- a deleted pod gets SIGTERM, stays Terminating while its container shuts down, and
  disappears only after the container exited; its containers are gone from Docker;
- a container whose liveness probe fails is restarted (restartCount, lastState), and stays up
  once the probe passes again; a container that keeps exiting non-zero is restarted with a
  growing back-off (CrashLoopBackOff, its exit code in lastState) while the pod stays Running;
- a pod's ServiceAccount token (projected, TokenRequest API) works in-cluster for what its
  Role allows and is refused (403) for what it does not.
"""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NS = "nodes-test"


def testpod_container(image, **extra):
    c = {"name": "app", "image": image, "imagePullPolicy": "Never",
         "ports": [{"name": "http", "containerPort": 8080}],
         "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 1},
         "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2}}
    c.update(extra)
    return c


def hostpath_pod(name, grace, host_dir, mount_path, container):
    """A pod of one container with host_dir mounted at mount_path (to pass files in and out)."""
    container = dict(container, volumeMounts=[{"name": "host", "mountPath": mount_path}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"terminationGracePeriodSeconds": grace,
                     "volumes": [{"name": "host", "hostPath": {"path": host_dir, "type": "Directory"}}],
                     "containers": [container]}}


class Pods(h.NodesTestCase):
    NODES, TOPOLOGY, NS = 3, "dc1/dc1-a,dc1/dc1-b,dc2/dc2-a", NS

    def test_nodes_registered_with_topology_and_leases(self):
        nodes = self.c.get("nodes")["items"]
        self.assertEqual(sorted(n["metadata"]["name"] for n in nodes), ["node-1", "node-2", "node-3"])
        zones = {n["metadata"]["name"]: (n["metadata"]["labels"]["topology.kubernetes.io/region"],
                                         n["metadata"]["labels"]["topology.kubernetes.io/zone"]) for n in nodes}
        self.assertEqual(zones, {"node-1": ("dc1", "dc1-a"), "node-2": ("dc1", "dc1-b"), "node-3": ("dc2", "dc2-a")})
        for n in nodes:
            types = {a["type"] for a in n["status"]["addresses"]}
            self.assertTrue({"InternalIP", "ExternalIP"} <= types, n["status"]["addresses"])
            self.assertEqual(h.condition(n, "Ready"), "True")
        lease = self.c.get("lease", "node-1", "-n", "kube-node-lease")
        first = lease["spec"]["renewTime"]
        h.wait_until(lambda: self.c.get("lease", "node-1", "-n", "kube-node-lease")["spec"]["renewTime"] != first,
                     30, "the Lease of node-1 to be renewed")

    def test_daemonset_one_ready_pod_per_node(self):
        self.c.kubectl("create", "secret", "generic", "ds-secret", "-n", NS, "--from-literal=token=s3cret")
        self.c.kubectl("create", "configmap", "ds-config", "-n", NS, "--from-literal=mode=gossip")
        env = [{"name": n, "valueFrom": {"fieldRef": {"fieldPath": p}}} for n, p in
               [("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"), ("POD_UID", "metadata.uid"),
                ("POD_IP", "status.podIP"), ("HOST_IP", "status.hostIP"), ("NODE_NAME", "spec.nodeName"),
                ("SA_NAME", "spec.serviceAccountName")]]
        env += [{"name": "RPC_TOKEN", "valueFrom": {"secretKeyRef": {"name": "ds-secret", "key": "token"}}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "ds-config", "key": "mode"}}},
                {"name": "MEM_LIMIT_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                                            "divisor": "1Mi"}}},
                {"name": "ADVERTISE", "value": "$(POD_IP):7946"}]
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "probe-ds", "namespace": NS},
              "spec": {"selector": {"matchLabels": {"app": "probe-ds"}},
                       "template": {"metadata": {"labels": {"app": "probe-ds"}},
                                    "spec": {"securityContext": {"runAsUser": 10001, "runAsGroup": 10001,
                                                                 "fsGroup": 10001},
                                             "containers": [testpod_container(
                                                 self.image, env=env, resources={"limits": {"memory": "64Mi"}})]}}}}
        t0 = time.monotonic()
        self.c.apply(ds)

        def all_ready():
            pods = self.c.pods(NS, "app=probe-ds")
            return pods if len(pods) == 3 and all(h.running_ready(p) for p in pods) else None
        pods = h.wait_until(all_ready, 120, "3 Running, Ready DaemonSet pods")
        h.log("DaemonSet: 3 pods Ready in %.1fs" % (time.monotonic() - t0))
        self.assertEqual(sorted(p["spec"]["nodeName"] for p in pods), ["node-1", "node-2", "node-3"])
        ds_status = h.wait_until(lambda: (lambda s: s if s.get("numberReady") == 3 else None)(
            self.c.get("daemonset", "probe-ds", "-n", NS)["status"]), 60, "DaemonSet status numberReady=3")
        self.assertEqual(ds_status["desiredNumberScheduled"], 3)
        node_ips = {n["name"]: n["internalIP"] for n in self.c.ready["nodes"]}
        ips = set()
        for p in pods:
            st = p["status"]
            self.assertEqual(st["hostIP"], node_ips[p["spec"]["nodeName"]])
            self.assertEqual(st["podIPs"], [{"ip": st["podIP"]}])
            cs = st["containerStatuses"][0]
            self.assertTrue(cs["ready"] and "running" in cs["state"] and cs["restartCount"] == 0, cs)
            for ctype in ("PodScheduled", "Initialized", "ContainersReady", "Ready"):
                self.assertEqual(h.condition(p, ctype), "True", ctype)
            code, body = h.http_get("http://%s:8080/env" % st["podIP"])
            e = json.loads(body)
            want = {"POD_NAME": p["metadata"]["name"], "POD_NAMESPACE": NS, "POD_UID": p["metadata"]["uid"],
                    "POD_IP": st["podIP"], "HOST_IP": st["hostIP"], "NODE_NAME": p["spec"]["nodeName"],
                    "SA_NAME": "default", "RPC_TOKEN": "s3cret", "MODE": "gossip", "MEM_LIMIT_MI": "64",
                    "ADVERTISE": st["podIP"] + ":7946"}
            self.assertEqual({k: e.get(k) for k in want}, want)
            ips.add(st["podIP"])
        self.assertEqual(len(ips), 3, "one IP per pod")
        # Flat network: every pod reaches every other pod by its pod IP, across Nodes.
        for src in ips:
            for dst in ips - {src}:
                got = json.loads(h.http_get("http://%s:8080/fetch?url=http://%s:8080/healthz" % (src, dst))[1])
                self.assertEqual(got.get("status"), 200, (src, dst, got))

    def test_deleted_pod_gets_sigterm_and_goes_after_exit(self):
        logdir = h.shared_dir("kc-term-")
        term_log = os.path.join(logdir, "term.log")
        pod = hostpath_pod("graceful", 30, logdir, "/log", testpod_container(
            self.image, env=[{"name": "TERM_LOG", "value": "/log/term.log"}, {"name": "TERM_DELAY", "value": "4s"},
                             {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]))
        self.c.apply(pod)
        p = h.wait_until(lambda: (lambda p: p if h.running_ready(p) else None)(self.c.get("pod", "graceful", "-n", NS)),
                         90, "pod graceful Ready")
        uid = p["metadata"]["uid"]
        ids = h.run(["docker", "ps", "-q", "--filter", "label=kong-cluster.nodeagent.pod-uid=" + uid]).stdout.split()
        self.assertEqual(len(ids), 2, "sandbox and app container")
        t0 = time.time()
        self.c.kubectl("delete", "pod", "graceful", "-n", NS, "--wait=false")
        line = h.wait_until(lambda: open(term_log).read() if os.path.exists(term_log) else None, 30,
                            "SIGTERM in the pod")
        self.assertTrue(line.startswith("SIGTERM ") and line.split()[2] == "graceful", line)
        got_term = int(line.split()[1]) / 1e9
        # While the container runs its 4 s shutdown, the pod is Terminating, not gone.
        still = self.c.get("pod", "graceful", "-n", NS)
        self.assertIsNotNone(still["metadata"].get("deletionTimestamp"))
        h.wait_until(lambda: self.c.kubectl("get", "pod", "graceful", "-n", NS, check=False).returncode != 0,
                     60, "pod graceful gone")
        gone = time.time()
        h.log("SIGTERM %.1fs after delete; pod gone %.1fs after SIGTERM" % (got_term - t0, gone - got_term))
        self.assertGreaterEqual(gone - got_term, 4.0, "the pod went before its container finished shutting down")
        self.assertLess(gone - got_term, 25, "the pod waited for the grace period instead of the container's exit")
        left = h.run(["docker", "ps", "-aq", "--filter", "label=kong-cluster.nodeagent.pod-uid=" + uid]).stdout.split()
        self.assertEqual(left, [])

    def app_status(self, name):
        pod = self.c.get("pod", name, "-n", NS)
        return pod, pod["status"].get("containerStatuses", [{}])[0]

    def test_failing_liveness_probe_restarts_the_container(self):
        flagdir = h.shared_dir("kc-live-")
        flag = os.path.join(flagdir, "unhealthy")
        pod = hostpath_pod("liveness", 5, flagdir, "/flag", testpod_container(
            self.image, env=[{"name": "UNHEALTHY_FILE", "value": "/flag/unhealthy"}],
            livenessProbe={"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1, "failureThreshold": 2}))
        self.c.apply(pod)
        h.wait_until(lambda: h.running_ready(self.app_status("liveness")[0]), 90, "pod liveness Ready")
        _, before = self.app_status("liveness")
        self.assertEqual(before["restartCount"], 0)
        started = before["state"]["running"]["startedAt"]
        open(flag, "w").close()
        t0 = time.monotonic()

        def restarted():
            _, cs = self.app_status("liveness")
            return cs if cs.get("restartCount", 0) >= 1 and "terminated" in cs.get("lastState", {}) else None
        cs = h.wait_until(restarted, 60, "the container restarted after its liveness probe failed")
        h.log("liveness: restarted %.1fs after /healthz began to fail" % (time.monotonic() - t0))
        self.assertEqual(cs["lastState"]["terminated"]["startedAt"], started, cs)
        # Healthy again: the next run stays up and becomes Ready, with no further restart.
        os.unlink(flag)

        def ready_again():
            pod, cs = self.app_status("liveness")
            running = cs.get("state", {}).get("running")
            return cs if h.running_ready(pod) and running and running["startedAt"] != started else None
        cs = h.wait_until(ready_again, 90, "the restarted container Ready")
        count = cs["restartCount"]
        # Five probe periods of a healthy container: the count must hold at every look.
        end = time.monotonic() + 5
        while time.monotonic() < end:
            self.assertEqual(self.app_status("liveness")[1]["restartCount"], count, "restarted while healthy")
            time.sleep(0.5)
        self.c.kubectl("delete", "pod", "liveness", "-n", NS, "--wait=false")

    def test_crashing_container_is_restarted_with_backoff(self):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crasher", "namespace": NS},
               "spec": {"restartPolicy": "Always", "terminationGracePeriodSeconds": 5,
                        "containers": [{"name": "app", "image": self.image, "imagePullPolicy": "Never",
                                        "env": [{"name": "EXIT_AFTER", "value": "1s"},
                                                {"name": "EXIT_CODE", "value": "3"}]}]}}
        self.c.apply(pod)
        seen_backoff = []

        def crashed_twice():
            p, cs = self.app_status("crasher")
            waiting = cs.get("state", {}).get("waiting", {})
            if waiting.get("reason") == "CrashLoopBackOff":
                seen_backoff.append(waiting.get("message", ""))
            return (p, cs) if cs.get("restartCount", 0) >= 2 else None
        p, cs = h.wait_until(crashed_twice, 90, "two restarts of a container that exits 3", interval=0.2)
        self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 3, cs)
        self.assertEqual(cs["lastState"]["terminated"]["reason"], "Error", cs)
        self.assertEqual(p["status"]["phase"], "Running", "a restarting pod stays Running")
        self.assertTrue(seen_backoff and "back-off" in seen_backoff[0], seen_backoff)
        self.c.kubectl("delete", "pod", "crasher", "-n", NS, "--wait=false")

    def test_service_account_token_and_rbac(self):
        self.c.kubectl("create", "serviceaccount", "reader", "-n", NS)
        self.c.kubectl("create", "role", "pod-reader", "-n", NS, "--verb=get,list", "--resource=pods")
        self.c.kubectl("create", "rolebinding", "reader-pods", "-n", NS, "--role=pod-reader",
                       "--serviceaccount=%s:reader" % NS)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader", "namespace": NS},
               "spec": {"serviceAccountName": "reader", "securityContext": {"runAsUser": 10001, "runAsGroup": 10001},
                        "containers": [testpod_container(self.image)]}}
        self.c.apply(pod)
        p = h.wait_until(lambda: (lambda p: p if h.running_ready(p) else None)(self.c.get("pod", "reader", "-n", NS)),
                         90, "pod reader Ready")
        base = "http://%s:8080" % p["status"]["podIP"]
        sa = "/var/run/secrets/kubernetes.io/serviceaccount"
        self.assertEqual(h.http_get(base + "/file?path=%s/namespace" % sa)[1], NS)
        self.assertIn("BEGIN CERTIFICATE", h.http_get(base + "/file?path=%s/ca.crt" % sa)[1])

        def api(path):
            return json.loads(h.http_get(base + "/api?path=" + path, timeout=15)[1])
        allowed = api("/api/v1/namespaces/%s/pods" % NS)
        self.assertEqual(allowed.get("status"), 200, allowed)
        self.assertIn("reader", allowed["body"])
        for path in ("/api/v1/namespaces/%s/secrets" % NS, "/api/v1/nodes", "/api/v1/namespaces/kube-system/pods"):
            refused = api(path)
            self.assertEqual(refused.get("status"), 403, (path, refused))
            self.assertIn("system:serviceaccount:%s:reader" % NS, refused["body"])
        # The token came from the TokenRequest API bound to this pod (not a legacy Secret token).
        token = h.http_get(base + "/file?path=%s/token" % sa)[1]
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        bound = claims["kubernetes.io"]
        self.assertEqual((bound["namespace"], bound["pod"]["name"], bound["pod"]["uid"]),
                         (NS, "reader", p["metadata"]["uid"]))
        self.assertEqual(bound["serviceaccount"]["name"], "reader")


if __name__ == "__main__":
    h.main()
