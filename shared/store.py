"""The Mongo dependency: one client per container (the Platform's), a
repository with domain methods per worker, indexes created at start."""
import copy
import logging
from dataclasses import dataclass
from datetime import timedelta, timezone

from nameko.extensions import DependencyProvider

from shared import clock, paging
from shared.personal import PLAIN
from shared.outbox import insert_with_events, update_with_events
from shared.platform import Platform
from shared.timer import BackgroundPass
from shared.writes import Writes


log = logging.getLogger(__name__)

# Fields the platform keeps on a document, which `modify` never diffs.
BOOKKEEPING = frozenset({"_id", "outbox", "outbox_due", "outbox_rev", "version",
                         "applied_events", "updated_at"})


ARCHIVE_BATCH = 200


def archive_name(collection):
    return "%s_archive" % collection


@dataclass(frozen=True)
class Finished:
    """When a document of a collection is finished, and so may leave the
    working set for the collection's archive: its `status` is none of `open`
    (every document is finished when `open` is empty) and its `since` field
    is older than the service's ARCHIVE_AFTER_SECONDS."""
    since: str
    open: tuple = ()
    status: str = "status"

    def query(self, before):
        query = {self.since: {"$lte": before}, "outbox_due": None}
        if self.open:
            query[self.status] = {"$nin": list(self.open)}
        return query

    def only_open(self, query):
        """Whether `query` can match unfinished documents only."""
        wanted = query.get(self.status)
        return bool(self.open) and isinstance(wanted, str) and wanted in self.open


class WriteConflict(Exception):
    """The document kept changing between read and write (retried, then raised)."""


class Repository:
    """Base of every service's repository: builds events through the
    catalogue and writes them in the same document as the change."""

    # Collections whose documents carry an outbox; the relay scans these.
    OUTBOX_COLLECTIONS = ()
    # Collections whose finished documents move to `<name>_archive` (Finished),
    # so what the hot paths read and scan is the work still in hand plus the
    # last ARCHIVE_AFTER_SECONDS, not everything ever stored. Reads by `_id`
    # (find) and lists that may match finished documents (page) look in both.
    ARCHIVED = {}
    archive_after_seconds = 7 * 24 * 3600
    # Personal fields per collection: encrypted by `insert` under the
    # service's keys (shared/personal.py), decrypted by `find` and `page`
    # and by `opened`; `linkage keys rotate` re-encrypts them.
    PERSONAL = {}
    personal = PLAIN

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

    def sealed(self, collection, document):
        return self.personal.seal_fields(document, self.PERSONAL.get(collection, ()))

    def opened(self, collection, document):
        return self.personal.open_fields(document, self.PERSONAL.get(collection, ()))

    def reseal(self, collection, document):
        """Re-encrypt, in place, the personal fields of a `collection` document
        that are plain or under a key that no longer writes (a key rotation);
        True if any was."""
        stale = [field for field in self.PERSONAL.get(collection, ())
                 if self.personal.stale(document.get(field))]
        for field in stale:
            document[field] = self.personal.encrypt(self.personal.open(document[field], field), field)
        return bool(stale)

    def insert(self, collection, document, events=()):
        self.db[collection].insert_one(insert_with_events(self.sealed(collection, document), events))
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
        task = self.find(collection, event.payload["returnee_id"])
        if task is not None and task.get("archived_at"):
            return False  # finished long ago: nothing left to be late on
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

    def page(self, collection, query, order, direction, limit, cursor=None):
        """One page of a list endpoint (shared/paging.py): the documents
        after `cursor` in (`order`, `_id`) order, the cursor after them, and
        how many match in all, counted no further than paging.TOTAL_LIMIT.
        The archive is read too unless `query` asks for unfinished work only."""
        found = paging.find_page(self.db[collection], query, order, direction, limit, cursor)
        finished = self.ARCHIVED.get(collection)
        if finished is not None and not finished.only_open(query):
            archived = paging.find_page(self.db[archive_name(collection)], query, order, direction,
                                        limit, cursor)
            found = paging.merge(found, archived, order, direction, limit)
        if collection not in self.PERSONAL:
            return found
        return found._replace(items=[self.opened(collection, item) for item in found.items])

    def find(self, collection, document_id):
        """A document by `_id` from the working set, else from the archive
        (marked by its `archived_at`)."""
        document = self.db[collection].find_one({"_id": document_id})
        if document is None and collection in self.ARCHIVED:
            document = self.db[archive_name(collection)].find_one({"_id": document_id})
        return self.opened(collection, document)

    def may_be_archived(self, since):
        """Whether a document made at `since` (say, by an event replayed from
        a dead-letter queue days later) could have been archived already."""
        return since is None or clock.utcnow() - since > timedelta(seconds=self.archive_after_seconds)

    def archive_finished(self, now=None, batch=ARCHIVE_BATCH):
        """Move up to `batch` finished documents per archived collection to
        its archive; {collection: moved}. A document is copied first and
        deleted from the working set only if it is still the version copied,
        so a crash between the two leaves it in both (a find prefers the
        working copy, and the next pass finishes the move)."""
        before = (now or clock.utcnow()) - timedelta(seconds=self.archive_after_seconds)
        moved = {}
        for name, finished in self.ARCHIVED.items():
            moved[name] = 0
            for candidate in self.db[name].find(finished.query(before), {"_id": 1}).limit(batch):
                with self.locked(name, candidate["_id"]):
                    document = self.db[name].find_one({"_id": candidate["_id"]})
                    if document is None or not _finished(document, finished, before):
                        continue
                    self.db[archive_name(name)].replace_one(
                        {"_id": document["_id"]}, dict(document, archived_at=clock.utcnow()),
                        upsert=True)
                    if self.db[name].delete_one({"_id": document["_id"],
                                                 "version": document.get("version")}).deleted_count:
                        moved[name] += 1
                    else:  # written to meanwhile: the working copy stays the only one
                        self.db[archive_name(name)].delete_one({"_id": document["_id"]})
        return moved

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


