"""charts/kong-cluster rendered and linted by real Helm (built by hack/k8s/build.sh).

Shared by the chart tests here and by tests/deploy (the kustomize base is the chart's own
render, see tests/deploy/sync_base.py). Helm runs with throwaway HELM_*_HOME directories so
nothing of the user's Helm setup leaks in or is changed.
"""
import copy
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("KC_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
CHART = os.path.join(ROOT, "charts", "kong-cluster")
EXAMPLES = os.path.join(CHART, "examples")
sys.path.insert(0, os.path.join(ROOT, "hack", "k8s"))
import k8scluster  # noqa: E402

HOOK = "helm.sh/hook"
# The values under which the chart must produce exactly the kustomize base (manifests/): the
# base expects the three Secrets to exist (docs/deploy.md), which is the chart's existingSecret mode.
BASE_VALUES = {
    "gossipKey": {"existingSecret": "kong-cluster-gossip"},
    "rpcToken": {"existingSecret": "kong-cluster-rpc"},
    "postgres": {"existingSecret": "kong-cluster-postgres"},
}
MONITORING_API = ("monitoring.coreos.com/v1",)


class HelmError(AssertionError):
    """Helm refused (a `fail`, a schema violation, a lint finding); str() is its stderr."""


@functools.lru_cache(maxsize=None)
def helm_binary():
    """The helm of hack/k8s/build.sh; k8scluster.ClusterError when it is not built."""
    return os.path.join(k8scluster.bin_dir(needs=("helm",)), "helm")


def example_files():
    """The chart's documented example values files (examples/*.yaml), sorted."""
    return sorted(os.path.join(EXAMPLES, f) for f in os.listdir(EXAMPLES) if f.endswith(".yaml"))


# ---------------------------------------------------------------- rendered objects

# Labels only Helm sets; everything else must be equal between the chart and manifests/.
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")


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


def pod_spec(obj):
    return obj["spec"] if obj.get("kind") == "Pod" else obj["spec"]["template"]["spec"]


def container(obj, name):
    for c in pod_spec(obj)["containers"]:
        if c["name"] == name:
            return c
    raise AssertionError("no container %s in %s" % (name, obj["metadata"]["name"]))


def env(c):
    """{name: value or ('secret', name, key) or ('field', path) or ('other', valueFrom)}"""
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


# ---------------------------------------------------------------- helm


class Helm:
    """Runs helm with its own empty config, cache and data directories."""

    def __init__(self, kubeconfig=None):
        self.kubeconfig = kubeconfig
        self.home = tempfile.mkdtemp(prefix="kc-helm-")

    def close(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def env(self):
        e = dict(os.environ, HELM_CACHE_HOME=os.path.join(self.home, "cache"),
                 HELM_CONFIG_HOME=os.path.join(self.home, "config"), HELM_DATA_HOME=os.path.join(self.home, "data"),
                 KUBECONFIG=self.kubeconfig or os.devnull)
        return e

    def run(self, *args, timeout=180):
        """helm ARGS; returns stdout, raises HelmError (with stderr) on a non-zero exit."""
        r = subprocess.run([helm_binary(), *args], env=self.env(), capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise HelmError("helm %s (exit %d): %s" % (" ".join(args), r.returncode, r.stderr.strip()))
        return r.stdout

    def values_file(self, values):
        """A values file holding the dict values (Helm's -f, so types stay as YAML gives them)."""
        fd, path = tempfile.mkstemp(prefix="values-", suffix=".yaml", dir=self.home)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(values, f)
        return path

    def value_args(self, values=None, values_files=()):
        args = []
        for f in values_files:
            args += ["-f", f]
        if values:
            args += ["-f", self.values_file(values)]
        return args

    def template(self, values=None, release="kong-cluster", namespace="kong-cluster", api_versions=(),
                 values_files=(), extra=()):
        args = ["template", release, CHART, "--namespace", namespace, *self.value_args(values, values_files)]
        for a in api_versions:
            args += ["--api-versions", a]
        return Rendered(self.run(*args, *extra))

    def lint(self, values=None, values_files=(), strict=True):
        args = ["lint", CHART, *self.value_args(values, values_files)]
        if strict:
            args.append("--strict")
        return self.run(*args)

    def notes(self, values=None, release="kong-cluster", namespace="kong-cluster"):
        """NOTES.txt as `helm install` would print it (a client-side dry run)."""
        out = self.run("install", release, CHART, "--namespace", namespace, "--dry-run=client", "-o", "json",
                       *self.value_args(values))
        return json.loads(out)["info"]["notes"]


class Rendered:
    """`helm template` output: the objects, split by the template file that made them."""

    def __init__(self, text):
        self.text = text
        self.by_file = {}
        for chunk in re.split(r"^---\s*$", text, flags=re.M):
            m = re.search(r"^# Source: [^/]+/(.+)$", chunk, flags=re.M)
            if not m:
                continue
            obj = yaml.safe_load(chunk)
            if obj:
                self.by_file.setdefault(m.group(1), []).append(obj)

    def all_objects(self):
        return [o for objs in self.by_file.values() for o in objs]

    def objects(self):
        """What `helm install` creates: every rendered object except the hooks (helm test pods)."""
        return [o for o in self.all_objects() if HOOK not in (o["metadata"].get("annotations") or {})]

    def hooks(self):
        return [o for o in self.all_objects() if HOOK in (o["metadata"].get("annotations") or {})]


_shared = None


def template(values=None, **kw):
    """helm template with a Helm instance shared by the process (removed at exit)."""
    global _shared
    if _shared is None:
        import atexit
        _shared = Helm()
        atexit.register(_shared.close)
    return _shared.template(values, **kw)
