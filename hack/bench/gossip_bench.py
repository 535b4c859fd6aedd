#!/usr/bin/env python3
"""Gossip benchmark: kong-cluster's agent against Debian's serf 0.9.4, side by side.

In one run, for each cluster size N, it starts N `serf agent`s (a cluster of their own)
and N `kong-cluster agent`s (a cluster of their own) on 127.0.0.1 with free ports, and
measures for both:

  * time until every agent lists all N members `alive` after a mass join
    (all agents except #0 send a `join` RPC to #0 at once; t0 = first join sent),
    per agent: median, max, and how many agents took longer than --straggler seconds
    (serf 0.9.4 at N=60 often leaves a few waiting ~75 s for a push/pull);
  * RSS (VmRSS), threads and CPU (utime+stime) per agent over an idle window in which
    nothing talks to the agents;
  * where the median agent's resident memory is: the mappings with the most RSS
    (/proc/PID/smaps, summed per file);
  * time until every other agent lists a `kill -9`ed member `failed` (--kills victims per
    cluster in every round, the two implementations taking turns so that both meet the same machine load),
    with the spread over kills, the load average at each kill and whether the difference of
    the means is outside its 95 % interval;
  * time from a user event (`event` RPC, coalescing off, --events of them from random
    agents) until the `user:bench` handler script had run on every agent, as Kong's cache
    invalidations travel (the handler logs bash's $EPOCHREALTIME, no extra process).

--datastore starts a throwaway Postgres and gives our agents pg_host (serf has none).

It prints the numbers with ratios (ours/serf) and PASS/MISS against the goals:
RSS <= 1/5 of serf's, idle CPU <= 1/2 of serf's, failure detection no slower,
and at N=60 no member left waiting (> --straggler s) to learn of a join.

The agents' RPC (Serf IPC v1, msgpack over TCP) is spoken directly with the small msgpack
codec below, one persistent connection per agent, polled every --poll seconds with only
agents that have not yet reached the condition being asked. Python 3 stdlib only.

Every process this script starts is stopped by PID at the end, also on Ctrl-C, SIGTERM
or an exception (and gets SIGKILL from the kernel if this script dies: PR_SET_PDEATHSIG).
Every phase has a deadline, so the run time is bounded (the bound is printed at start).
Exit status: 0 when the run completed (whatever the goals say), 1 on an error (an agent
would not start, ...), 3 with --require-complete when some phase timed out.
"""

import argparse
import shlex
import ctypes
import json
import os
import platform
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import smaps  # noqa: E402  (next to this script)
import throwaway_postgres  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_MIB = 1.0 / 1024.0  # VmRSS is in kB

# Goals: RSS, CPU, detection, and no straggler at N >= 60.
GOAL_RSS = 1 / 5
GOAL_CPU = 1 / 2
GOAL_DETECT = 1.0
GOAL_WAIT_N = 60


# ---------------------------------------------------------------------------------------
# msgpack (just what the Serf RPC needs)
# ---------------------------------------------------------------------------------------

class Incomplete(Exception):
    """The buffer ends inside an object: read more bytes."""


def mp_pack(o, out=None):
    if out is None:
        out = bytearray()
        mp_pack(o, out)
        return bytes(out)
    if o is None:
        out.append(0xC0)
    elif o is True:
        out.append(0xC3)
    elif o is False:
        out.append(0xC2)
    elif isinstance(o, int):
        if 0 <= o <= 0x7F:
            out.append(o)
        elif -32 <= o < 0:
            out.append(o & 0xFF)
        elif o >= 0:
            for lim, tag, fmt in ((0xFF, 0xCC, ">B"), (0xFFFF, 0xCD, ">H"),
                                  (0xFFFFFFFF, 0xCE, ">I"), (2**64 - 1, 0xCF, ">Q")):
                if o <= lim:
                    out.append(tag)
                    out += struct.pack(fmt, o)
                    break
            else:
                raise ValueError("int too large")
        else:
            for lim, tag, fmt in ((-0x80, 0xD0, ">b"), (-0x8000, 0xD1, ">h"),
                                  (-0x80000000, 0xD2, ">i"), (-2**63, 0xD3, ">q")):
                if o >= lim:
                    out.append(tag)
                    out += struct.pack(fmt, o)
                    break
            else:
                raise ValueError("int too small")
    elif isinstance(o, str):
        b = o.encode("utf-8")
        n = len(b)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += bytes((0xD9, n))
        elif n <= 0xFFFF:
            out.append(0xDA)
            out += struct.pack(">H", n)
        else:
            out.append(0xDB)
            out += struct.pack(">I", n)
        out += b
    elif isinstance(o, (bytes, bytearray)):
        n = len(o)
        if n <= 0xFF:
            out += bytes((0xC4, n))
        elif n <= 0xFFFF:
            out.append(0xC5)
            out += struct.pack(">H", n)
        else:
            out.append(0xC6)
            out += struct.pack(">I", n)
        out += o
    elif isinstance(o, (list, tuple)):
        n = len(o)
        if n < 16:
            out.append(0x90 | n)
        elif n <= 0xFFFF:
            out.append(0xDC)
            out += struct.pack(">H", n)
        else:
            out.append(0xDD)
            out += struct.pack(">I", n)
        for x in o:
            mp_pack(x, out)
    elif isinstance(o, dict):
        n = len(o)
        if n < 16:
            out.append(0x80 | n)
        elif n <= 0xFFFF:
            out.append(0xDE)
            out += struct.pack(">H", n)
        else:
            out.append(0xDF)
            out += struct.pack(">I", n)
        for k in sorted(o):  # Go sorts struct fields by name
            mp_pack(k, out)
            mp_pack(o[k], out)
    else:
        raise TypeError("cannot pack %r" % type(o))


_U8, _U16, _U32, _U64 = (struct.Struct(f).unpack_from for f in (">B", ">H", ">I", ">Q"))
_I8, _I16, _I32, _I64 = (struct.Struct(f).unpack_from for f in (">b", ">h", ">i", ">q"))
_F32, _F64 = (struct.Struct(f).unpack_from for f in (">f", ">d"))
_FIXED = {0xCC: (1, _U8), 0xCD: (2, _U16), 0xCE: (4, _U32), 0xCF: (8, _U64),
          0xD0: (1, _I8), 0xD1: (2, _I16), 0xD2: (4, _I32), 0xD3: (8, _I64),
          0xCA: (4, _F32), 0xCB: (8, _F64)}


