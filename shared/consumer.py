"""The event handler entrypoint: at-least-once delivery, explicit failure.

nameko's own event handler acknowledges a message whose handler raised, and
its requeue option is a hot loop. This one:

- loads the event through its catalogue schema; an invalid event goes to the
  service's dead-letter queue at once, with the reason;
- acknowledges only after the handler returned;
- on a handler error, republishes the message (confirmed) to a delay queue
  that returns it after 1st, 2nd, ... configured delay, then acks; after the
  last delay it goes to the dead-letter queue instead;
- a handler that raises PoisonEvent dead-letters at once;
- if even the republish fails (broker gone), the message is requeued after
  a pause that grows (not in a hot loop through the delivery limit), never
  dropped;
- a body that cannot be decoded (not JSON, or another content type) is
  dead-lettered with the reason `undecodable`; kombu's own handling would log
  the raw body (personal data) and acknowledge it away.

Handlers must be idempotent (the Repository's `apply_once`/`insert_once`
record the event id in the same write as the effect), because a message can
be delivered again after a crash or a replay.
"""
import base64
import logging
import time
import uuid
from functools import partial

import eventlet
from nameko.exceptions import ConfigurationError
from nameko.messaging import Consumer, QueueConsumer

from shared import clock, journal, logs, topology
from shared.events import InvalidEvent
from shared.platform import Platform

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-linkage-attempt"
DEAD_LETTER_REASONS = ("invalid", "poison", "retries_exhausted", "undecodable")
REQUEUE_PAUSE_SECONDS = (1, 2, 5, 10, 30)  # when even the retry could not be scheduled


