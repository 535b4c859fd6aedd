#!/usr/bin/env python3
"""kong-cluster local demo: a real Postgres in a temporary directory, several kong-cluster
agents on loopback that find each other through Kong's `nodes` table (no seeds), a Debian
`serf` agent joining the same cluster, then a user event, a graceful leave and a crash, each
printed as a user would look at it. Everything it starts is stopped by PID at the end
(Ctrl-C included). Run it through hack/demo.sh, which builds first."""

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_BIN = "/usr/lib/postgresql/15/bin"
started = []  # (name, Popen)


def free_port():
    while True:
        with socket.socket() as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                    return port
                except OSError:
                    continue


def say(title):
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def wait_for(what, check, timeout=30.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    print(f"   (gave up waiting for {what} after {timeout:.0f}s)")
    return False


def start(name, argv, log_dir, env=None, user=None):
    log = open(os.path.join(log_dir, name + ".log"), "w")
    preexec = None
    if user is not None:
        pw = pwd.getpwnam(user)

        def preexec():
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env={**os.environ, **(env or {})}, preexec_fn=preexec, cwd=log_dir)
    started.append((name, p))
    return p


def stop_all():
    for name, p in reversed(started):
        if p.poll() is None:
            p.send_signal(signal.SIGINT if name == "postgres" else signal.SIGKILL)
    for name, p in reversed(started):
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


class Postgres:
    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        os.makedirs(self.dir)
        self.port = free_port()
        self.user = "postgres" if os.getuid() == 0 else None  # postgres refuses root
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(work, 0o755)
        self.run([f"{PG_BIN}/initdb", "-D", self.dir + "/data", "--auth=trust", "--no-sync",
                  "-E", "UTF8", "-U", "postgres"])
        start("postgres", [f"{PG_BIN}/postgres", "-D", self.dir + "/data", "-p", str(self.port),
                           "-k", self.dir, "-h", "127.0.0.1", "-c", "fsync=off"],
              work, user=self.user)
        wait_for("postgres", lambda: self.psql("SELECT 1", check=False) is not None)
        self.psql("CREATE ROLE kong LOGIN")
        self.psql("CREATE DATABASE kong OWNER kong")

    def run(self, argv):
        pw = pwd.getpwnam(self.user) if self.user else None
        pre = (lambda: (os.setgid(pw.pw_gid), os.setuid(pw.pw_uid))) if pw else None
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       preexec_fn=pre)

    def psql(self, sql, db="postgres", user="postgres", check=True):
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", db,
                            "-At", "-c", sql], capture_output=True, text=True)
        if r.returncode != 0:
            if check:
                raise RuntimeError(r.stderr)
            return None
        return r.stdout