def _raw(b, i, n, text):
    j = i + n
    if j > len(b):
        raise Incomplete
    v = b[i:j]
    return (v.decode("utf-8", "replace") if text else bytes(v)), j


def _unpack(b, i):
    t = b[i]
    i += 1
    if t <= 0x7F:
        return t, i
    if t >= 0xE0:
        return t - 0x100, i
    if 0xA0 <= t <= 0xBF:
        return _raw(b, i, t & 0x1F, True)
    if 0x90 <= t <= 0x9F:
        n = t & 0x0F
        return _array(b, i, n)
    if 0x80 <= t <= 0x8F:
        return _map(b, i, t & 0x0F)
    if t == 0xC0:
        return None, i
    if t == 0xC2:
        return False, i
    if t == 0xC3:
        return True, i
    f = _FIXED.get(t)
    if f is not None:
        return f[1](b, i)[0], i + f[0]
    if t in (0xD9, 0xC4):
        return _raw(b, i + 1, _U8(b, i)[0], t == 0xD9)
    if t in (0xDA, 0xC5):
        return _raw(b, i + 2, _U16(b, i)[0], t == 0xDA)
    if t in (0xDB, 0xC6):
        return _raw(b, i + 4, _U32(b, i)[0], t == 0xDB)
    if t == 0xDC:
        return _array(b, i + 2, _U16(b, i)[0])
    if t == 0xDD:
        return _array(b, i + 4, _U32(b, i)[0])
    if t == 0xDE:
        return _map(b, i + 2, _U16(b, i)[0])
    if t == 0xDF:
        return _map(b, i + 4, _U32(b, i)[0])
    if 0xD4 <= t <= 0xD8 or 0xC7 <= t <= 0xC9:  # ext: skip, return None
        if t <= 0xD8:
            return None, i + 1 + (1, 2, 4, 8, 16)[t - 0xD4]
        w = {0xC7: (1, _U8), 0xC8: (2, _U16), 0xC9: (4, _U32)}[t]
        return None, i + w[0] + 1 + w[1](b, i)[0]
    raise ValueError("bad msgpack byte 0x%02x" % t)


def _array(b, i, n):
    out = []
    for _ in range(n):
        v, i = _unpack(b, i)
        out.append(v)
    return out, i


def _map(b, i, n):
    out = {}
    for _ in range(n):
        k, i = _unpack(b, i)
        v, i = _unpack(b, i)
        out[k if not isinstance(k, (list, dict)) else repr(k)] = v
    return out, i


def mp_unpack(b, i=0):
    """Decodes one object at b[i:]; returns (object, next index) or raises Incomplete."""
    try:
        v, j = _unpack(b, i)
    except (IndexError, struct.error):
        raise Incomplete from None
    if j > len(b):
        raise Incomplete
    return v, j


# ---------------------------------------------------------------------------------------
# Serf RPC client (IPC v1): persistent connection, pipelined requests matched by Seq
# ---------------------------------------------------------------------------------------

class RpcError(Exception):
    pass


class Rpc:
    # commands whose reply carries a body (on success; join's also on error)
    BODY = {"members", "members-filtered", "join", "stats"}

    def __init__(self, addr, timeout=2.0):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.seq = 0
        self.pending = {}   # seq -> command
        self.replies = {}   # seq -> (error, body)
        self.closed = False
        self.call("handshake", {"Version": 1}, timeout)

    def fileno(self):
        return self.sock.fileno()

    def send(self, cmd, body=None):
        self.seq += 1
        data = mp_pack({"Command": cmd, "Seq": self.seq})
        if body is not None:
            data += mp_pack(body)
        self.sock.sendall(data)
        self.pending[self.seq] = cmd
        return self.seq

    def _parse(self):
        """Moves every complete reply in the buffer to self.replies."""
        pos = 0
        b = self.buf
        while pos < len(b):
            try:
                hdr, p = mp_unpack(b, pos)
                if not isinstance(hdr, dict) or "Seq" not in hdr:
                    raise RpcError("bad reply header %r" % (hdr,))
                seq, err = hdr.get("Seq"), hdr.get("Error") or ""
                cmd = self.pending.get(seq)
                body = None
                if cmd in self.BODY and (not err or cmd == "join"):
                    body, p = mp_unpack(b, p)
            except Incomplete:
                break
            self.pending.pop(seq, None)
            self.replies[seq] = (err, body)
            pos = p
        self.buf = b[pos:]

    def feed(self):
        """Reads what the socket has (call when select says readable). False on EOF."""
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, socket.timeout):
            return True
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.buf += data
        self._parse()
        return True

    def take(self, seq):
        return self.replies.pop(seq, None)

    def wait(self, seq, timeout):
        deadline = time.monotonic() + timeout
        while seq not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RpcError("RPC timeout")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            if not data:
                self.closed = True
                raise RpcError("connection closed")
            self.buf += data
            self._parse()
        err, body = self.replies.pop(seq)
        if err:
            raise RpcError(err)
        return body

    def call(self, cmd, body=None, timeout=5.0):
        return self.wait(self.send(cmd, body), timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True


# ---------------------------------------------------------------------------------------
# /proc helpers
# ---------------------------------------------------------------------------------------

def proc_cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])  # utime, stime (fields 14, 15)


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


