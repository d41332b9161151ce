"""The committee's case register: one document per case, with every party's
assignment, the timeline and the outbox of what the committee tells them."""
import pymongo

from shared.parties import ALL
from shared.retention import Identity
from shared.store import Finished, Repository, insert_once

CASES = "cases"


class CaseRepository(Repository):
    OUTBOX_COLLECTIONS = (CASES,)
    PERSONAL = {CASES: ("reporter",)}
    # The reporter is kept until PERSONAL_DATA_RETENTION_DAYS after the case
    # closed for good (a reopened case has no `closed_at` again).
    RETAINED = {CASES: Identity(names=(), people=("reporter",), finished=Finished(since="closed_at"),
                                since="reported_at",
                                purpose="a case the person reported, to follow it up and ask them back")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        cases = db[CASES]
        cases.create_index("next_due_at")
        cases.create_index([("status", 1), ("reported_at", -1)])
        cases.create_index("reported_at")
        cases.create_index("reporter_index")  # the cases a person reported, for their export

    def get(self, case_id):
        return self.find(CASES, case_id)

    def file(self, case, messages):
        """Insert a new case with its dispatches; DuplicateKeyError if its id
        is taken (a retried Idempotency-Key)."""
        self.insert(CASES, self._indexed(case), self.envelopes(case["_id"], messages))

    def file_once(self, case, messages):
        """File a case reported by another party, once per report."""
        return insert_once(self, CASES, self._indexed(case), self.envelopes(case["_id"], messages))

    def _indexed(self, case):
        """The case with the blind index of its reporter's phone, if any."""
        reporter = case.get("reporter")
        if not isinstance(reporter, dict) or not reporter.get("phone"):
            return case
        return dict(case, reporter_index=self.personal.blind_index(reporter["phone"]))

    def of_reporter(self, phone):
        """The ids of the cases a person (by phone) reported."""
        return sorted(case["_id"] for case in self.db[CASES].find(
            {"reporter_index": self.personal.blind_index(phone)}, {"_id": 1}))

    def envelopes(self, case_id, messages):
        return [self.event(event_type, payload, case_id) for event_type, payload in messages]

    def change(self, case_id, decide, event_id=None):
        """`decide(case)` changes a copy of the case and returns the messages
        to send, or None; the case as written, None if there is none."""
        def write(case):
            sealed = case["reporter"]  # as stored: the reporter never changes once filed
            case["reporter"] = self.personal.open(sealed, "reporter")
            messages = decide(case)
            case["reporter"] = sealed
            return None if messages is None else self.envelopes(case_id, messages)
        return self.opened(CASES, self.modify(CASES, case_id, write, event_id))

    def due(self, now, limit=200):
        """Cases with a limit that has run out (or an escalation due), by the due-time key."""
        return list(self.db[CASES].find({"next_due_at": {"$lte": now}}, {"_id": 1})
                    .sort("next_due_at", pymongo.ASCENDING).limit(limit))

    def search(self, status=None, overdue=None, escalated=None, category=None, party=None,
               reported_by=None, now=None, limit=50, cursor=None):
        query = {}
        if status:
            query["status"] = status
        if escalated is not None:
            query["escalated"] = escalated
        if category:
            query["category"] = category
        if reported_by:
            query["reported_by"] = reported_by
        if party:
            query["assignments.%s" % party] = {"$exists": True}
        if overdue is not None:
            parties = [party] if party else None
            late = _late_query(parties, now)
            query.update(late if overdue else {"$nor": [late]})
        return self.page(CASES, query, "reported_at", pymongo.DESCENDING, limit, cursor)

    def reported_between(self, start, end):
        return self.db[CASES].find({"reported_at": {"$gte": start, "$lt": end}},
                                   {"assignments": 1, "feedback": 1, "reopened": 1})

    def open_counts(self):
        return {status: self.db[CASES].count_documents({"status": status})
                for status in ("filed", "dispatched", "in_progress", "resolved")}


def _late_query(parties, now):
    """A party is late on a case when it was marked overdue for its running
    limit, or that limit has run out and the timer has not come round yet."""
    clauses = []
    for party in parties or ALL:
        task = "assignments.%s" % party
        clauses.append({"%s.overdue" % task: True, "%s.done" % task: False})
        clauses.append({"%s.due_at" % task: {"$lte": now}, "%s.done" % task: False})
    return {"$or": clauses}
