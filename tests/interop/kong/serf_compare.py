"""Comparisons with Debian's serf for the Kong serf_path tests, in two directions:

- the CLIs: SERF_PATH and Debian's `serf` with the same arguments against the same agent
  (`same_output`, `same_sorted_output`, `compare_queries`, `compare_member_filters`,
  `compare_monitor`): any difference is the CLI's;
- the agents: Debian's `serf` CLI against one of our agents and against a Debian serf agent in
  the same cluster (`compare_agents`): any difference is the agent's.

Only what is inherently different is normalised, each time with the reason next to it."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from kong_node import clean_env, sh, wait_for

DEBIAN_SERF = "/usr/bin/serf"


class Check:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL " + what + ("\n     " + detail.replace("\n", "\n     ") if detail else ""))
        sys.stdout.flush()
        return ok


def run(serf, signal_, rpc, args):
    return sh("%s %s -rpc-addr=%s %s" % (serf, signal_, rpc, args))


def same_output(check, node, signal_, args, what, normalise=None):
    """Runs one command line with SERF_PATH and with Debian's serf against `node`'s agent and
    compares exit code, stdout and stderr byte for byte (stdout through `normalise` first,
    when given)."""
    ours = run(node.serf_path, signal_, node.rpc, args)
    theirs = run(DEBIAN_SERF, signal_, node.rpc, args)
    if normalise:
        x, y = (ours[0], normalise(ours[1]), ours[2]), (theirs[0], normalise(theirs[1]), theirs[2])
    else:
        x, y = ours, theirs
    check(x == y, "same output as Debian serf: " + what, "ours:   %r\ntheirs: %r" % (ours, theirs))
    return ours


def tags_sorted(text):
    """A `members` text table with each member's `k=v,k=v` tags sorted: Serf joins a member's
    tags in Go's map order, which changes from call to call (JSON output sorts the keys)."""
    def cell(token):
        return ",".join(sorted(token.split(","))) if "=" in token else token
    return "".join(re.sub(r"\S+", lambda m: cell(m.group(0)), line)
                   for line in text.splitlines(keepends=True))


def sorted_lines(text):
    return sorted(text.splitlines(keepends=True))


def table_rows(text):
    return sorted(line.rstrip(" ") for line in tags_sorted(text).splitlines())


def same_sorted_output(check, node, signal_, args, what):
    """As same_output, with stdout's lines compared as a sorted list: for output whose lines
    come in the order replies arrived over the network (query acks)."""
    ours = run(node.serf_path, signal_, node.rpc, args)
    theirs = run(DEBIAN_SERF, signal_, node.rpc, args)
    check((ours[0], sorted_lines(ours[1]), ours[2]) == (theirs[0], sorted_lines(theirs[1]), theirs[2]),
          "same output as Debian serf (lines in any order): " + what,
          "ours:   %r\ntheirs: %r" % (ours, theirs))
    return ours


def same_first_line(check, node, signal_, args, what):
    """For usage errors: exit code, Go's flag error on stderr and the first stdout line are
    Serf's; the usage text after it is ours."""
    ours = run(node.serf_path, signal_, node.rpc, args)
    theirs = run(DEBIAN_SERF, signal_, node.rpc, args)
    first = lambda r: r[1].split("\n")[0]  # noqa: E731
    check(ours[0] == theirs[0] and ours[2] == theirs[2] and first(ours) == first(theirs),
          "same usage error as Debian serf: " + what, "ours:   %r\ntheirs: %r" % (ours, theirs))


# ------------------------------------------------------------------------------ CLIs


