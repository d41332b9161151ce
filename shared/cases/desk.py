"""A party's case desk: the cases it reported and the cases dispatched to it.

Every party has one, the committee included (it mediates disputes and
answers demands). A party's assignment is one document per case, created
by the committee's `case_dispatched` addressed to it and moved on by the
party's own accept, return and resolve, each of which tells the committee
in the same write. Events from the committee name a round: one of an
earlier round, or already applied, changes nothing.
"""
import pymongo

from shared import clock
from shared.errors import Conflict, NotFound
from shared.retention import Identity
from shared.store import Finished, Repository, insert_once

REPORTS = "case_reports"
ASSIGNMENTS = "case_assignments"


class CaseDeskRepository(Repository):
    OUTBOX_COLLECTIONS = (REPORTS, ASSIGNMENTS)
    PERSONAL = {ASSIGNMENTS: ("reporter",)}
    RETAINED = {ASSIGNMENTS: Identity(
        names=(), people=("reporter",), since="dispatched_at",
        finished=Finished(since="case_status_at", status="case_status", done=("closed",)),
        purpose="a case assigned to this party, with the resident who reported it")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[ASSIGNMENTS].create_index([("status", 1), ("dispatched_at", -1)])
        db[REPORTS].create_index([("reported_at", -1)])

    # --- what this party reported ---------------------------------------

    def report(self, case_id, report, user, now, request_hash=None, detection=None):
        """Record a report and send it to the committee in the same write.
        DuplicateKeyError if the id is taken (a retried Idempotency-Key)."""
        record = {
            "_id": case_id,
            "category": report["category"],
            "description": report["description"],
            "location": report["location"],
            "source": report["source"],
            "safety_risk": report["safety_risk"],
            "has_reporter": report.get("reporter") is not None,
            "detection": detection,
            "reported_by": self.service,
            "reported_by_user": user,
            "reported_at": now,
            "status": "reported",
            "escalated": False,
            "status_at": None,
            "request_hash": request_hash,
        }
        reported = self.event("case_reported", dict(
            report, case_id=case_id, reported_by=self.service, reported_by_user=user,
            reported_at=now, detection=detection), case_id)
        self.insert(REPORTS, record, [reported])
        return record

    def reported(self, case_id):
        return self.db[REPORTS].find_one({"_id": case_id})

    # --- what is dispatched to this party ---------------------------------

    def assignment(self, case_id):
        return self.find(ASSIGNMENTS, case_id)

    def receive_dispatch(self, event):
        dispatched = event.payload
        task = {
            "_id": dispatched["case_id"],
            "assignment_role": dispatched["role"],
            "round": dispatched["round"],
            "category": dispatched["category"],
            "description": dispatched["description"],
            "location": dispatched["location"],
            "source": dispatched["source"],
            "priority": dispatched["priority"],
            "safety_risk": dispatched["safety_risk"],
            "reporter": dispatched["reporter"],
            "reported_by": dispatched["reported_by"],
            "status": "dispatched",
            "case_status": "dispatched",
            "escalated": False,
            "case_status_at": None,
            "dispatched_at": dispatched["dispatched_at"],
            "accept_due": dispatched["accept_due"],
            "resolve_due": dispatched["resolve_due"],
            "accepted_at": None, "accepted_by": None, "accept_note": None,
            "returned_at": None, "return_reason": None,
            "resolved_at": None, "resolved_by": None, "resolution_note": None,
            "rework": None,
            "overdue": False, "overdue_limit": None, "overdue_notified_at": None,
            "source_event_id": event.event_id,
        }
        # Held as the committee's news of the case is (case_status_changed):
        # a party that reported the case may get that news before its
        # dispatch (another queue), when it has only its report to put it
        # in. The assignment then starts from the news the report holds.
        with self.locked(ASSIGNMENTS, task["_id"]):
            if dispatched["reported_by"] == self.service:
                report = self.db[REPORTS].find_one({"_id": task["_id"]},
                                                   {"status": 1, "status_at": 1, "escalated": 1})
                if report is not None and report.get("status_at") is not None:
                    task.update(case_status=report["status"], case_status_at=report["status_at"],
                                escalated=report.get("escalated", False))
            if insert_once(self, ASSIGNMENTS, task):
                return True

        def again(current):  # dispatched anew after a return or a withdrawal
            if current["round"] >= dispatched["round"]:
                return None
            current.update({k: v for k, v in self.sealed(ASSIGNMENTS, task).items()
                            if k not in ("_id", "case_status")})
            return []
        return self.modify(ASSIGNMENTS, task["_id"], again, event.event_id) is not None

    def _on_assignment(self, event, change):
        """Apply `change` to this party's assignment of the event's round;
        retried (LookupError) while the dispatch itself is on its way."""
        payload = event.payload
        applied = []

        def decide(current):
            if current["round"] != payload["round"]:
                return None
            envelopes = change(current, payload)
            applied.append(envelopes is not None)
            return envelopes
        if self.modify(ASSIGNMENTS, payload["case_id"], decide, event.event_id) is None:
            raise LookupError("no assignment %s yet" % payload["case_id"])
        return any(applied)

    def withdraw(self, event):
        def change(current, payload):
            if current["status"] not in ("dispatched", "accepted"):
                return None
            current.update(status="withdrawn", overdue=False)
            return []
        return self._on_assignment(event, change)

    def rework(self, event):
        payload = event.payload

        def decide(current):
            if current["round"] >= payload["round"]:
                return None
            current.update(status="accepted", round=payload["round"],
                           resolve_due=payload["resolve_due"], resolved_at=None,
                           rework={"reason": payload["reason"], "note": payload["note"],
                                   "at": payload["at"]},
                           overdue=False, overdue_limit=None)
            return []
        if self.modify(ASSIGNMENTS, payload["case_id"], decide, event.event_id) is None:
            raise LookupError("no assignment %s yet" % payload["case_id"])

    def note_case_overdue(self, event):
        def change(current, payload):
            current.update(overdue=True, overdue_limit=payload["limit"],
                           overdue_notified_at=clock.utcnow())
            return []
        return self._on_assignment(event, change)

    def case_status_changed(self, event):
        """The committee's news of a case this party reported or works on;
        the newest news wins whatever order they arrive in. True when this
        party's report of the case was updated."""
        payload = event.payload
        found = False
        updated_report = False
        with self.locked(ASSIGNMENTS, payload["case_id"]):  # not between a dispatch's read and insert
            for collection, field in ((REPORTS, "status"), (ASSIGNMENTS, "case_status")):
                def decide(current, field=field):
                    newer = current.get("%s_at" % field)
                    if newer is not None and newer >= payload["at"]:
                        return None
                    current[field] = payload["status"]
                    current["%s_at" % field] = payload["at"]
                    current["escalated"] = payload["escalated"]
                    return []
                result = self.modify(collection, payload["case_id"], decide, event.event_id)
                found = found or result is not None
                updated_report = updated_report or (collection == REPORTS and result is not None)
        if not found:
            raise LookupError("no case %s here yet" % payload["case_id"])
        return updated_report

    # --- this party's actions ----------------------------------------------

    def act(self, case_id, action, body, user):
        """accept | return | resolve this party's assignment: the assignment
        as written; NotFound when it is not this party's, Conflict when its
        state does not allow the action."""
        allowed = {"accept": ("dispatched",), "return": ("dispatched",), "resolve": ("accepted",)}

        def decide(current):
            if current["status"] not in allowed[action] or current["case_status"] == "closed":
                raise Conflict("cannot %s case %s: your assignment is %s%s" % (
                    action, case_id, current["status"],
                    " (return only before accepting)" if action == "return" else ""))
            now = clock.utcnow()
            payload = {"case_id": case_id, "party": self.service, "round": current["round"],
                       "at": now, "by": user}
            if action == "accept":
                current.update(status="accepted", accepted_at=now, accepted_by=user,
                               accept_note=body.get("note"))
                payload["note"] = body.get("note")
                event_type = "case_accepted"
            elif action == "return":
                current.update(status="returned", returned_at=now, return_reason=body["reason"])
                payload["reason"] = body["reason"]
                event_type = "case_returned"
            else:
                current.update(status="resolved", resolved_at=now, resolved_by=user,
                               resolution_note=body["note"])
                payload.update(note=body["note"], accepted_at=current["accepted_at"])
                event_type = "case_resolved"
            current.update(overdue=False, overdue_limit=None)
            return [self.event(event_type, payload, case_id)]
        written = self.modify(ASSIGNMENTS, case_id, decide)
        if written is None:
            raise NotFound("no case %s is assigned to %s" % (case_id, self.service))
        return self.opened(ASSIGNMENTS, written)

    # --- lists ---------------------------------------------------------------

    def search_assigned(self, status=None, overdue=None, category=None, limit=50, cursor=None):
        query = {}
        if status:
            query["status" if status in ("dispatched", "accepted", "returned", "resolved", "withdrawn")
                  else "case_status"] = status
        if overdue is not None:
            query["overdue"] = overdue
        if category:
            query["category"] = category
        return self._page(ASSIGNMENTS, query, "dispatched_at", limit, cursor)

    def search_reported(self, status=None, category=None, limit=50, cursor=None, **ignored):
        query = {"status": status} if status else {}
        if category:
            query["category"] = category
        return self._page(REPORTS, query, "reported_at", limit, cursor)

    def _page(self, collection, query, order, limit, cursor):
        return self.page(collection, query, order, pymongo.DESCENDING, limit, cursor)