def proc_pss_kib(pid):
    """Proportional set size: shared pages divided among the processes mapping them."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def udp_errors():
    """Host-wide UDP InErrors + RcvbufErrors (/proc/net/snmp): dropped datagrams."""
    try:
        with open("/proc/net/snmp") as f:
            rows = [line.split() for line in f if line.startswith("Udp:")]
        hdr, val = rows[0], rows[1]
        return sum(int(val[hdr.index(k)]) for k in ("InErrors", "RcvbufErrors") if k in hdr)
    except (OSError, IndexError, ValueError):
        return None


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]), idle


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def machine_info():
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["mem_total_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M)
            if m:
                info["os"] = m.group(1)
    except OSError:
        pass
    return info


# ---------------------------------------------------------------------------------------
# agents and clusters
# ---------------------------------------------------------------------------------------

def probe_ports(k):
    """k loopback ports free for TCP and UDP (bind port 0), held until released."""
    held, ports = [], []
    while len(ports) < k:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        p = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
        except OSError:
            t.close()
            u.close()
            continue
        held += [t, u]
        ports.append(p)
    return ports, held


def _child_setup():
    # Die with this script even if it is SIGKILLed (PR_SET_PDEATHSIG = 1).
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def clean_env():
    return {k: v for k, v in os.environ.items()
            if not (k.startswith("KONG_") or k.startswith("SERF_") or k == "POD_NAME")}


class Agent:
    def __init__(self, impl, idx, name):
        self.impl, self.idx, self.name = impl, idx, name
        self.gossip_port = self.rpc_port = None
        self.proc = None
        self.rpc = None
        self.log_path = None
        self.spawned = None
        self.rpc_up = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Registry:
    """Every process started, so that everything is stopped by PID whatever happens."""

    def __init__(self):
        self.procs = []

    def add(self, p):
        self.procs.append(p)

    def stop(self, procs=None, grace=5.0):
        procs = [p for p in (procs if procs is not None else self.procs) if p.poll() is None]
        for p in procs:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for p in procs:
            try:
                p.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass


class Cluster:
    PREFIX = {"serf": "serf", "ours": "kc"}

    def __init__(self, impl, n, cfg, registry, logdir, tag):
        self.impl, self.n, self.cfg, self.reg = impl, n, cfg, registry
        self.logdir = os.path.join(logdir, "%s-n%d-%s" % (impl, n, tag))
        os.makedirs(self.logdir, exist_ok=True)
        self.agents = [Agent(impl, i, "%s-%03d" % (self.PREFIX[impl], i)) for i in range(n)]
        self.names = {a.name for a in self.agents}
        self._t0, self._late = None, {}
        self.handler, self.handled = self._write_event_handler()

    def _write_event_handler(self):
        """A handler for user event `bench` that records who ran it, the payload and when
        (bash's $EPOCHREALTIME, no extra process), one short O_APPEND line per run."""
        handled = os.path.join(self.logdir, "handled.txt")
        path = os.path.join(self.logdir, "on_bench_event.sh")
        with open(path, "w") as f:
            f.write('#!/bin/bash\nread -r payload\n'
                    'echo "$SERF_SELF_NAME $payload $EPOCHREALTIME" >> %s\n' % shlex.quote(handled))
        os.chmod(path, 0o755)
        return path, handled

    def _cmd(self, a):
        if self.impl == "serf":
            return [self.cfg.serf_bin, "agent", "-node=" + a.name,
                    "-bind=127.0.0.1:%d" % a.gossip_port, "-rpc-addr=127.0.0.1:%d" % a.rpc_port,
                    "-profile=lan", "-log-level=" + self.cfg.agent_log_level,
                    "-event-handler=user:bench=" + self.handler]
        return [self.cfg.ours_bin, "agent", "--node", a.name,
                "--bind", "127.0.0.1:%d" % a.gossip_port, "--rpc-addr", "127.0.0.1:%d" % a.rpc_port,
                "--profile", "lan", "--log-level", self.cfg.agent_log_level,
                "--event-handler", "user:bench=" + self.handler]

    def _spawn(self, agents):
        ports, held = probe_ports(2 * len(agents))
        for s in held:
            s.close()
        env = clean_env()
        if self.impl == "ours" and self.cfg.pg:
            env.update(self.cfg.pg.agent_env())  # serf has no datastore: it runs as always
        for k, a in enumerate(agents):
            a.gossip_port, a.rpc_port = ports[2 * k], ports[2 * k + 1]
            a.log_path = os.path.join(self.logdir, a.name + ".log")
            with open(a.log_path, "ab") as log:
                a.proc = subprocess.Popen(self._cmd(a), stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=env, cwd=self.logdir,
                                          start_new_session=True, preexec_fn=_child_setup)
            self.reg.add(a.proc)
            a.spawned = time.monotonic()

    def start(self, timeout=30.0):
        """Starts all agents unjoined and waits until each RPC answers a handshake."""
        t0 = time.monotonic()
        todo = list(self.agents)
        attempts = {a.name: 0 for a in self.agents}
        self._spawn(todo)
        deadline = t0 + timeout
        while todo:
            retry, still = [], []
            for a in todo:
                if a.proc.poll() is not None:  # died: most likely a port taken meanwhile
                    attempts[a.name] += 1
                    if attempts[a.name] >= 3:
                        raise RuntimeError("%s agent %s exited with %s three times; see %s"
                                           % (self.impl, a.name, a.proc.returncode, a.log_path))
                    retry.append(a)
                    continue
                try:
                    a.rpc = Rpc(("127.0.0.1", a.rpc_port), timeout=1.0)
                    a.rpc_up = time.monotonic()
                except (OSError, RpcError):
                    still.append(a)
            if retry:
                self._spawn(retry)
            todo = still + retry
            # Checked after a full pass: with hundreds of agents a pass itself takes seconds.
            if todo and time.monotonic() > deadline:
                raise RuntimeError("%s: %d agents did not answer RPC within %.0f s (logs: %s)"
                                   % (self.impl, len(todo), timeout, self.logdir))
            if todo:
                time.sleep(0.05)
        return max(a.rpc_up - a.spawned for a in self.agents), time.monotonic() - t0

    def live(self):
        return [a for a in self.agents if a.alive() and a.rpc and not a.rpc.closed]

    def poll_until(self, agents, make_req, done, deadline, poll):
        """Asks each agent make_req() every `poll` s until done(agent, body) holds for it.
        Only agents not yet done are asked; one request in flight per agent.
        Returns {agent name: monotonic time of the reply that showed done}."""
        sel = selectors.DefaultSelector()
        for a in agents:
            a.rpc.sock.setblocking(False)
            sel.register(a.rpc.sock, selectors.EVENT_READ, a)
        inflight, got = {}, {}
        pending = {a.name: a for a in agents}
        try:
            while pending and time.monotonic() < deadline:
                tick = time.monotonic()
                for name, a in list(pending.items()):
                    if name not in inflight and not a.rpc.closed:
                        cmd, body = make_req(a)
                        try:
                            inflight[name] = a.rpc.send(cmd, body)
                        except OSError:
                            a.rpc.closed = True
                while True:
                    left = min(tick + poll, deadline) - time.monotonic()
                    if left <= 0:
                        break
                    for key, _ in sel.select(left):
                        a = key.data
                        if not a.rpc.feed():
                            sel.unregister(a.rpc.sock)
                            inflight.pop(a.name, None)
                            continue
                        seq = inflight.get(a.name)
                        r = a.rpc.take(seq) if seq is not None else None
                        if r is None:
                            continue
                        now = time.monotonic()
                        del inflight[a.name]
                        err, body = r
                        if not err and a.name in pending and done(a, body):
                            got[a.name] = now
                            del pending[a.name]
                    if not pending:
                        break
        finally:
            # drain replies still in flight so that the connections stay in step
            for name, seq in inflight.items():
                a = next(x for x in agents if x.name == name)
                if not a.rpc.closed:
                    try:
                        a.rpc.sock.setblocking(True)
                        a.rpc.wait(seq, 5.0)
                    except (RpcError, OSError):
                        pass
            sel.close()
            for a in agents:
                if not a.rpc.closed:
                    a.rpc.sock.setblocking(True)
        return got

    def all_alive(self, a, body):
        members = (body or {}).get("Members") or []
        alive = {m.get("Name") for m in members if m.get("Status") == "alive"}
        ok = self.names <= alive
        if not ok and self._t0 is not None and a.name not in self._late \
                and time.monotonic() - self._t0 > self.cfg.straggler:
            # what an agent still lacks once it counts as left waiting (diagnostics)
            self._late[a.name] = sorted(self.names - alive)
        return ok

    def converge(self, timeout, poll):
        """Mass join at agent 0, then per-agent time until it lists all N alive."""
        seed_addr = "127.0.0.1:%d" % self.agents[0].gossip_port
        joiners = self.agents[1:]
        udp0 = udp_errors()
        t0 = time.monotonic()
        self._t0, self._late = t0, {}
        join_seq = {a.name: a.rpc.send("join", {"Existing": [seed_addr], "Replay": False})
                    for a in joiners}
        deadline = t0 + timeout
        got = self.poll_until(self.agents, lambda a: ("members", None), self.all_alive, deadline, poll)
        join_err = 0
        for a in joiners:  # join replies came in order before the first members reply
            r = a.rpc.take(join_seq[a.name])
            if r is None:
                try:
                    a.rpc.wait(join_seq[a.name], max(1.0, deadline - time.monotonic()))
                except (RpcError, OSError):
                    join_err += 1
            elif r[0]:
                join_err += 1
        per_agent = {name: got[name] - t0 for name in got}
        return {"n": self.n, "converged": len(per_agent), "join_errors": join_err,
                "per_agent_s": sorted(per_agent.values()),
                "by_agent_s": per_agent,
                "missing_when_late": self._late,
                "udp_drops": (udp_errors() - udp0) if udp0 is not None else None,
                "all_s": max(per_agent.values()) if len(per_agent) == self.n else None,
                "timeout_s": timeout}

    def check_view(self, timeout=10.0):
        """How many live agents currently list every live agent alive (and nobody else failed)."""
        live = self.live()
        names = {a.name for a in live}
        got = self.poll_until(live, lambda a: ("members", None),
                              lambda a, b: names <= {m.get("Name") for m in (b or {}).get("Members") or []
                                                     if m.get("Status") == "alive"},
                              time.monotonic() + timeout, 0.2)
        return len(got), len(live)

    def kill_and_detect(self, victim, timeout, poll):
        observers = [a for a in self.live() if a is not victim]
        t0 = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        victim.proc.wait()
        victim.rpc.close()
        req = ("members-filtered", {"Name": victim.name, "Status": "", "Tags": {}})
        got = self.poll_until(observers, lambda a: req,
                              lambda a, b: any(m.get("Name") == victim.name and m.get("Status") == "failed"
                                               for m in (b or {}).get("Members") or []),
                              t0 + timeout, poll)
        times = sorted(t - t0 for t in got.values())
        return {"victim": victim.name, "observers": len(observers), "saw_failed": len(times),
                "loadavg": loadavg(),
                "first_s": times[0] if times else None,
                "median_s": statistics.median(times) if times else None,
                "all_s": times[-1] if len(times) == len(observers) else None}

    def _handled(self):
        """{payload: {agent name: wall-clock time its handler ran}} from the handler log."""
        out = {}
        try:
            with open(self.handled) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) == 3:
                        out.setdefault(parts[1], {})[parts[0]] = float(parts[2])
        except (OSError, ValueError):
            pass
        return out

    def event_latency(self, count, timeout, rnd):
        """User events (coalescing off) from random live agents, one after another: the time
        from the `event` RPC until the handler had run on every live agent, and per handler."""
        results = []
        for i in range(count):
            live = self.live()
            names = {a.name for a in live}
            sender = rnd.choice(live)
            payload = "e%d-%d" % (i, rnd.randrange(1 << 30))
            t0 = time.time()
            sender.rpc.call("event", {"Name": "bench", "Payload": payload.encode(), "Coalesce": False})
            deadline = time.monotonic() + timeout
            ran = {}
            while time.monotonic() < deadline:
                ran = self._handled().get(payload, {})
                if names <= set(ran):
                    break
                time.sleep(0.02)
            lat = sorted(t - t0 for n, t in ran.items() if n in names)
            results.append({"sender": sender.name, "agents": len(names), "ran": len(lat),
                            "all_s": lat[-1] if len(lat) == len(names) else None,
                            "median_s": statistics.median(lat) if lat else None})
            time.sleep(0.5)  # let the gossip of this event die down before the next
        return results

    def close(self):
        for a in self.agents:
            if a.rpc:
                a.rpc.close()
        self.reg.stop([a.proc for a in self.agents if a.proc])


