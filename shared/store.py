"""The Mongo dependency: one client per container (the Platform's), a
repository with domain methods per worker, indexes created at start."""
import contextlib
import copy
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta, timezone

import bson
from nameko.extensions import DependencyProvider
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from shared import clock, paging, retention
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
    (every document is finished when `open` is empty) and, when `done` is
    given, one of `done`; and its `since` field is older than the service's
    ARCHIVE_AFTER_SECONDS."""
    since: str
    open: tuple = ()
    status: str = "status"
    done: tuple = ()

    def query(self, before, pending=False):
        """Finished by `before` and, unless `pending`, with no event left to
        publish (it may leave the working set)."""
        query = {self.since: {"$lte": before}}
        if not pending:
            query["outbox_due"] = None
        if self.open:
            query[self.status] = {"$nin": list(self.open)}
        if self.done:
            query[self.status] = {"$in": list(self.done)}
        return query

    def only_open(self, query):
        """Whether `query` can match unfinished documents only."""
        wanted = query.get(self.status)
        return bool(self.open) and isinstance(wanted, str) and wanted in self.open


class WriteConflict(Exception):
    """The document kept changing between read and write (retried, then raised)."""


RECENT_MAX = 5000


class Recent:
    """The documents this process wrote last, as stored, by (collection,
    `_id`), the least recently used dropped past `size`. It saves the read
    before a write that follows soon (a linkage gets five or six party
    events within seconds of its registration). An entry is a guess, never
    trusted: a write made from one is guarded by its `version` in the
    database's own filter (`Repository.apply_to`), every write of the
    platform raises `version`, and an entry whose guard failed is dropped."""

    def __init__(self, size=RECENT_MAX):
        self.size = size
        self._documents = OrderedDict()

    def get(self, collection, document_id):
        key = (collection, document_id)
        document = self._documents.get(key)
        if document is not None:
            self._documents.move_to_end(key)
        return document

    def put(self, collection, document):
        key = (collection, document["_id"])
        self._documents[key] = document
        self._documents.move_to_end(key)
        while len(self._documents) > self.size:
            self._documents.popitem(last=False)

    def drop(self, collection, document_id):
        self._documents.pop((collection, document_id), None)

    def __len__(self):
        return len(self._documents)


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
    # Collections whose documents this process keeps as it last wrote them
    # (Recent), for `current` and `apply_to`: those written again soon after.
    REMEMBERED = ()
    recent = None  # the Store's Recent, shared by the workers of a process
    # Personal fields per collection: encrypted by `insert` under the
    # service's keys (shared/personal.py), decrypted by `find` and `page`
    # and by `opened`; `linkage keys rotate` re-encrypts them.
    PERSONAL = {}
    personal = PLAIN
    # Collections whose finished documents are de-identified
    # PERSONAL_DATA_RETENTION_DAYS after they finished: {collection:
    # retention.Identity} (shared/retention.py).
    RETAINED = {}
    retention_days = 180.0

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
        for name, identity in cls.RETAINED.items():
            if name in cls.ARCHIVED:
                db[archive_name(name)].create_index("finished_day")
            else:  # the retention pass's range (an index range on MongoDB)
                db[name].create_index(identity.finished.since)

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
        if document.get("deidentified_at") is not None:
            return False  # holds masked values only, which stay plain
        stale = [field for field in self.PERSONAL.get(collection, ())
                 if self.personal.stale(document.get(field))]
        for field in stale:
            document[field] = self.personal.encrypt(self.personal.open(document[field], field), field)
        return bool(stale)

    def insert(self, collection, document, events=()):
        document = insert_with_events(self.sealed(collection, document), events)
        if not events:
            self.db[collection].insert_one(document)
            return
        # The hand-over follows the insert under the document's lock, so no
        # write of this process comes between them (the relay relies on the
        # order of hand-overs; for a sole writer the lock is in memory).
        with self._hand_over_lock(collection, document["_id"]):
            self.db[collection].insert_one(document)
            self._on_events_written(collection, document["_id"], events, set(document["outbox"]))
        self._remember(collection, document)

    def _remember(self, collection, document):
        if self.recent is not None and collection in self.REMEMBERED:
            # as a read would give it back: BSON's millisecond times, aware
            self.recent.put(collection, bson.decode(bson.encode(document),
                                                    self.db[collection].codec_options))

    def current(self, collection, document_id):
        """A document as stored (personal fields sealed), to decide a write
        by `apply_to` under its lock: this process's last written copy when
        it has one, else read from the working set, else the archive."""
        if self.recent is not None:
            document = self.recent.get(collection, document_id)
            if document is not None:
                return document
        return self._stored(collection, document_id)

    def apply_to(self, collection, current, event_id, update, events=()):
        """`apply_once` for a document from `current`, in one round trip: the
        update is guarded in the database's filter by the `version` that
        copy holds (so a stale copy, or a document archived meanwhile, fails
        it whatever the write-guard mode) and returns the document after,
        which is remembered. The caller holds the document's lock, so on
        FerretDB too nothing writes between the check and the update. The
        document after it, or None when the guard failed: read again."""
        update = update_with_events(update, events)
        if event_id is not None:  # None: a change asked through the API
            update.setdefault("$push", {})["applied_events"] = event_id
        update.setdefault("$set", {})["updated_at"] = clock.utcnow()
        document_id = current["_id"]
        with self.locked(collection, document_id):
            after = self.db[collection].find_one_and_update(
                {"_id": document_id, "version": current["version"]}, update,
                return_document=ReturnDocument.AFTER)
            if after is None:
                if self.recent is not None:
                    self.recent.drop(collection, document_id)
                return None
            if events:
                self._on_events_written(collection, document_id, events, set(after.get("outbox") or {}))
        if self.recent is not None and collection in self.REMEMBERED:
            self.recent.put(collection, after)
        return after

    def _hand_over_lock(self, collection, document_id):
        if self.writes.sole_writer:
            return self.locked(collection, document_id)
        return contextlib.nullcontext()

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

    def note_overdue(self, collection, event, key="returnee_id"):
        """Record the notice that this party is late on a linkage (the
        committee's) or a tenant (the floating office's: `key` names the
        tenant). False when the notice is for another party (each party gets
        the linkage's all)."""
        if event.payload["party"] != self.service:
            return False
        document_id = event.payload[key]
        applied = self.apply_once(collection, {"_id": document_id}, event.event_id,
                                  {"$set": {"overdue": True, "overdue_notified_at": clock.utcnow(),
                                            "due_at": event.payload["due_at"]}})
        if applied:
            return True
        task = self.find(collection, document_id)
        if task is not None and task.get("archived_at"):
            return False  # finished long ago: nothing left to be late on
        if task is None or event.event_id not in task.get("applied_events", ()):
            # The task is still on its way (another queue), or it arrived
            # between the write above and this read: not applied, so try later.
            raise LookupError("no task %s yet" % document_id)
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
                self._seal_changed(collection, changed)
                update = _diff(current, changed)
                query = {"_id": document_id, "version": current["version"]}
                if event_id is not None:
                    written = self.apply_once(collection, query, event_id, update, envelopes, current)
                else:
                    written = self.update(collection, query, update, envelopes, current)
                if written:
                    return changed
        raise WriteConflict("%s %s kept changing" % (collection, document_id))

    def _seal_changed(self, name, document):
        """Encrypt, in place, the personal fields `decide` wrote in plain, so
        a `modify` stores them as `insert` does (a de-identified document
        holds masked values only, which stay plain)."""
        if document.get("deidentified_at") is not None:
            return
        base = name[:-len("_archive")] if name.endswith("_archive") else name
        for field in self.PERSONAL.get(base, ()):
            if field in document:
                document[field] = self.personal.seal(document[field], field)

    def modify_anywhere(self, collection, document_id, decide, event_id=None):
        """`modify` on the document in the working set or, failing that, in
        the archive. A change to an archived document that causes events
        brings it back to the working set, since the relay scans the working
        set only (a range on the archive would read all of it); the archive
        pass moves it again once its events are out. The document as
        written; None if there is no such document."""
        if collection not in self.ARCHIVED:
            return self.modify(collection, document_id, decide, event_id)
        archive = archive_name(collection)
        with self.locked(collection, document_id):  # the archive pass's lock
            if self.db[collection].find_one({"_id": document_id}, {"_id": 1}) is not None:
                return self.modify(collection, document_id, decide, event_id)
            caused = []

            def in_archive(document):
                envelopes = decide(document)
                if envelopes:
                    caused[:] = [document, envelopes]
                    return None  # written below, to the working set
                return envelopes
            current = self.modify(archive, document_id, in_archive, event_id)
            if not caused:
                return current
            changed, envelopes = caused
            self._seal_changed(collection, changed)
            self._restore(collection, current, changed, envelopes, event_id)
            return changed

    def _restore(self, collection, current, changed, envelopes, event_id):
        """Put `changed` (an archived document, as changed) back in the
        working set with its events, in one insert, then delete the archived
        copy if it is still `current` (a crash between the two leaves it in
        both: a find prefers the working copy, the archive pass replaces the
        other)."""
        restored = {key: value for key, value in changed.items()
                    if key not in ("archived_at", "finished_day")}
        restored.update(outbox={env["event_id"]: env for env in envelopes},
                        outbox_due=clock.utcnow(), outbox_rev=current.get("outbox_rev", 0) + 1,
                        version=current.get("version", 0) + 1, updated_at=clock.utcnow())
        if event_id is not None:
            restored["applied_events"] = list(current.get("applied_events", ())) + [event_id]
        self.db[collection].insert_one(restored)
        self.db[archive_name(collection)].delete_one({"_id": current["_id"],
                                                      "version": current.get("version")})
        self._on_events_written(collection, current["_id"], envelopes, set(restored["outbox"]))

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
        return self.opened(collection, self._stored(collection, document_id))

    def _stored(self, collection, document_id):
        """`find`'s read, personal fields still sealed."""
        document = self.db[collection].find_one({"_id": document_id})
        if document is None and collection in self.ARCHIVED:
            document = self.db[archive_name(collection)].find_one({"_id": document_id})
        return document

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
                        {"_id": document["_id"]}, self._archived(name, document, finished),
                        upsert=True)
                    if self.db[name].delete_one({"_id": document["_id"],
                                                 "version": document.get("version")}).deleted_count:
                        moved[name] += 1
                    else:  # written to meanwhile: the working copy stays the only one
                        self.db[archive_name(name)].delete_one({"_id": document["_id"]})
        return moved

    def _archived(self, name, document, finished):
        """The archive's copy of `document`: when it was archived, the day it
        finished (which the retention pass walks), and de-identified already
        if its retention ran out while it waited in the working set."""
        now = clock.utcnow()
        copied = dict(document, archived_at=now)
        if name in self.RETAINED:
            copied["finished_day"] = retention.finished_day(_aware(document[finished.since]))
            if _finished(document, finished, self.retention_cutoff(now)):
                retention.deidentify(copied, self.opened(name, copied), self.RETAINED[name],
                                     self.personal, now)
        return copied

    # --- retention (shared/retention.py) --------------------------------

    def retention_cutoff(self, now=None):
        """Documents finished at or before this have outlived their retention."""
        return (now or clock.utcnow()) - timedelta(days=self.retention_days)

    def finished_of(self, collection):
        return self.RETAINED[collection].finished or self.ARCHIVED[collection]

    def retained_until(self, collection, document):
        """(when the document finished, when its identity goes), or (None,
        None) while it is not finished."""
        finished = self.finished_of(collection)
        if not _finished(document, finished, clock.utcnow(), pending=True):
            return None, None
        since = _aware(document[finished.since])
        return since, since + timedelta(days=self.retention_days)

    def forget_expired(self, now=None, batch=retention.BATCH):
        """De-identify up to `batch` documents of each retained collection
        whose retention ran out, in the working set and then in the archive;
        {collection: de-identified}."""
        now = now or clock.utcnow()
        cutoff = self.retention_cutoff(now)
        done = {}
        for collection in self.RETAINED:
            finished = self.finished_of(collection)
            query = dict(finished.query(cutoff, pending=True), deidentified_at=None)
            count = 0
            for candidate in self.db[collection].find(query, {"_id": 1}).limit(batch):
                count += self.forget(collection, collection, candidate["_id"], now, cutoff)
            if collection in self.ARCHIVED:
                count += self._forget_archived(collection, cutoff, now, batch)
            done[collection] = count
        return done

    def forget(self, name, collection, document_id, now=None, cutoff=None):
        """De-identify one document of `name` (`collection` or its archive)
        under its lock and version guard, if it is finished by `cutoff`
        (None: whatever its state, as an erasure does); 1 if done now, else 0."""
        now = now or clock.utcnow()
        finished, identity = self.finished_of(collection), self.RETAINED[collection]
        done = []

        def decide(document):
            if document.get("deidentified_at") is not None or (
                    cutoff is not None and not _finished(document, finished, cutoff, pending=True)):
                return None
            retention.deidentify(document, self.opened(collection, document), identity,
                                 self.personal, now)
            done.append(True)
            return []
        self.modify(name, document_id, decide)
        return len(done)

    def _forget_archived(self, collection, cutoff, now, batch):
        """Walk the archive a day at a time from the day after the last one
        done to the day `cutoff` falls on; a day wholly past `cutoff` and
        wholly done is marked done."""
        archive = archive_name(collection)
        self._add_finished_days(collection)
        mark_id = "deidentified_through:%s" % archive
        mark = self.db[retention.MARKS].find_one({"_id": mark_id})
        if mark is not None:
            first = (date.fromisoformat(mark["day"]) + timedelta(days=1)).isoformat()
        else:
            oldest = list(self.db[archive].find({"finished_day": {"$ne": None}}, {"finished_day": 1})
                          .sort("finished_day", 1).limit(1))
            if not oldest:
                return 0
            first = oldest[0]["finished_day"]
        last = retention.finished_day(cutoff)
        count = 0
        for day in retention.days(first, last) if first <= last else ():
            left = batch - count
            candidates = list(self.db[archive].find({"finished_day": day, "deidentified_at": None},
                                                    {"_id": 1}).limit(left))
            for candidate in candidates:
                count += self.forget(archive, collection, candidate["_id"], now, cutoff)
            if day == last or len(candidates) == left:
                break  # the day is not over yet, or the batch is full: go on next pass
            self.db[retention.MARKS].update_one({"_id": mark_id}, {"$set": {"day": day}},
                                                upsert=True)
        return count

    def _add_finished_days(self, collection):
        """Give archived documents of earlier versions their `finished_day`,
        once per archive (marked done)."""
        archive, since = archive_name(collection), self.finished_of(collection).since
        mark_id = "finished_days_added:%s" % archive
        if self.db[retention.MARKS].find_one({"_id": mark_id}):
            return
        for document in self.db[archive].find({"finished_day": None}, {since: 1}):
            if document.get(since) is not None:
                self.db[archive].update_one({"_id": document["_id"]}, {"$set": {
                    "finished_day": retention.finished_day(_aware(document[since]))}})
        try:
            self.db[retention.MARKS].insert_one({"_id": mark_id, "at": clock.utcnow()})
        except DuplicateKeyError:
            pass  # a replica did it at the same time

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
                # Every event the document holds now, when the caller read it
                # under this lock: the relay then marks them sent without a read.
                pending = None if current is None else (
                    set(current.get("outbox") or {}) | {env["event_id"] for env in events})
                self._on_events_written(collection, query["_id"], events, pending)
        return written


