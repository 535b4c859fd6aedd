#!/usr/bin/env python3
"""10 % packet loss on every link for a while.

Topology two-dc, 3 agents per DC advertising node addresses, profile lan. Every link drops
10 % of the packets sent into it (iptables statistic match, placed where netem on the
interface would act: each host's eth0 egress, and the router's egress into each DC): a packet
inside a DC is lost 10 % of the time, across DCs 19 %; a ping and its ack across DCs 34 %.
SWIM's indirect probes, TCP fallback and Lifeguard's refutation must absorb it.
KC_LOSS_DIRECTION=both drops 10 % in both directions of every link instead (19 % inside a DC,
34 % across, 57 % for a cross-DC ping and ack): there Serf 0.9.4 itself declares healthy
members failed (docs/reliability.md has the numbers); KC_LOSS_PCT changes the 10.

During KC_LOSS_SECONDS (default 90; the full run uses 300+) every agent's view is read
about once a second: no member may ever be seen anything but alive. At the end no handler
may have run member-failed/member-leave, and every user event sent during the run (one
every 10 s from a rotating agent, without coalescing) must have run the handler on every
agent.
"""
import os
import time

import harness as H

NAMES = ["h01", "h02", "h03", "h04", "h05", "h06"]


class PacketLoss(H.NetnsCase):
    KIND = "two-dc"
    HOSTS = 6

    def test_ten_percent_loss_everywhere(self):
        duration = float(os.environ.get("KC_LOSS_SECONDS", "90"))
        loss = float(os.environ.get("KC_LOSS_PCT", "10"))
        direction = os.environ.get("KC_LOSS_DIRECTION", "egress")
        a = {}
        a["h01"] = self.agent("h01").start()
        for h in NAMES[1:]:
            a[h] = self.agent(h, join=[a["h01"].addr]).start()
        H.wait_until(lambda: H.all_alive(a.values(), NAMES), H.CONVERGE, "six alive everywhere")

        self.topo.degrade_all(loss, direction)
        H.log("%.0f %% loss (%s) on links %s for %.0f s" % (loss, direction,
              " ".join(sorted(l for l in self.topo.links if ":" not in l)), duration))
        t0 = time.monotonic()
        wall0 = time.time()
        bad = []  # (t, viewer, member, status)
        rpc_errors = []
        rounds = 0
        sent = []
        next_event = t0 + 5
        while time.monotonic() - t0 < duration:
            for name, x in a.items():
                v = x.members(check=False)
                if v is None:
                    # Not a membership verdict; a transient CLI failure is logged, a lasting one fails below.
                    rpc_errors.append((round(time.monotonic() - t0, 1), name, x.last_error))
                    continue
                for m in NAMES:
                    if m not in v or v[m][1] != "alive":
                        bad.append((round(time.monotonic() - t0, 1), name, m, v.get(m, ("", "missing"))[1]))
            rounds += 1
            if time.monotonic() >= next_event:
                ev = "loss-%d" % len(sent)
                a[NAMES[len(sent) % len(NAMES)]].event(ev, "payload %d" % len(sent))
                sent.append(ev)
                next_event += 10
            time.sleep(0.5)
        H.log("RESULT loss_view_rounds=%d (each reads all 6 views) non_alive_observations=%d" % (rounds, len(bad)))
        if bad:
            H.log("non-alive observations (t, viewer, member, status): %s" % bad[:40])
        if rpc_errors:
            H.log("members CLI failures (t, agent, error): %d, first %s" % (len(rpc_errors), rpc_errors[:12]))

        t_ev = time.monotonic()

        def delivered():
            return all(set(sent) <= set(x.user_events()) for x in a.values())
        try:
            H.wait_until(delivered, 60, "every event on every agent (loss still on)")
            missing = {}
        except AssertionError:
            missing = {n: sorted(set(sent) - set(x.user_events())) for n, x in a.items()}
        # Delay of the last event's delivery, and of the slowest of all, from the handler logs.
        H.log("RESULT loss_events_sent=%d all_delivered=%s extra_wait_s=%.1f" %
              (len(sent), not missing, time.monotonic() - t_ev))

        failed_events = []
        for n, x in a.items():
            for t, ev, _, stdin in x.events():
                if t >= wall0 and ev in ("member-failed", "member-leave", "member-reap"):
                    failed_events.append((n, ev, stdin))
        suspects = 0
        for n in NAMES:
            for i in range(1, a[n].starts + 1):
                with open(self.work.file("%s.%d.log" % (n, i))) as f:
                    suspects += sum(1 for line in f if "no acks received" in line)
        H.log("RESULT loss_false_failures=%d (member-failed/leave handler runs) suspicions_raised=%d "
              "(probes without an ack)" % (len(failed_events), suspects))
        self.topo.heal_all()
        self.assertEqual([], failed_events, "healthy members were declared failed under %.0f %% loss" % loss)
        self.assertEqual([], bad, "views saw healthy members not alive")
        self.assertEqual({}, missing, "events not delivered everywhere")
        self.assertLess(len(rpc_errors), rounds * len(NAMES) * 0.05, "the members CLI failed too often")


if __name__ == "__main__":
    H.main()