# ---------------------------------------------------------------------------------------
# measurement plan
# ---------------------------------------------------------------------------------------

def idle_window(clusters, seconds):
    samples = {}
    m0 = machine_ticks()
    la0 = loadavg()
    for c in clusters:
        samples[c.impl] = {a.name: proc_cpu_ticks(a.pid) for a in c.live()}
    w0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - w0
    m1 = machine_ticks()
    out = {}
    agents_ticks = 0
    for c in clusters:
        cpu, rss, hwm, anon, filer, pss, thr = [], [], [], [], [], [], []
        for a in c.live():
            t0 = samples[c.impl].get(a.name)
            t1 = proc_cpu_ticks(a.pid)
            st = proc_status(a.pid)
            if t0 is None or t1 is None or not st:
                continue
            agents_ticks += t1 - t0
            cpu.append((t1 - t0) / CLK_TCK)
            rss.append(st["VmRSS"] * PAGE_MIB)
            hwm.append(st["VmHWM"] * PAGE_MIB)
            anon.append(st.get("RssAnon", 0) * PAGE_MIB)
            filer.append(st.get("RssFile", 0) * PAGE_MIB)
            ps = proc_pss_kib(a.pid)
            if ps is not None:
                pss.append(ps * PAGE_MIB)
            thr.append(st["Threads"])
        out[c.impl] = {"agents": len(cpu), "window_s": elapsed, "cpu_s": cpu, "rss_mib": rss,
                       "hwm_mib": hwm, "anon_mib": anon, "file_mib": filer, "pss_mib": pss,
                       "threads": thr, "top_mappings": median_agent_mappings(c)}
    total = m1[0] - m0[0]
    busy = total - (m1[1] - m0[1])
    out["machine"] = {"busy_pct": 100.0 * busy / total if total else None,
                      "bench_agents_pct": 100.0 * agents_ticks / total if total else None,
                      "others_pct": 100.0 * (busy - agents_ticks) / total if total else None,
                      "loadavg_start": la0, "loadavg_end": loadavg()}
    return out


