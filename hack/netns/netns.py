#!/usr/bin/env python3
"""Create, fault and remove kong-cluster's network-namespace topologies (see kcnetns.py).

  netns.py up two-dc --hosts 6            # prints the prefix (kc<pid>a) and the layout
  netns.py show --prefix P
  netns.py exec --prefix P h01 -- CMD..   # run CMD inside host h01
  netns.py cut|restore --prefix P LINK    # links: h01.., h01:pod.., dc1, dc2
  netns.py degrade --prefix P LINK PCT [--direction egress]  # PCT % loss; LINK 'all' = every link
  netns.py partition --prefix P [h01,h02 h03,h04 | dcs]
  netns.py heal --prefix P                # partitions only; heal-all: every fault
  netns.py down|cleanup --prefix P        # kills what runs inside, deletes the namespaces
  netns.py list                           # state files and namespaces of this tool

Needs root. Every namespace is named <prefix>-<role>; cleanup touches only those.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcnetns  # noqa: E402


def cmd_up(a):
    prefix = a.prefix or "kcm%d" % os.getpid()
    t = kcnetns.build(a.kind, hosts=a.hosts, prefix=prefix, reaper=False)
    kcnetns._live.remove(t)  # outlive this command; `down` removes it
    print(t.prefix)
    print(t.describe(), file=sys.stderr)
    return 0


def cmd_down(a):
    removed = kcnetns.cleanup_prefix(a.prefix)
    print("removed %d namespaces%s" % (len(removed), (": " + " ".join(removed)) if removed else ""))
    return 0


def cmd_show(a):
    print(kcnetns.Topology.load(a.prefix).describe())
    return 0


def cmd_list(a):
    try:
        files = sorted(f for f in os.listdir(kcnetns.STATE_DIR) if f.endswith(".json"))
    except OSError:
        files = []
    for f in files:
        with open(os.path.join(kcnetns.STATE_DIR, f)) as fh:
            d = json.load(fh)
        alive = kcnetns._proc_alive(d.get("creator_pid") or 0)
        print("%s  %s  %d hosts  creator pid %s%s" % (d["prefix"], d["kind"], len(d["hosts"]), d.get("creator_pid"),
                                                     "" if alive else " (gone)"))
    return 0


def cmd_exec(a):
    t = kcnetns.Topology.load(a.prefix)
    argv = a.argv[1:] if a.argv and a.argv[0] == "--" else a.argv
    os.execvp("ip", ["ip", "netns", "exec", t.hosts[a.host].ns] + argv)


def cmd_fault(a):
    t = kcnetns.Topology.load(a.prefix)
    if a.cmd == "cut":
        t.cut(a.link)
    elif a.cmd == "restore":
        for link in (t.links if a.link == "all" else [a.link]):
            t.restore(link)
    elif a.cmd == "degrade":
        if a.link == "all":
            t.degrade_all(a.pct, a.direction)
        else:
            t.degrade(a.link, a.pct, a.direction)
    elif a.cmd == "partition":
        if not a.groups or a.groups == ["dcs"]:
            t.partition_dcs()
        else:
            t.partition([g.split(",") for g in a.groups])
    elif a.cmd == "heal":
        t.heal()
    elif a.cmd == "heal-all":
        t.heal_all()
    return 0


def cmd_reap(a):
    """Internal: waits for the creating process to end, then removes its topology if it is
    still there (the creator was killed before it could tear down)."""
    while kcnetns._proc_alive(a.parent, a.parent_start):
        time.sleep(0.5)
    if os.path.exists(kcnetns.state_path(a.prefix)):
        removed = kcnetns.cleanup_prefix(a.prefix)
        print("reaped %s" % " ".join(removed))
    try:
        os.unlink(os.path.join(kcnetns.STATE_DIR, a.prefix + ".reaper.log"))
    except OSError:
        pass
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("up", help="create a topology")
    s.add_argument("kind", choices=["lan", "two-dc"])
    s.add_argument("--hosts", type=int, default=4, help="hosts in all (two-dc: split evenly)")
    s.add_argument("--prefix", help="name prefix (letters/digits, no '-'); default kcm<pid>")
    s.set_defaults(fn=cmd_up)
    for name in ("down", "cleanup"):
        s = sub.add_parser(name, help="remove the topology with this prefix")
        s.add_argument("--prefix", required=True)
        s.set_defaults(fn=cmd_down)
    s = sub.add_parser("show")
    s.add_argument("--prefix", required=True)
    s.set_defaults(fn=cmd_show)
    s = sub.add_parser("list")
    s.set_defaults(fn=cmd_list)
    s = sub.add_parser("exec", help="run a command inside a host")
    s.add_argument("--prefix", required=True)
    s.add_argument("host")
    s.add_argument("argv", nargs=argparse.REMAINDER)
    s.set_defaults(fn=cmd_exec)
    for name in ("cut", "restore"):
        s = sub.add_parser(name)
        s.add_argument("--prefix", required=True)
        s.add_argument("link")
        s.set_defaults(fn=cmd_fault)
    s = sub.add_parser("degrade")
    s.add_argument("--prefix", required=True)
    s.add_argument("link")
    s.add_argument("pct", type=float)
    s.add_argument("--direction", choices=["both", "egress"], default="both")
    s.set_defaults(fn=cmd_fault)
    s = sub.add_parser("partition")
    s.add_argument("--prefix", required=True)
    s.add_argument("groups", nargs="*", help="comma-separated host groups, or 'dcs' (default)")
    s.set_defaults(fn=cmd_fault)
    for name in ("heal", "heal-all"):
        s = sub.add_parser(name)
        s.add_argument("--prefix", required=True)
        s.set_defaults(fn=cmd_fault)
    s = sub.add_parser("reap", help=argparse.SUPPRESS)
    s.add_argument("--prefix", required=True)
    s.add_argument("--parent", type=int, required=True)
    s.add_argument("--parent-start", type=int)
    s.set_defaults(fn=cmd_reap)
    a = p.parse_args()
    if os.geteuid() != 0 and a.cmd not in ("list",):
        print("netns.py: needs root", file=sys.stderr)
        return 2
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
