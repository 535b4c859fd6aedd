#!/usr/bin/python3
"""kong-cluster on Kubernetes, as a user meets it: `helm install` of charts/kong-cluster on a
real control plane (hack/k8s) whose Nodes run pods as Docker containers (hack/nodeagent), with
the agent and operator images (hack/images/build.sh), a throwaway Postgres, and a real Debian
`serf` agent joining from outside Kubernetes.

It shows the members, the ClusterNodes, the `nodes` table, a user event run by the handler
script of every agent and of the serf agent (charts/kong-cluster/examples/event-handlers.yaml),
`helm test` on the release, `kubectl delete pod` cleaned up by the operator (timed), and a
leader handover; then stops everything it started, by PID.
Run it through hack/demo.sh, which builds what it runs first. The setup is
tests/k8s/e2e/e2eharness.py's, the same the end-to-end tests use.
"""
import argparse
import base64
import os
import shutil
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "k8s", "e2e"))
import e2eharness as e  # noqa: E402
import helmchart as hc  # noqa: E402
from demo_services import NODEAGENT_LABEL, ServiceHosts  # noqa: E402

SERF_IMAGE = "kong-cluster/debian:bookworm"
# The handler every member runs for every user event (examples/event-handlers.yaml shows how to
# make its ConfigMap): one line per event in /tmp/user-events.
HANDLER = """#!/bin/sh
printf '%s %s %s\\n' "$SERF_SELF_NAME" "$SERF_USER_EVENT" "$(cat)" >>/tmp/user-events
"""
HANDLERS_EXAMPLE = os.path.join(hc.EXAMPLES, "event-handlers.yaml")
HANDLERS_CONFIGMAP = "kong-cluster-handlers"
EVENTS_FILE = "user-events"
TEST_SELECTOR = "app.kubernetes.io/instance=%s,app.kubernetes.io/component=test" % e.RELEASE


def section(title):
    print("\n=== %s" % title, flush=True)


def show(d, *args):
    print("$ kubectl %s" % " ".join(args), flush=True)
    print(d.kubectl(*args, check=False).stdout, flush=True)


def merge(base, extra):
    """extra laid over base, recursively, as Helm merges values files."""
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v


def handlers_before_install(workdir):
    """The e2e Deployment's before_install: what a user does for examples/event-handlers.yaml,
    the ConfigMap of the handler script first, then the install with that file's values."""
    script = os.path.join(workdir, "handlers", "record")
    os.makedirs(os.path.dirname(script))
    with open(script, "w") as f:
        f.write(HANDLER)
    os.chmod(script, 0o755)

    def prepare(d, values):
        d.kubectl("create", "namespace", e.NS)
        d.kubectl("create", "configmap", "-n", e.NS, HANDLERS_CONFIGMAP, "--from-file=" + script)
        with open(HANDLERS_EXAMPLE) as f:
            merge(values, yaml.safe_load(f))
    return prepare


def start_serf(d, workdir):
    """A real serf agent (Debian's /usr/bin/serf) on the Nodes' network, joining the agents,
    with the agents' handler script (its /tmp is workdir/serf-tmp)."""
    c = d.cluster
    name = c.instance + "-serf"
    key = base64.b64decode(c.get("secret", "-n", e.NS, e.FULL + "-gossip")["data"]["key"]).decode()
    join = ["-join=%s:%d" % (n["internalIP"], e.GOSSIP_PORT) for n in c.ready["nodes"]]
    os.makedirs(os.path.join(workdir, "serf-tmp"))
    e.run(["docker", "run", "-d", "--name", name, "--label", NODEAGENT_LABEL + "=" + c.instance,
           "--network", c.instance + "-net", "-v", "/usr/bin/serf:/usr/bin/serf:ro",
           "-v", os.path.join(workdir, "handlers") + ":/etc/kong-cluster/handlers:ro",
           "-v", os.path.join(workdir, "serf-tmp") + ":/tmp", SERF_IMAGE,
           "serf", "agent", "-node=serf-outside", "-bind=0.0.0.0:7946", "-rpc-addr=127.0.0.1:7373",
           "-encrypt=" + key, "-event-handler=user=/etc/kong-cluster/handlers/record", *join])
    return name


