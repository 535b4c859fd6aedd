#!/usr/bin/env python3
"""Where one kong-cluster agent's memory is, and whether what it does not use stays unloaded.

Starts one agent on loopback (free ports, no cluster), waits until its RPC answers, then prints
VmRSS, RssAnon, RssFile, PSS and the mappings holding the most resident memory
(/proc/PID/smaps, summed per file). It does this twice: without a datastore, and with pg_host
set (by default pointing at a closed port: the datastore client is created and keeps retrying;
--pg-port points it at a running Postgres instead). --check turns the expectations into the
exit status:

  * neither libpq nor any of its dependencies is ever mapped: the datastore client speaks the
    Postgres protocol itself (datastore/pg_protocol.h);
  * with pg_host, the datastore client runs (it logs its connection attempts) and the agent
    runs on;
  * --static-deps: OpenSSL, zlib and libyaml are not mapped as shared libraries in either case.

Exit status 0 when all checks hold, 2 when one fails, 1 on an error. Python 3 stdlib only; the
agent is stopped by PID whatever happens."""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gossip_bench  # noqa: E402
import resident_sections  # noqa: E402
import smaps  # noqa: E402

# libpq and what only libpq brings in (Debian 12's libpq5 dependencies): none may be mapped.
LIBPQ_CHAIN = ("libpq.so", "libgnutls", "libkrb5", "libgssapi_krb5", "libldap", "liblber", "libsasl2",
               "libp11-kit", "libnettle", "libhogweed", "libgmp", "libunistring", "libtasn1", "libidn2")
STATIC_DEPS = ("libcrypto.so", "libssl.so", "libz.so", "libyaml")


def mapped_files(pid):
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[5]) for line in f if len(line.split()) >= 6}


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once closed


def run_agent(binary, extra_env, workdir, timeout):
    ports, held = gossip_bench.probe_ports(2)
    for s in held:
        s.close()
    env = gossip_bench.clean_env()
    env.update(extra_env)
    env.pop("NODE_NAME", None)
    log = open(os.path.join(workdir, "agent-%d.log" % ports[0]), "wb")
    p = subprocess.Popen([binary, "agent", "--node", "fp-%d" % ports[0], "--bind", "127.0.0.1:%d" % ports[0],
                          "--rpc-addr", "127.0.0.1:%d" % ports[1], "--log-level", "warn"],
                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                         cwd=workdir, start_new_session=True, preexec_fn=gossip_bench._child_setup)
    log.close()
    deadline = time.monotonic() + timeout
    while True:
        if p.poll() is not None:
            raise RuntimeError("agent exited with %s; log: %s" % (p.returncode, log.name))
        try:
            gossip_bench.Rpc(("127.0.0.1", ports[1]), timeout=1.0).close()
            return p, log.name
        except (OSError, gossip_bench.RpcError):
            if time.monotonic() > deadline:
                p.kill()
                p.wait()
                raise RuntimeError("agent RPC did not answer within %.0f s; log: %s" % (timeout, log.name))
            time.sleep(0.05)


def wait_logged(p, log, needle, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        with open(log, "rb") as f:
            if needle in f.read():
                return True
        time.sleep(0.05)
    return False


def report(title, pid, top, binary=None, symbols=0):
    st = gossip_bench.proc_status(pid)
    pss = gossip_bench.proc_pss_kib(pid)
    print("%s: VmRSS %d KiB, RssAnon %d KiB, RssFile %d KiB, PSS %s KiB"
          % (title, st["VmRSS"], st["RssAnon"], st["RssFile"], pss))
    for line in smaps.format_table(smaps.top(pid, top)):
        print(line)
    if binary:
        rows, syms = resident_sections.by_section(pid, binary)
        print("  resident per section of %s:" % os.path.basename(binary))
        for line in resident_sections.format_table(rows, symbols, syms):
            print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ours-bin", required=True, help="kong-cluster binary")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds the agent runs after its RPC answered before memory is read")
    ap.add_argument("--top", type=int, default=10, help="mappings to print")
    ap.add_argument("--timeout", type=float, default=30.0, help="deadline for each wait")
    ap.add_argument("--pg-port", type=int,
                    help="a Postgres on 127.0.0.1 that trusts user kong (default: a closed port)")
    ap.add_argument("--sections", action="store_true",
                    help="also the binary's resident KiB per ELF section (reads /proc/PID/pagemap: root)")
    ap.add_argument("--symbols", type=int, default=0, metavar="K",
                    help="with --sections: the K largest symbols on each section's resident pages")
    ap.add_argument("--check", action="store_true", help="exit 2 unless the mapping checks hold")
    ap.add_argument("--static-deps", action="store_true",
                    help="with --check: OpenSSL/zlib/libyaml must be linked statically")
    a = ap.parse_args()
    a.ours_bin = os.path.abspath(a.ours_bin)
    failures = []
    work = tempfile.mkdtemp(prefix="footprint.")
    procs = []
    try:
        p, log = run_agent(a.ours_bin, {}, work, a.timeout)
        procs.append(p)
        time.sleep(a.settle)  # a measurement window, not a wait for a condition
        files = mapped_files(p.pid)
        report("without pg_host", p.pid, a.top, a.ours_bin if a.sections else None, a.symbols)
        failures += ["without pg_host: %s is mapped" % f for f in sorted(files)
                     if f.startswith(LIBPQ_CHAIN)]
        if a.static_deps:
            failures += ["%s is mapped (expected static)" % f for f in sorted(files) if f.startswith(STATIC_DEPS)]

        pg_env = {"KONG_PG_HOST": "127.0.0.1", "KONG_PG_PORT": str(a.pg_port or closed_port())}
        q, log = run_agent(a.ours_bin, pg_env, work, a.timeout)
        procs.append(q)
        if not a.pg_port and not wait_logged(q, log, b"cannot connect to postgres", a.timeout):
            failures.append("with pg_host: the datastore client never tried to connect (log: %s)" % log)
        time.sleep(a.settle)
        if q.poll() is not None:
            failures.append("with pg_host: the agent exited with %s (log: %s)" % (q.returncode, log))
        else:
            files = mapped_files(q.pid)
            failures += ["with pg_host: %s is mapped" % f for f in sorted(files) if f.startswith(LIBPQ_CHAIN)]
            if a.static_deps:
                failures += ["with pg_host: %s is mapped (expected static)" % f for f in sorted(files)
                             if f.startswith(STATIC_DEPS)]
            report("with pg_host (%s)" % ("connected to port %d" % a.pg_port if a.pg_port
                                          else "server down, client retrying"), q.pid, a.top,
                   a.ours_bin if a.sections else None, a.symbols)
    except RuntimeError as e:
        print("ERROR: %s" % e)
        failures.append(str(e))
        return 1
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)  # no leave needed: the agent never joined anyone
                p.wait()
        if not failures:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("agent logs kept in %s" % work)
    for f in failures:
        print("FAIL: " + f)
    if a.check and failures:
        return 2
    print("checks: %s" % ("all hold" if not failures else "%d failed" % len(failures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
