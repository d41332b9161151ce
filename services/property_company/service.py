"""property_company: notifies building stewards of arrivals and holds each
gate pass until the police clear the person (issued) or flag them (refused);
works the cases dispatched to it, and runs the cameras' gateway."""
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.parties import PROPERTY
from shared.service import PlatformService
from shared.store import Store
from shared.web import api, page, query_args, read_json

from services.property_company.cameras import CameraDeskRepository
from services.property_company.repository import PASSES, GatePassRepository
from services.property_company.schemas import (DetectionInSchema, DetectionOutSchema,
                                               GatePassSchema, PassQuery)

DETECTION = DetectionInSchema()
DETECTED = DetectionOutSchema()


class PropertyCompanyService(CaseDesk, PlatformService):
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

    @api("GET", "/api/v1/passes")
    def list_passes(self, request):
        query = query_args(request, PassQuery())
        items, total = self.passes.search(**query)
        return page(GatePassSchema(many=True).dump(items), total, query)

    @api("POST", "/api/v1/detections")
    def detect(self, request):
        detection = read_json(request, DETECTION)
        record = self.case_desk.detect(detection, request.principal.subject,
                                       self.infra.settings.detection_threshold)
        return 201, DETECTED.dump(record)

    def reported_case_changed(self, news):
        if news["status"] == "closed":
            self.case_desk.release_watch(news["case_id"])
