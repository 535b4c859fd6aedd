"""Small helpers: timestamps in the formats the API uses, JSON, uids."""
import copy
import datetime
import json
import uuid


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t=None):
    """metav1.Time: RFC 3339 with second precision, UTC 'Z'."""
    t = t or now()
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t=None):
    """metav1.MicroTime: 2006-01-02T15:04:05.000000Z07:00, normalised to UTC."""
    t = t or now()
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s):
    """Parses RFC 3339 (with or without fraction, 'Z' or an offset). Returns None if invalid."""
    if not isinstance(s, str) or not s:
        return None
    v = s.strip()
    if v.endswith("Z") or v.endswith("z"):
        v = v[:-1] + "+00:00"
    # Python 3.11 fromisoformat handles fractions of any length and offsets.
    try:
        t = datetime.datetime.fromisoformat(v)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t


def normalize_micro_time(s):
    t = parse_time(s)
    return micro_time(t) if t else s


def new_uid():
    return str(uuid.uuid4())


def dumps(obj):
    """Compact JSON like Go's encoder (no spaces)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def deepcopy(obj):
    return copy.deepcopy(obj)


def human_duration(seconds):
    """apimachinery duration.HumanDuration."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    s = int(seconds)
    if s < 60 * 2:
        return "%ds" % s
    m = s // 60
    if m < 10:
        rem = s % 60
        return "%dm" % m if rem == 0 else "%dm%ds" % (m, rem)
    if m < 60 * 3:
        return "%dm" % m
    h = s // 3600
    if h < 8:
        rm = (s % 3600) // 60
        return "%dh" % h if rm == 0 else "%dh%dm" % (h, rm)
    if h < 48:
        return "%dh" % h
    if h < 24 * 8:
        rh = h % 24
        return "%dd" % (h // 24) if rh == 0 else "%dd%dh" % (h // 24, rh)
    if h < 24 * 365 * 2:
        return "%dd" % (h // 24)
    if h < 24 * 365 * 8:
        dy = (h // 24) % 365
        return "%dy" % (h // 24 // 365) if dy == 0 else "%dy%dd" % (h // 24 // 365, dy)
    return "%dy" % (h // 24 // 365)


def age(timestamp):
    t = parse_time(timestamp)
    if t is None:
        return "<unknown>"
    return human_duration((now() - t).total_seconds())


def meta(obj):
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = {}
        obj["metadata"] = m
    return m


def parse_bool(v):
    """strconv.ParseBool as used for query parameters."""
    if v is None:
        return False
    if v in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if v in ("0", "f", "F", "FALSE", "false", "False", ""):
        return False
    raise ValueError(v)
