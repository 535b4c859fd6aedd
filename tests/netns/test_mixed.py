#!/usr/bin/env python3
"""kong-cluster and Debian's serf in one cluster across a real network (two hosts on a switch),
both bound to 0.0.0.0 as they are in pods.

Go's memberlist puts an IPv4 address on the wire in its 16-byte form (::ffff:a.b.c.d) when it
bound 0.0.0.0. The agent used to send to such an address as IPv6 out of its IPv4 socket, which
the kernel refuses: every UDP ping and ack between the two was lost, serf logged "Failed ping"
and "Was able to connect ... but other probes failed" each second, members stayed alive only
through the TCP fallback, and user events reached serf only at its next push/pull (30 s). The
loopback interop tests could not see it: given an address (-bind 127.0.0.1, -advertise), serf
sends the 4-byte form; only the address it finds itself on an interface goes out in 16 bytes.

Verified: both see both alive; over the next ten probe rounds (lan: one a second; with two
members every probe targets the other) neither side logs a failed probe; a user event sent by
the agent runs serf's handler within gossip time, well before a push/pull could carry it.
"""
import time

import harness as H

PROBE_ROUNDS = 10
PUSH_PULL_INTERVAL = 30
FAILED_PROBE = ("Failed ping", "other probes failed")


class MixedWithSerf(H.NetnsCase):
    KIND = "lan"
    HOSTS = 2

    def test_udp_probes_and_events_between_agent_and_serf(self):
        kc = self.agent("h01", impl="kc").start()
        # No -advertise: serf takes its address from the interface, in Go's 16-byte form.
        serf = self.agent("h02", impl="serf", join=[kc.addr], serf_advertise=False).start()
        H.wait_until(lambda: H.all_alive([kc, serf], ["h01", "h02"]), H.CONVERGE, "both alive in both views")
        # A hold, not a wait for a condition: the claim is that nothing fails over these rounds.
        time.sleep(PROBE_ROUNDS)
        for a in (kc, serf):
            failed = a.log_lines(FAILED_PROBE)
            self.assertEqual("", failed, "%s logged failed probes:\n%s" % (a.name, failed))
        t0 = time.monotonic()
        kc.event("mixed", "hello")
        H.wait_until(lambda: "mixed" in serf.user_events(), PUSH_PULL_INTERVAL / 2,
                     "serf's handler to run the agent's user event by gossip")
        H.log("RESULT mixed_event_to_serf_s=%.2f" % (time.monotonic() - t0))


if __name__ == "__main__":
    H.main()