def kc(*args):
    r = subprocess.run([os.path.join(ROOT, "build/bin/kong-cluster"), *args],
                       capture_output=True, text=True)
    return r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, default=4, help="kong-cluster agents to start (default 4)")
    ap.add_argument("--duration", type=float, default=0,
                    help="keep the cluster up this many seconds at the end (default 0; Ctrl-C stops)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="kong-cluster-demo-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        have_pg = os.path.exists(f"{PG_BIN}/postgres")
        pg = None
        if have_pg:
            say("Postgres 15 in " + work + "/pg")
            pg = Postgres(work)
            print(f"   listening on 127.0.0.1:{pg.port}, database kong")
        else:
            print("PostgreSQL 15 is not installed (hack/deps.sh installs it): agents will use --join")

        say(f"{args.agents} kong-cluster agents, each given only the datastore (no seeds)")
        agents = []
        for i in range(args.agents):
            name = f"kong-{i}"
            gossip, rpc = free_port(), free_port()
            argv = [os.path.join(ROOT, "build/bin/kong-cluster"), "agent", "--node", name,
                    "--bind", f"127.0.0.1:{gossip}", "--rpc-addr", f"127.0.0.1:{rpc}",
                    "--profile", "lan", "--tag", "role=kong", "--tag", f"zone=zone-{i % 2}"]
            env = {}
            if pg:
                env = {"KONG_PG_HOST": "127.0.0.1", "KONG_PG_PORT": str(pg.port),
                       "KONG_PG_USER": "kong", "KONG_PG_DATABASE": "kong"}
            elif agents:
                argv += ["--join", agents[0]["gossip"]]
            p = start(name, argv, work, env=env)
            agents.append({"name": name, "proc": p, "gossip": f"127.0.0.1:{gossip}",
                           "rpc": f"127.0.0.1:{rpc}"})
            print(f"   {name}: gossip 127.0.0.1:{gossip}, rpc 127.0.0.1:{rpc} (pid {p.pid})")

        first = agents[0]["rpc"]

        def alive_count(rpc):
            return kc("members", "--rpc-addr", rpc, "--status", "alive").count("\talive")

        t0 = time.monotonic()
        wait_for("convergence", lambda: all(alive_count(a["rpc"]) == len(agents) for a in agents))
        print(f"   every agent sees {len(agents)} alive after {time.monotonic() - t0:.1f}s")

        serf = shutil.which("serf")
        if serf:
            say("A real Debian serf 0.9.4 agent joins the same cluster")
            sp, srpc = free_port(), free_port()
            start("serf", [serf, "agent", "-node=serf-0", f"-bind=127.0.0.1:{sp}",
                           f"-rpc-addr=127.0.0.1:{srpc}", "-tag", "role=serf",
                           f"-join={agents[0]['gossip']}"], work)
            wait_for("serf to join", lambda: alive_count(first) == len(agents) + 1)
            print(f"$ serf members -rpc-addr=127.0.0.1:{srpc}")
            print(subprocess.run([serf, "members", f"-rpc-addr=127.0.0.1:{srpc}"],
                                 capture_output=True, text=True).stdout.rstrip())

        say(f"kong-cluster members --rpc-addr {first}   (Kong's format)")
        print(kc("members", "--rpc-addr", first).rstrip())
        if pg:
            say("The nodes table (what Kong 0.x nodes read to find each other)")
            print(pg.psql("SELECT name, cluster_listening_address, created_at FROM nodes ORDER BY name",
                          db="kong", user="kong").rstrip())

        say("A user event (Kong's cache invalidation travels this way)")
        print(kc("event", "--rpc-addr", first, "--coalesce=false", "invalidate", "apis:1234").rstrip())
        reached = lambda: sum(1 for a in agents
                              if "invalidate" in open(os.path.join(work, a["name"] + ".log")).read())
        wait_for("the event to reach every agent", lambda: reached() == len(agents), timeout=15)
        print(f"   received by {reached()} of {len(agents)} agents (see their logs)")

        say(f"SIGTERM to {agents[-1]['name']}: a graceful leave ends 'left' and deletes its row")
        t0 = time.monotonic()
        agents[-1]["proc"].send_signal(signal.SIGTERM)
        agents[-1]["proc"].wait(timeout=30)
        wait_for("left", lambda: f"{agents[-1]['name']}\t" in kc("members", "--rpc-addr", first, "--status", "left"))
        print(f"   exited {agents[-1]['proc'].returncode} after {time.monotonic() - t0:.1f}s")
        if len(agents) > 2:
            victim = agents[-2]
            say(f"kill -9 {victim['name']}: failure detection marks it 'failed'")
            t0 = time.monotonic()
            victim["proc"].kill()
            wait_for("failed", lambda: f"{victim['name']}\t" in kc("members", "--rpc-addr", first, "--status", "failed"), timeout=60)
            print(f"   detected as failed after {time.monotonic() - t0:.1f}s")
            print(f"$ kong-cluster force-leave --prune {victim['name']}")
            print(kc("force-leave", "--rpc-addr", first, "--prune", victim["name"]).rstrip())
        say("Final view")
        print(kc("members", "--rpc-addr", first).rstrip())
        if pg:
            print(pg.psql("SELECT name, cluster_listening_address FROM nodes ORDER BY name",
                          db="kong", user="kong").rstrip())
        if args.duration > 0:
            print(f"\nCluster stays up for {args.duration:.0f}s (Ctrl-C to stop)...")
            time.sleep(args.duration)
    except KeyboardInterrupt:
        print("\ninterrupted")
    finally:
        stop_all()
        if args.keep:
            print(f"\nlogs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
