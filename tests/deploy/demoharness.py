"""Runs hack/demo.py as a user would (a subprocess, output to a file) for test_demo.py and
test_prometheus.py: paths, the binaries' directory (KC_BIN_DIR from CMake), start, the state file
the demo writes once everything is up (--state-file), stop with SIGINT (Ctrl-C) by PID, and a
check that every process the demo started is gone afterwards. For the demo's network-namespace
mode: whether namespaces can be made here (hack/netns/kcnetns.py's probe), the namespace a
process runs in, and the namespaces left with a prefix."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
BIN = os.environ.get("KC_BIN_DIR") or os.path.join(ROOT, "build", "bin")
DEMO = os.path.join(ROOT, "hack", "demo.py")
SKIP = 77  # CMake SKIP_RETURN_CODE
NETNS_DIR = os.path.join(ROOT, "hack", "netns")


def binaries_missing():
    return [b for b in ("kong-cluster", "kong-cluster-operator") if not os.access(os.path.join(BIN, b), os.X_OK)]


def pid_alive(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def netns_available():
    """(True, "") when the demo's --netns mode can work here, else (False, why)."""
    if os.geteuid() != 0:
        return False, "needs root (network namespaces)"
    sys.path.insert(0, NETNS_DIR)
    try:
        import kcnetns
        return kcnetns.can_create_namespaces()
    except Exception as e:  # noqa: BLE001 - whatever breaks the probe means "not here"
        return False, "the kcnetns probe failed: %s" % e
    finally:
        sys.path.remove(NETNS_DIR)


def netns_of(pid):
    """The name of the network namespace process `pid` runs in (`ip netns identify`), "" if none."""
    r = subprocess.run(["ip", "netns", "identify", str(pid)], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def namespaces_with_prefix(prefix):
    r = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True)
    names = [e["name"] for e in json.loads(r.stdout)] if r.returncode == 0 and r.stdout.strip() else []
    return [n for n in names if n.startswith(prefix + "-")]


class DemoRun:
    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="kc-demo-test-")
        self.state_file = os.path.join(self.dir, "state.json")
        self.out_path = os.path.join(self.dir, "demo.out")
        self.args = [sys.executable, DEMO, "--bin-dir", BIN, "--state-file", self.state_file] + list(args)
        self.proc = None

    def start(self):
        self.out = open(self.out_path, "w")
        # stdin closed, no tty: the demo prints plain text, no colour.
        self.proc = subprocess.Popen(self.args, stdout=self.out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=ROOT)
        return self

    def output(self):
        with open(self.out_path) as f:
            return f.read()

    def wait_state(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.state_file):
                with open(self.state_file) as f:
                    return json.load(f)
            if self.proc.poll() is not None:
                raise AssertionError("the demo exited (%s) before it was up:\n%s" % (self.proc.returncode,
                                                                                    self.output()))
            time.sleep(0.2)
        raise AssertionError("the demo was not up after %.0fs:\n%s" % (timeout, self.output()))

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("the demo did not finish within %.0fs:\n%s" % (timeout, self.output()))

    def interrupt(self, timeout=60):
        """Ctrl-C: SIGINT to the demo's PID; returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # this PID only
                self.proc.wait(5)
        if getattr(self, "out", None):
            self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)
