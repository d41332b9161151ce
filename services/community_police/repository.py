"""The police database: one identity and risk check per registration."""
import pymongo

from shared import clock
from shared.retention import Identity
from shared.store import Finished, Repository, WriteConflict, insert_once

CHECKS = "checks"


class CheckRepository(Repository):
    OUTBOX_COLLECTIONS = (CHECKS,)
    ARCHIVED = {CHECKS: Finished(since="decided_at", open=("pending",))}
    PERSONAL = {CHECKS: ("id_number", "phone")}
    REMEMBERED = (CHECKS,)  # an officer's decision on a check opened this morning
    RETAINED = {CHECKS: Identity(id_numbers=("id_number",), phones=("phone",), since="opened_at",
                                 purpose="the identity and public-security risk check of a registration")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[CHECKS].create_index([("status", 1), ("opened_at", 1)])

    def open_check(self, event):
        """A pending check for a registration; once per registration."""
        registration = event.payload
        check = _pending_check(registration["returnee_id"], registration, event,
                               origin=registration["origin"],
                               arrival_date=registration["arrival_date"].isoformat())
        opened = self.event("identity_check_opened",
                            {"returnee_id": check["_id"], "opened_at": check["opened_at"]}, check["_id"])
        return insert_once(self, CHECKS, check, [opened], made_at=event.occurred_at)

    def open_tenant_check(self, event):
        """A pending check for a tenant, in the same queue as a returnee's,
        marked as a tenant's; once per tenant."""
        tenant = event.payload
        check = _pending_check(tenant["tenant_id"], tenant, event, kind="tenant",
                               tenancy_id=tenant["tenancy_id"], origin=None,
                               arrival_date=tenant["start_date"].isoformat())
        opened = self.event("tenant_check_opened", {
            "tenant_id": check["_id"], "tenancy_id": check["tenancy_id"], "opened_at": check["opened_at"]},
            check["tenancy_id"])
        return insert_once(self, CHECKS, check, [opened], made_at=event.occurred_at)

    def get(self, check_id):
        return self.find(CHECKS, check_id)

    def decide(self, check_id, outcome, note, officer):
        """Record the decision on a check if it is still pending, in one
        guarded write on the check this process opened (Repository.apply_to),
        read again only when that copy is stale. (True, the check as decided)
        if decided now; (False, the check) if it was decided already; (False,
        None) if there is no such check. Personal fields stay sealed."""
        with self.locked(CHECKS, check_id):
            for _ in range(2):
                check = self.current(CHECKS, check_id)
                if check is None or check["status"] != "pending":
                    return False, check
                now = clock.utcnow()
                decision = {"status": outcome, "note": note, "decided_by": officer, "decided_at": now}
                if check.get("kind") == "tenant":
                    completed = self.event("tenant_check_completed", {
                        "tenant_id": check["_id"], "tenancy_id": check["tenancy_id"], "outcome": outcome,
                        "decided_at": now}, check["tenancy_id"])
                else:
                    completed = self.event("identity_check_completed",
                                           {"returnee_id": check["_id"], "outcome": outcome,
                                            "decided_at": now}, check["_id"])
                decided = self.apply_to(CHECKS, check, None, {"$set": decision}, [completed])
                if decided is not None:
                    return True, decided
        raise WriteConflict("check %s kept changing" % check_id)

    def search(self, status=None, overdue=None, returnee_id=None, kind=None, tenancy_id=None,
               limit=50, cursor=None):
        query = {}
        if kind == "tenant" or tenancy_id:
            query["kind"] = "tenant"
        elif kind == "returnee":
            query["kind"] = {"$ne": "tenant"}
        if tenancy_id:
            query["tenancy_id"] = tenancy_id
        if status:
            query["status"] = status
        if overdue is not None:
            query["overdue"] = overdue
        if returnee_id:
            query["_id"] = returnee_id
        return self.page(CHECKS, query, "opened_at", pymongo.ASCENDING, limit, cursor)


def _pending_check(check_id, person, event, **kind):
    """A check waiting for an officer: the person's full identity, as the
    police need it, and what kind of registration it came from."""
    check = {
        "_id": check_id,
        "name": person["name"],
        "id_number": person["id_number"],
        "phone": person["phone"],
        "address": person["address"],
        "local_hukou": person["local_hukou"],
        "registered_at": person["registered_at"],
        "status": "pending",
        "opened_at": clock.utcnow(),
        "decided_at": None,
        "decided_by": None,
        "note": None,
        "overdue": False,
        "overdue_notified_at": None,
        "source_event_id": event.event_id,
    }
    check.update(kind)
    return check
