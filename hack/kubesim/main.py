"""Command line entry point: `kube-sim [serve options]` or `kube-sim ctl ...`."""
import argparse
import logging
import secrets
import shutil
import signal
import ssl
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

from . import controllers, handler, kubeconfig, tlsgen, watch
from .faults import Faults
from .resources import Registry
from .store import Store


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def parse_listen(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def build_parser():
    p = argparse.ArgumentParser(prog="kube-sim", description="A Kubernetes API server simulator for tests and "
                                "demos (see docs/kube-sim.md). `kube-sim ctl --help` for the control CLI.")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0 picks a free one; default %(default)s)")
    p.add_argument("--write-kubeconfig", metavar="FILE", help="write a kubeconfig for this server")
    p.add_argument("--tls", action="store_true", help="serve https with a generated CA and bearer-token auth")
    p.add_argument("--tls-dir", help="where --tls writes ca.crt/server.crt/... (default: a temporary directory)")
    p.add_argument("--write-service-account", metavar="DIR",
                   help="write token, ca.crt and namespace into DIR, laid out like "
                        "/var/run/secrets/kubernetes.io/serviceaccount (for in-cluster client configuration)")
    p.add_argument("--token", help="bearer token (default with --tls: random); enforced only with --tls")
    p.add_argument("--bookmark-interval", type=float, default=60.0,
                   help="seconds between BOOKMARK events on watches that allow them (default 60, as upstream)")
    p.add_argument("--history", type=int, default=10000,
                   help="events kept for watch resumption; older resourceVersions get 410 (default %(default)s)")
    p.add_argument("--pod-stop-seconds", type=float, default=1.0,
                   help="how long the simulated kubelet takes to stop a pod deleted through the API, capped by "
                        "its grace period (default %(default)s)")
    p.add_argument("--verbose", "-v", action="store_true", help="log every request to stderr")
    return p


def serve(argv):
    a = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING,
                        format="kube-sim %(levelname)s %(name)s: %(message)s")
    registry = Registry()
    store = Store(registry, history_size=a.history, pod_stop_seconds=a.pod_stop_seconds)
    controllers.install(store)
    controllers.bootstrap(store)
    host, port = parse_listen(a.listen)
    token = a.token
    if a.tls and not token:
        token = secrets.token_hex(16)
    sim = handler.SimServer(registry, store, Faults(), token=token, tls=a.tls,
                            bookmark_interval=a.bookmark_interval, verbose=a.verbose)

    class H(handler.Handler):
        pass
    H.sim = sim
    httpd = Server((host, port), H)
    port = httpd.server_address[1]
    tmpdir = None
    ca_file = None
    if a.tls:
        d = a.tls_dir
        if not d:
            tmpdir = d = tempfile.mkdtemp(prefix="kube-sim-tls-")
        files = tlsgen.generate(d, hosts=sorted({host, "127.0.0.1", "localhost"}))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(files["server.crt"], files["server.key"])
        ctx.set_alpn_protocols(["http/1.1"])
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        ca_file = files["ca.crt"]
    scheme = "https" if a.tls else "http"
    shown = "[%s]" % host if ":" in host else host
    url = "%s://%s:%d" % (scheme, shown, port)
    sim.url = url
    sim.server_address = "%s:%d" % (shown, port)
    if a.write_kubeconfig:
        kubeconfig.write(a.write_kubeconfig, url, token=token, ca_file=ca_file)
    if a.write_service_account:
        kubeconfig.write_service_account(a.write_service_account, token or "", ca_file)
    sys.stdout.write(url + "\n")
    sys.stdout.flush()

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    try:
        while not stop.wait(3600):
            pass
    finally:
        watch.end_all(store)
        store.shutdown()
        httpd.shutdown()
        httpd.server_close()
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "ctl":
        from . import ctl
        return ctl.main(argv[1:])
    if argv and argv[0] == "serve":
        argv = argv[1:]
    return serve(argv)
