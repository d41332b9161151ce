"""Trace at the committee: where a linkage or a case is across the five
parties, and who holds it now (services/neighborhood_committee/trace.py).

    GET /api/v1/trace/{id}[?for=<agency>]   the trace of a returnee's linkage or a case

The committee writes the trace's request, with `trace_requested` to the four
other parties in the same write, puts its own part together meanwhile, and
waits up to TRACE_TIMEOUT_SECONDS for theirs (`trace_part_provided`, each
through the party's outbox; shared/trace.py says why not an RPC). A party
that has not answered by then is shown "unreachable" and the trace answers
without it. A trace holds the person as the committee's list shows them
(name, masked ID, flat) and nothing else of theirs; `for=<agency>`, for a
trace handed to another agency, shortens the name too.
"""
import re
import uuid
from datetime import timedelta

import eventlet
from eventlet.semaphore import Semaphore
from marshmallow import Schema, fields, validate

from shared import clock
from shared.consumer import event_handler
from shared.errors import NotFound, ServiceUnavailable, ValidationFailed
from shared.parties import ALL, COMMITTEE, LINKED
from shared.store import Repository, Store
from shared.trace import part_of
from shared.web import api

from services.neighborhood_committee import trace as tracing

TRACES = "traces"
TRACES_KEPT = timedelta(days=1)
POLL_SECONDS = 0.1
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
# A trace waits for the parties in one of the service's workers (MAX_WORKERS,
# 10), which also handle the parties' answers: at most this many wait at
# once, so answers always find a worker; one more is told to try again.
WAITING_AT_ONCE = 4
_waiting = Semaphore(WAITING_AT_ONCE)


class TraceQuery(Schema):
    for_agency = fields.String(data_key="for", validate=validate.OneOf(LINKED), metadata={
        "description": "the agency the trace is handed to: the person's name is shortened"})


class ActionSchema(Schema):
    at = fields.AwareDateTime()
    action = fields.String()
    by = fields.String(allow_none=True)


class RecordSchema(Schema):
    record = fields.String(metadata={"description": "the party's collection"})
    status = fields.String()
    result = fields.String()
    case_status = fields.String()
    round = fields.Integer()
    assignment_role = fields.String()
    overdue = fields.Boolean()
    due_at = fields.AwareDateTime()
    accept_due = fields.AwareDateTime()
    resolve_due = fields.AwareDateTime()
    actions = fields.List(fields.Nested(ActionSchema))


class PartySchema(Schema):
    party = fields.String(metadata={"enum": list(ALL)})
    status = fields.String(metadata={"enum": [tracing.ANSWERED, tracing.UNREACHABLE]})
    answered_at = fields.AwareDateTime(allow_none=True)
    records = fields.List(fields.Nested(RecordSchema))
    dead_letters_read = fields.Boolean()


class HolderSchema(Schema):
    party = fields.String()
    since = fields.AwareDateTime(allow_none=True)
    waiting_for = fields.String()
    waits_on = fields.String(metadata={"description": "the party whose action is awaited"})
    status = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    due_kind = fields.String(allow_none=True)
    overdue = fields.Boolean()
    overdue_since = fields.AwareDateTime(allow_none=True)


class HoldingSchema(Schema):
    status = fields.String(metadata={"enum": ["open", "closed"]})
    holder = fields.String(allow_none=True)
    since = fields.AwareDateTime(allow_none=True)
    waiting_for = fields.String(allow_none=True)
    holders = fields.List(fields.Nested(HolderSchema))
    summary = fields.String()


class RetrySchema(Schema):
    attempt = fields.Integer(allow_none=True)
    at = fields.AwareDateTime()
    error = fields.String(allow_none=True)


class ConsumerSchema(Schema):
    party = fields.String()
    status = fields.String(metadata={"enum": ["handled", "retrying", "dead_lettered", "waiting",
                                              tracing.UNREACHABLE]})
    handled_at = fields.AwareDateTime(allow_none=True)
    attempts = fields.Integer()
    retries = fields.List(fields.Nested(RetrySchema))
    dead_lettered_at = fields.AwareDateTime(allow_none=True)


class EventSchema(Schema):
    event_id = fields.String()
    event_type = fields.String(allow_none=True)
    producer = fields.String(allow_none=True)
    occurred_at = fields.String(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)
    consumers = fields.List(fields.Nested(ConsumerSchema))


class StepSchema(Schema):
    at = fields.AwareDateTime()
    party = fields.String()
    action = fields.String()
    by = fields.String(allow_none=True)
    detail = fields.String(metadata={"description": "a limit marked overdue, a retry's error"})
    source = fields.String(metadata={"enum": ["action", "event", "retry", "dead_letter"]})
    verb = fields.String(metadata={"enum": ["published", "handled", "retried", "dead_lettered"]})
    event_type = fields.String()
    event_id = fields.String()
    record = fields.String(metadata={"description": "the party's collection the action is from"})


class DeadLetterSchema(Schema):
    party = fields.String()
    event_id = fields.String()
    event_type = fields.String(allow_none=True)
    producer = fields.String(allow_none=True)
    queue = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    dead_lettered_at = fields.String(allow_none=True)


class TraceRetrySchema(RetrySchema):
    event_id = fields.String()
    event_type = fields.String(allow_none=True)
    party = fields.String()


class TraceSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": [kind.name for kind in tracing.KINDS]})
    subject = fields.Dict(metadata={
        "description": "what it is, as the committee's list shows it: a returnee's name, masked "
                       "ID, flat and status; a case's category, priority, location and status"})
    holding = fields.Nested(HoldingSchema)
    parties = fields.List(fields.Nested(PartySchema))
    timeline = fields.List(fields.Nested(StepSchema))
    events = fields.List(fields.Nested(EventSchema))
    dead_letters = fields.List(fields.Nested(DeadLetterSchema))
    retries = fields.List(fields.Nested(TraceRetrySchema))
    trace_id = fields.String()
    requested_at = fields.AwareDateTime()
    waited_seconds = fields.Float()


TRACE = TraceSchema()


class TraceRepository(Repository):
    """A trace's request (with its event) and the parties' parts as they come."""
    OUTBOX_COLLECTIONS = (TRACES,)

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[TRACES].create_index("requested_at")

    def open(self, trace, events):
        self.insert(TRACES, trace, events)
        # A trace is read within seconds; a day's are kept, to see who traced what.
        self.db[TRACES].delete_many({"requested_at": {"$lt": trace["requested_at"] - TRACES_KEPT},
                                     "outbox_due": None})

    def get(self, trace_id):
        return self.db[TRACES].find_one({"_id": trace_id})

    def record_part(self, event):
        part = event.payload

        def decide(trace):
            if part["party"] in trace["parts"] or part["subject_id"] != trace["subject_id"]:
                return None
            trace["parts"][part["party"]] = {key: part[key] for key in (
                "answered_at", "records", "notes", "dead_letters", "dead_letters_read")}
            return []
        return self.modify(TRACES, part["trace_id"], decide, event.event_id) is not None


def subject_of(service, subject_id):
    """(kind, the committee's document) of an id, or (None, None)."""
    for kind in tracing.KINDS:
        repository = getattr(service, kind.store)
        document = repository.find(kind.collection, subject_id)
        if document is not None:
            return kind, document
    return None, None


def trace_of(service, subject_id, principal, timeout):
    """Ask the parties, put the committee's part together, wait for theirs
    up to `timeout` seconds, and assemble the trace; None for an unknown id."""
    kind, document = subject_of(service, subject_id)
    if kind is None:
        return None
    traces = service.traces
    now = clock.utcnow()
    trace_id = str(uuid.uuid4())
    answer_by = now + timedelta(seconds=timeout)
    request = traces.event("trace_requested", {
        "trace_id": trace_id, "subject_id": subject_id, "kind": kind.name,
        "requested_by": principal.subject, "requested_at": now, "answer_by": answer_by}, trace_id)
    traces.open({"_id": trace_id, "subject_id": subject_id, "kind": kind.name,
                 "requested_by": principal.subject, "requested_at": now, "parts": {}}, [request])
    own = part_of(service, subject_id)
    while True:
        stored = traces.get(trace_id)
        if all(party in stored["parts"] for party in LINKED) or clock.utcnow() >= answer_by:
            break
        eventlet.sleep(POLL_SECONDS)
    parts = {COMMITTEE: own}
    parts.update({party: stored["parts"].get(party) for party in LINKED})
    answered = {party: part["answered_at"] for party, part in stored["parts"].items()}
    answered[COMMITTEE] = now
    trace = tracing.assemble(kind, document, parts, answered, clock.utcnow())
    trace.update(trace_id=trace_id, requested_at=now,
                 waited_seconds=round((clock.utcnow() - now).total_seconds(), 3))
    return trace


def checked_id(subject_id):
    if not ID_PATTERN.match(subject_id):
        raise ValidationFailed.from_errors([{"field": "id", "reason": (
            "must be a returnee's or a case's id: 1-100 letters, digits, '.', '_', ':' or '-'")}])
    return subject_id


class Traces:
    """The committee's trace endpoint and the parties' answers to it."""
    traces = Store(TraceRepository)

    @api("GET", "/api/v1/trace/<string:subject_id>", permission="trace:read", query=TraceQuery(),
         responses={200: TRACE}, summary="Where a linkage or case is across the five parties, "
                                          "and who holds it now")
    def get_trace(self, request, subject_id):
        timeout = self.infra.settings.trace_timeout_seconds
        checked_id(subject_id)
        if not _waiting.acquire(blocking=False):
            raise ServiceUnavailable("%d traces are waiting for the parties already; try again in a "
                                     "few seconds" % WAITING_AT_ONCE,
                                     headers={"Retry-After": str(int(timeout) + 1)})
        try:
            trace = trace_of(self, subject_id, request.principal, timeout)
        finally:
            _waiting.release()
        if trace is None:
            raise NotFound("no returnee or case %s" % subject_id)
        metrics = self.infra.metrics
        metrics.traces.labels(trace["kind"]).inc()
        for part in trace["parties"]:
            if part["status"] == tracing.UNREACHABLE:
                metrics.trace_parties_unreachable.labels(part["party"]).inc()
        if request.query.get("for_agency"):
            trace = tracing.for_agency(trace)
        return TRACE.dump(trace)

    @event_handler("trace_part_provided")
    def on_trace_part_provided(self, event):
        self.traces.record_part(event)
