#!/usr/bin/env python3
"""Two datacenters whose pod addresses are private to each DC.

Topology two-dc, 3 hosts per DC: node addresses 10.1.0.x / 10.2.0.x route across the router,
pod addresses 10.101.0.x / 10.102.0.x reach only their own DC (blackholed at the router).

- Agents advertising their node address (--advertise-mode host, HOST_IP): each DC forms its
  own cluster, one `join` across DCs merges them and every agent sees all six alive;
  `reachability` contacts every live node.
- Agents wrongly advertising their pod address (--advertise-mode pod, POD_IP): joining across
  DCs through a node address succeeds (push/pull over TCP to the address given), but nobody
  can answer at a pod address of the other DC: `reachability` reports exactly the other DC's
  members under "Missing acks", and the DCs split for good: the joining pair marks the other DC
  `failed`, and no agent ever sees a member of the other DC alive (the split Kong's docs warn
  about when cluster_advertise is not reachable from every node).
"""
import time

import harness as H

DC1 = ["h01", "h02", "h03"]
DC2 = ["h04", "h05", "h06"]


def start_dcs(case, advertise):
    """Starts both DCs, each joined to its own first agent at the advertised address."""
    agents = {}
    for dc in (DC1, DC2):
        seed = None
        for h in dc:
            a = case.agent(h, advertise=advertise, join=[seed.addr] if seed else [])
            a.start()
            seed = seed or a
            agents[h] = a
    return agents


class TwoDatacenters(H.NetnsCase):
    KIND = "two-dc"
    HOSTS = 6

    def test_node_addresses_form_one_cluster(self):
        agents = start_dcs(self, "node")
        all_names = DC1 + DC2
        for dc in (DC1, DC2):
            H.wait_until(lambda: H.all_alive([agents[h] for h in dc], dc), H.CONVERGE, "each DC to converge")
        # Pod addresses really are private: from dc1, dc2's node address answers, its pod address not.
        self.assertEqual(0, agents["h01"].cli("join", agents["h04"].addr).returncode)
        t0 = time.monotonic()
        H.wait_until(lambda: H.all_alive(agents.values(), all_names), H.CONVERGE, "all six alive everywhere",
                     agents=agents.values())
        conv = time.monotonic() - t0
        H.log("RESULT two_dc_convergence_s=%.2f (join across DCs -> 6 alive in all 6 views)" % conv)
        for a in agents.values():
            for name, (addr, status) in a.members().items():
                self.assertEqual(agents[name].host.node_ip + ":7946", addr)
        r = agents["h02"].cli("reachability", "-v", check=False)
        H.log("reachability from h02 (node addresses):\n" + r.stdout)
        self.assertEqual(0, r.returncode, r.stdout + r.stderr)
        self.assertIn("Successfully contacted all live nodes", r.stdout)
        self.assertIn("live members: 6", r.stdout)

        # A node restarted in the other DC comes back alive everywhere.
        agents["h05"].kill()
        t0 = time.monotonic()
        H.wait_until(lambda: H.sees(agents["h01"], ["h05"], "failed"), 40, "h01 to see h05 failed")
        H.log("RESULT cross_dc_failure_detection_s=%.2f (kill -9 in dc2 -> failed in dc1)" % (time.monotonic() - t0))
        agents["h05"].start()
        t0 = time.monotonic()
        H.wait_until(lambda: H.all_alive(agents.values(), all_names), H.CONVERGE, "h05 alive again everywhere")
        H.log("RESULT cross_dc_rejoin_s=%.2f" % (time.monotonic() - t0))

    def test_pod_addresses_do_not_route_across_dcs(self):
        agents = start_dcs(self, "pod")
        for dc in (DC1, DC2):
            H.wait_until(lambda: H.all_alive([agents[h] for h in dc], dc), H.CONVERGE, "each DC to converge on pod IPs")
        # The join itself works: it goes to the node address given on the command line.
        h04_node = "%s:7946" % agents["h04"].host.node_ip
        r = agents["h01"].cli("join", h04_node, check=False)
        self.assertEqual(0, r.returncode, r.stdout + r.stderr)
        # Right after the merge every member is still alive in h01's view; pings to dc2's pod
        # addresses vanish, so the reachability query misses exactly dc2.
        r = agents["h01"].cli("reachability", check=False, timeout=60)
        H.log("reachability from h01 (pod addresses):\n" + r.stdout)
        self.assertNotEqual(0, r.returncode)
        self.assertIn("Missing acks from:", r.stdout)
        missing = set(r.stdout.split("Missing acks from:\n", 1)[1].split("\n")) if "Missing acks" in r.stdout else set()
        missing = {m.strip() for m in missing if m.startswith("\t")}
        # Every dc2 member is missing: none can be reached at its pod address. A dc1 member may
        # be missing too, by chance: the query is gossiped a limited number of times (4 here)
        # to random members, and half of them are black holes now.
        self.assertTrue(set(DC2) <= missing, "all of dc2 must miss acks: %s\n%s" % (missing, r.stdout))
        if missing & set(DC1):
            H.log("note: dc1 members also missed (the query's gossip went to dc2's dead ends): %s"
                  % sorted(missing & set(DC1)))
        # Then the split: the joining pair (h01, h04) marks the other DC failed; nobody sees a member
        # of the other DC alive (an agent that missed the gossip about them never lists them:
        # push/pull spreads no dead members it does not know), each DC stays alive inside.
        t0 = time.monotonic()

        def split():
            for dc, other in ((DC1, DC2), (DC2, DC1)):
                for h in dc:
                    v = agents[h].members(check=False)
                    if not v or any(v.get(m, ("", "missing"))[1] != "alive" for m in dc):
                        return False
                    if any(m in v and v[m][1] != "failed" for m in other):
                        return False
            return H.sees(agents["h01"], DC2, "failed") and H.sees(agents["h04"], DC1, "failed")
        H.wait_until(split, 60, "each DC to mark the other failed", agents=agents.values())
        H.log("RESULT pod_ip_split_s=%.2f "
              "(cross-DC join on pod addresses -> split: other DC failed or unknown, never alive); "
              "missing acks: %s" % (time.monotonic() - t0, sorted(missing)))
        for name, (addr, _) in agents["h01"].members().items():
            self.assertEqual(agents[name].host.pod_ip + ":7946", addr)


if __name__ == "__main__":
    H.main()
