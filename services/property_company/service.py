"""property_company: notifies building stewards of arrivals and holds each
gate pass until the police clear the person (issued) or flag them (refused),
and each tenant's access the same way; reports occupants no tenancy covers;
works the cases dispatched to it, and runs the cameras' gateway."""
from pymongo.errors import DuplicateKeyError

from shared import clock, rights
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.errors import NotFound
from shared.parties import PROPERTY
from shared.people import PersonRecords
from shared.service import PlatformService
from shared.store import Store
from shared.timer import every
from shared.web import Page, api, page

from services.property_company.cameras import CameraDeskRepository
from services.property_company.repository import PASSES, GatePassRepository
from services.property_company.schemas import (DetectionInSchema, DetectionOutSchema,
                                               DetectionQuery, GatePassSchema, OccupantInSchema,
                                               OccupantQuery, OccupantSchema, PassQuery,
                                               TenantAccessQuery, TenantAccessSchema)
from services.property_company.tenants import (ACCESS, TenantAccessRepository,
                                               unregistered_case_id, unregistered_report)

DETECTION = DetectionInSchema()


def _outcome(record):
    return "reported" if record["reported"] else "attached" if record["attached"] else "below_threshold"
DETECTED = DetectionOutSchema()
GATE_PASS = GatePassSchema()
TENANT_ACCESS = TenantAccessSchema()
OCCUPANT_IN = OccupantInSchema()
OCCUPANT = OccupantSchema()


class PropertyCompanyService(PersonRecords, CaseDesk, PlatformService):
    name = PROPERTY
    passes = Store(GatePassRepository)
    case_desk = Store(CameraDeskRepository)
    tenants = Store(TenantAccessRepository)

    @event_handler("returnee_housing_declared")
    def on_returnee_housing_declared(self, event):
        self.passes.hold_pass(event)

    @event_handler("identity_check_completed")
    def on_identity_check_completed(self, event):
        self.passes.apply_police_outcome(event)

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

    @api("GET", "/api/v1/tenant-access", permission="tenants:read", query=TenantAccessQuery(),
         responses={200: Page(TENANT_ACCESS)}, summary="Tenants' access by tenancy, flat or name")
    def list_tenant_access(self, request):
        found = self.tenants.search_access(**request.query)
        return page(TENANT_ACCESS.dump(found.items, many=True), found, request.query)

    @api("POST", "/api/v1/occupants", permission="occupants:write", body=OCCUPANT_IN,
         responses={201: OCCUPANT}, summary="An occupant seen living in a flat")
    def report_occupant(self, request):
        occupant = self.tenants.report_occupant(request.data, request.principal.subject,
                                                self.infra.settings.tenancy_registration_days)
        self.infra.metrics.occupants.inc()
        return 201, OCCUPANT.dump(occupant), {"Location": "/api/v1/occupants/%s" % occupant["_id"]}

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

    def reported_case_changed(self, news):
        if news["status"] == "closed":
            self.case_desk.release_watch(news["case_id"])
