"""A Kong 0.10 node's Serf side, reproduced for tests: the prefix files Kong writes at
`kong start` (serf/serf.id, serf/serf_event.sh), the exact `sh` lines Kong runs against
`serf_path`, and Kong's checks on their output. Only the Admin API call at the end of
serf_event.sh is redirected: the `resty` it runs is a stub that POSTs the same body to a
local HTTP listener, with the handler's SERF_* environment as headers."""

import contextlib
import http.server
import json
import os
import random
import re
import shlex
import socket
import subprocess
import threading
import time
import uuid

# Kong 0.10's prefix_handler writes this handler (serf_event.sh) with the Admin API address
# and the resty binary filled in; the shell part is kept as Kong has it, because what it does
# with stdin and $SERF_EVENT is what the agent must feed correctly.
SERF_EVENT_SH = r'''#!/bin/sh

PAYLOAD=`cat` # Read from stdin
if [ "$SERF_EVENT" != "user" ]; then
  PAYLOAD="{\"type\":\"${SERF_EVENT}\",\"entity\": \"${PAYLOAD}\"}"
fi

CMD="\
local http = require 'resty.http' \
local client = http.new() \
client:set_timeout(5000) \
client:connect('%(admin_ip)s', %(admin_port)d) \
client:request { \
  method = 'POST', \
  path = '/cluster/events/', \
  body = [=[${PAYLOAD}]=], \
  headers = { \
    ['content-type'] = 'application/json' \
  } \
}"

%(resty)s -e "$CMD"
'''

# Stands in for OpenResty's `resty -e CODE`: reads the connect address, path and body out of
# the Lua that serf_event.sh builds and sends that request, adding the SERF_* variables the
# handler ran with as X-Serf-* headers so the test can check them too.
RESTY_STUB = r'''#!/usr/bin/env python3
import os, re, sys, urllib.request
code = sys.argv[sys.argv.index("-e") + 1]
host, port = re.search(r"client:connect\('([^']*)', (\d+)\)", code).groups()
path = re.search(r"path = '([^']*)'", code).group(1)
body = code[code.index("[=[") + 3:code.rindex("]=]")]
req = urllib.request.Request("http://%s:%s%s" % (host, port, path), data=body.encode(),
                             method="POST", headers={"content-type": "application/json"})
for k, v in os.environ.items():
    if k.startswith("SERF_"):
        req.add_header("X-" + k.replace("_", "-"), v.encode("unicode_escape").decode())
urllib.request.urlopen(req, timeout=5).read()
'''


class AdminApiStub:
    """Stands in for one node's Kong Admin API: records every POST /cluster/events/."""

    def __init__(self):
        self.requests = []
        lock = threading.Lock()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with lock:
                    stub.requests.append((self.path, dict(self.headers), body.decode()))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        return [r[2] for r in list(self.requests)]

    def find(self, body):
        for path, headers, b in list(self.requests):
            if b == body:
                return path, headers
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()


EVENT_FILTER = ("member-join,member-leave,member-failed,member-update,member-reap,user:kong=")


_handed_out = set()


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (gossip uses both), never one this process
    handed out before: nodes are made before any of them binds, and the kernel may offer a
    port it just gave again."""
    while True:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if port in _handed_out:
                continue
            u.bind(("127.0.0.1", port))
            _handed_out.add(port)
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()


def sh(cmd, timeout=60):
    """Runs one command line through /bin/sh, as Kong's pl.utils.executeex does."""
    p = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, timeout=timeout,
                       env=clean_env())
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def clean_env():
    """The test's environment without anything that would change an agent's behaviour
    (Kubernetes downward-API variables, KONG_*/SERF_* settings)."""
    drop = ("POD_", "KONG_", "SERF_", "NODE_NAME", "HOST_IP", "KUBECONFIG")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def kong_version_ok(stdout, kong_minor):
    """Kong's check_version: `^Serf v([%d%.]+)` on the whole output, within
    meta._DEPENDENCIES.serf ({0.7.0, 0.8.0} in 0.9.x, {0.7.0, 0.8.1} in 0.10.x)."""
    m = re.match(r"Serf v([0-9.]+)", stdout)
    if not m:
        return False
    try:
        v = tuple(int(x) for x in m.group(1).split("."))
    except ValueError:
        return False
    high = (0, 8, 0) if kong_minor == 9 else (0, 8, 1)
    return (0, 7, 0) <= v <= high


