"""developer: keeps the relocation-housing allocation records and checks
every claimed flat against them."""
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.errors import NotFound
from shared.parties import DEVELOPER
from shared.service import PlatformService
from shared.store import Store
from shared.web import api, page, query_args, read_json

from services.developer.repository import CHECKS, HousingRepository
from services.developer.schemas import (AllocationOutSchema, AllocationSchema, HousingCheckQuery,
                                        HousingCheckSchema)


class DeveloperService(CaseDesk, PlatformService):
    name = DEVELOPER
    housing = Store(HousingRepository)

    @api("POST", "/api/v1/allocations")
    def save_allocation(self, request):
        allocation = read_json(request, AllocationSchema())
        created, saved = self.housing.save_allocation(allocation)
        return (201 if created else 200), AllocationOutSchema().dump(saved)

    @api("GET", "/api/v1/allocations/<string:flat_id>")
    def get_allocation(self, request, flat_id):
        allocation = self.housing.allocation(flat_id)
        if allocation is None:
            raise NotFound("no allocation for flat %s" % flat_id)
        return AllocationOutSchema().dump(allocation)

    @api("GET", "/api/v1/housing-checks")
    def list_checks(self, request):
        query = query_args(request, HousingCheckQuery())
        items, total = self.housing.search(**query)
        return page(HousingCheckSchema(many=True).dump(items), total, query)

    @event_handler("returnee_housing_declared")
    def on_returnee_housing_declared(self, event):
        self.housing.check_declaration(event)

    @event_handler("linkage_party_overdue")
    def on_linkage_party_overdue(self, event):
        if self.housing.note_overdue(CHECKS, event):
            self.infra.metrics.overdue_notices.inc()
