"""`kube-sim ctl`: command line client of the /_sim control API."""
import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.request

from . import kubeconfig


def _kv(items):
    out = {}
    for s in items or []:
        if "=" not in s:
            raise SystemExit("expected key=value, got %r" % s)
        k, v = s.split("=", 1)
        out[k] = v
    return out


class Client:
    def __init__(self, server, token=None, ca_pem=None, insecure=False):
        self.server = server.rstrip("/")
        self.token = token
        self.ctx = None
        if self.server.startswith("https"):
            if insecure:
                self.ctx = ssl._create_unverified_context()
            else:
                self.ctx = ssl.create_default_context(cadata=ca_pem.decode() if ca_pem else None)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read()).get("message")
            except ValueError:
                msg = e.reason
            raise SystemExit("kube-sim ctl: %s %s: %d %s" % (method, path, e.code, msg))
        except urllib.error.URLError as e:
            raise SystemExit("kube-sim ctl: cannot reach %s: %s" % (self.server, e.reason))


def build_parser():
    p = argparse.ArgumentParser(prog="kube-sim ctl", description="Drive a running kube-sim: simulated nodes and "
                                "pods, fault injection.")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig written by --write-kubeconfig (default $KUBECONFIG)")
    p.add_argument("--server", help="simulator URL (instead of --kubeconfig)")
    p.add_argument("--token", help="bearer token (with --server)")
    p.add_argument("--ca", help="CA certificate file (with --server over https)")
    p.add_argument("--insecure", action="store_true", help="skip TLS verification")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("node-create", help="create a Ready node with labels and addresses")
    s.add_argument("name")
    s.add_argument("--label", "-l", action="append", default=[], help="key=value (repeatable)")
    s.add_argument("--annotation", action="append", default=[])
    s.add_argument("--internal-ip")
    s.add_argument("--external-ip")
    s.add_argument("--hostname")
    s.add_argument("--pod-cidr")
    s.add_argument("--not-ready", action="store_true")
    s.add_argument("--unschedulable", action="store_true")

    s = sub.add_parser("node-ready", help="set a node's Ready condition to True")
    s.add_argument("name")
    s = sub.add_parser("node-not-ready", help="set a node NotReady (Ready=Unknown by default, like a lost kubelet)")
    s.add_argument("name")
    s.add_argument("--status", choices=["Unknown", "False"], default="Unknown")
    s = sub.add_parser("node-delete", help="delete a node")
    s.add_argument("name")

    s = sub.add_parser("pod-create", help="create a pod bound to a node, running and ready by default")
    s.add_argument("name")
    s.add_argument("-n", "--namespace", default="default")
    s.add_argument("--node", required=True)
    s.add_argument("--pod-ip", action="append", default=[], help="repeat for dual stack")
    s.add_argument("--host-ip")
    s.add_argument("--label", "-l", action="append", default=[])
    s.add_argument("--annotation", action="append", default=[])
    s.add_argument("--port", "-p", action="append", default=[], help="[name:]port[/TCP|UDP] (repeatable)")
    s.add_argument("--image")
    s.add_argument("--container", default="main")
    s.add_argument("--phase", default="Running", choices=["Pending", "Running", "Succeeded", "Failed"])
    s.add_argument("--not-ready", action="store_true")
    s.add_argument("--host-network", action="store_true")
    s.add_argument("--grace-period", type=int, help="spec.terminationGracePeriodSeconds")
    s.add_argument("--finalizer", action="append", default=[])

    s = sub.add_parser("pod-delete", help="graceful (default) or immediate pod deletion")
    s.add_argument("name")
    s.add_argument("-n", "--namespace", default="default")
    s.add_argument("--grace-period", type=int, help="seconds (default: the pod's terminationGracePeriodSeconds)")
    s.add_argument("--stop-after", type=float, help="seconds until the kubelet confirms (default: the grace period)")
    s.add_argument("--now", action="store_true", help="immediate deletion")

    s = sub.add_parser("pod-fail", help="set a pod's phase to Failed")
    s.add_argument("name")
    s.add_argument("-n", "--namespace", default="default")
    s.add_argument("--reason")
    s.add_argument("--message")
    s.add_argument("--exit-code", type=int, default=1)

    s = sub.add_parser("pod-phase", help="set a pod's phase (Running makes it Ready unless --not-ready)")
    s.add_argument("name")
    s.add_argument("phase", choices=["Pending", "Running", "Succeeded", "Failed", "Unknown"])
    s.add_argument("-n", "--namespace", default="default")
    s.add_argument("--not-ready", action="store_true")

    s = sub.add_parser("fault-error", help="answer the next N matching requests with an error")
    s.add_argument("--code", type=int, default=500)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--path", help="only requests whose path contains this")
    s.add_argument("--verb", help="only this HTTP method")
    s.add_argument("--retry-after", type=int, default=1)
    s = sub.add_parser("fault-latency", help="delay every matching request (0 clears)")
    s.add_argument("seconds", type=float)
    s.add_argument("--path")
    s.add_argument("--verb")
    sub.add_parser("fault-end-watches", help="end every open watch (clean end of stream)")
    s = sub.add_parser("fault-expire-watches", help="the next N watches get a 410 Expired ERROR event")
    s.add_argument("--count", type=int, default=1)
    sub.add_parser("fault-compact", help="compact history: watches from any older resourceVersion get 410")
    sub.add_parser("fault-clear", help="remove pending error and latency faults")
    sub.add_parser("faults", help="show fault state")
    sub.add_parser("bookmark", help="send a BOOKMARK now on every watch that allows them")
    sub.add_parser("requests", help="recent requests the simulator served")
    sub.add_parser("health", help="check the simulator is up")
    return p


