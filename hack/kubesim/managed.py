"""metadata.managedFields bookkeeping and server-side apply.

Simplified like the reference stub: ownership is per leaf field, lists are atomic."""
import copy

from . import errors, util

_MISSING = object()
_IGNORED_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                 "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink", "generateName"}


def leaves(obj, prefix=()):
    out = set()
    if not isinstance(obj, dict):
        return out
    for k, v in obj.items():
        p = prefix + (k,)
        if not prefix and k in ("apiVersion", "kind"):
            continue
        if prefix == ("metadata",) and k in _IGNORED_META:
            continue
        if isinstance(v, dict) and v:
            out |= leaves(v, p)
        else:
            out.add(p)
    return out


def get_path(obj, p):
    cur = obj
    for k in p:
        if not isinstance(cur, dict) or k not in cur:
            return _MISSING
        cur = cur[k]
    return cur


def delete_path(obj, p):
    cur = obj
    for k in p[:-1]:
        if not isinstance(cur, dict) or k not in cur:
            return
        cur = cur[k]
    if isinstance(cur, dict):
        cur.pop(p[-1], None)


def to_fields_v1(paths):
    root = {}
    for p in sorted(paths):
        cur = root
        for k in p:
            cur = cur.setdefault("f:" + k, {})
    return root


def from_fields_v1(d, prefix=()):
    out = set()
    if not isinstance(d, dict) or not d:
        if prefix:
            out.add(prefix)
        return out
    for k, v in d.items():
        if k.startswith("f:"):
            out |= from_fields_v1(v, prefix + (k[2:],))
        elif prefix:
            out.add(prefix)  # list items or "." : the field itself is owned (lists are atomic here)
    return out


def _overlap(a, b):
    n = min(len(a), len(b))
    return a[:n] == b[:n]


class Entry:
    def __init__(self, manager, operation, api_version, time, fields, subresource=None):
        self.manager = manager
        self.operation = operation
        self.api_version = api_version
        self.time = time
        self.fields = set(fields)
        self.subresource = subresource

    def ident(self):
        return (self.manager, self.operation, self.subresource or "")

    def label(self):
        if self.operation == "Apply":
            return '"%s"' % self.manager
        return '"%s" using %s at %s' % (self.manager, self.api_version, self.time)

    def to_json(self):
        d = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version,
             "time": self.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(self.fields)}
        if self.subresource:
            d["subresource"] = self.subresource
        return d


def parse(obj):
    out = []
    for e in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(e, dict) or not e.get("manager") and not e.get("fieldsV1"):
            continue
        out.append(Entry(e.get("manager", ""), e.get("operation", "Update"), e.get("apiVersion", ""),
                         e.get("time", ""), from_fields_v1(e.get("fieldsV1") or {}), e.get("subresource")))
    return out


def store(obj, entries):
    entries = [e for e in entries if e.fields]
    if entries:
        obj["metadata"]["managedFields"] = [e.to_json() for e in entries]
    else:
        obj["metadata"].pop("managedFields", None)


def client_changed(old, new):
    """True if a write carries its own managedFields (kubectl's CSA->SSA migration does)."""
    nm = (new.get("metadata") or {}).get("managedFields")
    if nm is None or nm == []:
        return False
    om = (old.get("metadata") or {}).get("managedFields") if old else None
    return nm != om


def normalize_client(obj):
    mf = obj["metadata"].get("managedFields")
    if mf == [{}]:
        obj["metadata"].pop("managedFields", None)