def median_agent_mappings(cluster, k=10):
    """/proc/PID/smaps of the agent with the median VmRSS, summed per file: where the memory is."""
    live = [(proc_status(a.pid) or {}).get("VmRSS", 0) for a in cluster.live()]
    agents = sorted(zip(live, (a.pid for a in cluster.live())))
    if not agents:
        return None
    rss, pid = agents[len(agents) // 2]
    rows = smaps.top(pid, k)
    return {"vmrss_kib": rss, "rows": [[name, f] for name, f in rows]} if rows else None


def spread(xs):
    """Median, quartiles, range, mean and standard deviation of a sample."""
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0]] * 3
    return {"n": len(xs), "median": statistics.median(xs), "q1": q[0], "q3": q[2], "min": xs[0],
            "max": xs[-1], "mean": statistics.fmean(xs), "sd": statistics.stdev(xs) if len(xs) >= 2 else 0.0}


def mean_difference(a, b):
    """mean(a) - mean(b) with a 95 % interval (Welch, normal approximation): the two are told
    apart only when the interval excludes 0."""
    if not a or not b or len(a) < 2 or len(b) < 2:
        return None
    d = a["mean"] - b["mean"]
    se = (a["sd"] ** 2 / a["n"] + b["sd"] ** 2 / b["n"]) ** 0.5
    return {"diff": d, "lo": d - 1.96 * se, "hi": d + 1.96 * se}


def summarize(xs):
    if not xs:
        return None
    return {"median": statistics.median(xs), "mean": statistics.fmean(xs), "min": min(xs), "max": max(xs)}


def run_size(n, cfg, reg, logdir, rnd, log):
    impls = [cfg.only] if cfg.only else ["serf", "ours"]
    res = {"n": n, "rounds": [], "idle": None, "kills": {i: [] for i in impls},
           "events": {i: [] for i in impls}}
    for r in range(cfg.rounds):
        order = list(impls)
        if (len(cfg.sizes_done) + r) % 2 == 1:
            order.reverse()
        clusters = {}
        rr = {"order": order}
        try:
            for impl in order:
                c = Cluster(impl, n, cfg, reg, logdir, "r%d" % r)
                clusters[impl] = c
                slowest, took = c.start(timeout=max(30.0, 0.6 * n))  # N=250 on a busy host
                log("  [N=%d round %d] %s: %d agents up in %.2f s (slowest spawn->RPC %.2f s); joining..."
                    % (n, r + 1, impl, n, took, slowest))
                conv = c.converge(cfg.timeout, cfg.poll)
                conv["start_s"] = took
                rr[impl] = conv
                pa = conv["per_agent_s"]
                log("  [N=%d round %d] %s: %d/%d agents see all %d alive; median %.2f s, last %s, >%gs: %d%s"
                    % (n, r + 1, impl, conv["converged"], n, n, statistics.median(pa) if pa else float("nan"),
                       ("%.2f s" % conv["all_s"]) if conv["all_s"] is not None else "TIMEOUT",
                       cfg.straggler, sum(1 for x in pa if x > cfg.straggler) + (n - len(pa)),
                       "; host UDP drops %d" % conv["udp_drops"] if conv["udp_drops"] else ""))
                for name, miss in sorted(conv["missing_when_late"].items()):
                    log("      %s after %g s still lacked %s; saw all after %s"
                        % (name, cfg.straggler, ",".join(miss), fmt_s(conv["by_agent_s"].get(name))))
            res["rounds"].append(rr)
            if r == 0:
                if cfg.settle > 0:
                    time.sleep(cfg.settle)
                log("  [N=%d] idle window %g s (no RPC traffic)..." % (n, cfg.idle))
                idle = idle_window([clusters[i] for i in order], cfg.idle)
                for impl in order:
                    ok, tot = clusters[impl].check_view()
                    idle[impl]["view_ok_after_idle"] = [ok, tot]
                res["idle"] = idle
                for impl in order:
                    s = idle[impl]
                    log("  [N=%d] %s idle: RSS %.1f MiB, threads %d, CPU %.3f s/agent per %.0f s; "
                        "after idle %d/%d agents see all alive"
                        % (n, impl, statistics.median(s["rss_mib"]), statistics.median(s["threads"]),
                           statistics.fmean(s["cpu_s"]), s["window_s"], *s["view_ok_after_idle"]))
                for impl in order:
                    ev = clusters[impl].event_latency(cfg.events, cfg.timeout, rnd)
                    res["events"][impl] = ev
                    alls = [e["all_s"] for e in ev]
                    log("  [N=%d] %s user events (coalescing off): all %d handlers ran after %s"
                        % (n, impl, n, ", ".join(fmt_s(x) if x is not None else "TIMEOUT" for x in alls)))
            # Kills in every round (fresh clusters each round): many kills per size without
            # shrinking one cluster to a few members.
            kills = min(cfg.kills, max(0, n - 2))
            victims = {impl: rnd.sample(clusters[impl].agents[1:], kills) for impl in order}
            # One kill of each in turn, not all of one then all of the other: both
            # implementations then meet the same machine load (it drifts on a shared host).
            for i in range(kills):
                for impl in order:
                    c, v = clusters[impl], victims[impl][i]
                    k = c.kill_and_detect(v, cfg.timeout, cfg.poll)
                    res["kills"][impl].append(k)
                    log("  [N=%d round %d] %s kill -9 %s: first failed %s, all %d observers %s (load %.1f)"
                        % (n, r + 1, impl, v.name, fmt_s(k["first_s"]), k["observers"],
                           fmt_s(k["all_s"]) if k["all_s"] is not None
                           else "TIMEOUT (%d saw it)" % k["saw_failed"], k["loadavg"]))
                    time.sleep(1.0)
        finally:
            for c in clusters.values():
                c.close()
    return res


