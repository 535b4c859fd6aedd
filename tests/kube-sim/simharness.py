"""Shared helpers for the kube-sim tests: start the simulator on a free port, stop it by PID, drive it."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
KUBE_SIM = os.path.join(ROOT, "hack", "kube-sim")
TESTDATA = os.path.join(HERE, "testdata")
SYSTEM_PYTHON = "/usr/bin/python3"


def python():
    """The interpreter for the simulator: Debian's (fast start, no shims) when present."""
    return SYSTEM_PYTHON if os.path.exists(SYSTEM_PYTHON) else sys.executable


def kubectl_path():
    return shutil.which("kubectl")


def wait_until(cond, timeout=10.0, interval=0.02, what="condition"):
    """Polls cond() until it returns a truthy value; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
        except AssertionError:
            last = None
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


class Sim:
    """One simulator process. Use as a context manager or call start()/stop()."""

    def __init__(self, *args):
        self.args = list(args)
        self.dir = tempfile.mkdtemp(prefix="kube-sim-test-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.cache = os.path.join(self.dir, "kubectl-cache")
        self.proc = None
        self.url = None
        self.token = None
        self.ca = None

    def start(self):
        t0 = time.monotonic()
        self.stderr = open(os.path.join(self.dir, "sim.stderr"), "w+")
        self.proc = subprocess.Popen([python(), KUBE_SIM, "--listen", "127.0.0.1:0", "--write-kubeconfig",
                                      self.kubeconfig] + self.args,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.stop()
            raise AssertionError("kube-sim did not print its URL: %r; stderr: %s" % (line, self.log()))
        self.url = line
        self.startup_seconds = time.monotonic() - t0
        if "--tls" in self.args:
            sys.path.insert(0, os.path.join(ROOT, "hack"))
            from kubesim.kubeconfig import read
            _, self.token, self.ca = read(self.kubeconfig)
        return self

    def log(self):
        try:
            self.stderr.seek(0)
            return self.stderr.read()
        except (OSError, ValueError):
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # by PID: this process only
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "stderr", None) is not None:
            self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -------------------------------------------------------------- plain HTTP

    def request(self, method, path, body=None, headers=None, ctype="application/json"):
        """Returns (status, headers, parsed JSON or text)."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        ctx = None
        if self.url.startswith("https"):
            import ssl
            ctx = ssl.create_default_context(cadata=self.ca.decode())
            if self.token and "Authorization" not in (headers or {}):
                req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                raw = r.read()
                status, hdrs = r.status, r.headers
        except urllib.error.HTTPError as e:
            raw, status, hdrs = e.read(), e.code, e.headers
        try:
            return status, hdrs, json.loads(raw)
        except ValueError:
            return status, hdrs, raw.decode(errors="replace")

    def ctl(self, method, path, body=None):
        status, _, obj = self.request(method, "/_sim" + path, body if body is not None else (
            {} if method == "POST" else None))
        if status >= 300:
            raise AssertionError("control API %s %s: %s %s" % (method, path, status, obj))
        return obj

    # -------------------------------------------------------------- kubectl

    def kubectl(self, *args, check=True, input=None, timeout=60):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.dir)
        r = subprocess.run([kubectl_path(), "--cache-dir", self.cache] + list(args), env=env, input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                                                     r.stderr))
        return r

    def kubectl_bg(self, *args):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.dir)
        out = open(os.path.join(self.dir, "bg-%d.out" % time.monotonic_ns()), "w+")
        p = subprocess.Popen([kubectl_path(), "--cache-dir", self.cache] + list(args), env=env, stdout=out,
                             stderr=subprocess.STDOUT, text=True)
        p.out = out
        return p

    def watches(self):
        return self.ctl("GET", "/watches")["count"]


def read_bg(p):
    p.out.flush()
    p.out.seek(0)
    return p.out.read()


def stop_bg(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    text = read_bg(p)
    p.out.close()
    return text
