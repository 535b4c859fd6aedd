"""Network-namespace topologies for kong-cluster's fault tests (Python 3 stdlib only).

A topology is a set of network namespaces whose names all start with one unique prefix
(``kc<pid><letter>-``): hosts, the switches (Linux bridges) they hang on and, for two
datacenters, a router between them. Nothing is created in the root namespace: every veth is
created straight into its namespaces (``ip -n A link add .. peer .. netns B``), so traffic
only flows between namespaces we made, and deleting our namespaces removes every interface.

Topologies
----------
``lan``     one switch namespace ``P-sw`` (bridge ``br0``), hosts ``P-h01``.. with ``eth0``
            10.1.0.(10+i)/24.
``two-dc``  datacenters ``P-dc1`` and ``P-dc2`` (each a namespace holding two bridges:
            ``brnode`` for node addresses and ``brpod`` for pod addresses) joined through
            router ``P-r``. Host i of DC d has
              ``eth0`` node address 10.d.0.(10+i)/24, default route via the router 10.d.0.1:
                       node addresses route across datacenters;
              ``pod0`` pod address 10.10d.0.(10+i)/24 on the DC's pod bridge, no gateway:
                       pod addresses reach only the same DC (the router blackholes the pod
                       CIDRs, so cross-DC packets to a pod address vanish silently, as in a
                       cloud VPC that does not know the overlay).

Faults (iptables in our namespaces; netem is not available)
-----------------------------------------------------------
Each namespace gets chains KC-IN/KC-OUT/KC-FWD jumped from INPUT/OUTPUT/FORWARD; the tool
keeps the wanted rules per namespace and rewrites the chains atomically with
``iptables-restore --noflush``. Links are named:
  host links   ``h01``.. (the host's ``eth0``), ``h01:pod`` (its ``pod0``), rules in the host;
  DC uplinks   ``dc1``, ``dc2`` (router side), rules in the router's FORWARD chain.
``cut(link)`` drops everything on the link, ``degrade(link, pct)`` drops pct % of packets in
each direction (``-m statistic --mode random``; ``direction="egress"`` only the packets leaving
through the interface, as netem there would), ``restore(link)`` removes both.
``partition_dcs()``/``heal_dcs()`` cut the router between the DCs; ``partition(groups)``
isolates groups of hosts from each other (any topology); ``heal()`` removes partitions.

Cleanup
-------
A ``Topology`` is a context manager, is registered with ``atexit``, writes its state to
``/run/kc-netns/<prefix>.json`` and starts a small reaper process that removes the topology
if the creating process dies without tearing down (SIGKILL by a test timeout). ``netns.py
cleanup --prefix P`` removes what a state file or the prefix names. Teardown kills the
processes running inside our namespaces (they were started there by us), then deletes the
namespaces.
"""
import atexit
import itertools
import json
import os
import signal
import subprocess
import sys
import time

STATE_DIR = os.environ.get("KC_NETNS_STATE_DIR", "/run/kc-netns")
HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.path.join(HERE, "netns.py")

_counter = itertools.count()
_live = []  # topologies of this process not yet torn down


class NetnsError(RuntimeError):
    pass


