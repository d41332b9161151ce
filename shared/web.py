"""The HTTP API entrypoint every service's front end talks to.

`@api("POST", "/api/v1/things", permission="things:make")` wraps nameko's
HTTP entrypoint with what every endpoint needs: the body size limit (413),
bearer-token auth (401, 403 for another agency), the session still open (a
signed-out token is refused at once), the permission the endpoint names
(403, shared/roles.py), a correlation id, JSON results, problem+json errors,
`Cache-Control: no-store` (API answers carry personal data), CORS for the
origins CORS_ORIGINS allows, a latency histogram and one JSON log line per
request. Handlers return `(status, dict)` or a dict,
and raise ApiError subclasses for errors.
"""
import errno
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from functools import partial

import eventlet
from eventlet.event import Event
from marshmallow import Schema, ValidationError, fields, validate
from nameko.extensions import DependencyProvider
from pymongo.errors import ConnectionFailure, PyMongoError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug import exceptions as http_exceptions
from werkzeug.wrappers import Response

from shared import idempotency, logs, paging, roles
from shared.auth import authenticate
from shared.errors import (ApiError, BadRequest, Forbidden, MethodNotAllowed, NotFound,
                           PayloadTooLarge, ServiceUnavailable, Unauthorized,
                           UnsupportedMediaType, ValidationFailed)
from shared.platform import Platform
from shared.users import Accounts

log = logging.getLogger(__name__)

CORRELATION_HEADER = "X-Correlation-Id"
MAX_URL_BYTES = 65536  # a request line longer than this is eventlet's 414
DATABASE_RETRY_AFTER_SECONDS = 5
CORS_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Correlation-Id"
CORS_EXPOSED_HEADERS = "Location, Retry-After, Idempotent-Replayed, X-Correlation-Id"


def cors_headers(origin, allowed_origins):
    """What lets a front end on an allowed origin read the answer."""
    if not origin or origin not in allowed_origins:
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS}


def json_response(status, body, headers=None, content_type="application/json"):
    return Response(json.dumps(body, default=str, ensure_ascii=False), status=status,
                    headers=headers or {}, content_type=content_type)


def problem_response(error):
    return json_response(error.status, error.problem(), error.headers,
                         content_type="application/problem+json")


def routing_error(exc, environ):
    """werkzeug's routing miss as our ApiError."""
    if isinstance(exc, http_exceptions.MethodNotAllowed):
        return MethodNotAllowed("%s is not allowed here" % environ.get("REQUEST_METHOD"), headers={
            "Allow": ", ".join(sorted(exc.valid_methods or []))})
    return NotFound("no route %s" % environ.get("PATH_INFO", ""))


class ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, answering an unknown route (404) or method (405)
    with problem+json like every other error, not werkzeug's HTML page."""

    def __call__(self, environ, start_response):
        adapter = self.url_map.bind_to_environ(environ)
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            return self.preflight(adapter, environ)(environ, start_response)
        try:
            adapter.match()
        except (http_exceptions.NotFound, http_exceptions.MethodNotAllowed) as exc:
            return problem_response(routing_error(exc, environ))(environ, start_response)
        except http_exceptions.HTTPException:
            pass  # a redirect (e.g. a trailing slash): nameko answers it
        return super().__call__(environ, start_response)

    def preflight(self, adapter, environ):
        """OPTIONS, a browser's CORS preflight among others: which methods
        the route takes, and the CORS grant for an allowed origin."""
        methods = sorted(set(adapter.allowed_methods()) | {"OPTIONS"})
        if methods == ["OPTIONS"]:
            return problem_response(NotFound("no route %s" % environ.get("PATH_INFO", "")))
        headers = {"Allow": ", ".join(methods)}
        origins = self.server.cors_origins
        granted = cors_headers(environ.get("HTTP_ORIGIN"), origins)
        if granted:
            headers.update(granted)
            headers.update({"Access-Control-Allow-Methods": ", ".join(methods),
                            "Access-Control-Allow-Headers": CORS_REQUEST_HEADERS,
                            "Access-Control-Max-Age": "600"})
        return Response(status=204, headers=headers)


class PortInUse(Exception):
    """Another process listens on the service's port: refuse to share it."""


class ProblemWebServer(WebServer):
    def start(self):
        # nameko's server listens with SO_REUSEPORT (eventlet's default), so a
        # stale process and a new one split the traffic silently (three
        # committees once answered on 8001 at once). Without it, a second
        # instance fails here, saying why.
        if not self._starting:
            try:
                eventlet.listen(self.bind_addr, reuse_port=False).close()
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUse("%s:%s is in use: is another %s running there?" % (
                        self.bind_addr[0], self.bind_addr[1], self.container.service_name))
                raise
        super().start()

    def setup(self):
        super().setup()
        value = str(self.container.config.get("CORS_ORIGINS") or "")
        self.cors_origins = tuple(origin.strip() for origin in value.split(",") if origin.strip())

    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def get_wsgi_server(self, sock, wsgi_app, *args, **kwargs):
        # eventlet answers a request line over 8 KiB with a bare 414; up to
        # MAX_URL_BYTES the request reaches the API, whose checks name the
        # bad argument (422), as they do for any other.
        server = super().get_wsgi_server(sock, wsgi_app, *args, **kwargs)
        server.url_length_limit = MAX_URL_BYTES
        return server


