"""The transactional outbox, for a database with single-document atomicity only.

A business document carries its own pending events: `outbox` maps event id to
envelope, `outbox_due` says when the relay should next try them, and
`version` grows with every write that adds events. The business change and
its events are therefore one atomic write (an insert, or one update_one).

The relay publishes pending events with confirms and only then removes them
from the document. It clears `outbox_due` only if no event was added in the
meantime (the version is unchanged), so nothing is ever left behind. A crash
between the confirm and the removal publishes an event twice; consumers are
idempotent, so that is harmless. Nothing is lost, nothing applied twice.
"""
from datetime import timedelta

from shared import clock


def insert_with_events(document, envelopes):
    """A new document that carries `envelopes` as pending events."""
    document = dict(document)
    document["outbox"] = {env["event_id"]: env for env in envelopes}
    document["outbox_due"] = clock.utcnow() if envelopes else None
    document["version"] = 1
    return document


def update_with_events(update, envelopes):
    """`update` (a MongoDB update document) extended to add pending events."""
    update = {op: dict(fields) for op, fields in update.items()}
    if envelopes:
        sets = update.setdefault("$set", {})
        for env in envelopes:
            sets["outbox.%s" % env["event_id"]] = env
        sets["outbox_due"] = clock.utcnow()
    update.setdefault("$inc", {})["version"] = 1
    return update


def pending_query(now):
    return {"outbox_due": {"$lte": now}}


def pending_events(document):
    """The document's pending envelopes, oldest first."""
    return sorted((document.get("outbox") or {}).values(), key=lambda env: env["occurred_at"])


def mark_published(collection, document, published_ids):
    """Remove the published events; clear the due mark only if every event
    of the document went out and nothing was added since it was read."""
    unset = {"outbox.%s" % event_id: "" for event_id in published_ids}
    if not unset:
        return
    if set(document.get("outbox") or {}) - set(published_ids):
        collection.update_one({"_id": document["_id"]}, {"$unset": unset})
        return
    result = collection.update_one(
        {"_id": document["_id"], "version": document.get("version")},
        {"$unset": unset, "$set": {"outbox_due": None}},
    )
    if result.matched_count == 0:
        # Events were added since we read it: leave the due mark for them.
        collection.update_one({"_id": document["_id"]}, {"$unset": unset})


def postpone(collection, document, delay_seconds):
    collection.update_one(
        {"_id": document["_id"]},
        {"$set": {"outbox_due": clock.utcnow() + timedelta(seconds=delay_seconds)}},
    )