def _finished(document, finished, before, pending=False):
    """Whether `document` finished by `before` (and, unless `pending`, has
    no event left to publish: it may leave the working set)."""
    since = document.get(finished.since)
    if since is None or (document.get("outbox_due") is not None and not pending):
        return False
    status = document.get(finished.status)
    return (_aware(since) <= before and (not finished.open or status not in finished.open)
            and (not finished.done or status in finished.done))


def _aware(at):
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


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
    """The repository of a service's entrypoints; the pass that moves its
    finished documents to the archive (Repository.ARCHIVED) every
    ARCHIVE_SCAN_SECONDS, and the one that de-identifies those past their
    retention (Repository.RETAINED) every RETENTION_SCAN_SECONDS."""
    platform = Platform()

    def __init__(self, repository_cls):
        self.repository_cls = repository_cls
        self.relay_wakeup = lambda *written: None  # the relay's: (collection, _id, envelopes, pending)
        self._archiving = self._retaining = None
        self._passes = []
        self.recent = Recent()

    def start(self):
        self.repository_cls.create_indexes(self.platform.db)
        settings = self.platform.settings
        if self.repository_cls.ARCHIVED:
            self._archiving = BackgroundPass(self._archive, settings.archive_scan_seconds, "archive")
        if self.repository_cls.RETAINED:
            self._retaining = BackgroundPass(self._forget, settings.retention_scan_seconds, "retention")
        self._passes = [upkeep for upkeep in (self._archiving, self._retaining) if upkeep is not None]
        for upkeep in self._passes:
            upkeep.start(self.container)

    def stop(self):
        for upkeep in self._passes:
            upkeep.stop()

    def kill(self):
        for upkeep in self._passes:
            upkeep.kill()

    def repository(self):
        repository = self.repository_cls(self.platform.db, self.platform.catalogue,
                                          self.container.service_name, self.relay_wakeup,
                                          self.platform.writes)
        repository.archive_after_seconds = self.platform.settings.archive_after_seconds
        repository.retention_days = self.platform.settings.personal_data_retention_days
        repository.personal = self.platform.personal
        repository.recent = self.recent
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

    def _forget(self):
        """Batch after batch, until one is not full."""
        while True:
            done = self.repository().forget_expired()
            for name, count in done.items():
                self.platform.metrics.deidentified.labels(name).inc(count)
            if max(done.values(), default=0) < retention.BATCH or self._retaining.stopping:
                return


def insert_once(repository, collection, document, events=(), made_at=None):
    """Insert a document whose `_id` is derived from the event that causes it;
    a redelivered event hits the unique `_id` and changes nothing. `made_at`:
    when that event happened; an event old enough for the document to be
    archived already (a dead letter replayed) is looked for there first."""
    if (collection in repository.ARCHIVED and repository.may_be_archived(made_at)
            and repository.db[archive_name(collection)].find_one({"_id": document["_id"]}, {"_id": 1})):
        return False
    try:
        repository.insert(collection, document, events)
        return True
    except DuplicateKeyError:
        return False
