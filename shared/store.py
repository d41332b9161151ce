"""The Mongo dependency: one client per container (the Platform's), a
repository with domain methods per worker, indexes created at start."""
from nameko.extensions import DependencyProvider

from shared import clock
from shared.outbox import insert_with_events, update_with_events
from shared.platform import Platform
from shared.writes import Writes


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
        if not applied and self.db[collection].find_one({"_id": event.payload["returnee_id"]},
                                                        {"_id": 1}) is None:
            # The task itself is still on its way (another queue): try later.
            raise LookupError("no task %s yet" % event.payload["returnee_id"])
        return applied

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
