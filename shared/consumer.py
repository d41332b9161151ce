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
- if even the republish fails (broker gone), the message is requeued, never
  dropped.

Handlers must be idempotent (the Repository's `apply_once`/`insert_once`
record the event id in the same write as the effect), because a message can
be delivered again after a crash or a replay.
"""
import logging
import time
from functools import partial

from nameko.exceptions import ConfigurationError
from nameko.messaging import Consumer

from shared import clock, logs, topology
from shared.events import InvalidEvent
from shared.platform import Platform

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-linkage-attempt"
DEAD_LETTER_REASONS = ("invalid", "poison", "retries_exhausted")


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never be applied."""


class EventHandler(Consumer):
    platform = Platform()

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
        self.queue = topology.consumer_queue(service, self.spec)
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
            log.exception("could not schedule a retry; requeueing instead")
            self.queue_consumer.requeue_message(message)
            return
        logs.info(log, "event failed, will retry", event_type=self.event_type,
                  event_id=event.event_id, attempt=attempt, retry_in_ms=delay_ms, error=error)
        self.queue_consumer.ack_message(message)

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
            self.platform.broker.publish_to_queue(topology.dead_letter_queue_name(service), body, headers)
        except Exception:
            log.exception("could not dead-letter; requeueing instead")
            self.queue_consumer.requeue_message(message)
            return
        self.platform.metrics.events_dead_lettered.labels(self.event_type, reason).inc()
        log.warning("event dead-lettered", extra={"fields": {
            "event_type": self.event_type, "reason": reason, "error": error, "attempts": attempt}})
        self.queue_consumer.ack_message(message)


event_handler = EventHandler.decorator
