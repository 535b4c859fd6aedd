"""Shared helpers of the netns fault tests: agents in namespaces, membership views, waits.

Agents run as `ip netns exec NS kong-cluster agent ...` (ip execs the agent: the PID we hold is
the agent's). Each agent's RPC listens on 127.0.0.1:7373 inside its own namespace; views are
read with `kong-cluster members --format json` run inside that namespace. Every wait polls a
condition against a deadline. Only processes started here are stopped, by PID; the topology's
teardown then removes the namespaces (and whatever handler child still runs in them).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "hack", "netns"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import kcnetns  # noqa: E402
import testrun  # noqa: E402
from testrun import SKIP_CODE, log  # noqa: E402,F401

AGENT_BIN = os.environ.get("KC_AGENT_BIN") or os.path.join(ROOT, "build", "bin", "kong-cluster")
SERF_BIN = os.environ.get("KC_SERF_BIN") or "/usr/bin/serf"
# KC_NETNS_IMPL=serf runs the same scenarios with Debian's serf 0.9.4 agents, for comparison.
IMPL = os.environ.get("KC_NETNS_IMPL", "kc")
# Deadline for a view to converge after a join: news of a member travels by gossip a limited
# number of times (retransmit_mult * log10(n+1)), so a member may miss it and learn it only at
# its next push/pull (every 30 s on the lan profile), in serf exactly as here.
CONVERGE = 75
PORT = 7946
RPC = "127.0.0.1:7373"

HANDLER = """#!/bin/sh
# Appends one line per event: time, SERF_EVENT, user event / query name, stdin (';'-joined).
in=$(cat | tr '\\n' ';')
printf '%s %s %s %s\\n' "$(date +%s.%N)" "$SERF_EVENT" "${SERF_USER_EVENT:-${SERF_QUERY_NAME:--}}" "$in" >> "$1"
"""


def skip_reason():
    if not os.path.exists(AGENT_BIN):
        return "agent binary %s not built" % AGENT_BIN
    ok, why = kcnetns.can_create_namespaces()
    return None if ok else why


def main():
    testrun.main(skip_reason, "SKIP: netns tests need root and working network namespaces: ")


def wait_until(cond, timeout, what, interval=0.25, agents=None):
    """testrun.wait_until; given agents, a timeout also tells each one's view of the members."""
    def explain():
        return "; views: %s" % {n: {m: st for m, (_, st) in v.items()} if v else v
                                for n, v in views(agents).items()}
    return testrun.wait_until(cond, timeout, what, interval, explain=explain if agents else None)


class Workdir:
    """A temporary directory for logs and handler files; kept (and named) when a test failed."""

    def __init__(self, tag):
        self.path = tempfile.mkdtemp(prefix="kc-netns-%s-" % tag)
        self.agent_bin = snapshot_binary(AGENT_BIN, self.path)
        self.handler = os.path.join(self.path, "handler.sh")
        with open(self.handler, "w") as f:
            f.write(HANDLER)
        os.chmod(self.handler, 0o755)

    def file(self, name):
        return os.path.join(self.path, name)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def snapshot_binary(src, dst_dir, timeout=180):
    """Copies the agent binary into the test's directory, so a rebuild running beside a long
    test (the linker rewriting build/bin/kong-cluster) cannot break a restart. Waits for a
    build in progress: the file must be executable and unchanged for a second."""
    dst = os.path.join(dst_dir, os.path.basename(src))
    end = time.monotonic() + timeout
    while True:
        try:
            st = os.stat(src)
            if os.access(src, os.X_OK) and time.time() - st.st_mtime > 1:
                shutil.copy2(src, dst + ".tmp")
                if os.stat(src).st_mtime == st.st_mtime and os.stat(dst + ".tmp").st_size == st.st_size:
                    os.replace(dst + ".tmp", dst)
                    return dst
        except OSError:
            pass
        if time.monotonic() > end:
            raise AssertionError("could not copy a stable %s" % src)
        time.sleep(0.5)


