"""The floating-population office's tenancies, as a part of its service.

    POST /api/v1/tenancies              register a tenancy (201; Idempotency-Key)
    GET  /api/v1/tenancies              the tenancies, with each tenant's parties (audited)
    GET  /api/v1/tenancies/{id}         one (audited)
    POST /api/v1/tenancies/{id}/end     end it: registrations depart, access ends

The plain rules are in tenancy.py, the document and its events in
tenancies.py; here the endpoints, the handlers of each party's progress and
the timer that marks late parties and ends tenancies past their end date.
"""
import logging
from datetime import date, timedelta

from pymongo.errors import DuplicateKeyError

from shared import clock, idempotency
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound
from shared.timer import every
from shared.web import Page, api, page

from services.floating_population_office import tenancy as domain
from services.floating_population_office.schemas import (EndSchema, TenancyInSchema,
                                                         TenancyOutSchema, TenancyQuery)
from services.floating_population_office.tenancies import TENANCIES, group_rental_case_id

log = logging.getLogger(__name__)

TENANCY_IN = TenancyInSchema()
TENANCY = TenancyOutSchema()
END = EndSchema()
# A group-rental case not reported this long after its tenancy was written
# (the request died between the two) is reported by the timer.
GROUP_RENTAL_GRACE = timedelta(seconds=60)


