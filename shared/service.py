"""What every service has: `/health`, `/alive`, `/metrics`, `/api/v1/audit`
and sign-in at `/api/v1/session` (shared/sessions.py).

A service class inherits from PlatformService and declares its own
dependencies and entrypoints; nameko finds the inherited ones too.
"""
from marshmallow import Schema, fields
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from shared.audit import Audit, AuditPageSchema, AuditQuery
from shared.console import Console
from shared.journal import Journal
from shared.platform import Platform
from shared.openapi import OpenApi
from shared.relay import OutboxRelay
from shared.sessions import Sessions
from shared.web import CorrelationContext, api, json_response

AUDIT_PAGE = AuditPageSchema()


class AliveSchema(Schema):
    status = fields.String()


class HealthSchema(Schema):
    status = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String())
    write_guards = fields.String()


ALIVE = AliveSchema()
HEALTH = HealthSchema()


class PlatformAccess(DependencyProvider):
    """The container's Platform (settings, metrics, health) for entrypoints."""
    platform = Platform()

    def get_dependency(self, worker_ctx):
        return self.platform


class PlatformService(Console, Sessions):
    infra = PlatformAccess()
    relay = OutboxRelay()
    audit = Audit()
    correlation = CorrelationContext()
    openapi = OpenApi()
    journal = Journal()

    @api("GET", "/alive", public=True, responses={200: ALIVE}, summary="The process is up")
    def alive(self, request):
        return {"status": "alive"}

    @api("GET", "/health", public=True, responses={200: HEALTH, 503: HEALTH},
         summary="The broker and the database are reachable")
    def health(self, request):
        checks = {
            "broker": self.infra.broker_state(),
            "database": "up" if self.infra.database_reachable() else "down",
        }
        healthy = all(state == "up" for state in checks.values())
        body = {"status": "healthy" if healthy else "unhealthy", "checks": checks}
        if checks["database"] == "up":
            # Who checks write guards (shared/writes.py): worth seeing at a glance,
            # since only `database` is safe with several replicas.
            body["write_guards"] = "process" if self.infra.writes.in_process else "database"
        return json_response(200 if healthy else 503, body)

    @api("GET", "/metrics", public=True, responses={200: "text/plain"},
         summary="Prometheus metrics")
    def metrics(self, request):
        return Response(self.infra.metrics.exposition(),
                        content_type="text/plain; version=0.0.4; charset=utf-8")

    @api("GET", "/openapi.json", public=True, summary="This API's OpenAPI 3.1 document")
    def openapi_document(self, request):
        return self.openapi

    @api("GET", "/api/v1/audit", permission="audit:read", query=AuditQuery(),
         responses={200: AUDIT_PAGE}, summary="This agency's audit records, newest first")
    def audit_records(self, request):
        return self.audit.records(**request.query)