@dataclass(frozen=True)
class Body:
    """What an endpoint takes as its body: JSON through a schema (which may
    be left out when `optional`), or text of a media type (a CSV import)."""
    schema: object = None
    media_type: str = "application/json"
    optional: bool = False

    def load(self, request, idempotent=False):
        if self.media_type != "application/json":
            return read_text(request, self.media_type)
        if self.optional:
            return read_optional_json(request, self.schema)
        errors = idempotency.key_errors(request.headers.get(idempotency.HEADER)) if idempotent else []
        return read_json(request, self.schema, errors)


@dataclass(frozen=True)
class Page:
    """A list endpoint's answer: `items` of the schema, with the paging."""
    schema: object


class Api(HttpRequestHandler):
    platform = Platform()
    server = ProblemWebServer()

    def __init__(self, method, url, public=False, permission=None, body=None, query=None,
                 responses=None, idempotent=False, summary=None, **kwargs):
        """`body` and `query` are the schemas the request is loaded through
        (the handler finds the results in `request.data` and `request.query`);
        with `responses` ({status: schema, or Page(schema)}) they are also
        what /openapi.json says of the endpoint (shared/openapi.py)."""
        self.public = public
        self.permission = permission
        self.body = body if body is None or isinstance(body, Body) else Body(body)
        self.query = query
        self.responses = responses or {}
        self.idempotent = idempotent
        self.summary = summary
        kwargs.setdefault("expected_exceptions", ApiError)
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        request.shallow = False  # let the worker read the body
        started = time.monotonic()
        cid = request.headers.get(CORRELATION_HEADER) or str(uuid.uuid4())
        try:
            response = self._handle(request, cid)
        except ApiError as error:
            response = problem_response(error)
        except Exception as exc:
            response = self.response_from_exception(exc)
        response.headers[CORRELATION_HEADER] = cid
        if not self.public:
            response.headers["Cache-Control"] = "no-store"
            response.headers.extend(cors_headers(request.headers.get("Origin"),
                                                 self.platform.settings.cors_origins))
        elapsed = time.monotonic() - started
        self.platform.metrics.http_duration.labels(
            request.method, self.url, str(response.status_code)).observe(elapsed)
        if not self.public:
            logs.info(log, "request", method=request.method, path=request.path, route=self.url,
                      status=response.status_code, ms=round(elapsed * 1000, 2), correlation_id=cid)
        return response

    def _handle(self, request, cid):
        settings = self.platform.settings
        if request.content_length is not None and request.content_length > settings.max_body_bytes:
            raise PayloadTooLarge("body is %d bytes; the limit is %d"
                                  % (request.content_length, settings.max_body_bytes))
        if _holds_nul(request.path) or _holds_nul(list(request.args.items(multi=True))):
            raise BadRequest("the path or query holds a NUL character (%00), which nothing here stores")
        request.principal = None
        if not self.public:
            request.principal = self.authorise(request)
        request.correlation_id = cid
        request.max_body_bytes = settings.max_body_bytes
        request.query = query_args(request, self.query) if self.query is not None else None
        request.data = self.body.load(request, self.idempotent) if self.body is not None else None
        args, kwargs = self.get_entrypoint_parameters(request)
        self.check_signature(args, kwargs)
        done = Event()
        self.container.spawn_worker(self, args, kwargs, context_data={"correlation_id": cid},
                                    handle_result=partial(self.handle_result, done))
        return self.response_from_result(done.wait())

    def authorise(self, request):
        service = self.container.service_name
        principal = authenticate(request.headers, self.platform.settings.secret, service)
        if principal.session_id and not Accounts(self.platform.db, service).session_valid(
                principal.session_id):
            raise Unauthorized("this session has ended; sign in again")
        if self.permission and not roles.allows(service, principal.roles, self.permission):
            raise Forbidden("this needs the permission %s, which %s does not grant" % (
                self.permission, " or ".join(principal.roles) or "a token without roles"),
                extra={"missing_permission": self.permission})
        return principal

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        headers = {}
        if isinstance(result, tuple) and len(result) == 3:
            status, body, headers = result
        elif isinstance(result, tuple):
            status, body = result
        else:
            status, body = 200, result
        return json_response(status, body, headers)

    def response_from_exception(self, exc):
        if isinstance(exc, ApiError):
            return problem_response(exc)
        if isinstance(exc, PyMongoError) and (isinstance(exc, ConnectionFailure)
                                              or getattr(exc, "timeout", False)):
            # The database is down or unreachable: nothing was written (a
            # request's write is one document); the client may try again.
            log.warning("database unavailable in %s %s: %s", self.method, self.url,
                        type(exc).__name__)
            return problem_response(ServiceUnavailable(
                "the database is unavailable; nothing was written, try again shortly",
                headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}))
        log.error("unhandled error in %s %s: %r", self.method, self.url, exc)
        return problem_response(ApiError("unexpected error; see the service log"))

    def handle_result(self, done, worker_ctx, result, exc_info):
        if exc_info is not None:
            done.send_exception(*exc_info)
        else:
            done.send(result)
        return result, exc_info


