"""property_company: notifies building stewards of arrivals and holds each
gate pass until the police clear the person (issued) or flag them (refused),
and each tenant's access the same way; reports occupants no tenancy covers;
works the cases dispatched to it, and runs the cameras' gateway; takes on
the households of handed-over flats and decides who repairs what a resident
reports (the developer, under warranty)."""
from shared import rights
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.parties import PROPERTY
from shared.people import PersonRecords
from shared.trace import TraceAnswers
from shared.briefings import PartyBriefings
from shared.service import PlatformService
from shared.store import Store
from shared.web import Page, api, page

from services.property_company.cameras import CameraDeskRepository
from services.property_company.repair_desk import RepairDesk
from services.property_company.repository import PASSES, GatePassRepository
from services.property_company.schemas import (DetectionInSchema, DetectionOutSchema,
                                               DetectionQuery, GatePassSchema, PassQuery)
from services.property_company.tenant_desk import TenantDesk

DETECTION = DetectionInSchema()


def _outcome(record):
    return "reported" if record["reported"] else "attached" if record["attached"] else "below_threshold"
DETECTED = DetectionOutSchema()
GATE_PASS = GatePassSchema()


class PropertyCompanyService(TraceAnswers, PersonRecords, TenantDesk, CaseDesk, RepairDesk, PartyBriefings,
                             PlatformService):
    name = PROPERTY
    passes = Store(GatePassRepository)
    case_desk = Store(CameraDeskRepository)

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