def record_update(old, new, manager, api_version, subresource=None):
    """Gives `manager` (operation Update) the fields it changed from old (None on create) to new."""
    entries = parse(old) if old else []
    new_l = leaves(new)
    if old is None:
        changed, removed = new_l, set()
    else:
        old_l = leaves(old)
        changed = {p for p in new_l if get_path(old, p) != get_path(new, p)}
        removed = old_l - new_l
    touched = changed | removed
    if not touched:
        prev = (old or {}).get("metadata", {}).get("managedFields")
        if prev:
            new["metadata"]["managedFields"] = copy.deepcopy(prev)
        else:
            new["metadata"].pop("managedFields", None)
        return
    for e in entries:
        e.fields = {f for f in e.fields if not any(_overlap(f, t) for t in touched)}
    ident = (manager, "Update", subresource or "")
    mine = next((e for e in entries if e.ident() == ident), None)
    if mine is None:
        mine = Entry(manager, "Update", api_version, util.rfc3339(), set(), subresource)
        entries.append(mine)
    mine.fields |= changed
    mine.time = util.rfc3339()
    mine.api_version = api_version
    store(new, entries)


def _deep_merge(base, applied):
    if not isinstance(applied, dict) or not isinstance(base, dict):
        return copy.deepcopy(applied)
    out = copy.deepcopy(base)
    for k, v in applied.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and v:
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _path_text(p):
    return "." + ".".join(p)


def apply(current, applied, manager, force, api_version, group, resource, name, subresource=None):
    """Server-side apply of `applied` onto `current` (None: create). Returns the merged object with managedFields."""
    applied_l = leaves(applied)
    if current is None:
        result = copy.deepcopy(applied)
        result.setdefault("metadata", {}).pop("managedFields", None)
        store(result, [Entry(manager, "Apply", api_version, util.rfc3339(), applied_l, subresource)])
        return result
    entries = parse(current)
    ident = (manager, "Apply", subresource or "")
    mine = next((e for e in entries if e.ident() == ident), None)
    others = [e for e in entries if e is not mine]
    conflicts = []
    for p in sorted(applied_l):
        if get_path(current, p) == get_path(applied, p):
            continue
        for e in others:
            if any(_overlap(f, p) for f in e.fields):
                conflicts.append((e, p))
    if conflicts and not force:
        raise _conflict_error(conflicts, group, resource, name)
    result = copy.deepcopy(current)
    if mine:
        for p in mine.fields - applied_l:
            if any(_overlap(p, f) for f in applied_l):
                continue
            if not any(any(_overlap(f, p) for f in e.fields) for e in others):
                delete_path(result, p)
    body = {k: v for k, v in applied.items() if k not in ("apiVersion", "kind")}
    meta = dict(body.get("metadata") or {})
    for k in _IGNORED_META:
        meta.pop(k, None)
    body["metadata"] = meta
    result = _deep_merge(result, body)
    for e, p in conflicts:
        e.fields = {f for f in e.fields if not _overlap(f, p)}
    if mine is None:
        mine = Entry(manager, "Apply", api_version, util.rfc3339(), set(), subresource)
        entries.append(mine)
    mine.fields = applied_l
    mine.time = util.rfc3339()
    mine.api_version = api_version
    store(result, entries)
    return result


def _conflict_error(conflicts, group, resource, name):
    n = len(conflicts)
    if n == 1:
        e, p = conflicts[0]
        text = "conflict with %s: %s" % (e.label(), _path_text(p))
    else:
        by = {}
        order = []
        for e, p in conflicts:
            if e.label() not in by:
                by[e.label()] = []
                order.append(e.label())
            by[e.label()].append(p)
        lines = []
        for lbl in order:
            lines.append("conflicts with %s:" % lbl)
            lines.extend("- %s" % _path_text(p) for p in by[lbl])
        text = "\n".join(lines)
    causes = [{"reason": "FieldManagerConflict", "message": "conflict with %s" % e.label(), "field": _path_text(p)}
              for e, p in conflicts]
    d = {"name": name, "kind": resource, "causes": causes}
    if group:
        d = {"name": name, "group": group, "kind": resource, "causes": causes}
    return errors.ApiError(409, "Conflict", "Apply failed with %d conflict%s: %s" % (n, "" if n == 1 else "s", text), d)


def default_manager(user_agent):
    ua = user_agent or "unknown"
    return ua.split("/", 1)[0] or "unknown"