def _finished(document, finished, before):
    since = document.get(finished.since)
    if since is None or document.get("outbox_due") is not None:
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    return since <= before and (not finished.open or document.get(finished.status) not in finished.open)


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
    """The repository of a service's entrypoints, and the pass that moves its
    finished documents to the archive (Repository.ARCHIVED) every
    ARCHIVE_SCAN_SECONDS."""
    platform = Platform()

    def __init__(self, repository_cls):
        self.repository_cls = repository_cls
        self.relay_wakeup = lambda *written: None  # the relay's: (collection, _id) written
        self._archiving = None

    def start(self):
        self.repository_cls.create_indexes(self.platform.db)
        if self.repository_cls.ARCHIVED:
            self._archiving = BackgroundPass(self._archive, self.platform.settings.archive_scan_seconds,
                                             "archive")
            self._archiving.start(self.container)

    def stop(self):
        if self._archiving is not None:
            self._archiving.stop()

    def kill(self):
        if self._archiving is not None:
            self._archiving.kill()

    def repository(self):
        repository = self.repository_cls(self.platform.db, self.platform.catalogue,
                                          self.container.service_name, self.relay_wakeup,
                                          self.platform.writes)
        repository.archive_after_seconds = self.platform.settings.archive_after_seconds
        repository.personal = self.platform.personal
        return repository

    def get_dependency(self, worker_ctx):
        return self.repository()

    def _archive(self):
        """Batch after batch, until one is not full."""
        while True:
            moved = self.repository().archive_finished()
            for name, count in moved.items():
                self.platform.metrics.archived.labels(name).inc(count)
            if max(moved.values(), default=0) < ARCHIVE_BATCH or self._archiving.stopping:
                return


def insert_once(repository, collection, document, events=(), made_at=None):
    """Insert a document whose `_id` is derived from the event that causes it;
    a redelivered event hits the unique `_id` and changes nothing. `made_at`:
    when that event happened; an event old enough for the document to be
    archived already (a dead letter replayed) is looked for there first."""
    from pymongo.errors import DuplicateKeyError
    if (collection in repository.ARCHIVED and repository.may_be_archived(made_at)
            and repository.db[archive_name(collection)].find_one({"_id": document["_id"]}, {"_id": 1})):
        return False
    try:
        repository.insert(collection, document, events)
        return True
    except DuplicateKeyError:
        return False
