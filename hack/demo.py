#!/usr/bin/env python3
"""kong-cluster local demo: the whole picture on one machine.

It starts a real Postgres 15 in a temporary directory, hack/kube-sim (a Kubernetes API
simulator), applies the ClusterNode CRD, the namespace and the Services from manifests/ with
the real kubectl, creates simulated Nodes (topology.kubernetes.io/region and zone labels) and
agent Pods backed by real `kong-cluster agent` processes (downward-API environment, container
ports gossip/rpc/http), two `kong-cluster-operator` replicas with Lease leader election (also
as pods), and a real Debian `serf` agent outside Kubernetes.

Two modes. As root, when network namespaces work (default; --netns insists): a hack/netns
(kcnetns) "lan" topology, one bridge and a namespace per machine. h01 is the control plane:
the demo re-executes itself there (--inside-netns), so Postgres, kube-sim, kubectl and the
demo's own calls run in h01 and listen on its address 10.1.0.11; every simulated Node is a
host namespace h02.. whose eth0 address is the Node's and its agent pod's IP (the manifests'
ports 7946/7373/8946); an operator replica runs on the Node it is scheduled to with its own
pod IP (10.1.0.101, .102, an extra address on that host's eth0); serf runs on one more host.
Otherwise (not root, namespaces unavailable, or --loopback): everything on loopback, each pod
on its own 127.0.x.y with free ports. The demo plays the kubelet: a pod deleted through the API gets
SIGTERM on its process, and the pod object goes away when the process has exited.

Then it shows what a user looks at: kubectl get nodes/pods/lease/clusternodes, `kong-cluster
members`, `serf members`, the `nodes` table, a user event reaching every agent's event
handler, `kubectl delete pod` cleaned up by the operator (timed), a crashed agent's pod
force-deleted (timed), and a leader handover. Everything it starts is stopped by PID at the
end, after --duration seconds, or on Ctrl-C (in namespace mode the processes started inside
namespaces too, then the namespaces). Run it through hack/demo.sh, which builds first."""

import argparse
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_BIN = "/usr/lib/postgresql/15/bin"
NS = "kong-cluster"
APP_LABELS = {"app.kubernetes.io/name": "kong-cluster", "app.kubernetes.io/instance": "kong-cluster",
              "app.kubernetes.io/part-of": "kong-cluster"}
AGENT_SELECTOR = ("app.kubernetes.io/name=kong-cluster,app.kubernetes.io/instance=kong-cluster,"
                  "app.kubernetes.io/component=agent")
CN_PATH = "/apis/kongcluster.dev/v1alpha1/namespaces/%s/clusternodes" % NS
NETNS_DIR = os.path.join(ROOT, "hack", "netns")
# Namespace mode: every pod has its own address, so the ports are the manifests' (manifests/base).
AGENT_PORTS = {"gossip": 7946, "rpc": 7373, "http": 8946, "probe": 8947}
OPERATOR_PORTS = {"metrics": 8080, "health": 8081}
KUBE_SIM_PORT, PG_PORT = 6443, 5432

started = []  # (name, Popen), stopped in reverse order by PID
bold = sys.stdout.isatty()


# ------------------------------------------------------------------ small helpers

def say(title):
    line = "== %s " % title
    line += "=" * max(3, 78 - len(line))
    print("\n" + ("\033[1m%s\033[0m" % line if bold else line), flush=True)


def note(text):
    print("   " + text, flush=True)


def show_cmd(cmd, output):
    print("$ " + cmd)
    out = output.rstrip()
    if out:
        print(out)
    sys.stdout.flush()


def wait_for(what, check, timeout=30.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - a check that cannot tell yet is "not yet"
            pass
        time.sleep(step)
    note("(gave up waiting for %s after %.0fs)" % (what, timeout))
    return False


def free_port(*ips):
    """A port free for TCP and UDP on every one of `ips` (bind to port 0 on the first)."""
    ips = ips or ("127.0.0.1",)
    for _ in range(200):
        socks = []
        try:
            t = socket.socket()
            socks.append(t)
            t.bind((ips[0], 0))
            port = t.getsockname()[1]
            for ip in ips:
                if ip != ips[0]:
                    s = socket.socket()
                    socks.append(s)
                    s.bind((ip, port))
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(u)
                u.bind((ip, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port on %s" % (ips,))


def suffix(n=5):
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def ip_tool():
    return shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.path.exists(p)), "ip")


def start(name, argv, log_dir, env=None, user=None, netns=None):
    """Starts argv in its own session (in network namespace `netns` through `ip netns exec`, which
    execs it: the PID is argv's), output to <log_dir>/<name>.log; stopped by PID in stop_all()."""
    if netns:
        argv = [ip_tool(), "netns", "exec", netns] + list(argv)
    log = open(os.path.join(log_dir, name + ".log"), "w")
    pw = pwd.getpwnam(user) if user else None

    def preexec():
        os.setsid()  # Ctrl-C reaches the demo only; the demo stops its children by PID
        if pw:
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env={**os.environ, **(env or {})}, preexec_fn=preexec, cwd=log_dir)
    log.close()
    started.append((name, p))
    return p


