"""What every service has: `/health`, `/alive`, `/metrics` and `/api/v1/audit`.

A service class inherits from PlatformService and declares its own
dependencies and entrypoints; nameko finds the inherited ones too.
"""
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from shared.audit import Audit, AuditQuery
from shared.platform import Platform
from shared.relay import OutboxRelay
from shared.web import CorrelationContext, api, json_response, query_args


class PlatformAccess(DependencyProvider):
    """The container's Platform (settings, metrics, health) for entrypoints."""
    platform = Platform()

    def get_dependency(self, worker_ctx):
        return self.platform


class PlatformService:
    infra = PlatformAccess()
    relay = OutboxRelay()
    audit = Audit()
    correlation = CorrelationContext()

    @api("GET", "/alive", public=True)
    def alive(self, request):
        return {"status": "alive"}

    @api("GET", "/health", public=True)
    def health(self, request):
        checks = {
            "broker": "up" if self.infra.broker_reachable() else "down",
            "database": "up" if self.infra.database_reachable() else "down",
        }
        healthy = all(state == "up" for state in checks.values())
        body = {"status": "healthy" if healthy else "unhealthy", "checks": checks}
        if checks["database"] == "up":
            # Who checks write guards (shared/writes.py): worth seeing at a glance,
            # since only `database` is safe with several replicas.
            body["write_guards"] = "process" if self.infra.writes.in_process else "database"
        return json_response(200 if healthy else 503, body)

    @api("GET", "/metrics", public=True)
    def metrics(self, request):
        return Response(self.infra.metrics.exposition(),
                        content_type="text/plain; version=0.0.4; charset=utf-8")

    @api("GET", "/api/v1/audit")
    def audit_records(self, request):
        query = query_args(request, AuditQuery())
        return {"items": self.audit.records(**query)}