def compare_member_filters(check, node, tagged, untagged):
    """`members -tag/-status/-role/-name/-detailed` through SERF_PATH and Debian's CLI against
    `node`'s agent, once `tagged` carry role=kong (and the first of them dc=east) and
    `untagged` none."""
    first = tagged[0].name
    for args, what in (
            ("-tag role=kong", "members -tag role=kong"),
            ("-tag 'role=k.*' -format json", "members -tag 'role=k.*' -format json"),
            ("-tag role=kong -tag dc=east", "members with two -tag filters"),
            ("-tag role=nosuch", "members -tag matching nothing"),
            ("-tag dc=east -format json", "members -tag dc=east -format json"),
            ("-tag role", "members -tag without '='"),
            ("-tag 'role=('", "members -tag with a bad regexp"),
            ("-role=kong", "members -role (deprecated)"),
            ("-status=alive -tag role=kong", "members -status=alive -tag role=kong"),
            ("-status='al.*'", "members -status='al.*'"),
            ("-status=failed", "members -status=failed (none)"),
            ("-status='('", "members -status with a bad regexp"),
            ("-detailed -tag role=kong", "members -detailed -tag role=kong"),
            ("-detailed -status=alive", "members -detailed -status=alive"),
            ("-name '%s' -detailed" % first, "members -name NAME -detailed"),
            ("-name '%s' -tag role=nosuch" % first, "members -name NAME -tag matching nothing"),
            ("-detailed -format json", "members -detailed -format json"),
    ):
        same_output(check, node, "members", args, what, normalise=tags_sorted)
    code, out, _ = run(DEBIAN_SERF, "members", node.rpc, "-tag role=kong")
    names = {line.split()[0] for line in out.splitlines()}
    check(code == 0 and names == {n.name for n in tagged} and
          not names & {n.name for n in untagged},
          "members -tag role=kong lists exactly the tagged members", out)


def compare_queries(check, node, others, rng):
    """`query` through SERF_PATH and Debian's CLI against `node`'s agent. Acks come in the
    order the members answered, so where several are expected the lines are compared sorted;
    a query to a single node is compared byte for byte."""
    one = others[0].name
    everyone = [node] + list(others)
    tag = "%08x" % rng.getrandbits(32)
    same_output(check, node, "query", "-node '%s' -timeout=3s kcq-%s payload" % (one, tag),
                "query -node NAME (one ack)")
    same_output(check, node, "query", "-no-ack -timeout=1s kcq-%s" % tag, "query -no-ack")
    same_output(check, node, "query", "-node nosuch -timeout=1s kcq-%s" % tag,
                "query -node of an unknown member (no ack)")
    out = same_sorted_output(check, node, "query", "-timeout=3s kcq-%s 'a payload'" % tag,
                             "query to every member")[1]
    check(sorted(line for line in out.splitlines() if line.startswith("Ack from")) ==
          sorted("Ack from '%s'" % n.name for n in everyone) and
          "Total Acks: %d\n" % len(everyone) in out,
          "query: an ack from every member", out)
    # JSON: {"Acks": [...], "Responses": {}}; the acks' order is the answers' order.
    results = []
    for serf in (node.serf_path, DEBIAN_SERF):
        code, out, err = run(serf, "query", node.rpc, "-format json -timeout=3s kcq-%s" % tag)
        try:
            doc = json.loads(out)
            doc["Acks"] = sorted(doc["Acks"])
        except (ValueError, KeyError, TypeError):
            doc = out
        results.append((code, doc, err))
    check(results[0] == results[1] and results[0][1] != "" and
          results[0][1]["Acks"] == sorted(n.name for n in everyone),
          "same output as Debian serf (acks in any order): query -format json",
          "ours:   %r\ntheirs: %r" % tuple(results))
    for args, what in (("-timeout=1s", "query without a name"),
                       ("-timeout=1s a b c", "query with too many arguments"),
                       ("-timeout=bogus x", "query -timeout=bogus"),
                       ("-timeout=1s -relay-factor=300 x", "query -relay-factor=300")):
        same_first_line(check, node, "query", args, what)


