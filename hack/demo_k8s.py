#!/usr/bin/python3
"""kong-cluster on Kubernetes, as a user meets it: `helm install` of charts/kong-cluster on a
real control plane (hack/k8s) whose Nodes run pods as Docker containers (hack/nodeagent), with
the agent and operator images (hack/images/build.sh), a throwaway Postgres, and a real Debian
`serf` agent joining from outside Kubernetes.

It shows the members, the ClusterNodes, the `nodes` table, `kubectl delete pod` cleaned up by
the operator (timed), and a leader handover; then stops everything it started, by PID.
Run it through hack/demo.sh, which builds what it runs first. The setup is
tests/k8s/e2e/e2eharness.py's, the same the end-to-end tests use.
"""
import argparse
import base64
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "k8s", "e2e"))
import e2eharness as e  # noqa: E402

SERF_IMAGE = "kong-cluster/debian:bookworm"


def section(title):
    print("\n=== %s" % title, flush=True)


def show(d, *args):
    print("$ kubectl %s" % " ".join(args), flush=True)
    print(d.kubectl(*args, check=False).stdout, flush=True)


def start_serf(d):
    """A real serf agent (Debian's /usr/bin/serf) on the Nodes' network, joining the agents."""
    c = d.cluster
    name = c.instance + "-serf"
    key = base64.b64decode(c.get("secret", "-n", e.NS, e.FULL + "-gossip")["data"]["key"]).decode()
    join = ["-join=%s:%d" % (n["internalIP"], e.GOSSIP_PORT) for n in c.ready["nodes"]]
    e.run(["docker", "run", "-d", "--name", name, "--label", "kong-cluster.nodeagent=" + c.instance,
           "--network", c.instance + "-net", "-v", "/usr/bin/serf:/usr/bin/serf:ro", SERF_IMAGE,
           "serf", "agent", "-node=serf-outside", "-bind=0.0.0.0:7946", "-rpc-addr=127.0.0.1:7373",
           "-encrypt=" + key, *join])
    return name


def serf_members(name):
    return e.run(["docker", "exec", name, "serf", "members", "-rpc-addr=127.0.0.1:7373"], check=False).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=3, help="Nodes, one agent pod each (default 3)")
    ap.add_argument("--cleanups", type=int, default=3, help="timed `kubectl delete pod` runs (default 3)")
    args = ap.parse_args()
    why = e.skip_reason()
    if why:
        print("demo: cannot run here: %s" % why, file=sys.stderr)
        return e.SKIP_CODE  # 77: ctest reports the demo skipped on such a machine
    t_all = time.monotonic()
    section("Starting: images (first build ~15 min per image, later seconds), control plane (~30 s), "
            "%d Nodes, Postgres, helm install (~1-2 min to steady)" % args.nodes)
    serf = None
    with e.Deployment(node_count=args.nodes) as d:
        try:
            section("Kubernetes objects")
            show(d, "get", "nodes", "-o", "wide")
            show(d, "get", "pods", "-n", e.NS, "-o", "wide")
            show(d, "get", "lease", "-n", e.NS)

            section("A real serf agent joins from outside Kubernetes")
            serf = start_serf(d)
            agents = d.ready_agents()
            e.wait_until(lambda: all((d.members(p) or {}).get("serf-outside") == "alive" for p in agents), 60,
                         "every agent to list serf-outside alive")
            print(serf_members(serf), flush=True)

            section("Members, as an agent lists them (GET /v1/members)")
            for name, status in sorted(d.members(agents[0]).items()):
                print("  %-40s %s" % (name, status))
            section("ClusterNodes")
            show(d, "get", "clusternodes", "-n", e.NS, "-o", "wide")
            section("The nodes table (Postgres)")
            print(d.pg.psql("SELECT name, cluster_listening_address FROM nodes ORDER BY name", database="kong"),
                  flush=True)

            section("kubectl delete pod: the operator cleans up (member, row, ClusterNode)")
            for i in range(args.cleanups):
                d.wait_steady(extra={"serf-outside"})
                victim = sorted(p["metadata"]["name"] for p in d.ready_agents())[0]
                t0 = time.monotonic()
                d.kubectl("delete", "pod", "-n", e.NS, victim, "--wait=false")
                survivors = [p for p in d.ready_agents() if p["metadata"]["name"] != victim]
                e.wait_until(lambda: d.gone_everywhere(victim, survivors), 60, victim + " cleaned up", interval=0.05)
                print("  run %d: %s gone from every view, row and ClusterNode %.2fs after kubectl delete pod"
                      % (i + 1, victim, time.monotonic() - t0), flush=True)
            show(d, "get", "events", "-n", e.NS, "--field-selector", "reason=MemberPruned")

            section("Leader handover")
            leader = d.leader()
            print("  leader: %s (lease %ss)" % (leader, d.lease()["spec"]["leaseDurationSeconds"]), flush=True)
            t0 = time.monotonic()
            d.kubectl("delete", "pod", "-n", e.NS, leader, "--wait=false")
            new = e.wait_until(lambda: d.leader() not in (None, leader) and d.leader(), 60, "a new leader",
                               interval=0.05)
            print("  %s holds the Lease %.2fs after its predecessor's pod was deleted" % (new, time.monotonic() - t0))
            show(d, "get", "pods", "-n", e.NS, "-o", "wide")
        finally:
            if serf:
                e.run(["docker", "rm", "-f", serf], check=False)
    section("Stopped: control plane, Nodes, Postgres (demo took %.0fs)" % (time.monotonic() - t_all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