class TenancyDesk:
    """Endpoints and handlers of tenancies; the service names `registry`
    (a TenancyRepository) and `case_desk`."""

    @api("POST", "/api/v1/tenancies", permission="tenancies:write", body=TENANCY_IN,
         idempotent=True, responses={201: TENANCY, 409: None}, summary="Register a tenancy")
    def register_tenancy(self, request):
        key = request.headers.get(idempotency.HEADER)
        body = request.data
        request_hash = idempotency.request_hash(body, self.infra.settings.secret)
        tenancy_id = idempotency.resource_id(key, request.principal.subject)
        settings = self.infra.settings
        now = clock.utcnow()
        tenant_ids = ["%s.%d" % (tenancy_id, n + 1) for n in range(len(body["tenants"]))]
        tenancy = domain.new_tenancy(tenancy_id, dict(body, registered_by=request.principal.subject),
                                     tenant_ids, now, settings.time_limits,
                                     settings.tenancy_registration_days)
        tenancy["request_hash"] = request_hash
        crowded = domain.crowded(self.registry.active_tenants_at(tenancy["flat_id"])
                                 + len(tenant_ids), tenancy["rooms"], settings.tenants_per_room)
        if crowded:
            # Reported once written; the timer reports it if a crash came between.
            tenancy.update(group_rental_case_id=group_rental_case_id(tenancy_id),
                           group_rental_due=now)
        try:
            self.registry.register_tenancy(tenancy)
            self.infra.metrics.tenancies.inc()
            headers = {}
        except DuplicateKeyError:
            tenancy = idempotency.replay(self.registry.get_tenancy(tenancy_id), request_hash, key,
                                         "tenancy")
            if tenancy is None:
                raise
            headers = {idempotency.REPLAYED: "true"}
        self.registry.register_residents(tenancy)
        if tenancy.get("group_rental_due"):
            self._report_group_rental(tenancy, request.principal.subject)
        headers["Location"] = "/api/v1/tenancies/%s" % tenancy_id
        tenancy = self.registry.get_tenancy(tenancy_id)
        self._audit_tenants(request, tenancy, "POST /api/v1/tenancies")
        return 201, TENANCY.dump(tenancy), headers

    def _report_group_rental(self, tenancy, user):
        address = tenancy["address"]
        report = {
            "category": "group_rental",
            "description": "%d tenants registered at %s (rooms: %d; at most %d per room)" % (
                self.registry.active_tenants_at(tenancy["flat_id"]), tenancy["flat_id"],
                tenancy["rooms"], self.infra.settings.tenants_per_room),
            "location": {"building": address["building"], "unit": address["unit"],
                         "room": address["room"], "spot": None},
            "source": "other", "reporter": None, "safety_risk": False,
        }
        try:
            self.case_desk.report(tenancy["group_rental_case_id"], report, user, clock.utcnow())
            self.infra.metrics.cases_reported.labels("group_rental").inc()
        except DuplicateKeyError:
            pass  # reported by the first attempt
        self.registry.group_rental_reported(tenancy["_id"])

    @api("GET", "/api/v1/tenancies", permission="tenancies:read", query=TenancyQuery(),
         responses={200: Page(TENANCY)}, summary="Tenancies, with their tenants (audited)")
    def list_tenancies(self, request):
        query = request.query
        found = self.registry.search_tenancies(**query)
        for tenancy in found.items:
            self._audit_tenants(request, tenancy, "GET /api/v1/tenancies")
        return page(TENANCY.dump(found.items, many=True), found, query)

    @api("GET", "/api/v1/tenancies/<string:tenancy_id>", permission="tenancies:read",
         responses={200: TENANCY}, summary="One tenancy, with its tenants (audited)")
    def get_tenancy(self, request, tenancy_id):
        tenancy = self._tenancy(tenancy_id)
        self._audit_tenants(request, tenancy, "GET /api/v1/tenancies/{id}")
        return TENANCY.dump(tenancy)

    @api("POST", "/api/v1/tenancies/<string:tenancy_id>/end", permission="tenancies:write",
         body=END, responses={200: TENANCY, 409: None},
         summary="End a tenancy: its registrations and its tenants' access end")
    def end_tenancy(self, request, tenancy_id):
        tenancy = self._tenancy(tenancy_id)
        today = clock.utcnow().date()
        ended_on = request.data["ended_on"] or today
        # One that has not started yet may be called off on any day until it does.
        if ended_on.isoformat() < tenancy["start_date"] <= today.isoformat():
            raise Conflict("tenancy %s started on %s: it cannot end before" % (
                tenancy_id, tenancy["start_date"]))
        if tenancy["status"] == "active":
            self.registry.end_residents(tenancy, clock.utcnow())
        tenancy, ended = self.registry.end_tenancy(tenancy_id, ended_on, request.principal.subject,
                                                   request.data["reason"])
        if not ended:
            raise Conflict("tenancy %s ended already on %s" % (tenancy_id, tenancy["ended_on"]))
        self.infra.metrics.tenancies_ended.inc()
        self._audit_tenants(request, tenancy, "POST /api/v1/tenancies/{id}/end")
        return TENANCY.dump(tenancy)

    def _tenancy(self, tenancy_id):
        tenancy = self.registry.get_tenancy(tenancy_id)
        if tenancy is None:
            raise NotFound("no tenancy %s" % tenancy_id)
        return tenancy

    def _audit_tenants(self, request, tenancy, via):
        self.audit.full_identity_read(
            request.principal, [{"returnee_id": i["tenant_id"], "id_number": i["id_number"]}
                                for i in tenancy.get("identities") or () if len(i["id_number"]) == 18],
            via=via, purpose="tenancy registration")

    @event_handler("tenant_check_opened")
    @event_handler("tenant_check_completed")
    @event_handler("tenant_access_held")
    @event_handler("tenant_access_issued")
    @event_handler("tenant_access_refused")
    def on_tenant_party_acted(self, event):
        """Each party's progress on a tenant; the police's first word also
        completes the registrations a crash may have left unwritten."""
        tenancy = self.registry.record_party_event(event)
        if event.event_type == "tenant_check_opened" and tenancy["status"] == "active":
            self.registry.register_residents(self.registry.opened(TENANCIES, tenancy))

    @every("OVERDUE_SCAN_SECONDS")
    def escalate_overdue(self):
        """Mark tenants' tasks past their limit and tell the party, finding
        the tenancies by their due-time key (`next_due_at`); report a
        group-rental case a crash left unreported (`group_rental_due`); end
        the tenancies whose end date passed, found by `end_due`."""
        now = clock.utcnow()
        for found in list(self.registry.due(now)):
            for tenant_id, party in self.registry.escalate(found["_id"], now):
                self.infra.metrics.tenants_overdue.labels(party=party).inc()
                log.warning("tenant overdue", extra={"correlation_id": found["_id"],
                                                     "fields": {"party": party, "tenant": tenant_id}})
        for found in self.registry.group_rentals_unreported(now - GROUP_RENTAL_GRACE):
            tenancy = self.registry.get_tenancy(found["_id"])
            self._report_group_rental(tenancy, tenancy["registered_by"] or "group_rental")
        for found in list(self.registry.ending(now)):
            tenancy = self.registry.get_tenancy(found["_id"])
            self.registry.end_residents(tenancy, now)
            tenancy, ended = self.registry.end_tenancy(
                found["_id"], date.fromisoformat(tenancy["end_date"]), "end_date",
                "the end date passed")
            if ended:
                self.infra.metrics.tenancies_ended.inc()
