"""One real kubelet Node on this machine, beside the node stand-in (Python 3 stdlib only).

A second containerd (Debian's /usr/bin/containerd, its own config with the CRI plugin on, its
own socket, root and state directories) runs the pods with runc, cgroupfs and CNI (Debian's
containernetworking-plugins: a bridge with host-local addresses); the kubelet built by
`hack/k8s/build.sh --with-kubelet` registers the Node with a client certificate for
system:node:<name> signed by the control plane's CA. Everything lives in one temporary state
directory:

    node = k8skubelet.KubeletNode(cluster_state_dir, images=["kong-cluster/k8s-testpod:..."])
    node.up()        # containerd, images imported into its k8s.io namespace, kubelet; Node Ready
    node.down()      # see below

There is no registry: the sandbox ("pause") image is a scratch image holding the node agent's
static binary (`nodeagent pause`), and every pod image is imported from Docker (`docker save`
into `ctr images import`); pods must use imagePullPolicy Never or IfNotPresent.

What a kubelet changes on the machine, and down() undoes: the cgroup tree `kubepods` in every
cgroup v1 hierarchy; kernel settings it insists on (vm.overcommit_memory, kernel.panic,
kernel.panic_on_oops, ...), restored to their earlier values; its iptables chains (KUBE-FIREWALL
with its INPUT and OUTPUT jumps, the canaries, the mangle table it creates); container log links
in /var/log/containers; the bridge, the pods' network namespaces and veths (CNI tears them down
when the kubelet stops the pods); the mounts under the state directory (the kubelet bind-mounts
its root directory onto itself; containerd mounts rootfs, shm and network namespaces there).
Left in place: /run/containerd/s, where every containerd on the machine, Docker's too, puts its
shims' sockets (each shim removes its own). Processes are recorded as (PID, start time) and
stopped only by that record (k8sproc). A reaper (`kubelet-node reap`) brings the Node down when
its owner process ends without calling down().

Only one kubelet Node per machine: a second one would share `kubepods`.
"""
import hashlib
import ipaddress
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import k8scluster
import k8sproc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = os.path.join(HERE, "kubelet-node")
NODEAGENT_BUILD = os.path.join(ROOT, "hack", "nodeagent", "build.sh")
STATE_FILE = "kubelet-node.json"

CONTAINERD = "/usr/bin/containerd"
CTR = "/usr/bin/ctr"
RUNC = shutil.which("runc") or "/usr/sbin/runc"
CNI_BIN_DIR = "/usr/lib/cni"
CNI_PLUGINS = ("bridge", "host-local", "loopback")
CGROUP_V1 = "/sys/fs/cgroup"
POD_CGROUP = "kubepods"
# Kernel settings the kubelet sets at start (it refuses to run where it cannot).
KUBELET_SYSCTLS = ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
                   "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes")
# The kubelet links every container log here (a fixed path, not under its root directory).
LEGACY_LOG_DIR = "/var/log/containers"
# The chains a kubelet and CNI plugins add; only those that were not there before are removed.
CHAIN_PREFIXES = ("KUBE-", "CNI-")
IPTABLES = ("iptables", "ip6tables")
POD_SUBNETS = ["10.244.%d.0/24" % i for i in range(250, 200, -1)]


class KubeletNodeError(RuntimeError):
    pass


def missing_prerequisite():
    """Why this machine cannot run a kubelet Node at all (None if it can)."""
    if os.geteuid() != 0:
        return "needs root (containerd, cgroups, network namespaces)"
    for path in (CONTAINERD, CTR, RUNC) + tuple(os.path.join(CNI_BIN_DIR, p) for p in CNI_PLUGINS):
        if not os.access(path, os.X_OK):
            return "%s not found (Debian: containerd, runc, containernetworking-plugins)" % path
    if not os.path.isdir(os.path.join(CGROUP_V1, "cpu")):
        return "no cgroup v1 hierarchy at %s (this tool is written for cgroup v1 with cgroupfs)" % CGROUP_V1
    r = subprocess.run(["docker", "info", "-f", "{{.ServerVersion}}"], capture_output=True, text=True)
    if r.returncode != 0:
        return "no Docker engine (images are imported from it): %s" % r.stderr.strip()
    return None


