#!/usr/bin/env python3
"""Kong 0.9/0.10 driving `serf_path` with its own command lines, through sh, against
three-member clusters: two agents started from SERF_PATH and one Debian `serf agent`, all as
Kong starts them (nohup, pid file, serf_event.sh handler).

The first cluster runs Kong's line with -encrypt and checks what Kong relies on: the version
line, `members -format 'json'` as add_node reads it, join, an invalidation reaching every
node's serf_event.sh (Admin API stubbed), the 512-byte limit, reachability, keygen and keys, a
killed node turning `failed` and force-leave making it `left`, `leave` ending `left`.
The second runs Kong's line with cluster_listen 0.0.0.0, -advertise and -keyring-file: every
member at its advertised address (as add_node stores it), the keyring file's keys in use, key
rotation written to the keyring files exactly as Debian's serf writes them; and Kong's line
with -encrypt beside -keyring-file (and with a missing keyring file), which serf refuses.
In both, our agent's answers to Debian's serf CLI (members text/JSON/detailed, reachability,
keys -list, info) are compared with the Debian serf agent's (serf_compare.compare_agents).

With SERF_PATH=/usr/bin/serf the same script runs against the real thing. When SERF_PATH is
not Debian's serf, every deterministic output of its CLI (members and its filters, query,
monitor, event, join, keys, tags, the errors) is also compared with Debian's serf CLI run
against the same agent.

Usage: test_kong_serf_path.py SERF_PATH"""

import json
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kong_node import (RESTY_STUB, AdminApiStub, KongNode, entity_event, free_port,  # noqa
                       kong_version_ok, scenario, sh, wait_for)
from serf_compare import (DEBIAN_SERF, Check, compare_agents, compare_member_filters,  # noqa
                          compare_monitor, compare_queries, same_output, wait_settled, wait_tags)
from advertise_keyring import advertise_keyring_cluster  # noqa: E402