def fmt_s(x):
    return "-" if x is None else "%.2f s" % x


# ---------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------

def derive(res, cfg):
    """Per-impl headline numbers for one N."""
    d = {}
    impls = [cfg.only] if cfg.only else ["serf", "ours"]
    for impl in impls:
        idle = (res["idle"] or {}).get(impl) or {}
        per_agent = [x for rr in res["rounds"] for x in rr[impl]["per_agent_s"]]
        conv_all = [rr[impl]["all_s"] for rr in res["rounds"]]
        missing = sum(rr[impl]["n"] - rr[impl]["converged"] for rr in res["rounds"])
        waiting = [sum(1 for x in rr[impl]["per_agent_s"] if x > cfg.straggler)
                   + rr[impl]["n"] - rr[impl]["converged"] for rr in res["rounds"]]
        kills = res["kills"][impl]
        det_all = [k["all_s"] for k in kills]
        det_first = [k["first_s"] for k in kills if k["first_s"] is not None]
        events = res["events"][impl]
        ev_all = [e["all_s"] for e in events]
        ev_med = [e["median_s"] for e in events if e["median_s"] is not None]
        d[impl] = {
            "rss_mib": statistics.median(idle["rss_mib"]) if idle.get("rss_mib") else None,
            "hwm_mib": statistics.median(idle["hwm_mib"]) if idle.get("hwm_mib") else None,
            "anon_mib": statistics.median(idle["anon_mib"]) if idle.get("anon_mib") else None,
            "file_mib": statistics.median(idle["file_mib"]) if idle.get("file_mib") else None,
            "pss_mib": statistics.median(idle["pss_mib"]) if idle.get("pss_mib") else None,
            "threads": statistics.median(idle["threads"]) if idle.get("threads") else None,
            "cpu_s": statistics.fmean(idle["cpu_s"]) if idle.get("cpu_s") else None,
            "cpu_pct_core": (100.0 * statistics.fmean(idle["cpu_s"]) / idle["window_s"]
                             if idle.get("cpu_s") else None),
            "converge_all_s": (statistics.median(conv_all) if None not in conv_all else None),
            "converge_all_runs_s": conv_all,
            "converge_median_agent_s": statistics.median(per_agent) if per_agent else None,
            "converge_max_agent_s": (max(per_agent) if per_agent and not missing else None),
            "waiting_gt_straggler": waiting,
            "detect_first_s": statistics.median(det_first) if det_first else None,
            "detect_all_s": statistics.median(det_all) if det_all and None not in det_all else None,
            "detect_all_runs_s": det_all,
            "detect_all_spread": spread(det_all),
            "kill_loadavg": [k.get("loadavg") for k in kills],
            "event_all_s": statistics.median(ev_all) if ev_all and None not in ev_all else None,
            "event_all_runs_s": ev_all,
            "event_median_handler_s": statistics.median(ev_med) if ev_med else None,
        }
    return d


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(ok):
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def report(results, cfg, log):
    rows = [
        ("RSS per agent, MiB (median)", "rss_mib", "%.1f", "rss"),
        ("  of which anonymous (RssAnon), MiB", "anon_mib", "%.1f", None),
        ("  of which file-backed (RssFile), MiB", "file_mib", "%.1f", None),
        ("PSS per agent (shared pages split), MiB", "pss_mib", "%.1f", None),
        ("peak RSS (VmHWM), MiB (median)", "hwm_mib", "%.1f", None),
        ("threads per agent (median)", "threads", "%.0f", None),
        ("idle CPU s/agent per window (mean)", "cpu_s", "%.3f", "cpu"),
        ("idle CPU, % of a core per agent", "cpu_pct_core", "%.2f", None),
        ("join: all N see all N alive, s", "converge_all_s", "%.2f", None),
        ("join: median agent, s", "converge_median_agent_s", "%.2f", None),
        ("join: slowest agent, s", "converge_max_agent_s", "%.2f", None),
        ("kill -9 -> first sees failed, s", "detect_first_s", "%.2f", None),
        ("kill -9 -> all see failed, s", "detect_all_s", "%.2f", "detect"),
        ("user event -> every handler ran, s", "event_all_s", "%.3f", None),
        ("user event -> median handler ran, s", "event_median_handler_s", "%.3f", None),
    ]
    goals = {"rss": [], "cpu": [], "detect": [], "wait": []}
    for res in results:
        n = res["n"]
        d = res["derived"]
        log("")
        log("N = %d   (idle window %.0f s, %d round(s) of mass join, %d kill(s) per cluster)"
            % (n, cfg.idle, cfg.rounds, len(res["kills"].get("ours" if "ours" in d else "serf", []))))
        hdr = "  %-38s %10s %10s %10s  %s" % ("", "serf", "ours", "ours/serf", "goal")
        log(hdr)
        for label, key, f, goal in rows:
            s = (d.get("serf") or {}).get(key)
            o = (d.get("ours") or {}).get(key)
            r = ratio(o, s)
            g = ""
            if goal == "rss":
                ok = None if r is None else r <= GOAL_RSS
                goals["rss"].append((n, ok, r))
                g = "<= 0.20  %s" % verdict(ok)
            elif goal == "cpu":
                ok = None if r is None else r <= GOAL_CPU
                goals["cpu"].append((n, ok, r))
                g = "<= 0.50  %s" % verdict(ok)
            elif goal == "detect":
                ok = None if r is None else r <= GOAL_DETECT
                goals["detect"].append((n, ok, r))
                g = "<= 1.00  %s" % verdict(ok)
            log("  %-38s %10s %10s %10s  %s" % (label, f % s if s is not None else "-",
                                                  f % o if o is not None else "-",
                                                  "%.2f" % r if r is not None else "-", g))
        for impl in ("serf", "ours"):
            if impl in d:
                log("  %-38s %s" % ("%s: agents > %g s to see all, per round" % (impl, cfg.straggler),
                                    d[impl]["waiting_gt_straggler"]))
        for impl in ("serf", "ours"):
            sp = (d.get(impl) or {}).get("detect_all_spread")
            if sp:
                la = [x for x in d[impl]["kill_loadavg"] if x is not None]
                log("  %s kill -9 -> all see failed over %d kills: median %.2f s, IQR %.2f-%.2f, "
                    "range %.2f-%.2f, mean %.2f +- %.2f (sd); load average %.1f-%.1f"
                    % (impl, sp["n"], sp["median"], sp["q1"], sp["q3"], sp["min"], sp["max"], sp["mean"],
                       sp["sd"], min(la) if la else float("nan"), max(la) if la else float("nan")))
        md = mean_difference((d.get("ours") or {}).get("detect_all_spread"),
                             (d.get("serf") or {}).get("detect_all_spread"))
        if md:
            res["detect_difference"] = md
            told = "tells them apart" if md["lo"] > 0 or md["hi"] < 0 else "does not tell them apart"
            log("  kill -9 detection, ours - serf (means): %+.2f s, 95%% interval %+.2f..%+.2f s: %s"
                % (md["diff"], md["lo"], md["hi"], told))
        for impl in ("serf", "ours"):
            tm = ((res["idle"] or {}).get(impl) or {}).get("top_mappings")
            if tm:
                log("  %s: top mappings of the median agent (VmRSS %d KiB), /proc/PID/smaps"
                    % (impl, tm["vmrss_kib"]))
                for line in smaps.format_table(tm["rows"]):
                    log(line)
        if "ours" in d and n >= GOAL_WAIT_N:
            ok = all(w == 0 for w in d["ours"]["waiting_gt_straggler"])
            goals["wait"].append((n, ok, d["ours"]["converge_max_agent_s"]))
        m = (res["idle"] or {}).get("machine")
        if m:
            log("  machine during idle window: %.0f%% busy (bench agents %.0f%%, everything else %.0f%%), "
                "loadavg %.2f -> %.2f" % (m["busy_pct"], m["bench_agents_pct"], m["others_pct"],
                                           m["loadavg_start"], m["loadavg_end"]))
    log("")
    log("Goals:")
    summary = {}

    def line(key, text, items, fmt):
        if not items or any(ok is None for _, ok, _ in items):
            v = None
        else:
            v = all(ok for _, ok, _ in items)
        summary[key] = {"result": verdict(v), "per_n": [{"n": n, "ok": ok, "value": x} for n, ok, x in items]}
        detail = ", ".join("N=%d: %s" % (n, fmt % x if x is not None else "-") for n, _, x in items)
        log("  %-4s  %s%s" % (verdict(v), text, ("  [" + detail + "]") if detail else ""))

    line("rss", "RSS per agent <= 1/5 of serf's", goals["rss"], "%.2f")
    line("cpu", "idle CPU per agent <= 1/2 of serf's", goals["cpu"], "%.2f")
    line("detect", "kill -9 detected by all no slower than serf", goals["detect"], "%.2f")
    if goals["wait"]:
        line("wait", "N>=%d: no agent waits > %g s to learn of a join" % (GOAL_WAIT_N, cfg.straggler),
             goals["wait"], "slowest %.2f s")
    else:
        summary["wait"] = {"result": "n/a", "per_n": []}
        log("  n/a   N>=%d: no agent waits > %g s to learn of a join  [run with --n %d]"
            % (GOAL_WAIT_N, cfg.straggler, GOAL_WAIT_N))
    return summary


