"""The floating-population office's tenancies, beside its registry of
non-local residents: one document per tenancy, carrying its outbox."""
import uuid
from datetime import date

import pymongo

from shared import clock, tenant_tasks
from shared.retention import Identity
from shared.store import Finished, insert_once

from services.floating_population_office import tenancy as domain
from services.floating_population_office.repository import REGISTRATIONS, RegistryRepository

TENANCIES = "tenancies"
CASE_NAMESPACE = uuid.UUID("3c1f7a52-6e0b-4d8e-9b2a-7f4e1c6d8a93")


def group_rental_case_id(tenancy_id):
    """One group-rental case per tenancy that crowds its flat, whatever the retries."""
    return str(uuid.uuid5(CASE_NAMESPACE, "group_rental:%s" % tenancy_id))


class TenancyRepository(RegistryRepository):
    OUTBOX_COLLECTIONS = RegistryRepository.OUTBOX_COLLECTIONS + (TENANCIES,)
    ARCHIVED = dict(RegistryRepository.ARCHIVED, **{
        TENANCIES: Finished(since="ended_at", open=("active",))})
    PERSONAL = dict(RegistryRepository.PERSONAL, **{TENANCIES: ("identities",)})
    RETAINED = dict(RegistryRepository.RETAINED, **{TENANCIES: Identity(
        names=("landlord",), groups=("tenants", "identities"), since="registered_at",
        purpose="a registered tenancy and the identity check of its tenants")})

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        tenancies = db[TENANCIES]
        tenancies.create_index([("status", 1), ("registered_at", -1)])
        tenancies.create_index([("flat_id", 1), ("status", 1)])
        tenancies.create_index("next_due_at")
        tenancies.create_index("end_due")
        tenancies.create_index("group_rental_due")

    def register_tenancy(self, tenancy):
        """The tenancy and, in the same write, each tenant's check at the
        police, declaration to the property company and the committee, and
        hukou (local or not) to the committee.
        DuplicateKeyError if the id is taken (a retried Idempotency-Key)."""
        self.insert(TENANCIES, tenancy, self._registration_events(tenancy))

    def _registration_events(self, tenancy):
        start = tenancy["start_date"]
        events = []
        for item, identity in zip(tenancy["tenants"], tenancy["identities"]):
            common = {"tenant_id": item["tenant_id"], "tenancy_id": tenancy["_id"],
                      "name": item["name"], "address": tenancy["address"],
                      "start_date": _date(start), "registered_at": tenancy["registered_at"]}
            events.append(self.event("tenant_registered", dict(
                common, id_number=identity["id_number"], phone=identity["phone"],
                local_hukou=item["local_hukou"]), tenancy["_id"]))
            events.append(self.event("tenant_housing_declared", dict(
                common, id_masked=item["id_masked"]), tenancy["_id"]))
            events.append(self.event("tenant_hukou_recorded", {
                "tenant_id": item["tenant_id"], "tenancy_id": tenancy["_id"],
                "local_hukou": item["local_hukou"],
                "registered_at": tenancy["registered_at"]}, tenancy["_id"]))
        return events

    def get_tenancy(self, tenancy_id):
        return self.find(TENANCIES, tenancy_id)

    def search_tenancies(self, status=None, flat=None, checks=None, overdue=None, limit=50,
                         cursor=None):
        query = {}
        if status:
            query["status"] = status
        if flat:
            query["flat_id"] = flat
        if checks:
            query["checks"] = checks
        if overdue is True:
            query["tenants.tasks"] = {"$exists": True}
            query["$or"] = [{"tenants.tasks.%s.overdue" % p: True} for p in tenant_tasks.TENANT_PARTIES]
        return self.page(TENANCIES, query, "registered_at", pymongo.DESCENDING, limit, cursor)

    def active_tenants_at(self, flat_id):
        """How many tenants the active tenancies of a flat have."""
        return sum(len(found["tenants"]) for found in self.db[TENANCIES].find(
            {"flat_id": flat_id, "status": "active"}, {"tenants.tenant_id": 1}))

    def group_rental_reported(self, tenancy_id):
        self.update(TENANCIES, {"_id": tenancy_id}, {"$set": {"group_rental_due": None}})

    def group_rentals_unreported(self, before):
        """Tenancies whose group-rental case is still to report, by that key."""
        return list(self.db[TENANCIES].find({"group_rental_due": {"$lte": before}}, {"_id": 1})
                    .limit(200))

    # --- the non-local tenants' temporary-residence registrations ----------

    def register_residents(self, tenancy):
        """A registration for each non-local tenant, once each (a retry, or
        the police's `tenant_check_opened` after a crash, completes what is
        missing); the tenancy notes each registration's id."""
        now = clock.utcnow()
        for item, identity in zip(tenancy["tenants"], tenancy["identities"]):
            if item["local_hukou"] or item.get("registration_id"):
                continue
            registration_id = "fp-%s" % uuid.uuid5(CASE_NAMESPACE, item["tenant_id"]).hex[:12]
            insert_once(self, REGISTRATIONS, {
                "_id": item["tenant_id"], "registration_id": registration_id,
                "kind": "tenant", "tenancy_id": tenancy["_id"],
                "name": item["name"], "id_number": identity["id_number"],
                "phone": identity["phone"], "address": tenancy["address"],
                "origin": None, "arrival_date": tenancy["start_date"],
                "status": "registered", "residence": "residing", "recorded_at": now,
                "ended_at": None, "overdue": False, "overdue_notified_at": None,
            })

            def noted(document, tenant_id=item["tenant_id"], rid=registration_id):
                found = domain.tenant(document, tenant_id)
                if found is None or found.get("registration_id"):
                    return None
                found["registration_id"] = rid
                return []
            self.modify(TENANCIES, tenancy["_id"], noted)

    def end_residents(self, tenancy, ended_at):
        """The tenancy ends: its tenants' registrations end (departed).
        Written before the tenancy's own end, so that a crash between the
        two leaves the tenancy still due to end: the timer's next pass, or
        the retried request, ends it and finds these done (idempotent)."""
        for item in tenancy["tenants"]:
            def departed(document):
                if document.get("residence") != "residing":
                    return None
                document.update(status="departed", residence="ended", ended_at=ended_at)
                return []
            self.modify_anywhere(REGISTRATIONS, item["tenant_id"], departed)

    # --- the joint work --------------------------------------------------

    def record_party_event(self, event):
        """A party's progress on a tenant; idempotent (the event id is
        recorded with the change). LookupError while the tenancy is unknown."""
        payload = event.payload
        party, status, done = tenant_tasks.party_update_for(event.event_type, payload)

        def decide(tenancy):
            changed = domain.apply_party_update(tenancy, payload["tenant_id"], party, status, done,
                                                clock.utcnow())
            return [] if changed else None
        written = self.modify_anywhere(TENANCIES, payload["tenancy_id"], decide, event.event_id)
        if written is None:
            raise LookupError("no tenancy %s" % payload["tenancy_id"])
        return written

    def due(self, now):
        """Active tenancies with a tenant's task past its limit, not yet marked."""
        return self.db[TENANCIES].find({"next_due_at": {"$lte": now}}, {"_id": 1})

    def ending(self, now):
        """Active tenancies whose end date has passed."""
        return self.db[TENANCIES].find({"end_due": {"$lte": now}, "status": "active"}, {"_id": 1})

    def escalate(self, tenancy_id, now):
        """Mark every task past its limit overdue and tell its party, once
        per limit: the marks and their events are one write. [(tenant_id,
        party)] marked."""
        marked = []

        def decide(tenancy):
            del marked[:]
            events = []
            for tenant_id, party in domain.to_mark(tenancy, now):
                due_at = domain.mark(tenancy, tenant_id, party, now)
                if due_at is not None:
                    marked.append((tenant_id, party))
                    events.append(self.event("tenancy_party_overdue", {
                        "tenant_id": tenant_id, "tenancy_id": tenancy["_id"], "party": party,
                        "due_at": due_at, "detected_at": now}, tenancy["_id"]))
            if not events:
                tenancy["next_due_at"] = domain.next_due_at(tenancy["tenants"]) \
                    if tenancy["status"] == "active" else None
                return []
            return events
        self.modify(TENANCIES, tenancy_id, decide)
        return marked

    def end_tenancy(self, tenancy_id, ended_on, user, reason=None):
        """End an active tenancy and tell the property company and the
        committee in the same write; (tenancy, ended now)."""
        now = clock.utcnow()
        ended = []

        def decide(tenancy):
            if tenancy["status"] != "active":
                return None
            domain.end(tenancy, ended_on, user, now, reason)
            ended.append(True)
            return [self.event("tenancy_ended", {
                "tenancy_id": tenancy["_id"], "address": tenancy["address"],
                "tenant_ids": [t["tenant_id"] for t in tenancy["tenants"]],
                "ended_on": ended_on, "ended_at": now}, tenancy["_id"])]
        written = self.modify_anywhere(TENANCIES, tenancy_id, decide)
        return self.opened(TENANCIES, written), bool(ended)


def _date(iso):
    return date.fromisoformat(iso)
