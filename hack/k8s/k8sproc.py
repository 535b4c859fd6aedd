"""Processes the control plane starts, identified so that only they are ever signalled.

A process is remembered as (pid, start time in clock ticks since boot, from /proc/PID/stat):
a PID the kernel has since given to another process has another start time, so a stale
record never makes us signal a stranger.
"""
import atexit
import json
import os
import signal
import subprocess
import time


def start_time(pid):
    """The process's start time (field 22 of /proc/PID/stat), or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    return int(stat[stat.rindex(")") + 2:].split()[19])


def alive(pid, started):
    """True while the process (pid, started) runs (a zombie counts as ended)."""
    if start_time(pid) != started:
        return False
    try:
        with open("/proc/%d/status" % pid) as f:
            return not any(line.startswith("State:\tZ") for line in f)
    except OSError:
        return False


def spawn(argv, log_path):
    """Starts argv in its own session (a Ctrl-C or a killed test does not reach it directly;
    the owner or the reaper stops it), output appended to log_path. Returns (Popen, record)."""
    with open(log_path, "ab") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             start_new_session=True)
    return p, {"pid": p.pid, "start": start_time(p.pid)}


def stop(record, grace=10.0):
    """SIGTERM, then SIGKILL after grace seconds, for the recorded process only.
    Returns True if it was still running."""
    pid, started = record["pid"], record["start"]
    if not alive(pid, started):
        _reap_child(pid)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(pid, started) and time.monotonic() < deadline:
        _reap_child(pid)
        time.sleep(0.05)
    if alive(pid, started):
        os.kill(pid, signal.SIGKILL)
        while alive(pid, started):
            _reap_child(pid)
            time.sleep(0.05)
    _reap_child(pid)
    return True


def _reap_child(pid):
    """Collects the exit status if pid is our child, so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


class Managed:
    """Something a process brings `up` and must bring `down` (a control plane, a kubelet Node),
    with its state in a JSON file of a state directory: brought down when this process exits
    unless detached, and a context manager that brings it up and down."""
    _live = []  # brought up by this process and not brought down, in order

    def _track(self):
        Managed._live.append(self)

    def _untrack(self):
        if self in Managed._live:
            Managed._live.remove(self)

    def detach(self):
        """Leaves it running when this process exits (the CLI's `up`)."""
        self._untrack()

    def __enter__(self):
        if self.state is None:
            self.up()
        return self

    def __exit__(self, *exc):
        self.down()


def read_state(state_dir, state_file, error, what):
    """The JSON state a Managed wrote in state_dir; error(message) when there is none."""
    path = os.path.join(state_dir, state_file)
    try:
        with open(path) as f:
            return json.load(f)
    except OSError as e:
        raise error("no %s state at %s: %s" % (what, path, e.strerror))


@atexit.register
def _down_at_exit():
    # The last brought up first: a kubelet Node before the control plane it registered with.
    for m in reversed(list(Managed._live)):
        m.down()
