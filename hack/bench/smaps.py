"""Per-mapping memory of a process from /proc/PID/smaps: where its resident pages are.

Mappings of the same file (text, rodata, data, relocations) are summed under the file's name;
anonymous mappings under [heap], [stack] or [anon]. Sizes are KiB as the kernel reports them."""

import os

FIELDS = ("Rss", "Pss", "Anonymous", "Private_Dirty")


def by_mapping(pid):
    """{name: {Rss, Pss, Anonymous, Private_Dirty}} in KiB, or None if the process is gone."""
    out = {}
    cur = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                head = line.split(None, 5)
                if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                    name = head[5].strip() if len(head) > 5 else ""
                    if not name:
                        name = "[anon]"
                    elif name.startswith("/"):
                        name = os.path.basename(name)
                    cur = out.setdefault(name, dict.fromkeys(FIELDS, 0))
                elif cur is not None and head[0].rstrip(":") in FIELDS:
                    cur[head[0].rstrip(":")] += int(head[1])
    except OSError:
        return None
    return out


def top(pid, k=10):
    """The k mappings with the most resident memory, largest first: [(name, fields)]."""
    m = by_mapping(pid)
    if m is None:
        return None
    return sorted(m.items(), key=lambda kv: kv[1]["Rss"], reverse=True)[:k]


def format_table(rows, indent="    "):
    lines = ["%s%-34s %8s %8s %8s" % (indent, "mapping", "Rss KiB", "Pss KiB", "Anon KiB")]
    for name, f in rows:
        lines.append("%s%-34s %8d %8d %8d" % (indent, name[:34], f["Rss"], f["Pss"], f["Anonymous"]))
    return lines
