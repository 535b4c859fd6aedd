"""Shared helpers for the deploy tests: paths, `kubectl kustomize`, kube-sim, the chart as Helm renders it."""
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
# The chart is rendered by real Helm (tests/k8s/helmchart.py); the object helpers live there too.
sys.path.insert(0, os.path.join(ROOT, "tests", "k8s"))
import helmchart  # noqa: E402
from helmchart import BASE_VALUES, by_key, container, dump_all, env, find, key, normalize  # noqa: E402,F401

MONITORING_API = list(helmchart.MONITORING_API)


def kustomize(path):
    """`kubectl kustomize PATH` (offline: kustomize v5 embedded in kubectl). Returns (text, objects)."""
    kubectl = kubectl_path()
    r = subprocess.run([kubectl, "kustomize", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60, env=dict(os.environ, KUBECONFIG=os.devnull))
    if r.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed (%d): %s" % (path, r.returncode, r.stderr))
    return r.stdout, [d for d in yaml.safe_load_all(r.stdout) if d]


def render(set_values=None, api_versions=(), release="kong-cluster", namespace="kong-cluster"):
    """`helm template` of the chart (helmchart.Rendered: .objects() leaves out the helm test hooks)."""
    return helmchart.template(set_values, api_versions=api_versions, release=release, namespace=namespace)
