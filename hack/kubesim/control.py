"""The simulation control API under /_sim: simulated nodes and pods (what kubelets would report) and faults."""
import copy
import json
import threading

from . import errors, util, watch
from .store import Ctx

_lock = threading.Lock()
_node_index = {}
_pod_ip = {}


def _json_body(body):
    if not body:
        return {}
    try:
        d = json.loads(body)
    except ValueError as e:
        raise errors.bad_request("invalid JSON: %s" % e)
    if not isinstance(d, dict):
        raise errors.bad_request("body must be a JSON object")
    return d


def _kubelet_ctx():
    return Ctx(manager="kubelet")


# ---------------------------------------------------------------- nodes

def _ready_condition(status, now):
    reasons = {"True": ("KubeletReady", "kubelet is posting ready status"),
               "False": ("KubeletNotReady", "container runtime network not ready: NetworkReady=false"),
               "Unknown": ("NodeStatusUnknown", "Kubelet stopped posting node status.")}
    r, m = reasons[status]
    return {"type": "Ready", "status": status, "lastHeartbeatTime": now, "lastTransitionTime": now,
            "reason": r, "message": m}


def make_node(d):
    name = d.get("name")
    if not name:
        raise errors.bad_request("name is required")
    with _lock:
        idx = _node_index.setdefault(name, len(_node_index) + 1)
    now = util.rfc3339()
    addrs = list(d.get("addresses") or [])
    if not addrs:
        addrs.append({"type": "InternalIP", "address": d.get("internalIP") or "10.0.%d.%d" % (idx // 250,
                                                                                              idx % 250 + 10)})
        if d.get("externalIP"):
            addrs.append({"type": "ExternalIP", "address": d["externalIP"]})
        addrs.append({"type": "Hostname", "address": d.get("hostname") or name})
    ready = d.get("ready", True)
    status = "True" if ready is True else ("Unknown" if ready in (False, "Unknown") else str(ready))
    conds = [{"type": t, "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now, "reason": r,
              "message": m} for t, r, m in (
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
    conds.append(_ready_condition(status, now))
    cidr = d.get("podCIDR") or "10.244.%d.0/24" % idx
    cap = {"cpu": "4", "memory": "8148216Ki", "pods": "110", "ephemeral-storage": "51287520Ki"}
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": dict(d.get("labels") or {}),
                         "annotations": dict(d.get("annotations") or {})},
            "spec": {"podCIDR": cidr, "podCIDRs": [cidr]},
            "status": {"capacity": cap, "allocatable": dict(cap), "conditions": conds, "addresses": addrs,
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                       "nodeInfo": {"machineID": util.new_uid().replace("-", ""),
                                    "systemUUID": util.new_uid(), "bootID": util.new_uid(),
                                    "kernelVersion": "6.1.0-sim", "osImage": "Debian GNU/Linux 12 (bookworm)",
                                    "containerRuntimeVersion": "containerd://1.7.24",
                                    "kubeletVersion": d.get("kubeletVersion", "v1.32.4"),
                                    "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}}}
    if not node["metadata"]["annotations"]:
        del node["metadata"]["annotations"]
    taints = list(d.get("taints") or [])
    if d.get("unschedulable"):
        node["spec"]["unschedulable"] = True
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": now})
    taints += _not_ready_taints(status, now)
    if taints:
        node["spec"]["taints"] = taints
    return node


def _not_ready_taints(status, now):
    if status == "True":
        return []
    key = "node.kubernetes.io/unreachable" if status == "Unknown" else "node.kubernetes.io/not-ready"
    return [{"key": key, "effect": "NoSchedule", "timeAdded": now},
            {"key": key, "effect": "NoExecute", "timeAdded": now}]


def set_node_ready(store, name, status):
    rt = store.registry.get("", "v1", "nodes")
    with store.lock:
        old = store.get(rt, None, name)
        new = copy.deepcopy(old)
        now = util.rfc3339()
        conds = new.setdefault("status", {}).setdefault("conditions", [])
        cur = next((c for c in conds if c.get("type") == "Ready"), None)
        cond = _ready_condition(status, now)
        if cur is not None and cur.get("status") == status:
            cond["lastTransitionTime"] = cur.get("lastTransitionTime", now)
        new["status"]["conditions"] = [c for c in conds if c.get("type") != "Ready"] + [cond]
        taints = [t for t in (new.get("spec") or {}).get("taints") or [] if t.get("key") not in (
            "node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
        taints += _not_ready_taints(status, now)
        if taints:
            new.setdefault("spec", {})["taints"] = taints
        else:
            new.get("spec", {}).pop("taints", None)
        return store.run(_replace, store, rt, old, new, "kubelet")


def _replace(store, rt, old, new, manager):
    """Writes spec and status together (as the node lifecycle controller and kubelet do between them)."""
    from . import managed
    managed.record_update(old, new, manager, rt.api_version, "status")
    return store._put(rt, old, new)


# ---------------------------------------------------------------- pods

def _alloc_pod_ip(store, node):
    cidr = ((node.get("spec") or {}).get("podCIDR") or "10.244.0.0/24").split("/")[0]
    base = cidr.rsplit(".", 1)[0]
    with _lock:
        n = _pod_ip.get(base, 1) + 1
        _pod_ip[base] = n
    return "%s.%d" % (base, n)


def _containers(d):
    cs = d.get("containers")
    if cs:
        return copy.deepcopy(cs)
    ports = []
    for p in d.get("ports") or []:
        if isinstance(p, dict):
            ports.append(dict(p))
        else:  # "name:port[/proto]" or "port"
            s = str(p)
            proto = "TCP"
            if "/" in s:
                s, proto = s.split("/", 1)
            name, _, num = s.rpartition(":")
            e = {"containerPort": int(num), "protocol": proto.upper()}
            if name:
                e["name"] = name
            ports.append(e)
    c = {"name": d.get("container", "main"), "image": d.get("image", "registry.local/sim:latest")}
    if ports:
        c["ports"] = ports
    return [c]


def _container_statuses(pod, phase, ready, now, exit_code=1, reason=None):
    out = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        st = {"name": c["name"], "image": c.get("image", ""), "imageID": "sha256:" + "0" * 64,
              "containerID": "containerd://" + util.new_uid().replace("-", "") * 2,
              "restartCount": 0, "ready": bool(ready and phase == "Running"), "started": phase == "Running"}
        if phase == "Running":
            st["state"] = {"running": {"startedAt": now}}
        elif phase in ("Failed", "Succeeded"):
            st["state"] = {"terminated": {"exitCode": 0 if phase == "Succeeded" else int(exit_code),
                                          "reason": "Completed" if phase == "Succeeded" else (reason or "Error"),
                                          "startedAt": now, "finishedAt": now,
                                          "containerID": st["containerID"]}}
            st["started"] = False
        else:
            st["state"] = {"waiting": {"reason": "ContainerCreating"}}
            st.pop("containerID")
        out.append(st)
    return out


def _pod_conditions(phase, ready, now):
    r = "True" if (ready and phase == "Running") else "False"
    scheduled = "True"
    conds = [{"type": "PodReadyToStartContainers", "status": "True" if phase != "Pending" else "False"},
             {"type": "Initialized", "status": "True"},
             {"type": "Ready", "status": r},
             {"type": "ContainersReady", "status": r},
             {"type": "PodScheduled", "status": scheduled}]
    for c in conds:
        c["lastProbeTime"] = None
        c["lastTransitionTime"] = now
        if c["status"] == "False" and c["type"] in ("Ready", "ContainersReady"):
            c["reason"] = "PodFailed" if phase == "Failed" else (
                "PodCompleted" if phase == "Succeeded" else "ContainersNotReady")
            if c["reason"] == "ContainersNotReady":
                c["message"] = "containers with unready status: [%s]" % "main"
    return conds


def make_pod(store, d):
    name = d.get("name")
    if not name:
        raise errors.bad_request("name is required")
    node_name = d.get("node") or d.get("nodeName")
    if not node_name:
        raise errors.bad_request("node is required (a simulated pod is bound to a node)")
    node_rt = store.registry.get("", "v1", "nodes")
    node = store.find(node_rt, None, node_name)
    if node is None:
        raise errors.not_found("", "nodes", node_name)
    now = util.rfc3339()
    host_ip = d.get("hostIP") or next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                                       if a.get("type") == "InternalIP"), "10.0.0.1")
    host_net = bool(d.get("hostNetwork"))
    pod_ips = d.get("podIPs") or ([d["podIP"]] if d.get("podIP") else [host_ip if host_net else
                                                                       _alloc_pod_ip(store, node)])
    host_ips = d.get("hostIPs") or [host_ip]
    phase = d.get("phase", "Running")
    ready = d.get("ready", True)
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": d.get("namespace", "default"),
                        "labels": dict(d.get("labels") or {})},
           "spec": {"nodeName": node_name, "containers": _containers(d)},
           "status": {}}
    for k in ("annotations", "ownerReferences", "finalizers"):
        if d.get(k):
            pod["metadata"][k] = copy.deepcopy(d[k])
    if host_net:
        pod["spec"]["hostNetwork"] = True
    if "terminationGracePeriodSeconds" in d:
        pod["spec"]["terminationGracePeriodSeconds"] = int(d["terminationGracePeriodSeconds"])
    if d.get("serviceAccountName"):
        pod["spec"]["serviceAccountName"] = d["serviceAccountName"]
    st = pod["status"]
    st["phase"] = phase
    st["conditions"] = _pod_conditions(phase, ready, now)
    st["hostIP"] = host_ips[0]
    st["hostIPs"] = [{"ip": i} for i in host_ips]
    if phase != "Pending" or d.get("podIP"):
        st["podIP"] = pod_ips[0]
        st["podIPs"] = [{"ip": i} for i in pod_ips]
    st["startTime"] = now
    st["containerStatuses"] = _container_statuses(pod, phase, ready, now)
    st["qosClass"] = "BestEffort"
    return pod


def set_pod_phase(store, ns, name, d):
    rt = store.registry.get("", "v1", "pods")
    phase = d.get("phase", "Failed")
    if phase not in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
        raise errors.bad_request("phase must be one of Pending, Running, Succeeded, Failed, Unknown")
    with store.lock:
        old = store.get(rt, ns, name)
        new = copy.deepcopy(old)
        now = util.rfc3339()
        ready = d.get("ready", phase == "Running")
        st = new.setdefault("status", {})
        st["phase"] = phase
        st["conditions"] = _pod_conditions(phase, ready, now)
        st["containerStatuses"] = _container_statuses(new, phase, ready, now, d.get("exitCode", 1),
                                                      d.get("containerReason"))
        if phase == "Failed" and d.get("reason"):
            st["reason"] = d["reason"]
        if d.get("message"):
            st["message"] = d["message"]
        if phase in ("Running",) and not st.get("podIP"):
            node = store.find(store.registry.get("", "v1", "nodes"), None, new["spec"].get("nodeName", ""))
            ip = _alloc_pod_ip(store, node or {})
            st["podIP"], st["podIPs"] = ip, [{"ip": ip}]
        return store.run(_replace, store, rt, old, new, "kubelet")


def delete_pod(store, ns, name, d):
    """Graceful (deletionTimestamp + grace period, removed when it ends) or immediate deletion."""
    rt = store.registry.get("", "v1", "pods")
    grace = d.get("gracePeriodSeconds")
    immediate = d.get("immediate") or grace == 0

    def go():
        obj = store.get(rt, ns, name)
        if immediate:
            if obj["metadata"].get("finalizers"):
                new = copy.deepcopy(obj)
                new["metadata"].setdefault("deletionTimestamp", util.rfc3339())
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                return store._put(rt, obj, new), False
            return store._remove(rt, obj), True
        g = grace if grace is not None else (obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        stop_after = d.get("stopAfterSeconds", g)
        if obj["metadata"].get("deletionTimestamp"):
            store.schedule_kubelet_stop(ns, name, obj["metadata"]["uid"], float(stop_after))
            return obj, False
        return store._graceful_pod(rt, obj, g, stop_after=float(stop_after)), False
    obj, removed = store.run(go)
    return obj, removed


# ---------------------------------------------------------------- dispatch

def handle(h, method, path, q, body):
    sim = h.sim
    store = sim.store
    parts = [p for p in path.split("/") if p][1:]
    d = _json_body(body) if method in ("POST", "PUT", "PATCH") else {}

    def ok(obj, code=200):
        return h.send_json(code, obj)

    if not parts or parts == ["health"]:
        return ok({"ok": True, "resourceVersion": str(store.rv), "url": sim.url})
    if parts == ["nodes"] and method == "POST":
        node = make_node(d)
        rt = store.registry.get("", "v1", "nodes")
        return ok(store.create(rt, "", node, _kubelet_ctx(), keep_status=True), 201)
    if len(parts) == 3 and parts[0] == "nodes" and parts[2] == "ready" and method == "POST":
        ready = d.get("ready", True)
        status = "True" if ready is True else (d.get("status") or "Unknown")
        if status not in ("True", "False", "Unknown"):
            raise errors.bad_request("status must be True, False or Unknown")
        return ok(set_node_ready(store, parts[1], status))
    if len(parts) == 2 and parts[0] == "nodes" and method == "DELETE":
        rt = store.registry.get("", "v1", "nodes")
        obj, _ = store.delete(rt, None, parts[1], {}, _kubelet_ctx())
        return ok(obj)
    if parts == ["pods"] and method == "POST":
        pod = make_pod(store, d)
        rt = store.registry.get("", "v1", "pods")
        return ok(store.create(rt, pod["metadata"]["namespace"], pod, _kubelet_ctx(), keep_status=True), 201)
    if len(parts) == 5 and parts[0] == "namespaces" and parts[2] == "pods" and method == "POST":
        ns, name, action = parts[1], parts[3], parts[4]
        if action == "phase":
            return ok(set_pod_phase(store, ns, name, d))
        if action == "fail":
            d.setdefault("phase", "Failed")
            d["phase"] = "Failed"
            return ok(set_pod_phase(store, ns, name, d))
        if action == "ready":
            d["phase"] = "Running"
            return ok(set_pod_phase(store, ns, name, d))
        if action == "delete":
            obj, removed = delete_pod(store, ns, name, d)
            return ok({"removed": removed, "object": obj})
    if parts[0] == "faults":
        f = sim.faults
        if parts == ["faults"] and method == "GET":
            return ok(f.state())
        if parts == ["faults"] and method == "DELETE":
            f.clear()
            return ok(f.state())
        if parts == ["faults", "errors"] and method == "POST":
            code = int(d.get("code", 500))
            if code not in (400, 403, 404, 409, 429, 500, 502, 503, 504):
                raise errors.bad_request("unsupported code %d" % code)
            f.add_error(code, d.get("count", 1), d.get("path"), d.get("verb"), d.get("retryAfter", 1))
            return ok(f.state())
        if parts == ["faults", "latency"] and method == "POST":
            f.set_latency(d.get("seconds", 0), d.get("path"), d.get("verb"))
            return ok(f.state())
        if parts == ["faults", "end-watches"] and method == "POST":
            return ok({"ended": watch.end_all(store)})
        if parts == ["faults", "expire-watches"] and method == "POST":
            f.add_expire(d.get("count", 1))
            return ok(f.state())
        if parts == ["faults", "compact"] and method == "POST":
            store.compact()
            return ok({"compactedRevision": str(store.compacted)})
    if parts == ["watches"] and method == "GET":
        with store.lock:
            return ok({"count": len(store.watchers)})
    if parts == ["watches", "bookmark"] and method == "POST":
        return ok({"sent": watch.bookmark_all(store)})
    if parts == ["requests"] and method == "GET":
        since = float(q.get("since") or 0)
        return ok({"count": sim.request_count,
                   "items": [r for r in list(sim.requests) if r["time"] >= since]})
    raise errors.not_found_path()
