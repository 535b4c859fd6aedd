"""The JSONPath subset used by CRD additionalPrinterColumns and selectableFields:
.a.b  ['k']  [0]  [-1]  [*]  .*  ..name  [?(@.x.y=="v")]  [?(@.x)]  [?(@.n>1)]"""
import json
import re


class JSONPathError(ValueError):
    pass


def _parse(expr):
    s = expr.strip()
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1]
    if s.startswith("$"):
        s = s[1:]
    steps, i = [], 0
    while i < len(s):
        c = s[i]
        if s.startswith("..", i):
            m = re.match(r"[A-Za-z0-9_\-]+", s[i + 2:])
            if not m:
                raise JSONPathError("bad recursive descent in %r" % expr)
            steps.append(("recurse", m.group(0)))
            i += 2 + len(m.group(0))
        elif c == ".":
            if s.startswith(".*", i):
                steps.append(("wild", None))
                i += 2
                continue
            m = re.match(r"[A-Za-z0-9_\-/]+", s[i + 1:])
            if not m:
                if i + 1 == len(s):
                    i += 1
                    continue
                raise JSONPathError("bad field at %d in %r" % (i, expr))
            steps.append(("field", m.group(0)))
            i += 1 + len(m.group(0))
        elif c == "[":
            j = _close(s, i)
            inner = s[i + 1:j].strip()
            i = j + 1
            if inner == "*":
                steps.append(("wild", None))
            elif inner.startswith("?(") and inner.endswith(")"):
                steps.append(("filter", _parse_filter(inner[2:-1].strip())))
            elif (inner[:1] in "'\"") and inner[-1:] == inner[:1]:
                steps.append(("field", inner[1:-1]))
            elif re.match(r"^-?\d*:-?\d*$", inner):
                a, b = inner.split(":")
                steps.append(("slice", (int(a) if a else None, int(b) if b else None)))
            elif re.match(r"^-?\d+$", inner):
                steps.append(("index", int(inner)))
            else:
                raise JSONPathError("unsupported subscript [%s]" % inner)
        else:
            m = re.match(r"[A-Za-z0-9_\-]+", s[i:])
            if not m:
                raise JSONPathError("unexpected %r in %r" % (c, expr))
            steps.append(("field", m.group(0)))
            i += len(m.group(0))
    return steps


def _close(s, i):
    depth, q = 0, None
    for j in range(i, len(s)):
        c = s[j]
        if q:
            if c == q:
                q = None
            continue
        if c in "'\"":
            q = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError("unclosed [ in %r" % s)


def _parse_filter(f):
    m = re.match(r"^@((?:\.[A-Za-z0-9_\-/]+|\['[^']*'\])+)\s*(==|!=|<=|>=|<|>)\s*(.+)$", f)
    if m:
        lit = m.group(3).strip()
        if lit[:1] in "'\"":
            val = lit[1:-1]
        else:
            try:
                val = json.loads(lit)
            except ValueError:
                val = lit
        return (_parse(m.group(1)), m.group(2), val)
    m = re.match(r"^@((?:\.[A-Za-z0-9_\-/]+)+)$", f)
    if m:
        return (_parse(m.group(1)), "exists", None)
    raise JSONPathError("unsupported filter %r" % f)


def _recurse(node, name, out):
    if isinstance(node, dict):
        if name in node:
            out.append(node[name])
        for v in node.values():
            _recurse(v, name, out)
    elif isinstance(node, list):
        for v in node:
            _recurse(v, name, out)


def _apply(steps, nodes):
    for kind, arg in steps:
        nxt = []
        for n in nodes:
            if kind == "field":
                if isinstance(n, dict) and arg in n:
                    nxt.append(n[arg])
            elif kind == "index":
                if isinstance(n, list) and -len(n) <= arg < len(n):
                    nxt.append(n[arg])
            elif kind == "slice":
                if isinstance(n, list):
                    nxt.extend(n[arg[0]:arg[1]])
            elif kind == "wild":
                if isinstance(n, list):
                    nxt.extend(n)
                elif isinstance(n, dict):
                    nxt.extend(n.values())
            elif kind == "recurse":
                _recurse(n, arg, nxt)
            elif kind == "filter":
                sub, op, val = arg
                items = n if isinstance(n, list) else [n]
                for it in items:
                    got = _apply(sub, [it])
                    if op == "exists":
                        if got:
                            nxt.append(it)
                        continue
                    if not got:
                        continue
                    g = got[0]
                    try:
                        ok = {"==": g == val, "!=": g != val, "<": g < val, ">": g > val,
                              "<=": g <= val, ">=": g >= val}[op]
                    except TypeError:
                        ok = False
                    if ok:
                        nxt.append(it)
        nodes = nxt
    return nodes


_cache = {}


def find(expr, obj):
    """All values the expression selects (an empty list when a key is missing)."""
    steps = _cache.get(expr)
    if steps is None:
        steps = _parse(expr)
        _cache[expr] = steps
    return _apply(steps, [obj])


def validate(expr):
    _parse(expr)


def text(values):
    """jsonpath text printing: strings as is, everything else as JSON, joined by spaces."""
    out = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, bool):
            out.append("true" if v else "false")
        elif v is None:
            out.append("<nil>")
        elif isinstance(v, (dict, list)):
            out.append(json.dumps(v, separators=(",", ":")))
        else:
            out.append(str(v))
    return " ".join(out)
