"""A real Kubernetes control plane on this machine (Python 3 stdlib only).

etcd, kube-apiserver, kube-controller-manager and kube-scheduler (or only etcd and the
apiserver: controllers=False), built from their own Go modules by hack/k8s/build.sh, run as
unprivileged processes with all state (certificates, etcd data, logs, kubeconfigs,
cluster.json) in one temporary directory:

    with k8scluster.Cluster() as c:          # up(): start and wait until healthy
        c.kubectl("get", "nodes")
        c.stop_apiserver(); c.start_apiserver()
                                             # down(): stop everything by PID, remove the dir

Security as kubeadm sets it up: TLS on every port (etcd client and peer with client
certificates, apiserver, controller-manager and scheduler serving), Node and RBAC
authorizers, NodeRestriction on top of the default admission plugins, ServiceAccount tokens
signed by the apiserver (TokenRequest) and controllers running under their own
ServiceAccounts. Timing flags are shortened so that node failures show within seconds (see
docs/kubernetes.md and the constants below).

Cleanup: a reaper process (``cluster reap``) watches the owning process and stops the
control plane if the owner dies without calling down() (SIGKILL by a test timeout).
"""
import base64
import concurrent.futures
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import k8spki
import k8sproc

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build.sh")
CLI = os.path.join(HERE, "cluster")
STATE_FILE = "cluster.json"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# The API alone (controllers=False): for tests that create Nodes and Pods as plain objects and
# play kubelet themselves; the controllers would act on them (evict the pods of Nodes no kubelet
# renews, collect pods whose owner is absent, run DaemonSets).
API_COMPONENTS = ("etcd", "kube-apiserver")
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the first address of SERVICE_CIDR: the "kubernetes" Service
ISSUER = "https://kubernetes.default.svc.cluster.local"

# Node failure timing. The node-lifecycle controller checks every NODE_MONITOR_PERIOD and marks
# a Node Unknown (NotReady) when neither its Lease nor its status was renewed for
# NODE_MONITOR_GRACE; a node agent must renew its Lease well inside that (every 2 s or so).
# Pods get tolerations for the not-ready/unreachable NoExecute taints of TOLERATION_SECONDS
# (DefaultTolerationSeconds admission), so eviction follows that many seconds after the taint.
NODE_MONITOR_PERIOD = "1s"
NODE_MONITOR_GRACE = "10s"
NODE_STARTUP_GRACE = "30s"
TOLERATION_SECONDS = 10


class ClusterError(RuntimeError):
    pass