def serf_members(name):
    return e.run(["docker", "exec", name, "serf", "members", "-rpc-addr=127.0.0.1:7373"], check=False).stdout


def pod_container(d, pod, container):
    """The Docker container the node stand-in made for a pod's container (running or not)."""
    ids = e.run(["docker", "ps", "-aq", "--filter", "label=%s=%s" % (NODEAGENT_LABEL, d.cluster.instance),
                 "--filter", "label=%s.pod-uid=%s" % (NODEAGENT_LABEL, pod["metadata"]["uid"]),
                 "--filter", "label=%s.container=%s" % (NODEAGENT_LABEL, container)]).stdout.split()
    if not ids:
        raise AssertionError("pod %s has no container %s" % (pod["metadata"]["name"], container))
    return ids[0]  # the newest


def pod_tmp(ctr):
    """Where a container's /tmp (an emptyDir) is on the host."""
    return e.run(["docker", "inspect", "-f", '{{range .Mounts}}{{if eq .Destination "/tmp"}}{{.Source}}{{end}}{{end}}',
                  ctr]).stdout.strip()


def user_event_to_every_handler(d, serf, workdir):
    """Sends one user event through an agent pod's RPC and waits until the handler of every
    agent and of the serf agent has run it; returns the seconds that took."""
    agents = sorted(d.ready_agents(), key=lambda p: p["metadata"]["name"])
    files = {p["metadata"]["name"]: os.path.join(pod_tmp(pod_container(d, p, "agent")), EVENTS_FILE) for p in agents}
    files["serf-outside"] = os.path.join(workdir, "serf-tmp", EVENTS_FILE)
    sender = agents[0]
    payload = "hello-from-%s-%d" % (sender["metadata"]["name"], time.time())
    cmd = ["kong-cluster", "event", "--no-coalesce", "demo", payload]  # RPC on 127.0.0.1:7373, token in env
    # `kubectl exec` needs a kubelet server, which the node stand-in has not: the same command
    # runs in the pod's agent container through Docker (the token comes from its environment).
    print("$ kubectl exec -n %s %s -c agent -- %s" % (e.NS, sender["metadata"]["name"], " ".join(cmd)), flush=True)
    t0 = time.monotonic()
    e.run(["docker", "exec", pod_container(d, sender, "agent"), *cmd])

    def ran(path):
        try:
            with open(path) as f:
                return [ln for ln in f.read().splitlines() if ln.endswith(" demo " + payload)]
        except FileNotFoundError:
            return []
    seen = {}  # member -> (seconds after sending, the line its handler wrote)

    def every_handler_ran():
        for member, path in files.items():
            lines = member not in seen and ran(path)
            if lines:
                seen[member] = (time.monotonic() - t0, lines[0])
        return len(seen) == len(files)
    try:
        e.wait_until(lambda: every_handler_ran() or set(files) - set(seen) == {"serf-outside"}, 30,
                     "every agent's handler to run the event", interval=0.02)
        # The serf agent may have it only from a push/pull (every 30 s): see udp_note().
        e.wait_until(every_handler_ran, 45, "the serf agent's handler to run the event", interval=0.1)
    finally:
        for member in sorted(files):
            took, line = seen.get(member, (None, None))
            print("  %-28s %s" % (member, "%5.2fs  %s" % (took, line) if line else
                                  "MISSING: its handler did not run the event"))
        if "serf-outside" not in seen:
            print(e.run(["docker", "logs", "--tail", "30", serf], check=False).stdout, flush=True)
    return max(t for t, _ in seen.values())


