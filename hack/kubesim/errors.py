"""ApiError and Status bodies with upstream's reasons and messages (k8s.io/apimachinery/pkg/api/errors)."""


def group_resource(group, resource):
    return "%s.%s" % (resource, group) if group else resource


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message}
        if self.reason:
            s["reason"] = self.reason
        if self.details:
            s["details"] = self.details
        s["code"] = self.code
        return s


def _details(group, resource, name=None, **extra):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if resource:
        d["kind"] = resource
    d.update(extra)
    return d


def not_found(group, resource, name):
    gr = group_resource(group, resource)
    msg = '%s "%s" not found' % (gr, name) if name else "%s not found" % gr
    return ApiError(404, "NotFound", msg, _details(group, resource, name))


def not_found_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource",
                    {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})


def already_exists(group, resource, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (group_resource(group, resource), name),
                    _details(group, resource, name))


CONFLICT_WHY = "the object has been modified; please apply your changes to the latest version and try again"


def conflict(group, resource, name, why=CONFLICT_WHY):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (group_resource(group, resource), name, why), _details(group, resource, name))


def invalid(group, kind, name, causes):
    """causes: list of (field, type, detail, value-or-None). type e.g. 'Invalid value', 'Required value'."""
    parts = []
    out = []
    reasons = {"Invalid value": "FieldValueInvalid", "Required value": "FieldValueRequired",
               "Forbidden": "FieldValueForbidden", "Unsupported value": "FieldValueNotSupported",
               "Duplicate value": "FieldValueDuplicate", "Too long": "FieldValueTooLong"}
    for field, typ, detail, value in causes:
        if typ == "Invalid value":
            text = "%s: %s: %s: %s" % (field, typ, _go_value(value), detail)
        elif detail:
            text = "%s: %s: %s" % (field, typ, detail)
        else:
            text = "%s: %s" % (field, typ)
        parts.append(text)
        msg = "%s: %s" % (typ, _go_value(value)) if typ == "Invalid value" else typ
        if detail:
            msg = msg + ": " + detail
        out.append({"reason": reasons.get(typ, "FieldValueInvalid"), "message": msg, "field": field})
    gk = "%s.%s" % (kind, group) if group else kind
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (gk, name, joined),
                    {"name": name, "group": group, "kind": kind, "causes": out} if group else
                    {"name": name, "kind": kind, "causes": out})


def _go_value(v):
    if isinstance(v, str):
        return '"%s"' % v
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def bad_request(message, causes=None):
    return ApiError(400, "BadRequest", message, {"causes": causes} if causes else None)


def unsupported_media_type(message):
    return ApiError(415, "UnsupportedMediaType", message)


def not_acceptable(message):
    return ApiError(406, "NotAcceptable", message)


def method_not_supported(group, resource, verb):
    return ApiError(405, "MethodNotAllowed", "%s is not supported on resources of kind %s"
                    % (verb, '"%s"' % group_resource(group, resource)), _details(group, resource))


def expired(message):
    return ApiError(410, "Expired", message)


def resource_expired_watch(requested, oldest):
    return expired("too old resource version: %s (%s)" % (requested, oldest))


def internal_error(message):
    return ApiError(500, "InternalError", "Internal error occurred: %s" % message,
                    {"causes": [{"message": message}]})


def too_many_requests(retry_after=1):
    return ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                    {"retryAfterSeconds": retry_after}, {"Retry-After": str(retry_after)})


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(group, resource, name, why):
    return ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' % (group_resource(group, resource), name, why),
                    _details(group, resource, name))


def timeout(message, retry_after=1, causes=None):
    d = {"retryAfterSeconds": retry_after}
    if causes:
        d = {"causes": causes, "retryAfterSeconds": retry_after}
    return ApiError(504, "Timeout", message, d)


def unprocessable(message):
    return ApiError(422, "Invalid", message)


def generic(code, message, reason=None):
    reasons = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               409: "Conflict", 410: "Gone", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
               500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
    return ApiError(code, reason or reasons.get(code, "Unknown"), message)