class Monitor:
    """`serf monitor` running as a process, its output collected by a thread."""

    def __init__(self, serf, rpc, level):
        self.proc = subprocess.Popen([serf, "monitor", "-rpc-addr=" + rpc, "-log-level=" + level],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=clean_env())
        self.lines = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode("utf-8", "replace"))

    def has(self, text):
        return any(text in line for line in list(self.lines))

    def interrupt(self):
        """SIGINT, as a user's ^C: returns (exit code, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = "still running 10 s after SIGINT"
        self.thread.join(5)
        return code, self.proc.stderr.read().decode("utf-8", "replace")


def event_block(lines, name):
    """The fields of the `Event Info:` block `monitor` printed for query `name`, sorted (Serf's
    CLI prints them in Go's map order, which changes from event to event) and without the ID
    (the agent numbers the queries it hands each stream, so it depends on how many an earlier
    subscriber got)."""
    for i, line in enumerate(lines):
        if line == "Event Info:\n" and '\tName: "%s"\n' % name in lines[i + 1:i + 6]:
            return sorted(x for x in lines[i + 1:i + 6] if not x.startswith("\tID: "))
    return None


def compare_monitor(check, node, serf_path, rng, log_lines):
    """`serf monitor -log-level=debug` through SERF_PATH and Debian's CLI against `node`'s agent
    (ours or Debian's): both stream the agent's events (a query sent while they run shows up in
    both as the same block) and, with `log_lines`, its log lines (the agent's line for the
    query, alike in both); both exit 0 with nothing on stderr on SIGINT."""
    monitors = {"ours": Monitor(serf_path, node.rpc, "debug"),
                "Debian's": Monitor(DEBIAN_SERF, node.rpc, "debug")}
    debian = os.path.realpath(node.serf_path) == os.path.realpath(DEBIAN_SERF)
    where = "Debian serf's agent" if debian else "our agent"
    try:
        # A monitor streams from the moment the agent registered it; until both show what a
        # query sent after they started brings, send another (each with its own name).
        def arrived(name):
            return all(event_block(m.lines, name) and
                       (not log_lines or m.has("Received event: query: " + name))
                       for m in monitors.values())
        name = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            name = "kc-monitor-%08x" % rng.getrandbits(32)
            code, out, err = run(DEBIAN_SERF, "query", node.rpc, "-no-ack -timeout=1s " + name)
            if code != 0:
                break
            try:
                wait_for(lambda: arrived(name), 5, "the query in both monitors")
                break
            except AssertionError:
                continue
        blocks = {who: event_block(list(m.lines), name) for who, m in monitors.items()}
        check(blocks["ours"] is not None and blocks["ours"] == blocks["Debian's"],
              "both monitors stream the agent's events: the same block for a query (%s)" % where,
              repr(blocks) + "\n" + "".join(monitors["ours"].lines[-20:]))
        if log_lines:
            # The agent's line for the query; its other lines about it (gossip rebroadcasts)
            # keep coming until the interrupt, so their number depends on when each monitor
            # is stopped.
            marked = {who: [line for line in m.lines if "Received event: query: " + name in line]
                      for who, m in monitors.items()}
            check(len(marked["ours"]) == 1 and marked["ours"] == marked["Debian's"],
                  "both monitors stream the agent's log lines: the same line for the query (%s)"
                  % where, repr(marked))
    finally:
        ends = {who: m.interrupt() for who, m in monitors.items()}
    check(ends["ours"] == ends["Debian's"] == (0, ""),
          "monitor exits 0 on SIGINT with nothing on stderr, as Debian serf's does (%s)"
          % where, repr(ends))


# ------------------------------------------------------------------------------ agents


def agent_view(node, signal_, args=""):
    """Debian's serf CLI against `node`'s agent."""
    return run(DEBIAN_SERF, signal_, node.rpc, args)


def normalised_info(node):
    """`serf info -format json` from `node`'s agent, reduced to what two agents of one cluster
    must agree on."""
    code, out, err = agent_view(node, "info", "-format json")
    if code != 0:
        return (code, out, err)
    doc = json.loads(out)
    # The agent's own name: each agent is another member.
    doc["agent"]["name"] = "<self>"
    # Go's runtime facts (goroutines, Go version, GOMAXPROCS): a property of the program, not
    # of the cluster; kong-cluster is not a Go program.
    doc.pop("runtime", None)
    serf = doc["serf"]
    # Queue depths are whatever was in flight at the instant of the call, and the Lamport
    # clocks advance with each agent's own traffic (an agent that sent a query is ahead).
    for k in ("event_queue", "intent_queue", "query_queue", "event_time", "member_time",
              "query_time"):
        serf.pop(k, None)
    # The handlers' script paths: each node has its own prefix.
    doc["event_handlers"] = {k.replace(node.prefix, "<prefix>"): v.replace(node.prefix, "<prefix>")
                             for k, v in doc.get("event_handlers", {}).items()}
    return (code, doc, err)


def members_by_name(node):
    code, out, err = agent_view(node, "members", "-format json")
    if code != 0:
        return (code, out, err)
    return (code, sorted(json.loads(out)["members"], key=lambda m: m["name"]), err)


def compare_agents(check, ours, debian, when):
    """What our agent `ours` answers vs what the Debian serf agent `debian` answers, both asked
    by Debian's serf CLI, both members of the same cluster (a settled one: every member alive
    in both views). The members are listed in Go's map order by Serf (random from call to
    call), so lists of members are compared sorted by name; everything else as it is."""
    label = " (%s, SERF_PATH=%s)" % (when, ours.serf_path)
    a, b = members_by_name(ours), members_by_name(debian)
    check(a == b and a[0] == 0, "members -format json: our agent's view = Debian serf agent's"
          + label, "ours:   %r\ntheirs: %r" % (a, b))
    for args in ("", "-detailed", "-status=alive"):
        x, y = agent_view(ours, "members", args), agent_view(debian, "members", args)
        # Serf's columns pad every line but the output's last one (the padding of its empty
        # tags column is trimmed with the final newline), so which member's line carries the
        # padding follows the listing order: lines are compared sorted and without it.
        x, y = (x[0], table_rows(x[1]), x[2]), (y[0], table_rows(y[1]), y[2])
        check(x == y, "members %s: our agent's lines = Debian serf agent's%s" % (args, label),
              "ours:   %r\ntheirs: %r" % (x, y))
    for signal_ in ("reachability", "keys -list"):
        x, y = agent_view(ours, signal_), agent_view(debian, signal_)
        # A keyring's keys come from a Go map on Serf's side: with several keys their lines
        # are compared sorted; with one key this is byte for byte.
        x, y = (x[0], sorted_lines(x[1]), x[2]), (y[0], sorted_lines(y[1]), y[2])
        check(x == y and x[0] == 0,
              "%s: our agent's answer = Debian serf agent's%s" % (signal_, label),
              "ours:   %r\ntheirs: %r" % (x, y))
    x, y = normalised_info(ours), normalised_info(debian)
    check(x == y and x[0] == 0, "info (deterministic fields): our agent = Debian serf agent"
          + label, "ours:   %r\ntheirs: %r" % (x, y))


def wait_settled(nodes, seconds=60):
    """Every node lists every node alive, with the tags each one last set."""
    names = {n.name for n in nodes}
    for n in nodes:
        wait_for(lambda n=n: {m["name"] for m in n.members() or []
                              if m["status"] == "alive"} == names, seconds,
                 "every member alive in the view of " + n.name)


def wait_tags(nodes, tags_of, seconds=60):
    """Every node sees every member's tags as tags_of(name) gives them."""
    def ok(n):
        return all(m["tags"] == tags_of(m["name"]) for m in n.members() or [])
    for n in nodes:
        wait_for(lambda n=n: ok(n), seconds, "the tags gossiped to " + n.name)


__all__ = ["Check", "DEBIAN_SERF", "same_output", "same_sorted_output", "same_first_line",
           "compare_member_filters", "compare_queries", "compare_monitor", "compare_agents",
           "wait_settled", "wait_tags", "time"]
