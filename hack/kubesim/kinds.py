"""Per-kind defaulting and validation (what the apiserver's registry strategies do), and CR schema handling."""
import ipaddress
import re

from . import errors, jsonpath, schema, util

_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
                  "validation is '%s')" % _SUBDOMAIN)
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
              "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
              "validation is '%s')" % _LABEL)
_LABEL_KINDS = {"Namespace", "Service"}


def validate_name(rt, name):
    causes = []
    if rt.kind in _LABEL_KINDS:
        if not re.fullmatch(_LABEL, name) or len(name) > 63:
            causes.append(("metadata.name", "Invalid value", _LABEL_MSG, name))
    elif rt.kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"):
        if name in (".", "..") or "/" in name or "%" in name:
            causes.append(("metadata.name", "Invalid value", "may not contain '/' or '%'", name))
    elif not re.fullmatch(_SUBDOMAIN, name) or len(name) > 253:
        causes.append(("metadata.name", "Invalid value", _SUBDOMAIN_MSG, name))
    return causes


def validate_meta(rt, obj):
    m = obj["metadata"]
    causes = []
    for field in ("labels", "annotations"):
        v = m.get(field)
        if v is None:
            continue
        if not isinstance(v, dict):
            causes.append(("metadata." + field, "Invalid value", "must be a map", None))
            continue
        for k, val in v.items():
            if not isinstance(val, str):
                raise errors.bad_request('%s in version "%s" cannot be handled as a %s: json: cannot unmarshal '
                                         '%s into Go struct field ObjectMeta.metadata.%s of type string'
                                         % (rt.kind, rt.version, rt.kind, schema._type_name(val), field))
            if field == "labels" and val and not re.fullmatch(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", val):
                causes.append(("metadata.labels", "Invalid value",
                               "a valid label must be an empty string or consist of alphanumeric characters, "
                               "'-', '_' or '.', and must start and end with an alphanumeric character", val))
    for i, ref in enumerate(m.get("ownerReferences") or []):
        for f in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(f):
                causes.append(("metadata.ownerReferences[%d].%s" % (i, f), "Invalid value",
                               "%s must not be empty" % f if f != "uid" else "uid must not be empty", ""))
    return causes


# ------------------------------------------------------------------ per-kind defaults

def _container_defaults(c):
    c.setdefault("imagePullPolicy", "IfNotPresent" if not str(c.get("image", "")).endswith(":latest")
                 and ":" in str(c.get("image", "")) else "Always")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")


def default_pod(obj, keep_status=False):
    spec = obj.setdefault("spec", {})
    for c in spec.get("containers") or []:
        _container_defaults(c)
    for c in spec.get("initContainers") or []:
        _container_defaults(c)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    spec.setdefault("tolerations", [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}])
    if not keep_status:
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    else:
        obj.setdefault("status", {}).setdefault("phase", "Pending")
        obj["status"].setdefault("qosClass", "BestEffort")


def validate_pod(obj):
    causes = []
    cs = (obj.get("spec") or {}).get("containers")
    if not cs:
        causes.append(("spec.containers", "Required value", "", None))
    for i, c in enumerate(cs or []):
        if not c.get("name"):
            causes.append(("spec.containers[%d].name" % i, "Required value", "", None))
        if not c.get("image"):
            causes.append(("spec.containers[%d].image" % i, "Required value", "", None))
    return causes


def default_service(store, obj):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec.get("clusterIP") in (None, ""):
        spec["clusterIP"] = store.allocate_cluster_ip()
    if spec["clusterIP"] != "None":
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p.get("port"))
    obj["status"] = {"loadBalancer": {}}


def default_namespace(obj):
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}


def default_node(obj):
    m = obj["metadata"]
    labels = m.setdefault("labels", {})
    labels.setdefault("kubernetes.io/hostname", m["name"])
    labels.setdefault("kubernetes.io/os", "linux")
    labels.setdefault("kubernetes.io/arch", "amd64")
    labels.setdefault("beta.kubernetes.io/os", "linux")
    labels.setdefault("beta.kubernetes.io/arch", "amd64")
    obj.setdefault("spec", {})
    obj.setdefault("status", {})


