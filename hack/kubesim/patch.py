"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch for built-in kinds."""
import copy


class PatchError(ValueError):
    pass


# ---------------------------------------------------------------- merge patch

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# ---------------------------------------------------------------- JSON patch

def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("JSON pointer must start with '/': %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts, op, path):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError("%s operation does not apply: doc is missing path: \"%s\": missing value" % (op, path))
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                i = int(p)
                cur = cur[i]
            except (ValueError, IndexError):
                raise PatchError("%s operation does not apply: doc is missing path: \"%s\": missing value" % (op, path))
        else:
            raise PatchError("%s operation does not apply: doc is missing path: \"%s\": missing value" % (op, path))
    return cur


def _get(doc, path, op):
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _walk(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("%s operation does not apply: doc is missing key: %s: missing value" % (op, path))
        return parent[last]
    if isinstance(parent, list):
        try:
            return parent[int(last)]
        except (ValueError, IndexError):
            raise PatchError("%s operation does not apply: doc is missing key: %s: missing value" % (op, path))
    raise PatchError("%s operation does not apply: doc is missing key: %s" % (op, path))


def _remove(doc, path, op="remove"):
    parts = _pointer(path)
    parent = _walk(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("%s operation does not apply: doc is missing key: %s: missing value" % (op, path))
        return parent.pop(last)
    if isinstance(parent, list):
        try:
            return parent.pop(int(last))
        except (ValueError, IndexError):
            raise PatchError("%s operation does not apply: doc is missing key: %s: missing value" % (op, path))
    raise PatchError("%s operation does not apply: doc is missing key: %s" % (op, path))


def _add(doc, path, value, op="add", replace=False):
    parts = _pointer(path)
    if not parts:
        return value
    parent = _walk(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError("replace operation does not apply: doc is missing key: %s: missing value" % path)
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            if replace:
                raise PatchError("replace operation does not apply: doc is missing key: %s" % path)
            parent.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise PatchError("%s operation does not apply: doc is missing key: %s" % (op, path))
            if replace:
                if not 0 <= i < len(parent):
                    raise PatchError("replace operation does not apply: doc is missing key: %s: missing value" % path)
                parent[i] = value
            else:
                if not 0 <= i <= len(parent):
                    raise PatchError("add operation does not apply: doc is missing path: \"%s\": missing value" % path)
                parent.insert(i, value)
    else:
        raise PatchError("%s operation does not apply: doc is missing path: \"%s\"" % (op, path))
    return doc


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for o in ops:
        if not isinstance(o, dict):
            raise PatchError("invalid JSON patch operation")
        op, path = o.get("op"), o.get("path")
        if path is None:
            raise PatchError("%s operation does not apply: missing path" % op)
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(o.get("value")))
        elif op == "remove":
            _remove(doc, path)
        elif op == "replace":
            if path == "":
                doc = copy.deepcopy(o.get("value"))
            else:
                doc = _add(doc, path, copy.deepcopy(o.get("value")), "replace", replace=True)
        elif op == "move":
            v = _remove(doc, o.get("from", ""), "move")
            doc = _add(doc, path, v, "move")
        elif op == "copy":
            v = copy.deepcopy(_get(doc, o.get("from", ""), "copy"))
            doc = _add(doc, path, v, "copy")
        elif op == "test":
            v = _get(doc, path, "test")
            if v != o.get("value"):
                raise PatchError("testing value %s failed: test failed" % path)
        else:
            raise PatchError("Unexpected kind: %s" % op)
    return doc


# ---------------------------------------------------------------- strategic merge patch

# (path suffix, merge key or None for a merging primitive list). Longest suffixes first.
_SMP_LISTS = [
    (("metadata", "finalizers"), None),
    (("metadata", "ownerReferences"), "uid"),
    (("containers", "ports"), "containerPort"),
    (("initContainers", "ports"), "containerPort"),
    (("ephemeralContainers", "ports"), "containerPort"),
    (("status", "addresses"), "type"),
    (("spec", "taints"), "key"),
    (("spec", "ports"), "port"),
    (("containers",), "name"),
    (("initContainers",), "name"),
    (("ephemeralContainers",), "name"),
    (("env",), "name"),
    (("volumeMounts",), "mountPath"),
    (("volumeDevices",), "devicePath"),
    (("volumes",), "name"),
    (("imagePullSecrets",), "name"),
    (("hostAliases",), "ip"),
    (("conditions",), "type"),
    (("podIPs",), "ip"),
    (("hostIPs",), "ip"),
    (("topologySpreadConstraints",), "topologyKey"),
    (("resourceClaims",), "name"),
    (("schedulingGates",), "name"),
]


def list_strategy(path):
    """('merge', key) for lists with a patch strategy, ('replace', None) otherwise."""
    t = tuple(path)
    for suffix, key in _SMP_LISTS:
        if t[-len(suffix):] == suffix:
            return "merge", key
    return "replace", None


def _strip(v):
    if isinstance(v, dict):
        return {k: _strip(x) for k, x in v.items() if not k.startswith("$")}
    if isinstance(v, list):
        return [_strip(x) for x in v if not (isinstance(x, dict) and x.get("$patch") in ("delete",))]
    return v


def strategic_merge_patch(orig, patch, path=()):
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip(patch)
    if directive == "delete":
        return None
    result = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    orders = {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(result.get(field), list) and isinstance(v, list):
                result[field] = [x for x in result[field] if x not in v]
            continue
        if k.startswith("$"):
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, dict):
            merged = strategic_merge_patch(result.get(k) if isinstance(result.get(k), dict) else {}, v, path + (k,))
            if merged is None:
                result.pop(k, None)
            else:
                result[k] = merged
        elif isinstance(v, list):
            strategy, key = list_strategy(path + (k,))
            if strategy == "merge":
                result[k] = _merge_list(result.get(k) if isinstance(result.get(k), list) else [], v, key,
                                        path + (k,))
            else:
                result[k] = _strip(v)
        else:
            result[k] = v
    for field, order in orders.items():
        cur = result.get(field)
        if isinstance(cur, list) and isinstance(order, list):
            _, key = list_strategy(path + (field,))
            result[field] = _reorder(cur, order, key)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        for k in list(result.keys()):
            if k not in retain:
                del result[k]
    return result


def _reorder(cur, order, key):
    def ident(x):
        return x.get(key) if key and isinstance(x, dict) else x
    pos = {}
    for i, o in enumerate(order):
        pos.setdefault(str(ident(o)), i)
    first = [x for x in cur if str(ident(x)) in pos]
    rest = [x for x in cur if str(ident(x)) not in pos]
    first.sort(key=lambda x: pos[str(ident(x))])
    return first + rest


def _merge_list(orig, patch_list, key, path):
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch_list):
        return [_strip(x) for x in patch_list if not (isinstance(x, dict) and x.get("$patch") == "replace")]
    result = copy.deepcopy(orig)
    if key is None:
        for x in patch_list:
            if x not in result:
                result.append(copy.deepcopy(x))
        return result
    for item in patch_list:
        if not isinstance(item, dict):
            result.append(item)
            continue
        kv = item.get(key)
        idx = next((i for i, o in enumerate(result) if isinstance(o, dict) and o.get(key) == kv), None)
        if item.get("$patch") == "delete":
            result = [o for o in result if not (isinstance(o, dict) and o.get(key) == kv)]
            continue
        if idx is None:
            result.append(_strip(item))
        else:
            merged = strategic_merge_patch(result[idx], item, path)
            if merged is None:
                del result[idx]
            else:
                result[idx] = merged
    return result
