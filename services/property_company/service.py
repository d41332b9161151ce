"""property_company: notifies building stewards of arrivals and holds each
gate pass until the police clear the person (issued) or flag them (refused);
works the cases dispatched to it, and runs the cameras' gateway; takes on
the households of handed-over flats and decides who repairs what a resident
reports (the developer, under warranty)."""
from datetime import date

from pymongo.errors import DuplicateKeyError

from shared import clock, idempotency, rights
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound
from shared.parties import PROPERTY
from shared.people import PersonRecords
from shared.service import PlatformService
from shared.store import Store
from shared.timer import every
from shared.web import Page, api, page

from services.property_company import warranty
from services.property_company.cameras import CameraDeskRepository
from services.property_company.housing import HousingRepository, rules_from
from services.property_company.repository import PASSES, GatePassRepository
from services.property_company.schemas import (DetectionInSchema, DetectionOutSchema,
                                               DetectionQuery, GatePassSchema, HouseholdQuery,
                                               HouseholdSchema, PassQuery, RepairInSchema,
                                               RepairQuery, RepairResolveSchema, RepairSchema)

DETECTION = DetectionInSchema()


def _outcome(record):
    return "reported" if record["reported"] else "attached" if record["attached"] else "below_threshold"
DETECTED = DetectionOutSchema()
GATE_PASS = GatePassSchema()
HOUSEHOLD = HouseholdSchema()
REPAIR = RepairInSchema()
REPAIRED = RepairSchema()


class PropertyCompanyService(PersonRecords, CaseDesk, PlatformService):
    name = PROPERTY
    passes = Store(GatePassRepository)
    case_desk = Store(CameraDeskRepository)
    housing = Store(HousingRepository)

    @event_handler("returnee_housing_declared")
    def on_returnee_housing_declared(self, event):
        self.passes.hold_pass(event)

    @event_handler("identity_check_completed")
    def on_identity_check_completed(self, event):
        self.passes.apply_police_outcome(event)

    @event_handler("linkage_party_overdue")
    def on_linkage_party_overdue(self, event):
        if self.passes.note_overdue(PASSES, event):
            self.infra.metrics.overdue_notices.inc()

    @event_handler("returnee_name_corrected")
    def on_returnee_name_corrected(self, event):
        rights.apply_correction(self.passes, PASSES, event)

    @event_handler("returnee_erasure_requested")
    def on_returnee_erasure_requested(self, event):
        rights.answer_erasure(self.passes, PASSES, event, self.infra.settings.legal_hold)

    @api("GET", "/api/v1/passes", permission="passes:read", query=PassQuery(),
         responses={200: Page(GATE_PASS)}, summary="Gate passes by person or flat")
    def list_passes(self, request):
        found = self.passes.search(**request.query)
        return page(GATE_PASS.dump(found.items, many=True), found, request.query)

    @api("POST", "/api/v1/detections", permission="detections:write", body=DETECTION,
         responses={201: DETECTED}, summary="A camera's detection")
    def detect(self, request):
        record = self.case_desk.detect(request.data, request.principal.subject,
                                       self.infra.settings.detection_threshold)
        self.infra.metrics.detections.labels(record["kind"], _outcome(record)).inc()
        if record["reported"]:
            self.infra.metrics.cases_reported.labels(record["kind"]).inc()
        return 201, DETECTED.dump(record)

    @api("GET", "/api/v1/detections", permission="detections:read", query=DetectionQuery(),
         responses={200: Page(DETECTED)}, summary="The cameras' detections")
    def list_detections(self, request):
        found = self.case_desk.detections(**request.query)
        return page(DETECTED.dump(found.items, many=True), found, request.query)

    def reported_case_changed(self, news):
        if news["status"] == "closed":
            self.case_desk.release_watch(news["case_id"])

    # --- households and repairs ---------------------------------------------

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
            repair = self.housing.repair(repair_id)
            if repair is None or repair.get("request_hash") != request_hash:
                raise Conflict("Idempotency-Key %r was used for a different repair" % key)
            headers["Idempotent-Replayed"] = "true"
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
