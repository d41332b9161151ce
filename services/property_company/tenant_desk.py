"""The property company's tenants, as a part of its service.

    GET  /api/v1/tenant-access          tenants' access: name, masked ID, flat, the police's word
    POST /api/v1/occupants              an occupant seen living in a flat
    GET  /api/v1/occupants[/{id}]       the occupants reported, and what became of each

Each tenant's access is held until the police clear (issued) or flag
(refused) them, as a returnee's gate pass, and ends with the tenancy. A
timer reports the occupants no tenancy covers within
TENANCY_REGISTRATION_DAYS as `unregistered_tenant` cases (tenants.py).
"""
from pymongo.errors import DuplicateKeyError

from shared import clock, idempotency
from shared.consumer import event_handler
from shared.errors import NotFound
from shared.store import Store
from shared.timer import every
from shared.web import Page, api, page

from services.property_company.schemas import (OccupantInSchema, OccupantQuery, OccupantSchema,
                                               TenantAccessQuery, TenantAccessSchema)
from services.property_company.tenants import (ACCESS, TenantAccessRepository,
                                               unregistered_case_id, unregistered_report)

TENANT_ACCESS = TenantAccessSchema()
OCCUPANT_IN = OccupantInSchema()
OCCUPANT = OccupantSchema()


class TenantDesk:
    """Tenants' access and occupants; the service names `case_desk`."""
    tenants = Store(TenantAccessRepository)

    @event_handler("tenant_housing_declared")
    def on_tenant_housing_declared(self, event):
        self.tenants.hold_access(event)

    @event_handler("tenant_check_completed")
    def on_tenant_check_completed(self, event):
        self.tenants.apply_police_outcome(event)

    @event_handler("tenancy_ended")
    def on_tenancy_ended(self, event):
        self.tenants.end_access(event)

    @event_handler("tenancy_party_overdue")
    def on_tenancy_party_overdue(self, event):
        if self.tenants.note_overdue(ACCESS, event, key="tenant_id"):
            self.infra.metrics.overdue_notices.inc()

    @api("GET", "/api/v1/tenant-access", permission="tenants:read", query=TenantAccessQuery(),
         responses={200: Page(TENANT_ACCESS)}, summary="Tenants' access by tenancy, flat or name")
    def list_tenant_access(self, request):
        found = self.tenants.search_access(**request.query)
        return page(TENANT_ACCESS.dump(found.items, many=True), found, request.query)

    @api("POST", "/api/v1/occupants", permission="occupants:write", body=OCCUPANT_IN,
         idempotent=True, responses={201: OCCUPANT, 409: None},
         summary="An occupant seen living in a flat")
    def report_occupant(self, request):
        key = request.headers.get(idempotency.HEADER)
        request_hash = idempotency.request_hash(request.data, self.infra.settings.secret)
        occupant_id = idempotency.resource_id(key, request.principal.subject)
        try:
            occupant = self.tenants.report_occupant(
                occupant_id, request.data, request.principal.subject,
                self.infra.settings.tenancy_registration_days, request_hash)
            self.infra.metrics.occupants.inc()
            headers = {}
        except DuplicateKeyError:
            occupant = idempotency.replay(self.tenants.get_occupant(occupant_id), request_hash, key,
                                          "occupant")
            if occupant is None:
                raise
            headers = {idempotency.REPLAYED: "true"}
        headers["Location"] = "/api/v1/occupants/%s" % occupant_id
        return 201, OCCUPANT.dump(occupant), headers

    @api("GET", "/api/v1/occupants", permission="occupants:read", query=OccupantQuery(),
         responses={200: Page(OCCUPANT)}, summary="Occupants reported, and what became of each")
    def list_occupants(self, request):
        found = self.tenants.search_occupants(**request.query)
        return page(OCCUPANT.dump(found.items, many=True), found, request.query)

    @api("GET", "/api/v1/occupants/<string:occupant_id>", permission="occupants:read",
         responses={200: OCCUPANT}, summary="One occupant reported")
    def get_occupant(self, request, occupant_id):
        occupant = self.tenants.get_occupant(occupant_id)
        if occupant is None:
            raise NotFound("no occupant %s" % occupant_id)
        return OCCUPANT.dump(occupant)

    @every("OVERDUE_SCAN_SECONDS")
    def watch_occupants(self):
        """Occupants past TENANCY_REGISTRATION_DAYS, found by their due-time
        key: covered by a tenancy since, or reported as `unregistered_tenant`
        (the case id is the occupant's, so a crash between the report and the
        mark still ends with one case)."""
        days = self.infra.settings.tenancy_registration_days
        for occupant in self.tenants.due_occupants(clock.utcnow()):
            covering = self.tenants.covering(occupant["flat_id"], occupant["name_key"])
            if covering is not None:
                self.tenants.cover(occupant["flat_id"], occupant["name_key"], covering["_id"])
                continue
            case_id = unregistered_case_id(occupant["_id"])
            try:
                self.case_desk.report(case_id, unregistered_report(occupant, days),
                                      occupant["reported_by"], clock.utcnow())
                self.infra.metrics.cases_reported.labels("unregistered_tenant").inc()
                self.infra.metrics.unregistered_tenants.inc()
            except DuplicateKeyError:
                pass  # reported before a crash left the occupant watched
            self.tenants.mark_unregistered(occupant["_id"], case_id)
