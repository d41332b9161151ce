"""Each service's journal of the events it published and handled: what a
trace reads (shared/trace.py) to say when an event left its producer and
when each consumer applied it, retried it or gave it up.

The outbox removes an event once the broker confirmed it, and a consumer's
idempotency record is the event id alone (in `applied_events`, or the `_id`
of what it made), with no time. So the relay notes each confirmed event
here, and the event handler notes each attempt's outcome. A note holds the
envelope's metadata only (id, type, producer, correlation id, times, the
attempt and a short error), never a payload: nothing personal is in it.

A note is written after the fact it records (a publish confirmed, a handler
returned), apart from that fact's own write, and a failure to write one is
logged and otherwise ignored: the journal is for looking back, and never
holds up or repeats a delivery. A process that dies between the two leaves
a gap in the journal, not in the data. Notes are kept JOURNAL_DAYS (by
their `day`, dropped a day at a time; with several replicas each may drop
the same day, which is harmless).
"""
import logging
from datetime import date, timedelta

from nameko.extensions import DependencyProvider
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from shared import clock, retention
from shared.platform import Platform
from shared.timer import BackgroundPass

log = logging.getLogger(__name__)

JOURNAL = "event_journal"
MARKS = retention.MARKS
MARK = "journal_forgotten_through"
ERROR_CHARS = 300
KINDS = ("published", "handled", "retried", "dead_lettered")


def create_indexes(db):
    db[JOURNAL].create_index("correlation_id")
    db[JOURNAL].create_index("day")


def _note(kind, envelope, at, **fields):
    note = {
        "kind": kind,
        "event_id": str(envelope.get("event_id")),
        "event_type": envelope.get("event_type"),
        "producer": envelope.get("producer"),
        "correlation_id": envelope.get("correlation_id"),
        "occurred_at": envelope.get("occurred_at"),
        "at": at,
        "day": at.date().isoformat(),
    }
    note.update(fields)
    return note


def _occurred(value):
    return clock.isoformat(value) if hasattr(value, "isoformat") else value


def published(db, envelopes, sent_at, routing_keys=None):
    """The relay's note of events the broker confirmed, at the time it sent
    them (a consumer may have them before the confirm is back); once each:
    a republish after a crash keeps the first note."""
    notes = [dict(_note("published", env, sent_at, routing_key=(routing_keys or {}).get(env["event_id"])),
                  _id="published:%s" % env["event_id"]) for env in envelopes]
    if not notes:
        return
    try:
        db[JOURNAL].insert_many(notes, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", ())):
            log.warning("could not note %d published event(s) in the journal", len(notes))
    except PyMongoError:
        log.warning("could not note %d published event(s) in the journal", len(notes), exc_info=True)


def attempted(db, event, kind, attempt, **fields):
    """An event handler's note of one attempt: `handled` (once per event:
    a redelivery after it was applied keeps the first), `retried` or
    `dead_lettered` (with the error, shortened)."""
    if "error" in fields:
        fields["error"] = str(fields["error"])[:ERROR_CHARS]
    envelope = {"event_id": event.event_id, "event_type": event.event_type,
                "producer": event.producer, "correlation_id": event.correlation_id,
                "occurred_at": _occurred(event.occurred_at)} if hasattr(event, "event_id") else event
    note = _note(kind, envelope, clock.utcnow(), attempt=attempt, **fields)
    note["_id"] = ("%s:%s" % (kind, note["event_id"]) if kind == "handled"
                   else "%s:%s:%s" % (kind, note["event_id"], attempt))
    try:
        db[JOURNAL].insert_one(note)
    except DuplicateKeyError:
        pass
    except PyMongoError:
        log.warning("could not note a %s event in the journal", kind, exc_info=True)


def of(db, correlation_id, limit=1000):
    """The notes about one linkage or case, oldest first."""
    notes = list(db[JOURNAL].find({"correlation_id": correlation_id}, {"day": 0}).limit(limit))
    return sorted(notes, key=lambda note: (note["at"], KINDS.index(note["kind"])))


def forget_before(db, today, days):
    """Drop the notes of the days before `today - days`, a day at a time (an
    equality on `day`, which every backend answers from its index), from
    the day after the last one done (a mark in the database, so no pass
    ever reads the journal to find its oldest day: the journal starts
    empty, so the first pass marks the day before the cutoff done); the
    last day now done."""
    cutoff = today - timedelta(days=days)
    mark = db[MARKS].find_one({"_id": MARK})
    day = date.fromisoformat(mark["day"]) + timedelta(days=1) if mark else cutoff
    while day < cutoff:
        db[JOURNAL].delete_many({"day": day.isoformat()})
        db[MARKS].update_one({"_id": MARK}, {"$set": {"day": day.isoformat()}}, upsert=True)
        day += timedelta(days=1)
    done = (cutoff - timedelta(days=1)).isoformat()
    if mark is None:
        db[MARKS].update_one({"_id": MARK}, {"$set": {"day": done}}, upsert=True)
    return done


class Journal(DependencyProvider):
    """The journal's indexes, made at start, and the pass that drops notes
    older than JOURNAL_DAYS (every JOURNAL_SCAN_SECONDS); an entrypoint
    gets `of(correlation_id)`."""
    platform = Platform()

    def setup(self):
        self._pass = None

    def start(self):
        create_indexes(self.platform.db)
        self._pass = BackgroundPass(self._forget, self.platform.settings.journal_scan_seconds,
                                    "journal", immediately=True)
        self._pass.start(self.container)

    def stop(self):
        if self._pass is not None:
            self._pass.stop()

    def kill(self):
        if self._pass is not None:
            self._pass.kill()

    def _forget(self):
        forget_before(self.platform.db, clock.utcnow().date(), self.platform.settings.journal_days)

    def get_dependency(self, worker_ctx):
        return lambda correlation_id: of(self.platform.db, correlation_id)
