"""Kubernetes Status objects, shaped like the ones kube-apiserver sends."""

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_obj(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason, "code": code}
    if details:
        st["details"] = details
    return st


class ApiError(Exception):
    """An error answered to the client as a Status object."""

    def __init__(self, code, message, reason=None, details=None, headers=None, meta=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason if reason is not None else REASONS.get(code, "")
        self.details = details
        self.headers = headers or {}
        self.meta = meta

    def status(self):
        st = status_obj(self.code, self.reason, self.message, self.details)
        if self.meta:
            st["metadata"] = self.meta
        return st


def qualified(res):
    """'secrets' or 'deployments.apps' as kube-apiserver names a group resource."""
    return res.plural + ("." + res.group if res.group else "")


def _details(res, name, kind=None):
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = kind if kind is not None else res.plural
    return d


def not_found(res, name):
    return ApiError(404, '%s "%s" not found' % (qualified(res), name), "NotFound",
                    _details(res, name))


def already_exists(res, name):
    return ApiError(409, '%s "%s" already exists' % (qualified(res), name), "AlreadyExists",
                    _details(res, name))


def conflict(res, name, why=None):
    why = why or ("the object has been modified; please apply your changes to the latest "
                  "version and try again")
    return ApiError(409, 'Operation cannot be fulfilled on %s "%s": %s' % (qualified(res), name, why),
                    "Conflict", _details(res, name))


class FieldError:
    """One field.ErrorList entry: type is Invalid, Required, Forbidden, TooLong, NotSupported..."""

    def __init__(self, field, etype, value=None, detail=""):
        self.field = field
        self.etype = etype
        self.value = value
        self.detail = detail

    def text(self):
        import json
        if self.etype == "Invalid":
            if isinstance(self.value, str):
                v = json.dumps(self.value)
            else:
                v = json.dumps(self.value, separators=(",", ":"))
            s = "%s: Invalid value: %s" % (self.field, v)
        elif self.etype == "Required":
            s = "%s: Required value" % self.field
        elif self.etype == "Forbidden":
            s = "%s: Forbidden" % self.field
        elif self.etype == "TooLong":
            s = "%s: Too long" % self.field
        elif self.etype == "Duplicate":
            s = "%s: Duplicate value: %s" % (self.field, json.dumps(self.value))
        elif self.etype == "NotSupported":
            s = "%s: Unsupported value: %s" % (self.field, json.dumps(self.value))
        else:
            s = "%s: %s" % (self.field, self.etype)
        if self.detail:
            s += ": " + self.detail
        return s

    def cause(self):
        return {"reason": "Field" + {"Invalid": "ValueInvalid", "Required": "ValueRequired",
                                     "Forbidden": "ValueForbidden", "TooLong": "ValueTooLong",
                                     "Duplicate": "ValueDuplicate",
                                     "NotSupported": "ValueNotSupported"}.get(self.etype, self.etype),
                "message": self.text()[len(self.field) + 2:], "field": self.field}


def invalid(res, name, errs):
    """422 Invalid, message like: Secret "x" is invalid: data: Too long: must have at most ..."""
    texts = [e.text() for e in errs]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    d = _details(res, name, kind=res.kind)
    d["causes"] = [e.cause() for e in errs]
    return ApiError(422, '%s "%s" is invalid: %s' % (res.kind, name, joined), "Invalid", d)


def bad_request(message):
    return ApiError(400, message, "BadRequest")


def method_not_allowed():
    return ApiError(405, "the server does not allow this method on the requested resource",
                    "MethodNotAllowed")


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def path_not_found():
    return ApiError(404, "the server could not find the requested resource", "NotFound",
                    {})
