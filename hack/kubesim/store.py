"""The object store: one global resourceVersion, event history, write semantics
(create/update/patch/delete, status subresource, generation, finalizers, graceful pod deletion)."""
import base64
import collections
import copy
import datetime
import json
import logging
import random
import threading
import time

from . import errors, kinds, managed, patch as patchlib, util

log = logging.getLogger("kube-sim.store")

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


class Ctx:
    """Per-request write options."""

    def __init__(self, manager="unknown", dry_run=False, field_validation="Warn", force=False):
        self.manager = manager
        self.dry_run = dry_run
        self.field_validation = field_validation
        self.force = force
        self.warnings = []
        self.managed_preset = False


class Event:
    __slots__ = ("rv", "type", "key", "obj", "prev")

    def __init__(self, rv, type_, key, obj, prev):
        self.rv = rv
        self.type = type_
        self.key = key
        self.obj = obj
        self.prev = prev


def sort_key(obj):
    m = obj["metadata"]
    ns = m.get("namespace")
    return "%s/%s" % (ns, m["name"]) if ns else m["name"]


def encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(tok):
    try:
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
        d = json.loads(raw)
        if d.get("v") != "meta.k8s.io/v1":
            raise ValueError("continue key is not valid: "
                             "incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        start = d.get("start", "")
        if start.endswith("\x00"):
            start = start[:-1]
        return int(d.get("rv", 0)), start
    except (ValueError, TypeError, json.JSONDecodeError):
        raise errors.bad_request("continue key is not valid: illegal base64 data at input byte 0")


class Store:
    def __init__(self, registry, history_size=10000, pod_stop_seconds=1.0):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.registry = registry
        self.rv = 0
        self.data = collections.defaultdict(dict)   # (group, plural) -> {(ns, name): obj}
        self.uids = {}                               # uid -> ((group, plural), (ns, name))
        self.history = collections.deque()
        self.history_size = history_size
        self.compacted = 0
        self.watchers = set()
        self.controllers = []
        self.pod_stop_seconds = pod_stop_seconds
        self._pending = collections.deque()
        self._draining = False
        self._timers = {}
        self._ip = 0
        self.closed = False

    # ------------------------------------------------------------ basics

    def _new_rv(self):
        self.rv += 1
        return self.rv

    def _emit(self, type_, key, obj, prev=None):
        ev = Event(self.rv, type_, key, obj, prev)
        self.history.append(ev)
        while len(self.history) > self.history_size:
            old = self.history.popleft()
            self.compacted = old.rv
        for w in list(self.watchers):
            w.offer(ev)
        self._pending.append(ev)
        self.cond.notify_all()

    def _drain(self):
        if self._draining:
            return
        self._draining = True
        try:
            while self._pending:
                ev = self._pending.popleft()
                for c in self.controllers:
                    try:
                        c.handle(ev)
                    except errors.ApiError as e:
                        log.debug("controller %s: %s", type(c).__name__, e.message)
                    except Exception:  # a controller bug must not fail the request that triggered it
                        log.exception("controller %s failed", type(c).__name__)
        finally:
            self._draining = False

    def run(self, fn, *args, **kwargs):
        """Runs fn under the store lock, then lets controllers react."""
        with self.lock:
            r = fn(*args, **kwargs)
            self._drain()
            return r

    def compact(self):
        with self.lock:
            self.history.clear()
            self.compacted = self.rv

    def out(self, rt, obj):
        """The object as served through `rt` (its apiVersion); apiVersion and kind first, as upstream prints."""
        o = {"apiVersion": rt.api_version, "kind": rt.kind}
        o.update((k, v) for k, v in obj.items() if k not in ("apiVersion", "kind"))
        return o

    def allocate_cluster_ip(self):
        self._ip += 1
        return "10.96.%d.%d" % ((self._ip // 250) % 250, self._ip % 250 + 1)

    def _get(self, key, ns, name):
        return self.data[key].get((ns or "", name))

    def get(self, rt, ns, name):
        with self.lock:
            o = self._get(rt.key, ns if rt.namespaced else "", name)
            if o is None:
                raise errors.not_found(rt.group, rt.plural, name)
            return o

    def find(self, rt, ns, name):
        with self.lock:
            return self._get(rt.key, ns if rt.namespaced else "", name)

    def by_uid(self, uid):
        loc = self.uids.get(uid)
        if not loc:
            return None, None
        return loc[0], self.data[loc[0]].get(loc[1])

    def objects(self, key, ns=None):
        return [o for (ons, _), o in self.data[key].items() if ns is None or ons == ns]

    def all_objects(self):
        for key, d in self.data.items():
            for o in list(d.values()):
                yield key, o

    def _store_obj(self, key, obj):
        m = obj["metadata"]
        nsname = (m.get("namespace") or "", m["name"])
        self.data[key][nsname] = obj
        self.uids[m["uid"]] = (key, nsname)

    # ------------------------------------------------------------ list

    def _snapshot(self, key, at_rv):
        snap = dict(self.data[key])
        for ev in reversed(self.history):
            if ev.rv <= at_rv:
                break
            if ev.key != key:
                continue
            m = ev.obj["metadata"]
            k = (m.get("namespace") or "", m["name"])
            if ev.type == "ADDED":
                snap.pop(k, None)
            else:
                snap[k] = ev.prev
        return snap

    def _wait_for_rv(self, n):
        deadline = time.monotonic() + 3
        while self.rv < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.timeout("Too large resource version: %d, current: %d" % (n, self.rv), 1,
                                     [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}])
            self.cond.wait(left)

    def list(self, rt, ns, lsel, fsel, limit=0, cont=None, rv=None, rv_match=None):
        with self.lock:
            key = rt.key
            start = None
            if cont:
                if rv not in (None, ""):
                    raise errors.bad_request("specifying resource version is not allowed when using continue")
                tok_rv, start = decode_continue(cont)
                if tok_rv != -1 and tok_rv < self.compacted:
                    e = errors.expired("The provided continue parameter is too old to display a consistent list "
                                       "result. You can start a new list without the continue parameter, or use "
                                       "the continue token in this response to retrieve the remainder of the "
                                       "results. Continuing with the provided token results in an inconsistent "
                                       "list - objects that were created, modified, or deleted between the time "
                                       "the first chunk was returned and now may show up in the list.")
                    raise e
                if tok_rv == -1:
                    snap, list_rv = self.data[key], self.rv
                else:
                    snap, list_rv = self._snapshot(key, tok_rv), tok_rv
            elif rv_match == "Exact":
                n = _parse_rv(rv)
                if n < self.compacted:
                    raise errors.expired("The resourceVersion for the provided list is too old.")
                self._wait_for_rv(n)
                snap, list_rv = self._snapshot(key, n), n
            else:
                if rv not in (None, "", "0"):
                    self._wait_for_rv(_parse_rv(rv))
                snap, list_rv = self.data[key], self.rv
            objs = sorted((o for (ons, _), o in snap.items() if not rt.namespaced or ns is None or ons == ns),
                          key=sort_key)
            if start is not None:
                objs = [o for o in objs if sort_key(o) > start]
            filtered = lsel is not None and not lsel.empty() or fsel is not None and not fsel.empty()
            items, next_key, remaining = [], None, None
            for i, o in enumerate(objs):
                if lsel is not None and not lsel.matches((o["metadata"].get("labels"))):
                    continue
                if fsel is not None and not fsel.matches(rt, o):
                    continue
                if limit and len(items) >= limit:
                    next_key = sort_key(items[-1])
                    if not filtered:
                        remaining = len(objs) - i
                    break
                items.append(o)
            meta = {"resourceVersion": str(list_rv)}
            if next_key is not None:
                meta["continue"] = encode_continue(list_rv, next_key)
                if remaining is not None:
                    meta["remainingItemCount"] = remaining
            return items, meta

    # ------------------------------------------------------------ create

    def _check_namespace(self, rt, ns):
        if not rt.namespaced:
            return
        nsobj = self._get(("", "namespaces"), "", ns)
        if nsobj is None:
            raise errors.not_found("", "namespaces", ns)
        if nsobj["metadata"].get("deletionTimestamp"):
            raise errors.ApiError(403, "Forbidden",
                                  '%s "%s" is forbidden: unable to create new content in namespace %s because it '
                                  'is being terminated' % (errors.group_resource(rt.group, rt.plural),
                                                           "", ns),
                                  {"name": "", "group": rt.group, "kind": rt.plural,
                                   "causes": [{"reason": "NamespaceTerminating",
                                               "message": "namespace %s is being terminated" % ns,
                                               "field": "metadata.namespace"}]})

    def _check_kind(self, rt, obj):
        if not isinstance(obj, dict):
            raise errors.bad_request("the object provided is unrecognized (must be of type %s)" % rt.kind)
        av, k = obj.get("apiVersion"), obj.get("kind")
        if k and k != rt.kind:
            raise errors.bad_request("the server rejected our request due to an error in our request: "
                                     "kind %s does not match the expected kind %s" % (k, rt.kind))
        if av and av != rt.api_version:
            raise errors.bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                                     % (av, rt.api_version))
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")

    def _kind_hooks(self, rt, obj, old, ctx, keep_status, subresource=None):
        causes = []
        k = (rt.group, rt.kind)
        if k == ("", "Pod"):
            if old is None:
                kinds.default_pod(obj, keep_status)
                causes += kinds.validate_pod(obj)
        elif k == ("", "Service"):
            if old is None:
                kinds.default_service(self, obj)
            else:
                spec = obj.setdefault("spec", {})
                if not spec.get("clusterIP"):
                    spec["clusterIP"] = (old.get("spec") or {}).get("clusterIP")
                    spec["clusterIPs"] = (old.get("spec") or {}).get("clusterIPs")
        elif k == ("", "Namespace"):
            if old is None:
                kinds.default_namespace(obj)
            else:
                obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
                if subresource not in ("status", "finalize"):
                    obj["spec"] = copy.deepcopy(old.get("spec", {}))
        elif k == ("", "Node"):
            if old is None:
                kinds.default_node(obj)
        elif k == ("", "Secret"):
            kinds.default_secret(obj)
        elif k == ("coordination.k8s.io", "Lease"):
            kinds.normalize_lease(obj)
            causes += kinds.validate_lease(obj)
        elif k == ("apiextensions.k8s.io", "CustomResourceDefinition"):
            kinds.default_crd(obj)
            causes += kinds.validate_crd(obj)
            if old is None:
                fins = obj["metadata"].setdefault("finalizers", [])
                if "customresourcecleanup.apiextensions.k8s.io" not in fins:
                    fins.append("customresourcecleanup.apiextensions.k8s.io")
        elif rt.crd_name:
            kinds.process_cr(rt, obj, ctx, subresource)
        return causes

    def _prepare_create(self, rt, ns, body, ctx, keep_status=False):
        obj = copy.deepcopy(body)
        self._check_kind(rt, obj)
        m = util.meta(obj)
        if m.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        name = m.get("name")
        if not name:
            gen = m.get("generateName")
            if not gen:
                raise errors.invalid(rt.group, rt.kind, "", [("metadata.name", "Required value",
                                                              "name or generateName is required", None)])
            for _ in range(20):
                name = gen + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
                if self._get(rt.key, ns if rt.namespaced else "", name) is None:
                    break
            m["name"] = name
        if rt.namespaced:
            if m.get("namespace") and m["namespace"] != ns:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            m["namespace"] = ns
        else:
            m.pop("namespace", None)
        causes = kinds.validate_name(rt, name) + kinds.validate_meta(rt, obj)
        if rt.has_status() and not keep_status and rt.kind not in ("Node", "Pod"):
            obj.pop("status", None)
        causes += self._kind_hooks(rt, obj, None, ctx, keep_status)
        if causes:
            raise errors.invalid(rt.group, rt.kind, name, causes)
        if self._get(rt.key, m.get("namespace", ""), name) is not None:
            raise errors.already_exists(rt.group, rt.plural, name)
        self._check_namespace(rt, m.get("namespace"))
        if rt.crd_name:
            crd = self._get(("apiextensions.k8s.io", "customresourcedefinitions"), "", rt.crd_name)
            if crd is not None and crd["metadata"].get("deletionTimestamp"):
                raise errors.ApiError(405, "MethodNotAllowed",
                                      "create not allowed while custom resource definition is terminating")
        m["uid"] = util.new_uid()
        m["creationTimestamp"] = util.rfc3339()
        for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            m.pop(f, None)
        if rt.generation:
            m["generation"] = 1
        else:
            m.pop("generation", None)
        if not ctx.managed_preset:
            if managed.client_changed(None, obj):
                managed.normalize_client(obj)
            else:
                m.pop("managedFields", None)
                managed.record_update(None, obj, ctx.manager, rt.api_version)
        return obj

    def _insert(self, rt, obj):
        obj["metadata"]["resourceVersion"] = str(self._new_rv())
        self._store_obj(rt.key, obj)
        self._emit("ADDED", rt.key, obj)
        return obj

    def create(self, rt, ns, body, ctx, keep_status=False):
        with self.lock:
            obj = self._prepare_create(rt, ns, body, ctx, keep_status)
            if ctx.dry_run:
                return obj
            self._insert(rt, obj)
            self._drain()
            return obj

    # ------------------------------------------------------------ update

    def _prepare_update(self, rt, old, body, ctx, subresource=None, require_rv=False):
        new = copy.deepcopy(body)
        self._check_kind(rt, new)
        m = util.meta(new)
        om = old["metadata"]
        if m.get("name") and m["name"] != om["name"]:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (m["name"], om["name"]))
        if rt.namespaced and m.get("namespace") and m["namespace"] != om.get("namespace"):
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        rv = m.get("resourceVersion")
        if rv:
            if rv != om["resourceVersion"]:
                raise errors.conflict(rt.group, rt.plural, om["name"])
        elif require_rv:
            raise errors.ApiError(422, "Invalid", '%s "%s" is invalid: metadata.resourceVersion: Invalid value: '
                                  '0x0: must be specified for an update' % (
                                      "%s.%s" % (rt.kind, rt.group) if rt.group else rt.kind, om["name"]),
                                  {"name": om["name"], "group": rt.group, "kind": rt.kind, "causes": [
                                      {"reason": "FieldValueInvalid",
                                       "message": "Invalid value: 0x0: must be specified for an update",
                                       "field": "metadata.resourceVersion"}]})
        client_mf = managed.client_changed(old, new)
        if subresource == "status":
            st = new.get("status")
            mf = m.get("managedFields")
            new = copy.deepcopy(old)
            new["apiVersion"], new["kind"] = rt.api_version, rt.kind
            if st is None:
                new.pop("status", None)
            else:
                new["status"] = st
            if client_mf:
                new["metadata"]["managedFields"] = mf
            m = new["metadata"]
        elif subresource == "finalize":
            fins = (new.get("spec") or {}).get("finalizers")
            new = copy.deepcopy(old)
            new["spec"] = dict(new.get("spec") or {}, finalizers=fins or [])
            m = new["metadata"]
        elif rt.has_status():
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                  "namespace", "name"):
            if f in om:
                m[f] = copy.deepcopy(om[f])
            else:
                m.pop(f, None)
        m["resourceVersion"] = om["resourceVersion"]
        if not client_mf:
            if "managedFields" in om:
                m["managedFields"] = copy.deepcopy(om["managedFields"])
            else:
                m.pop("managedFields", None)
        if om.get("deletionTimestamp"):
            added = [f for f in (m.get("finalizers") or []) if f not in (om.get("finalizers") or [])]
            if added:
                raise errors.invalid(rt.group, rt.kind, om["name"], [(
                    "metadata.finalizers", "Forbidden",
                    "no new finalizers can be added if the object is being deleted, found new finalizers "
                    "[]string{%s}" % ", ".join('"%s"' % f for f in added), None)])
        causes = kinds.validate_meta(rt, new)
        if rt.kind == "Pod" and rt.group == "" and subresource != "status":
            causes += _pod_spec_update_causes(old, new)
        causes += self._kind_hooks(rt, new, old, ctx, True, subresource)
        if causes:
            raise errors.invalid(rt.group, rt.kind, om["name"], causes)
        if rt.generation and _spec_changed(rt, old, new):
            m["generation"] = int(om.get("generation", 1)) + 1
        return new

    def _commit_update(self, rt, old, new, ctx, subresource=None):
        if not ctx.managed_preset:
            if managed.client_changed(old, new):
                managed.normalize_client(new)
            else:
                managed.record_update(old, new, ctx.manager, rt.api_version, subresource)
        if _same(old, new):
            return old
        if ctx.dry_run:
            return new
        return self._put(rt, old, new)

    def _put(self, rt, old, new):
        """Stores a replacement of `old` (controllers use this directly), emits MODIFIED, completes deletion."""
        new["metadata"]["resourceVersion"] = str(self._new_rv())
        self._store_obj(rt.key, new)
        self._emit("MODIFIED", rt.key, new, old)
        self._maybe_finalize(rt, new)
        return self._get(rt.key, new["metadata"].get("namespace", ""), new["metadata"]["name"]) or new

    def _maybe_finalize(self, rt, obj):
        m = obj["metadata"]
        if not m.get("deletionTimestamp") or m.get("finalizers"):
            return
        if rt.key == ("", "namespaces") and (obj.get("spec") or {}).get("finalizers"):
            return
        if rt.key == ("", "pods") and m.get("deletionGracePeriodSeconds", 0) > 0:
            return
        self._remove(rt, obj)

    def update(self, rt, ns, name, body, ctx, subresource=None):
        """PUT. Returns (object, created)."""
        with self.lock:
            ns = ns if rt.namespaced else ""
            old = self._get(rt.key, ns, name)
            if old is None:
                if rt.create_on_update and subresource is None and isinstance(body, dict):
                    if (body.get("metadata") or {}).get("resourceVersion"):
                        raise errors.not_found(rt.group, rt.plural, name)
                    b = copy.deepcopy(body)
                    util.meta(b).setdefault("name", name)
                    return self.create(rt, ns, b, ctx), True
                raise errors.not_found(rt.group, rt.plural, name)
            new = self._prepare_update(rt, old, body, ctx, subresource, require_rv=not rt.unconditional_update)
            result = self._commit_update(rt, old, new, ctx, subresource)
            self._drain()
            return result, False

    # ------------------------------------------------------------ patch

    def patch(self, rt, ns, name, ptype, body, ctx, subresource=None):
        """Returns (object, created)."""
        with self.lock:
            ns = ns if rt.namespaced else ""
            old = self._get(rt.key, ns, name)
            if ptype == "apply":
                return self._apply(rt, ns, name, old, body, ctx, subresource)
            if old is None:
                raise errors.not_found(rt.group, rt.plural, name)
            cur = self.out(rt, old)
            try:
                if ptype == "merge":
                    if not isinstance(body, dict):
                        raise errors.bad_request("json: cannot unmarshal %s into Go value of type "
                                                 "map[string]interface {}" % _json_kind(body))
                    patched = patchlib.merge_patch(cur, body)
                elif ptype == "json":
                    patched = patchlib.json_patch(cur, body)
                elif ptype == "strategic":
                    if not rt.builtin:
                        raise errors.unsupported_media_type(
                            "the body of the request was in an unknown format - accepted media types include: "
                            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
                    patched = patchlib.strategic_merge_patch(cur, body)
                else:
                    raise errors.unsupported_media_type("unknown patch type")
            except patchlib.PatchError as e:
                raise errors.ApiError(422, "Invalid", str(e))
            if not isinstance(patched, dict):
                raise errors.bad_request("patched object is not a JSON object")
            prv = (patched.get("metadata") or {}).get("resourceVersion")
            if prv and prv != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.group, rt.plural, name)
            new = self._prepare_update(rt, old, patched, ctx, subresource, require_rv=False)
            result = self._commit_update(rt, old, new, ctx, subresource)
            self._drain()
            return result, False

    def _apply(self, rt, ns, name, old, applied, ctx, subresource):
        if not isinstance(applied, dict):
            raise errors.bad_request("error decoding YAML: the applied configuration must be an object")
        self._check_kind(rt, applied)
        am = util.meta(applied)
        if am.get("name") and am["name"] != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (am["name"], name))
        am.setdefault("name", name)
        if rt.namespaced:
            am.setdefault("namespace", ns)
        ctx.managed_preset = True
        if old is None:
            if subresource:
                raise errors.not_found(rt.group, rt.plural, name)
            obj = managed.apply(None, applied, ctx.manager, ctx.force, rt.api_version, rt.group, rt.plural, name)
            r = self.create(rt, ns, obj, ctx)
            return r, True
        cur = self.out(rt, old)
        merged = managed.apply(cur, applied, ctx.manager, ctx.force, rt.api_version, rt.group, rt.plural, name,
                               subresource)
        mf = merged["metadata"].get("managedFields")
        arv = am.get("resourceVersion")
        merged["metadata"]["resourceVersion"] = arv or old["metadata"]["resourceVersion"]
        new = self._prepare_update(rt, old, merged, ctx, subresource, require_rv=False)
        if mf:
            new["metadata"]["managedFields"] = mf
        else:
            new["metadata"].pop("managedFields", None)
        result = self._commit_update(rt, old, new, ctx, subresource)
        self._drain()
        return result, False

    # ------------------------------------------------------------ delete

    def delete(self, rt, ns, name, opts, ctx):
        """Returns (object, removed): removed=True when the object is gone, else it is being deleted."""
        with self.lock:
            ns = ns if rt.namespaced else ""
            obj = self._get(rt.key, ns, name)
            if obj is None:
                raise errors.not_found(rt.group, rt.plural, name)
            pre = opts.get("preconditions") or {}
            m = obj["metadata"]
            if pre.get("uid") and pre["uid"] != m["uid"]:
                raise errors.conflict(rt.group, rt.plural, name, "Precondition failed: UID in precondition: %s, "
                                      "UID in object meta: %s" % (pre["uid"], m["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != m["resourceVersion"]:
                raise errors.conflict(rt.group, rt.plural, name, "Precondition failed: ResourceVersion in "
                                      "precondition: %s, ResourceVersion in object meta: %s"
                                      % (pre["resourceVersion"], m["resourceVersion"]))
            if rt.key == ("", "namespaces") and name in PROTECTED_NAMESPACES:
                raise errors.forbidden("", "namespaces", name, "this namespace may not be deleted")
            if ctx.dry_run:
                return obj, False
            policy = opts.get("propagationPolicy")
            if policy is None and opts.get("orphanDependents") is True:
                policy = "Orphan"
            r = self._delete(rt, obj, policy, opts.get("gracePeriodSeconds"))
            self._drain()
            return r

    def _delete(self, rt, obj, policy=None, grace=None):
        m = obj["metadata"]
        is_pod = rt.key == ("", "pods")
        if m.get("deletionTimestamp"):
            if is_pod and grace is not None and m.get("deletionGracePeriodSeconds", 0) > grace:
                return self._graceful_pod(rt, obj, grace), False
            return obj, False
        if policy not in (None, "Background", "Foreground", "Orphan"):
            raise errors.bad_request("propagationPolicy: Unsupported value: \"%s\"" % policy)
        new = copy.deepcopy(obj)
        nm = new["metadata"]
        fins = list(nm.get("finalizers") or [])
        if policy == "Foreground" and "foregroundDeletion" not in fins:
            fins.append("foregroundDeletion")
        if policy == "Orphan" and "orphan" not in fins:
            fins.append("orphan")
        if fins:
            nm["finalizers"] = fins
        if is_pod:
            spec, st = obj.get("spec") or {}, obj.get("status") or {}
            if spec.get("nodeName") and st.get("phase") not in ("Succeeded", "Failed"):
                g = grace if grace is not None else spec.get("terminationGracePeriodSeconds", 30)
                if g and g > 0:
                    nm.pop("deletionTimestamp", None)
                    return self._graceful_pod(rt, obj, g, new), False
        if rt.key == ("", "namespaces"):
            nm["deletionTimestamp"] = util.rfc3339()
            nm["deletionGracePeriodSeconds"] = 0
            new.setdefault("status", {})["phase"] = "Terminating"
            return self._put(rt, obj, new), False
        if fins:
            nm["deletionTimestamp"] = util.rfc3339()
            nm["deletionGracePeriodSeconds"] = 0
            if rt.generation:
                nm["generation"] = int(nm.get("generation", 1)) + 1
            return self._put(rt, obj, new), False
        return self._remove(rt, obj), True

    def _graceful_pod(self, rt, obj, grace, new=None, stop_after=None):
        """Marks a pod terminating with `grace` seconds; the simulated kubelet confirms later."""
        new = new or copy.deepcopy(obj)
        nm = new["metadata"]
        when = util.now() + datetime.timedelta(seconds=grace)
        nm["deletionTimestamp"] = util.rfc3339(when)
        nm["deletionGracePeriodSeconds"] = int(grace)
        if stop_after is None:
            stop_after = min(float(grace), self.pod_stop_seconds)
        result = self._put(rt, obj, new)
        self.schedule_kubelet_stop(nm.get("namespace", ""), nm["name"], nm["uid"], stop_after)
        return result

    def schedule_kubelet_stop(self, ns, name, uid, delay):
        k = (ns, name, uid)
        t = self._timers.pop(k, None)
        if t:
            t.cancel()
        t = threading.Timer(max(0.0, delay), self._kubelet_stopped, (ns, name, uid))
        t.daemon = True
        self._timers[k] = t
        t.start()

    def _kubelet_stopped(self, ns, name, uid):
        with self.lock:
            self._timers.pop((ns, name, uid), None)
            if self.closed:
                return
            rt = self.registry.get("", "v1", "pods")
            obj = self._get(rt.key, ns, name)
            if obj is None or obj["metadata"]["uid"] != uid or not obj["metadata"].get("deletionTimestamp"):
                return
            self.finish_pod(rt, obj)
            self._drain()

    def finish_pod(self, rt, obj):
        """The kubelet's final delete with grace period 0."""
        new = copy.deepcopy(obj)
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        if new["metadata"].get("finalizers"):
            return self._put(rt, obj, new)
        return self._remove(rt, obj)

    def _remove(self, rt, obj):
        m = obj["metadata"]
        nsname = (m.get("namespace") or "", m["name"])
        cur = self.data[rt.key].get(nsname)
        if cur is None or cur["metadata"]["uid"] != m["uid"]:
            return obj
        final = dict(cur)
        final["metadata"] = dict(cur["metadata"])
        final["metadata"]["resourceVersion"] = str(self._new_rv())
        del self.data[rt.key][nsname]
        self.uids.pop(m["uid"], None)
        self._emit("DELETED", rt.key, final, cur)
        return final

    def delete_collection(self, rt, ns, lsel, fsel, opts, ctx):
        with self.lock:
            items, _ = self.list(rt, ns, lsel, fsel)
            out = []
            for o in items:
                if ctx.dry_run:
                    out.append(o)
                    continue
                cur = self._get(rt.key, o["metadata"].get("namespace", ""), o["metadata"]["name"])
                if cur is None:
                    continue
                r, _ = self._delete(rt, cur, opts.get("propagationPolicy"), opts.get("gracePeriodSeconds"))
                out.append(r)
            self._drain()
            return out

    def shutdown(self):
        with self.lock:
            self.closed = True
            for t in self._timers.values():
                t.cancel()
            self._timers.clear()


def _parse_rv(rv):
    try:
        n = int(rv)
        if n < 0:
            raise ValueError
        return n
    except (TypeError, ValueError):
        raise errors.ApiError(
            400, "BadRequest", "resourceVersion: Invalid value: \"%s\": strconv.ParseUint: parsing \"%s\": "
                               "invalid syntax" % (rv, rv))


def _json_kind(v):
    if isinstance(v, list):
        return "array"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return "null"


def _strip_meta(o, keep_status):
    return {k: v for k, v in o.items() if k not in ("metadata", "apiVersion",
                                                    "kind") and (keep_status or k != "status")}


def _spec_changed(rt, old, new):
    keep_status = not rt.has_status()
    return _strip_meta(old, keep_status) != _strip_meta(new, keep_status)


def _same(old, new):
    a = dict(old)
    b = dict(new)
    am = dict(a.get("metadata") or {})
    bm = dict(b.get("metadata") or {})
    am.pop("resourceVersion", None)
    bm.pop("resourceVersion", None)
    a["metadata"], b["metadata"] = am, bm
    return a == b


_POD_MUTABLE = ("image",)


def _pod_spec_update_causes(old, new):
    def norm(spec):
        s = copy.deepcopy(spec or {})
        for c in (s.get("containers") or []) + (s.get("initContainers") or []):
            if isinstance(c, dict):
                c.pop("image", None)
        s.pop("activeDeadlineSeconds", None)
        s.pop("tolerations", None)
        s.pop("terminationGracePeriodSeconds", None)
        return s
    if norm(old.get("spec")) != norm(new.get("spec")):
        return [("spec", "Forbidden", "pod updates may not change fields other than `spec.containers[*].image`,"
                 "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                 "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                 "previously negative)", None)]
    return []
