"""/version, legacy and aggregated discovery, and the OpenAPI v3 documents kubectl apply needs."""
import hashlib
import json

from .resources import VERBS

VERSION = {"major": "1", "minor": "32", "emulationMajor": "1", "emulationMinor": "32",
           "minCompatibilityMajor": "1", "minCompatibilityMinor": "31", "gitVersion": "v1.32.4",
           "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335", "gitTreeState": "clean",
           "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6", "compiler": "gc",
           "platform": "linux/amd64"}

AGG_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGG_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def _gv(group, version):
    return "%s/%s" % (group, version) if group else version


def api_versions(server_address):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group(group, versions):
    vs = [{"groupVersion": _gv(group, v), "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_group_list(registry):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(g, vs) for g, vs in registry.groups() if g]}


def api_group(registry, group):
    for g, vs in registry.groups():
        if g == group and g:
            d = _group(g, vs)
            d.update({"kind": "APIGroup", "apiVersion": "v1"})
            return d
    return None


def resource_list(registry, group, version):
    rts = sorted(registry.resources(group, version), key=lambda r: r.plural)
    if not rts:
        return None
    res = []
    for rt in rts:
        r = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
             "verbs": list(VERBS)}
        if rt.short_names:
            r["shortNames"] = rt.short_names
        if rt.categories:
            r["categories"] = rt.categories
        if rt.crd_name is None:
            r["storageVersionHash"] = hashlib.sha256(("%s/%s" % (rt.group, rt.plural)).encode()).hexdigest()[:12]
        res.append(r)
        for sub in rt.subresources:
            res.append({"name": "%s/%s" % (rt.plural, sub), "singularName": "", "namespaced": rt.namespaced,
                        "kind": rt.kind, "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": _gv(group, version), "resources": res}


def _agg_resource(rt):
    r = {"resource": rt.plural, "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
         "scope": "Namespaced" if rt.namespaced else "Cluster", "singularResource": rt.singular,
         "verbs": list(VERBS)}
    if rt.short_names:
        r["shortNames"] = rt.short_names
    if rt.categories:
        r["categories"] = rt.categories
    if rt.subresources:
        r["subresources"] = [{"subresource": s, "responseKind": {"group": rt.group, "version": rt.version,
                                                                 "kind": rt.kind},
                              "verbs": ["get", "patch", "update"]} for s in rt.subresources]
    return r


def aggregated(registry, legacy, version="v2"):
    items = []
    for g, vs in registry.groups():
        if (g == "") != legacy:
            continue
        versions = [{"version": v, "resources": [_agg_resource(rt) for rt in sorted(
            registry.resources(g, v), key=lambda r: r.plural)], "freshness": "Current"} for v in vs]
        md = {"creationTimestamp": None}
        if g:
            md["name"] = g
        items.append({"metadata": md, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/%s" % version, "metadata": {},
            "items": items}


def wants_aggregated(accept):
    """Returns 'v2', 'v2beta1' or None from an Accept header (first acceptable wins)."""
    for part in (accept or "").split(","):
        params = {}
        for p in part.split(";")[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip()] = v.strip()
        if params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList":
            if params.get("v") in ("v2", "v2beta1"):
                return params["v"]
        elif part.split(";")[0].strip() in ("application/json", "*/*", "application/*"):
            return None
    return None


# ---------------------------------------------------------------- OpenAPI v3

def _param(name, where="query", required=False, typ="string"):
    p = {"name": name, "in": where, "schema": {"type": typ, "uniqueItems": True}}
    if required:
        p["required"] = True
    return p


def _op(action, rt, op_id, extra=None):
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    o = {"tags": [rt.group or "core_v1"], "operationId": op_id, "x-kubernetes-action": action,
         "x-kubernetes-group-version-kind": gvk,
         "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}}}
    if rt.crd_name:
        o["responses"]["200"]["content"] = {"application/json": {"schema": {
            "$ref": "#/components/schemas/%s" % schema_name(rt)}}}
    if extra:
        o["parameters"] = extra
    return o


def schema_name(rt):
    if rt.crd_name:
        rev = ".".join(reversed(rt.group.split(".")))
        return "%s.%s.%s" % (rev, rt.version, rt.kind)
    g = rt.group.split(".")[0] if rt.group else "core"
    return "io.k8s.api.%s.%s.%s" % (g, rt.version, rt.kind)


def openapi_gv(registry, group, version):
    rts = registry.resources(group, version)
    if not rts:
        return None
    paths, schemas = {}, {}
    write_params = [_param("dryRun"), _param("fieldManager"), _param("fieldValidation")]
    for rt in sorted(rts, key=lambda r: r.plural):
        base = rt.base_path()
        coll = "%s/namespaces/{namespace}/%s" % (base, rt.plural) if rt.namespaced else "%s/%s" % (base, rt.plural)
        item = coll + "/{name}"
        opid = rt.kind
        paths[coll] = {
            "get": _op("list", rt, "list" + opid),
            "post": _op("post", rt, "create" + opid, write_params),
            "delete": _op("deletecollection", rt, "deletecollection" + opid),
        }
        paths[item] = {
            "get": _op("get", rt, "read" + opid),
            "put": _op("put", rt, "replace" + opid, write_params),
            "patch": _op("patch", rt, "patch" + opid, write_params + [_param("force", typ="boolean")]),
            "delete": _op("delete", rt, "delete" + opid),
        }
        for sub in rt.subresources:
            paths[item + "/" + sub] = {
                "get": _op("get", rt, "read%s%s" % (opid, sub.title())),
                "put": _op("put", rt, "replace%s%s" % (opid, sub.title()), write_params),
                "patch": _op("patch", rt, "patch%s%s" % (opid, sub.title()),
                             write_params + [_param("force", typ="boolean")]),
            }
        if rt.crd_name and isinstance(rt.schema, dict):
            s = json.loads(json.dumps(rt.schema))
            props = s.setdefault("properties", {})
            props.setdefault("apiVersion", {"type": "string"})
            props.setdefault("kind", {"type": "string"})
            props.setdefault("metadata", {"type": "object"})
            s.setdefault("type", "object")
        else:
            # Built-in kinds carry no schema here: kubectl then computes strategic merge patches from its
            # compiled-in types (a schema without patch metadata would make it treat every list as atomic).
            continue
        s["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
        schemas[schema_name(rt)] = s
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": schemas}}


def openapi_hash(doc):
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:64].upper()


def openapi_root(registry):
    paths = {}
    for g, vs in registry.groups():
        for v in vs:
            rel = "api/v1" if not g else "apis/%s/%s" % (g, v)
            paths[rel] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (rel, openapi_hash(
                openapi_gv(registry, g, v)))}
    return {"paths": paths}
