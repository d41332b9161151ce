"""The transactional outbox, for a database with single-document atomicity only.

A business document carries its own pending events: `outbox` maps event id to
envelope, `outbox_due` says when the relay should next try them, and
`outbox_rev` grows with every write that adds events (`version` grows with
every write, for the services' own read-then-write checks). The business
change and its events are therefore one atomic write (an insert, or one
update_one).

The relay publishes pending events with confirms and only then removes them
from the document. It clears `outbox_due` only when no other event is
pending and none was added since it read the document (`outbox_rev` is
unchanged), so nothing is ever left behind. A crash between the confirm and
the removal publishes an event twice; consumers are idempotent, so that is
harmless. Nothing is lost, nothing applied twice.
"""
from collections import deque, namedtuple
from datetime import timedelta

from shared import clock

PROJECTION = {"outbox": 1, "outbox_rev": 1}


def insert_with_events(document, envelopes):
    """A new document that carries `envelopes` as pending events."""
    document = dict(document)
    document["outbox"] = {env["event_id"]: env for env in envelopes}
    document["outbox_due"] = clock.utcnow() if envelopes else None
    document["outbox_rev"] = 1 if envelopes else 0
    document["version"] = 1
    return document


def update_with_events(update, envelopes):
    """`update` (a MongoDB update document) extended to add pending events."""
    update = {op: dict(fields) for op, fields in update.items()}
    incs = update.setdefault("$inc", {})
    incs["version"] = 1
    if envelopes:
        sets = update.setdefault("$set", {})
        for env in envelopes:
            sets["outbox.%s" % env["event_id"]] = env
        sets["outbox_due"] = clock.utcnow()
        incs["outbox_rev"] = 1
    return update


def pending_query(now):
    return {"outbox_due": {"$lte": now}}


def pending_events(document):
    """The document's pending envelopes, oldest first."""
    return sorted((document.get("outbox") or {}).values(), key=lambda env: env["occurred_at"])


def mark_published(writes, collection, document_id, published_ids, all_sent=None):
    """Remove the published events from the document, and clear its due mark
    if nothing else is pending. Reads the document under its lock, so the
    relay may publish envelopes it holds in memory without reading first;
    unless `all_sent()`, asked under the lock, says these are every event the
    document holds (the relay knows it when this process is the document's
    only writer): then it is one write by `_id`."""
    published = set(published_ids)
    with writes.locked(collection.name, document_id):
        if all_sent is not None and all_sent():
            update = {"$set": {"outbox_due": None}}
            if published:
                update["$unset"] = {"outbox.%s" % event_id: "" for event_id in published}
            collection.update_one({"_id": document_id}, update)
            return
        document = collection.find_one({"_id": document_id}, PROJECTION)
        if document is None:
            return
        pending = set(document.get("outbox") or {})
        unset = {"outbox.%s" % event_id: "" for event_id in pending & published}
        if not pending - published:
            update = {"$set": {"outbox_due": None}}
            if unset:
                update["$unset"] = unset
            guard = {"_id": document_id, "outbox_rev": document.get("outbox_rev")}
            if writes.update_one(collection, guard, update, current=document):
                return
        # Other events are pending, or were added since: leave the due mark for them.
        if unset:
            collection.update_one({"_id": document_id}, {"$unset": unset})


HandOver = namedtuple("HandOver", "collection document_id envelopes number pending")


class HandOvers:
    """The writes a process handed to its relay, in the order it made them.

    Each hand-over is numbered, and the latest number of each document is
    kept, so the relay can tell whether a write came after the one it is
    marking sent. `pending`, when the writer knows it, is every event id the
    document held right after the write. The queue is bounded (while the
    broker is down the scans carry the load); a dropped hand-over still
    counts as the document's latest, so no earlier one may skip its read.
    """

    def __init__(self, queued_max, latest_max=None):
        self.queued_max = queued_max
        self.latest_max = latest_max or 2 * queued_max
        self._queue = deque()
        self._made = 0
        self._latest = {}  # (collection, _id) -> number of its latest hand-over

    def add(self, collection, document_id, envelopes, pending=None):
        self._made += 1
        if len(self._latest) >= self.latest_max:
            self._latest.clear()  # forgetting only costs reads
        self._latest[(collection, document_id)] = self._made
        if len(self._queue) < self.queued_max:
            self._queue.append(HandOver(collection, document_id, list(envelopes), self._made, pending))

    def __len__(self):
        return len(self._queue)

    def next(self):
        return self._queue.popleft()

    def all_sent(self, hand_over, published_ids):
        """For `mark_published`: a question to ask under the document's lock
        (whether no write came after this one, which named every event the
        document held, and all of them were sent), or None when the answer
        is no already."""
        if hand_over.pending is None or not hand_over.pending <= set(published_ids):
            return None
        key = (hand_over.collection, hand_over.document_id)
        return lambda: self._latest.get(key) == hand_over.number

    def done(self, hand_over):
        key = (hand_over.collection, hand_over.document_id)
        if self._latest.get(key) == hand_over.number:
            del self._latest[key]


def postpone(collection, document_id, delay_seconds):
    collection.update_one(
        {"_id": document_id},
        {"$set": {"outbox_due": clock.utcnow() + timedelta(seconds=delay_seconds)}},
    )
