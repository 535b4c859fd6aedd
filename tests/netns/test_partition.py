#!/usr/bin/env python3
"""A partition between two datacenters, longer than the suspicion timeout.

Topology two-dc, 3 agents per DC advertising node addresses, profile lan, an event handler
script on every agent appending each event to a file.

1. The router drops everything between the DCs: each side marks the other `failed` and stays
   alive inside.
2. A user event sent inside each side runs the handlers of that side only.
3. The partition heals: the cluster reunites without any restart (all six alive everywhere).
   Failed members are contacted again by Serf's reconnect (one attempt per reconnect_interval,
   30 s as in serf, not configurable in the agent), so the wait is bounded by ~2 intervals.
4. The event sent during the partition reaches the other side (the push/pull exchange carries
   Serf's recent-event buffer), and the member-join handler runs there for the members that came
   back (Kong purges its cache on MEMBER-JOIN), once the member-failed handler had run for them
   before the heal (a failure healed within the coalescing window reaches no handler, in Serf too).

As in Serf, an event learned from a push/pull is not gossiped on: each agent of the other side
gets it from its own next push/pull (push_pull_interval 30 s on lan) unless gossip brought it,
and while the other side is failed part of each event's gossip goes to the recently dead, so
even inside a side an event may wait for a push/pull. The deadlines allow for both.
"""
import time

import harness as H

DC1 = ["h01", "h02", "h03"]
DC2 = ["h04", "h05", "h06"]
RECONNECT_INTERVAL = 30


class DatacenterPartition(H.NetnsCase):
    KIND = "two-dc"
    HOSTS = 6

    def test_partition_and_heal(self):
        a = {}
        a["h01"] = self.agent("h01").start()
        for h in DC1[1:] + DC2:
            a[h] = self.agent(h, join=[a["h01"].addr]).start()
        names = DC1 + DC2
        H.wait_until(lambda: H.all_alive(a.values(), names), H.CONVERGE, "six alive everywhere")
        # Member events of the initial joins are done (coalesced for up to 3 s); start clean.
        H.wait_until(lambda: all(any(e[1] == "member-join" and "h06\t" in e[3] for e in x.events())
                                 for x in a.values()), 20, "initial member-join handlers")

        H.log("partitioning dc1 | dc2")
        t_part = time.monotonic()
        wall_part = time.time()
        self.topo.partition_dcs()

        def split():
            return all(H.sees(a[h], DC2, "failed") and H.sees(a[h], DC1, "alive") for h in DC1) and \
                all(H.sees(a[h], DC1, "failed") and H.sees(a[h], DC2, "alive") for h in DC2)
        H.wait_until(split, 60, "each DC to mark the other failed")
        detect = time.monotonic() - t_part
        H.log("RESULT partition_detection_s=%.2f (partition -> other DC failed in all 6 views)" % detect)

        a["h01"].event("during-dc1", "from dc1")
        a["h04"].event("during-dc2", "from dc2")
        t_ev = time.monotonic()
        H.wait_until(lambda: all("during-dc1" in a[h].user_events() for h in DC1) and
                     all("during-dc2" in a[h].user_events() for h in DC2), 45, "events inside each side")
        H.log("RESULT partition_event_inside_side_s=%.2f" % (time.monotonic() - t_ev))
        for h in DC2:
            self.assertNotIn("during-dc1", a[h].user_events(), "dc1's event crossed the partition")
        for h in DC1:
            self.assertNotIn("during-dc2", a[h].user_events(), "dc2's event crossed the partition")
        # Still apart: nobody came back while the router drops.
        self.assertTrue(split())
        # The member-failed handlers have run for the other side. A view shows `failed` at once,
        # but the event waits in the coalescer (up to 3 s); a member that comes back within that
        # window was failed and alive again with nothing in between to tell a handler, so Serf
        # (and kong-cluster) run neither handler for it. Waiting here makes the join below due.
        H.wait_until(lambda: not self.missing(a, "member-failed", wall_part), 30,
                     "member-failed handlers for the other side")

        H.log("healing")
        t_heal = time.monotonic()
        wall_heal = time.time()
        self.topo.heal_dcs()
        H.wait_until(lambda: H.all_alive(a.values(), names), 2 * RECONNECT_INTERVAL + 30,
                     "the cluster to reunite (all six alive everywhere)")
        heal = time.monotonic() - t_heal
        H.log("RESULT partition_heal_s=%.2f (heal -> six alive in all 6 views, no restart)" % heal)
        for x in a.values():
            self.assertEqual(1, x.starts)
            self.assertTrue(x.running())

        def crossed():
            return all("during-dc1" in a[h].user_events() for h in DC2) and \
                all("during-dc2" in a[h].user_events() for h in DC1)
        try:
            H.wait_until(crossed, 60, "the partition's events to reach the other side")
            H.log("RESULT partition_events_crossed_after_heal_s=%.2f" % (time.monotonic() - t_heal))
        except AssertionError:
            H.log("user events of the partition did NOT reach the other side: %s" %
                  {h: a[h].user_events() for h in names})
            raise

        try:
            H.wait_until(lambda: not self.missing(a, "member-join", wall_heal - 1), 30,
                         "member-join handlers for the returning side")
        except AssertionError:
            # Say which agent missed which member, and what that agent logged about it.
            for h, who in self.missing(a, "member-join", wall_heal - 1).items():
                H.log("%s ran no member-join for %s since the heal; its events: %s" %
                      (h, who, [e for e in a[h].events() if e[0] >= wall_heal - 1]))
                H.log("%s's log about them:\n%s" % (h, a[h].log_lines(who)))
            raise
        H.log("RESULT member_join_handlers_after_heal: every agent ran member-join for the other DC's 3 members")

    @staticmethod
    def missing(a, event, since):
        """{agent: names of the other DC it ran no `event` handler for since `since` (wall time)}."""
        out = {}
        for h in DC1 + DC2:
            other = DC2 if h in DC1 else DC1
            handled = set()
            for t, ev, _, stdin in a[h].events():
                if ev == event and t >= since:
                    handled |= {line.split("\t")[0] for line in stdin.split(";") if line}
            if set(other) - handled:
                out[h] = sorted(set(other) - handled)
        return out


if __name__ == "__main__":
    H.main()