def udp_note(serf):
    """Why the serf agent's handler may run seconds after the agents': its log tells whether its
    UDP probes of the agents got answers (memberlist falls back to TCP when they do not, and
    then gossip, user events included, reaches it only through TCP push/pull)."""
    log = e.run(["docker", "logs", serf], check=False)
    failed = (log.stdout + log.stderr).count("but other probes failed")
    if failed:
        print("  (the serf agent logged %d times 'Was able to connect to <agent> but other probes failed': its UDP "
              "gossip with the agents does not get through on this network, so user events reach it by TCP "
              "push/pull)" % failed, flush=True)


def test_pod_output(d):
    """What the helm test pods printed (`kubectl logs` needs a kubelet server: Docker has it)."""
    for p in sorted(d.pods(TEST_SELECTOR), key=lambda p: p["metadata"]["name"]):
        for c in p["spec"]["containers"]:
            r = e.run(["docker", "logs", pod_container(d, p, c["name"])], check=False)
            print("  %s (%s):" % (p["metadata"]["name"], p["status"].get("phase")))
            for line in (r.stdout + r.stderr).splitlines():
                print("    " + line)
    sys.stdout.flush()


def helm_test(d):
    """`helm test` on the release; its pods find the Services through hack/demo_services.py."""
    print("$ helm test %s -n %s" % (e.RELEASE, e.NS), flush=True)
    t0 = time.monotonic()
    with ServiceHosts(d, e.NS, d.cluster.instance) as names:
        try:
            out = d.helm.run("test", e.RELEASE, "--namespace", e.NS, "--timeout", "4m", timeout=300)
        except hc.HelmError:
            test_pod_output(d)
            print("operator replicas:\n" + d.operator_report(), flush=True)
            raise
        finally:
            print("  (Service names the test pods got: %s%s)"
                  % (names.mapped, "; last error: %s" % names.error if names.error else ""), flush=True)
    print(out.rstrip(), flush=True)
    test_pod_output(d)
    return time.monotonic() - t0


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
    workdir = tempfile.mkdtemp(prefix="kc-demo-")
    try:
        run_demo(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    section("Stopped: control plane, Nodes, Postgres (demo took %.0fs)" % (time.monotonic() - t_all))
    return 0


def run_demo(args, workdir):
    serf = None
    with e.Deployment(node_count=args.nodes, before_install=handlers_before_install(workdir)) as d:
        try:
            section("Kubernetes objects")
            show(d, "get", "nodes", "-o", "wide")
            show(d, "get", "pods", "-n", e.NS, "-o", "wide")
            show(d, "get", "lease", "-n", e.NS)

            section("A real serf agent joins from outside Kubernetes")
            serf = start_serf(d, workdir)
            agents = d.ready_agents()
            e.wait_until(lambda: all((d.members(p) or {}).get("serf-outside") == "alive" for p in agents), 60,
                         "every agent to list serf-outside alive")

            # With a member from outside Kubernetes in the cluster, as users run it.
            section("helm test")
            took = helm_test(d)
            print("  helm test passed in %.1fs" % took, flush=True)
            # Serf drops user events older than its join (it takes the event clock of the members
            # it syncs with): wait until its join is over before sending one.
            e.wait_until(lambda: "Join completed" in e.run(["docker", "logs", serf], check=False).stdout, 30,
                         "the serf agent's join to complete")
            print(serf_members(serf), flush=True)

            section("Members, as an agent lists them (GET /v1/members)")
            for name, status in sorted(d.members(agents[0]).items()):
                print("  %-40s %s" % (name, status))
            section("ClusterNodes")
            show(d, "get", "clusternodes", "-n", e.NS, "-o", "wide")
            section("The nodes table (Postgres)")
            print(d.pg.psql("SELECT name, cluster_listening_address FROM nodes ORDER BY name", database="kong"),
                  flush=True)

            section("A user event reaches the handler script of every agent and of the serf agent "
                    "(examples/event-handlers.yaml)")
            took = user_event_to_every_handler(d, serf, workdir)
            print("  every handler ran it %.2fs after the event was sent" % took, flush=True)
            udp_note(serf)

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


if __name__ == "__main__":
    sys.exit(main())
