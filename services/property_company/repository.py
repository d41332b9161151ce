"""The property company's gate passes, one per registered arrival."""
import re
import uuid

import pymongo

from shared import clock
from shared.retention import Identity
from shared.store import Finished, Repository, WriteConflict, insert_once

PASSES = "gate_passes"

# What the police outcome means for the pass.
DECISIONS = {"cleared": ("issued", "gate_pass_issued"), "flagged": ("refused", "gate_pass_refused")}


class PassNotYetHeld(Exception):
    """The police decision came before the housing declaration (another
    queue); retried until the pass exists."""


class GatePassRepository(Repository):
    OUTBOX_COLLECTIONS = (PASSES,)
    ARCHIVED = {PASSES: Finished(since="decided_at", open=("held",))}
    REMEMBERED = (PASSES,)  # the police's outcome follows the pass it decides
    RETAINED = {PASSES: Identity(texts=("steward_notice.text",), since="held_at",  # a masked ID only
                                 purpose="the gate pass of an arrival and the building steward's notice")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[PASSES].create_index("pass_id", unique=True)
        db[PASSES].create_index([("status", 1), ("address.building", 1)])

    def hold_pass(self, event):
        """Notify the building steward and hold the pass until the police clear."""
        declared = event.payload
        now = clock.utcnow()
        address = declared["address"]
        gate_pass = {
            "_id": declared["returnee_id"],
            "pass_id": "gp-%s" % uuid.uuid4().hex[:12],
            "name": declared["name"],
            "id_masked": declared["id_masked"],
            "address": address,
            "arrival_date": declared["arrival_date"].isoformat(),
            "status": "held",
            "held_at": now,
            "decided_at": None,
            "steward_notice": {
                "building": address["building"],
                "text": "%s arrives at %s-%s-%s; gate pass held until the police clear."
                        % (declared["name"], address["building"], address["unit"], address["room"]),
                "at": now,
            },
            "overdue": False,
            "overdue_notified_at": None,
            "source_event_id": event.event_id,
        }
        held = self.event("gate_pass_held", {"returnee_id": gate_pass["_id"],
                                             "pass_id": gate_pass["pass_id"], "at": now},
                          gate_pass["_id"])
        return insert_once(self, PASSES, gate_pass, [held], made_at=event.occurred_at)

    def apply_police_outcome(self, event):
        """The pass issued or refused on the police's outcome, once: one
        guarded write on the pass this process held (Repository.apply_to),
        read again only when that copy is stale."""
        returnee_id = event.payload["returnee_id"]
        with self.locked(PASSES, returnee_id):
            for _ in range(2):
                gate_pass = self.current(PASSES, returnee_id)
                if gate_pass is None:
                    raise PassNotYetHeld(returnee_id)
                if (gate_pass.get("archived_at") or gate_pass["status"] != "held"
                        or event.event_id in gate_pass.get("applied_events", ())):
                    return False  # decided already (a replayed decision)
                status, event_type = DECISIONS[event.payload["outcome"]]
                now = clock.utcnow()
                decided = self.event(event_type, {"returnee_id": returnee_id,
                                                  "pass_id": gate_pass["pass_id"], "at": now}, returnee_id)
                if self.apply_to(PASSES, gate_pass, event.event_id,
                                 {"$set": {"status": status, "decided_at": now}}, [decided]) is not None:
                    return True
            raise WriteConflict("gate pass %s kept changing" % returnee_id)

    def search(self, returnee_id=None, status=None, name=None, building=None, unit=None, room=None,
               limit=50, cursor=None):
        """Passes by person or flat: the guard's gate lookup and the steward's list."""
        query = {}
        if returnee_id:
            query["_id"] = returnee_id
        if status:
            query["status"] = status
        if name:
            query["name"] = {"$regex": "^%s" % re.escape(name.strip())}
        for part, value in (("building", building), ("unit", unit), ("room", room)):
            if value:
                query["address.%s" % part] = value
        return self.page(PASSES, query, "held_at", pymongo.DESCENDING, limit, cursor)
