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


def mark_published(writes, collection, document_id, published_ids):
    """Remove the published events from the document, and clear its due mark
    if nothing else is pending. Reads the document under its lock, so the
    relay may publish envelopes it holds in memory without reading first."""
    published = set(published_ids)
    with writes.locked(collection.name, document_id):
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


def postpone(collection, document_id, delay_seconds):
    collection.update_one(
        {"_id": document_id},
        {"$set": {"outbox_due": clock.utcnow() + timedelta(seconds=delay_seconds)}},
    )
