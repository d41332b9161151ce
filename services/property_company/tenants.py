"""The property company's tenants: each tenant's access, held until the
police clear them (issued) or flag them (refused), as a returnee's gate
pass; and the occupants its staff see in flats, watched until a tenancy
covers them or TENANCY_REGISTRATION_DAYS pass (then a case
`unregistered_tenant` goes to the committee, routed to the floating office).

It learns a tenant's name, masked ID and flat, and whether the police
cleared them: never an ID number or a phone (the events it gets have none).
"""
import re
import uuid
from datetime import timedelta

import pymongo

from shared import clock
from shared.catalogue import flat_id
from shared.retention import Identity
from shared.store import Finished, Repository, insert_once

ACCESS = "tenant_access"
OCCUPANTS = "occupants"
CASE_NAMESPACE = uuid.UUID("8a4d2e6b-1f3c-4b7a-9e5d-2c6f8b1a3d47")

# What the police outcome means for the tenant's access.
DECISIONS = {"cleared": ("issued", "tenant_access_issued"), "flagged": ("refused", "tenant_access_refused")}
LIVE = ("held", "issued")
OCCUPANT_BATCH = 200  # per pass of the watch; the rest next pass


class AccessNotYetHeld(Exception):
    """The police decision (or the tenancy's end) came before the tenant's
    declaration (another queue); retried until the access exists."""


def name_key(name):
    """A name as two staff would both write it: case and spacing aside."""
    return " ".join(name.split()).casefold()


def unregistered_case_id(occupant_id):
    return str(uuid.uuid5(CASE_NAMESPACE, "unregistered_tenant:%s" % occupant_id))


def unregistered_report(occupant, registration_days):
    flat = occupant["flat"]
    return {
        "category": "unregistered_tenant",
        "description": "%s seen living at %s on %s; no tenancy covers them %g days later" % (
            occupant["name"], occupant["flat_id"], occupant["seen_at"].date().isoformat(),
            registration_days),
        "location": {"building": flat["building"], "unit": flat["unit"], "room": flat["room"],
                     "spot": None},
        "source": "walking_inspection", "reporter": None, "safety_risk": False,
    }


