"""developer: keeps the relocation-housing allocation records, checks
every claimed flat against them, hands flats over to their allocated
households, and works the repairs assigned to it under warranty."""
from shared import rights
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.errors import NotFound, ValidationFailed
from shared.parties import DEVELOPER
from shared.people import PersonRecords
from shared.trace import TraceAnswers
from shared.briefings import PartyBriefings
from shared.service import PlatformService
from shared.store import Store
from shared.web import Body, Page, api, page

from services.developer.domain import allocations_from_csv
from services.developer.repository import CHECKS, HousingRepository
from services.developer.schemas import (AllocationOutSchema, AllocationQuery, AllocationSchema,
                                        HandoverOutSchema, HandoverQuery, HandoverSchema,
                                        HousingCheckQuery, HousingCheckSchema, ImportResultSchema)
from services.developer.warranty_desk import WarrantyDesk

ALLOCATION = AllocationSchema()
ALLOCATED = AllocationOutSchema()
HOUSING_CHECK = HousingCheckSchema()
IMPORTED = ImportResultSchema()
HANDOVER = HandoverSchema()
HANDED_OVER = HandoverOutSchema()


class DeveloperService(TraceAnswers, PersonRecords, CaseDesk, WarrantyDesk, PartyBriefings,
                       PlatformService):
    name = DEVELOPER
    housing = Store(HousingRepository)

    @api("POST", "/api/v1/allocations", permission="allocations:write", body=ALLOCATION,
         responses={200: ALLOCATED, 201: ALLOCATED}, summary="Record who is entitled to a flat")
    def save_allocation(self, request):
        created, saved = self.housing.save_allocation(request.data)
        return (201 if created else 200), ALLOCATED.dump(saved)

    @api("GET", "/api/v1/allocations", permission="allocations:read", query=AllocationQuery(),
         responses={200: Page(ALLOCATED)}, summary="Allocations, by building")
    def list_allocations(self, request):
        found = self.housing.allocations(**request.query)
        return page(ALLOCATED.dump(found.items, many=True), found, request.query)

    @api("POST", "/api/v1/allocation-imports", permission="allocations:write",
         body=Body(media_type="text/csv"), responses={200: IMPORTED},
         summary="Import allocations from CSV: every row, or none")
    def import_allocations(self, request):
        """A list of flats and households as CSV: all rows, or none."""
        allocations, errors = allocations_from_csv(request.data, ALLOCATION)
        if errors:
            raise ValidationFailed.from_errors(errors)
        created = sum(self.housing.save_allocation(allocation)[0] for allocation in allocations)
        return {"rows": len(allocations), "created": created, "updated": len(allocations) - created}

    @api("GET", "/api/v1/allocations/<string:flat_id>", permission="allocations:read",
         responses={200: ALLOCATED}, summary="One flat's allocation")
    def get_allocation(self, request, flat_id):
        allocation = self.housing.allocation(flat_id)
        if allocation is None:
            raise NotFound("no allocation for flat %s" % flat_id)
        return ALLOCATED.dump(allocation)

    @api("GET", "/api/v1/housing-checks", permission="housing_checks:read",
         query=HousingCheckQuery(), responses={200: Page(HOUSING_CHECK)},
         summary="Claimed flats checked against the allocations")
    def list_checks(self, request):
        found = self.housing.search(**request.query)
        return page(HOUSING_CHECK.dump(found.items, many=True), found, request.query)

    @api("POST", "/api/v1/handovers", permission="handovers:write", body=HANDOVER,
         responses={201: HANDED_OVER, 409: None},
         summary="Hand a relocation flat over to its allocated household")
    def record_handover(self, request):
        handover = self.housing.record_handover(request.data, request.principal.subject)
        self.infra.metrics.handovers.inc()
        return 201, HANDED_OVER.dump(handover), {"Location": "/api/v1/handovers/%s" % handover["_id"]}

    @api("GET", "/api/v1/handovers", permission="handovers:read", query=HandoverQuery(),
         responses={200: Page(HANDED_OVER)}, summary="Handovers, newest first, by building")
    def list_handovers(self, request):
        found = self.housing.handovers(**request.query)
        return page(HANDED_OVER.dump(found.items, many=True), found, request.query)

    @api("GET", "/api/v1/handovers/<string:flat_id>", permission="handovers:read",
         responses={200: HANDED_OVER}, summary="One flat's handover")
    def get_handover(self, request, flat_id):
        handover = self.housing.handover(flat_id)
        if handover is None:
            raise NotFound("no handover of flat %s" % flat_id)
        return HANDED_OVER.dump(handover)

    @event_handler("returnee_housing_declared")
    def on_returnee_housing_declared(self, event):
        self.housing.check_declaration(event)

    @event_handler("linkage_party_overdue")
    def on_linkage_party_overdue(self, event):
        if self.housing.note_overdue(CHECKS, event):
            self.infra.metrics.overdue_notices.inc()

    @event_handler("returnee_name_corrected")
    def on_returnee_name_corrected(self, event):
        rights.apply_correction(self.housing, CHECKS, event)

    @event_handler("returnee_erasure_requested")
    def on_returnee_erasure_requested(self, event):
        rights.answer_erasure(self.housing, CHECKS, event, self.infra.settings.legal_hold)
