"""The developer's allocation records and the housing checks made against them."""
import pymongo

from pymongo.errors import DuplicateKeyError

from shared import clock
from shared.errors import Conflict, ValidationFailed
from shared.retention import Identity
from shared.store import Finished, Repository, insert_once

from services.developer.domain import check_claim, handover_refusal
from shared.catalogue import flat_id

ALLOCATIONS = "allocations"
CHECKS = "housing_checks"
HANDOVERS = "handovers"


class HousingRepository(Repository):
    OUTBOX_COLLECTIONS = (CHECKS, HANDOVERS)
    # A housing check is finished when made.
    ARCHIVED = {CHECKS: Finished(since="checked_at")}
    # The name checked against an allocation; the allocations themselves are
    # the flats' register and are kept.
    RETAINED = {CHECKS: Identity(since="checked_at",
                                 purpose="the check of a claimed flat against the relocation allocations")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[CHECKS].create_index([("result", 1), ("checked_at", -1)])
        db[HANDOVERS].create_index([("flat.building", 1), ("recorded_at", -1)])

    def save_allocation(self, allocation):
        """Create or replace a flat's allocation; True if it is new. A flat
        with a recorded handover stays handed over."""
        flat = flat_id(allocation)
        with self.locked(ALLOCATIONS, flat):
            document = dict(allocation, updated_at=clock.utcnow())
            if self.handover(flat) is not None:
                document["handed_over"] = True
            result = self.db[ALLOCATIONS].replace_one({"_id": flat}, dict(document, _id=flat),
                                                      upsert=True)
        return result.upserted_id is not None, self.db[ALLOCATIONS].find_one({"_id": flat})

    # --- handovers ----------------------------------------------------------

    def record_handover(self, handover, user):
        """Hand a flat over to its allocated household: the handover and its
        event in one insert, then the allocation marked handed over. Refused
        (nothing written) without an allocation, to another household, or a
        second time."""
        flat = flat_id(handover["flat"])
        with self.locked(ALLOCATIONS, flat):
            allocation = self.allocation(flat)
            refusal = handover_refusal(allocation, handover["members"], flat)
            if refusal is not None:
                status, field, reason = refusal
                if status == 409:
                    raise Conflict(reason, errors=[{"field": field, "reason": reason}])
                raise ValidationFailed.from_errors([{"field": field, "reason": reason}])
            now = clock.utcnow()
            document = {
                "_id": flat,
                "flat": handover["flat"],
                "members": [member.strip() for member in handover["members"]],
                "handed_over_on": handover["handed_over_on"].isoformat(),
                "recorded_at": now,
                "recorded_by": user,
            }
            recorded = self.event("flat_handover_recorded", {
                "handover_id": flat, "flat": handover["flat"], "members": document["members"],
                "handed_over_on": handover["handed_over_on"], "recorded_at": now}, flat)
            try:
                self.insert(HANDOVERS, document, [recorded])
            except DuplicateKeyError:
                earlier = self.handover(flat)
                raise Conflict("flat %s was handed over already, on %s"
                               % (flat, earlier["handed_over_on"] if earlier else "an earlier day"))
            # The returnee check reads the handover itself, so a crash before
            # this write leaves no check wrong; the flag follows for the lists.
            self.db[ALLOCATIONS].update_one({"_id": flat}, {"$set": {
                "handed_over": True, "updated_at": now}})
        return document

    def handover(self, flat):
        return self.db[HANDOVERS].find_one({"_id": flat})

    def handovers(self, building=None, limit=50, cursor=None):
        query = {"flat.building": building} if building else {}
        return self.page(HANDOVERS, query, "recorded_at", pymongo.DESCENDING, limit, cursor)

    def allocations(self, building=None, limit=50, cursor=None):
        query = {"building": building} if building else {}
        return self.page(ALLOCATIONS, query, "_id", pymongo.ASCENDING, limit, cursor)

    def allocation(self, flat):
        return self.db[ALLOCATIONS].find_one({"_id": flat})

    def check_declaration(self, event):
        declared = event.payload
        now = clock.utcnow()
        flat = flat_id(declared["address"])
        allocation = self.allocation(flat)
        # A handover is looked for only when the allocation's own flag says
        # not handed over (the flag may lag a recorded handover).
        handover = (self.handover(flat) if allocation is not None
                    and not allocation.get("handed_over", True) else None)
        result = check_claim(allocation, declared["name"], handover)
        check = {
            "_id": declared["returnee_id"],
            "name": declared["name"],
            "id_masked": declared["id_masked"],
            "address": declared["address"],
            "result": result,
            "mismatch": result != "matched",
            "checked_at": now,
            "overdue": False,
            "overdue_notified_at": None,
            "source_event_id": event.event_id,
        }
        checked = self.event("housing_allocation_checked", {
            "returnee_id": check["_id"], "result": result, "checked_at": now}, check["_id"])
        return insert_once(self, CHECKS, check, [checked], made_at=event.occurred_at)

    def search(self, returnee_id=None, result=None, mismatch=None, limit=50, cursor=None):
        query = {}
        if returnee_id:
            query["_id"] = returnee_id
        if result:
            query["result"] = result
        if mismatch is not None:
            query["mismatch"] = mismatch
        return self.page(CHECKS, query, "checked_at", pymongo.DESCENDING, limit, cursor)
