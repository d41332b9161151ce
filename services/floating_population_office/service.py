"""floating_population_office: registers non-local arrivals in its registry
of non-local residents (temporary residence registration), and registers
tenancies: each tenant checked by the police and given access by the
property company, each non-local tenant registered here."""
from shared import clock, rights
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.errors import NotFound
from shared.parties import FLOATING
from shared.people import PersonRecords
from shared.trace import TraceAnswers
from shared.briefings import PartyBriefings
from shared.service import PlatformService
from shared.store import Store
from shared.web import Page, api, page

from services.floating_population_office import tenancy as domain
from services.floating_population_office.repository import REGISTRATIONS
from services.floating_population_office.schemas import RegistrationQuery, RegistrationRecordSchema
from services.floating_population_office.tenancies import TenancyRepository
from services.floating_population_office.tenancy_desk import TenancyDesk

RECORD = RegistrationRecordSchema()


class FloatingPopulationOfficeService(TraceAnswers, PersonRecords, TenancyDesk, CaseDesk, PartyBriefings,
                                      PlatformService):
    name = FLOATING
    registry = Store(TenancyRepository)

    @event_handler("non_local_returnee_registered")
    def on_non_local_returnee_registered(self, event):
        self.registry.record_arrival(event)

    @event_handler("linkage_party_overdue")
    def on_linkage_party_overdue(self, event):
        if self.registry.note_overdue(REGISTRATIONS, event):
            self.infra.metrics.overdue_notices.inc()

    @event_handler("returnee_details_corrected")
    def on_returnee_details_corrected(self, event):
        rights.apply_correction(self.registry, REGISTRATIONS, event)

    @event_handler("returnee_erasure_requested")
    def on_returnee_erasure_requested(self, event):
        rights.answer_erasure(self.registry, REGISTRATIONS, event, self.infra.settings.legal_hold)

    @api("GET", "/api/v1/registrations", permission="registrations:read", query=RegistrationQuery(),
         responses={200: Page(RECORD)}, summary="Non-local residents' registrations (audited)")
    def list_registrations(self, request):
        query = request.query
        cutoff = domain.permit_cutoff(clock.utcnow().date(), self.infra.settings.residence_permit_days)
        found = self.registry.search(permit_cutoff=cutoff, **query)
        self._audit(request, found.items, "GET /api/v1/registrations")
        return page(RECORD.dump(found.items, many=True), found, query)

    @api("GET", "/api/v1/registrations/<string:registration_id>", permission="registrations:read",
         responses={200: RECORD}, summary="One registration (audited)")
    def get_registration(self, request, registration_id):
        registration = self.registry.by_registration_id(registration_id)
        if registration is None:
            raise NotFound("no registration %s" % registration_id)
        self._audit(request, [registration], "GET /api/v1/registrations/{id}")
        return RECORD.dump(registration)

    def _audit(self, request, items, via):
        self.audit.full_identity_read(
            request.principal, [{"returnee_id": r["_id"], "id_number": r["id_number"]} for r in items],
            via=via, purpose="temporary residence registration")
