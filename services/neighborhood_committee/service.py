"""neighborhood_committee: registers returnees, opens the linkage with the
four other parties, follows it until every party has acted, escalates what
is late, and closes it."""
import logging
from datetime import date

from pymongo.errors import DuplicateKeyError

from shared import clock, idempotency, joint
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound
from shared.identity import mask_id
from shared.parties import COMMITTEE
from shared.service import PlatformService
from shared.store import Store
from shared.timer import every
from shared.web import Page, api, page

from services.neighborhood_committee import domain
from services.neighborhood_committee.briefings import Briefings
from services.neighborhood_committee.dispatch import CaseDispatch
from services.neighborhood_committee.exports import PersonExports
from services.neighborhood_committee.households import HouseholdRegistry
from services.neighborhood_committee.repository import LINKAGES, LinkageRepository, VersionConflict
from services.neighborhood_committee.rights_desk import RightsDesk
from services.neighborhood_committee.trace_desk import Traces
from services.neighborhood_committee.tenants import TenantRegistry
from services.neighborhood_committee.schemas import (LinkageDetailSchema, LinkageQuery,
                                                     LinkageSummarySchema, RegistrationSchema)

log = logging.getLogger(__name__)

# The hot path's schemas, built once (building one copies all its fields).
REGISTRATION = RegistrationSchema()
SUMMARY = LinkageSummarySchema()
DETAIL = LinkageDetailSchema()

def registration_events(repo, linkage):
    """What one registration tells the others: each party only what it needs."""
    arrival_date = date.fromisoformat(linkage["arrival_date"])
    full = {
        "returnee_id": linkage["_id"], "name": linkage["name"], "id_number": linkage["id_number"],
        "phone": linkage["phone"], "address": linkage["address"], "origin": linkage["origin"],
        "arrival_date": arrival_date, "local_hukou": linkage["local_hukou"],
        "registered_at": linkage["registered_at"],
    }
    housing = {
        "returnee_id": linkage["_id"], "name": linkage["name"],
        "id_masked": mask_id(linkage["id_number"]), "address": linkage["address"],
        "arrival_date": arrival_date, "registered_at": linkage["registered_at"],
    }
    events = [repo.event("returnee_registered", full, linkage["_id"]),
              repo.event("returnee_housing_declared", housing, linkage["_id"])]
    if not linkage["local_hukou"]:
        events.append(repo.event("non_local_returnee_registered", full, linkage["_id"]))
    return events