def stop_all():
    """Operators first (so nothing is pruned during the teardown), then the rest, by PID."""
    order = sorted(reversed(started), key=lambda np: 0 if np[0].startswith("operator") else 1)
    for name, p in order:
        if p.poll() is not None:
            continue
        if name == "postgres":
            p.send_signal(signal.SIGINT)  # fast shutdown
        elif name.startswith(("operator", "kube-sim")):
            p.terminate()
        else:
            p.kill()  # agents: no graceful leave needed, the whole cluster goes
        if name.startswith("operator"):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
    for name, p in order:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def http_json(url, method="GET", body=None, timeout=5, headers=None):
    """(status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, None
    except (OSError, ValueError):
        return 0, None


def http_text(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except (OSError, ValueError):
        return ""


def metric(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


# ------------------------------------------------------------------ Postgres

class Postgres:
    def __init__(self, work, host="127.0.0.1", allow_net=None):
        """Listens on `host`; `allow_net` (a CIDR) is let in besides loopback (namespace mode)."""
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        self.host = host
        self.port = free_port() if host.startswith("127.") else PG_PORT
        self.user = "postgres" if os.getuid() == 0 else None  # postgres refuses to run as root
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(work, 0o755)
        self.run([f"{PG_BIN}/initdb", "-D", self.dir + "/data", "--auth=trust", "--no-sync",
                  "-E", "UTF8", "-U", "postgres"])
        if allow_net:
            with open(self.dir + "/data/pg_hba.conf", "a") as f:
                f.write("host all all %s trust\n" % allow_net)
        self.proc = start("postgres", [f"{PG_BIN}/postgres", "-D", self.dir + "/data", "-p", str(self.port),
                                       "-k", self.dir, "-h", host, "-c", "fsync=off"],
                          work, user=self.user)
        wait_for("postgres", lambda: self.psql("SELECT 1", check=False) is not None)
        self.psql("CREATE ROLE kong LOGIN")
        self.psql("CREATE DATABASE kong OWNER kong")

    def run(self, argv):
        pw = pwd.getpwnam(self.user) if self.user else None

        def pre():
            os.setsid()  # a process group of its own: initdb runs postgres processes of its own
            if pw:
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pre)
        try:
            if p.wait() != 0:
                raise subprocess.CalledProcessError(p.returncode, argv)
        except BaseException:  # Ctrl-C meanwhile: no orphaned postgres --single left behind
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            raise

    def psql(self, sql, db="postgres", user="postgres", check=True, table=False):
        argv = ["psql", "-h", self.host, "-p", str(self.port), "-U", user, "-d", db, "-c", sql]
        if not table:
            argv.insert(-2, "-At")
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode != 0:
            if check:
                raise RuntimeError(r.stderr)
            return None
        return r.stdout

    def rows(self):
        out = self.psql("SELECT name FROM nodes", db="kong", user="kong", check=False)
        return None if out is None else set(out.split())


# ------------------------------------------------------------------ kube-sim and kubectl

class KubeSim:
    def __init__(self, work, use_kubectl=True, listen="127.0.0.1:0"):
        self.work = work
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.cache = os.path.join(work, "kubectl-cache")
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        # --pod-stop-seconds is long: the demo's kubelet removes a deleted pod once its process
        # has exited, as a real kubelet does.
        self.proc = start("kube-sim", [python, os.path.join(ROOT, "hack", "kube-sim"), "--listen",
                                       listen, "--write-kubeconfig", self.kubeconfig,
                                       "--pod-stop-seconds", "120"], work)
        self.url = None
        log = os.path.join(work, "kube-sim.log")

        def url():
            with open(log) as f:
                first = f.readline()
            if first.startswith("http") and first.endswith("\n"):
                self.url = first.strip()
            return self.url
        if not wait_for("kube-sim", url, timeout=20):
            raise RuntimeError("kube-sim did not start; see " + log)
        self.kubectl_bin = (shutil.which("kubectl") or (
            "/usr/local/bin/kubectl" if os.path.exists("/usr/local/bin/kubectl") else None)) if use_kubectl else None

    def api(self, method, path, body=None):
        return http_json(self.url + path, method, body)

    def sim(self, path, body=None, method="POST"):
        code, obj = self.api(method, "/_sim" + path, body)
        if code >= 300 or code == 0:
            raise RuntimeError("kube-sim %s %s: %s %s" % (method, path, code, obj))
        return obj

    def kubectl(self, *args, timeout=60):
        r = subprocess.run([self.kubectl_bin, "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache,
                            *args], capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def show(self, *args, fallback=None):
        """Runs and prints `kubectl ARGS`; without kubectl, prints the server's Table for `fallback`."""
        if self.kubectl_bin:
            _, out = self.kubectl(*args)
            show_cmd("kubectl " + " ".join(args), out)
            return out
        if fallback:
            out = self.table(fallback, wide="wide" in args)
            show_cmd("GET %s   (the server's Table; no kubectl)" % fallback, out)
            return out
        return ""

    def table(self, path, wide=False):
        code, t = http_json(self.url + path, headers={
            "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
        if code != 200 or not t:
            return "(%s: HTTP %s)" % (path, code)
        cols = [(i, c["name"].upper()) for i, c in enumerate(t.get("columnDefinitions", []))
                if wide or c.get("priority", 0) == 0]
        rows = [[c[1] for c in cols]] + [[str(r["cells"][i]) for i, _ in cols] for r in t.get("rows", [])]
        widths = [max(len(r[k]) for r in rows) for k in range(len(cols))]
        return "\n".join("   ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows)

    def apply(self, *files):
        if self.kubectl_bin:
            args = ["apply", "--server-side"] + [x for f in files for x in ("-f", f)]
            code, out = self.kubectl(*args)
            show_cmd("kubectl " + " ".join(a.replace(ROOT + "/", "") for a in args), out)
            if code != 0:
                raise RuntimeError("kubectl apply failed")
            return
        import yaml  # python3-yaml, installed by hack/deps.sh
        note("no kubectl (not installed, or --no-kubectl): creating the objects with plain HTTP POSTs")
        for f in files:
            with open(f) as fh:
                for obj in yaml.safe_load_all(fh):
                    if not obj:
                        continue
                    kind, ns = obj["kind"], obj["metadata"].get("namespace")
                    path = {"CustomResourceDefinition": "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                            "Namespace": "/api/v1/namespaces"}.get(kind) or \
                        "/api/v1/namespaces/%s/%ss" % (ns, kind.lower())
                    code, _ = self.api("POST", path, obj)
                    note("POST %s %s: %s" % (kind, obj["metadata"]["name"], code))
        if any("clusternodes" in f for f in files):
            wait_for("the CRD to be served", lambda: self.api("GET", CN_PATH)[0] == 200, timeout=10)

    def pods(self):
        code, lst = self.api("GET", "/api/v1/namespaces/%s/pods" % NS)
        return {p["metadata"]["name"]: p for p in (lst or {}).get("items", [])} if code == 200 else None

    def lease_holder(self):
        code, obj = self.api("GET", "/apis/coordination.k8s.io/v1/namespaces/%s/leases/kong-cluster-operator" % NS)
        return (obj or {}).get("spec", {}).get("holderIdentity", "") if code == 200 else ""

    def clusternode_exists(self, name):
        return self.api("GET", "%s/%s" % (CN_PATH, name))[0] == 200

    def clusternodes(self):
        code, lst = self.api("GET", CN_PATH)
        return {o["metadata"]["name"]: o.get("status", {}) for o in (lst or {}).get("items", [])} if code == 200 else {}


class Pod:
    """A simulated pod: the object in kube-sim and the process that plays its container."""

    def __init__(self, name, ip, node, ports, proc=None, kind="agent"):
        self.name, self.ip, self.node, self.ports, self.proc, self.kind = name, ip, node, ports, proc, kind
        self.uid = ""

    def addr(self, port_name):
        return "%s:%d" % (self.ip, self.ports[port_name])

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Kubelet(threading.Thread):
    """Plays the kubelet for the pods the demo runs: a pod marked for deletion gets SIGTERM on its
    process; once the process has exited the pod object is removed (as the kubelet confirms a
    graceful deletion); a pod that disappears at once (force delete) has its process killed."""

    def __init__(self, sim, pods):
        super().__init__(daemon=True)
        self.sim, self.pods, self.stop = sim, pods, threading.Event()
        self.events = []  # (monotonic time, pod, what)
        self.lock = threading.Lock()
        self.terminating = set()

    def log(self, pod, what):
        with self.lock:
            self.events.append((time.monotonic(), pod, what))

    def run(self):
        while not self.stop.wait(0.05):
            objs = self.sim.pods()
            if objs is None:
                continue
            for pod in list(self.pods.values()):
                obj = objs.get(pod.name)
                if pod.proc is None:
                    continue
                if obj is None or obj["metadata"].get("uid") != pod.uid:
                    if pod.running():
                        pod.proc.kill()
                        self.log(pod.name, "pod object gone: kubelet kills the process (SIGKILL)")
                    continue
                if obj["metadata"].get("deletionTimestamp"):
                    if pod.running() and pod.name not in self.terminating:
                        self.terminating.add(pod.name)
                        pod.proc.terminate()
                        self.log(pod.name, "kubelet: deletionTimestamp set, SIGTERM to pid %d" % pod.proc.pid)
                    elif not pod.running():
                        try:
                            self.sim.sim("/namespaces/%s/pods/%s/delete" % (NS, pod.name), {"immediate": True})
                            self.log(pod.name, "kubelet: process exited (status %s), pod object removed"
                                     % pod.proc.returncode)
                        except RuntimeError:
                            pass


# ------------------------------------------------------------------ the demo

class Demo:
    def __init__(self, args, work, topo=None):
        self.args, self.work = args, work
        # Namespace mode: the kcnetns topology (h01 = this process's host, the control plane;
        # h02.. = the Nodes; the next one serf's machine). None on loopback.
        self.topo = topo
        self.mode = "netns" if topo else "loopback"
        self.control_ip = topo.host("h01").node_ip if topo else "127.0.0.1"
        self.workers = [topo.host("h%02d" % (i + 2)) for i in range(args.agents)] if topo else []
        self.bin = os.path.abspath(args.bin_dir)
        self.kc_bin = os.path.join(self.bin, "kong-cluster")
        self.net = "127.0.%d" % random.randint(64, 250)  # each pod gets its own 127.0.x.y
        self.token = "demo-" + suffix(12)
        self.pods = {}  # name -> Pod (agents and operators)
        self.agents, self.operators = [], []
        self.serf = None
        self.pg = None
        self.results = {}

    # -- helpers that read each side's state

    def kc(self, *args, rpc=None):
        env = dict(os.environ, KONG_CLUSTER_RPC_AUTH=self.token)
        r = subprocess.run([self.kc_bin, *args] + (["--rpc-addr", rpc] if rpc else []),
                           capture_output=True, text=True, env=env, timeout=20)
        return r.stdout + r.stderr

    def members(self, pod):
        """name -> status as `pod`'s agent sees the cluster (its HTTP /v1/members), None if it does not answer."""
        # The member list is behind the agents' RPC token (docs/security.md).
        code, body = http_json("http://%s/v1/members" % pod.addr("http"), timeout=2,
                               headers={"Authorization": "Bearer " + self.token})
        if code != 200:
            return None
        return {m["name"]: m["status"] for m in body.get("members", [])}

    def live_agents(self):
        return [a for a in self.agents if a.running()]

    def everyone_sees(self, pred):
        for a in self.live_agents():
            ms = self.members(a)
            if ms is None or not pred(ms):
                return False
        return True

    def handler_lines(self):
        try:
            with open(self.events_log) as f:
                return [l.rstrip("\n") for l in f if l.strip()]
        except FileNotFoundError:
            return []

    # -- set-up

    def setup(self):
        a = self.args
        if os.path.exists(f"{PG_BIN}/postgres"):
            say("Postgres 15 in %s/pg" % self.work)
            if self.topo:
                self.pg = Postgres(self.work, host=self.control_ip, allow_net="10.1.0.0/24")
                note("listening on %s:%d (h01, the control plane; pg_hba lets 10.1.0.0/24 in), database kong "
                     "(user kong)" % (self.pg.host, self.pg.port))
            else:
                self.pg = Postgres(self.work)
                note("listening on 127.0.0.1:%d, database kong (user kong)" % self.pg.port)
        else:
            note("PostgreSQL 15 is not installed (hack/deps.sh installs it): agents join by address")

        say("kube-sim: a Kubernetes API server simulator")
        self.sim = KubeSim(self.work, use_kubectl=not a.no_kubectl,
                           listen="%s:%d" % (self.control_ip, KUBE_SIM_PORT) if self.topo else "127.0.0.1:0")
        note("%s   (export KUBECONFIG=%s)" % (self.sim.url, self.sim.kubeconfig))
        self.sim.apply(os.path.join(ROOT, "manifests/crd/clusternodes.yaml"),
                       os.path.join(ROOT, "manifests/base/namespace.yaml"),
                       os.path.join(ROOT, "manifests/base/services.yaml"))
        if self.sim.kubectl_bin:
            self.sim.kubectl("wait", "--for=condition=Established", "crd/clusternodes.kongcluster.dev",
                             "--timeout=20s")

        say("Nodes (simulated) with topology labels")
        self.nodes = []
        for i in range(a.agents):
            name = "worker-%d" % (i + 1)
            zone = "dc1-%s" % "abc"[i % 3 if a.agents > 4 else i % 2]
            node_ip = self.workers[i].node_ip if self.topo else "%s.%d" % (self.net, 200 + i)
            self.sim.sim("/nodes", {"name": name, "internalIP": node_ip,
                                    "labels": {"topology.kubernetes.io/region": "dc1",
                                               "topology.kubernetes.io/zone": zone}})
            self.nodes.append((name, "dc1", zone))
        if self.topo:
            note("each Node is a network namespace on the bridge: " + ", ".join(
                "%s = %s (%s)" % (n, h.ns, h.node_ip) for (n, _, _), h in zip(self.nodes, self.workers)))
        self.sim.show("get", "nodes", "-L", "topology.kubernetes.io/region,topology.kubernetes.io/zone",
                      fallback="/api/v1/nodes")

        self.start_agents()
        self.start_operators()
        if not a.no_serf:
            self.start_serf()
        self.kubelet = Kubelet(self.sim, self.pods)
        self.kubelet.start()

    def start_agents(self):
        a = self.args
        if self.topo:
            say("%d agent pods, each a real kong-cluster agent in its Node's network namespace" % a.agents)
        else:
            say("%d agent pods, each a real kong-cluster agent on its own 127.0.x.y" % a.agents)
        self.gossip_key = self.kc("keygen").strip()
        self.events_log = os.path.join(self.work, "handler-events.log")
        self.handler = os.path.join(self.work, "on-event.sh")
        with open(self.handler, "w") as f:
            f.write('#!/bin/sh\n# Event handler: what a Kong node would run on a cache-invalidation event.\n'
                    'payload=$(cat)\n'
                    'echo "$SERF_SELF_NAME got $SERF_EVENT event $SERF_USER_EVENT: $payload" >> %s\n'
                    % self.events_log)
        os.chmod(self.handler, 0o755)
        for i, (node, dc, zone) in enumerate(self.nodes):
            name = "kong-cluster-agent-" + suffix()
            if self.topo:  # the pod's IP is its host namespace's eth0 address; a fresh namespace has every port free
                host = self.workers[i]
                ip, ports, netns = host.node_ip, dict(AGENT_PORTS), host.ns
            else:
                ip, netns = "%s.%d" % (self.net, i + 1), None
                ports = {"gossip": free_port(ip), "rpc": free_port(ip), "http": free_port(ip),
                         "probe": free_port(ip)}
            obj = self.sim.sim("/pods", {
                "name": name, "namespace": NS, "node": node, "podIP": ip, "image": "kong-cluster/agent:0.1.0",
                "container": "agent", "terminationGracePeriodSeconds": 30,
                "labels": dict(APP_LABELS, **{"app.kubernetes.io/component": "agent"}),
                "ports": [{"name": "gossip-tcp", "containerPort": ports["gossip"], "protocol": "TCP"},
                          {"name": "gossip-udp", "containerPort": ports["gossip"], "protocol": "UDP"},
                          {"name": "rpc", "containerPort": ports["rpc"], "protocol": "TCP"},
                          {"name": "http", "containerPort": ports["http"], "protocol": "TCP"},
                          {"name": "probe", "containerPort": ports["probe"], "protocol": "TCP"}]})
            obj = obj.get("object", obj)
            pod = Pod(name, ip, node, ports)
            pod.uid = obj["metadata"]["uid"]
            # The DaemonSet's command line and downward-API environment (manifests/base), with this
            # pod's addresses. The agent reads its Node ($NODE_NAME, through kube-sim) for the
            # dc/zone tags, as in a real cluster.
            argv = [self.kc_bin, "agent", "--bind=%s" % pod.addr("gossip"), "--rpc-addr=%s" % pod.addr("rpc"),
                    "--http-addr=%s" % pod.addr("http"), "--advertise-mode=pod",
                    "--probe-addr=%s" % pod.addr("probe"),
                    "--kubeconfig", self.sim.kubeconfig, "--event-handler", "user:invalidate=" + self.handler]
            env = {"POD_NAME": name, "POD_NAMESPACE": NS, "POD_UID": pod.uid, "POD_IP": ip,
                   "HOST_IP": obj["status"]["hostIP"], "NODE_NAME": node, "KONG_CLUSTER_PROFILE": "lan",
                   "KONG_CLUSTER_LEAVE_TIMEOUT": "15", "KONG_CLUSTER_ENCRYPT_KEY": self.gossip_key,
                   "KONG_CLUSTER_RPC_AUTH": self.token}
            if self.pg:
                env.update({"KONG_PG_HOST": self.pg.host, "KONG_PG_PORT": str(self.pg.port),
                            "KONG_PG_USER": "kong", "KONG_PG_DATABASE": "kong"})
            elif self.agents:
                argv += ["--join", self.agents[0].addr("gossip")]
            pod.proc = start(name, argv, self.work, env=env, netns=netns)
            self.agents.append(pod)
            self.pods[name] = pod
            note("%s on %s (%s): pod IP %s, gossip :%d, rpc :%d, http :%d, pid %d%s" % (
                name, node, zone, ip, ports["gossip"], ports["rpc"], ports["http"], pod.proc.pid,
                ", netns " + netns if netns else ""))
        note("each agent is given only the datastore (no seeds): they find each other in the nodes table")
        t0 = time.monotonic()
        n = len(self.agents)
        ok = wait_for("convergence", lambda: self.everyone_sees(
            lambda ms: sum(s == "alive" for s in ms.values()) == n), timeout=40)
        if ok:
            self.results["converged_s"] = time.monotonic() - t0
            note("every agent sees %d alive members after %.1fs" % (n, self.results["converged_s"]))

    def start_operators(self):
        say("Two kong-cluster-operator replicas (Lease leader election)")
        token_file = os.path.join(self.work, "rpc-token")
        with open(token_file, "w") as f:
            f.write(self.token)
        if self.topo:
            # Each replica runs in the namespace of the Node it is scheduled to, with its own pod IP
            # (an extra address on that host's eth0), and the manifests' ports.
            ips = ["10.1.0.%d" % (101 + j) for j in range(2)]
            hosts = [self.workers[j % len(self.workers)] for j in range(2)]
            for ip, h in zip(ips, hosts):
                subprocess.run([ip_tool(), "-n", h.ns, "addr", "add", ip + "/24", "dev", "eth0"], check=True,
                               capture_output=True)
            mport, hport = OPERATOR_PORTS["metrics"], OPERATOR_PORTS["health"]
        else:
            ips = ["%s.%d" % (self.net, 100 + j) for j in range(2)]
            hosts = [None, None]
            # Same ports on both pod IPs, as a Deployment's replicas have.
            mport = free_port(*ips)
            hport = free_port(*ips)
        rs = suffix(9)
        endpoints = []
        for j, ip in enumerate(ips):
            name = "kong-cluster-operator-%s-%s" % (rs, suffix())
            obj = self.sim.sim("/pods", {
                "name": name, "namespace": NS, "node": self.nodes[j % len(self.nodes)][0], "podIP": ip,
                "image": "kong-cluster/operator:0.1.0", "container": "operator",
                "labels": dict(APP_LABELS, **{"app.kubernetes.io/component": "operator"}),
                "ports": [{"name": "metrics", "containerPort": mport, "protocol": "TCP"},
                          {"name": "health", "containerPort": hport, "protocol": "TCP"}]})
            obj = obj.get("object", obj)
            pod = Pod(name, ip, obj["spec"]["nodeName"], {"metrics": mport, "health": hport}, kind="operator")
            pod.uid = obj["metadata"]["uid"]
            argv = [os.path.join(self.bin, "kong-cluster-operator"), "--kubeconfig", self.sim.kubeconfig,
                    "--namespace=" + NS, "--selector=" + AGENT_SELECTOR, "--rpc-auth-file=" + token_file,
                    "--metrics-addr=%s" % pod.addr("metrics"), "--health-addr=%s" % pod.addr("health"),
                    "--leader-elect", "--identity=" + name, "--lease-namespace=" + NS,
                    "--failed-grace=10s", "--resync=10s",
                    # the simulated agent pods have no DaemonSet owner reference
                    "--insecure-trust-selector"]
            env = {"POD_NAME": name, "POD_NAMESPACE": NS}
            if self.pg:
                env.update({"KONG_PG_HOST": self.pg.host, "KONG_PG_PORT": str(self.pg.port),
                            "KONG_PG_USER": "kong", "KONG_PG_DATABASE": "kong"})
            netns = hosts[j].ns if hosts[j] else None
            pod.proc = start("operator-" + name, argv, self.work, env=env, netns=netns)
            self.operators.append(pod)
            self.pods[name] = pod
            endpoints.append({"ip": ip, "nodeName": pod.node,
                              "targetRef": {"kind": "Pod", "namespace": NS, "name": name, "uid": pod.uid}})
            note("%s on %s: pod IP %s, metrics :%d, health :%d, pid %d%s" % (
                name, pod.node, ip, mport, hport, pod.proc.pid, ", netns " + netns if netns else ""))
        # kube-sim has no endpoints controller: the demo writes the metrics Service's Endpoints.
        code, _ = self.sim.api("POST", "/api/v1/namespaces/%s/endpoints" % NS, {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "kong-cluster-operator-metrics", "namespace": NS,
                         "labels": dict(APP_LABELS, **{"app.kubernetes.io/component": "operator",
                                                       "enable-metrics": "true"})},
            "subsets": [{"addresses": endpoints, "ports": [{"name": "metrics", "port": mport, "protocol": "TCP"}]}]})
        t0 = time.monotonic()
        if wait_for("a leader", lambda: self.sim.lease_holder() in self.pods, timeout=30):
            self.results["leader_s"] = time.monotonic() - t0
        self.sim.show("-n", NS, "get", "lease", "kong-cluster-operator",
                      fallback="/apis/coordination.k8s.io/v1/namespaces/%s/leases" % NS)
        self.show_leader_metrics()

    def show_leader_metrics(self):
        for op in self.operators:
            if not op.running():
                continue
            v = metric(http_text("http://%s/metrics" % op.addr("metrics")),
                       'leader_election_master_status{name="kong-cluster-operator"}')
            note("%s  leader_election_master_status = %s" % (op.name, "?" if v is None else "%g" % v))

    def start_serf(self):
        serf = shutil.which("serf")
        if not serf:
            note("(serf is not installed: skipping the real serf agent)")
            return
        say("A real Debian serf 0.9.4 agent (outside Kubernetes) joins the same cluster")
        host = self.topo.hosts.get("h%02d" % (len(self.workers) + 2)) if self.topo else None
        if host:  # a machine of its own on the same bridge
            ip, netns = host.node_ip, host.ns
            sp, rpc = AGENT_PORTS["gossip"], "%s:%d" % (ip, AGENT_PORTS["rpc"])
            note("on its own host: netns %s, %s" % (netns, ip))
        else:
            ip, netns = (self.control_ip if self.topo else "%s.250" % self.net), None
            sp = free_port(ip)
            rpc = "127.0.0.1:%d" % free_port("127.0.0.1")
        self.serf = {"rpc": rpc, "bin": serf}
        self.serf["proc"] = start("serf", [serf, "agent", "-node=serf-0", "-bind=%s:%d" % (ip, sp),
                                           "-rpc-addr=" + rpc, "-encrypt=" + self.gossip_key,
                                           "-tag", "role=serf", "-event-handler",
                                           "user:invalidate=" + self.handler,
                                           "-join=" + self.agents[0].addr("gossip")], self.work, netns=netns)
        n = len(self.agents) + 1
        wait_for("serf to join", lambda: self.everyone_sees(
            lambda ms: sum(s == "alive" for s in ms.values()) == n), timeout=30)
        out = subprocess.run([serf, "members", "-rpc-addr=" + self.serf["rpc"]], capture_output=True,
                             text=True).stdout
        show_cmd("serf members -rpc-addr=" + self.serf["rpc"], out)

    # -- views

    def expected_members(self):
        return [a.name for a in self.live_agents()] + (["serf-0"] if self.serf else [])

    def show_views(self):
        say("What Kubernetes shows")
        self.sim.show("-n", NS, "get", "pods", "-o", "wide", fallback="/api/v1/namespaces/%s/pods" % NS)
        want = set(self.expected_members())
        t0 = time.monotonic()
        wait_for("a ClusterNode per member", lambda: {s.get("memberName") for s in
                                                     self.sim.clusternodes().values()} >= want, timeout=30)
        note("(the operator mirrors every member as a ClusterNode; waited %.1fs for them)" % (time.monotonic() - t0))
        self.sim.show("-n", NS, "get", "clusternodes", "-o", "wide", fallback=CN_PATH)
        first = self.live_agents()[0]
        say("kong-cluster members   (Kong's `kong cluster members` format)")
        show_cmd("kong-cluster members --rpc-addr " + first.addr("rpc"), self.kc("members", rpc=first.addr("rpc")))
        if self.pg:
            say("The nodes table (what Kong 0.x nodes read to find each other)")
            show_cmd("psql -c 'SELECT name, cluster_listening_address, created_at FROM nodes'",
                     self.pg.psql("SELECT name, cluster_listening_address, created_at FROM nodes ORDER BY name",
                                  db="kong", user="kong", table=True))

    def state(self):
        return {
            "kubeconfig": self.sim.kubeconfig, "kube_sim": self.sim.url, "namespace": NS,
            "work": self.work, "pg_port": self.pg.port if self.pg else None, "rpc_token": self.token,
            "mode": self.mode, "netns_prefix": self.topo.prefix if self.topo else None,
            "netns": {h.name: {"ns": h.ns, "ip": h.node_ip} for h in self.topo.hosts.values()} if self.topo else None,
            "agents": [{"name": p.name, "ip": p.ip, "node": p.node, "ports": p.ports, "pid": p.proc.pid}
                       for p in self.live_agents()],
            "operators": [{"name": p.name, "ip": p.ip, "ports": p.ports, "pid": p.proc.pid}
                          for p in self.operators if p.running()],
            "serf": {"rpc": self.serf["rpc"], "pid": self.serf["proc"].pid} if self.serf else None,
            "pids": [p.pid for _, p in started if p.poll() is None],
        }

    # -- scenes

    def scene_event(self):
        say("A user event reaches every agent's event handler")
        first = self.live_agents()[0]
        show_cmd("kong-cluster event --rpc-addr %s --coalesce=false invalidate apis:1234" % first.addr("rpc"),
                 self.kc("event", "--coalesce=false", "invalidate", "apis:1234", rpc=first.addr("rpc")))
        want = set(self.expected_members())
        t0 = time.monotonic()
        got = lambda: {l.split()[0] for l in self.handler_lines() if "apis:1234" in l}
        wait_for("the event to reach every handler", lambda: got() >= want, timeout=15)
        self.results["event_s"] = time.monotonic() - t0
        reached = got() & want
        note("handler output (%s):" % os.path.basename(self.events_log))
        for l in self.handler_lines():
            note("  " + l)
        note("event delivered to %d of %d handlers in %.2fs" % (len(reached), len(want), self.results["event_s"]))

    def timeline(self, t0, extra):
        with self.kubelet.lock:
            evs = [(t, p, w) for t, p, w in self.kubelet.events if t >= t0]
        for t, what in sorted([(t, "%s: %s" % (p, w)) for t, p, w in evs] + extra):
            note("+%6.3fs  %s" % (t - t0, what))

    def wait_cleanup(self, victim, t0, timeout):
        """Milestones of a member's clean-up, as (time, text); returns (milestones, done time or None)."""
        marks, seen = [], set()
        deadline = time.monotonic() + timeout
        done = None
        while time.monotonic() < deadline:
            views = [self.members(a) for a in self.live_agents() if a.name != victim]
            now = time.monotonic()
            if all(v is not None for v in views):
                if "left" not in seen and all(v.get(victim) in (None, "left") for v in views):
                    seen.add("left")
                    if any(v.get(victim) == "left" for v in views):
                        marks.append((now, "member 'left' in every agent's view"))
                if "gone" not in seen and all(victim not in v for v in views):
                    seen.add("gone")
                    marks.append((now, "member gone from every agent's view (%d agents)" % len(views)))
            if "cn" not in seen and not self.sim.clusternode_exists(victim):
                seen.add("cn")
                marks.append((time.monotonic(), "ClusterNode deleted"))
            if "pod" not in seen and victim not in (self.sim.pods() or {victim: 1}):
                seen.add("pod")
                marks.append((time.monotonic(), "pod object gone from the API"))
            if self.pg and "row" not in seen:
                rows = self.pg.rows()
                if rows is not None and victim not in rows:
                    seen.add("row")
                    marks.append((time.monotonic(), "nodes row deleted"))
            if {"gone", "cn", "pod"} <= seen and ("row" in seen or not self.pg):
                done = max(t for t, _ in marks)
                break
            time.sleep(0.02)
        return marks, done

    def scene_delete(self):
        victim = self.live_agents()[-1]
        say("kubectl delete pod: the agent leaves, the operator cleans up")
        note("the demo's kubelet sends SIGTERM when the pod is marked for deletion and removes the")
        note("pod once the process has exited; the operator reaps the member and its ClusterNode")
        t0 = time.monotonic()
        args = ["-n", NS, "delete", "pod", victim.name]
        if self.sim.kubectl_bin:
            proc = subprocess.Popen([self.sim.kubectl_bin, "--kubeconfig", self.sim.kubeconfig, "--cache-dir",
                                     self.sim.cache, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
            started.append(("kubectl", proc))  # waits for the pod to go; stopped by PID if interrupted
        else:
            self.sim.api("DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, victim.name))
            proc = None
        marks, done = self.wait_cleanup(victim.name, t0, timeout=45)
        out = proc.communicate(timeout=30)[0] if proc else "(DELETE over HTTP; no kubectl)"
        show_cmd("kubectl " + " ".join(args), out)
        self.timeline(t0, marks)
        if done:
            self.results["delete_s"] = done - t0
            with self.kubelet.lock:
                removed = [t for t, p, w in self.kubelet.events if p == victim.name and "pod object removed" in w]
            pod_gone = removed[-1] if removed else next(
                (t for t, w in marks if w.startswith("pod object gone")), t0)
            self.results["delete_after_pod_gone_s"] = max(0.0, done - pod_gone)
            self.operator_says(victim.name)
            note("cleanup complete %.2fs after kubectl delete pod (%.2fs after the pod object was removed)"
                 % (self.results["delete_s"], self.results["delete_after_pod_gone_s"]))
        else:
            note("cleanup NOT complete after 45s")

    def operator_says(self, member):
        """The leader's own log line about pruning `member` (its latency is measured from the pod event)."""
        def lines():
            out = []
            for op in self.operators:
                try:
                    with open(os.path.join(self.work, "operator-%s.log" % op.name)) as f:
                        out += ["%s: %s" % (op.name, l.split(" ", 2)[-1].strip()) for l in f
                                if "pruned member %s " % member in l]
                except FileNotFoundError:
                    pass
            return out
        wait_for("the operator's log line", lines, timeout=3)
        for l in lines():
            note("operator log, " + l)

    def scene_crash(self):
        if len(self.live_agents()) < 3:
            return
        victim = self.live_agents()[-1]
        say("kill -9 an agent, then force-delete its pod: the operator prunes the failed member")
        t_kill = time.monotonic()
        victim.proc.kill()
        victim.proc.wait()
        show_cmd("kill -9 %d   (%s)" % (victim.proc.pid, victim.name), "")
        others = [a for a in self.live_agents()]
        wait_for("failed", lambda: all((self.members(a) or {}).get(victim.name) == "failed" for a in others),
                 timeout=40)
        note("failure detection: 'failed' in every view after %.1fs; the row and ClusterNode stay:"
             % (time.monotonic() - t_kill))
        wait_for("the ClusterNode to show failed",
                 lambda: self.sim.clusternodes().get(victim.name, {}).get("status") == "failed", timeout=10)
        self.sim.show("-n", NS, "get", "clusternode", victim.name, fallback=CN_PATH)
        args = ["-n", NS, "delete", "pod", victim.name, "--force", "--grace-period=0"]
        t0 = time.monotonic()
        if self.sim.kubectl_bin:
            _, out = self.sim.kubectl(*args)
        else:
            self.sim.api("DELETE", "/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=0" % (NS, victim.name))
            out = "(DELETE over HTTP; no kubectl)"
        marks, done = self.wait_cleanup(victim.name, t0, timeout=30)
        show_cmd("kubectl " + " ".join(args), out)
        self.timeline(t0, marks)
        if done:
            self.results["crash_delete_s"] = done - t0
            self.operator_says(victim.name)
            note("cleanup complete %.2fs after the pod deletion (member pruned on every agent, row and "
                 "ClusterNode deleted)" % self.results["crash_delete_s"])
        else:
            note("cleanup NOT complete after 30s")
        self.show_prune_metrics()

    def scene_handover(self):
        leader = self.pods.get(self.sim.lease_holder())
        if not leader:
            return
        say("kubectl delete pod on the operator leader: the Lease is released, the standby leads")
        t0 = time.monotonic()
        args = ["-n", NS, "delete", "pod", leader.name, "--wait=false"]
        if self.sim.kubectl_bin:
            _, out = self.sim.kubectl(*args)
        else:
            self.sim.api("DELETE", "/api/v1/namespaces/%s/pods/%s" % (NS, leader.name))
            out = ""
        show_cmd("kubectl " + " ".join(args), out)
        marks = []
        if wait_for("the standby to lead", lambda: self.sim.lease_holder() not in ("", leader.name), timeout=30):
            marks.append((time.monotonic(), "Lease holder: " + self.sim.lease_holder()))
            self.results["handover_s"] = marks[-1][0] - t0
        new = self.pods.get(self.sim.lease_holder())
        if new and wait_for("the new leader's metric", lambda: metric(
                http_text("http://%s/metrics" % new.addr("metrics")),
                'leader_election_master_status{name="kong-cluster-operator"}') == 1, timeout=10):
            marks.append((time.monotonic(), "%s reports leader_election_master_status 1" % new.name))
        self.timeline(t0, marks)
        if "handover_s" in self.results:
            note("new leader after %.2fs" % self.results["handover_s"])
        self.show_leader_metrics()

    def final(self):
        say("Final view")
        self.sim.show("-n", NS, "get", "clusternodes", "-o", "wide", fallback=CN_PATH)
        first = self.live_agents()[0]
        show_cmd("kong-cluster members --rpc-addr " + first.addr("rpc"), self.kc("members", rpc=first.addr("rpc")))
        if self.pg:
            show_cmd("psql -c 'SELECT name, cluster_listening_address FROM nodes'",
                     self.pg.psql("SELECT name, cluster_listening_address FROM nodes ORDER BY name",
                                  db="kong", user="kong", table=True))

    def show_prune_metrics(self):
        for op in self.operators:
            if not op.running() or op.name != self.sim.lease_holder():
                continue
            text = http_text("http://%s/metrics" % op.addr("metrics"))
            lines = [l for l in text.splitlines() if l.startswith(("kong_cluster_operator_prunes_total",
                                                                    "kong_cluster_operator_prune_latency_seconds_sum",
                                                                    "kong_cluster_operator_prune_latency_seconds_count",
                                                                    "leader_election_master_status"))]
            show_cmd("curl -s http://%s/metrics | grep -E 'prune|leader'   # %s" % (op.addr("metrics"), op.name),
                     "\n".join(lines))

    def summary(self):
        say("Summary")
        labels = [("converged_s", "agents converged through the nodes table"),
                  ("leader_s", "operator leader elected"),
                  ("event_s", "user event delivered to every handler"),
                  ("delete_s", "kubectl delete pod -> member, row, ClusterNode gone"),
                  ("delete_after_pod_gone_s", "  of which after the pod object was removed"),
                  ("crash_delete_s", "crashed agent's pod force-deleted -> pruned everywhere"),
                  ("handover_s", "operator leader deleted -> standby leads")]
        for k, label in labels:
            if k in self.results:
                note("%-58s %6.2fs" % (label, self.results[k]))


def netns_lib():
    sys.path.insert(0, NETNS_DIR)
    import kcnetns  # hack/netns: network-namespace topologies (needs root)
    return kcnetns


def wants_serf(args):
    return not args.no_serf and shutil.which("serf") is not None


def run_in_netns(args, kcnetns):
    """Namespace mode, outside: builds the topology, runs the demo inside h01 (this script again,
    with --inside-netns), forwards Ctrl-C/SIGTERM to it, then removes the topology. Returns the
    exit status, or None when the topology cannot be built (the caller falls back to loopback)."""
    hosts = 1 + args.agents + (1 if wants_serf(args) else 0)
    inner = None

    def on_signal(*_):
        # Before the demo inside runs: stop here (kcnetns removes what it built). After: Ctrl-C
        # goes to the demo inside, which stops what it started and exits; then the teardown.
        if inner is None:
            raise KeyboardInterrupt
        if inner.poll() is None:
            inner.send_signal(signal.SIGINT)
    # Also when started with SIGINT ignored (`demo.py &` in a script); the demo inside then starts
    # with the default disposition, not an inherited SIG_IGN.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        topo = kcnetns.build("lan", hosts=hosts)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping", flush=True)
        return 130
    except (kcnetns.NetnsError, OSError, subprocess.SubprocessError) as e:
        if args.netns:
            print("demo.py: --netns: cannot build the network namespaces: %s" % e, file=sys.stderr)
            return 2
        note("mode: loopback (building the network namespaces failed: %s)" % e)
        return None
    rc = 130
    try:
        with topo:  # teardown on every way out: kills what runs inside our namespaces, deletes them
            h01 = topo.host("h01")
            say("Network namespaces: one machine per namespace on a bridge (kcnetns lan, prefix %s)"
                % topo.prefix)
            note("mode: network namespaces (--loopback runs everything on 127.0.x.y instead)")
            note("h01 %s  %s   control plane: Postgres, kube-sim, kubectl, this demo" % (h01.ns, h01.node_ip))
            for i in range(args.agents):
                h = topo.host("h%02d" % (i + 2))
                note("%s %s  %s   Node worker-%d (its agent pod's IP%s)" % (
                    h.name, h.ns, h.node_ip, i + 1, "; an operator pod, 10.1.0.%d" % (101 + i) if i < 2 else ""))
            if hosts > args.agents + 1:
                h = topo.host("h%02d" % hosts)
                note("%s %s  %s   the serf agent's machine (outside Kubernetes)" % (h.name, h.ns, h.node_ip))
            note("all on bridge br0 in %s-sw; removed at the end with every process started inside" % topo.prefix)
            sys.stdout.flush()
            inner = subprocess.Popen([ip_tool(), "netns", "exec", h01.ns, sys.executable, os.path.abspath(__file__),
                                      "--inside-netns", topo.prefix] + sys.argv[1:],
                                     stdin=subprocess.DEVNULL, start_new_session=True)
            rc = inner.wait()  # a signal meanwhile is forwarded by on_signal
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # nothing may cut the teardown short
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            stray = 0  # what the demo inside left running (the teardown kills it)
            for ns in topo.namespaces:
                r = subprocess.run([ip_tool(), "netns", "pids", ns], capture_output=True, text=True)
                stray += len(r.stdout.split())
    except KeyboardInterrupt:  # before the demo inside was started
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\ninterrupted: stopping", flush=True)
        stray = 0
    left = [n for n in kcnetns.list_namespaces() if n.startswith(topo.prefix + "-")]
    note("network namespaces: %d removed%s; %s" % (
        len(topo.namespaces), " (and %d stray processes in them)" % stray if stray else "",
        "none left with prefix %s-" % topo.prefix if not left else "LEFT: " + " ".join(left)))
    if left and rc == 0:
        rc = 1
    return rc


def main():
    def on_signal(*_):
        raise KeyboardInterrupt
    # At once, also when started with SIGINT ignored (`demo.py &` in a script); run_demo and
    # run_in_netns install their own handlers.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return choose_and_run()
    except KeyboardInterrupt:  # before anything was started (the namespace probe cleans up after itself)
        print("\ninterrupted: stopping", flush=True)
        return 130


def choose_and_run():
    ap = argparse.ArgumentParser(
        description="kong-cluster local demo: Postgres, kube-sim, agent pods, two operators, serf. As root, "
                    "each Node and its agent pod is a network namespace on a bridge (hack/netns); otherwise "
                    "everything runs on loopback.",
        epilog="Everything started is stopped by PID at the end or on Ctrl-C, then the namespaces are "
               "removed. Logs: --keep.")
    ap.add_argument("--agents", type=int, default=4, help="agent pods (one per simulated Node) (default 4)")
    ap.add_argument("--duration", type=float, default=0,
                    help="keep everything running this many seconds after the show, then stop and exit 0 "
                         "(default 0)")
    ap.add_argument("--keep-running", action="store_true", help="keep everything running until Ctrl-C")
    ap.add_argument("--setup-only", action="store_true",
                    help="start everything and show the cluster, skip the event, deletion and handover scenes")
    ap.add_argument("--state-file", metavar="FILE",
                    help="write addresses, ports and PIDs as JSON to FILE once everything is up "
                         "(for tests, e.g. tests/deploy/test_prometheus.py)")
    ap.add_argument("--no-serf", action="store_true", help="do not start the real serf agent")
    ap.add_argument("--no-kubectl", action="store_true",
                    help="do without kubectl, as when it is not installed (plain HTTP, server-side tables)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--netns", action="store_true",
                      help="network namespaces: one per Node (its agent pod's IP 10.1.0.x) and one for the control "
                           "plane, on a bridge; an error if they cannot be made (default when root and they work)")
    mode.add_argument("--loopback", action="store_true",
                      help="everything in this network namespace, each pod on its own 127.0.x.y "
                           "(default when not root or namespaces do not work)")
    ap.add_argument("--inside-netns", metavar="PREFIX", help=argparse.SUPPRESS)  # the re-executed demo in h01
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs) at the end")
    ap.add_argument("--bin-dir", default=os.environ.get("KC_BIN_DIR") or os.path.join(ROOT, "build", "bin"),
                    help="where kong-cluster and kong-cluster-operator are (default $KC_BIN_DIR or build/bin)")
    args = ap.parse_args()
    if args.agents < 2:
        ap.error("--agents must be at least 2")
    if args.netns and args.agents > 80:
        ap.error("--netns: at most 80 agents (10.1.0.12.. up to .100; operators use .101/.102)")
    for b in ("kong-cluster", "kong-cluster-operator"):
        if not os.access(os.path.join(args.bin_dir, b), os.X_OK):
            ap.error("%s/%s is missing: run hack/demo.sh (or hack/build.sh) first" % (args.bin_dir, b))

    if args.inside_netns:
        return run_demo(args, netns_lib().Topology.load(args.inside_netns))
    if not args.loopback and args.agents <= 80:
        why = "they need root"
        kcnetns = None
        if os.geteuid() == 0:
            try:
                kcnetns = netns_lib()
                ok, why = kcnetns.can_create_namespaces()
            except Exception as e:  # noqa: BLE001 - any failure of the probe means "not here"
                ok, why = False, str(e)
        else:
            ok = False
        if ok:
            rc = run_in_netns(args, kcnetns)
            if rc is not None:
                return rc
        elif args.netns:
            print("demo.py: --netns: network namespaces are not available: %s" % why, file=sys.stderr)
            return 2
        else:
            note("mode: loopback, each pod on its own 127.0.x.y (no network namespaces: %s)" % why)
    else:
        note("mode: loopback, each pod on its own 127.0.x.y%s" % (
            "" if args.loopback else " (network namespaces: at most 80 agents)"))
    return run_demo(args)


def run_demo(args, topo=None):
    """The demo itself, in this process's network namespace (h01 of `topo` in namespace mode)."""
    work = tempfile.mkdtemp(prefix="kong-cluster-demo-")

    def on_term(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (`demo.py &` in a script)
    demo = Demo(args, work, topo)
    try:
        demo.setup()
        demo.show_views()
        if args.state_file:
            tmp = args.state_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump(demo.state(), f, indent=1)
            os.replace(tmp, args.state_file)
        if not args.setup_only:
            demo.scene_event()
            demo.scene_delete()
            demo.scene_crash()
            demo.scene_handover()
            demo.final()
        demo.summary()
        if args.keep_running or args.duration > 0:
            say("Running (%s)" % ("Ctrl-C stops" if args.keep_running else
                                  "stopping in %.0fs; Ctrl-C stops earlier" % args.duration))
            if topo:
                note("everything answers on the bridge 10.1.0.0/24: run commands in the control plane's "
                     "namespace, e.g.")
                note("ip netns exec %s bash" % topo.host("h01").ns)
            note("export KUBECONFIG=%s" % demo.sim.kubeconfig)
            note("export KONG_CLUSTER_RPC_AUTH=%s" % demo.token)
            note("kubectl -n %s get clusternodes -o wide --watch" % NS)
            note("%s members --rpc-addr %s" % (demo.kc_bin, demo.live_agents()[0].addr("rpc")))
            end = None if args.keep_running else time.monotonic() + args.duration
            while end is None or time.monotonic() < end:
                time.sleep(0.2 if end is None else max(0.0, min(0.2, end - time.monotonic())))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if getattr(demo, "kubelet", None):
            demo.kubelet.stop.set()
        n = sum(1 for _, p in started if p.poll() is None)
        stop_all()
        say("Stopped")
        note("%d processes stopped by PID" % n)
        if args.keep:
            note("logs kept in " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