class Agent:
    def __init__(self, topo, host, work, name=None, advertise="node", join=(), profile="lan", handler=True,
                 extra=(), impl=None, serf_advertise=True):
        self.topo, self.host, self.work = topo, topo.host(host), work
        self.impl = impl or IMPL
        self.name = name or host
        self.advertise = advertise
        self.join = list(join)
        self.profile = profile
        self.events_file = work.file(self.name + ".events") if handler else None
        self.extra = list(extra)
        # False: serf gets no -advertise and picks its address from the bound 0.0.0.0 itself.
        self.serf_advertise = serf_advertise
        self.proc = None
        self.starts = 0
        self.last_error = None

    @property
    def ip(self):
        return self.host.node_ip if self.advertise == "node" else self.host.pod_ip

    @property
    def addr(self):
        return "%s:%d" % (self.ip, PORT)

    def _serf_argv(self):
        argv = [SERF_BIN, "agent", "-node", self.name, "-bind", "0.0.0.0:%d" % PORT, "-rpc-addr", RPC,
                "-profile", self.profile, "-log-level", "info"]
        if self.serf_advertise:
            argv += ["-advertise", self.addr]
        for j in self.join:
            argv += ["-join", j]
        if self.events_file:
            argv += ["-event-handler", "%s %s" % (self.work.handler, self.events_file)]
        return argv + self.extra

    def start(self):
        assert not self.running()
        if self.impl == "serf":
            return self._spawn(self._serf_argv(), dict(os.environ))
        argv = [self.work.agent_bin, "agent", "--node", self.name, "--bind", "0.0.0.0:%d" % PORT, "--rpc-addr", RPC,
                "--profile", self.profile, "--log-level", "info"]
        env = dict(os.environ)
        # As on Kubernetes: HOST_IP / POD_IP from the downward API pick the advertised address.
        if self.advertise == "node":
            argv += ["--advertise-mode", "host"]
            env["HOST_IP"] = self.host.node_ip
        else:
            argv += ["--advertise-mode", "pod"]
            env["POD_IP"] = self.host.pod_ip
        for j in self.join:
            argv += ["--join", j]
        if self.events_file:
            argv += ["--event-handler", "%s %s" % (self.work.handler, self.events_file)]
        argv += self.extra
        return self._spawn(argv, env)

    def _spawn(self, argv, env):
        self.starts += 1
        logf = open(self.work.file("%s.%d.log" % (self.name, self.starts)), "w")
        self.proc = self.topo.popen(self.host.name, argv, stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, env=env)
        logf.close()
        # Ready when its RPC answers.
        wait_until(lambda: self.members(check=False) is not None or not self.running(), 15,
                   "agent %s RPC" % self.name, interval=0.05)
        if not self.running():
            raise AssertionError("agent %s exited at start (%s); log %s" % (self.name, self.proc.returncode,
                                                                        self.work.file("%s.%d.log" % (self.name,
                                                                                                      self.starts))))
        return self

    def log_lines(self, words):
        """The lines of this agent's logs (every start) that mention any of words."""
        out = []
        for n in range(1, self.starts + 1):
            path = self.work.file("%s.%d.log" % (self.name, n))
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    out += [line.rstrip("\n") for line in f if any(w in line for w in words)]
        return "\n".join(out)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def kill(self):
        """SIGKILL (a crash), by PID."""
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        """SIGTERM (graceful leave), by PID."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def cli(self, *args, check=True, timeout=20):
        if self.impl == "serf":
            return self.topo.run(self.host.name, [SERF_BIN, args[0], "-rpc-addr=" + RPC] +
                                 [{"-v": "-verbose"}.get(x, x.replace("--", "-", 1) if x.startswith("--") else x)
                                  for x in args[1:]],
                                 check=check, timeout=timeout)
        return self.topo.run(self.host.name, [self.work.agent_bin] + list(args) + ["--rpc-addr", RPC], check=check,
                             timeout=timeout)

    def members(self, check=True):
        """{name: (addr, status)} as this agent sees the cluster, or None if its RPC does not answer."""
        if self.impl == "serf":
            argv = [SERF_BIN, "members", "-rpc-addr=" + RPC, "-format=json"]
        else:
            argv = [self.work.agent_bin, "members", "--format", "json", "--rpc-addr", RPC]
        try:
            r = self.topo.run(self.host.name, argv, check=False, timeout=10)
        except subprocess.TimeoutExpired:
            r = None
        if r is None or r.returncode != 0:
            self.last_error = "timeout" if r is None else (r.stderr.strip() or "exit %d" % r.returncode)
            if check:
                raise AssertionError("members on %s failed: %s" % (self.name, r and r.stderr))
            return None
        d = json.loads(r.stdout)
        if self.impl == "serf":
            return {m["name"]: (m["addr"], m["status"]) for m in d["members"]}
        return {m["name"]: (m["address"], m["status"]) for m in d["data"]}

    def event(self, name, payload=""):
        self.cli("event", "--coalesce=false", name, payload)

    def events(self):
        """[(time, SERF_EVENT, user event name, stdin)] the handler logged."""
        out = []
        if not self.events_file or not os.path.exists(self.events_file):
            return out
        with open(self.events_file) as f:
            for line in f:
                parts = line.rstrip("\n").split(" ", 3)
                if len(parts) == 4:
                    out.append((float(parts[0]), parts[1], parts[2], parts[3]))
        return out

    def user_events(self):
        return [e[2] for e in self.events() if e[1] == "user"]

    def proc_stats(self):
        """(rss_kib, open_fds, threads) of the agent process."""
        rss = threads = 0
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        fds = len(os.listdir("/proc/%d/fd" % self.pid))
        return rss, fds, threads


def views(agents):
    """{agent name: members dict or None} for every running agent."""
    return {a.name: (a.members(check=False) if a.running() else None) for a in agents}


def alive_set(view):
    return frozenset(n for n, (_, s) in view.items() if s == "alive") if view else frozenset()


def all_alive(agents, expected):
    """True when every running agent sees exactly `expected` alive and nothing else."""
    expected = frozenset(expected)
    for a in agents:
        if not a.running():
            continue
        v = a.members(check=False)
        if not v or alive_set(v) != expected or len(v) != len(expected):
            return False
    return True


def sees(agent, names, status):
    v = agent.members(check=False)
    return bool(v) and all(n in v and v[n][1] == status for n in names)


class NetnsCase(unittest.TestCase):
    """Builds self.topo (kind, hosts) and self.work; tears both down, keeping the logs of a
    failed test."""
    KIND = "two-dc"
    HOSTS = 6

    def setUp(self):
        self.work = Workdir(self.id().split(".")[-1])
        self.topo = kcnetns.build(self.KIND, hosts=self.HOSTS)
        self.agents = []
        log("topology %s prefix %s, logs in %s" % (self.KIND, self.topo.prefix, self.work.path))

    def tearDown(self):
        for a in self.agents:
            a.kill()
        self.topo.teardown()
        outcome = getattr(self, "_outcome", None)
        failed = False
        if outcome is not None:
            result = getattr(outcome, "result", None)
            if result is not None:
                failed = any(t is self for t, _ in result.failures + result.errors)
            errs = getattr(outcome, "errors", None)
            if errs:
                failed = failed or any(exc for _, exc in errs)
        if failed or os.environ.get("KC_NETNS_KEEP"):
            log("keeping the logs in %s" % self.work.path)
        else:
            self.work.remove()

    def agent(self, host, **kw):
        a = Agent(self.topo, host, self.work, **kw)
        self.agents.append(a)
        return a


def rng(seed_env, default):
    seed = int(os.environ.get(seed_env, default))
    return seed, random.Random(seed)