class NeighborhoodCommitteeService(Traces, PersonExports, RightsDesk, TenantRegistry, CaseDispatch,
                                   HouseholdRegistry, Briefings, PlatformService):
    name = COMMITTEE
    linkages = Store(LinkageRepository)

    @api("POST", "/api/v1/returnees", permission="returnees:register", body=REGISTRATION,
         idempotent=True, responses={201: SUMMARY}, summary="Register a returnee or newcomer")
    def register_returnee(self, request):
        key_header = request.headers.get(idempotency.HEADER)
        registration = request.data
        request_hash = idempotency.request_hash(registration, self.infra.settings.secret)
        returnee_id = idempotency.resource_id(key_header, request.principal.subject)
        if key_header:
            replay = self._replayed(returnee_id, key_header, request_hash)
            if replay is not None:
                return replay

        key = "%s:%s" % (request.principal.subject, key_header) if key_header else returnee_id
        registration["registered_by"] = request.principal.subject
        linkage = domain.new_linkage(returnee_id, registration, clock.utcnow(),
                                     self.infra.settings.time_limits, key, request_hash)
        try:
            self.linkages.register(linkage, registration_events(self.linkages, linkage))
        except DuplicateKeyError:
            # The same key raced us (answer as its retry), or the person has
            # an open registration (the unique `open_person` says so).
            replay = key_header and self._replayed(returnee_id, key_header, request_hash)
            if replay:
                return replay
            existing = self.linkages.open_for_person(registration["id_number"])
            if existing:
                raise Conflict("this person already has an open registration: %s" % existing["_id"])
            raise
        self.infra.metrics.registrations.inc()
        # Answer from what was written: reading it back costs a query.
        return 201, SUMMARY.dump(linkage), {
            "Location": "/api/v1/returnees/%s" % returnee_id}

    def _replayed(self, returnee_id, key_header, request_hash):
        earlier = idempotency.replay(self.linkages.get(returnee_id), request_hash, key_header,
                                     "registration")
        if earlier is None:
            return None
        return 201, SUMMARY.dump(earlier), {
            "Location": "/api/v1/returnees/%s" % earlier["_id"], idempotency.REPLAYED: "true"}

    @api("GET", "/api/v1/returnees/<string:returnee_id>", permission="returnees:read",
         responses={200: DETAIL}, summary="A linkage with the full identity (audited)")
    def get_returnee(self, request, returnee_id):
        linkage = self.linkages.get(returnee_id)
        if linkage is None:
            raise NotFound("no returnee %s" % returnee_id)
        self.audit.full_identity_read(request.principal, [{"returnee_id": returnee_id,
                                                           "id_number": linkage["id_number"]}],
                                      via="GET /api/v1/returnees/{id}", purpose="linkage follow-up")
        return DETAIL.dump(linkage)

    @api("GET", "/api/v1/returnees", permission="returnees:read", query=LinkageQuery(),
         responses={200: Page(SUMMARY)}, summary="Linkages, for the daily review")
    def list_returnees(self, request):
        query = request.query
        found = self.linkages.search(**query)
        return page(SUMMARY.dump(found.items, many=True), found, query)

    def _record(self, event):
        party, status, done = domain.party_update_for(event.event_type, event.payload)
        returnee_id = event.payload["returnee_id"]
        with self.linkages.locked(LINKAGES, returnee_id):
            self._record_locked(event, party, status, done)

    def _record_locked(self, event, party, status, done):
        metrics = self.infra.metrics
        for _ in range(10):
            linkage = self.linkages.for_party_event(event.payload["returnee_id"])
            if linkage is None:
                raise LookupError("no linkage %s yet" % event.payload["returnee_id"])
            if linkage.get("archived_at"):
                return  # closed and archived long ago: a replayed event changes nothing
            now = clock.utcnow()
            changes = domain.apply_party_update(linkage, party, status, done, now)
            try:
                applied = self.linkages.record_party_event(linkage, event.event_id, changes)
            except VersionConflict:
                continue
            if applied and "dispatched_at" in changes:
                metrics.dispatch_latency.observe((now - linkage["registered_at"]).total_seconds())
            if applied and changes.get("status") == "closed":
                metrics.linkages_closed.inc()
            return
        raise VersionConflict(event.payload["returnee_id"])

    @event_handler("identity_check_opened")
    @event_handler("identity_check_completed")
    @event_handler("non_local_arrival_recorded")
    @event_handler("gate_pass_held")
    @event_handler("gate_pass_issued")
    @event_handler("gate_pass_refused")
    @event_handler("housing_allocation_checked")
    def on_party_acted(self, event):
        """Each party's progress on a linkage, whichever party and step."""
        self._record(event)

    @every("OVERDUE_SCAN_SECONDS")
    def escalate_overdue(self):
        """Mark parties past their limit overdue and tell them, once each,
        finding the linkages by their due-time key (`next_due_at`); then
        refresh the open and overdue gauges."""
        metrics = self.infra.metrics
        now = clock.utcnow()
        for linkage in self.linkages.due(now):
            for party in joint.to_mark(linkage["parties"], now) if linkage["status"] == "open" else ():
                self._escalate(linkage, party, now)
        open_count, overdue = self.linkages.open_counts(now)
        metrics.linkages_open.set(open_count)
        for party, count in overdue.items():
            metrics.linkages_overdue.labels(party=party).set(count)

    def _escalate(self, linkage, party, now):
        event = self.linkages.event("linkage_party_overdue", {
            "returnee_id": linkage["_id"], "party": party,
            "due_at": linkage["parties"][party]["due_at"], "detected_at": now,
        }, linkage["_id"])
        if self.linkages.escalate(linkage, party, now, event):
            self.infra.metrics.party_overdue.labels(party=party).inc()
            log.warning("linkage overdue", extra={"correlation_id": linkage["_id"],
                                                  "fields": {"party": party}})