class DeadLetteringQueueConsumer(QueueConsumer):
    """nameko's queue consumer, handing an undecodable message to the
    handler whose queue it came from instead of logging and acking it, and
    surviving a connection reset under an acknowledgement (nameko lets the
    socket's error kill the container; the broker delivers the message
    again, and the handlers are idempotent)."""

    def ack_message(self, message):
        try:
            super().ack_message(message)
        except OSError as exc:
            log.warning("connection lost before the ack (%s); the broker delivers it again", exc)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except OSError as exc:
            log.warning("connection lost before the requeue (%s); the broker delivers it again", exc)

    def on_decode_error(self, message, exc):
        tag = (message.delivery_info or {}).get("consumer_tag")
        for provider, consumer in list(self._consumers.items()):
            if tag in getattr(consumer, "_active_tags", {}).values():
                try:
                    provider.dead_letter_undecodable(message, exc)
                    return
                except Exception:  # never let it stop the consumer: the broker keeps it
                    log.exception("could not dead-letter an undecodable message")
                    break
        log.error("undecodable message on an unknown consumer; rejecting it to the dead letters",
                  extra={"fields": {"content_type": message.content_type, "bytes": len(message.body or b"")}})
        message.reject(requeue=False)  # the queue's dead-letter target takes it


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never be applied."""


class EventHandler(Consumer):
    platform = Platform()
    notes = journal.Notes()
    queue_consumer = DeadLetteringQueueConsumer()

    def __init__(self, event_type, **kwargs):
        self.event_type = event_type
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def setup(self):
        self.platform.ensure_ready()
        service = self.container.service_name
        self.spec = self.platform.catalogue.spec(self.event_type)
        if service not in self.spec.consumers:
            raise ConfigurationError("%s is not a consumer of %s in the catalogue"
                                     % (service, self.event_type))
        self.queue = topology.consumer_queue(service, self.spec,
                                             bound=self.platform.settings.topology_owner is None)
        for reason in DEAD_LETTER_REASONS:  # series exist from the start, so increase() sees the first
            self.platform.metrics.events_dead_lettered.labels(self.event_type, reason)
        super().setup()

    # nameko hands us (body, message) for every delivery.
    def handle_message(self, body, message):
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        try:
            event = self.platform.catalogue.load(body)
            if event.event_type != self.event_type:
                raise InvalidEvent("expected %s, got %s" % (self.event_type, event.event_type))
        except InvalidEvent as exc:
            self._dead_letter(body, message, "invalid", exc.reason, attempt)
            return
        context_data = {"correlation_id": event.correlation_id}
        started = time.monotonic()
        self.container.spawn_worker(
            self, (event,), {}, context_data=context_data,
            handle_result=partial(self._handle_result, body, message, event, attempt, started))

    def _handle_result(self, body, message, event, attempt, started, worker_ctx, result, exc_info):
        metrics = self.platform.metrics
        metrics.handler_duration.labels(self.event_type).observe(time.monotonic() - started)
        logs.set_correlation_id(event.correlation_id)
        if exc_info is None:
            metrics.events_consumed.labels(self.event_type).inc()
            logs.info(log, "event handled", event_type=self.event_type, event_id=event.event_id,
                      attempt=attempt, outcome="handled")
            self.queue_consumer.ack_message(message)
            self.notes.add([journal.attempted(event, "handled", attempt)])
            return result, exc_info

        metrics.events_failed.labels(self.event_type).inc()
        error = "%s: %s" % (exc_info[0].__name__, exc_info[1])
        delays = self.platform.settings.retry_delays_ms
        if issubclass(exc_info[0], PoisonEvent):
            self._dead_letter(body, message, "poison", error, attempt)
        elif attempt >= self.platform.settings.max_attempts:
            self._dead_letter(body, message, "retries_exhausted", error, attempt)
        else:
            self._retry(body, message, event, attempt, delays[attempt - 1], error)
        return result, exc_info

    def _retry(self, body, message, event, attempt, delay_ms, error):
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt + 1
        headers["x-linkage-last-error"] = error[:500]
        headers["message_id"] = event.event_id
        try:
            self.platform.broker.publish_delayed(self.queue.name, body, headers, delay_ms)
        except Exception:
            self._requeue_later(message, attempt, "could not schedule a retry")
            return
        logs.info(log, "event failed, will retry", event_type=self.event_type,
                  event_id=event.event_id, attempt=attempt, retry_in_ms=delay_ms, error=error)
        self.queue_consumer.ack_message(message)
        self.notes.add([journal.attempted(event, "retried", attempt, error=error,
                                          retry_in_ms=delay_ms)])

    def _dead_letter(self, body, message, reason, error, attempt):
        headers = dict(message.headers or {})
        headers.update({
            "x-linkage-original-queue": self.queue.name,
            "x-linkage-reason": reason,
            "x-linkage-error": error[:2000],
            "x-linkage-attempts": attempt,
            "x-linkage-dead-lettered-at": clock.isoformat(clock.utcnow()),
            "message_id": (body.get("event_id") if isinstance(body, dict) else None) or "",
        })
        service = self.container.service_name
        try:
            self.platform.broker.publish_dead_letter(service, body, headers)
        except Exception:
            self._requeue_later(message, attempt, "could not dead-letter")
            return
        self.platform.metrics.events_dead_lettered.labels(self.event_type, reason).inc()
        log.warning("event dead-lettered", extra={"fields": {
            "event_type": self.event_type, "reason": reason, "error": error, "attempts": attempt}})
        self.queue_consumer.ack_message(message)
        if isinstance(body, dict) and body.get("event_id"):
            self.notes.add([journal.attempted(body, "dead_lettered", attempt, error=error,
                                              reason=reason)])


    def _requeue_later(self, message, attempt, why):
        """The broker would not take the retry or the dead letter (it is
        down): hand the message back after a pause, so it is not redelivered
        at once, again and again, through the delivery limit."""
        # A quorum queue counts the redeliveries: the pause grows with them.
        redeliveries = int((message.headers or {}).get("x-delivery-count") or 0)
        pause = REQUEUE_PAUSE_SECONDS[min(attempt + redeliveries, len(REQUEUE_PAUSE_SECONDS)) - 1]
        log.warning("%s; requeueing in %ss" % (why, pause), exc_info=True)
        eventlet.sleep(pause)
        self.queue_consumer.requeue_message(message)

    def dead_letter_undecodable(self, message, exc):
        """A body that is not a JSON event: kept, wrapped, for an operator to
        see; never logged (it may hold personal data)."""
        raw = message.body or b""
        if isinstance(raw, str):  # py-amqp decoded it with its content encoding
            raw = raw.encode(message.content_encoding or "utf-8", "surrogateescape")
        body = {"event_id": message.properties.get("message_id") or uuid.uuid4().hex,
                "undecodable_base64": base64.b64encode(raw).decode("ascii"),
                "content_type": message.content_type, "content_encoding": message.content_encoding}
        reason = "%s (content type %r, %d bytes)" % (type(exc).__name__, message.content_type,
                                                      len(raw))
        self._dead_letter(body, message, "undecodable", reason, 1)


event_handler = EventHandler.decorator
