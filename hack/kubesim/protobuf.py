"""Decoding the Kubernetes protobuf envelope for the few built-in kinds that kubectl's typed `create`
subcommands send as protobuf (namespaces, configmaps, secrets, serviceaccounts). Other kinds get 415."""
import base64
import datetime

MAGIC = b"k8s\x00"


class ProtoError(ValueError):
    pass


def _varint(b, i):
    shift = result = 0
    while True:
        if i >= len(b):
            raise ProtoError("truncated varint")
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if not c & 0x80:
            return result, i
        shift += 7
        if shift > 70:
            raise ProtoError("varint too long")


def fields(b):
    """Yields (field number, wire type, value) of one message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                raise ProtoError("truncated field")
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ProtoError("unsupported wire type %d" % wt)
        yield num, wt, v


TIME = {1: ("seconds", "int"), 2: ("nanos", "int")}
OWNER_REF = {1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"), 5: ("apiVersion", "string"),
             6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool")}
OBJECT_META = {1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
               5: ("uid", "string"), 6: ("resourceVersion", "string"), 7: ("generation", "int"),
               8: ("creationTimestamp", "time"), 11: ("labels", "map_ss"), 12: ("annotations", "map_ss"),
               13: ("ownerReferences", ("list", OWNER_REF)), 14: ("finalizers", "list_string")}
LOCAL_REF = {1: ("name", "string")}
SCHEMAS = {
    "ConfigMap": {1: ("metadata", OBJECT_META), 2: ("data", "map_ss"), 3: ("binaryData", "map_sb"),
                  4: ("immutable", "bool")},
    "Secret": {1: ("metadata", OBJECT_META), 2: ("data", "map_sb"), 3: ("type", "string"),
               4: ("stringData", "map_ss"), 5: ("immutable", "bool")},
    "Namespace": {1: ("metadata", OBJECT_META), 2: ("spec", {1: ("finalizers", "list_string")}),
                  3: ("status", {1: ("phase", "string")})},
    "ServiceAccount": {1: ("metadata", OBJECT_META), 2: ("secrets", ("list", {1: ("kind", "string"),
                                                                           2: ("namespace", "string"),
                                                                           3: ("name", "string")})),
                       3: ("imagePullSecrets", ("list", LOCAL_REF)), 4: ("automountServiceAccountToken", "bool")},
}


def _map_entry(b, bytes_value):
    k = v = None
    for num, _, val in fields(b):
        if num == 1:
            k = val.decode()
        elif num == 2:
            v = base64.b64encode(val).decode() if bytes_value else val.decode()
    return k or "", v if v is not None else ""


def _decode(b, schema):
    out = {}
    for num, wt, v in fields(b):
        spec = schema.get(num)
        if spec is None:
            continue
        name, kind = spec
        if kind == "string":
            if v:
                out[name] = v.decode()
        elif kind == "int":
            if v:
                out[name] = v
        elif kind == "bool":
            if v:
                out[name] = True
        elif kind == "time":
            t = _decode(v, TIME)
            if t.get("seconds"):
                out[name] = datetime.datetime.fromtimestamp(t["seconds"], datetime.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ")
        elif kind in ("map_ss", "map_sb"):
            k, val = _map_entry(v, kind == "map_sb")
            out.setdefault(name, {})[k] = val
        elif kind == "list_string":
            out.setdefault(name, []).append(v.decode())
        elif isinstance(kind, tuple) and kind[0] == "list":
            out.setdefault(name, []).append(_decode(v, kind[1]))
        elif isinstance(kind, dict):
            sub = _decode(v, kind)
            if sub:
                out[name] = sub
    return out


def decode(body, expected_kind):
    """Returns the JSON-shaped object from a protobuf request body, or raises ProtoError."""
    if not body.startswith(MAGIC):
        raise ProtoError("missing protobuf magic prefix")
    type_meta, raw = {}, b""
    for num, _, v in fields(body[len(MAGIC):]):
        if num == 1:
            type_meta = _decode(v, {1: ("apiVersion", "string"), 2: ("kind", "string")})
        elif num == 2:
            raw = v
    kind = type_meta.get("kind") or expected_kind
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ProtoError("protobuf is only understood for %s; send JSON" % ", ".join(sorted(SCHEMAS)))
    obj = {"apiVersion": type_meta.get("apiVersion", "v1"), "kind": kind}
    obj.update(_decode(raw, schema))
    return obj
