"""Each service's journal of the events it published and handled: what a
trace reads (shared/trace.py) to say when an event left its producer and
when each consumer applied it, retried it or gave it up.

The outbox removes an event once the broker confirmed it, and a consumer's
idempotency record is the event id alone (in `applied_events`, or the `_id`
of what it made), with no time. So the relay notes each confirmed event
here, and the event handler notes each attempt's outcome. A note holds the
envelope's metadata only (id, type, producer, correlation id, times, the
attempt and a short error), never a payload: nothing personal is in it.

A note is made after the fact it records (a publish confirmed, a handler
returned), apart from that fact's own write, and waits in memory (`Notes`)
until the journal writes the waiting notes in one insert, every
JOURNAL_FLUSH_SECONDS: one database operation for many events, instead of
one more per delivery. A failure to write them is logged and they wait for
the next pass: the journal is for looking back, and never holds up or
repeats a delivery. A process that dies before its notes are written
leaves a gap in the journal, not in the data. Notes are kept JOURNAL_DAYS (by
their `day`, dropped a day at a time; with several replicas each may drop
the same day, which is harmless).
"""
import logging
from collections import deque
from datetime import date, timedelta

from nameko.extensions import DependencyProvider, SharedExtension
from pymongo.errors import BulkWriteError, PyMongoError

from shared import clock, retention
from shared.platform import Platform
from shared.timer import BackgroundPass

log = logging.getLogger(__name__)

JOURNAL = "event_journal"
MARKS = retention.MARKS
MARK = "journal_forgotten_through"
ERROR_CHARS = 300
KINDS = ("published", "handled", "retried", "dead_lettered")
WAITING_MAX = 20000  # notes waiting for the database


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


def published(envelopes, sent_at, routing_keys=None):
    """The relay's notes of events the broker confirmed, at the time it sent
    them (a consumer may have them before the confirm is back); once each:
    a republish after a crash keeps the first note."""
    return [dict(_note("published", env, sent_at, routing_key=(routing_keys or {}).get(env["event_id"])),
                 _id="published:%s" % env["event_id"]) for env in envelopes]


def attempted(event, kind, attempt, **fields):
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
    return note


def write(db, notes):
    """Write notes in one insert; a note written before (the same `_id`: a
    republish, a redelivery) is skipped. False if the database refused
    them for another reason."""
    if not notes:
        return True
    try:
        db[JOURNAL].insert_many(notes, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", ())):
            log.warning("could not note %d event(s) in the journal: %s", len(notes),
                        exc.details.get("writeErrors", ())[:1])
    except PyMongoError:
        log.warning("could not note %d event(s) in the journal", len(notes), exc_info=True)
        return False
    return True


class Notes(SharedExtension):
    """The notes waiting to be written, shared by a container's relay, its
    event handlers and its journal. They are written in batches, every
    JOURNAL_FLUSH_SECONDS, rather than one insert on the way of every
    delivery: at 10 registrations a second a service makes about one
    note per event it publishes or handles. While the database is away they
    wait, up to WAITING_MAX; past that the oldest are dropped (counted in
    `dropped`): the journal is for looking back and never holds up a
    delivery."""

    def __init__(self):
        super().__init__()
        self._waiting = deque()
        self.dropped = 0

    def add(self, notes):
        for note in notes:
            if len(self._waiting) >= WAITING_MAX:
                self._waiting.popleft()
                self.dropped += 1
            self._waiting.append(note)

    @property
    def waiting(self):  # not __len__: nameko tests a shared extension's truth to share it
        return len(self._waiting)

    def write(self, db):
        """Write what waits now; what the database would not take waits again."""
        notes = [self._waiting.popleft() for _ in range(len(self._waiting))]
        if not write(db, notes):
            room = WAITING_MAX - len(self._waiting)
            kept = notes[len(notes) - room:] if room > 0 else []
            self.dropped += len(notes) - len(kept)
            self._waiting.extendleft(reversed(kept))
        return len(notes)


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

    notes = Notes()

    def setup(self):
        self._passes = []

    def start(self):
        create_indexes(self.platform.db)
        settings = self.platform.settings
        self._passes = [
            BackgroundPass(self._forget, settings.journal_scan_seconds, "journal", immediately=True),
            BackgroundPass(self._write, settings.journal_flush_seconds, "journal_notes")]
        for upkeep in self._passes:
            upkeep.start(self.container)

    def stop(self):
        for upkeep in self._passes:
            upkeep.stop()
        self._write()  # what the last deliveries noted

    def kill(self):
        for upkeep in self._passes:
            upkeep.kill()

    def _write(self):
        self.notes.write(self.platform.db)

    def _forget(self):
        forget_before(self.platform.db, clock.utcnow().date(), self.platform.settings.journal_days)

    def get_dependency(self, worker_ctx):
        return lambda correlation_id: of(self.platform.db, correlation_id)