# ---------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------

def build_type_of(binary):
    cache = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(binary))), "CMakeCache.txt")
    try:
        with open(cache) as f:
            txt = f.read()
    except OSError:
        return None
    bt = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", txt, re.M)
    san = re.search(r"^KC_SANITIZE:\w+=(.*)$", txt, re.M)
    s = bt.group(1) if bt else "?"
    if san and san.group(1).upper() in ("ON", "TRUE", "1"):
        s += "+sanitizers"
    return s


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action):
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark kong-cluster's gossip agent against Debian's serf 0.9.4 on loopback: "
                    "RSS, threads, idle CPU, join convergence and kill -9 detection, side by side "
                    "with ratios and PASS/MISS against the goals (docs/benchmarks.md).",
        formatter_class=_HelpFormatter)
    p.add_argument("--n", action="append", metavar="N[,N...]",
                   help="cluster size(s); repeatable or a comma list (default 30)")
    p.add_argument("--idle", type=float, default=60.0, help="idle window in seconds (RSS/CPU)")
    p.add_argument("--seed", type=int, default=None, help="random seed (victims, order); default: time")
    p.add_argument("--only", choices=("ours", "serf"), help="run only one implementation")
    p.add_argument("--json", metavar="FILE", help="write all results as JSON to FILE")
    p.add_argument("--timeout", type=float, default=150.0,
                   help="deadline in seconds for each convergence and each detection phase")
    p.add_argument("--kills", type=int, default=3,
                   help="kill -9 victims per cluster (in every round), one after another")
    p.add_argument("--events", type=int, default=5,
                   help="user events (coalescing off) per cluster, timed until every handler ran")
    p.add_argument("--rounds", type=int, default=3,
                   help="mass-join rounds per N, each on fresh clusters (idle and events in round 1, kills in each)")
    p.add_argument("--straggler", type=float, default=10.0,
                   help="an agent slower than this to see all N alive counts as left waiting")
    p.add_argument("--poll", type=float, default=0.1, help="RPC poll interval in seconds")
    p.add_argument("--settle", type=float, default=5.0, help="pause between convergence and idle window")
    p.add_argument("--ours-bin", default=None,
                   help="kong-cluster binary (default: $KC_BINARY_DIR/bin/kong-cluster, else "
                        "<repo>/build/bin/kong-cluster)")
    p.add_argument("--serf-bin", default=shutil.which("serf") or "/usr/bin/serf", help="serf binary")
    p.add_argument("--keep-logs", metavar="DIR", help="write agent logs under DIR and keep them")
    p.add_argument("--agent-log-level", default="warn", choices=("debug", "info", "warn"),
                   help="--log-level given to every agent (info/debug for diagnosis, with --keep-logs)")
    p.add_argument("--datastore", action="store_true",
                   help="start a throwaway Postgres and give our agents pg_host (serf has no datastore); "
                        "our agents then also join through Kong's nodes table")
    p.add_argument("--require-complete", action="store_true",
                   help="exit 3 if a convergence or detection phase timed out (for the smoke test)")
    a = p.parse_args(argv)
    sizes = []
    for item in a.n or ["30"]:
        for s in item.split(","):
            s = s.strip()
            if s:
                v = int(s)
                if v < 2:
                    p.error("--n must be >= 2")
                sizes.append(v)
    a.sizes = sizes
    if a.ours_bin is None:
        bd = os.environ.get("KC_BINARY_DIR")
        a.ours_bin = os.path.join(bd, "bin", "kong-cluster") if bd else os.path.join(REPO, "build", "bin",
                                                                                     "kong-cluster")
    a.ours_bin = os.path.abspath(a.ours_bin)
    if os.sep in a.serf_bin:
        a.serf_bin = os.path.abspath(a.serf_bin)
    else:
        a.serf_bin = shutil.which(a.serf_bin) or a.serf_bin
    if a.only != "serf" and not os.access(a.ours_bin, os.X_OK):
        p.error("kong-cluster binary not found: %s (build it, or pass --ours-bin)" % a.ours_bin)
    if a.only != "ours" and not os.access(a.serf_bin, os.X_OK):
        p.error("serf binary not found: %s (apt-get install serf, or pass --serf-bin)" % a.serf_bin)
    if a.datastore and not throwaway_postgres.available():
        p.error("--datastore needs Debian's postgresql-15 (hack/deps.sh installs it)")
    if a.idle < 0 or a.timeout <= 0 or a.poll <= 0 or a.kills < 0 or a.rounds < 1 or a.events < 0:
        p.error("bad --idle/--timeout/--poll/--kills/--rounds/--events")
    return a