def main():
    serf_path = sys.argv[1]
    compare = os.path.realpath(serf_path) != os.path.realpath(DEBIAN_SERF)
    rng = random.Random(int(os.environ.get("KC_SEED", "0")) or None)
    check = Check()
    root = tempfile.mkdtemp(prefix="kc-kong-serf-")
    resty = os.path.join(root, "resty")
    with open(resty, "w") as f:
        f.write(RESTY_STUB)
    os.chmod(resty, 0o755)
    apis = [AdminApiStub() for _ in range(3)]
    nodes = []
    with scenario(check, "the scenario ran to its end", nodes, apis):
        # Kong's version check, then keygen for the cluster key (`keygen`, no -rpc-addr).
        code, out, _ = sh(serf_path + " version")
        if compare:
            check(code == 0 and kong_version_ok(out, 9) and kong_version_ok(out, 10),
                  "version line accepted by Kong 0.9 and 0.10", out)
        else:
            print("note: Debian's serf reports %r; Kong's version check is not applied to it"
                  % out.splitlines()[0])
        code, key, _ = sh(serf_path + " keygen")
        key = key.strip()
        check(code == 0 and len(key) == 44 and key.endswith("="), "keygen prints a 32-byte key",
              key)

        paths = [serf_path, serf_path, DEBIAN_SERF]
        for i, (path, api) in enumerate(zip(paths, apis)):
            nodes.append(KongNode(root, "kong%d" % i, path, api.port, resty, key, rng))
        for n in nodes:
            n.start()
        a, b, c = nodes
        check(True, "three agents started with Kong's nohup line (flags shuffled)")

        # serf:autojoin as the second and third node run it.
        for n in (b, c):
            code, out, err = n.join(a.addr)
            check(code == 0 and out == "Successfully joined cluster by contacting 1 nodes.\n",
                  "join from %s" % os.path.basename(n.prefix), out + err)
        names = {n.name for n in nodes}
        for n in nodes:
            wait_for(lambda n=n: {m["name"] for m in n.members() or []
                                  if m["status"] == "alive"} == names, 30,
                     "three alive members seen by " + n.name)
        # serf:add_node: the member named like us gives the address for the nodes row.
        for n in nodes:
            members = n.members()
            fields_ok = all(set(m) >= {"name", "addr", "port", "tags", "status", "protocol"}
                            for m in members)
            check(n.own_address() == n.addr and fields_ok,
                  "members -format 'json' as add_node reads it on " + n.name,
                  json.dumps(members))

        # An invalidation, sent as Kong sends it, reaches serf_event.sh on all three nodes.
        payload = entity_event(rng)
        sent = time.monotonic()
        code, out, err = a.event(payload)
        check(code == 0 and out == "Event 'kong' dispatched! Coalescing enabled: false\n",
              "event -coalesce=false kong '<json>'", out + err)
        for n, api in zip(nodes, apis):
            # Generous: each handler run starts a shell and a Python stub, which takes seconds
            # on a loaded machine, and the member-join runs come first.
            found = wait_for(lambda api=api: api.find(payload), 120,
                             "the invalidation at " + n.name)
            path, headers = found
            print("     %.2f s from `serf event` to the handler's POST on %s (%s)"
                  % (time.monotonic() - sent, n.name, os.path.basename(n.serf_path)))
            env = {k.lower(): v for k, v in headers.items()}
            check(path == "/cluster/events/" and env.get("x-serf-event") == "user" and
                  env.get("x-serf-user-event") == "kong" and
                  env.get("x-serf-user-ltime", "").isdigit() and
                  env.get("x-serf-self-name") == n.name and "x-serf-self-role" in env,
                  "serf_event.sh got the invalidation and Serf's environment on " + n.name,
                  repr(headers))

        # member-join reached the handler as Kong's wrapped "NAME\tIP\tROLE\tTAGS" lines.
        def join_lines(n, api):
            return "".join(x for x in api.bodies() if x.startswith('{"type":"member-join"'))

        def has_join_lines(n, api):
            return all(("%s\t127.0.0.1\t\t" % o.name) in join_lines(n, api)
                       for o in nodes if o is not n)

        for n, api in zip(nodes, apis):
            try:
                wait_for(lambda n=n, api=api: has_join_lines(n, api), 60, "member-join lines")
            except AssertionError:
                pass
            check(has_join_lines(n, api),
                  "member-join lines NAME<TAB>IP<TAB>ROLE<TAB>TAGS on " + n.name,
                  join_lines(n, api))

        # Serf's 512-byte limit on name + payload, checked before encoding, with Serf's text
        # (Kong refuses payloads over 512 bytes itself; the encoded message has a limit too).
        over = a.event("x" * (513 - len("kong")))
        check(over[0] == 1 and over[1] == "Error sending event: user event exceeds "
              "configured limit of 512 bytes before encoding\n",
              "a 513-byte event (name + payload) fails with Serf's error", repr(over))
        code, out, err = a.invoke("reachability")
        check(code == 0 and out.startswith("Total members: 3, live members: 3\n") and
              out.endswith("Successfully contacted all live nodes\n"), "reachability", out + err)
        code, out, err = a.invoke("keys -list ", "")
        check(code == 0 and ("%s  [3/3]" % key) in out, "keys -list", out + err)

        if compare:
            same_output(check, a, "members", "", "members (text)")
            same_output(check, a, "members", "-format 'json'", "members -format 'json'")
            same_output(check, a, "members", "-detailed", "members -detailed")
            same_output(check, a, "members", "-name nosuch -format json",
                        "members of an unknown name (json)")
            same_output(check, a, "members", "-status=alive", "members -status=alive")
            same_output(check, a, "reachability", "", "reachability")
            same_output(check, a, "keys", "-list", "keys -list")
            same_output(check, a, "event", "-coalesce=false kong '%s'" % payload, "event")
            same_output(check, a, "event", "kong '%s'" % ("y" * 600), "event over the limit")
            same_output(check, a, "event", "kong '%s'" % ("y" * 508),
                        "event at the limit (over it once encoded)")
            same_output(check, a, "event", "kong '%s'" % ("y" * 400), "event under the limit")
            same_output(check, a, "join", b.addr, "join")
            same_output(check, a, "force-leave", "no-such-member", "force-leave of an unknown member")
            # Key rotation as `kong cluster keys` drives it; each step is idempotent, so both
            # binaries run it in turn against the same cluster.
            code, new_key, _ = sh(serf_path + " keygen")
            new_key = new_key.strip()
            same_output(check, a, "keys", "-install " + new_key, "keys -install")
            same_output(check, a, "keys", "-use " + new_key, "keys -use")
            same_output(check, a, "keys", "-remove " + key, "keys -remove")
            same_output(check, a, "keys", "-list", "keys -list after the rotation")
            same_output(check, a, "tags", "-set role=kong", "tags -set")
            same_output(check, a, "tags", "-delete role", "tags -delete")
            # members' filters with tags on two of the three members (ours and the Debian
            # agent), then query and monitor, all through both CLIs.
            tags_of = {a.name: {"role": "kong", "dc": "east"}, c.name: {"role": "kong"}}
            set_a = a.invoke("tags", "-set role=kong -set dc=east")
            set_c = sh("%s tags -rpc-addr=%s -set role=kong" % (DEBIAN_SERF, c.rpc))
            check(set_a[0] == 0 and set_c[0] == 0, "tags set on two members", repr((set_a, set_c)))
            wait_tags(nodes, lambda name: tags_of.get(name, {}))
            compare_member_filters(check, a, [a, c], [b])
            compare_queries(check, a, [b, c], rng)
            # Log lines only from the Debian agent: Kong starts serf with -log-level 'err', and
            # Serf's agent still hands a monitor every line at the monitor's level, while ours
            # drops what is below its own level before any monitor sees it (docs/kong-serf.md).
            compare_monitor(check, a, serf_path, rng, log_lines=False)
            compare_monitor(check, c, serf_path, rng, log_lines=True)
            a.invoke("tags", "-delete role -delete dc")
            sh("%s tags -rpc-addr=%s -delete role" % (DEBIAN_SERF, c.rpc))
            wait_tags(nodes, lambda name: {})
            dead = "127.0.0.1:%d" % free_port()
            for cmd, args in (("members", ""), ("join", "127.0.0.1:1"), ("leave", ""),
                              ("force-leave", "x"), ("event", "kong x"), ("reachability", ""),
                              ("keys", "-list"), ("info", "")):
                ours = sh("%s %s -rpc-addr=%s %s" % (serf_path, cmd, dead, args))
                theirs = sh("%s %s -rpc-addr=%s %s" % (DEBIAN_SERF, cmd, dead, args))
                check(ours == theirs, "same error as Debian serf with no agent: " + cmd,
                      "ours:   %r\ntheirs: %r" % (ours, theirs))
            for cmd in ("members -bogus", "event", "join", "force-leave", "keys",
                        "keys -list -install=x", "members -format"):
                ours = sh("%s %s -rpc-addr=%s" % (serf_path, cmd, dead))
                theirs = sh("%s %s -rpc-addr=%s" % (DEBIAN_SERF, cmd, dead))
                # The usage text after the first line is ours; the code, the flag error on
                # stderr and the first line on stdout are Serf's.
                first = lambda r: r[1].split("\n")[0]
                check(ours[0] == theirs[0] and ours[2] == theirs[2] and
                      first(ours) == first(theirs),
                      "same usage error as Debian serf: " + cmd,
                      "ours:   %r\ntheirs: %r" % (ours, theirs))

        # Our agent and the Debian serf agent, asked the same by Debian's CLI, answer the same.
        wait_settled(nodes)
        compare_agents(check, a, c, "Kong's line with -encrypt")

        # A node that dies is `failed`; Kong's force-leave makes it `left`.
        c.kill9()
        wait_for(lambda: a.status_of(c.name) == "failed", 60, "the killed node failed")
        check(True, "killed node is failed")
        code, out, err = a.invoke("force-leave", c.name)
        check(code == 0 and out == "" and err == "", "force-leave prints nothing", out + err)
        wait_for(lambda: a.status_of(c.name) == "left" and b.status_of(c.name) == "left", 30,
                 "force-left node left everywhere")
        check(True, "force-leave makes it left")

        # serf_signals.stop: `leave` (its error ignored by Kong), then the row, then TERM.
        code, out, err = b.invoke("leave")
        check(code == 0 and out == "Graceful leave complete\n", "leave", out + err)
        wait_for(lambda: a.status_of(b.name) == "left", 30, "the leaving node left")
        wait_for(lambda: not b.running(), 30, "the leaving agent exited")
        check(True, "leave ends left and the agent exits")
    advertise_keyring_cluster(check, root, serf_path, resty, rng, compare)
    shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed" % (check.passed, check.failed))
    return 1 if check.failed or check.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
