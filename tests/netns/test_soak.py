#!/usr/bin/env python3
"""Soak: 20 agents killed, restarted, partitioned and healed at random.

Topology two-dc, 10 hosts per DC, one agent per host (profile lan, node addresses), every
agent joining through the four long-lived agents h01, h02 (dc1), h11, h12 (dc2), which are
never killed. A schedule drawn from KC_SOAK_SEED (default 8) runs for KC_SOAK_SECONDS
(default 120; `hack/bench/soak.sh` runs 600): every 1-4 s one of
  kill     SIGKILL a random running agent that is not long-lived (at most 4 down at once),
  restart  start a killed agent again, same name and address,
  partition  (none active) cut dc1 from dc2 at the router, or isolate 1-5 random hosts
           from all others (iptables in the hosts), for 8-25 s, then heal.
At the end everything is healed and restarted, and every one of the 20 views must list the
same 20 members, all alive (waiting at most KC_SOAK_CONVERGE seconds, default 180: Serf's
reconnect tries a failed member every 30 s). RSS, open fds and threads of the long-lived
agents are sampled after the warm-up, every 10 s and at the end: fds and threads must not
grow, RSS by at most 16 MiB. KC_SOAK_REPORT names a file for the JSON summary.
"""
import json
import os
import time

import harness as H

LONG_LIVED = ["h01", "h02", "h11", "h12"]
MAX_DOWN = 4


class Soak(H.NetnsCase):
    KIND = "two-dc"
    HOSTS = int(os.environ.get("KC_SOAK_AGENTS", "20"))

    def test_soak(self):
        duration = float(os.environ.get("KC_SOAK_SECONDS", "120"))
        converge_limit = float(os.environ.get("KC_SOAK_CONVERGE", "180"))
        seed, rng = H.rng("KC_SOAK_SEED", 8)
        names = list(self.topo.hosts)
        per_dc = len(names) // 2
        long_lived = [n for n in LONG_LIVED if n in names] or [names[0]]
        seeds = []
        a = {}
        for n in names:
            x = self.agent(n, join=list(seeds))
            a[n] = x
            if n in long_lived:
                seeds.append(x.addr)
        t_start = time.monotonic()
        for n in names:
            a[n].start()
        H.wait_until(lambda: H.all_alive(a.values(), names), 90, "all %d alive everywhere" % len(names),
                     interval=1)
        H.log("RESULT soak_initial_convergence_s=%.2f (%d agents)" % (time.monotonic() - t_start, len(names)))

        samples = {n: [] for n in long_lived}

        def sample(tag):
            for n in long_lived:
                samples[n].append((tag,) + a[n].proc_stats())
        sample("start")

        counts = dict(kills=0, restarts=0, dc_partitions=0, group_partitions=0, heals=0)
        down = []
        partition_until = None
        schedule = []
        t0 = time.monotonic()
        next_sample = t0 + 10
        while time.monotonic() - t0 < duration:
            now = time.monotonic()
            if partition_until is not None and now >= partition_until:
                self.topo.heal()
                counts["heals"] += 1
                partition_until = None
                schedule.append((round(now - t0, 1), "heal"))
            if now >= next_sample:
                sample("t+%.0f" % (now - t0))
                next_sample += 10
            action = rng.choices(["kill", "restart", "partition"], weights=[4, 4, 2])[0]
            killable = [n for n in names if n not in long_lived and n not in down]
            if action == "kill" and killable and len(down) < MAX_DOWN:
                n = rng.choice(killable)
                a[n].kill()
                down.append(n)
                counts["kills"] += 1
                schedule.append((round(now - t0, 1), "kill " + n))
            elif action == "restart" and down:
                n = down.pop(rng.randrange(len(down)))
                a[n].start()
                counts["restarts"] += 1
                schedule.append((round(now - t0, 1), "restart " + n))
            elif action == "partition" and partition_until is None:
                if rng.random() < 0.5:
                    self.topo.partition_dcs()
                    counts["dc_partitions"] += 1
                    what = "partition dc1|dc2"
                else:
                    k = rng.randint(1, 5)
                    group = sorted(rng.sample(names, k))
                    self.topo.partition([group, [n for n in names if n not in group]])
                    counts["group_partitions"] += 1
                    what = "partition %s|rest" % ",".join(group)
                partition_until = now + rng.uniform(8, 25)
                schedule.append((round(now - t0, 1), what))
            time.sleep(rng.uniform(1, 4))
        chaos = time.monotonic() - t0

        # Heal everything, bring everyone back, wait for one agreed view.
        self.topo.heal_all()
        if partition_until is not None:
            counts["heals"] += 1
        for n in list(down):
            a[n].start()
            counts["restarts"] += 1
        down.clear()
        t_end = time.monotonic()
        converged = True
        try:
            H.wait_until(lambda: H.all_alive(a.values(), names), converge_limit,
                         "all %d views to agree on %d alive members" % (len(names), len(names)), interval=1)
        except AssertionError:
            converged = False
        final_conv = time.monotonic() - t_end
        vs = H.views(a.values())
        alive_sets = {n: sorted(H.alive_set(v)) for n, v in vs.items()}
        distinct = {tuple(s) for s in alive_sets.values()}
        sample("end")

        report = dict(seed=seed, agents=len(names), per_dc=per_dc, chaos_seconds=round(chaos, 1),
                      counts=counts, final_convergence_s=round(final_conv, 2), converged=converged,
                      distinct_views=len(distinct), long_lived=long_lived,
                      resources={n: [dict(at=s[0], rss_kib=s[1], fds=s[2], threads=s[3]) for s in samples[n]]
                                 for n in long_lived},
                      schedule=schedule)
        H.log("soak schedule (seed %d): %s" % (seed, schedule))
        H.log("RESULT soak seed=%d chaos_s=%.0f kills=%d restarts=%d dc_partitions=%d group_partitions=%d "
              "heals=%d final_convergence_s=%.2f converged=%s distinct_views=%d" %
              (seed, chaos, counts["kills"], counts["restarts"], counts["dc_partitions"], counts["group_partitions"],
               counts["heals"], final_conv, converged, len(distinct)))
        for n in long_lived:
            s = samples[n]
            H.log("RESULT soak_resources %s rss_kib %d -> %d (max %d) fds %d -> %d (max %d) threads %d -> %d" %
                  (n, s[0][1], s[-1][1], max(x[1] for x in s), s[0][2], s[-1][2], max(x[2] for x in s),
                   s[0][3], s[-1][3]))
        if os.environ.get("KC_SOAK_REPORT"):
            with open(os.environ["KC_SOAK_REPORT"], "w") as f:
                json.dump(report, f, indent=1)

        if not converged:
            H.log("views at the end: %s" % {n: {m: st for m, (_, st) in (v or {}).items() if st != "alive"}
                                            for n, v in vs.items()})
        self.assertTrue(converged, "views did not agree within %.0f s: %s" % (converge_limit, alive_sets))
        self.assertEqual(1, len(distinct))
        self.assertEqual(sorted(names), list(distinct.pop()))
        for n in long_lived:
            first, last = samples[n][0], samples[n][-1]
            self.assertLessEqual(last[2], first[2] + 2, "%s: open fds grew %d -> %d" % (n, first[2], last[2]))
            self.assertLessEqual(last[3], first[3], "%s: threads grew %d -> %d" % (n, first[3], last[3]))
            self.assertLessEqual(last[1], first[1] + 16 * 1024, "%s: RSS grew %d -> %d KiB" % (n, first[1], last[1]))


if __name__ == "__main__":
    H.main()