class KongNode:
    """One Kong node's prefix and Serf agent, driven with Kong's own command lines.

    `listen_ip` is cluster_listen's host (Kong's default is 0.0.0.0); `advertise_ip` sets
    cluster_advertise (same port); `keyring` writes a cluster_keyring_file with those keys
    (Serf's format: a JSON array of base64 keys, the first one the primary); `encrypt_key` is
    cluster_encrypt_key. Kong passes each of them only when it is set."""

    def __init__(self, root, label, serf_path, admin_port, resty, encrypt_key, rng,
                 listen_ip="127.0.0.1", advertise_ip=None, keyring=None):
        self.serf_path = serf_path
        self.prefix = os.path.join(root, label)
        for d in ("serf", "logs", "pids"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)
        port = free_port()
        self.bind = "%s:%d" % (listen_ip, port)
        self.advertise = "%s:%d" % (advertise_ip, port) if advertise_ip else None
        # The address the other members reach, `serf members` reports and add_node stores.
        self.addr = self.advertise or self.bind
        self.rpc = "127.0.0.1:%d" % free_port()
        # prefix_handler: hostname .. "_" .. cluster_listen .. "_" .. random_string()
        self.name = "%s_%s_%s" % (socket.gethostname(), self.bind, uuid.uuid4().hex)
        with open(os.path.join(self.prefix, "serf", "serf.id"), "w") as f:
            f.write(self.name)
        self.event_script = os.path.join(self.prefix, "serf", "serf_event.sh")
        with open(self.event_script, "w") as f:
            f.write(SERF_EVENT_SH % {"admin_ip": "127.0.0.1", "admin_port": admin_port,
                                     "resty": resty})
        os.chmod(self.event_script, 0o755)
        self.keyring_file = None
        if keyring is not None:
            self.keyring_file = os.path.join(self.prefix, "serf", "keyring.json")
            with open(self.keyring_file, "w") as f:
                json.dump(keyring, f, indent=2)
        self.log = os.path.join(self.prefix, "logs", "serf.log")
        self.pid_file = os.path.join(self.prefix, "pids", "serf.pid")
        self.encrypt_key = encrypt_key
        self.rng = rng
        self.pid = None

    def agent_line(self):
        """serf_signals.start's command: flags from a Lua table (pairs order, so shuffled
        here), each value single-quoted, the unset ones left out."""
        args = [("-bind", self.bind), ("-rpc-addr", self.rpc), ("-log-level", "err"),
                ("-profile", "lan"), ("-node", self.name),
                ("-event-handler", EVENT_FILTER + self.event_script)]
        for flag, value in (("-advertise", self.advertise), ("-encrypt", self.encrypt_key),
                            ("-keyring-file", self.keyring_file)):
            if value:
                args.append((flag, value))
        self.rng.shuffle(args)
        flags = " ".join("%s '%s'" % (k, v) for k, v in args)
        return "nohup %s agent %s > %s 2>&1 & echo $! > %s" % (self.serf_path, flags, self.log,
                                                               self.pid_file)

    def start(self):
        code, _, err = sh(self.agent_line())
        assert code == 0, err
        # Kong polls the pid file for up to 5 s, every 0.2 s.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.running():
                break
            time.sleep(0.2)
        assert self.running(), "could not start serf: " + self.read_log()
        # Kong then runs `members`; wait until the RPC answers it.
        wait_for(lambda: self.members() is not None, 10, "RPC of " + self.name)

    def start_refused(self):
        """Kong's start when serf exits at once: the pid file is written, the process is gone
        within Kong's 5 s, and Kong fails with `could not start serf: <serf.log's last line>`.
        Returns serf.log's contents."""
        code, _, err = sh(self.agent_line())
        assert code == 0, err
        wait_for(lambda: os.path.exists(self.pid_file) and not self.running(), 10,
                 "serf started with a refused configuration to exit")
        return self.read_log()

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def running(self):
        try:
            with open(self.pid_file) as f:
                self.pid = int(f.read().strip())
            os.kill(self.pid, 0)
        except (OSError, ValueError):
            return False
        # A zombie is not running: reap it if it is our grandchild's leftover.
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                return f.read().split(") ")[1][0] != "Z"
        except OSError:
            return False

    def invoke(self, signal, args=""):
        """Serf:invoke_signal: "<serf_path> <signal> -rpc-addr=<rpc> <args>"."""
        return sh("%s %s %s %s" % (self.serf_path, signal, "-rpc-addr=" + self.rpc, args))

    def members(self):
        """Serf:members: `members -rpc-addr=... -format 'json'`, decoded as Kong does."""
        code, out, _ = self.invoke("members", "-format 'json'")
        if code != 0:
            return None
        return json.loads(out)["members"]

    def status_of(self, name):
        for m in self.members() or []:
            if m["name"] == name:
                return m["status"]
        return None

    def own_address(self):
        """Serf:add_node: the `addr` of the member named like us, stripped (the nodes row's
        cluster_listening_address)."""
        for m in self.members() or []:
            if m["name"] == self.name:
                return m["addr"].strip()
        return None

    def join(self, address):
        return self.invoke("join", address)

    def event(self, payload):
        """Serf:event: `event -coalesce=false -rpc-addr=...  kong '<json>'`."""
        return self.invoke("event -coalesce=false", " kong '" + payload + "'")

    def kill9(self):
        if self.pid and self.running():
            os.kill(self.pid, 9)

    def stop(self):
        """Ends the agent if it still runs (only the PID it wrote), then reaps nothing else."""
        if self.pid is None:
            self.running()
        if self.pid is not None and self.running():
            os.kill(self.pid, 9)
            wait_for(lambda: not self.running(), 10, "exit of " + self.name)


def print_logs(nodes):
    for n in nodes:
        print("---- %s (%s) serf.log:\n%s" % (n.name, n.serf_path, n.read_log()[-3000:]))


@contextlib.contextmanager
def scenario(check, what, nodes, apis):
    """Runs a scenario's body: an AssertionError in it is one failed check named what (the
    scenario stops there, the next one still runs); the nodes stop and the Admin API stubs close
    either way, and the nodes' logs are printed once any check failed."""
    try:
        yield
    except AssertionError as e:
        check(False, what, str(e))
    finally:
        for n in nodes:
            n.stop()
        for api in apis:
            api.close()
        if check.failed:
            print_logs(nodes)


def wait_for(cond, seconds, what):
    deadline = time.monotonic() + seconds
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (seconds, what))
        time.sleep(0.1)


def entity_event(rng):
    """A cache invalidation as Kong 0.10's DAO encodes it (cjson, no spaces)."""
    return json.dumps({"collection": "apis", "primary_key": ["id"], "type": "ENTITY_UPDATED",
                       "entity": {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}},
                      separators=(",", ":"))


def quote(s):
    return shlex.quote(s)


__all__ = ["KongNode", "AdminApiStub", "sh", "free_port", "kong_version_ok", "wait_for", "entity_event",
           "RESTY_STUB", "quote", "random"]
