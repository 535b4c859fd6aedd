#!/usr/bin/env python3
"""The local demo (hack/demo.py, what `hack/demo.sh` runs after building) from start to finish.

Runs it with a short --duration, as a user would, in both modes: --loopback (every pod on its own
127.0.x.y) and --netns (as root: a hack/netns "lan" topology, the demo itself, Postgres and kube-sim
in the control-plane namespace h01, each agent pod in its Node's namespace with that namespace's
address as pod IP). It checks what it prints and what it leaves:
- it exits 0 and every process it started (its --state-file lists the PIDs) is gone afterwards;
- `kubectl get clusternodes -o wide` lists every agent pod's member (and the serf agent's) `alive`,
  with the dc and zone of its Node;
- `kong-cluster members` and `serf members` list every agent alive;
- the `nodes` table has a row per agent;
- the Lease has one holder and the two operator replicas report leader_election_master_status 1 and 0;
- the user event reached the event handler of every agent (and of the serf agent);
- `kubectl delete pod` is cleaned up (member gone from every agent's view, row and ClusterNode deleted)
  with a measured time, and so is a crashed agent's force-deleted pod;
- the final views no longer show the deleted members; deleting the leader's pod hands over the Lease;
- --netns: the mode is announced, pod IPs are the namespaces' addresses (10.1.0.x; operators
  10.1.0.101/102), each agent and operator process runs in its Node's namespace (`ip netns
  identify`), and no namespace with the demo's prefix (nor its kcnetns state file) is left.
`--help` lists the options. Skipped (exit 77) when the binaries are not built; the netns case is
skipped, saying why, when network namespaces cannot be made (not root, no `ip`/iptables, ...).
`test_demo.py loopback` runs --help and the loopback case, `test_demo.py netns` the netns case
(exit 77 when namespaces are not available): two ctest tests, deploy_demo and deploy_demo_netns.
"""
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import demoharness as d  # noqa: E402


def sections(out):
    """Heading -> text of each `== heading ===` section of the demo's output."""
    res, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^== (.*?) =+$", line)
        if m:
            cur = m.group(1)
            res[cur] = []
        elif cur is not None:
            res[cur].append(line)
    return {k: "\n".join(v) for k, v in res.items()}


def find(secs, prefix):
    for k, v in secs.items():
        if k.startswith(prefix):
            return v
    raise AssertionError("no section starting with %r in %s" % (prefix, list(secs)))


def table_after(text, cmd):
    """Rows (lists of columns) of the table printed after `$ <cmd...>`, up to the next blank/`$`/note."""
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if l.startswith("$ ") and cmd in l:
            rows = []
            for r in lines[i + 1:]:
                if not r.strip() or r.startswith(("$ ", "   ")):
                    break
                rows.append(r.split())
            return rows
    raise AssertionError("no `%s` in:\n%s" % (cmd, text))


