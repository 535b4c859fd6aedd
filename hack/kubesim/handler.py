"""HTTP handling: routing, authentication, content negotiation, faults, and chunked watch streams."""
import collections
import json
import logging
import random
import select
import socket
import time
import traceback
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from . import discovery, errors, selectors, table, util, watch
from .store import Ctx

log = logging.getLogger("kube-sim.http")

TABLE_GV = ("meta.k8s.io", ("v1", "v1beta1"))
UNAUTHENTICATED_PATHS = ("/version", "/healthz", "/livez", "/readyz")


def parse_accept(accept):
    """Returns 'Table', 'PartialObjectMetadata' or None (plain JSON), from the first acceptable entry."""
    for part in (accept or "").split(","):
        bits = [b.strip() for b in part.split(";")]
        media = bits[0]
        params = dict(b.split("=", 1) for b in bits[1:] if "=" in b)
        if params.get("g") == "meta.k8s.io" and params.get("v") in TABLE_GV[1]:
            if params.get("as") == "Table":
                return "Table", params.get("v")
            if params.get("as") in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return "PartialObjectMetadata", params.get("v")
            continue
        if media in ("application/json", "*/*", "application/*", "") and "as" not in params:
            return None, None
    return None, None


class SimServer:
    """Shared state for the handler threads."""

    def __init__(self, registry, store, faults, token=None, tls=False, bookmark_interval=60.0,
                 server_address="127.0.0.1:6443", verbose=False):
        self.registry = registry
        self.store = store
        self.faults = faults
        self.token = token
        self.require_auth = bool(tls and token)
        self.bookmark_interval = bookmark_interval
        self.server_address = server_address
        self.verbose = verbose
        self.requests = collections.deque(maxlen=1000)
        self.request_count = 0
        self.url = ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-sim"
    sys_version = ""
    sim = None  # SimServer, set by main

    # ------------------------------------------------------------ plumbing

    def version_string(self):
        return "kube-sim"

    def log_message(self, fmt, *args):
        if self.sim.verbose:
            log.info("%s %s", self.address_string(), fmt % args)

    def log_request(self, code="-", size="-"):
        try:
            c = int(code)
        except (TypeError, ValueError):
            c = 0
        self.sim.requests.append({"time": time.time(), "method": self.command, "path": self.path, "code": c,
                                  "userAgent": self.headers.get("User-Agent", "") if self.headers else ""})
        self.sim.request_count += 1
        if self.sim.verbose:
            log.info('"%s %s" %s', self.command, self.path, code)

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                line = self.rfile.readline()
                n = int(line.strip().split(b";")[0] or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(n)
                self.rfile.readline()
            return data
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_json(self, code, obj, content_type="application/json", headers=None):
        data = (util.dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            if isinstance(v, list):
                for x in v:
                    self.send_header(k, x)
            else:
                self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_text(self, code, text, content_type="text/plain; charset=utf-8"):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_error_status(self, e):
        self.send_json(e.code, e.status(), headers=e.headers)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    # ------------------------------------------------------------ dispatch

    def dispatch(self, method):
        url = urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        try:
            body = self._body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            if path == "/_sim" or path.startswith("/_sim/"):
                self._check_auth(path, control=True)
                from . import control
                return control.handle(self, method, path, q, body)
            self._check_auth(path)
            delay = self.sim.faults.delay(method, path)
            if delay > 0:
                time.sleep(delay)
            rule = self.sim.faults.take_error(method, path)
            if rule is not None:
                if rule["code"] == 429:
                    raise errors.too_many_requests(rule.get("retryAfter", 1))
                if rule["code"] == 500:
                    raise errors.internal_error("injected fault")
                if rule["code"] == 503:
                    raise errors.ApiError(503, "ServiceUnavailable", "the server is currently unable to handle "
                                          "the request", None, {"Retry-After": str(rule.get("retryAfter", 1))})
                raise errors.generic(rule["code"], "injected fault")
            self.route(method, path, q, body)
        except errors.ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # report as upstream would, keep serving
            log.error("internal error on %s %s: %s", method, self.path, traceback.format_exc())
            try:
                self.send_error_status(errors.internal_error(str(e)))
            except OSError:
                self.close_connection = True

    def _check_auth(self, path, control=False):
        if not self.sim.require_auth:
            return
        if not control and path in UNAUTHENTICATED_PATHS:
            return
        parts = self.headers.get("Authorization", "").strip().split(" ", 1)
        if len(parts) != 2 or parts[0].lower() != "bearer" or parts[1].strip() != self.sim.token:
            raise errors.unauthorized()

    def route(self, method, path, q, body):
        reg = self.sim.registry
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_text(200, "ok")
        if path == "/version":
            return self.send_json(200, discovery.VERSION)
        if path == "/api":
            v = discovery.wants_aggregated(self.headers.get("Accept"))
            if v:
                return self.send_json(200, discovery.aggregated(reg, True, v),
                                      discovery.AGG_V2 if v == "v2" else discovery.AGG_V2BETA1)
            return self.send_json(200, discovery.api_versions(self.sim.server_address))
        if path == "/apis":
            v = discovery.wants_aggregated(self.headers.get("Accept"))
            if v:
                return self.send_json(200, discovery.aggregated(reg, False, v),
                                      discovery.AGG_V2 if v == "v2" else discovery.AGG_V2BETA1)
            return self.send_json(200, discovery.api_group_list(reg))
        if path == "/openapi/v3":
            return self.send_json(200, discovery.openapi_root(reg))
        if path.startswith("/openapi/v3/"):
            rel = path[len("/openapi/v3/"):].split("/")
            doc = None
            if rel[:2] == ["api", "v1"] and len(rel) == 2:
                doc = discovery.openapi_gv(reg, "", "v1")
            elif rel[0] == "apis" and len(rel) == 3:
                doc = discovery.openapi_gv(reg, rel[1], rel[2])
            if doc is None:
                raise errors.not_found_path()
            return self.send_json(200, doc)
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"] and len(parts) == 2:
            return self.send_json(200, discovery.resource_list(reg, "", "v1"))
        if parts and parts[0] == "apis":
            if len(parts) == 2:
                g = discovery.api_group(reg, parts[1])
                if g is None:
                    raise errors.not_found_path()
                return self.send_json(200, g)
            if len(parts) == 3:
                rl = discovery.resource_list(reg, parts[1], parts[2])
                if rl is None:
                    raise errors.not_found_path()
                return self.send_json(200, rl)
        if parts[:2] == ["api", "v1"] or (parts and parts[0] == "apis" and len(parts) > 3):
            return self.resource(method, parts, q, body)
        raise errors.not_found_path()

    # ------------------------------------------------------------ resources

    def _resolve(self, parts):
        if parts[0] == "api":
            group, version, rest = "", "v1", parts[2:]
        else:
            group, version, rest = parts[1], parts[2], parts[3:]
        reg = self.sim.registry
        watch_prefix = False
        if rest and rest[0] == "watch":
            watch_prefix, rest = True, rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            rt3 = reg.get(group, version, rest[2])
            if rt3 is not None and rt3.namespaced:
                ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise errors.not_found_path()
        rt = reg.get(group, version, rest[0])
        if rt is None:
            raise errors.not_found_path()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rt.subresources and not (rt.key == ("", "namespaces") and sub == "finalize"):
            raise errors.not_found_path()
        if ns is not None and not rt.namespaced:
            raise errors.not_found_path()
        if rt.namespaced and ns is None and name is not None:
            raise errors.not_found_path()
        return rt, ns, name, sub, watch_prefix

    def _ctx(self, q):
        fv = q.get("fieldValidation", "Warn") or "Warn"
        if fv not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request('fieldValidation: Unsupported value: "%s": supported values: "Ignore", '
                                     '"Strict", "Warn"' % fv)
        dry = q.get("dryRun")
        if dry not in (None, "", "All"):
            raise errors.bad_request('dryRun: Unsupported value: "%s": supported values: "All"' % dry)
        fm = q.get("fieldManager") or ""
        if len(fm) > 128:
            raise errors.bad_request("fieldManager: Too long: must have at most 128 bytes")
        force = False
        if "force" in q:
            force = self._bool(q, "force")
        return Ctx(manager=fm or _manager_from_ua(self.headers.get("User-Agent")), dry_run=dry == "All",
                   field_validation=fv, force=force)

    def _bool(self, q, k):
        try:
            return util.parse_bool(q.get(k))
        except ValueError:
            raise errors.bad_request('%s: Invalid value: "%s": strconv.ParseBool: parsing "%s": invalid syntax'
                                     % (k, q.get(k), q.get(k)))

    def _decode(self, body, ctype, rt=None):
        media = (ctype or "application/json").split(";")[0].strip().lower()
        if not body:
            return None, media
        if media in ("application/json", "application/merge-patch+json", "application/json-patch+json",
                     "application/strategic-merge-patch+json", "application/apply-patch+yaml",
                     "application/yaml", "*/*", ""):
            try:
                return json.loads(body), media
            except (ValueError, UnicodeDecodeError) as e:
                if media in ("application/apply-patch+yaml", "application/yaml"):
                    try:
                        import yaml
                        return yaml.safe_load(body), media
                    except ImportError:
                        raise errors.unsupported_media_type("YAML bodies need python3-yaml; send JSON")
                    except Exception as ye:
                        raise errors.bad_request("error decoding YAML: %s" % ye)
                raise errors.bad_request("couldn't get version/kind; json parse error: %s" % e)
        if media == "application/vnd.kubernetes.protobuf" and rt is not None:
            from . import protobuf
            try:
                return protobuf.decode(body, rt.kind), "application/json"
            except protobuf.ProtoError as e:
                raise errors.unsupported_media_type(
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json, application/yaml (kube-sim: %s)" % e)
        raise errors.unsupported_media_type('the body of the request was in an unknown format - accepted media '
                                            'types include: application/json, application/yaml')

    def _headers_for(self, ctx):
        if ctx.warnings:
            return {"Warning": ['299 - "%s"' % w.replace('"', '\\"') for w in ctx.warnings]}
        return None

    def _respond_obj(self, code, rt, obj, ctx=None, mode=None):
        o = self.sim.store.out(rt, obj)
        if mode is None:
            mode, _ = parse_accept(self.headers.get("Accept"))
        if mode == "Table":
            t = table.table(rt, [o], {"resourceVersion": o["metadata"].get("resourceVersion", "")},
                            self._include(), True)
            return self.send_json(code, t, headers=self._headers_for(ctx) if ctx else None)
        if mode == "PartialObjectMetadata":
            o = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
        return self.send_json(code, o, headers=self._headers_for(ctx) if ctx else None)

    def _include(self):
        return self._q.get("includeObject") or "Metadata"

    def resource(self, method, parts, q, body):
        rt, ns, name, sub, watch_prefix = self._resolve(parts)
        self._q = q
        store = self.sim.store
        if method in ("GET", "HEAD"):
            is_watch = watch_prefix or ("watch" in q and self._bool(q, "watch"))
            if is_watch:
                return self.watch(rt, ns, name, q)
            if name is None:
                return self.list(rt, ns, q)
            return self._respond_obj(200, rt, store.get(rt, ns, name))
        if method == "POST":
            if name is not None:
                raise errors.method_not_supported(rt.group, rt.plural, "create")
            ctx = self._ctx(q)
            obj, _ = self._decode(body, self.headers.get("Content-Type"), rt)
            if obj is None:
                raise errors.bad_request("the body of the request was empty")
            created = store.create(rt, ns, obj, ctx)
            return self._respond_obj(201, rt, created, ctx)
        if method == "PUT":
            if name is None:
                raise errors.method_not_supported(rt.group, rt.plural, "update")
            ctx = self._ctx(q)
            obj, _ = self._decode(body, self.headers.get("Content-Type"), rt)
            if obj is None:
                raise errors.bad_request("the body of the request was empty")
            res, created = store.update(rt, ns, name, obj, ctx, sub)
            return self._respond_obj(201 if created else 200, rt, res, ctx)
        if method == "PATCH":
            if name is None:
                raise errors.method_not_supported(rt.group, rt.plural, "patch")
            ctx = self._ctx(q)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            ptype = {"application/merge-patch+json": "merge", "application/json-patch+json": "json",
                     "application/strategic-merge-patch+json": "strategic",
                     "application/apply-patch+yaml": "apply", "application/apply-patch+cbor": None}.get(ctype)
            if ptype is None:
                raise errors.unsupported_media_type(
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                    + (", application/strategic-merge-patch+json" if rt.builtin else ""))
            if ptype == "apply" and not q.get("fieldManager"):
                raise errors.ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                      'Required value: is required for apply patch',
                                      {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                                          {"reason": "FieldValueRequired", "message": "Required value: is "
                                           "required for apply patch", "field": "fieldManager"}]})
            if ptype != "apply" and "force" in q:
                raise errors.ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                                      'may not be specified for non-apply patch')
            patch, _ = self._decode(body, ctype)
            if patch is None:
                raise errors.bad_request("the body of the request was empty")
            res, created = store.patch(rt, ns, name, ptype, patch, ctx, sub)
            return self._respond_obj(201 if created else 200, rt, res, ctx)
        if method == "DELETE":
            ctx = self._ctx(q)
            opts, _ = self._decode(body, self.headers.get("Content-Type"))
            opts = dict(opts or {})
            if "propagationPolicy" in q:
                opts["propagationPolicy"] = q["propagationPolicy"]
            if "gracePeriodSeconds" in q:
                opts["gracePeriodSeconds"] = _int(q["gracePeriodSeconds"], "gracePeriodSeconds")
            if "orphanDependents" in q:
                opts["orphanDependents"] = self._bool(q, "orphanDependents")
            if opts.get("dryRun") == ["All"]:
                ctx.dry_run = True
            if name is None:
                lsel = selectors.parse_label_selector(q.get("labelSelector"))
                fsel = selectors.parse_field_selector(q.get("fieldSelector"))
                selectors.check_fields(rt, fsel)
                items = store.delete_collection(rt, ns, lsel, fsel, opts, ctx)
                return self.send_json(200, {"kind": rt.list_kind, "apiVersion": rt.api_version,
                                            "metadata": {"resourceVersion": str(store.rv)},
                                            "items": [self._list_item(rt, o) for o in items]})
            obj, removed = store.delete(rt, ns, name, opts, ctx)
            if removed and not rt.return_deleted:
                return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                            "status": "Success",
                                            "details": {"name": name, "group": rt.group, "kind": rt.plural,
                                                        "uid": obj["metadata"]["uid"]}})
            return self._respond_obj(200, rt, obj, ctx, mode="json")
        raise errors.ApiError(405, "MethodNotAllowed", "method %s not allowed" % method)

    def _list_item(self, rt, o):
        if rt.crd_name:
            return self.sim.store.out(rt, o)
        return {k: v for k, v in o.items() if k not in ("apiVersion", "kind")}

    def _selectors(self, rt, q):
        lsel = selectors.parse_label_selector(q.get("labelSelector"))
        fsel = selectors.parse_field_selector(q.get("fieldSelector"))
        selectors.check_fields(rt, fsel)
        return lsel, fsel

    def list(self, rt, ns, q):
        lsel, fsel = self._selectors(rt, q)
        rv_match = q.get("resourceVersionMatch") or None
        rv = q.get("resourceVersion")
        if rv_match and rv_match not in ("Exact", "NotOlderThan"):
            raise errors.bad_request('resourceVersionMatch: Unsupported value: "%s": supported values: "Exact", '
                                     '"NotOlderThan"' % rv_match)
        if rv_match and not rv:
            raise errors.ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: '
                                  'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided')
        if rv_match and q.get("continue"):
            raise errors.ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: '
                                  'Forbidden: resourceVersionMatch is forbidden when continue is provided')
        limit = _int(q.get("limit") or "0", "limit")
        items, meta = self.sim.store.list(rt, ns, lsel, fsel, limit, q.get("continue") or None, rv, rv_match)
        mode, _ = parse_accept(self.headers.get("Accept"))
        if mode == "Table":
            return self.send_json(200, table.table(rt, [self.sim.store.out(rt, o) for o in items], meta,
                                                   self._include(), q.get("noHeaders") is None))
        if mode == "PartialObjectMetadata":
            return self.send_json(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                                        "metadata": meta, "items": [
                                            {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                             "metadata": o["metadata"]} for o in items]})
        return self.send_json(200, {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta,
                                    "items": [self._list_item(rt, o) for o in items]})

    # ------------------------------------------------------------ watch

    def watch(self, rt, ns, name, q):
        lsel, fsel = self._selectors(rt, q)
        if name is not None:
            fsel.reqs.append(("metadata.name", "=", name))
        bookmarks = "allowWatchBookmarks" in q and self._bool(q, "allowWatchBookmarks")
        initial = None
        if "sendInitialEvents" in q:
            initial = self._bool(q, "sendInitialEvents")
            if initial and q.get("resourceVersionMatch") != "NotOlderThan":
                raise errors.ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: '
                                      'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch '
                                      'unless resourceVersionMatch is set to NotOlderThan')
            if initial and not bookmarks:
                raise errors.ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: '
                                      'allowWatchBookmarks: Forbidden: allowWatchBookmarks must be set to true '
                                      'when sendInitialEvents is set')
        elif q.get("resourceVersionMatch"):
            raise errors.ApiError(422, "Invalid", 'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: '
                                  'Forbidden: resourceVersionMatch is forbidden for watch unless '
                                  'sendInitialEvents is provided')
        if q.get("timeoutSeconds"):
            timeout = float(_int(q["timeoutSeconds"], "timeoutSeconds"))
        else:
            timeout = random.uniform(1800, 3600)
        mode, _ = parse_accept(self.headers.get("Accept"))
        rv = q.get("resourceVersion")
        expire = self.sim.faults.take_expire()
        store = self.sim.store
        w = watch.start(store, rt, ns, lsel, fsel, rv, bookmarks, initial, expire)
        include = self._include()
        first = [True]

        def encode(kind, obj):
            if kind == "ERROR":
                o = obj
            elif kind == "BOOKMARK":
                rv_, ann = obj
                md = {"resourceVersion": str(rv_)}
                if ann:
                    md["annotations"] = ann
                o = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": md}
            else:
                o = store.out(rt, obj)
                if mode == "Table":
                    o = table.table(rt, [o], {"resourceVersion": o["metadata"].get("resourceVersion", "")},
                                    include, first[0])
                    first[0] = False
                elif mode == "PartialObjectMetadata":
                    o = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
            return (util.dumps({"type": kind, "object": o}) + "\n").encode()

        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            start = time.monotonic()
            deadline = start + timeout
            periodic = pre_deadline = None
            if bookmarks:
                periodic = start + self.sim.bookmark_interval
                if q.get("timeoutSeconds"):
                    pre_deadline = max(start + 0.05, deadline - 2)
            sock = self.connection
            done = False
            while not done:
                now = time.monotonic()
                if now >= deadline:
                    break
                due = False
                if periodic is not None and now >= periodic:
                    due, periodic = True, now + self.sim.bookmark_interval
                if pre_deadline is not None and now >= pre_deadline:
                    due, pre_deadline = True, None
                if due:
                    w.bookmark()
                wait = min(t for t in (deadline, periodic, pre_deadline) if t is not None) - now
                items = w.get_all(min(wait, 0.5))
                if not items:
                    if _peer_closed(sock):
                        self.close_connection = True
                        return
                    continue
                out = []
                for kind, obj in items:
                    if kind == "CLOSE":
                        done = True
                        break
                    out.append(encode(kind, obj))
                if out:
                    data = b"".join(out)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            watch.stop(store, w)


def _peer_closed(sock):
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        if hasattr(sock, "pending") and sock.pending():
            return False
        data = sock.recv(1, socket.MSG_PEEK) if not hasattr(sock, "context") else None
        return data == b""
    except (OSError, ValueError):
        return True


def _int(v, name):
    try:
        return int(v)
    except (TypeError, ValueError):
        raise errors.bad_request('%s: Invalid value: "%s": strconv.ParseInt: parsing "%s": invalid syntax'
                                 % (name, v, v))


def _manager_from_ua(ua):
    return (ua or "unknown").split("/", 1)[0] or "unknown"
