"""Shared helpers for the deploy tests: paths, `kubectl kustomize`, the real apiserver of hack/k8s,
the chart as Helm renders it."""
import os
import shutil
import subprocess
import sys
import unittest

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
# The chart is rendered by real Helm (tests/k8s/helmchart.py); the object helpers live there too,
# and the control-plane tests' waits (tests/k8s/harness.py).
sys.path.insert(0, os.path.join(ROOT, "tests", "k8s"))
import helmchart  # noqa: E402
from helmchart import BASE_VALUES, by_key, container, dump_all, env, find, key, normalize  # noqa: E402,F401
from harness import SKIP_CODE, wait_until  # noqa: E402,F401
import k8scluster  # noqa: E402  (hack/k8s, on the path helmchart set)

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


def kubectl_path():
    return shutil.which("kubectl")


def api_server():
    """etcd and kube-apiserver of hack/k8s, up (TLS, RBAC, admission as docs/kubernetes.md says) and
    owned by this process: .kubectl(...) as the admin, .kubeconfig, .down(). No controllers run: the
    deploy tests apply objects and run the binaries as processes, no pod is scheduled or started."""
    return k8scluster.Cluster(bind_address="127.0.0.1", controllers=False).up()


def main():
    """unittest.main(), or exit 77 (ctest SKIP_RETURN_CODE: reported as skipped, never as passed)
    when etcd and kube-apiserver are not built yet (hack/test.sh builds them before ctest)."""
    try:
        k8scluster.bin_dir(needs=k8scluster.API_COMPONENTS)
    except k8scluster.ClusterError as e:
        print("SKIP: %s" % e, flush=True)
        sys.exit(SKIP_CODE)
    if kubectl_path() is None:
        print("FAIL: kubectl not found (hack/deps.sh installs it)", flush=True)
        sys.exit(1)
    unittest.main(verbosity=2)
