"""Server-side printing: meta.k8s.io/v1 Table for lists, single objects and watch events."""
from . import jsonpath, util

NAME_COL = {"name": "Name", "type": "string", "format": "name",
            "description": "Name must be unique within a namespace. Is required when creating resources, although "
                           "some resources may allow a client to request the generation of an appropriate name "
                           "automatically. Name is primarily intended for creation idempotence and configuration "
                           "definition. Cannot be updated. More info: "
                           "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
            "priority": 0}


def col(name, type_="string", priority=0, description="", fmt=""):
    return {"name": name, "type": type_, "format": fmt, "description": description or name, "priority": priority}


def _age(o):
    return util.age((o.get("metadata") or {}).get("creationTimestamp"))


def _labels(o):
    return (o.get("metadata") or {}).get("labels") or {}


# ---------------------------------------------------------------- built-in printers

def _pod_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    cstats = st.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for c in cstats if c.get("ready"))
    restarts = sum(int(c.get("restartCount") or 0) for c in cstats)
    reason = st.get("reason") or st.get("phase") or "Pending"
    for c in cstats:
        state = c.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            t = state["terminated"]
            reason = t.get("reason") or ("Signal:%s" % t["signal"] if t.get("signal") else
                                         "ExitCode:%s" % t.get("exitCode", 0))
    if st.get("phase") == "Running" and reason == "Running" and not all(c.get("ready") for c in cstats):
        reason = "Running"
    if (o.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if st.get("reason") == "NodeLost" else "Terminating"
    gates = spec.get("readinessGates") or []
    return [o["metadata"]["name"], "%d/%d" % (ready, total), reason, str(restarts), _age(o),
            st.get("podIP") or "<none>", spec.get("nodeName") or "<none>", st.get("nominatedNodeName") or "<none>",
            "<none>" if not gates else "%d/%d" % (0, len(gates))]


_POD_COLS = [col("Ready", description="The aggregate readiness state of this pod for accepting traffic."),
             col("Status", description="The aggregate status of the containers in this pod."),
             col("Restarts", description="The number of times the containers in this pod have been restarted "
                                         "and when the last container in this pod has restarted."),
             col("Age"), col("IP", priority=1), col("Node", priority=1), col("Nominated Node", priority=1),
             col("Readiness Gates", priority=1)]


def _node_row(o):
    st, spec = o.get("status") or {}, o.get("spec") or {}
    ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
    status = "Unknown"
    if ready is not None:
        status = "Ready" if ready.get("status") == "True" else "NotReady"
    if spec.get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in _labels(o) if k.startswith("node-role.kubernetes.io/"))
    addrs = st.get("addresses") or []

    def addr(t):
        return next((a.get("address") for a in addrs if a.get("type") == t), None) or "<none>"
    info = st.get("nodeInfo") or {}
    return [o["metadata"]["name"], status, ",".join(roles) or "<none>", _age(o), info.get("kubeletVersion", ""),
            addr("InternalIP"), addr("ExternalIP"), info.get("osImage", "<unknown>"),
            info.get("kernelVersion", "<unknown>"), info.get("containerRuntimeVersion", "<unknown>")]


_NODE_COLS = [col("Status"), col("Roles"), col("Age"), col("Version"), col("Internal-IP", priority=1),
              col("External-IP", priority=1), col("OS-Image", priority=1), col("Kernel-Version", priority=1),
              col("Container-Runtime", priority=1)]


def _svc_row(o):
    spec = o.get("spec") or {}
    ports = ",".join("%s%s/%s" % (p.get("port"), (":%s" % p["nodePort"]) if p.get("nodePort") else "",
                                  p.get("protocol", "TCP")) for p in spec.get("ports") or [])
    ext = spec.get("externalIPs") or [i.get("ip") or i.get("hostname") for i in
                                      ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    sel = spec.get("selector") or {}
    return [o["metadata"]["name"], spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>",
            ",".join(ext) if ext else ("<pending>" if spec.get("type") == "LoadBalancer" else "<none>"),
            ports or "<none>", _age(o), ",".join("%s=%s" % kv for kv in sorted(sel.items())) or "<none>"]


_SVC_COLS = [col("Type"), col("Cluster-IP"), col("External-IP"), col("Port(s)"), col("Age"),
             col("Selector", priority=1)]


def _event_row(o):
    inv = o.get("involvedObject") or {}
    last = o.get("lastTimestamp") or o.get("eventTime") or (o.get("metadata") or {}).get("creationTimestamp")
    first = o.get("firstTimestamp") or o.get("eventTime") or last
    src = o.get("source") or {}
    return [util.age(last), o.get("type", ""), o.get("reason", ""),
            "%s/%s" % ((inv.get("kind") or "").lower(), inv.get("name", "")), inv.get("fieldPath", ""),
            ", ".join(x for x in (src.get("component") or o.get("reportingComponent"), src.get("host")) if x),
            (o.get("message") or "").strip(), util.age(first), int(o.get("count") or 1), o["metadata"]["name"]]


_EVENT_COLS = [col("Last Seen"), col("Type"), col("Reason"), col("Object"), col("Subobject", priority=1),
               col("Source", priority=1), col("Message"), col("First Seen", priority=1),
               col("Count", "integer", priority=1), col("Name", priority=1)]


def _deploy_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    cs = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    return [o["metadata"]["name"], "%d/%d" % (st.get("readyReplicas", 0), spec.get("replicas", 1)),
            st.get("updatedReplicas", 0), st.get("availableReplicas", 0), _age(o),
            ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs),
            ",".join("%s=%s" % kv for kv in sorted(sel.items()))]


