"""Errors an API answers with, as RFC 9457 problem documents.

Every error is raised before anything is written, or the write that failed
was the only one: a request never leaves a partial write behind.
"""


class ApiError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(self, detail=None, errors=None, headers=None, extra=None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    def problem(self):
        body = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(ApiError):
    status, title = 400, "Bad Request"


class Unauthorized(ApiError):
    status, title = 401, "Unauthorized"

    def __init__(self, detail=None):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="five-party-linkage"'})


class Forbidden(ApiError):
    status, title = 403, "Forbidden"


class TooManyRequests(ApiError):
    status, title = 429, "Too Many Requests"


class NotFound(ApiError):
    status, title = 404, "Not Found"


class MethodNotAllowed(ApiError):
    status, title = 405, "Method Not Allowed"


class Conflict(ApiError):
    status, title = 409, "Conflict"


class PayloadTooLarge(ApiError):
    status, title = 413, "Payload Too Large"


class UnsupportedMediaType(ApiError):
    status, title = 415, "Unsupported Media Type"


class ValidationFailed(ApiError):
    status, title = 422, "Unprocessable Entity"

    @classmethod
    def from_messages(cls, messages, more=()):
        """marshmallow's messages, plus `more` errors found outside the body
        (headers): one answer names every bad field."""
        errors = [{"field": path, "reason": reason} for path, reason in flatten(messages)]
        return cls.from_errors(errors + list(more))

    @classmethod
    def from_errors(cls, errors):
        names = ", ".join(error["field"] for error in errors)
        return cls("invalid fields: %s" % names, errors=errors)


class ServiceUnavailable(ApiError):
    status, title = 503, "Service Unavailable"


def flatten(messages, prefix=""):
    """marshmallow's nested error dict as (dotted.field, reason) pairs."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema":
                # marshmallow's key for the object itself (e.g. a string
                # where an object belongs): the error is the object's.
                name = prefix or "_body"
            else:
                name = "%s.%s" % (prefix, key) if prefix else str(key)
            yield from flatten(value, name)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (dict, list, tuple)):
                yield from flatten(item, prefix)
            else:
                yield prefix or "_body", str(item)
    else:
        yield prefix or "_body", str(messages)
