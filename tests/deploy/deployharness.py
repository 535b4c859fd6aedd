"""Shared helpers for the deploy tests: paths, `kubectl kustomize`, kube-sim, normalisation."""
import copy
import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
CHART = os.path.join(ROOT, "charts", "kong-cluster")
MANIFESTS = os.path.join(ROOT, "manifests")
CRD = os.path.join(MANIFESTS, "crd", "clusternodes.yaml")
TESTDATA = os.path.join(HERE, "testdata")


def crd_info():
    """(CRD name, group, served version) of manifests/crd/clusternodes.yaml, which the operator's author owns."""
    with open(CRD) as f:
        crd = yaml.safe_load(f)
    return crd["metadata"]["name"], crd["spec"]["group"], crd["spec"]["versions"][0]["name"]


sys.path.insert(0, HERE)
# kube-sim's own test harness starts the simulator on port 0 and stops it by PID.
sys.path.insert(0, os.path.join(ROOT, "tests", "kube-sim"))
from simharness import Sim, kubectl_path  # noqa: E402,F401  (re-exported for the tests)
import helmlite  # noqa: E402

# Labels only Helm sets; everything else must be equal between the chart and the base.
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")

# The values under which the chart must produce exactly the kustomize base: the base expects
# the three Secrets to exist (docs/deploy.md), which is the chart's existingSecret mode.
BASE_VALUES = {
    "gossipKey": {"existingSecret": "kong-cluster-gossip"},
    "rpcToken": {"existingSecret": "kong-cluster-rpc"},
    "postgres": {"existingSecret": "kong-cluster-postgres"},
}
MONITORING_API = ["monitoring.coreos.com/v1"]


def kustomize(path):
    """`kubectl kustomize PATH` (offline: kustomize v5 embedded in kubectl). Returns (text, objects)."""
    kubectl = kubectl_path()
    r = subprocess.run([kubectl, "kustomize", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=dict(os.environ, KUBECONFIG=os.devnull))
    if r.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed (%d): %s" % (path, r.returncode, r.stderr))
    return r.stdout, [d for d in yaml.safe_load_all(r.stdout) if d]


def render(set_values=None, api_versions=(), release="kong-cluster", namespace="kong-cluster"):
    return helmlite.render_chart(CHART, release=release, namespace=namespace, set_values=set_values,
                                 api_versions=api_versions)


def key(o):
    return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])


def normalize(o):
    """Drops the labels only Helm sets (object and pod template); returns a copy."""
    o = copy.deepcopy(o)
    metas = [o.get("metadata", {})]
    tmpl = o.get("spec", {}).get("template") if isinstance(o.get("spec"), dict) else None
    if isinstance(tmpl, dict):
        metas.append(tmpl.get("metadata", {}))
    for m in metas:
        labels = m.get("labels") or {}
        for k in HELM_ONLY_LABELS:
            labels.pop(k, None)
    return o


def by_key(objs):
    out = {}
    for o in objs:
        k = key(o)
        if k in out:
            raise AssertionError("duplicate object %s" % (k,))
        out[k] = o
    return out


def find(objs, kind, name=None):
    hits = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    if len(hits) != 1:
        raise AssertionError("expected one %s %s, found %d" % (kind, name or "", len(hits)))
    return hits[0]


def container(obj, name):
    for c in obj["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return c
    raise AssertionError("no container %s in %s" % (name, obj["metadata"]["name"]))


def env(c):
    """{name: value or ('secret', name, key) or ('field', path)}"""
    out = {}
    for e in c.get("env", []):
        if "value" in e:
            out[e["name"]] = e["value"]
        elif "secretKeyRef" in e.get("valueFrom", {}):
            ref = e["valueFrom"]["secretKeyRef"]
            out[e["name"]] = ("secret", ref["name"], ref["key"])
        elif "fieldRef" in e.get("valueFrom", {}):
            out[e["name"]] = ("field", e["valueFrom"]["fieldRef"]["fieldPath"])
        else:
            out[e["name"]] = ("other", e.get("valueFrom"))
    return out


def dump_all(objs):
    return yaml.safe_dump_all(objs, sort_keys=False, default_flow_style=False)
