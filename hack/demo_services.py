"""Service names for the pods of one namespace on the node stand-in, which has no cluster DNS and
no kube-proxy (docs/kubernetes-nodes.md, "Limits"): what `helm test` needs.

While it runs, each pod of the namespace started meanwhile gets, in its /etc/hosts (the sandbox
container's file, which the pod's containers share), every Service of the namespace as
`NAME.NAMESPACE.svc` and `NAME.NAMESPACE.svc.cluster.local`, mapped to the Service's ready
endpoints as its EndpointSlices list them. A headless Service's name gives every ready
endpoint, as cluster DNS answers; a ClusterIP Service's name gives them in an order drawn at
random each second, standing in for kube-proxy spreading connections over the endpoints (a
client connects to the first address). At random, not in turn: a client that retries every two
seconds would meet the same endpoint each time when two endpoints took turns each second (the
operator's test then asked only the replica that does not hold the Lease until it gave up).
The names are written as the sandbox starts (Docker's event), before the pod's containers run,
and again each second; in place, since the bind mounts follow the inode. Runs on the host, as root.
"""
import os
import random
import subprocess
import threading

NODEAGENT_LABEL = "kong-cluster.nodeagent"  # hack/nodeagent labels what it creates with it


class ServiceHosts:
    """Use as a context manager around what starts the pods; mapped and error tell what happened."""

    def __init__(self, deployment, namespace, instance):
        self.d, self.ns, self.instance = deployment, namespace, instance
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.files = {}  # hosts file -> its content before us
        self.block = ""  # the lines we add
        self.mapped = {}  # service name -> addresses, as last written
        self.error = None
        self.rng = random.Random()
        root = subprocess.run(["docker", "info", "-f", "{{.DockerRootDir}}"], capture_output=True, text=True,
                              check=True).stdout.strip()
        self.containers = os.path.join(root, "containers")
        self.events = None
        self.threads = [threading.Thread(target=self._each_second, daemon=True),
                        threading.Thread(target=self._sandboxes, daemon=True)]

    def __enter__(self):
        self._refresh()  # the names are known before any pod starts
        self.events = subprocess.Popen(
            ["docker", "events", "--filter", "type=container", "--filter", "event=start",
             "--filter", "label=%s=%s" % (NODEAGENT_LABEL, self.instance),
             "--filter", "label=%s.role=sandbox" % NODEAGENT_LABEL,
             "--format", "{{.Actor.ID}} {{.Actor.Attributes.name}}"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.events.terminate()
        self.events.wait()
        for t in self.threads:
            t.join()

    def _sandboxes(self):
        for line in self.events.stdout:
            cid, _, name = line.strip().partition(" ")
            # hack/nodeagent names containers INSTANCE-NAMESPACE-POD-UID-CONTAINER
            if name.startswith("%s-%s-" % (self.instance, self.ns)):
                path = os.path.join(self.containers, cid, "hosts")
                with self.lock:
                    try:
                        with open(path) as f:
                            base = f.read()
                        self.files[path] = base if base.endswith("\n") or not base else base + "\n"
                        self._write(path)
                    except OSError as ex:
                        self.error = ex

    def _each_second(self):
        while not self.stopping.wait(1.0):
            try:
                self._refresh()
            except Exception as ex:  # shown by the caller; the next second tries again
                self.error = ex

    def _endpoints(self):
        slices = self.d.rest("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices" % self.ns)["items"]
        ready = {}
        for s in slices:
            svc = s["metadata"].get("labels", {}).get("kubernetes.io/service-name")
            for ep in s.get("endpoints") or []:
                if svc and (ep.get("conditions") or {}).get("ready"):
                    ready.setdefault(svc, []).extend(ep["addresses"])
        out = {}
        for svc in self.d.rest("/api/v1/namespaces/%s/services" % self.ns)["items"]:
            name = svc["metadata"]["name"]
            addrs = sorted(ready.get(name, []))
            if addrs and svc["spec"].get("clusterIP") != "None":
                k = self.rng.randrange(len(addrs))
                addrs = addrs[k:] + addrs[:k]
            out[name] = addrs
        return out

    def _refresh(self):
        endpoints = self._endpoints()
        block = "# Services (hack/demo_services.py)\n" + "".join(
            "%s\t%s.%s.svc %s.%s.svc.cluster.local\n" % (ip, name, self.ns, name, self.ns)
            for name, addrs in sorted(endpoints.items()) for ip in addrs)
        with self.lock:
            self.block, self.mapped = block, endpoints
            for path in list(self.files):
                try:
                    self._write(path)
                except FileNotFoundError:  # the pod is gone
                    del self.files[path]

    def _write(self, path):
        with open(path, "r+") as f:  # in place: the containers see this inode
            f.write(self.files[path] + self.block)
            f.truncate()
