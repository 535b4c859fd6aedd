"""What kube-controller-manager and the apiextensions controllers would do, run synchronously after writes:
garbage collection (ownerReferences), CRD establishing and cleanup, namespace deletion."""
import copy

from . import util
from .resources import ResourceType

CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NS_KEY = ("", "namespaces")
CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


class CRDController:
    def __init__(self, store):
        self.store = store
        self.registry = store.registry
        self.served = {}   # crd name -> json of spec that types were built from

    def handle(self, ev):
        if ev.key == CRD_KEY:
            name = ev.obj["metadata"]["name"]
            if ev.type == "DELETED":
                self.served.pop(name, None)
                self.registry.remove_crd(name)
                return
            self.register(ev.obj)
            cur = self.store._get(CRD_KEY, "", name)
            if cur is None:
                return
            if cur["metadata"].get("deletionTimestamp"):
                self.cleanup(cur)
            else:
                self.establish(cur)
        elif ev.type == "DELETED":
            for crd in list(self.store.data[CRD_KEY].values()):
                spec = crd.get("spec") or {}
                if (spec.get("group"), (spec.get("names") or {}).get("plural")) == ev.key and \
                        crd["metadata"].get("deletionTimestamp"):
                    self.finish(crd)

    def register(self, crd):
        name = crd["metadata"]["name"]
        spec = crd.get("spec") or {}
        sig = util.dumps(spec)
        if self.served.get(name) == sig:
            return
        self.served[name] = sig
        self.registry.remove_crd(name)
        names = spec.get("names") or {}
        storage = next((v.get("name") for v in spec.get("versions") or [] if v.get("storage")), None)
        for v in spec.get("versions") or []:
            if not v.get("served", True):
                continue
            subs = []
            if isinstance((v.get("subresources") or {}).get("status"), dict):
                subs.append("status")
            if isinstance((v.get("subresources") or {}).get("scale"), dict):
                pass
            fields = {}
            for sf in v.get("selectableFields") or []:
                jp = sf.get("jsonPath", "")
                fields[jp.lstrip(".")] = _jsonpath_getter(jp)
            rt = ResourceType(spec.get("group"), v.get("name"), names.get("kind"), names.get("plural"),
                              singular=names.get("singular") or names.get("kind", "").lower(),
                              namespaced=spec.get("scope") == "Namespaced",
                              short_names=names.get("shortNames") or [], categories=names.get("categories") or [],
                              subresources=subs, generation=True, unconditional_update=False, builtin=False,
                              fields=fields)
            rt.crd_name = name
            rt.schema = (v.get("schema") or {}).get("openAPIV3Schema")
            rt.printer_columns = v.get("additionalPrinterColumns") or None
            rt.storage_version = storage
            self.registry.add(rt)

    def establish(self, crd):
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        st = copy.deepcopy(crd.get("status") or {})
        conds = st.get("conditions") or []
        storage = next((v.get("name") for v in spec.get("versions") or [] if v.get("storage")), None)
        stored = list(st.get("storedVersions") or [])
        if storage and storage not in stored:
            stored.append(storage)
        have = {c.get("type"): c.get("status") for c in conds}
        if have.get("Established") == "True" and have.get("NamesAccepted") == "True" and \
                st.get("acceptedNames") == names and st.get("storedVersions") == stored:
            return
        now = util.rfc3339()
        conds = [c for c in conds if c.get("type") not in ("NamesAccepted", "Established")]
        conds = [{"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts",
                  "message": "no conflicts found"},
                 {"type": "Established", "status": "True", "lastTransitionTime": now,
                  "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}] + conds
        st.update({"conditions": conds, "acceptedNames": names, "storedVersions": stored})
        new = copy.deepcopy(crd)
        new["status"] = st
        rt = self.registry.get(*CRD_KEY[:1], "v1", CRD_KEY[1])
        self.store._put(rt, crd, new)

    def cleanup(self, crd):
        spec = crd.get("spec") or {}
        key = (spec.get("group"), (spec.get("names") or {}).get("plural"))
        rt = self.registry.by_key(key)
        conds = (crd.get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Terminating" for c in conds):
            new = copy.deepcopy(crd)
            new.setdefault("status", {}).setdefault("conditions", []).append({
                "type": "Terminating", "status": "True", "lastTransitionTime": util.rfc3339(),
                "reason": "InstanceDeletionInProgress", "message": "CustomResource deletion is in progress"})
            crd_rt = self.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            crd = self.store._put(crd_rt, crd, new)
        if rt is not None:
            for o in list(self.store.data[key].values()):
                if not o["metadata"].get("deletionTimestamp"):
                    self.store._delete(rt, o)
        self.finish(crd)

    def finish(self, crd):
        spec = crd.get("spec") or {}
        key = (spec.get("group"), (spec.get("names") or {}).get("plural"))
        if self.store.data[key]:
            return
        cur = self.store._get(CRD_KEY, "", crd["metadata"]["name"])
        if cur is None or CRD_FINALIZER not in (cur["metadata"].get("finalizers") or []):
            return
        new = copy.deepcopy(cur)
        new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f != CRD_FINALIZER]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        crd_rt = self.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        self.store._put(crd_rt, cur, new)


def _jsonpath_getter(jp):
    from . import jsonpath

    def get(obj):
        vals = jsonpath.find(jp, obj)
        if not vals:
            return ""
        v = vals[0]
        if isinstance(v, bool):
            return "true" if v else "false"
        return v if isinstance(v, str) else str(v)
    return get


class NamespaceController:
    def __init__(self, store):
        self.store = store

    def handle(self, ev):
        if ev.key == NS_KEY:
            if ev.type == "MODIFIED" and ev.obj["metadata"].get("deletionTimestamp"):
                self.cleanup(ev.obj["metadata"]["name"])
        elif ev.type == "DELETED":
            ns = ev.obj["metadata"].get("namespace")
            if ns:
                nsobj = self.store._get(NS_KEY, "", ns)
                if nsobj is not None and nsobj["metadata"].get("deletionTimestamp"):
                    self.finish(ns)

    def _contents(self, ns):
        out = []
        for key, d in list(self.store.data.items()):
            for (ons, _), o in list(d.items()):
                if ons == ns:
                    out.append((key, o))
        return out

    def cleanup(self, ns):
        for key, o in self._contents(ns):
            rt = self.store.registry.by_key(key)
            if rt is not None and not o["metadata"].get("deletionTimestamp"):
                cur = self.store._get(key, ns, o["metadata"]["name"])
                if cur is not None:
                    self.store._delete(rt, cur)
        self.finish(ns)

    def finish(self, ns):
        if self._contents(ns):
            return
        cur = self.store._get(NS_KEY, "", ns)
        if cur is None or not (cur.get("spec") or {}).get("finalizers"):
            return
        new = copy.deepcopy(cur)
        new["spec"]["finalizers"] = []
        rt = self.store.registry.get("", "v1", "namespaces")
        self.store._put(rt, cur, new)


class GarbageCollector:
    """ownerReferences: background deletion of dependents, foreground and orphan finalizers."""

    def __init__(self, store):
        self.store = store

    def _dependents(self, uid):
        out = []
        for key, o in self.store.all_objects():
            for ref in o["metadata"].get("ownerReferences") or []:
                if ref.get("uid") == uid:
                    out.append((key, o, ref))
                    break
        return out

    def handle(self, ev):
        m = ev.obj["metadata"]
        if ev.type == "DELETED":
            self.collect(m["uid"])
            for ref in m.get("ownerReferences") or []:
                _, owner = self.store.by_uid(ref.get("uid"))
                if owner is not None and "foregroundDeletion" in (owner["metadata"].get("finalizers") or []):
                    self.foreground(owner)
        elif ev.type == "MODIFIED" and m.get("deletionTimestamp"):
            fins = m.get("finalizers") or []
            if "orphan" in fins:
                self.orphan(ev.obj)
            elif "foregroundDeletion" in fins:
                self.foreground(ev.obj)

    def collect(self, uid):
        for key, o, ref in self._dependents(uid):
            rt = self.store.registry.by_key(key)
            if rt is None:
                continue
            cur = self.store._get(key, o["metadata"].get("namespace", ""), o["metadata"]["name"])
            if cur is None:
                continue
            alive = [r for r in cur["metadata"].get("ownerReferences") or []
                     if r.get("uid") != uid and self.store.by_uid(r.get("uid"))[1] is not None]
            if alive:
                new = copy.deepcopy(cur)
                new["metadata"]["ownerReferences"] = [r for r in new["metadata"]["ownerReferences"]
                                                      if r.get("uid") != uid]
                self.store._put(rt, cur, new)
            elif not cur["metadata"].get("deletionTimestamp"):
                self.store._delete(rt, cur, "Background")

    def orphan(self, owner):
        uid = owner["metadata"]["uid"]
        for key, o, _ in self._dependents(uid):
            rt = self.store.registry.by_key(key)
            new = copy.deepcopy(o)
            new["metadata"]["ownerReferences"] = [r for r in new["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if not new["metadata"]["ownerReferences"]:
                del new["metadata"]["ownerReferences"]
            self.store._put(rt, o, new)
        self._drop_finalizer(owner, "orphan")

    def foreground(self, owner):
        uid = owner["metadata"]["uid"]
        blocking = 0
        for key, o, ref in self._dependents(uid):
            rt = self.store.registry.by_key(key)
            if rt is None:
                continue
            if not o["metadata"].get("deletionTimestamp"):
                self.store._delete(rt, o, "Foreground")
            if ref.get("blockOwnerDeletion") and self.store.by_uid(o["metadata"]["uid"])[1] is not None:
                blocking += 1
        if blocking == 0:
            cur = self.store.by_uid(uid)[1]
            if cur is not None:
                self._drop_finalizer(cur, "foregroundDeletion")

    def _drop_finalizer(self, obj, fin):
        key, cur = self.store.by_uid(obj["metadata"]["uid"])
        if cur is None or fin not in (cur["metadata"].get("finalizers") or []):
            return
        rt = self.store.registry.by_key(key)
        new = copy.deepcopy(cur)
        new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f != fin]
        if not new["metadata"]["finalizers"]:
            del new["metadata"]["finalizers"]
        self.store._put(rt, cur, new)


def install(store):
    store.controllers = [CRDController(store), NamespaceController(store), GarbageCollector(store)]


def bootstrap(store):
    """Default namespaces, like a fresh cluster."""
    from .store import Ctx
    rt = store.registry.get("", "v1", "namespaces")
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        store.create(rt, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                     Ctx(manager="kube-apiserver"))
