"""Kong's agent line with the options a Kong node behind NAT or with key rotation sets:
cluster_listen 0.0.0.0 (Kong's default), cluster_advertise (`-advertise '<ip>:<port>'`) and
cluster_keyring_file (`-keyring-file '<path>'`), for two agents started from SERF_PATH and
one Debian `serf agent` in one cluster:

- every member is listed at its advertised address by every member, and each node's own
  entry (what Kong's add_node stores in `nodes`) is its advertised address;
- the keyring file's keys are in use on all three (`keys -list`, `info`'s encrypted), and a
  rotation (`keys -install/-use/-remove`, as `kong cluster keys` runs them) is written to each
  member's keyring file, ours byte for byte as Debian serf's;
- our agent answers Debian's CLI as the Debian serf agent does (serf_compare.compare_agents).

Kong 0.10 passes `-encrypt` too when cluster_encrypt_key is also set; serf refuses that
combination ("Encryption key not allowed while using a keyring"), as it refuses a keyring file
that does not exist, before it binds anything, and Kong then fails with `could not start serf:
<serf.log's last line>`. Both are run with SERF_PATH and with Debian's serf, and serf.log
compared byte for byte."""

import json
import os

from kong_node import AdminApiStub, KongNode, scenario, sh
from serf_compare import (DEBIAN_SERF, compare_agents, same_output, same_sorted_output,
                          wait_settled)


def keygen():
    return sh(DEBIAN_SERF + " keygen")[1].strip()


def read(path):
    with open(path) as f:
        return f.read()


def advertise_keyring_cluster(check, root, serf_path, resty, rng, compare):
    keys = [keygen(), keygen()]
    apis = [AdminApiStub() for _ in range(3)]
    nodes = []
    with scenario(check, "the -advertise/-keyring-file cluster ran to its end", nodes, apis):
        # 127.0.0.0/8 is all loopback: each member advertises an address of its own there,
        # bound through 0.0.0.0 as Kong's default cluster_listen binds.
        for i, (path, api) in enumerate(zip([serf_path, serf_path, DEBIAN_SERF], apis)):
            nodes.append(KongNode(root, "adv%d" % i, path, api.port, resty, None, rng,
                                  listen_ip="0.0.0.0", advertise_ip="127.0.0.%d" % (21 + i),
                                  keyring=keys))
        for n in nodes:
            n.start()
        a, b, c = nodes
        check(True, "three agents started with Kong's line: -bind '0.0.0.0:PORT' "
              "-advertise '127.0.0.X:PORT' -keyring-file '<path>'")
        # Kong's auto-join contacts the addresses in `nodes`: the advertised ones.
        for n in (b, c):
            code, out, err = n.join(a.addr)
            check(code == 0 and out == "Successfully joined cluster by contacting 1 nodes.\n",
                  "join %s from %s" % (a.addr, os.path.basename(n.prefix)), out + err)
        wait_settled(nodes)
        want = {o.name: (o.advertise, int(o.advertise.rsplit(":", 1)[1])) for o in nodes}
        for n in nodes:
            members = n.members()
            seen = {m["name"]: (m["addr"], m["port"]) for m in members}
            check(seen == want and n.own_address() == n.advertise,
                  "every member at its advertised address, add_node's own too, on " + n.name,
                  json.dumps(members))
        for n in nodes:
            code, out, err = n.invoke("keys", "-list")
            check(code == 0 and all(("%s  [3/3]" % k) in out for k in keys),
                  "keys -list: the keyring file's two keys on all three members (asked %s)"
                  % os.path.basename(n.prefix), out + err)
        code, out, _ = sh("%s info -rpc-addr=%s -format json" % (DEBIAN_SERF, a.rpc))
        check(code == 0 and json.loads(out)["serf"]["encrypted"] == "true",
              "info: gossip encrypted with the keyring file's keys", out)
        compare_agents(check, a, c, "Kong's line with -advertise and -keyring-file")
        if compare:
            same_output(check, a, "members", "-format 'json'", "members -format 'json' (advertised)")
            same_output(check, a, "members", "-detailed", "members -detailed (advertised)")
            # The keys' lines come from a Go map on Debian's side (any order).
            same_sorted_output(check, a, "keys", "-list", "keys -list with two keys")

        # Key rotation as `kong cluster keys` runs it; every member writes its keyring file.
        new = keygen()
        for step, args in (("install", "-install " + new), ("use", "-use " + new),
                           ("remove", "-remove " + keys[0])):
            code, out, err = a.invoke("keys", args)
            check(code == 0, "keys %s" % args.split()[0], out + err)
            files = [read(n.keyring_file) for n in nodes]
            check(files[0] == files[1] == files[2],
                  "keyring files after keys -%s: ours byte for byte as Debian serf's" % step,
                  "\n".join(files))
        check(json.loads(read(c.keyring_file)) == [new, keys[1]],
              "the rotated keyring: the new key primary, the old primary removed",
              read(c.keyring_file))
    refused_starts(check, root, serf_path, resty, rng, keys)


def refused_starts(check, root, serf_path, resty, rng, keys):
    """Kong's line with -encrypt beside -keyring-file, and with a keyring file that does not
    exist: SERF_PATH's agent and Debian's fail the same way, serf.log byte for byte."""
    missing = os.path.join(root, "no-such-keyring.json")
    for label, encrypt, keyring_file in (
            ("-encrypt beside -keyring-file", keys[0], None),
            ("a -keyring-file that does not exist", None, missing)):
        logs = []
        for i, path in enumerate((serf_path, DEBIAN_SERF)):
            n = KongNode(root, "refused-%d-%s" % (i, "enc" if encrypt else "missing"), path, 1,
                         resty, encrypt, rng, keyring=keys)
            if keyring_file:
                n.keyring_file = keyring_file
            try:
                logs.append(n.start_refused())
            except AssertionError as e:
                logs.append("still running: %s\n%s" % (e, n.read_log()))
                n.stop()
        ours, theirs = logs
        last = theirs.rstrip("\n").split("\n")[-1]
        check(ours == theirs and last.startswith("==> Failed to setup the Serf agent: "),
              "Kong's line with %s: serf refuses to start, ours with the same serf.log (Kong "
              "reports `could not start serf: %s`)" % (label, last),
              "ours:   %r\ntheirs: %r" % (ours, theirs))
