"""The property company's households and repairs (services/property_company/housing.py):

    GET  /api/v1/households?flat=&building=   households taken on, each with its warranty table
    POST /api/v1/repairs                       a resident's repair: who repairs it, and why
    GET  /api/v1/repairs, /api/v1/repairs/{id}
    POST /api/v1/repairs/{id}/resolve          the property company's own (or the owner's) repair done

Mixed into the property company's service.
"""
from datetime import date

from pymongo.errors import DuplicateKeyError

from shared import clock, idempotency
from shared.consumer import event_handler
from shared.errors import NotFound
from shared.store import Store
from shared.timer import every
from shared.web import Page, api, page

from services.property_company import warranty
from services.property_company.housing import HouseholdRepairsRepository, rules_from
from services.property_company.schemas import (HouseholdQuery, HouseholdSchema, RepairInSchema,
                                               RepairQuery, RepairResolveSchema, RepairSchema)

HOUSEHOLD = HouseholdSchema()
REPAIR = RepairInSchema()
REPAIRED = RepairSchema()


class RepairDesk:
    housing = Store(HouseholdRepairsRepository)

    @event_handler("flat_handover_recorded")
    def on_flat_handover_recorded(self, event):
        self.housing.take_on(event)

    @api("GET", "/api/v1/households", permission="households:read", query=HouseholdQuery(),
         responses={200: Page(HOUSEHOLD)},
         summary="Households taken on, by flat or building, each with its warranty table")
    def list_households(self, request):
        found = self.housing.households(**request.query)
        rules = rules_from(self.infra.settings)
        items = [dict(household, warranty=warranty.table(
            date.fromisoformat(household["handed_over_on"]), rules)) for household in found.items]
        return page(HOUSEHOLD.dump(items, many=True), found, request.query)

    @api("POST", "/api/v1/repairs", permission="repairs:write", body=REPAIR, idempotent=True,
         responses={201: REPAIRED, 409: None}, summary="A resident's repair: who must repair it, and why")
    def report_repair(self, request):
        key = request.headers.get(idempotency.HEADER)
        request_hash = idempotency.request_hash(request.data, self.infra.settings.secret)
        principal = request.principal
        repair_id = idempotency.resource_id(key, principal.agency, "repair", principal.subject)
        headers = {"Location": "/api/v1/repairs/%s" % repair_id}
        try:
            repair = self.housing.report_repair(repair_id, request.data, principal.subject,
                                                rules_from(self.infra.settings), self.infra.settings,
                                                request_hash)
            self.infra.metrics.repairs.labels(repair["responsible"]).inc()
        except DuplicateKeyError:
            repair = idempotency.replay(self.housing.repair(repair_id), request_hash, key, "repair")
            if repair is None:
                raise
            headers[idempotency.REPLAYED] = "true"
        return 201, REPAIRED.dump(repair), headers

    @api("GET", "/api/v1/repairs", permission="repairs:read", query=RepairQuery(),
         responses={200: Page(REPAIRED)}, summary="Repairs, newest first")
    def list_repairs(self, request):
        found = self.housing.repairs(**request.query)
        return page(REPAIRED.dump(found.items, many=True), found, request.query)

    @api("GET", "/api/v1/repairs/<string:repair_id>", permission="repairs:read",
         responses={200: REPAIRED}, summary="One repair")
    def get_repair(self, request, repair_id):
        repair = self.housing.repair(repair_id)
        if repair is None:
            raise NotFound("no repair %s" % repair_id)
        return REPAIRED.dump(repair)

    @api("POST", "/api/v1/repairs/<string:repair_id>/resolve", permission="repairs:write",
         body=RepairResolveSchema(), responses={200: REPAIRED, 409: None},
         summary="Resolve the property company's or the owner's repair, with a note")
    def resolve_repair(self, request, repair_id):
        repair = self.housing.resolve_own(repair_id, request.data["note"], request.principal.subject)
        return REPAIRED.dump(repair)

    @event_handler("warranty_repair_accepted")
    def on_warranty_repair_accepted(self, event):
        self.housing.developer_acted(event, "accept")

    @event_handler("warranty_repair_resolved")
    def on_warranty_repair_resolved(self, event):
        self.housing.developer_acted(event, "resolve")

    @every("OVERDUE_SCAN_SECONDS")
    def mark_overdue_repairs(self):
        """The developer's warranty limits that passed: marked once each, and told."""
        now = clock.utcnow()
        for found in self.housing.due(now):
            limit = self.housing.mark_overdue(found["_id"], now)
            if limit:
                self.infra.metrics.warranty_overdue.labels(limit).inc()
