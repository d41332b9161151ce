"""The Mongo dependency: one client per container (the Platform's), a
repository with domain methods per worker, indexes created at start."""
import copy

from nameko.extensions import DependencyProvider

from shared import clock
from shared.outbox import insert_with_events, update_with_events
from shared.platform import Platform
from shared.writes import Writes


# Fields the platform keeps on a document, which `modify` never diffs.
BOOKKEEPING = frozenset({"_id", "outbox", "outbox_due", "outbox_rev", "version",
                         "applied_events", "updated_at"})


class WriteConflict(Exception):
    """The document kept changing between read and write (retried, then raised)."""


class Repository:
    """Base of every service's repository: builds events through the
    catalogue and writes them in the same document as the change."""

    # Collections whose documents carry an outbox; the relay scans these.
    OUTBOX_COLLECTIONS = ()

    def __init__(self, db, catalogue, service, on_events_written=lambda *written: None,
                 writes=None):
        self.db = db
        self.catalogue = catalogue
        self.service = service
        self._on_events_written = on_events_written
        self.writes = writes if writes is not None else Writes(db)

    def locked(self, collection, document_id):
        """Hold while reading a document and writing what depends on it."""
        return self.writes.locked(collection, document_id)

    @classmethod
    def create_indexes(cls, db):
        for name in cls.OUTBOX_COLLECTIONS:
            db[name].create_index("outbox_due")

    def event(self, event_type, payload, correlation_id):
        return self.catalogue.new_event(event_type, payload, correlation_id, producer=self.service)

    def insert(self, collection, document, events=()):
        self.db[collection].insert_one(insert_with_events(document, events))
        if events:
            self._on_events_written(collection, document["_id"], events)

    def apply_once(self, collection, query, event_id, update, events=(), current=None):
        """Apply `update` to the document matching `query` unless `event_id`
        was applied to it already; the event id is recorded in the same
        write. True if it was applied now. `current`: the document as read
        under its lock, which the caller still holds."""
        guarded = dict(query)
        guarded["applied_events"] = {"$ne": event_id}
        update = update_with_events(update, events)
        update.setdefault("$push", {})["applied_events"] = event_id
        return self._write(collection, guarded, update, events, current)

    def note_overdue(self, collection, event):
        """Record the committee's notice that this party is late on a linkage.
        False when the notice is for another party (each party gets them all)."""
        if event.payload["party"] != self.service:
            return False
        applied = self.apply_once(collection, {"_id": event.payload["returnee_id"]}, event.event_id,
                                  {"$set": {"overdue": True, "overdue_notified_at": clock.utcnow(),
                                            "due_at": event.payload["due_at"]}})
        if applied:
            return True
        task = self.db[collection].find_one({"_id": event.payload["returnee_id"]},
                                            {"applied_events": 1})
        if task is None or event.event_id not in task.get("applied_events", ()):
            # The task is still on its way (another queue), or it arrived
            # between the write above and this read: not applied, so try later.
            raise LookupError("no task %s yet" % event.payload["returnee_id"])
        return False

    def modify(self, collection, document_id, decide, event_id=None, attempts=10):
        """Read-decide-write on one document, for domain code that works on
        plain dicts: `decide(copy)` changes a copy of the document and
        returns the envelopes the change causes ([] for none), or None when
        there is nothing to do. The fields it changed are written, with its
        envelopes, if the document is still the version that was read (and
        `event_id`, when given, was not applied to it yet); otherwise it is
        read again. The document as written; None if there is no such
        document."""
        with self.locked(collection, document_id):
            for _ in range(attempts):
                current = self.db[collection].find_one({"_id": document_id})
                if current is None:
                    return None
                if event_id is not None and event_id in current.get("applied_events", ()):
                    return current
                changed = copy.deepcopy(current)
                envelopes = decide(changed)
                if envelopes is None:
                    return current
                update = _diff(current, changed)
                query = {"_id": document_id, "version": current["version"]}
                if event_id is not None:
                    written = self.apply_once(collection, query, event_id, update, envelopes, current)
                else:
                    written = self.update(collection, query, update, envelopes, current)
                if written:
                    return changed
        raise WriteConflict("%s %s kept changing" % (collection, document_id))

    def page(self, collection, query, order, direction, limit, offset):
        """One page of a list endpoint, and how many documents match in all."""
        cursor = (self.db[collection].find(query).sort(order, direction)
                  .skip(offset).limit(limit))
        return list(cursor), self.db[collection].count_documents(query)

    def update(self, collection, query, update, events=(), current=None):
        """Update one document (with a guard in `query`); True if it matched."""
        return self._write(collection, query, update_with_events(update, events), events, current)

    def _write(self, collection, query, update, events, current):
        update.setdefault("$set", {})["updated_at"] = clock.utcnow()
        # The hand-over to the relay happens under the lock, so a document's
        # writes reach the relay in the order they were made.
        with self.locked(collection, query["_id"]):
            written = self.writes.update_one(self.db[collection], query, update, current)
            if written and events:
                self._on_events_written(collection, query["_id"], events)
        return written


def _diff(before, after):
    """The update that turns `before` into `after`, field by top-level field."""
    sets = {key: value for key, value in after.items()
            if key not in BOOKKEEPING and (key not in before or before[key] != value)}
    unsets = {key: "" for key in before if key not in BOOKKEEPING and key not in after}
    update = {}
    if sets:
        update["$set"] = sets
    if unsets:
        update["$unset"] = unsets
    return update


class Store(DependencyProvider):
    platform = Platform()

    def __init__(self, repository_cls):
        self.repository_cls = repository_cls
        self.relay_wakeup = lambda *written: None  # the relay's: (collection, _id) written

    def start(self):
        self.repository_cls.create_indexes(self.platform.db)

    def get_dependency(self, worker_ctx):
        return self.repository_cls(self.platform.db, self.platform.catalogue,
                                   self.container.service_name, self.relay_wakeup,
                                   self.platform.writes)


def insert_once(repository, collection, document, events=()):
    """Insert a document whose `_id` is derived from the event that causes it;
    a redelivered event hits the unique `_id` and changes nothing."""
    from pymongo.errors import DuplicateKeyError
    try:
        repository.insert(collection, document, events)
        return True
    except DuplicateKeyError:
        return False
