"""Watchers: per-request event queues fed by the store under its lock, with selector enter/leave semantics."""
import collections
import threading

from . import errors

CLOSE = ("CLOSE", None)


class Watcher:
    def __init__(self, store, rt, ns, lsel, fsel, bookmarks):
        self.store = store
        self.rt = rt
        self.key = rt.key
        self.ns = ns
        self.lsel = lsel
        self.fsel = fsel
        self.bookmarks = bookmarks
        self.q = collections.deque()
        self.cv = threading.Condition(threading.Lock())
        self.closed = False

    def _match(self, obj):
        if obj is None:
            return False
        m = obj["metadata"]
        if self.rt.namespaced and self.ns is not None and m.get("namespace") != self.ns:
            return False
        if self.lsel is not None and not self.lsel.matches(m.get("labels")):
            return False
        if self.fsel is not None and not self.fsel.matches(self.rt, obj):
            return False
        return True

    def push(self, item):
        with self.cv:
            if self.closed:
                return
            self.q.append(item)
            self.cv.notify()

    def offer(self, ev):
        """Called by the store (under its lock) for every event."""
        if ev.key != self.key:
            return
        if ev.type == "ADDED":
            if self._match(ev.obj):
                self.push(("ADDED", ev.obj))
        elif ev.type == "MODIFIED":
            now, before = self._match(ev.obj), self._match(ev.prev)
            if now and before:
                self.push(("MODIFIED", ev.obj))
            elif now:
                self.push(("ADDED", ev.obj))
            elif before:
                gone = dict(ev.prev)
                gone["metadata"] = dict(ev.prev["metadata"])
                gone["metadata"]["resourceVersion"] = ev.obj["metadata"]["resourceVersion"]
                self.push(("DELETED", gone))
        elif ev.type == "DELETED":
            if self._match(ev.obj):
                self.push(("DELETED", ev.obj))

    def bookmark(self, annotations=None):
        """Queues a BOOKMARK at the store's current revision (every earlier event is already queued)."""
        with self.store.lock:
            self.push(("BOOKMARK", (self.store.rv, annotations)))

    def error(self, status):
        self.push(("ERROR", status))

    def close(self):
        with self.cv:
            if not self.closed:
                self.q.append(CLOSE)
                self.closed = True
                self.cv.notify()

    def get_all(self, timeout):
        """Waits up to `timeout` seconds; returns the queued items (possibly empty)."""
        with self.cv:
            if not self.q:
                self.cv.wait(timeout)
            items = list(self.q)
            self.q.clear()
            return items


def start(store, rt, ns, lsel, fsel, rv, bookmarks, initial_events=None, expire=False):
    """Registers a watcher. rv: None/''/'0' = synthetic ADDED for current objects first; N = events after N."""
    w = Watcher(store, rt, ns, lsel, fsel, bookmarks)
    with store.lock:
        if expire:
            w.error(errors.resource_expired_watch(rv or "0", store.rv).status())
            w.close()
            return w
        send_initial = rv in (None, "", "0") if initial_events is None else initial_events
        if rv not in (None, "", "0"):
            try:
                n = int(rv)
            except ValueError:
                raise errors.bad_request('resourceVersion: Invalid value: "%s": strconv.ParseUint: parsing "%s": '
                                         'invalid syntax' % (rv, rv))
            if n < store.compacted:
                w.error(errors.resource_expired_watch(n, store.compacted).status())
                w.close()
                return w
            if not send_initial:
                for ev in [e for e in reversed(store.history) if e.rv > n][::-1]:
                    w.offer(ev)
        if send_initial:
            from .store import sort_key
            objs = sorted((o for (ons, _), o in store.data[rt.key].items()), key=sort_key)
            for o in objs:
                if w._match(o):
                    w.push(("ADDED", o))
            if initial_events:
                w.push(("BOOKMARK", (store.rv, {"k8s.io/initial-events-end": "true"})))
        store.watchers.add(w)
    return w


def stop(store, w):
    with store.lock:
        store.watchers.discard(w)
    w.close()


def end_all(store):
    with store.lock:
        ws = list(store.watchers)
    for w in ws:
        w.close()
    return len(ws)


def bookmark_all(store):
    with store.lock:
        ws = [w for w in store.watchers if w.bookmarks]
    for w in ws:
        w.bookmark()
    return len(ws)
