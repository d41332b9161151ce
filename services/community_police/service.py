"""community_police: checks the identity and public-security risk of every
newcomer or returnee, and of every tenant the floating-population office
registers (the same queue, marked as a tenant's), and clears or flags them."""
from shared import rights
from shared.cases.entrypoints import CaseDesk
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound
from shared.parties import POLICE
from shared.people import PersonRecords
from shared.trace import TraceAnswers
from shared.briefings import PartyBriefings
from shared.service import PlatformService
from shared.store import Store
from shared.web import Page, api, page

from services.community_police.repository import CHECKS, CheckRepository
from services.community_police.schemas import CheckQuery, CheckSchema, DecisionSchema


# The decision's schemas, built once (building one copies all its fields).
DECISION = DecisionSchema()
DECIDED = CheckSchema(only=("id", "status", "decided_at", "decided_by"))
CHECK = CheckSchema()


class CommunityPoliceService(TraceAnswers, PersonRecords, CaseDesk, PartyBriefings, PlatformService):
    name = POLICE
    checks = Store(CheckRepository)

    @event_handler("returnee_registered")
    def on_returnee_registered(self, event):
        self.checks.open_check(event)

    @event_handler("tenant_registered")
    def on_tenant_registered(self, event):
        self.checks.open_tenant_check(event)

    @event_handler("tenancy_party_overdue")
    def on_tenancy_party_overdue(self, event):
        if self.checks.note_overdue(CHECKS, event, key="tenant_id"):
            self.infra.metrics.overdue_notices.inc()

    @event_handler("linkage_party_overdue")
    def on_linkage_party_overdue(self, event):
        if self.checks.note_overdue(CHECKS, event):
            self.infra.metrics.overdue_notices.inc()

    @event_handler("returnee_details_corrected")
    def on_returnee_details_corrected(self, event):
        rights.apply_correction(self.checks, CHECKS, event)

    @event_handler("returnee_erasure_requested")
    def on_returnee_erasure_requested(self, event):
        rights.answer_erasure(self.checks, CHECKS, event, self.infra.settings.legal_hold)

    @api("GET", "/api/v1/checks", permission="checks:read", query=CheckQuery(),
         responses={200: Page(CHECK)}, summary="Identity and risk checks, full identity (audited)")
    def list_checks(self, request):
        query = request.query
        found = self.checks.search(**query)
        self.audit.full_identity_read(
            request.principal, [{"returnee_id": c["_id"], "id_number": c["id_number"]} for c in found.items],
            via="GET /api/v1/checks", purpose="identity and risk check")
        return page(CHECK.dump(found.items, many=True), found, query)

    @api("GET", "/api/v1/checks/<string:check_id>", permission="checks:read",
         responses={200: CHECK}, summary="One check, full identity (audited)")
    def get_check(self, request, check_id):
        check = self._existing(check_id)
        self.audit.full_identity_read(request.principal, [{"returnee_id": check_id,
                                                           "id_number": check["id_number"]}],
                                      via="GET /api/v1/checks/{id}", purpose="identity and risk check")
        return CHECK.dump(check)

    @api("POST", "/api/v1/checks/<string:check_id>/decision", permission="checks:decide",
         body=DECISION, responses={200: DECIDED, 409: None}, summary="Clear or flag a person")
    def decide(self, request, check_id):
        decision = request.data
        decided, check = self.checks.decide(check_id, decision["outcome"], decision["note"],
                                            request.principal.subject)
        if check is None:
            raise NotFound("no check %s" % check_id)
        if not decided:
            raise Conflict("check %s was already decided: %s" % (check_id, check["status"]))
        return DECIDED.dump(check)

    def _existing(self, check_id):
        check = self.checks.get(check_id)
        if check is None:
            raise NotFound("no check %s" % check_id)
        return check
