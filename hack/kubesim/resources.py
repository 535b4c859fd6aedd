"""Resource types: the built-in ones and the registry that CRDs add to at run time."""
import re
import threading

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class ResourceType:
    def __init__(self, group, version, kind, plural, singular=None, namespaced=True, short_names=(),
                 categories=(), subresources=(), generation=False, unconditional_update=True,
                 create_on_update=False, return_deleted=False, builtin=True, fields=None):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular or kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names)
        self.categories = list(categories)
        self.subresources = list(subresources)
        self.generation = generation
        self.unconditional_update = unconditional_update
        self.create_on_update = create_on_update
        self.return_deleted = return_deleted
        self.builtin = builtin
        self.fields = dict(fields or {})  # selectable field -> getter(obj) -> str
        # CRD-only
        self.crd_name = None
        self.schema = None
        self.printer_columns = None
        self.storage_version = version

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def key(self):
        """Storage key: all versions of a resource share one store."""
        return (self.group, self.plural)

    @property
    def list_kind(self):
        return self.kind + "List"

    def base_path(self):
        return "/apis/%s/%s" % (self.group, self.version) if self.group else "/api/v1"

    def has_status(self):
        return "status" in self.subresources

    def field_value(self, obj, field):
        """Value of a selectable field, or None if the field is not selectable."""
        m = obj.get("metadata") or {}
        if field == "metadata.name":
            return m.get("name", "")
        if field == "metadata.namespace" and self.namespaced:
            return m.get("namespace", "")
        g = self.fields.get(field)
        if g is None:
            return None
        return g(obj)


def _path_getter(path, boolean=False):
    parts = path.split(".")

    def get(obj):
        cur = obj
        for p in parts:
            if not isinstance(cur, dict):
                return "false" if boolean else ""
            cur = cur.get(p)
        if boolean:
            return "true" if cur is True else "false"
        if cur is None:
            return ""
        return cur if isinstance(cur, str) else str(cur)
    return get


def _fields(*paths, booleans=()):
    d = {p: _path_getter(p) for p in paths}
    for b in booleans:
        d[b] = _path_getter(b, boolean=True)
    return d


def builtin_types():
    core = [
        ResourceType("", "v1", "Namespace", "namespaces", namespaced=False, short_names=["ns"],
                     subresources=["status"], fields=_fields("status.phase")),
        ResourceType("", "v1", "Pod", "pods", short_names=["po"], categories=["all"], subresources=["status"],
                     return_deleted=True,
                     fields=_fields("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                    "spec.serviceAccountName", "status.phase", "status.podIP",
                                    "status.nominatedNodeName", booleans=("spec.hostNetwork",))),
        ResourceType("", "v1", "Node", "nodes", namespaced=False, short_names=["no"], subresources=["status"],
                     fields=_fields(booleans=("spec.unschedulable",))),
        ResourceType("", "v1", "Event", "events", short_names=["ev"], create_on_update=True,
                     fields=_fields("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                                    "involvedObject.uid", "involvedObject.apiVersion",
                                    "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                                    "reportingComponent", "source", "type")),
        ResourceType("", "v1", "Service", "services", short_names=["svc"], categories=["all"],
                     subresources=["status"], create_on_update=True, fields=_fields("spec.clusterIP", "spec.type")),
        ResourceType("", "v1", "ConfigMap", "configmaps", short_names=["cm"]),
        ResourceType("", "v1", "Secret", "secrets", fields=_fields("type")),
        ResourceType("", "v1", "ServiceAccount", "serviceaccounts", short_names=["sa"]),
        ResourceType("", "v1", "Endpoints", "endpoints", singular="endpoints", short_names=["ep"],
                     create_on_update=True),
    ]
    apps = [
        ResourceType("apps", "v1", "Deployment", "deployments", short_names=["deploy"], categories=["all"],
                     subresources=["status"], generation=True),
        ResourceType("apps", "v1", "DaemonSet", "daemonsets", short_names=["ds"], categories=["all"],
                     subresources=["status"], generation=True),
        ResourceType("apps", "v1", "StatefulSet", "statefulsets", short_names=["sts"], categories=["all"],
                     subresources=["status"], generation=True),
        ResourceType("apps", "v1", "ReplicaSet", "replicasets", short_names=["rs"], categories=["all"],
                     subresources=["status"], generation=True),
    ]
    other = [
        ResourceType("coordination.k8s.io", "v1", "Lease", "leases", create_on_update=True),
        ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
                     namespaced=False, short_names=["crd", "crds"], categories=["api-extensions"],
                     subresources=["status"], generation=True, unconditional_update=False),
        ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
        ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
                     namespaced=False),
        ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=["pdb"],
                     subresources=["status"], generation=True),
        ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=["netpol"],
                     generation=True),
        ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    ]
    return core + apps + other


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(v):
    """Sort key for Kubernetes version names: GA > beta > alpha, higher numbers first, others last."""
    m = _VERSION_RE.match(v)
    if not m:
        return (3, 0, 0, v)
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, v)


class Registry:
    """All served resource types. Thread-safe; `generation` increases on every change (for discovery hashes)."""

    def __init__(self):
        self.lock = threading.RLock()
        self.types = {}      # (group, version, plural) -> ResourceType
        self.order = []      # group names in discovery order (built-ins first)
        self.generation = 0
        for rt in builtin_types():
            self.add(rt)

    def add(self, rt):
        with self.lock:
            self.types[(rt.group, rt.version, rt.plural)] = rt
            if rt.group not in self.order:
                self.order.append(rt.group)
            self.generation += 1

    def remove_crd(self, crd_name):
        with self.lock:
            for k, rt in list(self.types.items()):
                if rt.crd_name == crd_name:
                    del self.types[k]
            groups = {rt.group for rt in self.types.values()}
            self.order = [g for g in self.order if g in groups]
            self.generation += 1

    def get(self, group, version, plural):
        with self.lock:
            return self.types.get((group, version, plural))

    def by_key(self, key):
        """Any served version of a storage key (group, plural), preferred first."""
        with self.lock:
            cands = [rt for rt in self.types.values() if rt.key == key]
        cands.sort(key=lambda rt: version_priority(rt.version))
        return cands[0] if cands else None

    def find_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        with self.lock:
            for rt in self.types.values():
                if rt.group == group and rt.version == version and rt.kind == kind:
                    return rt
        return None

    def groups(self):
        """[(group, [versions preferred first])] in discovery order."""
        with self.lock:
            out = []
            for g in self.order:
                vs = sorted({rt.version for rt in self.types.values() if rt.group == g}, key=version_priority)
                if vs:
                    out.append((g, vs))
            return out

    def resources(self, group, version):
        with self.lock:
            return [rt for rt in self.types.values() if rt.group == group and rt.version == version]

    def all(self):
        with self.lock:
            return list(self.types.values())