class DemoTest(unittest.TestCase):
    maxDiff = None

    def test_help_lists_the_options(self):
        r = subprocess.run([sys.executable, d.DEMO, "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ("--duration", "--agents", "--keep-running", "--setup-only", "--state-file", "--keep",
                    "--bin-dir", "--no-serf", "--netns", "--loopback"):
            self.assertIn(opt, r.stdout)

    def test_demo_loopback(self):
        self.start_to_finish("--loopback")

    def test_demo_netns(self):
        ok, why = d.netns_available()
        if not ok:
            self.skipTest("network namespaces are not available: %s" % why)
        self.start_to_finish("--netns")

    def check_netns_while_up(self, state):
        """Right after the state file: each agent and operator process runs in its Node's namespace."""
        hosts = state["netns"]
        ns_of_ip = {h["ip"]: h["ns"] for h in hosts.values()}
        checked = 0
        for a in state["agents"]:
            ns = d.netns_of(a["pid"])
            if d.pid_alive(a["pid"]):  # the scenes that follow delete some; check the live ones
                self.assertEqual(ns, ns_of_ip[a["ip"]], "agent %s (pid %d) runs in %r" % (a["name"], a["pid"], ns))
                checked += 1
        self.assertGreaterEqual(checked, 1)
        for o, h in zip(state["operators"], ("h02", "h03")):
            if d.pid_alive(o["pid"]):
                self.assertEqual(d.netns_of(o["pid"]), hosts[h]["ns"], o)

    def start_to_finish(self, mode):
        run = d.DemoRun("--duration", "2", mode).start()
        self.addCleanup(run.stop)
        state = run.wait_state(timeout=90)
        if mode == "--netns":
            self.check_netns_while_up(state)
        rc = run.wait(timeout=150)
        out = run.output()
        print(out)  # ctest --output-on-failure / -V shows what the demo printed
        self.assertEqual(rc, 0, out)
        agents = [a["name"] for a in state["agents"]]
        self.assertEqual(len(agents), 4)
        with_serf = state["serf"] is not None
        members = agents + (["serf-0"] if with_serf else [])
        secs = sections(out)

        # everything stopped, by PID
        self.assertIn("processes stopped by PID", find(secs, "Stopped"))
        alive = [p for p in state["pids"] if d.pid_alive(p)]
        self.assertEqual(alive, [], "processes the demo started are still running")
        self.assertFalse(os.path.exists(state["work"]), "the temporary directory was not removed")

        # the mode: announced, and the addresses it implies; namespaces all removed
        ips = [a["ip"] for a in state["agents"]]
        op_ips = sorted(o["ip"] for o in state["operators"])
        if mode == "--loopback":
            self.assertEqual(state["mode"], "loopback")
            self.assertIn("mode: loopback", out)
            self.assertTrue(all(ip.startswith("127.") for ip in ips + op_ips), ips + op_ips)
        else:
            self.assertEqual(state["mode"], "netns")
            prefix = state["netns_prefix"]
            self.assertIn("mode: network namespaces", find(secs, "Network namespaces"))
            self.assertEqual(ips, ["10.1.0.%d" % (12 + i) for i in range(len(ips))])
            self.assertEqual([state["netns"]["h%02d" % (i + 2)]["ip"] for i in range(len(ips))], ips)
            self.assertEqual(op_ips, ["10.1.0.101", "10.1.0.102"])
            for a in state["agents"]:
                self.assertEqual(a["ports"], {"gossip": 7946, "rpc": 7373, "http": 8946, "probe": 8947})
            self.assertIn("none left with prefix %s-" % prefix, find(secs, "Stopped"))
            self.assertEqual(d.namespaces_with_prefix(prefix), [], "namespaces left behind")
            state_dir = os.environ.get("KC_NETNS_STATE_DIR", "/run/kc-netns")
            self.assertFalse(os.path.exists(os.path.join(state_dir, prefix + ".json")), "kcnetns state file left")

        # nodes with topology labels, agent pods and operator pods Running on their own IPs
        nodes = table_after(find(secs, "Nodes"), "get nodes")
        self.assertEqual([r[0] for r in nodes[1:]], ["worker-1", "worker-2", "worker-3", "worker-4"])
        self.assertEqual(nodes[0][-2:], ["REGION", "ZONE"])
        self.assertEqual({r[-1] for r in nodes[1:]}, {"dc1-a", "dc1-b"})
        k8s = find(secs, "What Kubernetes shows")
        pods = {r[0]: r for r in table_after(k8s, "get pods -o wide")[1:]}
        for a in state["agents"] + state["operators"]:
            self.assertEqual(pods[a["name"]][1:3], ["1/1", "Running"], pods)
            self.assertEqual(pods[a["name"]][5], a["ip"])
        self.assertEqual(len({a["ip"] for a in state["agents"] + state["operators"]}), 6, "one IP per pod")

        # ClusterNodes: every member alive, with dc and zone from its Node
        cns = table_after(k8s, "get clusternodes -o wide")
        self.assertEqual(cns[0], ["NAME", "ADDRESS", "STATUS", "DC", "NODE", "AGE", "MEMBER", "POD", "ZONE"])
        by_name = {r[0]: r for r in cns[1:]}
        self.assertEqual(sorted(by_name), sorted(members))
        for a in state["agents"]:
            r = by_name[a["name"]]
            self.assertEqual(r[1], "%s:%d" % (a["ip"], a["ports"]["gossip"]))
            self.assertEqual((r[2], r[3], r[4], r[7]), ("alive", "dc1", a["node"], a["name"]))
            self.assertIn(r[8], ("dc1-a", "dc1-b"))
        if with_serf:
            self.assertEqual(by_name["serf-0"][2], "alive")

        # kong-cluster members (Kong's format) and serf members
        kcm = table_after(find(secs, "kong-cluster members"), "kong-cluster members")
        self.assertEqual(sorted((r[0], r[2]) for r in kcm), sorted((m, "alive") for m in members))
        if with_serf:
            serf = table_after(find(secs, "A real Debian serf"), "serf members")
            self.assertEqual(sorted((r[0], r[2]) for r in serf), sorted((m, "alive") for m in members))

        # the nodes table: one row per agent
        if state["pg_port"]:
            rows = find(secs, "The nodes table")
            for a in state["agents"]:
                self.assertRegex(rows, r"%s \| %s:%d" % (a["name"], re.escape(a["ip"]), a["ports"]["gossip"]))
            self.assertIn("(4 rows)", rows)

        # leader election: one holder, metrics 1 and 0
        ops = find(secs, "Two kong-cluster-operator replicas")
        lease = table_after(ops, "get lease")
        self.assertIn(lease[1][1], [o["name"] for o in state["operators"]])
        self.assertEqual(sorted(re.findall(r"leader_election_master_status = (\d)", ops)), ["0", "1"])

        # the user event reached every handler
        ev = find(secs, "A user event")
        for m in members:
            self.assertIn("%s got user event invalidate: apis:1234" % m, ev)
        self.assertRegex(ev, r"event delivered to %d of %d handlers" % (len(members), len(members)))

        # kubectl delete pod, cleaned up with a measured time
        dele = find(secs, "kubectl delete pod: the agent leaves")
        self.assertRegex(dele, r"pod \"kong-cluster-agent-\w+\" deleted")
        for step in ("SIGTERM to pid", "member gone from every agent's view", "ClusterNode deleted",
                     "pod object gone from the API"):
            self.assertIn(step, dele)
        if state["pg_port"]:
            self.assertIn("nodes row deleted", dele)
        m = re.search(r"cleanup complete (\d+\.\d+)s after kubectl delete pod \((\d+\.\d+)s after the pod object", dele)
        self.assertIsNotNone(m, dele)
        self.assertLess(float(m.group(1)), 30.0)
        self.assertLess(float(m.group(2)), 5.0)
        deleted = re.search(r"delete pod (kong-cluster-agent-\w+)", dele).group(1)

        # a crashed agent's pod force-deleted: pruned by the operator
        crash = find(secs, "kill -9 an agent")
        m = re.search(r"cleanup complete (\d+\.\d+)s after the pod deletion", crash)
        self.assertIsNotNone(m, crash)
        self.assertLess(float(m.group(1)), 5.0)
        self.assertRegex(crash, r"pruned member kong-cluster-agent-\w+ \(pod_deleted\)")
        crashed = re.search(r"delete pod (kong-cluster-agent-\w+) --force", crash).group(1)

        # the leader's pod deleted: the standby leads
        self.assertRegex(find(secs, "kubectl delete pod on the operator leader"), r"new leader after \d+\.\d+s")

        # final views: the two deleted members are gone everywhere
        final = find(secs, "Final view")
        remaining = sorted(set(members) - {deleted, crashed})
        self.assertEqual(sorted(r[0] for r in table_after(final, "get clusternodes")[1:]), remaining)
        self.assertEqual(sorted(r[0] for r in table_after(final, "kong-cluster members")), remaining)
        summary = find(secs, "Summary")
        self.assertRegex(summary, r"kubectl delete pod -> member, row, ClusterNode gone\s+\d+\.\d+s")


if __name__ == "__main__":
    missing = d.binaries_missing()
    if missing:
        print("SKIP: %s not built in %s" % (", ".join(missing), d.BIN))
        sys.exit(d.SKIP)
    which = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in ("loopback", "netns") else None
    names = []
    if which == "loopback":
        names = ["DemoTest.test_help_lists_the_options", "DemoTest.test_demo_loopback"]
    elif which == "netns":
        ok, why = d.netns_available()
        if not ok:
            print("SKIP: the demo's network-namespace mode: network namespaces are not available: %s" % why)
            sys.exit(d.SKIP)
        names = ["DemoTest.test_demo_netns"]
    unittest.main(argv=[sys.argv[0]] + (names or sys.argv[1:]), verbosity=2)
