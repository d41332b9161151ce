"""Listing and replaying dead letters (the operator's side of the DLQs).

Listing takes every message without acknowledging it and closes the channel,
which returns them all to their queue. Replay puts a message back on the
queue it failed on, with its attempt count reset, confirmed by the broker,
and only then removes it from the dead-letter queue. Consumers are
idempotent, so replaying something that was in fact applied changes nothing.
An undecodable message (not a JSON event) is listed, never replayed.
"""
from kombu import Connection

from shared import topology
from shared.broker import Broker
from shared.catalogue import CATALOGUE
from shared.consumer import ATTEMPT_HEADER


def _row(service, message):
    headers = message.headers or {}
    return {
        "service": service,
        "message_id": message.properties.get("message_id") or headers.get("message_id") or "",
        "original_queue": headers.get("x-linkage-original-queue", ""),
        "reason": headers.get("x-linkage-reason", "delivery_limit"),
        "attempts": headers.get("x-linkage-attempts", ""),
        "error": str(headers.get("x-linkage-error", "")),
        "dead_lettered_at": headers.get("x-linkage-dead-lettered-at", ""),
        "headers": headers,
        "body": message.payload,
    }


def _drain(channel, service):
    """Every message of the service's DLQ, one at a time, unacknowledged
    (the broker holds them for the channel; this process holds one)."""
    queue = topology.dead_letter_queue(service)(channel)
    queue.declare()
    while True:
        message = queue.get(no_ack=False, accept=["json"])
        if message is None:
            return
        yield message


def browse(settings, services):
    """The dead letters as rows, streamed: a long queue is never read into memory."""
    with Connection(settings.amqp_uri, connect_timeout=5) as connection:
        for service in services:
            channel = connection.channel()
            try:
                for message in _drain(channel, service):
                    yield _row(service, message)
            finally:
                channel.close()  # returns the unacknowledged messages to the queue


def of_correlation(settings, service, correlation_id, limit):
    """The dead letters of one linkage or case in `service`'s queue (read
    as `browse` does, the first `limit` of them), as a trace shows them:
    the envelope's metadata and why, never the payload."""
    found = []
    for count, row in enumerate(browse(settings, [service])):
        if count >= limit:
            break
        body = row["body"] if isinstance(row["body"], dict) else {}
        if body.get("correlation_id") != correlation_id:
            continue
        found.append({"event_id": row["message_id"], "event_type": body.get("event_type"),
                      "producer": body.get("producer"), "queue": row["original_queue"],
                      "reason": row["reason"], "attempts": _int(row["attempts"]),
                      "error": row["error"][:300], "dead_lettered_at": row["dead_lettered_at"] or None})
    return found


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def replay(settings, services, message_id=None, catalogue=CATALOGUE, owner=None):
    """Replay one dead letter (by message id) or all; the number replayed.
    `owner`: the one service whose broker user this is (DECLARE_TOPOLOGY=own)."""
    broker = Broker(settings.amqp_uri, catalogue, settings.retry_delays_ms, owner=owner)
    replayed = 0
    try:
        with Connection(settings.amqp_uri, connect_timeout=5) as connection:
            for service in services:
                channel = connection.channel()
                for message in _drain(channel, service):
                    row = _row(service, message)
                    if message_id is not None and row["message_id"] != message_id:
                        continue
                    if row["reason"] == "undecodable":
                        continue  # not an event: there is nothing to apply
                    queue = row["original_queue"] or _queue_from_death(message)
                    if not queue:
                        continue
                    headers = {key: value for key, value in row["headers"].items()
                               if not key.startswith("x-linkage-") and key != "x-death"}
                    headers[ATTEMPT_HEADER] = 1
                    headers["message_id"] = row["message_id"]
                    broker.publish_to_queue(queue, message.payload, headers)
                    message.ack()
                    replayed += 1
                channel.close()
    finally:
        broker.close()
    return replayed


def _queue_from_death(message):
    """The queue of a message the broker itself dead-lettered (delivery limit)."""
    deaths = (message.headers or {}).get("x-death") or []
    return deaths[0].get("queue") if deaths else None