class TenantAccessRepository(Repository):
    OUTBOX_COLLECTIONS = (ACCESS,)
    ARCHIVED = {ACCESS: Finished(since="finished_at", open=LIVE)}
    RETAINED = {
        # A masked ID only; the name's matching key goes with the name.
        ACCESS: Identity(since="held_at", drop=("name_key",),
                         purpose="a tenant's access to the building, held until the police clear"),
        OCCUPANTS: Identity(since="seen_at", drop=("name_key",),
                            finished=Finished(since="resolved_at", open=("watching",)),
                            purpose="an occupant seen in a flat, until a tenancy covers them"),
    }

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[ACCESS].create_index("access_id", unique=True)
        db[ACCESS].create_index([("flat_id", 1), ("name_key", 1)])
        db[ACCESS].create_index([("status", 1), ("held_at", -1)])
        db[OCCUPANTS].create_index("due_at")
        db[OCCUPANTS].create_index([("flat_id", 1), ("name_key", 1)])
        db[OCCUPANTS].create_index([("seen_at", -1)])

    # --- tenants' access ---------------------------------------------------

    def hold_access(self, event):
        """Hold the tenant's access until the police clear; and an occupant
        watched at that flat under that name is covered now."""
        declared = event.payload
        now = clock.utcnow()
        access = {
            "_id": declared["tenant_id"],
            "access_id": "ta-%s" % uuid.uuid4().hex[:12],
            "tenancy_id": declared["tenancy_id"],
            "name": declared["name"],
            "name_key": name_key(declared["name"]),
            "id_masked": declared["id_masked"],
            "address": declared["address"],
            "flat_id": flat_id(declared["address"]),
            "start_date": declared["start_date"].isoformat(),
            "status": "held",
            "held_at": now,
            "decided_at": None,
            "ended_at": None,
            "finished_at": None,
            "overdue": False,
            "overdue_notified_at": None,
            "source_event_id": event.event_id,
        }
        held = self.event("tenant_access_held", {
            "tenant_id": access["_id"], "tenancy_id": access["tenancy_id"],
            "access_id": access["access_id"], "at": now}, access["tenancy_id"])
        inserted = insert_once(self, ACCESS, access, [held], made_at=event.occurred_at)
        self.cover(access["flat_id"], access["name_key"], access["_id"])
        return inserted

    def apply_police_outcome(self, event):
        outcome = event.payload
        status, event_type = DECISIONS[outcome["outcome"]]

        def decide(access):
            if access["status"] != "held":
                return None  # decided already, or the tenancy ended first
            now = clock.utcnow()
            access.update(status=status, decided_at=now)
            if status == "refused":
                access["finished_at"] = now
            return [self.event(event_type, {
                "tenant_id": access["_id"], "tenancy_id": access["tenancy_id"],
                "access_id": access["access_id"], "at": now}, access["tenancy_id"])]
        if self.modify_anywhere(ACCESS, outcome["tenant_id"], decide, event.event_id) is None:
            raise AccessNotYetHeld(outcome["tenant_id"])

    def end_access(self, event):
        """The tenancy ended: each of its tenants' access ends."""
        for tenant_id in event.payload["tenant_ids"]:
            def decide(access):
                if access["status"] not in LIVE:
                    return None
                now = clock.utcnow()
                access.update(status="ended", ended_at=now, finished_at=now)
                return []
            if self.modify_anywhere(ACCESS, tenant_id, decide, event.event_id) is None:
                raise AccessNotYetHeld(tenant_id)

    def search_access(self, tenancy_id=None, status=None, flat=None, name=None, limit=50,
                      cursor=None):
        query = {}
        if tenancy_id:
            query["tenancy_id"] = tenancy_id
        if status:
            query["status"] = status
        if flat:
            query["flat_id"] = flat
        if name:
            query["name"] = {"$regex": "^%s" % re.escape(name.strip())}
        return self.page(ACCESS, query, "held_at", pymongo.DESCENDING, limit, cursor)

    def covering(self, flat, key):
        """A live access at the flat under that name."""
        return self.db[ACCESS].find_one({"flat_id": flat, "name_key": key, "status": {"$in": list(LIVE)}},
                                        {"_id": 1})

    # --- occupants ------------------------------------------------------------

    def report_occupant(self, occupant_id, body, user, registration_days, request_hash=None):
        """The occupant, covered at once or watched until `due_at`;
        DuplicateKeyError if the id is taken (a retried Idempotency-Key)."""
        now = clock.utcnow()
        occupant = {
            "_id": occupant_id,
            "request_hash": request_hash,
            "flat": body["flat"],
            "flat_id": flat_id(body["flat"]),
            "name": body["name"],
            "name_key": name_key(body["name"]),
            "note": body.get("note"),
            "seen_at": now,
            "reported_by": user,
            "status": "watching",
            "due_at": now + timedelta(days=registration_days),
            "covered_by": None,
            "case_id": None,
            "resolved_at": None,
        }
        covering = self.covering(occupant["flat_id"], occupant["name_key"])
        if covering is not None:
            occupant.update(status="covered", covered_by=covering["_id"], due_at=None,
                            resolved_at=now)
        self.db[OCCUPANTS].insert_one(occupant)
        return occupant

    def cover(self, flat, key, tenant_id):
        """Occupants watched at `flat` under that name are covered by the tenant."""
        now = clock.utcnow()
        for occupant in self.db[OCCUPANTS].find({"flat_id": flat, "name_key": key,
                                                 "status": "watching"}, {"_id": 1}):
            self.update(OCCUPANTS, {"_id": occupant["_id"], "status": "watching"}, {"$set": {
                "status": "covered", "covered_by": tenant_id, "due_at": None, "resolved_at": now}})

    def due_occupants(self, now):
        """Occupants still watched past their limit, by the due-time key."""
        return list(self.db[OCCUPANTS].find({"due_at": {"$lte": now}}).limit(OCCUPANT_BATCH))

    def mark_unregistered(self, occupant_id, case_id):
        return self.update(OCCUPANTS, {"_id": occupant_id, "status": "watching"}, {"$set": {
            "status": "unregistered", "case_id": case_id, "due_at": None,
            "resolved_at": clock.utcnow()}})

    def get_occupant(self, occupant_id):
        return self.db[OCCUPANTS].find_one({"_id": occupant_id})

    def search_occupants(self, status=None, flat=None, limit=50, cursor=None):
        query = {}
        if status:
            query["status"] = status
        if flat:
            query["flat_id"] = flat
        return self.page(OCCUPANTS, query, "seen_at", pymongo.DESCENDING, limit, cursor)
