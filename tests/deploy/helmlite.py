"""A small renderer for the subset of Helm's Go-template language that charts/kong-cluster uses.

No Helm binary is reachable here, so the deploy tests render the chart with this module. It is
NOT Helm: it implements text/template's actions (`{{ }}` with `-` trimming, comments, `if` /
`else if` / `else`, `with`, `range` over lists and maps (maps in sorted key order, as Go does),
`define`, variables `$x := ...` and `$x = ...`, pipelines, parenthesised sub-expressions, field
chains on `.`, `$` and variables) and the Sprig/Helm functions listed in FUNCS. Anything else --
an unknown function, an unsupported action keyword, an unterminated block -- raises
TemplateError, so a chart change that leaves this subset fails loudly instead of rendering
something Helm would not.

Like Helm, numbers from values files are float64 (printed with Go's %v: 1000000 -> 1e+06), and
`toYaml` writes integral ones without a fraction, as sigs.k8s.io/yaml does.

Known differences from Helm, on purpose: `lookup` always returns an empty map (as `helm
template` does); `toYaml` uses PyYAML (block style, sorted keys, like sigs.k8s.io/yaml for the
plain maps and lists a values file holds); printing a map or list is an error (Go would print
`map[...]`); a missing key prints as an empty string (Helm replaces `<no value>` with "").
"""
import base64
import decimal
import json
import os
import random
import re
import string

import yaml


class TemplateError(Exception):
    pass


# --------------------------------------------------------------------------- lexing

ACTION = re.compile(r"\{\{(-?)(\s*)(.*?)(\s*)(-?)\}\}", re.S)


def lex(text, name):
    """Returns a list of ('text', str) and ('action', str) with Go's trim markers applied."""
    out = []
    pos = 0
    for m in ACTION.finditer(text):
        before = text[pos:m.start()]
        ltrim = m.group(1) == "-" and m.group(2) != ""
        rtrim = m.group(5) == "-" and m.group(4) != ""
        if m.group(1) == "-" and m.group(2) == "":
            raise TemplateError("%s: '{{-' must be followed by a space" % name)
        if ltrim:
            before = before.rstrip(" \t\r\n")
        if before:
            out.append(("text", before))
        body = m.group(3)
        if body.startswith("/*"):
            if not body.endswith("*/"):
                raise TemplateError("%s: unterminated comment" % name)
        else:
            out.append(("action", body))
        pos = m.end()
        if rtrim:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
    rest = text[pos:]
    if "{{" in rest:
        raise TemplateError("%s: unterminated action" % name)
    if rest:
        out.append(("text", rest))
    return out


# --------------------------------------------------------------------------- parsing

BLOCKS = ("if", "with", "range", "define")


def parse(tokens, name):
    """Builds a tree: lists of nodes; nodes are ('text', s), ('expr', s), ('if', [(cond, body)], else),
    ('with', pipe, body, else), ('range', vars, pipe, body, else), ('define', name, body)."""
    pos = 0

    def block(terminators):
        nonlocal pos
        nodes = []
        while pos < len(tokens):
            kind, val = tokens[pos]
            if kind == "text":
                nodes.append(("text", val))
                pos += 1
                continue
            word = val.split(None, 1)[0] if val.split() else ""
            if word in ("end", "else"):
                if word not in terminators:
                    raise TemplateError("%s: unexpected {{ %s }}" % (name, val))
                return nodes, val
            pos += 1
            rest = val[len(word):].strip()
            if word == "if":
                branches = []
                cond = rest
                while True:
                    body, term = block(("end", "else"))
                    branches.append((cond, body))
                    pos += 1
                    if term == "end":
                        nodes.append(("if", branches, None))
                        break
                    after = term[len("else"):].strip()
                    if after.startswith("if "):
                        cond = after[3:].strip()
                        continue
                    if after:
                        raise TemplateError("%s: unsupported {{ %s }}" % (name, term))
                    els, term2 = block(("end",))
                    pos += 1
                    nodes.append(("if", branches, els))
                    break
            elif word in ("with", "range"):
                body, term = block(("end", "else"))
                pos += 1
                els = None
                if term != "end":
                    if term.strip() != "else":
                        raise TemplateError("%s: unsupported {{ %s }}" % (name, term))
                    els, _ = block(("end",))
                    pos += 1
                if word == "with":
                    nodes.append(("with", rest, body, els))
                else:
                    m = re.match(r"^(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*(.*)$", rest, re.S)
                    if m:
                        nodes.append(("range", [v for v in (m.group(1), m.group(2)) if v], m.group(3), body, els))
                    else:
                        nodes.append(("range", [], rest, body, els))
            elif word == "define":
                m = re.match(r'^"([^"]+)"$', rest)
                if not m:
                    raise TemplateError("%s: bad define %r" % (name, rest))
                body, _ = block(("end",))
                pos += 1
                nodes.append(("define", m.group(1), body))
            elif word in ("template", "block", "break", "continue"):
                raise TemplateError("%s: {{ %s }} is outside the supported subset" % (name, word))
            else:
                nodes.append(("expr", val))
        if terminators:
            raise TemplateError("%s: missing {{ end }}" % name)
        return nodes, None

    tree, _ = block(())
    return tree