def bin_dir(build=False, needs=COMPONENTS + ("helm",)):
    """The directory holding the binaries (build=True builds what is missing); ClusterError
    if one of needs is not there."""
    r = subprocess.run([BUILD] + ([] if build else ["--bin-dir"]), stdout=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise ClusterError("%s failed (exit %d)" % (BUILD, r.returncode))
    d = r.stdout.strip().splitlines()[-1]
    missing = [b for b in needs if not os.access(os.path.join(d, b), os.X_OK)]
    if missing:
        raise ClusterError("%s not built in %s: run %s (the first build takes long)"
                           % (", ".join(missing), d, BUILD))
    return d


def free_port(address):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def host_ipv4_addresses():
    """The machine's IPv4 addresses by interface name (loopback left out)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] != "lo":
            found.setdefault(f[1], f[3].split("/")[0])
    return found


def default_advertise_address():
    """Docker's bridge gateway when there is one: containers on any Docker network reach the
    host through it. Otherwise the first non-loopback address."""
    addrs = host_ipv4_addresses()
    if "docker0" in addrs:
        return addrs["docker0"]
    if addrs:
        return sorted(addrs.items())[0][1]
    raise ClusterError("no non-loopback IPv4 address to advertise (pass advertise_address)")


def _b64_file(path):
    with open(path, "rb") as f:
        return base64.b64encode(f.read()).decode()


def _write_kubeconfig(path, server, ca, cert, key, user):
    """A self-contained kubeconfig (certificates embedded), usable inside containers too."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write("""apiVersion: v1
kind: Config
clusters:
- name: kong-cluster
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: kong-cluster
  context:
    cluster: kong-cluster
    user: %s
current-context: kong-cluster
""" % (server, _b64_file(ca), json.dumps(user), _b64_file(cert), _b64_file(key), json.dumps(user)))


def _parallel(calls):
    """Runs the calls on threads; re-raises the first failure."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for f in [pool.submit(c) for c in calls]:
            f.result()


class Cluster(k8sproc.Managed):
    """One control plane. Either brought up here (up()) or attached to with load(state_dir)."""

    def __init__(self, bind_address="0.0.0.0", advertise_address=None, extra_sans=(),
                 state_dir=None, reaper=True, owner_pid=None, log=None, controllers=True):
        """reaper: stop the control plane when the owner process (owner_pid, by default this
        one) ends without calling down(). controllers=False: etcd and the apiserver only
        (API_COMPONENTS)."""
        self.controllers = controllers
        self.bind_address = bind_address
        self.advertise_address = advertise_address
        self.extra_sans = list(extra_sans)
        self.state_dir = state_dir
        self.want_reaper = reaper
        self.owner_pid = owner_pid or os.getpid()
        self.log = log if log is not None else sys.stderr
        self.state = None

    # ----- lifecycle -----------------------------------------------------------------------

    def up(self, timeout=240):
        started = time.monotonic()
        bins = bin_dir(needs=COMPONENTS if self.controllers else API_COMPONENTS)
        if self.state_dir is None:
            self.state_dir = tempfile.mkdtemp(prefix="kc-k8s-")
        elif os.path.isdir(self.state_dir) and os.listdir(self.state_dir):
            raise ClusterError("state directory %s is not empty" % self.state_dir)
        os.makedirs(os.path.join(self.state_dir, "logs"), exist_ok=True)
        advertise = self.advertise_address or default_advertise_address()
        self.state = {
            "bin_dir": bins, "bind_address": self.bind_address, "advertise_address": advertise,
            "ports": {
                "etcd": free_port("127.0.0.1"), "etcd_peer": free_port("127.0.0.1"),
                "apiserver": free_port(self.bind_address),
                "controller_manager": free_port("127.0.0.1"), "scheduler": free_port("127.0.0.1"),
            },
            "procs": {}, "argv": {}, "owner": None, "reaper": None, "controllers": self.controllers,
        }
        self._track()
        self._save()
        try:
            if self.want_reaper:
                self._start_reaper(self.owner_pid)
            self._say("state in %s" % self.state_dir)
            self._make_pki()
            self._start("etcd", self._etcd_argv())
            self._start("kube-apiserver", self._apiserver_argv())
            deadline = time.monotonic() + timeout
            self._wait("etcd", deadline, lambda: self._etcd_healthy())
            self._wait("kube-apiserver", deadline, lambda: self._get("/readyz")[0] == 200)
            if self.controllers:
                self._start_controllers(deadline)
        except BaseException:
            self.down()
            raise
        self.state["up_seconds"] = round(time.monotonic() - started, 1)
        self._save()
        self._say("healthy after %.1fs; KUBECONFIG=%s" % (self.state["up_seconds"], self.kubeconfig))
        return self

    def _start_controllers(self, deadline):
        self._start("kube-controller-manager", self._controller_manager_argv())
        self._start("kube-scheduler", self._scheduler_argv())
        for name, port in (("kube-controller-manager", "controller_manager"),
                           ("kube-scheduler", "scheduler")):
            self._wait(name, deadline, lambda p=port: self._component_healthy(p))
        # The ServiceAccount controller made the "default" ServiceAccount: controllers run
        # under their own credentials and RBAC lets them write.
        self._wait("kube-controller-manager", deadline, lambda: self._get(
            "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200)

    def down(self):
        """Stops every process this cluster started (by PID, newest first) and removes the
        state directory. Safe to call twice and on a half-started cluster."""
        if self.state is None:
            return
        for name in reversed(COMPONENTS):
            rec = self.state["procs"].get(name)
            if rec:
                k8sproc.stop(rec)
        reaper = self.state.get("reaper")
        if reaper and reaper["pid"] != os.getpid():
            k8sproc.stop(reaper, grace=2)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state = None
        self._untrack()

    @classmethod
    def load(cls, state_dir):
        """Attaches to a control plane that `cluster up` (or another process) started."""
        state = k8sproc.read_state(state_dir, STATE_FILE, ClusterError, "cluster")
        c = cls(state["bind_address"], state["advertise_address"], state_dir=state_dir, reaper=False,
                controllers=state.get("controllers", True))
        c.state = state
        return c

    # ----- the apiserver alone (restart tests) -------------------------------------------------

    def stop_apiserver(self, kill=False):
        """SIGTERM, then SIGKILL after 10 s: with watches open the apiserver's graceful shutdown
        takes all of that. kill=True: no grace (SIGKILL right after the SIGTERM), as a crash."""
        k8sproc.stop(self.state["procs"]["kube-apiserver"], grace=0 if kill else 10.0)

    def start_apiserver(self, timeout=120):
        self._start("kube-apiserver", self.state["argv"]["kube-apiserver"])
        self._wait("kube-apiserver", time.monotonic() + timeout, lambda: self._get("/readyz")[0] == 200)

    def pid(self, component):
        return self.state["procs"][component]["pid"]

    # ----- access ---------------------------------------------------------------------------

    @property
    def port(self):
        return self.state["ports"]["apiserver"]

    @property
    def server(self):
        """The apiserver URL from this machine (over loopback)."""
        return "https://127.0.0.1:%d" % self.port

    @property
    def container_server(self):
        """The apiserver URL for containers: the advertised address is in the serving cert."""
        return "https://%s:%d" % (self.state["advertise_address"], self.port)

    @property
    def kubeconfig(self):
        return self._p("admin.kubeconfig")

    @property
    def ca_file(self):
        return os.path.join(self.state_dir, "pki", "ca.crt")

    def write_kubeconfig(self, path, user, groups=(), server=None):
        """A kubeconfig with a fresh client certificate for user in groups, signed by the
        cluster CA; e.g. user "system:node:n1", groups ["system:nodes"] for a node agent."""
        pki = k8spki.Pki(os.path.join(self.state_dir, "pki"))
        name = "client-" + "".join(ch if ch.isalnum() else "-" for ch in user)
        cert, key = pki.issue("ca", name, user, orgs=groups, client=True)
        _write_kubeconfig(path, server or self.server, self.ca_file, cert, key, user)
        return path

    def kubectl(self, *args, check=True, input=None, timeout=60, kubeconfig=None):
        """The machine's kubectl, as the admin unless another kubeconfig is given."""
        r = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig or self.kubeconfig, *args], input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise ClusterError("kubectl %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                          r.stderr.strip()))
        return r

    def request(self, method, path, body=None, token=None, timeout=30, content_type=None):
        """One API call over TLS, as the admin (client certificate) or with a bearer token.
        A PATCH body is a JSON merge patch unless content_type says otherwise.
        Returns (status, decoded JSON or text)."""
        ctx = self._client_context(admin=token is None)
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = content_type or (
                "application/merge-patch+json" if method == "PATCH" else "application/json")
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read().decode()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw

    # ----- internals ------------------------------------------------------------------------

    def _say(self, msg):
        print("k8s cluster: %s" % msg, file=self.log, flush=True)

    def _save(self):
        tmp = os.path.join(self.state_dir, STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, os.path.join(self.state_dir, STATE_FILE))

    def _p(self, *parts):
        return os.path.join(self.state_dir, *parts)

    def _pki(self, name):
        return self._p("pki", name)

    def _start_reaper(self, owner_pid):
        self.state["owner"] = {"pid": owner_pid, "start": k8sproc.start_time(owner_pid)}
        self._save()  # the reaper reads its owner from the state file
        _, rec = k8sproc.spawn([sys.executable, CLI, "reap", "--state", self.state_dir],
                               self._p("logs", "reaper.log"))
        self.state["reaper"] = rec
        self._save()

    def _make_pki(self):
        """CAs first, then every certificate; each step's openssl runs in parallel (each
        process is short, but on a busy machine one after another takes seconds)."""
        pki = k8spki.Pki(self._p("pki"))
        _parallel([lambda: pki.make_ca("ca", "kong-cluster-ca"),
                   lambda: pki.make_ca("etcd-ca", "kong-cluster-etcd-ca"),
                   lambda: pki.make_ca("front-proxy-ca", "kong-cluster-front-proxy-ca"),
                   lambda: pki.make_signing_key("sa")])
        local = ["127.0.0.1"]
        sans = sorted(set(local + [SERVICE_IP, self.state["advertise_address"]]
                          + list(host_ipv4_addresses().values()) + self.extra_sans
                          + ([self.bind_address] if self.bind_address != "0.0.0.0" else [])))
        leaves = [
            ("ca", "apiserver", "kube-apiserver", dict(server=True, ips=sans, dns=[
                "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local"])),
            ("ca", "apiserver-kubelet-client", "kube-apiserver-kubelet-client",
             dict(orgs=["system:masters"], client=True)),
            ("front-proxy-ca", "front-proxy-client", "front-proxy-client", dict(client=True)),
            ("etcd-ca", "etcd-server", "etcd", dict(server=True, client=True, ips=local, dns=["localhost"])),
            ("etcd-ca", "etcd-peer", "etcd", dict(server=True, client=True, ips=local, dns=["localhost"])),
            ("etcd-ca", "apiserver-etcd-client", "kube-apiserver-etcd-client", dict(client=True)),
            ("ca", "admin", "kubernetes-admin", dict(orgs=["system:masters"], client=True)),
        ]
        for comp in ("kube-controller-manager", "kube-scheduler"):
            leaves.append(("ca", comp + "-server", comp, dict(server=True, ips=local, dns=["localhost"])))
            leaves.append(("ca", comp, "system:" + comp, dict(client=True)))
        _parallel([lambda l=l: pki.issue(l[0], l[1], l[2], **l[3]) for l in leaves])
        for name, user in (("kube-controller-manager", "system:kube-controller-manager"),
                           ("kube-scheduler", "system:kube-scheduler"), ("admin", "kubernetes-admin")):
            _write_kubeconfig(self._p(name + ".kubeconfig"), self.server, self._pki("ca.crt"),
                              self._pki(name + ".crt"), self._pki(name + ".key"), user)

    def _bin(self, name):
        return os.path.join(self.state["bin_dir"], name)

    def _etcd_argv(self):
        client = "https://127.0.0.1:%d" % self.state["ports"]["etcd"]
        peer = "https://127.0.0.1:%d" % self.state["ports"]["etcd_peer"]
        return [self._bin("etcd"), "--name=kc", "--data-dir=" + self._p("etcd"),
                "--listen-client-urls=" + client, "--advertise-client-urls=" + client,
                "--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
                "--initial-cluster=kc=" + peer, "--initial-cluster-state=new",
                "--client-cert-auth", "--trusted-ca-file=" + self._pki("etcd-ca.crt"),
                "--cert-file=" + self._pki("etcd-server.crt"),
                "--key-file=" + self._pki("etcd-server.key"),
                "--peer-client-cert-auth", "--peer-trusted-ca-file=" + self._pki("etcd-ca.crt"),
                "--peer-cert-file=" + self._pki("etcd-peer.crt"),
                "--peer-key-file=" + self._pki("etcd-peer.key"),
                "--log-level=warn"]

    def _apiserver_argv(self):
        s = self.state
        return [self._bin("kube-apiserver"),
                "--bind-address=" + s["bind_address"], "--secure-port=%d" % s["ports"]["apiserver"],
                "--advertise-address=" + s["advertise_address"],
                "--cert-dir=" + self._p("apiserver"),
                "--tls-cert-file=" + self._pki("apiserver.crt"),
                "--tls-private-key-file=" + self._pki("apiserver.key"),
                "--client-ca-file=" + self._pki("ca.crt"),
                "--etcd-servers=https://127.0.0.1:%d" % s["ports"]["etcd"],
                "--etcd-cafile=" + self._pki("etcd-ca.crt"),
                "--etcd-certfile=" + self._pki("apiserver-etcd-client.crt"),
                "--etcd-keyfile=" + self._pki("apiserver-etcd-client.key"),
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--enable-bootstrap-token-auth=true",
                "--allow-privileged=true",
                "--service-cluster-ip-range=" + SERVICE_CIDR,
                "--service-account-issuer=" + ISSUER,
                "--service-account-key-file=" + self._pki("sa.pub"),
                "--service-account-signing-key-file=" + self._pki("sa.key"),
                "--kubelet-client-certificate=" + self._pki("apiserver-kubelet-client.crt"),
                "--kubelet-client-key=" + self._pki("apiserver-kubelet-client.key"),
                "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                "--requestheader-client-ca-file=" + self._pki("front-proxy-ca.crt"),
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                "--proxy-client-cert-file=" + self._pki("front-proxy-client.crt"),
                "--proxy-client-key-file=" + self._pki("front-proxy-client.key"),
                "--default-not-ready-toleration-seconds=%d" % TOLERATION_SECONDS,
                "--default-unreachable-toleration-seconds=%d" % TOLERATION_SECONDS,
                "--profiling=false"]

    def _delegated(self, comp, port):
        """Flags shared by controller-manager and scheduler: identity, delegated authn/authz
        through the apiserver, a CA-signed serving cert on loopback, no leader election (one
        instance, and an apiserver restart must not make it exit)."""
        kc = self._p(comp + ".kubeconfig")
        return ["--kubeconfig=" + kc, "--authentication-kubeconfig=" + kc,
                "--authorization-kubeconfig=" + kc,
                "--bind-address=127.0.0.1", "--secure-port=%d" % self.state["ports"][port],
                "--tls-cert-file=" + self._pki(comp + "-server.crt"),
                "--tls-private-key-file=" + self._pki(comp + "-server.key"),
                "--leader-elect=false", "--profiling=false"]

    def _controller_manager_argv(self):
        return [self._bin("kube-controller-manager"),
                *self._delegated("kube-controller-manager", "controller_manager"),
                "--controllers=*,bootstrapsigner,tokencleaner",
                "--use-service-account-credentials=true",
                "--root-ca-file=" + self._pki("ca.crt"),
                "--service-account-private-key-file=" + self._pki("sa.key"),
                "--cluster-signing-cert-file=" + self._pki("ca.crt"),
                "--cluster-signing-key-file=" + self._pki("ca.key"),
                "--cluster-name=kong-cluster",
                "--node-monitor-period=" + NODE_MONITOR_PERIOD,
                "--node-monitor-grace-period=" + NODE_MONITOR_GRACE,
                "--node-startup-grace-period=" + NODE_STARTUP_GRACE]

    def _scheduler_argv(self):
        return [self._bin("kube-scheduler"), *self._delegated("kube-scheduler", "scheduler")]

    def _start(self, name, argv):
        self.state["argv"][name] = argv
        _, rec = k8sproc.spawn(argv, self._p("logs", name + ".log"))
        self.state["procs"][name] = rec
        self._save()

    def _wait(self, name, deadline, healthy):
        rec = self.state["procs"][name]
        while True:
            if not k8sproc.alive(rec["pid"], rec["start"]):
                raise ClusterError("%s exited during start-up; last lines of its log:\n%s"
                                   % (name, self._log_tail(name)))
            try:
                if healthy():
                    return
            except (OSError, ValueError, http.client.HTTPException):
                pass  # not listening yet, or not answering sensibly yet
            if time.monotonic() > deadline:
                raise ClusterError("%s not healthy in time; last lines of its log:\n%s"
                                   % (name, self._log_tail(name)))
            time.sleep(0.2)

    def _log_tail(self, name, lines=30):
        try:
            with open(self._p("logs", name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def _client_context(self, admin=True, ca="ca", cert="admin"):
        ctx = ssl.create_default_context(cafile=self._pki(ca + ".crt"))
        if admin:
            ctx.load_cert_chain(self._pki(cert + ".crt"), self._pki(cert + ".key"))
        return ctx

    def _https_get(self, port, path, ctx, timeout=5):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        finally:
            conn.close()

    def _get(self, path):
        return self._https_get(self.port, path, self._client_context())

    def _etcd_healthy(self):
        ctx = self._client_context(ca="etcd-ca", cert="apiserver-etcd-client")
        status, body = self._https_get(self.state["ports"]["etcd"], "/health", ctx)
        return status == 200 and json.loads(body).get("health") == "true"

    def _component_healthy(self, port):
        return self._https_get(self.state["ports"][port], "/healthz",
                               self._client_context(admin=False))[0] == 200


def reap(state_dir, poll=0.5):
    """Waits until the cluster's owner process ends (or the cluster is brought down), then
    brings down what is left. Runs as `cluster reap` in its own session."""
    while True:
        try:
            c = Cluster.load(state_dir)
        except ClusterError:
            return False  # brought down normally
        owner = c.state.get("owner")
        if owner is None or not k8sproc.alive(owner["pid"], owner["start"]):
            break
        time.sleep(poll)
    c.state["reaper"] = None  # that is us: down() must not wait for itself
    c.down()
    return True