def _run(argv, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(argv, **kw)
    if check and r.returncode != 0:
        raise KubeletNodeError("%s: exit %d: %s" % (" ".join(argv), r.returncode, (r.stderr or "").strip()))
    return r


def _cgroup_hierarchies():
    return sorted(os.path.join(CGROUP_V1, d) for d in os.listdir(CGROUP_V1)
                  if os.path.isdir(os.path.join(CGROUP_V1, d)) and not os.path.islink(os.path.join(CGROUP_V1, d)))


def _read_sysctls():
    out = {}
    for s in KUBELET_SYSCTLS:
        with open("/proc/sys/" + s) as f:
            out[s] = f.read().strip()
    return out


def _chains(tool):
    """{table: [chain, ...]} from `<tool>-save`."""
    r = _run([tool + "-save"], check=False)
    tables, table = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("*"):
            table = line[1:]
            tables[table] = []
        elif line.startswith(":") and table:
            tables[table].append(line[1:].split()[0])
    return tables


def _is_nft(tool):
    return "nf_tables" in _run([tool, "--version"], check=False).stdout


def _empty_builtin_table(tool, table):
    """True if the table holds no rule and no chain but the built-in ones (policy ACCEPT)."""
    for line in _run([tool + "-save", "-t", table], check=False).stdout.splitlines():
        if line.startswith("-A") or (line.startswith(":") and " ACCEPT " not in line):
            return False
    return True


def _mounts_under(directory):
    """Mount points at or below directory, deepest first."""
    prefix = os.path.realpath(directory).rstrip("/") + "/"
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if (point + "/").startswith(prefix):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def _free_subnet():
    used = [ipaddress.ip_network(w, strict=False)
            for line in _run(["ip", "-4", "route"]).stdout.splitlines()
            for w in line.split()[:1] if "/" in w]
    for s in POD_SUBNETS:
        net = ipaddress.ip_network(s)
        if not any(net.overlaps(u) for u in used):
            return s
    raise KubeletNodeError("no free pod subnet among %s..%s" % (POD_SUBNETS[-1], POD_SUBNETS[0]))


class KubeletNode(k8sproc.Managed):
    """One kubelet Node against the control plane in cluster_state (hack/k8s/cluster's state dir)."""

    def __init__(self, cluster_state, name="kubelet-1", state_dir=None, images=(), reaper=True,
                 owner_pid=None, log=None):
        self.cluster_state = cluster_state
        self.name = name
        self.state_dir = state_dir
        self.images = list(images)
        self.want_reaper = reaper
        self.owner_pid = owner_pid or os.getpid()
        self.log = log if log is not None else sys.stderr
        self.state = None
        self._cluster = None
        self._children = {}  # Popen of the processes started here, polled once they are stopped

    # ----- lifecycle -----------------------------------------------------------------------

    def up(self, timeout=180):
        why = missing_prerequisite()
        if why:
            raise KubeletNodeError(why)
        started = time.monotonic()
        kubelet = os.path.join(k8scluster.bin_dir(needs=("kubelet",)), "kubelet")
        taken = [h for h in _cgroup_hierarchies() if os.path.isdir(os.path.join(h, POD_CGROUP))]
        if taken:
            raise KubeletNodeError("%s exists: another kubelet runs on this machine (one per machine)" % taken[0])
        if self.state_dir is None:
            self.state_dir = tempfile.mkdtemp(prefix="kc-kubelet-")
        elif os.path.isdir(self.state_dir) and os.listdir(self.state_dir):
            raise KubeletNodeError("state directory %s is not empty" % self.state_dir)
        os.makedirs(self._p("logs"), exist_ok=True)
        tag = hashlib.sha256(self.state_dir.encode()).hexdigest()[:8]
        self.state = {
            "name": self.name, "cluster_state": self.cluster_state, "kubelet": kubelet,
            "bridge": "kckl" + tag, "subnet": _free_subnet(),
            "node_ip": k8scluster.default_advertise_address(),
            "procs": {}, "owner": None, "reaper": None,
            "before": {
                "sysctls": _read_sysctls(),
                "cgroups": {h: sorted(os.listdir(h)) for h in _cgroup_hierarchies()},
                "chains": {t: _chains(t) for t in IPTABLES},
                "log_dir": os.path.exists(LEGACY_LOG_DIR),
            },
        }
        self.state["kubelet_port"] = k8scluster.free_port(self.state["node_ip"])
        self._track()
        self._save()
        try:
            if self.want_reaper:
                self._start_reaper()
            self._say("state in %s" % self.state_dir)
            pause = self._pause_image()
            self._write_containerd_config(pause)
            self._write_cni_config()
            self._start("containerd", [CONTAINERD, "--config", self._p("containerd.toml")])
            deadline = time.monotonic() + timeout
            self._wait("containerd", deadline, lambda: self._ctr("version", check=False).returncode == 0)
            for image in [pause] + self.images:
                self._import(image)
            self._write_kubelet_config()
            self.cluster.write_kubeconfig(self._p("kubelet.kubeconfig"), "system:node:" + self.name,
                                           ["system:nodes"])
            self._start("kubelet", self._kubelet_argv())
            self._wait("kubelet", deadline, self._node_ready)
        except BaseException:
            self.down()
            raise
        self.state["up_seconds"] = round(time.monotonic() - started, 1)
        self._save()
        self._say("Node %s Ready after %.1fs" % (self.name, self.state["up_seconds"]))
        return self

    def down(self):
        """Stops the pods (through the kubelet, so CNI tears their networks down), the kubelet and
        containerd (by PID), then removes what they left on the machine and the state directory.
        Safe to call twice and on a half-started Node."""
        if self.state is None:
            return
        procs = self.state["procs"]
        if "kubelet" in procs and k8sproc.alive(procs["kubelet"]["pid"], procs["kubelet"]["start"]):
            try:
                self._evict_pods()
            except (k8scluster.ClusterError, OSError) as e:  # the control plane went first
                self._say("could not delete the pods through the API (%s); killing them" % e)
        for name in ("kubelet", "containerd"):
            if name == "containerd" and name in procs and k8sproc.alive(procs[name]["pid"], procs[name]["start"]):
                self._kill_leftover_tasks()
            if name in procs:
                k8sproc.stop(procs[name])
            if name in self._children:
                self._children.pop(name).poll()  # already reaped: only tells Popen so
        self._delete_node()
        for point in _mounts_under(self.state_dir):
            if _run(["umount", point], check=False).returncode != 0:
                _run(["umount", "-l", point], check=False)
        self._remove_network()
        self._remove_cgroups()
        self._remove_chains()
        self._restore_sysctls()
        self._remove_paths()
        reaper = self.state.get("reaper")
        if reaper and reaper["pid"] != os.getpid():
            k8sproc.stop(reaper, grace=2)
        if "reaper" in self._children:
            self._children.pop("reaper").poll()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.state = None
        self._untrack()

    @classmethod
    def load(cls, state_dir):
        state = k8sproc.read_state(state_dir, STATE_FILE, KubeletNodeError, "kubelet Node")
        n = cls(state["cluster_state"], state["name"], state_dir=state_dir, reaper=False)
        n.state = state
        return n

    # ----- access ---------------------------------------------------------------------------

    @property
    def cluster(self):
        """The control plane this Node registers with (loaded from its state directory)."""
        if self._cluster is None:
            self._cluster = k8scluster.Cluster.load(self.cluster_state)
        return self._cluster

    @property
    def socket(self):
        return self._p("containerd.sock")

    # ----- containerd -------------------------------------------------------------------------

    def _pause_image(self):
        """A scratch image whose entrypoint is `nodeagent pause` (the stand-in's static binary),
        tagged by content, built once into Docker."""
        binary = _run([NODEAGENT_BUILD], stderr=None).stdout.strip().splitlines()[-1]
        with open(binary, "rb") as f:
            tag = "kong-cluster/kubelet-pause:" + hashlib.sha256(f.read()).hexdigest()[:16]
        if _run(["docker", "image", "inspect", tag], check=False).returncode != 0:
            ctx = self._p("pause-image")
            os.makedirs(ctx)
            shutil.copy(binary, os.path.join(ctx, "pause"))
            with open(os.path.join(ctx, "Dockerfile"), "w") as f:
                f.write('FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause", "pause"]\n')
            _run(["docker", "build", "-q", "--force-rm", "-t", tag, ctx], env=dict(os.environ, DOCKER_BUILDKIT="0"))
            shutil.rmtree(ctx)
        return tag

    def _write_containerd_config(self, pause):
        d = self._p("containerd")
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        with open(self._p("containerd.toml"), "w") as f:
            f.write("""version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[{cri}]
  sandbox_image = "{pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{runc}"
        Root = "{d}/runc"
  [{cri}.cni]
    bin_dir = "{cni}"
    conf_dir = "{net}"
""".format(d=d, sock=self.socket, cri=cri, pause=pause, runc=RUNC, cni=CNI_BIN_DIR, net=self._p("cni")))

    def _write_cni_config(self):
        """A bridge with host-local addresses; no masquerade and no portmap, so CNI adds no
        iptables rules (pods talk to the host and to each other, which is all the tests need)."""
        os.makedirs(self._p("cni"))
        conf = {"cniVersion": "0.4.0", "name": "kc-kubelet-" + self.name, "plugins": [{
            "type": "bridge", "bridge": self.state["bridge"], "isGateway": True, "ipMasq": False,
            "hairpinMode": True,
            "ipam": {"type": "host-local", "ranges": [[{"subnet": self.state["subnet"]}]],
                     "routes": [{"dst": "0.0.0.0/0"}], "dataDir": self._p("cni-ipam")}}]}
        with open(self._p("cni", "10-kc-kubelet.conflist"), "w") as f:
            json.dump(conf, f, indent=1)

    def _ctr(self, *args, check=True, **kw):
        return _run([CTR, "--address", self.socket, "--namespace", "k8s.io", *args], check=check, **kw)

    def _import(self, image):
        t0 = time.monotonic()
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        try:
            self._ctr("images", "import", "-", stdin=save.stdout)
        finally:
            save.stdout.close()
            if save.wait() != 0:
                raise KubeletNodeError("docker save %s: exit %d" % (image, save.returncode))
        self._say("imported %s in %.1fs" % (image, time.monotonic() - t0))

    def _kill_leftover_tasks(self):
        """Containers the kubelet did not stop (it was killed, or never started): SIGKILL,
        delete, so no shim outlives containerd."""
        for tid in self._ctr("tasks", "ls", "-q", check=False).stdout.split():
            self._ctr("tasks", "kill", "-a", "-s", "SIGKILL", tid, check=False)
        for tid in self._ctr("tasks", "ls", "-q", check=False).stdout.split():
            self._ctr("tasks", "delete", "-f", tid, check=False)
        for cid in self._ctr("containers", "ls", "-q", check=False).stdout.split():
            self._ctr("containers", "delete", cid, check=False)

    # ----- kubelet ----------------------------------------------------------------------------

    def _write_kubelet_config(self):
        s = self.state
        conf = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            # cgroup v1 with the cgroupfs driver, as this machine has; Kubernetes 1.35+ refuses
            # cgroup v1 unless told not to.
            "failCgroupV1": False, "cgroupDriver": "cgroupfs", "failSwapOn": False,
            "containerRuntimeEndpoint": "unix://" + self.socket,
            "address": s["node_ip"], "port": s["kubelet_port"], "readOnlyPort": 0, "healthzPort": 0,
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": self.cluster.ca_file}},
            "authorization": {"mode": "Webhook"},
            "registerNode": True, "clusterDomain": "cluster.local", "resolvConf": "/etc/resolv.conf",
            # The same rhythm as the stand-in: the controller-manager marks a Node Unknown after
            # 10 s without a renewal (docs/kubernetes.md).
            "nodeStatusUpdateFrequency": "2s", "nodeLeaseDurationSeconds": 10,
            # No registry: images are imported, the GC must not remove them.
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "podLogsDir": self._p("pod-logs"), "volumePluginDir": self._p("volume-plugins"),
        }
        with open(self._p("kubelet.json"), "w") as f:
            json.dump(conf, f, indent=1)

    def _kubelet_argv(self):
        return [self.state["kubelet"], "--config=" + self._p("kubelet.json"),
                "--kubeconfig=" + self._p("kubelet.kubeconfig"), "--root-dir=" + self._p("root"),
                "--cert-dir=" + self._p("pki"), "--hostname-override=" + self.name,
                "--node-ip=" + self.state["node_ip"], "--v=1"]

    def _node_ready(self):
        status, node = self.cluster.request("GET", "/api/v1/nodes/" + self.name)
        return status == 200 and any(c["type"] == "Ready" and c["status"] == "True"
                                     for c in node.get("status", {}).get("conditions", []))

    def _node_pods(self):
        status, pods = self.cluster.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3D" + self.name)
        return pods.get("items", []) if status == 200 else []

    def _evict_pods(self, timeout=60):
        """Deletes the Node's pods and waits until the kubelet has stopped their sandboxes (CNI
        removes each pod's veth and address) and none of their tasks run."""
        for p in self._node_pods():
            m = p["metadata"]
            self.cluster.request("DELETE", "/api/v1/namespaces/%s/pods/%s" % (m["namespace"], m["name"]),
                                  body={"gracePeriodSeconds": 1})
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self._node_pods() and not self._ctr("tasks", "ls", "-q", check=False).stdout.split():
                return
            time.sleep(0.5)
        self._say("pods not stopped within %ds; killing what is left" % timeout)

    def _delete_node(self):
        try:
            self.cluster.request("DELETE", "/api/v1/nodes/" + self.name)
        except (k8scluster.ClusterError, OSError):
            pass  # the control plane is gone already: so is the Node

    # ----- host cleanup -----------------------------------------------------------------------

    def _remove_network(self):
        br = self.state["bridge"]
        for line in _run(["ip", "-o", "link", "show", "master", br], check=False).stdout.splitlines():
            _run(["ip", "link", "delete", line.split(":")[1].strip().split("@")[0]], check=False)
        _run(["ip", "link", "delete", br], check=False)

    def _remove_cgroups(self, timeout=10):
        """rmdir the kubepods trees (children first); a cgroup whose last process is still
        exiting refuses for a moment."""
        end = time.monotonic() + timeout
        for h, before in self.state["before"]["cgroups"].items():
            top = os.path.join(h, POD_CGROUP)
            if POD_CGROUP in before or not os.path.isdir(top):
                continue
            while True:
                for d, _, _ in sorted(os.walk(top), key=lambda w: w[0].count("/"), reverse=True):
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass
                if not os.path.isdir(top) or time.monotonic() > end:
                    break
                time.sleep(0.2)

    def _remove_chains(self):
        """The KUBE-*/CNI-* chains that appeared since up() and the rules that jump to them (rules
        other programs added meanwhile, Docker's say, stay), then tables the kubelet created
        (nf_tables: iptables-nft leaves an empty table behind) if nothing else uses them."""
        for tool, before in self.state["before"]["chains"].items():
            for table, chains in _chains(tool).items():
                new = [c for c in chains if c.startswith(CHAIN_PREFIXES) and c not in before.get(table, [])]
                if new:
                    for rule in _run([tool + "-save", "-t", table], check=False).stdout.splitlines():
                        words = shlex.split(rule)
                        if words[:1] == ["-A"] and any(w in new for w in words[2:]):
                            _run([tool, "-t", table, "-D"] + words[1:], check=False)
                    for c in new:
                        _run([tool, "-t", table, "-F", c], check=False)
                    for c in new:
                        _run([tool, "-t", table, "-X", c], check=False)
                if table not in before and _is_nft(tool) and _empty_builtin_table(tool, table):
                    _run(["nft", "delete", "table", "ip6" if tool == "ip6tables" else "ip", table], check=False)

    def _restore_sysctls(self):
        now = _read_sysctls()
        for s, value in self.state["before"]["sysctls"].items():
            if now.get(s) != value:
                with open("/proc/sys/" + s, "w") as f:
                    f.write(value)

    def _remove_paths(self):
        if os.path.isdir(LEGACY_LOG_DIR):
            ours = os.path.realpath(self._p("pod-logs")) + "/"
            for entry in os.listdir(LEGACY_LOG_DIR):
                link = os.path.join(LEGACY_LOG_DIR, entry)
                if os.path.islink(link) and os.readlink(link).startswith(ours):
                    os.unlink(link)
        if not self.state["before"]["log_dir"] and os.path.isdir(LEGACY_LOG_DIR):
            try:
                os.rmdir(LEGACY_LOG_DIR)  # only if empty
            except OSError:
                pass

    # ----- internals ------------------------------------------------------------------------

    def _start(self, name, argv):
        self._children[name], rec = k8sproc.spawn(argv, self._p("logs", name + ".log"))
        self.state["procs"][name] = rec
        self._save()

    def _wait(self, name, deadline, ready):
        rec = self.state["procs"][name]
        while not ready():
            if not k8sproc.alive(rec["pid"], rec["start"]):
                raise KubeletNodeError("%s exited; its log:\n%s" % (name, self.log_tail(name)))
            if time.monotonic() > deadline:
                raise KubeletNodeError("%s not ready in time; its log:\n%s" % (name, self.log_tail(name)))
            time.sleep(0.2)

    def log_tail(self, name, chars=6000):
        try:
            with open(self._p("logs", name + ".log"), errors="replace") as f:
                return f.read()[-chars:]
        except OSError:
            return ""

    def _start_reaper(self):
        self.state["owner"] = {"pid": self.owner_pid, "start": k8sproc.start_time(self.owner_pid)}
        self._save()
        self._children["reaper"], rec = k8sproc.spawn([sys.executable, CLI, "reap", "--state", self.state_dir],
                                                      self._p("reaper.log"))
        self.state["reaper"] = rec
        self._save()

    def _say(self, msg):
        print("kubelet node: %s" % msg, file=self.log, flush=True)

    def _save(self):
        tmp = self._p(STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self._p(STATE_FILE))

    def _p(self, *parts):
        return os.path.join(self.state_dir, *parts)


def reap(state_dir, poll=0.5):
    """Waits until the Node's owner ends (or the Node is brought down), then brings it down."""
    while True:
        try:
            n = KubeletNode.load(state_dir)
        except KubeletNodeError:
            return False
        owner = n.state.get("owner")
        if owner is None or not k8sproc.alive(owner["pid"], owner["start"]):
            break
        time.sleep(poll)
    n.state["reaper"] = None
    n.down()
    return True