# --------------------------------------------------------------------------- expressions

TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(\()|(\))|(\|)|(:=|=(?!=))|([^\s()|]+))')


def tokenize(expr):
    toks = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise TemplateError("cannot parse %r" % expr)
        pos = m.end()
        if m.group(1):
            toks.append(("str", json.loads(m.group(1))))
        elif m.group(2):
            toks.append(("str", m.group(2)[1:-1]))
        elif m.group(3):
            toks.append(("(", None))
        elif m.group(4):
            toks.append((")", None))
        elif m.group(5):
            toks.append(("|", None))
        elif m.group(6):
            toks.append(("assign", m.group(6)))
        else:
            toks.append(("word", m.group(7)))
    return toks


def truthy(v):
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0
    if isinstance(v, (str, list, dict, tuple)):
        return len(v) > 0
    return True


class APIVersions:
    def __init__(self, versions):
        self.versions = set(versions)

    def Has(self, v):  # noqa: N802 (Go method name)
        return v in self.versions


def go_str(v):
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, (dict, list)):
        raise TemplateError("printing a %s is outside the supported subset: %r" % (type(v).__name__, v))
    return str(v)


def go_float(f):
    """fmt's %v for a float64: the shortest round-trip digits (Python's repr finds the same ones),
    in exponent form when the decimal exponent is < -4 or >= 6 -- so Helm prints a values-file
    1000000 as 1e+06 unless the template converts it with `int`."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if f < 0 or (f == 0 and str(f).startswith("-")) else ""
    if f == 0:
        return sign + "0"
    _, digit_tuple, exponent = decimal.Decimal(repr(abs(f))).as_tuple()
    digits = "".join(map(str, digit_tuple))
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    nd = len(digits)
    dp = nd + exponent  # digits before the decimal point
    exp10 = dp - 1
    if exp10 < -4 or exp10 >= 6:
        mant = digits[0] + ("." + digits[1:] if nd > 1 else "")
        return "%s%se%s%02d" % (sign, mant, "-" if exp10 < 0 else "+", abs(exp10))
    if dp <= 0:
        return sign + "0." + "0" * (-dp) + digits
    if dp >= nd:
        return sign + digits + "0" * (dp - nd)
    return sign + digits[:dp] + "." + digits[dp:]


def _json_numbers(v):
    """sigs.k8s.io/yaml writes float64 through JSON: integral values print without a fraction."""
    if isinstance(v, dict):
        return {k: _json_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_numbers(x) for x in v]
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    return v


def helm_numbers(v):
    """Helm reads values files through JSON, so every number is a float64."""
    if isinstance(v, dict):
        return {k: helm_numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [helm_numbers(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def to_yaml(v):
    if v is None:
        return "null"
    return yaml.safe_dump(_json_numbers(v), default_flow_style=False, sort_keys=True).rstrip("\n")


def go_quote(v):
    return json.dumps(go_str(v))


def printf(fmt, *args):
    out = []
    args = list(args)
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%" and i + 1 < len(fmt):
            verb = fmt[i + 1]
            i += 2
            if verb == "%":
                out.append("%")
                continue
            if not args:
                raise TemplateError("printf %r: missing argument" % fmt)
            a = args.pop(0)
            if verb in "sv":
                out.append(go_str(a))
            elif verb == "d":
                if not isinstance(a, int) or isinstance(a, bool):
                    raise TemplateError("printf %%d of %r: Go prints %%!d(...); convert with int first" % (a,))
                out.append(str(a))
            elif verb == "q":
                out.append(go_quote(a))
            else:
                raise TemplateError("printf verb %%%s unsupported" % verb)
            continue
        out.append(c)
        i += 1
    if args:
        raise TemplateError("printf %r: extra arguments" % fmt)
    return "".join(out)


class Fail(TemplateError):
    pass


def _fail(msg):
    raise Fail(msg)


def _required(msg, v):
    if not truthy(v):
        raise Fail(msg)
    return v


def _int(v):
    if v is None or v == "":
        return 0
    return int(v)


def _eq(a, *bs):
    return any(a == b for b in bs)


def _default(d, *v):
    if not v:
        return d
    return v[0] if truthy(v[0]) else d


def _b64dec(s):
    return base64.b64decode(go_str(s)).decode("latin-1")


def _rand_alnum(n):
    alphabet = string.ascii_letters + string.digits
    return "".join(random.SystemRandom().choice(alphabet) for _ in range(int(n)))


FUNCS = {
    "toYaml": to_yaml,
    "nindent": lambda n, s: "\n" + "\n".join((" " * int(n) + ln) if ln else ln for ln in go_str(s).split("\n")),
    "indent": lambda n, s: "\n".join((" " * int(n) + ln) if ln else ln for ln in go_str(s).split("\n")),
    "quote": lambda *v: " ".join(go_quote(x) for x in v),
    "squote": lambda *v: " ".join("'%s'" % go_str(x) for x in v),
    "default": _default,
    "printf": printf,
    "trunc": lambda n, s: go_str(s)[:int(n)],
    "trimSuffix": lambda suf, s: go_str(s)[:-len(suf)] if suf and go_str(s).endswith(suf) else go_str(s),
    "trimPrefix": lambda pre, s: go_str(s)[len(pre):] if pre and go_str(s).startswith(pre) else go_str(s),
    "replace": lambda old, new, s: go_str(s).replace(old, new),
    "contains": lambda sub, s: sub in go_str(s),
    "join": lambda sep, l: sep.join(go_str(x) for x in (l or [])),
    "list": lambda *v: list(v),
    "append": lambda l, v: list(l or []) + [v],
    "has": lambda v, l: v in (l or []),
    "len": lambda v: len(v or []),
    "index": lambda m, *keys: _index(m, keys),
    "eq": _eq,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "not": lambda v: not truthy(v),
    "and": lambda *v: next((x for x in v if not truthy(x)), v[-1]),
    "or": lambda *v: next((x for x in v if truthy(x)), v[-1]),
    "int": _int,
    "toString": go_str,
    "ternary": lambda a, b, c: a if truthy(c) else b,
    "fail": _fail,
    "required": _required,
    "b64enc": lambda s: base64.b64encode(go_str(s).encode("latin-1")).decode(),
    "b64dec": _b64dec,
    "randAlphaNum": _rand_alnum,
    "randBytes": lambda n: base64.b64encode(os.urandom(int(n))).decode(),
    "lookup": lambda *a: {},
}


def _index(m, keys):
    for k in keys:
        if m is None:
            return None
        m = m[k] if isinstance(m, list) else m.get(k)
    return m


# --------------------------------------------------------------------------- evaluation

class Renderer:
    def __init__(self, chart_dir, values, release_name, namespace, api_versions=(), overrides=None):
        self.chart_dir = chart_dir
        with open(os.path.join(chart_dir, "Chart.yaml")) as f:
            chart = yaml.safe_load(f)
        self.values = values
        self.root = {
            "Values": values,
            "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart.get("appVersion", "")},
            "Release": {"Name": release_name, "Namespace": namespace, "Service": "Helm", "IsInstall": True,
                        "IsUpgrade": False, "Revision": 1},
            "Capabilities": {"APIVersions": APIVersions(api_versions),
                             "KubeVersion": {"Version": "v1.32.4", "Major": "1", "Minor": "32"}},
            "Template": {"BasePath": "kong-cluster/templates"},
        }
        self.defines = {}
        self.files = {}
        tdir = os.path.join(chart_dir, "templates")
        for fn in sorted(os.listdir(tdir)):
            path = os.path.join(tdir, fn)
            with open(path) as f:
                tree = parse(lex(f.read(), fn), fn)
            self.files[fn] = tree
            for node in tree:
                if node[0] == "define":
                    self.defines[node[1]] = node[2]

    # -- public

    def render(self):
        """Returns {template file name: rendered text} for every file not starting with '_'."""
        out = {}
        for fn, tree in self.files.items():
            if fn.startswith("_"):
                continue
            out[fn] = self.exec(tree, self.root, [{"$": self.root}], fn)
        return out

    def objects(self):
        """Every rendered YAML object (NOTES.txt excluded), as Helm would send them."""
        objs = []
        for fn, text in self.render().items():
            if not fn.endswith((".yaml", ".yml")):
                continue
            for doc in yaml.safe_load_all(text):
                if doc:
                    objs.append(doc)
        return objs

    # -- tree execution

    def exec(self, nodes, dot, scope, where):
        out = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "define":
                continue
            elif kind == "expr":
                v = self.eval_action(node[1], dot, scope, where)
                if v is not _NOPRINT:
                    out.append(go_str(v))
            elif kind == "if":
                for cond, body in node[1]:
                    if truthy(self.eval_pipe(cond, dot, scope, where)):
                        out.append(self.exec(body, dot, scope + [{}], where))
                        break
                else:
                    if node[2] is not None:
                        out.append(self.exec(node[2], dot, scope + [{}], where))
            elif kind == "with":
                v = self.eval_pipe(node[1], dot, scope, where)
                if truthy(v):
                    out.append(self.exec(node[2], v, scope + [{}], where))
                elif node[3] is not None:
                    out.append(self.exec(node[3], dot, scope + [{}], where))
            elif kind == "range":
                vars_, pipe, body, els = node[1], node[2], node[3], node[4]
                coll = self.eval_pipe(pipe, dot, scope, where)
                if isinstance(coll, dict):
                    items = sorted(coll.items())
                elif isinstance(coll, (list, tuple)):
                    items = list(enumerate(coll))
                elif coll is None:
                    items = []
                else:
                    raise TemplateError("%s: range over %r" % (where, coll))
                if not items and els is not None:
                    out.append(self.exec(els, dot, scope + [{}], where))
                for k, v in items:
                    frame = {}
                    if len(vars_) == 1:
                        frame[vars_[0]] = v
                    elif len(vars_) == 2:
                        frame[vars_[0]], frame[vars_[1]] = k, v
                    out.append(self.exec(body, v, scope + [frame], where))
        return "".join(out)

    def eval_action(self, text, dot, scope, where):
        toks = tokenize(text)
        if len(toks) >= 2 and toks[0][0] == "word" and toks[0][1].startswith("$") and toks[1][0] == "assign":
            name, op = toks[0][1], toks[1][1]
            value = self._pipe(toks[2:], dot, scope, where)
            if op == ":=":
                scope[-1][name] = value
            else:  # '=' assigns where the variable was declared (Go semantics)
                frame = _find(scope, name)
                if frame is None:
                    raise TemplateError("%s: assignment to undeclared %s" % (where, name))
                frame[name] = value
            return _NOPRINT
        return self._pipe(toks, dot, scope, where)

    def eval_pipe(self, text, dot, scope, where):
        return self._pipe(tokenize(text), dot, scope, where)

    def _pipe(self, toks, dot, scope, where):
        # split on top-level '|'
        cmds, depth, cur = [], 0, []
        for t in toks:
            if t[0] == "(":
                depth += 1
            elif t[0] == ")":
                depth -= 1
            if t[0] == "|" and depth == 0:
                cmds.append(cur)
                cur = []
            else:
                cur.append(t)
        cmds.append(cur)
        value = _NOARG
        for cmd in cmds:
            value = self._command(cmd, dot, scope, where, value)
        return value

    def _args(self, toks, dot, scope, where):
        args, i = [], 0
        while i < len(toks):
            t = toks[i]
            if t[0] == "(":
                depth, j = 1, i + 1
                while depth:
                    if j >= len(toks):
                        raise TemplateError("%s: unbalanced parentheses" % where)
                    depth += {"(": 1, ")": -1}.get(toks[j][0], 0)
                    j += 1
                args.append(("value", self._pipe(toks[i + 1:j - 1], dot, scope, where)))
                i = j
                continue
            if t[0] == "str":
                args.append(("value", t[1]))
            elif t[0] == "word":
                args.append(("word", t[1]))
            else:
                raise TemplateError("%s: unexpected %r" % (where, t))
            i += 1
        return args

    def _command(self, toks, dot, scope, where, piped):
        args = self._args(toks, dot, scope, where)
        if not args:
            raise TemplateError("%s: empty command" % where)
        head_kind, head = args[0]
        rest = [self._operand(a, dot, scope, where) for a in args[1:]]
        if piped is not _NOARG:
            rest.append(piped)
        if head_kind == "word" and head == "include":
            name, ctx = rest
            if name not in self.defines:
                raise TemplateError("%s: include of undefined template %r" % (where, name))
            return self.exec(self.defines[name], ctx, [{"$": ctx}], "define " + name)
        if head_kind == "word" and head in FUNCS:
            try:
                return FUNCS[head](*rest)
            except Fail:
                raise
            except TemplateError:
                raise
            except Exception as e:  # wrong arity or types: report where
                raise TemplateError("%s: %s %r: %s" % (where, head, rest, e))
        if head_kind == "word" and re.match(r"^[A-Za-z_]\w*$", head) and head not in ("true", "false", "nil"):
            raise TemplateError("%s: function %r is outside the supported subset" % (where, head))
        value = self._operand(args[0], dot, scope, where)
        if callable(value):
            return value(*rest)
        if rest:
            raise TemplateError("%s: %r is not a function" % (where, head))
        return value

    def _operand(self, arg, dot, scope, where):
        kind, v = arg
        if kind == "value":
            return v
        if v == "true":
            return True
        if v == "false":
            return False
        if v == "nil":
            return None
        if re.match(r"^-?\d+$", v):
            return int(v)
        if re.match(r"^-?\d+\.\d+$", v):
            return float(v)
        if v == ".":
            return dot
        if v.startswith("."):
            return self._fields(dot, v[1:].split("."), where, v)
        if v.startswith("$"):
            name, _, path = v.partition(".")
            frame = _find(scope, name)
            if frame is None:
                raise TemplateError("%s: undefined variable %s" % (where, name))
            base = frame[name]
            return self._fields(base, path.split("."), where, v) if path else base
        if v in FUNCS or v == "include":
            raise TemplateError("%s: function %s used as a value" % (where, v))
        raise TemplateError("%s: cannot evaluate %r" % (where, v))

    def _fields(self, base, parts, where, expr):
        cur = base
        for p in parts:
            if cur is None:
                return None
            if isinstance(cur, dict):
                cur = cur.get(p)
            elif hasattr(cur, p):
                cur = getattr(cur, p)
            else:
                raise TemplateError("%s: cannot read .%s of %r in %s" % (where, p, cur, expr))
        return cur


def _find(scope, name):
    for frame in reversed(scope):
        if name in frame:
            return frame
    return None


_NOPRINT = object()
_NOARG = object()


def deep_merge(base, over):
    """Helm's values merge: maps merge recursively, anything else replaces."""
    out = dict(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def render_chart(chart_dir, release="kong-cluster", namespace="kong-cluster", set_values=None, api_versions=()):
    with open(os.path.join(chart_dir, "values.yaml")) as f:
        values = yaml.safe_load(f)
    values = helm_numbers(deep_merge(values, set_values or {}))
    return Renderer(chart_dir, values, release, namespace, api_versions)
