#!/usr/bin/env python3
"""Regenerates manifests/base/*.yaml and manifests/overlays/monitoring/monitors.yaml from the chart.

    /usr/bin/python3 tests/deploy/sync_base.py          # rewrite the files
    /usr/bin/python3 tests/deploy/sync_base.py --check  # exit 1 if they differ (no writes)

The chart is the source; the base is the chart rendered by `helm template` (real Helm, built by
hack/k8s/build.sh) with the values in tests/k8s/helmchart.BASE_VALUES (the three existingSecret
values), without the labels only Helm sets and without the helm test hooks. Each file keeps the
header comment below. tests/k8s/test_chart_render.py compares the objects themselves, so hand
edits that keep the base equal to the chart are fine too.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deployharness as h  # noqa: E402

yaml = h.yaml

COMMON = ("# Generated from charts/kong-cluster by tests/deploy/sync_base.py (release kong-cluster, namespace\n"
          "# kong-cluster, the three existingSecret values set); tests/k8s/test_chart_render.py keeps them equal.\n")

FILES = {
    "base/serviceaccounts.yaml": (("ServiceAccount",), "# ServiceAccounts of the agent and the operator.\n"),
    "base/rbac.yaml": (("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"),
        "# Exactly the calls the code makes. agent: ClusterRole get nodes (topology labels, node addresses).\n"
        "# operator: ClusterRole list/watch nodes and clusternodes (one informer over all namespaces);\n"
        "# Role (namespace kong-cluster): get/list/watch pods, get the agent DaemonSet, create/delete\n"
        "# clusternodes, patch clusternodes/status, leases create + get/update of its own, events create.\n"),
    "base/services.yaml": (("Service",),
        "# Metrics Services: the agents' headless Service (port probe 8947: /metrics, probes; port http 8946:\n"
        "# the token-protected HTTP API) and the\n"
        "# operator's metrics Service (port metrics 8080, label enable-metrics=true for the ServiceMonitor).\n"),
    "base/agent-daemonset.yaml": (("DaemonSet",),
        "# The agent: one gossip member per node. Downward-API env (POD_NAME, POD_NAMESPACE, POD_UID, POD_IP,\n"
        "# HOST_IP, NODE_NAME), kong.conf keys as KONG_<KEY>, gossip 7946 TCP+UDP, RPC 7373 (token from Secret\n"
        "# kong-cluster-rpc), HTTP API 8946 (same token, as a bearer token), probes and /metrics on 8947.\n"
        "# SIGTERM = graceful leave, bounded by\n"
        "# KONG_CLUSTER_LEAVE_TIMEOUT (15 s) < terminationGracePeriodSeconds (30 s).\n"
        "# Needs Secrets kong-cluster-gossip (key), kong-cluster-rpc (token), kong-cluster-postgres (password):\n"
        "# see docs/deploy.md.\n"),
    "base/operator-deployment.yaml": (("Deployment",),
        "# The operator: two replicas, Lease leader election (lease kong-cluster-operator); prunes the members\n"
        "# of deleted or failed agent pods over the agents' RPC and mirrors members as ClusterNodes.\n"),
    "base/networkpolicy.yaml": (("NetworkPolicy",),
        "# Ingress to the agents: gossip from agents, RPC and HTTP API from the operator, probes and\n"
        "# metrics from anywhere (docs/security.md).\n"),
    "base/operator-pdb.yaml": (("PodDisruptionBudget",),
        "# Keeps one operator replica through voluntary disruptions.\n"),
    "overlays/monitoring/monitors.yaml": (("PodMonitor", "ServiceMonitor"),
        "# PodMonitor (agents, container port probe, /metrics) and ServiceMonitor (operator metrics Service,\n"
        "# port metrics). Needs the Prometheus Operator's CRDs (monitoring.coreos.com/v1).\n"),
}


class Dumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):  # indent lists under their key
        return super().increase_indent(flow, False)


def str_presenter(dumper, data):
    # double-quote strings YAML would otherwise read as something else ("true", "3600", "0.1.0")
    plain_ok = yaml.safe_load(data) == data if data else False
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=None if plain_ok else '"')


Dumper.add_representer(str, str_presenter)


def expected():
    objs = [h.normalize(o) for o in h.render(h.BASE_VALUES, api_versions=h.MONITORING_API).objects()]
    out = {}
    for rel, (kinds, header) in FILES.items():
        docs = [o for o in objs if o["kind"] in kinds]
        body = yaml.dump_all(docs, Dumper=Dumper, sort_keys=False, default_flow_style=False, width=120)
        out[rel] = header + COMMON + body
    covered = {k for kinds, _ in FILES.values() for k in kinds}
    stray = {o["kind"] for o in objs} - covered
    if stray:
        raise SystemExit("sync_base: no file for kinds %s" % sorted(stray))
    return out


def main():
    check = "--check" in sys.argv[1:]
    differ = []
    for rel, text in expected().items():
        path = os.path.join(h.MANIFESTS, rel)
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            differ.append(rel)
            if not check:
                with open(path, "w") as f:
                    f.write(text)
    if differ:
        print(("differs: " if check else "wrote: ") + ", ".join(differ))
    return 1 if (check and differ) else 0


if __name__ == "__main__":
    sys.exit(main())