def main(argv):
    a = build_parser().parse_args(argv)
    if a.server:
        ca = open(a.ca, "rb").read() if a.ca else None
        c = Client(a.server, a.token, ca, a.insecure)
    elif a.kubeconfig:
        server, token, ca = kubeconfig.read(a.kubeconfig)
        c = Client(server, token, ca, a.insecure)
    else:
        raise SystemExit("kube-sim ctl: need --kubeconfig (or $KUBECONFIG) or --server")
    ns = getattr(a, "namespace", "default")
    pod = "/_sim/namespaces/%s/pods/%s/" % (ns, getattr(a, "name", ""))
    cmd = a.cmd
    if cmd == "node-create":
        body = {"name": a.name, "labels": _kv(a.label), "annotations": _kv(a.annotation),
                "ready": not a.not_ready, "unschedulable": a.unschedulable}
        for k, v in (("internalIP", a.internal_ip), ("externalIP", a.external_ip), ("hostname", a.hostname),
                     ("podCIDR", a.pod_cidr)):
            if v:
                body[k] = v
        r = c.call("POST", "/_sim/nodes", body)
    elif cmd == "node-ready":
        r = c.call("POST", "/_sim/nodes/%s/ready" % a.name, {"ready": True})
    elif cmd == "node-not-ready":
        r = c.call("POST", "/_sim/nodes/%s/ready" % a.name, {"ready": False, "status": a.status})
    elif cmd == "node-delete":
        r = c.call("DELETE", "/_sim/nodes/%s" % a.name)
    elif cmd == "pod-create":
        body = {"name": a.name, "namespace": a.namespace, "node": a.node, "labels": _kv(a.label),
                "annotations": _kv(a.annotation), "ports": a.port, "phase": a.phase, "ready": not a.not_ready,
                "hostNetwork": a.host_network, "container": a.container}
        if a.pod_ip:
            body["podIP"], body["podIPs"] = a.pod_ip[0], a.pod_ip
        if a.host_ip:
            body["hostIP"] = a.host_ip
        if a.image:
            body["image"] = a.image
        if a.grace_period is not None:
            body["terminationGracePeriodSeconds"] = a.grace_period
        if a.finalizer:
            body["finalizers"] = a.finalizer
        r = c.call("POST", "/_sim/pods", body)
    elif cmd == "pod-delete":
        body = {"immediate": a.now}
        if a.grace_period is not None:
            body["gracePeriodSeconds"] = a.grace_period
        if a.stop_after is not None:
            body["stopAfterSeconds"] = a.stop_after
        r = c.call("POST", pod + "delete", body)
    elif cmd == "pod-fail":
        body = {"exitCode": a.exit_code}
        if a.reason:
            body["reason"] = a.reason
        if a.message:
            body["message"] = a.message
        r = c.call("POST", pod + "fail", body)
    elif cmd == "pod-phase":
        r = c.call("POST", pod + "phase", {"phase": a.phase, "ready": a.phase == "Running" and not a.not_ready})
    elif cmd == "fault-error":
        body = {"code": a.code, "count": a.count, "retryAfter": a.retry_after}
        if a.path:
            body["path"] = a.path
        if a.verb:
            body["verb"] = a.verb
        r = c.call("POST", "/_sim/faults/errors", body)
    elif cmd == "fault-latency":
        r = c.call("POST", "/_sim/faults/latency", {"seconds": a.seconds, "path": a.path, "verb": a.verb})
    elif cmd == "fault-end-watches":
        r = c.call("POST", "/_sim/faults/end-watches", {})
    elif cmd == "fault-expire-watches":
        r = c.call("POST", "/_sim/faults/expire-watches", {"count": a.count})
    elif cmd == "fault-compact":
        r = c.call("POST", "/_sim/faults/compact", {})
    elif cmd == "fault-clear":
        r = c.call("DELETE", "/_sim/faults")
    elif cmd == "faults":
        r = c.call("GET", "/_sim/faults")
    elif cmd == "bookmark":
        r = c.call("POST", "/_sim/watches/bookmark", {})
    elif cmd == "requests":
        r = c.call("GET", "/_sim/requests")
    else:
        r = c.call("GET", "/_sim/health")
    json.dump(r, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