def run(argv, check=True, input=None, timeout=30):
    r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise NetnsError("%s failed (%d): %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return r


def ip(*args, ns=None, check=True):
    argv = ["ip"] + (["-n", ns] if ns else []) + list(args)
    return run(argv, check=check)


def nsexec(ns, argv, check=True, input=None, timeout=30):
    return run(["ip", "netns", "exec", ns] + list(argv), check=check, input=input, timeout=timeout)


def list_namespaces():
    r = run(["ip", "-j", "netns", "list"], check=False)
    if r.returncode != 0 or not r.stdout.strip():
        return []
    return [e["name"] for e in json.loads(r.stdout)]


def unique_prefix():
    """kc<pid><letter>: unique among live processes; the letter counts topologies of this process."""
    n = next(_counter)
    letters = ""
    while True:
        letters = chr(ord("a") + n % 26) + letters
        n //= 26
        if n == 0:
            break
    return "kc%d%s" % (os.getpid(), letters)


def can_create_namespaces():
    """(True, "") when this process may create namespaces, veths, bridges and iptables rules;
    else (False, why)."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces)"
    for tool in ("ip", "iptables", "iptables-restore"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ.get("PATH", "").split(":") +
                   ["/usr/sbin", "/sbin"]):
            return False, "%s not found" % tool
    p = unique_prefix() + "-probe"
    try:
        r = ip("netns", "add", p, check=False)
        if r.returncode != 0:
            return False, "cannot create a network namespace: " + r.stderr.strip()
        r = ip("link", "add", "br0", "type", "bridge", ns=p, check=False)
        if r.returncode != 0:
            return False, "cannot create a bridge in a namespace: " + r.stderr.strip()
        r = ip("link", "add", "name", "kcprobe0", "type", "veth", "peer", "name", "kcprobe1", ns=p, check=False)
        if r.returncode != 0:
            return False, "cannot create a veth pair: " + r.stderr.strip()
        r = nsexec(p, ["iptables", "-w", "-S"], check=False)
        if r.returncode != 0:
            return False, "iptables does not work in a namespace: " + r.stderr.strip()
        return True, ""
    finally:
        ip("netns", "del", p, check=False)


def _proc_alive(pid, starttime=None):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    if fields[0] == "Z":
        return False
    return starttime is None or int(fields[19]) == starttime


def _proc_starttime(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def kill_namespace_processes(ns, deadline_s=5.0):
    """SIGKILLs every process inside namespace ns (only ever called on our namespaces)."""
    end = time.monotonic() + deadline_s
    while True:
        r = run(["ip", "netns", "pids", ns], check=False)
        pids = [int(x) for x in r.stdout.split()] if r.returncode == 0 else []
        pids = [p for p in pids if p != os.getpid()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > end:
            return
        time.sleep(0.05)


def cleanup_prefix(prefix):
    """Removes every namespace named <prefix>-* and the state file. Returns the names removed."""
    if not prefix or "-" in prefix or "/" in prefix:
        raise NetnsError("bad prefix %r" % prefix)
    names = set(n for n in list_namespaces() if n.startswith(prefix + "-"))
    state = state_path(prefix)
    try:
        with open(state) as f:
            names |= set(n for n in json.load(f).get("namespaces", []) if n.startswith(prefix + "-"))
    except (OSError, ValueError):
        pass
    present = set(list_namespaces())
    removed = []
    for ns in sorted(names):
        if ns in present:
            kill_namespace_processes(ns)
            ip("netns", "del", ns, check=False)
            removed.append(ns)
    try:
        os.unlink(state)
    except OSError:
        pass
    return removed


def state_path(prefix):
    return os.path.join(STATE_DIR, prefix + ".json")


class Host:
    def __init__(self, name, ns, dc, node_ip, pod_ip=None):
        self.name, self.ns, self.dc, self.node_ip, self.pod_ip = name, ns, dc, node_ip, pod_ip

    def to_json(self):
        return dict(name=self.name, ns=self.ns, dc=self.dc, node_ip=self.node_ip, pod_ip=self.pod_ip)

    def __repr__(self):
        return "Host(%s %s %s)" % (self.name, self.node_ip, self.pod_ip)


class Topology:
    """Hosts in namespaces; see the module docstring. Use build(kind, ...) or the helpers."""

    def __init__(self, kind, prefix=None, reaper=True):
        self.kind = kind
        self.prefix = prefix or unique_prefix()
        self.namespaces = []
        self.hosts = {}  # name -> Host, in creation order
        self.links = {}  # link name -> (ns, interface, "host"|"router")
        self.router = None
        self.rules = {}  # ns -> {key: [(chain, rule)]}
        self.torn_down = False
        self._reaper = None
        self._want_reaper = reaper
        self.creator_pid = os.getpid()

    # ---------------------------------------------------------------- building
    def _ns(self, role):
        name = "%s-%s" % (self.prefix, role)
        ip("netns", "add", name)
        self.namespaces.append(name)
        self._save()
        ip("link", "set", "lo", "up", ns=name)
        nsexec(name, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"], check=False)
        self._init_chains(name)
        return name

    def _init_chains(self, ns):
        text = ("*filter\n:KC-IN - [0:0]\n:KC-OUT - [0:0]\n:KC-FWD - [0:0]\n"
                "-A INPUT -j KC-IN\n-A OUTPUT -j KC-OUT\n-A FORWARD -j KC-FWD\nCOMMIT\n")
        nsexec(ns, ["iptables-restore", "-w", "--noflush"], input=text)
        self.rules[ns] = {}

    def _bridge(self, ns, name):
        ip("link", "add", name, "type", "bridge", ns=ns)
        ip("link", "set", name, "up", ns=ns)

    def _veth(self, ns_a, if_a, ns_b, if_b):
        ip("link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", ns_b, ns=ns_a)
        ip("link", "set", if_a, "up", ns=ns_a)
        ip("link", "set", if_b, "up", ns=ns_b)

    def _start(self):
        _live.append(self)
        os.makedirs(STATE_DIR, exist_ok=True)
        self._save()
        if self._want_reaper:
            log = open(os.path.join(STATE_DIR, self.prefix + ".reaper.log"), "w")
            self._reaper = subprocess.Popen(
                [sys.executable, CLI, "reap", "--prefix", self.prefix, "--parent", str(os.getpid()),
                 "--parent-start", str(_proc_starttime(os.getpid()))],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
            log.close()

    def add_host_lan(self, switch_ns, i):
        name = "h%02d" % i
        ns = self._ns(name)
        self._veth(ns, "eth0", switch_ns, name)
        ip("link", "set", name, "master", "br0", ns=switch_ns)
        h = Host(name, ns, 1, "10.1.0.%d" % (10 + i))
        ip("addr", "add", h.node_ip + "/24", "dev", "eth0", ns=ns)
        self.hosts[name] = h
        self.links[name] = (ns, "eth0", "host")
        return h

    def add_host_dc(self, dc, i):
        name = "h%02d" % i
        ns = self._ns(name)
        dcns = "%s-dc%d" % (self.prefix, dc)
        self._veth(ns, "eth0", dcns, name + "n")
        ip("link", "set", name + "n", "master", "brnode", ns=dcns)
        self._veth(ns, "pod0", dcns, name + "p")
        ip("link", "set", name + "p", "master", "brpod", ns=dcns)
        h = Host(name, ns, dc, "10.%d.0.%d" % (dc, 10 + i), "10.%d.0.%d" % (100 + dc, 10 + i))
        ip("addr", "add", h.node_ip + "/24", "dev", "eth0", ns=ns)
        ip("addr", "add", h.pod_ip + "/24", "dev", "pod0", ns=ns)
        ip("route", "add", "default", "via", "10.%d.0.1" % dc, ns=ns)
        self.hosts[name] = h
        self.links[name] = (ns, "eth0", "host")
        self.links[name + ":pod"] = (ns, "pod0", "host")
        return h

    # ---------------------------------------------------------------- state
    def to_json(self):
        return dict(kind=self.kind, prefix=self.prefix, namespaces=self.namespaces, router=self.router,
                    hosts=[h.to_json() for h in self.hosts.values()], links=self.links, rules=self.rules,
                    creator_pid=self.creator_pid)

    def _save(self):
        os.makedirs(STATE_DIR, exist_ok=True)
        tmp = state_path(self.prefix) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.to_json(), f, indent=1)
        os.replace(tmp, state_path(self.prefix))

    @classmethod
    def load(cls, prefix):
        """The topology a state file describes (for the CLI's fault commands)."""
        with open(state_path(prefix)) as f:
            d = json.load(f)
        t = cls(d["kind"], prefix=d["prefix"], reaper=False)
        t.namespaces, t.router, t.creator_pid = d["namespaces"], d["router"], d.get("creator_pid")
        for hj in d["hosts"]:
            t.hosts[hj["name"]] = Host(**hj)
        t.links = {k: tuple(v) for k, v in d["links"].items()}
        t.rules = {ns: {k: [tuple(r) for r in v] for k, v in keys.items()} for ns, keys in d["rules"].items()}
        return t

    # ---------------------------------------------------------------- faults
    def _apply(self, ns):
        lines = ["*filter", ":KC-IN - [0:0]", ":KC-OUT - [0:0]", ":KC-FWD - [0:0]"]
        for key in sorted(self.rules[ns]):
            for chain, rule in self.rules[ns][key]:
                lines.append("-A %s %s" % (chain, rule))
        lines.append("COMMIT")
        nsexec(ns, ["iptables-restore", "-w", "--noflush"], input="\n".join(lines) + "\n")
        self._save()

    def _set(self, ns, key, rules):
        if rules:
            self.rules[ns][key] = rules
        else:
            self.rules[ns].pop(key, None)
        self._apply(ns)

    def _link(self, link):
        if link not in self.links:
            raise NetnsError("no link %r (have %s)" % (link, ", ".join(sorted(self.links))))
        return self.links[link]

    def _drop_rules(self, ns, ifname, kind, match="", direction="both"):
        """Rules dropping (a share of) the link's packets: "both" directions, or only "egress"
        (what netem on that interface would do: host -> switch for host links, router -> DC
        for uplinks)."""
        if kind == "router":
            rules = [("KC-FWD", "-o %s %s-j DROP" % (ifname, match))]
            if direction == "both":
                rules.insert(0, ("KC-FWD", "-i %s %s-j DROP" % (ifname, match)))
            return rules
        rules = [("KC-OUT", "-o %s %s-j DROP" % (ifname, match))]
        if direction == "both":
            rules.insert(0, ("KC-IN", "-i %s %s-j DROP" % (ifname, match)))
        return rules

    def cut(self, link):
        ns, ifname, kind = self._link(link)
        self._set(ns, "cut:" + ifname, self._drop_rules(ns, ifname, kind))

    def degrade(self, link, loss_pct, direction="both"):
        """Drops loss_pct % of the packets on the link, in each direction ("both") or only
        leaving through it ("egress", as netem on the interface); 0 removes the loss."""
        if direction not in ("both", "egress"):
            raise NetnsError("direction is both or egress")
        ns, ifname, kind = self._link(link)
        rules = []
        if loss_pct > 0:
            match = "-m statistic --mode random --probability %.5f " % (loss_pct / 100.0)
            rules = self._drop_rules(ns, ifname, kind, match, direction)
        self._set(ns, "loss:" + ifname, rules)

    def restore(self, link):
        """Removes the cut and the loss of the link."""
        ns, ifname, _ = self._link(link)
        self.rules[ns].pop("cut:" + ifname, None)
        self.rules[ns].pop("loss:" + ifname, None)
        self._apply(ns)

    def degrade_all(self, loss_pct, direction="both", pod_links=False):
        for link in self.links:
            if pod_links or not link.endswith(":pod"):
                self.degrade(link, loss_pct, direction)

    def partition_dcs(self):
        if not self.router:
            raise NetnsError("partition_dcs needs the two-dc topology")
        self._set(self.router, "partition", [("KC-FWD", "-i dc1 -o dc2 -j DROP"), ("KC-FWD", "-i dc2 -o dc1 -j DROP")])

    def heal_dcs(self):
        if self.router:
            self._set(self.router, "partition", [])

    def partition(self, groups):
        """Isolates the given groups of hosts (lists of host names) from each other; hosts in no
        group keep talking to everyone."""
        where = {}
        for gi, g in enumerate(groups):
            for name in g:
                where[name] = gi
        for name, h in self.hosts.items():
            rules = []
            if name in where:
                for other_name, other in self.hosts.items():
                    if other_name in where and where[other_name] != where[name]:
                        for addr in (other.node_ip, other.pod_ip):
                            if addr:
                                rules.append(("KC-IN", "-s %s -j DROP" % addr))
                                rules.append(("KC-OUT", "-d %s -j DROP" % addr))
            if rules or "partition" in self.rules[h.ns]:
                self._set(h.ns, "partition", rules)

    def heal(self):
        """Removes every partition (host groups and DCs); cuts and losses stay."""
        for h in self.hosts.values():
            if "partition" in self.rules[h.ns]:
                self._set(h.ns, "partition", [])
        self.heal_dcs()

    def heal_all(self):
        """Removes every fault: partitions, cuts, losses."""
        for ns in self.rules:
            if self.rules[ns]:
                self.rules[ns] = {}
                self._apply(ns)

    # ---------------------------------------------------------------- use
    def host(self, name):
        return self.hosts[name]

    def popen(self, host, argv, **kw):
        """Starts argv inside the host's namespace (`ip netns exec` execs it: the PID is argv's)."""
        ns = self.hosts[host].ns if host in self.hosts else host
        return subprocess.Popen(["ip", "netns", "exec", ns] + list(argv), **kw)

    def run(self, host, argv, check=True, timeout=30, input=None):
        ns = self.hosts[host].ns if host in self.hosts else host
        return nsexec(ns, argv, check=check, timeout=timeout, input=input)

    def describe(self):
        out = ["topology %s, prefix %s" % (self.kind, self.prefix)]
        for h in self.hosts.values():
            out.append("  %-4s ns %-16s dc%d node %-12s pod %s" % (h.name, h.ns, h.dc, h.node_ip, h.pod_ip or "-"))
        if self.router:
            out.append("  router ns %s (dc1 10.1.0.1, dc2 10.2.0.1)" % self.router)
        out.append("  links: " + " ".join(sorted(self.links)))
        return "\n".join(out)

    # ---------------------------------------------------------------- teardown
    def teardown(self):
        if self.torn_down:
            return
        self.torn_down = True
        cleanup_prefix(self.prefix)
        if self in _live:
            _live.remove(self)
        if self._reaper is not None:
            try:
                self._reaper.kill()
                self._reaper.wait(5)
            except Exception:
                pass
        try:
            os.unlink(os.path.join(STATE_DIR, self.prefix + ".reaper.log"))
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False


def _assemble(kind, prefix, reaper, populate):
    """A Topology of `kind`, filled in by populate(t); torn down again if that fails."""
    t = Topology(kind, prefix, reaper)
    t._start()
    try:
        populate(t)
        t._save()
    except BaseException:
        t.teardown()
        raise
    return t


def build_lan(hosts=3, prefix=None, reaper=True):
    def populate(t):
        sw = t._ns("sw")
        t._bridge(sw, "br0")
        for i in range(1, hosts + 1):
            t.add_host_lan(sw, i)
    return _assemble("lan", prefix, reaper, populate)


def build_two_dc(per_dc=3, prefix=None, reaper=True):
    """Hosts h01..h<per_dc> in dc1, the next per_dc in dc2."""
    def populate(t):
        r = t._ns("r")
        t.router = r
        nsexec(r, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        for dc in (1, 2):
            dcns = t._ns("dc%d" % dc)
            t._bridge(dcns, "brnode")
            t._bridge(dcns, "brpod")
            t._veth(r, "dc%d" % dc, dcns, "uplink")
            ip("link", "set", "dev", "uplink", "master", "brnode", ns=dcns)
            ip("addr", "add", "10.%d.0.1/24" % dc, "dev", "dc%d" % dc, ns=r)
            # Pod addresses are not routed between DCs: dropped silently at the router.
            ip("route", "add", "blackhole", "10.%d.0.0/24" % (100 + dc), ns=r)
            t.links["dc%d" % dc] = (r, "dc%d" % dc, "router")
        for i in range(1, 2 * per_dc + 1):
            t.add_host_dc(1 if i <= per_dc else 2, i)
    return _assemble("two-dc", prefix, reaper, populate)


def build(kind, hosts=3, prefix=None, reaper=True):
    """kind 'lan' (hosts on one switch) or 'two-dc' (hosts split evenly between two DCs)."""
    if kind == "lan":
        return build_lan(hosts, prefix, reaper)
    if kind == "two-dc":
        return build_two_dc(max(1, hosts // 2), prefix, reaper)
    raise NetnsError("unknown topology %r (lan, two-dc)" % kind)


@atexit.register
def _teardown_all():
    for t in list(_live):
        if t.creator_pid == os.getpid():
            t.teardown()