def _ds_row(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    tspec = (spec.get("template") or {}).get("spec") or {}
    cs = tspec.get("containers") or []
    ns = tspec.get("nodeSelector") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    return [o["metadata"]["name"], st.get("desiredNumberScheduled", 0), st.get("currentNumberScheduled", 0),
            st.get("numberReady", 0), st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0),
            ",".join("%s=%s" % kv for kv in sorted(ns.items())) or "<none>", _age(o),
            ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs),
            ",".join("%s=%s" % kv for kv in sorted(sel.items()))]


BUILTIN = {
    ("", "pods"): (_POD_COLS, _pod_row),
    ("", "nodes"): (_NODE_COLS, _node_row),
    ("", "namespaces"): ([col("Status"), col("Age")],
                         lambda o: [o["metadata"]["name"], (o.get("status") or {}).get("phase", ""), _age(o)]),
    ("", "services"): (_SVC_COLS, _svc_row),
    ("", "configmaps"): ([col("Data", "integer"), col("Age")],
                         lambda o: [o["metadata"]["name"], len(o.get("data") or {}) + len(o.get("binaryData") or {}),
                                    _age(o)]),
    ("", "secrets"): ([col("Type"), col("Data", "integer"), col("Age")],
                      lambda o: [o["metadata"]["name"], o.get("type", ""),
                                 len(o.get("data") or {}) + len(o.get("stringData") or {}), _age(o)]),
    ("", "serviceaccounts"): ([col("Secrets", "integer"), col("Age")],
                              lambda o: [o["metadata"]["name"], len(o.get("secrets") or []), _age(o)]),
    ("", "endpoints"): ([col("Endpoints"), col("Age")],
                        lambda o: [o["metadata"]["name"], ",".join(
                            "%s:%s" % (a.get("ip"), p.get("port")) for s in o.get("subsets") or []
                            for a in s.get("addresses") or [] for p in s.get("ports") or []) or "<none>", _age(o)]),
    ("", "events"): (_EVENT_COLS, _event_row),
    ("coordination.k8s.io", "leases"): ([col("Holder"), col("Age")],
                                        lambda o: [o["metadata"]["name"],
                                                   (o.get("spec") or {}).get("holderIdentity", ""), _age(o)]),
    ("apps", "deployments"): ([col("Ready"), col("Up-to-date", "integer"), col("Available", "integer"),
                               col("Age"), col("Containers", priority=1), col("Images", priority=1),
                               col("Selector", priority=1)], _deploy_row),
    ("apps", "daemonsets"): ([col("Desired", "integer"), col("Current", "integer"), col("Ready", "integer"),
                              col("Up-to-date", "integer"), col("Available", "integer"), col("Node Selector"),
                              col("Age"), col("Containers", priority=1), col("Images", priority=1),
                              col("Selector", priority=1)], _ds_row),
}


def _default_row(o):
    return [o["metadata"]["name"], (o.get("metadata") or {}).get("creationTimestamp")]


_DEFAULT_COLS = [col("Created At", "date", description="CreationTimestamp is a timestamp representing the server "
                                                       "time when this object was created.")]


# ---------------------------------------------------------------- custom resources

def _cr_cell(c, o):
    try:
        vals = jsonpath.find(c.get("jsonPath", ""), o)
    except jsonpath.JSONPathError:
        return None
    if not vals:
        return None
    t = c.get("type", "string")
    v = vals[0]
    if t == "integer":
        return v if isinstance(v, int) and not isinstance(v, bool) else None
    if t == "number":
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    if t == "boolean":
        return v if isinstance(v, bool) else None
    if t == "date":
        ts = util.parse_time(v) if isinstance(v, str) else None
        if ts is None:
            return None
        return util.human_duration((util.now() - ts).total_seconds())
    return jsonpath.text(vals)


def _cr_printer(rt):
    pcs = rt.printer_columns
    if not pcs:
        return [col("Age", "date", description="Custom resource definition column (in JSONPath format): "
                                               ".metadata.creationTimestamp")], \
            lambda o: [o["metadata"]["name"], _cr_cell({"type": "date", "jsonPath": ".metadata.creationTimestamp"}, o)]
    cols = [{"name": c.get("name", ""), "type": c.get("type", "string"), "format": c.get("format", ""),
             "description": c.get("description") or
             "Custom resource definition column (in JSONPath format): %s" % c.get("jsonPath", ""),
             "priority": int(c.get("priority", 0))} for c in pcs]
    return cols, lambda o: [o["metadata"]["name"]] + [_cr_cell(c, o) for c in pcs]


def printer(rt):
    if rt.crd_name:
        return _cr_printer(rt)
    return BUILTIN.get(rt.key, (_DEFAULT_COLS, _default_row))


def _row_object(o, include):
    if include == "None":
        return None
    if include == "Object":
        return o
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o.get("metadata", {})}


def table(rt, objs, list_meta, include="Metadata", headers=True):
    cols, rowfn = printer(rt)
    defs = cols if rt.key == ("", "events") else [dict(NAME_COL)] + cols
    rows = []
    for o in objs:
        r = {"cells": rowfn(o)}
        ob = _row_object(o, include)
        if ob is not None:
            r["object"] = ob
        rows.append(r)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": defs if headers else None, "rows": rows}