api = Api.decorator


def read_json(request, schema, errors=()):
    """The request body loaded through `schema`: 415/400/413/422 otherwise.
    `errors` are the caller's findings outside the body (bad headers); a 422
    names them together with the body's."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = _read_body(request, request.max_body_bytes + 1)
    if len(raw) > request.max_body_bytes:
        raise PayloadTooLarge("body is over %d bytes" % request.max_body_bytes)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("body is not valid JSON: %s" % exc)
    if b"\\u" in raw:  # only an escape can spell a lone surrogate or a NUL
        _valid_unicode(data)
    if not isinstance(data, dict):
        raise ValidationFailed.from_messages({"_body": ["must be a JSON object"]}, errors)
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages, errors)
    if errors:
        raise ValidationFailed.from_errors(list(errors))
    return loaded


def _valid_unicode(data):
    """JSON may spell a lone UTF-16 surrogate (`\\ud800`), which is no
    character at all and cannot be stored: a 400, not a 500 from the
    database driver."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("body is not valid Unicode: it holds a lone surrogate (\\ud800-\\udfff)")
    if _holds_nul(data):
        raise BadRequest("body holds a NUL character (\\u0000), which no field here accepts "
                         "and the database cannot store")


def _holds_nul(value):
    """Whether a string anywhere in `value` (keys included) holds U+0000,
    which PostgreSQL, under FerretDB, cannot store in a document."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False


# What a text upload may be written in: UTF-8 (with or without the BOM a
# spreadsheet writes) or GB 18030, which Chinese spreadsheets export.
TEXT_CHARSETS = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "gb18030": "gb18030", "gbk": "gb18030"}


def read_text(request, mimetype):
    """A text body of the given type (a CSV import): 415/413/400 otherwise."""
    if request.mimetype != mimetype:
        raise UnsupportedMediaType("send the body as %s" % mimetype)
    charset = request.mimetype_params.get("charset", "utf-8").strip().lower()
    if charset not in TEXT_CHARSETS:
        raise UnsupportedMediaType("send %s as utf-8 or gb18030, not %s" % (mimetype, charset))
    raw = _read_body(request, request.max_body_bytes + 1)
    if len(raw) > request.max_body_bytes:
        raise PayloadTooLarge("body is over %d bytes" % request.max_body_bytes)
    try:
        text = raw.decode(TEXT_CHARSETS[charset])
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not text in its charset: %s" % exc)
    if _holds_nul(text):
        raise BadRequest("body holds a NUL character, which no field here accepts")
    return text


def read_optional_json(request, schema):
    """Like read_json, for an endpoint whose body may be left out."""
    chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if not request.content_length and not chunked:
        return read_json_data({}, schema)
    return read_json(request, schema)


def read_json_data(data, schema):
    """`data` loaded through `schema`; 422 naming every bad field."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed.from_messages(exc.messages)


def _read_body(request, size):
    """Up to `size` bytes of the body. werkzeug reads a body without a
    Content-Length (chunked) as empty; eventlet de-chunks the input and ends
    it itself, so such a body is read from the server's stream directly."""
    chunked = request.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if request.content_length is None and chunked:
        return request.environ["wsgi.input"].read(size)
    return request.stream.read(size)


CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"


def _valid_cursor(cursor):
    try:
        if not re.match(CURSOR_PATTERN, cursor):
            raise paging.BadCursor(cursor)
        paging.decode(cursor)
    except paging.BadCursor:
        raise ValidationError("not a cursor this list handed out (the `next` of its page before)")


class PageQuery(Schema):
    """`limit` and `cursor` (the `next` of the page before) of every list
    endpoint; subclasses add filters."""
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    # (the pattern in metadata is for /openapi.json; _valid_cursor checks it)
    cursor = fields.String(load_default=None, validate=_valid_cursor,
                           metadata={"pattern": CURSOR_PATTERN})


def page(items, found, query):
    """The body of every list endpoint: `found` is the repository's
    paging.Page, `items` its items as the endpoint shows them."""
    return {"items": items, "total": found.total, "total_capped": found.total_capped,
            "limit": query["limit"], "next": found.next}


def query_args(request, schema):
    """Query-string arguments loaded through `schema` (422 on bad values)."""
    return read_json_data(request.args.to_dict(), schema)


class CorrelationContext(DependencyProvider):
    """Puts the worker's correlation id where log lines pick it up."""

    def worker_setup(self, worker_ctx):
        logs.set_correlation_id(worker_ctx.data.get("correlation_id"))

    def worker_teardown(self, worker_ctx):
        logs.set_correlation_id(None)