def main(argv=None):
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    cfg.seed = cfg.seed if cfg.seed is not None else int(time.time())
    cfg.sizes_done = []
    rnd = random.Random(cfg.seed)

    def log(msg):
        print(msg, flush=True)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    info = machine_info()
    serf_ver = None
    if cfg.only != "ours":
        try:
            serf_ver = subprocess.run([cfg.serf_bin, "version"], capture_output=True, text=True,
                                      timeout=10).stdout.strip().splitlines()[0]
        except Exception:
            serf_ver = "?"
    ours_bt = build_type_of(cfg.ours_bin) if cfg.only != "serf" else None
    impls = 1 if cfg.only else 2
    bound = sum(impls * cfg.rounds * (2 * 30 + cfg.timeout + 10) + cfg.settle + cfg.idle + 20
                + impls * cfg.rounds * min(cfg.kills, max(0, n - 2)) * (cfg.timeout + 2)
                + impls * cfg.events * (cfg.timeout + 1) for n in cfg.sizes)
    log("gossip_bench: N=%s, idle %g s, seed %d, %d round(s), %d kill(s); worst-case run time %.0f s"
        % (",".join(map(str, cfg.sizes)), cfg.idle, cfg.seed, cfg.rounds, cfg.kills, bound))
    log("machine: %s, %s cores, %s GiB RAM, kernel %s, %s" % (info.get("cpu", "?"), info["nproc"],
                                                            info.get("mem_total_gib", "?"), info["kernel"],
                                                            info.get("os", "?")))
    if cfg.only != "ours":
        log("serf: %s (%s)" % (cfg.serf_bin, serf_ver))
    if cfg.only != "serf":
        log("ours: %s (build type %s)" % (cfg.ours_bin, ours_bt or "unknown"))
        if ours_bt and (ours_bt.startswith("Debug") or "sanitizers" in ours_bt):
            log("WARNING: kong-cluster is a %s build; numbers are not representative" % ours_bt)

    # Two clusters of N agents, each an RPC connection and a log file: raise the soft limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    cfg.pg = None
    logdir = cfg.keep_logs or tempfile.mkdtemp(prefix="gossip_bench.")
    os.makedirs(logdir, exist_ok=True)
    reg = Registry()
    results = []
    rc = 0
    started = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        if cfg.datastore and cfg.only != "serf":
            cfg.pg = throwaway_postgres.ThrowawayPostgres(max_connections=max(cfg.sizes) + 20)
            log("datastore: throwaway Postgres on %s:%d; our agents get pg_host" % (cfg.pg.host, cfg.pg.port))
        for n in cfg.sizes:
            log("")
            log("== N=%d ==" % n)
            res = run_size(n, cfg, reg, logdir, rnd, log)
            res["derived"] = derive(res, cfg)
            results.append(res)
            cfg.sizes_done.append(n)
        summary = report(results, cfg, log)
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        harness_cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        elapsed = time.monotonic() - started
        log("")
        log("run took %.0f s; this script used %.1f s CPU" % (elapsed, harness_cpu))
        incomplete = any(
            d["converge_all_s"] is None or (res["kills"][impl] and d["detect_all_s"] is None)
            or (res["events"][impl] and d["event_all_s"] is None)
            for res in results for impl, d in res["derived"].items())
        if incomplete:
            log("NOTE: some phase timed out (see '-' / TIMEOUT above)")
            if cfg.require_complete:
                rc = 3
        if cfg.json:
            out = {"config": {k: v for k, v in vars(cfg).items() if k not in ("sizes_done", "pg")},
                   "machine": info, "serf_version": serf_ver, "ours_build_type": ours_bt,
                   "elapsed_s": elapsed, "harness_cpu_s": harness_cpu,
                   "results": results, "goals": summary}
            with open(cfg.json, "w") as f:
                json.dump(out, f, indent=1, default=str)
            log("results written to %s" % cfg.json)
    except KeyboardInterrupt:
        log("interrupted; stopping agents")
        rc = 130
    except SystemExit as e:
        log("terminated; stopping agents")
        rc = e.code if isinstance(e.code, int) else 1
    except Exception as e:
        log("ERROR: %s: %s (agent logs kept in %s)" % (type(e).__name__, e, logdir))
        traceback.print_exc()  # where in the harness: the run's numbers so far are in the log above
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        reg.stop()
        if cfg.pg:
            cfg.pg.stop()
        if not cfg.keep_logs and rc == 0:
            shutil.rmtree(logdir, ignore_errors=True)
        elif rc != 0:
            log("agent logs: %s" % logdir)
    return rc


if __name__ == "__main__":
    sys.exit(main())
