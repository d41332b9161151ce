"""A party's part of a trace: what it did about one linkage or case, from
its own records, its event journal (shared/journal.py) and its dead-letter
queue, for the committee's trace (services/neighborhood_committee/trace.py).

The committee asks with `trace_requested` and each party answers with
`trace_part_provided`, through its outbox like any other event. Not an RPC:
a call would need a shared request exchange every party may read, which the
broker users' permissions keep each party from (shared/topology.py, and a
person's export in shared/people.py does the same). A request says by when
it is answered (`answer_by`, the committee's TRACE_TIMEOUT_SECONDS): a party
that was down and finds it later leaves it unanswered, since nobody waits
for it any more.

Need to know by construction: a part names records by collection, with
their status, limits and each action's time and the staff member who took
it, never a name, ID number, phone, address or note; the event's schema
(shared/catalogue.py) names every field it may carry, so nothing else
leaves the party.
"""
from datetime import timedelta

from shared import clock, deadletters, journal
from shared.consumer import event_handler
from shared.store import Repository, Store, archive_name, insert_once

ANSWERS = "trace_answers"
ANSWERS_KEPT = timedelta(days=1)
DEAD_LETTERS_READ = 1000

# What a record's time fields say the party did, in the order a record
# lives through them; and who did it, where the record says.
ACTIONS = (("received_at", "received"), ("opened_at", "opened"), ("held_at", "held"),
           ("recorded_at", "recorded"), ("checked_at", "checked"), ("reported_at", "reported"),
           ("accepted_at", "accepted"), ("returned_at", "returned"), ("resolved_at", "resolved"),
           ("decided_at", "decided"), ("overdue_notified_at", "told it is overdue"),
           ("deidentified_at", "de-identified"), ("archived_at", "archived"))
ACTORS = {"accepted_at": "accepted_by", "resolved_at": "resolved_by", "decided_at": "decided_by",
          "reported_at": "reported_by_user"}
# What a record's state is, as a trace shows it (never anything about the person).
STATES = ("status", "result", "case_status", "round", "assignment_role")
LIMITS = ("due_at", "accept_due", "resolve_due")
# The platform's own collections, which never hold a linkage or a case.
NOT_RECORDS = (ANSWERS, "person_exports_answered", "traces", "person_exports")


def record_part(collection, document):
    """One record as a trace shows it: its state, its limits, its actions."""
    part = {"record": collection, "overdue": bool(document.get("overdue")),
            "actions": sorted(({"at": document[field], "action": action,
                                "by": _text(document.get(ACTORS.get(field)))}
                               for field, action in ACTIONS if _is_time(document.get(field))),
                              key=lambda action: action["at"])}
    for name in STATES:
        if isinstance(document.get(name), (str, int)) and not isinstance(document.get(name), bool):
            part[name] = document[name]
    for name in LIMITS:
        if _is_time(document.get(name)):
            part[name] = document[name]
    return part


def _is_time(value):
    return hasattr(value, "isoformat") and hasattr(value, "hour")


def _text(value):
    return value if isinstance(value, str) else None


def repository_classes(service):
    """The repository classes of a service instance's stores."""
    found = {}
    for klass in type(service).__mro__:
        for value in vars(klass).values():
            if isinstance(value, Store):
                found.setdefault(value.repository_cls.__name__, value.repository_cls)
    return list(found.values())


def records_of(db, repositories, subject_id):
    """Every record of `repositories` (classes) kept under `subject_id`, in
    the working set or the archive."""
    found = []
    for repository in repositories:
        names = set(repository.OUTBOX_COLLECTIONS) | set(repository.RETAINED) | set(repository.ARCHIVED)
        for name in sorted(names - set(NOT_RECORDS)):
            document = db[name].find_one({"_id": subject_id})
            if document is None and name in repository.ARCHIVED:
                document = db[archive_name(name)].find_one({"_id": subject_id})
            if document is not None:
                found.append(record_part(name, document))
    return found


def dead_letters_of(settings, service, correlation_id):
    """This service's dead letters of one linkage or case, and whether its
    dead-letter queue could be read."""
    try:
        rows = deadletters.of_correlation(settings, service, correlation_id, DEAD_LETTERS_READ)
        return rows, True
    except Exception:
        return [], False


def part_of(service, subject_id):
    """The part of `service` (an entrypoint's service instance) in a trace."""
    platform = service.infra
    letters, read = dead_letters_of(platform.settings, service.name, subject_id)
    return {
        "records": records_of(platform.db, repository_classes(service), subject_id),
        "notes": [{key: note.get(key) for key in ("event_id", "event_type", "producer", "kind", "at",
                                                 "occurred_at", "attempt", "error", "reason",
                                                 "routing_key")}
                  for note in journal.of(platform.db, subject_id)],
        "dead_letters": letters,
        "dead_letters_read": read,
    }


class AnswerRepository(Repository):
    """Each trace answered once: a redelivered request hits the `_id`."""
    OUTBOX_COLLECTIONS = (ANSWERS,)

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[ANSWERS].create_index("answered_at")

    def forget_old(self, now):
        """Answers are kept a day (the committee waits seconds for them)."""
        self.db[ANSWERS].delete_many({"answered_at": {"$lt": now - ANSWERS_KEPT}, "outbox_due": None})


class TraceAnswers:
    """A linked party's answer to the committee's traces."""
    trace_answers = Store(AnswerRepository)

    @event_handler("trace_requested")
    def on_trace_requested(self, event):
        request = event.payload
        now = clock.utcnow()
        if now > request["answer_by"]:
            return  # nobody waits for it any more
        answer = dict(part_of(self, request["subject_id"]), trace_id=request["trace_id"],
                      party=self.name, subject_id=request["subject_id"], answered_at=now)
        provided = self.trace_answers.event("trace_part_provided", answer, request["trace_id"])
        insert_once(self.trace_answers, ANSWERS, {
            "_id": request["trace_id"], "subject_id": request["subject_id"], "answered_at": now},
            [provided], made_at=event.occurred_at)
        self.trace_answers.forget_old(now)
