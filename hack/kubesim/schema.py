"""CRD structural schemas: pruning, defaulting, unknown-field detection and OpenAPI validation (subset)."""
import copy
import re

OBJECT_META_FIELDS = {
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields",
}


def _type_name(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _type_ok(t, v, schema):
    if v is None:
        return schema.get("nullable", False)
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(v, (int, str)) and not isinstance(v, bool)
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    return True


class Result:
    def __init__(self):
        self.unknown = []  # field paths
        self.errors = []   # (field, type, detail, value)


def _join(path, key):
    return "%s.%s" % (path, key) if path else key


def prune_and_default(obj, schema, res, path=""):
    """Walks obj with schema: applies defaults, prunes unknown fields (recording them). Mutates obj."""
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        props = schema.get("properties")
        addl = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        embedded = schema.get("x-kubernetes-embedded-resource", False)
        if props is not None:
            for k, ps in props.items():
                if k not in obj and isinstance(ps, dict) and "default" in ps:
                    obj[k] = copy.deepcopy(ps["default"])
        for k in list(obj.keys()):
            if props is not None and k in props:
                prune_and_default(obj[k], props[k], res, _join(path, k))
            elif isinstance(addl, dict):
                prune_and_default(obj[k], addl, res, _join(path, k))
            elif addl is True or preserve:
                continue
            elif embedded and k in ("apiVersion", "kind", "metadata"):
                continue
            elif props is not None or schema.get("type") == "object":
                res.unknown.append(_join(path, k))
                del obj[k]
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, it in enumerate(obj):
                prune_and_default(it, items, res, "%s[%d]" % (path, i))


def validate(obj, schema, res, path=""):
    if not isinstance(schema, dict):
        return
    t = schema.get("type")
    if t and not _type_ok(t, obj, schema):
        res.errors.append((path, "Invalid value", "%s in body must be of type %s: \"%s\"" % (path, t, _type_name(obj)),
                           _type_name(obj)))
        return
    if obj is None:
        return
    if "enum" in schema and obj not in schema["enum"]:
        res.errors.append((path, "Unsupported value", "supported values: " + ", ".join(
            '"%s"' % e if isinstance(e, str) else str(e) for e in schema["enum"]), obj))
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        if "minimum" in schema:
            lo = schema["minimum"]
            if (obj <= lo) if schema.get("exclusiveMinimum") else (obj < lo):
                res.errors.append((path, "Invalid value", "%s in body should be greater than %s%s" % (
                    path, "" if schema.get("exclusiveMinimum") else "or equal to ", lo), obj))
        if "maximum" in schema:
            hi = schema["maximum"]
            if (obj >= hi) if schema.get("exclusiveMaximum") else (obj > hi):
                res.errors.append((path, "Invalid value", "%s in body should be less than %s%s" % (
                    path, "" if schema.get("exclusiveMaximum") else "or equal to ", hi), obj))
    if isinstance(obj, str):
        if "maxLength" in schema and len(obj) > schema["maxLength"]:
            res.errors.append((path, "Too long", "may not be more than %d bytes" % schema["maxLength"], obj))
        if "minLength" in schema and len(obj) < schema["minLength"]:
            res.errors.append((path, "Invalid value", "%s in body should be at least %d chars long" % (
                path, schema["minLength"]), obj))
        if "pattern" in schema:
            try:
                if not re.search(schema["pattern"], obj):
                    res.errors.append((path, "Invalid value", "%s in body should match '%s'" % (
                        path, schema["pattern"]), obj))
            except re.error:
                pass
    if isinstance(obj, list):
        if "minItems" in schema and len(obj) < schema["minItems"]:
            res.errors.append((path, "Invalid value", "%s in body should have at least %d items" % (
                path, schema["minItems"]), len(obj)))
        if "maxItems" in schema and len(obj) > schema["maxItems"]:
            res.errors.append((path, "Too many", "must have at most %d items" % schema["maxItems"], len(obj)))
        items = schema.get("items")
        for i, it in enumerate(obj):
            validate(it, items, res, "%s[%d]" % (path, i))
    if isinstance(obj, dict):
        for r in schema.get("required") or []:
            if r not in obj:
                res.errors.append((_join(path, r), "Required value", "", None))
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for k, v in obj.items():
            if k in props:
                validate(v, props[k], res, _join(path, k))
            elif isinstance(addl, dict):
                validate(v, addl, res, _join(path, k))


def process_custom_resource(obj, schema):
    """Applies the CRD schema to a whole custom object (mutating it). Returns Result."""
    res = Result()
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for k in list(meta):
            if k not in OBJECT_META_FIELDS:
                res.unknown.append("metadata." + k)
                del meta[k]
    if not isinstance(schema, dict):
        return res
    root = dict(schema)
    root_props = dict(root.get("properties") or {})
    for k in ("apiVersion", "kind", "metadata"):
        root_props.pop(k, None)
    root["properties"] = root_props
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    prune_and_default(body, root, res)
    validate(body, {k: v for k, v in root.items() if k != "required"} | {"required": [
        r for r in root.get("required") or [] if r not in ("apiVersion", "kind", "metadata")]}, res)
    for k in list(obj.keys()):
        if k not in ("apiVersion", "kind", "metadata") and k not in body:
            del obj[k]
    obj.update(body)
    return res
