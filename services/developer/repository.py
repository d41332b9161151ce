"""The developer's allocation records and the housing checks made against them."""
import pymongo

from shared import clock
from shared.retention import Identity
from shared.store import Finished, Repository, insert_once

from services.developer.domain import check_claim
from shared.catalogue import flat_id

ALLOCATIONS = "allocations"
CHECKS = "housing_checks"


class HousingRepository(Repository):
    OUTBOX_COLLECTIONS = (CHECKS,)
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

    def save_allocation(self, allocation):
        """Create or replace a flat's allocation; True if it is new."""
        flat = flat_id(allocation)
        document = dict(allocation, updated_at=clock.utcnow())
        result = self.db[ALLOCATIONS].replace_one({"_id": flat}, dict(document, _id=flat), upsert=True)
        return result.upserted_id is not None, self.db[ALLOCATIONS].find_one({"_id": flat})

    def allocations(self, building=None, limit=50, cursor=None):
        query = {"building": building} if building else {}
        return self.page(ALLOCATIONS, query, "_id", pymongo.ASCENDING, limit, cursor)

    def allocation(self, flat):
        return self.db[ALLOCATIONS].find_one({"_id": flat})

    def check_declaration(self, event):
        declared = event.payload
        now = clock.utcnow()
        result = check_claim(self.allocation(flat_id(declared["address"])), declared["name"])
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
