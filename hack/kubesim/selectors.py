"""Label selectors (k8s.io/apimachinery/pkg/labels) and field selectors (pkg/fields)."""
import re

from . import errors

_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_KEY_RE = re.compile("^" + _KEY + "$")


class LabelSelector:
    def __init__(self, reqs):
        self.reqs = reqs  # list of (key, op, values)

    def empty(self):
        return not self.reqs

    def matches(self, labels):
        labels = labels or {}
        for key, op, values in self.reqs:
            has = key in labels
            v = labels.get(key)
            if op in ("=", "==", "in"):
                if not has or v not in values:
                    return False
            elif op in ("!=", "notin"):
                if has and v in values:
                    return False
            elif op == "exists":
                if not has:
                    return False
            elif op == "!":
                if has:
                    return False
            elif op in (">", "<"):
                if not has:
                    return False
                try:
                    lv, rv = int(v), int(values[0])
                except ValueError:
                    return False
                if (op == ">" and not lv > rv) or (op == "<" and not lv < rv):
                    return False
        return True


def _split_top(s):
    out, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _bad_label(msg):
    return errors.bad_request("unable to parse requirement: %s" % msg)


def parse_label_selector(s):
    s = (s or "").strip()
    if not s:
        return LabelSelector([])
    reqs = []
    for part in _split_top(s):
        part = part.strip()
        if not part:
            raise _bad_label("found '', expected: identifier")
        m = re.match(r"^(!?)\s*(" + _KEY + r")\s*$", part)
        if m:
            reqs.append((m.group(2), "!" if m.group(1) else "exists", []))
            continue
        m = re.match(r"^(" + _KEY + r")\s+(in|notin)\s*\((.*)\)\s*$", part)
        if m:
            vals = [v.strip() for v in m.group(3).split(",")]
            reqs.append((m.group(1), m.group(2), vals))
            continue
        m = re.match(r"^(" + _KEY + r")\s*(==|!=|=|>|<)\s*(.*)$", part)
        if m:
            val = m.group(3).strip()
            if val and not re.match(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", val):
                raise _bad_label('values[0][%s]: Invalid value: "%s": a valid label must be an empty string or '
                                 "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                                 "with an alphanumeric character" % (m.group(1), val))
            reqs.append((m.group(1), m.group(2), [val]))
            continue
        raise _bad_label("found '%s', expected: !, identifier, or 'end of string'" % part)
    return LabelSelector(reqs)


class FieldSelector:
    def __init__(self, reqs, text):
        self.reqs = reqs  # (field, op, value)
        self.text = text

    def empty(self):
        return not self.reqs

    def fields(self):
        return [r[0] for r in self.reqs]

    def matches(self, rt, obj):
        for field, op, value in self.reqs:
            v = rt.field_value(obj, field)
            if v is None:
                return False
            if op in ("=", "==") and v != value:
                return False
            if op == "!=" and v == value:
                return False
        return True


def _unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _split_unescaped(s, sep):
    out, cur, i = [], [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if s[i] == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(s[i])
        i += 1
    out.append("".join(cur))
    return out


def parse_field_selector(s):
    s = (s or "").strip()
    if not s:
        return FieldSelector([], "")
    reqs = []
    for part in _split_unescaped(s, ","):
        if not part:
            continue
        m = re.match(r"^(.*?)(==|!=|=)(.*)$", part)
        if not m:
            raise errors.bad_request("invalid selector: '%s'; can't understand '%s'" % (s, part))
        reqs.append((m.group(1).strip(), m.group(2), _unescape(m.group(3))))
    return FieldSelector(reqs, s)


def check_fields(rt, sel):
    """400 for a field that the resource type cannot select on."""
    for f in sel.fields():
        if f in ("metadata.name",) or (f == "metadata.namespace" and rt.namespaced) or f in rt.fields:
            continue
        raise errors.bad_request("field label not supported: %s" % f)


def match_label_selector_obj(sel_obj, labels):
    """metav1.LabelSelector object (matchLabels/matchExpressions) against labels."""
    labels = labels or {}
    for k, v in (sel_obj.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel_obj.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and k in labels and labels[k] in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True
