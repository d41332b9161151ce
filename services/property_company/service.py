"""property_company: notifies building stewards of arrivals and holds each
gate pass until the police clear the person (issued) or flag them (refused)."""
from shared.consumer import event_handler
from shared.parties import PROPERTY
from shared.service import PlatformService
from shared.store import Store
from shared.web import api, page, query_args

from services.property_company.repository import PASSES, GatePassRepository
from services.property_company.schemas import GatePassSchema, PassQuery


class PropertyCompanyService(PlatformService):
    name = PROPERTY
    passes = Store(GatePassRepository)

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
