"""The OpenAPI 3.1 document of a service, generated from what its endpoints
declare: the marshmallow schemas that load their query and body and dump
their answers (`@api(..., query=, body=, responses=)`), their permission,
and the errors every endpoint of the platform can answer with. Nothing in
it is written by hand."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields
from nameko.extensions import DependencyProvider

from shared import idempotency
from shared.web import Api, Page

PROBLEM_TYPE = "application/problem+json"
TITLES = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Malformed JSON",
          401: "No valid bearer token", 403: "Another agency's token, or a role without the permission",
          404: "No such resource, or not this party's", 409: "Not allowed in the resource's state",
          413: "Body too large", 415: "Not the media type the endpoint takes",
          422: "Invalid fields, each named with the reason", 429: "Too many failed sign-ins",
          503: "A dependency is unavailable"}


class FieldErrorSchema(Schema):
    field = fields.String(required=True)
    reason = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error is answered."""
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Nested(FieldErrorSchema))
    missing_permission = fields.String()


def schema_name(schema):
    """A component's name: the schema class's, and the fields it is cut to."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__[:-len("Schema")] if cls.__name__.endswith("Schema") else cls.__name__
    only = getattr(schema, "only", None) if not isinstance(schema, type) else None
    if only:
        name += "".join(part.title().replace("_", "") for part in sorted(only))
    return name


def _path(url):
    """werkzeug's rule as an OpenAPI path and its parameters."""
    parameters = []

    def replace(match):
        converter, arguments, name = match.group(1), match.group(2), match.group(3)
        schema = {"type": "string"}
        if converter == "any":
            schema["enum"] = [item.strip() for item in arguments.split(",")]
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{%s}" % name
    path = re.sub(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", replace, url)
    return path, parameters


class Document:
    def __init__(self, service, entrypoints):
        self.spec = APISpec(title="%s API" % service, version="1", openapi_version="3.1.0",
                            plugins=[MarshmallowPlugin(schema_name_resolver=schema_name)],
                            info={"description": "The HTTP API of %s, one of the five parties "
                                                 "of the community linkage." % service})
        self.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        self.spec.components.schema("Problem", schema=ProblemSchema)
        self.page_schemas = {}
        paths = {}
        for entrypoint in sorted(entrypoints, key=lambda e: (e.url, e.method)):
            if entrypoint.url.startswith("/console") or entrypoint.url == "/openapi.json":
                continue
            path, parameters = _path(entrypoint.url)
            paths.setdefault(path, {"parameters": parameters, "operations": {}})
            paths[path]["operations"][entrypoint.method.lower()] = self.operation(entrypoint)
        for path, item in paths.items():
            self.spec.path(path=path, operations=item["operations"], parameters=item["parameters"])

    def operation(self, entrypoint):
        operation = {"summary": entrypoint.summary or entrypoint.method + " " + entrypoint.url,
                     "operationId": entrypoint.method_name, "responses": {}}
        if entrypoint.permission:
            operation["description"] = "Needs the permission `%s`." % entrypoint.permission
        if not entrypoint.public:
            operation["security"] = [{"bearer": []}]
        parameters = []
        if entrypoint.query is not None:
            parameters.append({"in": "query", "schema": entrypoint.query})
        if entrypoint.idempotent:
            parameters.append({"in": "header", "name": idempotency.HEADER, "required": False,
                               "schema": {"type": "string", "minLength": 1, "maxLength": 128},
                               "description": "a retry with the same key names the same resource"})
        if parameters:
            operation["parameters"] = parameters
        if entrypoint.body is not None:
            operation["requestBody"] = self.request_body(entrypoint.body)
        for status, content in entrypoint.responses.items():
            operation["responses"][str(status)] = self.response(status, content)
        for status in self.errors(entrypoint):
            operation["responses"].setdefault(str(status), self.response(status, None))
        return operation

    def errors(self, entrypoint):
        statuses = {503}
        if not entrypoint.public:
            statuses |= {401, 403}
        if entrypoint.query is not None:
            statuses |= {400, 422}  # 400: a NUL character, which nothing here stores
        if entrypoint.body is not None:
            statuses |= {400, 413, 415, 422} if entrypoint.body.media_type == "application/json" \
                else {400, 413, 415, 422}
        if "<" in entrypoint.url:
            statuses |= {400, 404}
        if entrypoint.idempotent:
            statuses.add(409)
        return sorted(statuses)

    def request_body(self, body):
        if body.media_type != "application/json":
            return {"required": True, "content": {body.media_type: {"schema": {"type": "string"}}}}
        return {"required": not body.optional,
                "content": {"application/json": {"schema": body.schema}}}

    def response(self, status, content):
        response = {"description": TITLES.get(status, str(status))}
        if status >= 400 and content is None:
            response["content"] = {PROBLEM_TYPE: {"schema": "Problem"}}
        elif content in ("text/plain", "text/html"):
            response["content"] = {content: {"schema": {"type": "string"}}}
        elif content is not None:
            response["content"] = {"application/json": {"schema": self.schema_of(content)}}
        return response

    def schema_of(self, content):
        if isinstance(content, Page):
            return {"type": "object", "required": ["items", "total", "total_capped", "limit", "next"],
                    "properties": {"items": {"type": "array", "items": self.schema_of(content.schema)},
                                   "total": {"type": "integer"}, "total_capped": {"type": "boolean"},
                                   "limit": {"type": "integer"},
                                   "next": {"type": ["string", "null"]}}}
        if isinstance(content, tuple):
            return {"anyOf": [self.schema_of(item) for item in content]}
        return self._ref(content)

    def _ref(self, schema):
        """A response schema as a component reference (registered once)."""
        plugin = self.spec.plugins[0]
        return plugin.converter.resolve_nested_schema(schema)

    def to_dict(self):
        return self.spec.to_dict()


class OpenApi(DependencyProvider):
    """The service's document, built once from its container's entrypoints."""

    def setup(self):
        self._document = None

    def get_dependency(self, worker_ctx):
        if self._document is None:
            entrypoints = [e for e in self.container.entrypoints if isinstance(e, Api)]
            self._document = Document(self.container.service_name, entrypoints).to_dict()
        return self._document