def normalize_lease(obj):
    spec = obj.get("spec")
    if isinstance(spec, dict):
        for f in ("acquireTime", "renewTime"):
            if isinstance(spec.get(f), str):
                spec[f] = util.normalize_micro_time(spec[f])


def validate_lease(obj):
    causes = []
    spec = obj.get("spec") or {}
    d = spec.get("leaseDurationSeconds")
    if d is not None and (not isinstance(d, int) or d <= 0):
        causes.append(("spec.leaseDurationSeconds", "Invalid value", "must be greater than 0", d))
    t = spec.get("leaseTransitions")
    if t is not None and (not isinstance(t, int) or t < 0):
        causes.append(("spec.leaseTransitions", "Invalid value", "must be greater than or equal to 0", t))
    for f in ("acquireTime", "renewTime"):
        if spec.get(f) is not None and util.parse_time(spec[f]) is None:
            raise errors.bad_request('Lease in version "v1" cannot be handled as a Lease: parsing time "%s" as '
                                     '"2006-01-02T15:04:05.000000Z07:00": cannot parse' % spec[f])
    return causes


def default_secret(obj):
    obj.setdefault("type", "Opaque")


# ------------------------------------------------------------------ CRDs

def default_crd(obj):
    spec = obj.setdefault("spec", {})
    spec.setdefault("conversion", {"strategy": "None"})
    names = spec.setdefault("names", {})
    if names.get("kind"):
        names.setdefault("listKind", names["kind"] + "List")
    if names.get("plural") and not names.get("singular") and names.get("kind"):
        names["singular"] = names["kind"].lower()


def validate_crd(obj):
    causes = []
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    if not group:
        causes.append(("spec.group", "Required value", "", None))
    elif "." not in group:
        causes.append(("spec.group", "Invalid value", "should be a domain with at least one dot", group))
    if not names.get("plural"):
        causes.append(("spec.names.plural", "Required value", "", None))
    if not names.get("kind"):
        causes.append(("spec.names.kind", "Required value", "", None))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", "Unsupported value", 'supported values: "Cluster", "Namespaced"',
                       spec.get("scope", "")))
    name = obj["metadata"].get("name")
    if names.get("plural") and group and name != "%s.%s" % (names["plural"], group):
        causes.append(("metadata.name", "Invalid value", "must be spec.names.plural+\".\"+spec.group", name))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(("spec.versions", "Invalid value", "must have exactly one version marked as storage version",
                       None))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(("spec.versions", "Invalid value", "must have exactly one version marked as storage version",
                       None))
    for i, v in enumerate(versions):
        if not v.get("name"):
            causes.append(("spec.versions[%d].name" % i, "Required value", "", None))
        sch = (v.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(sch, dict):
            causes.append(("spec.versions[%d].schema.openAPIV3Schema" % i, "Required value",
                           "schemas are required", None))
        for j, c in enumerate(v.get("additionalPrinterColumns") or []):
            try:
                jsonpath.validate(c.get("jsonPath", ""))
            except jsonpath.JSONPathError as e:
                causes.append(("spec.versions[%d].additionalPrinterColumns[%d].JSONPath" % (i, j),
                               "Invalid value", str(e), c.get("jsonPath")))
            if c.get("type") not in ("integer", "number", "string", "boolean", "date"):
                causes.append(("spec.versions[%d].additionalPrinterColumns[%d].type" % (i, j), "Unsupported value",
                               'supported values: "boolean", "date", "integer", "number", "string"',
                               c.get("type", "")))
    return causes


# ------------------------------------------------------------------ custom resources

def process_cr(rt, obj, ctx, subresource=None):
    """Pruning, defaulting, unknown-field handling and validation for a custom object."""
    res = schema.process_custom_resource(obj, rt.schema)
    if res.unknown:
        mode = ctx.field_validation
        if mode == "Strict":
            raise errors.bad_request('%s in version "%s" cannot be handled as a %s: strict decoding error: %s' % (
                rt.kind, rt.version, rt.kind, ", ".join('unknown field "%s"' % f for f in res.unknown)))
        if mode == "Warn":
            for f in res.unknown:
                ctx.warnings.append('unknown field "%s"' % f)
    if res.errors:
        raise errors.invalid(rt.group, rt.kind, obj["metadata"].get("name") or obj["metadata"].get(
            "generateName", ""), res.errors)


def valid_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False
