"""The registry of non-local residents (temporary residence registrations)."""
import uuid

import pymongo

from shared import clock
from shared.retention import Identity
from shared.store import Finished, Repository, archive_name, insert_once

REGISTRATIONS = "registrations"


class RegistryRepository(Repository):
    OUTBOX_COLLECTIONS = (REGISTRATIONS,)
    # A registration is a record once made: it leaves the working set
    # ARCHIVE_AFTER_SECONDS later; a tenant's stays while they reside.
    ARCHIVED = {REGISTRATIONS: Finished(since="recorded_at", open=("residing",), status="residence")}
    PERSONAL = {REGISTRATIONS: ("id_number", "phone")}
    RETAINED = {REGISTRATIONS: Identity(id_numbers=("id_number",), phones=("phone",),
                                        since="recorded_at",
                                        purpose="the temporary-residence registration of a non-local arrival")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[REGISTRATIONS].create_index("registration_id", unique=True)
        db[REGISTRATIONS].create_index([("status", 1), ("recorded_at", -1)])
        db[REGISTRATIONS].create_index([("residence", 1), ("arrival_date", 1)])

    def record_arrival(self, event):
        arrival = event.payload
        now = clock.utcnow()
        registration = {
            "_id": arrival["returnee_id"],
            "registration_id": "fp-%s" % uuid.uuid4().hex[:12],
            "name": arrival["name"],
            "id_number": arrival["id_number"],
            "phone": arrival["phone"],
            "address": arrival["address"],
            "origin": arrival["origin"],
            "arrival_date": arrival["arrival_date"].isoformat(),
            "status": "registered",
            "recorded_at": now,
            "overdue": False,
            "overdue_notified_at": None,
            "source_event_id": event.event_id,
        }
        recorded = self.event("non_local_arrival_recorded", {
            "returnee_id": registration["_id"], "registration_id": registration["registration_id"],
            "recorded_at": now}, registration["_id"])
        return insert_once(self, REGISTRATIONS, registration, [recorded], made_at=event.occurred_at)

    def search(self, returnee_id=None, status=None, kind=None, tenancy_id=None,
               permit_cutoff=None, permit_eligible=None, limit=50, cursor=None):
        """Registrations; `permit_eligible`: tenants still residing who moved
        in on or before `permit_cutoff` (true) or after it (false)."""
        query = {}
        if returnee_id:
            query["_id"] = returnee_id
        if status:
            query["status"] = status
        if kind == "tenant" or tenancy_id:
            query["kind"] = "tenant"
        elif kind == "returnee":
            query["kind"] = {"$ne": "tenant"}
        if tenancy_id:
            query["tenancy_id"] = tenancy_id
        if permit_eligible is not None:
            query.update(kind="tenant", residence="residing", arrival_date={
                "$lte" if permit_eligible else "$gt": permit_cutoff.isoformat()})
        return self.page(REGISTRATIONS, query, "recorded_at", pymongo.DESCENDING, limit, cursor)

    def by_registration_id(self, registration_id):
        query = {"registration_id": registration_id}
        return self.opened(REGISTRATIONS, self.db[REGISTRATIONS].find_one(query)
                           or self.db[archive_name(REGISTRATIONS)].find_one(query))
