"""Names and declarations of every exchange and queue, derived from the catalogue.

Everything is declared up front (by every service at start, by the relay
before its first publish, and by RabbitMQ's definitions file in compose), so
an event for a service that is not running yet waits in its queue instead of
being confirmed and dropped.

- each producer has a durable topic exchange `<producer>.events`; the routing
  key is the event type, or `<event_type>.<consumer>` for an event addressed
  to one consumer (shared/events.py);
- each (consumer, event type) has a durable quorum queue `<consumer>.<event_type>`,
  bound to the exchange of every producer of that event type;
  the broker dead-letters a message it has redelivered too often (a consumer
  that crashes on it) to the consumer's dead-letter queue;
- each service has a dead-letter queue `<service>.dead_letters`;
- each retry delay has a fanout exchange and a quorum queue
  `linkage.retry.<ms>ms.quorum` whose messages expire after the delay and go
  back (dead-lettered at least once), through the default exchange, to the
  queue named by their routing key.
"""
from kombu import Exchange, Queue, binding

# Redeliveries the broker allows before it dead-letters a message itself:
# a backstop for handlers that crash their process rather than raise.
DELIVERY_LIMIT = 20


def event_exchange_name(producer):
    return "%s.events" % producer


def consumer_queue_name(consumer, event_type):
    return "%s.%s" % (consumer, event_type)


def dead_letter_queue_name(service):
    return "%s.dead_letters" % service


def retry_name(delay_ms):
    # ".quorum": the retry queues were classic queues once; a queue keeps its
    # type, so the quorum ones have names of their own.
    return "linkage.retry.%dms.quorum" % delay_ms


def _consumer_queue_arguments(consumer):
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue_name(consumer),
    }


def event_exchange(producer):
    return Exchange(event_exchange_name(producer), type="topic", durable=True)


def consumer_queue(consumer, spec):
    routing_key = spec.routing_key(consumer=consumer)
    if len(spec.producers) == 1:
        return Queue(consumer_queue_name(consumer, spec.event_type),
                     exchange=event_exchange(spec.producer), routing_key=routing_key,
                     durable=True, queue_arguments=_consumer_queue_arguments(consumer))
    return Queue(consumer_queue_name(consumer, spec.event_type),
                 bindings=[binding(event_exchange(producer), routing_key=routing_key)
                           for producer in spec.producers],
                 durable=True, queue_arguments=_consumer_queue_arguments(consumer))


def queue_bindings(queue):
    """(exchange, routing key) of each binding of a queue, in a stable order."""
    if queue.bindings:
        return sorted((b.exchange.name, b.routing_key or "") for b in queue.bindings)
    if queue.exchange is not None and queue.exchange.name:
        return [(queue.exchange.name, queue.routing_key or "")]
    return []


def dead_letter_queue(service):
    return Queue(dead_letter_queue_name(service), durable=True,
                 queue_arguments={"x-queue-type": "quorum"})


def retry_queue(delay_ms):
    name = retry_name(delay_ms)
    return Queue(
        name,
        exchange=Exchange(name, type="fanout", durable=True),
        routing_key="",
        durable=True,
        queue_arguments={
            # A message waiting out its delay was already acknowledged on its
            # own queue: it must survive a node as the queues it came from do.
            "x-queue-type": "quorum",
            "x-message-ttl": int(delay_ms),
            "x-dead-letter-exchange": "",
            # Back to its queue at least once, even across a node failure
            # (needs reject-publish: the queue never drops the oldest).
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def all_queues(catalogue, retry_delays_ms):
    queues = []
    for spec in catalogue:
        for consumer in spec.consumers:
            queues.append(consumer_queue(consumer, spec))
    queues.extend(dead_letter_queue(service) for service in catalogue.services())
    queues.extend(retry_queue(delay) for delay in retry_delays_ms)
    return queues


def producers(catalogue):
    return sorted({producer for spec in catalogue for producer in spec.producers})


def declare(channel, catalogue, retry_delays_ms):
    """Declare every exchange, queue and binding; idempotent."""
    for producer in producers(catalogue):
        event_exchange(producer)(channel).declare()
    for queue in all_queues(catalogue, retry_delays_ms):
        queue(channel).declare()


def definitions(catalogue, retry_delays_ms, vhost="/"):
    """The same topology as a RabbitMQ definitions document (for compose)."""
    exchanges = [
        {"name": event_exchange_name(producer), "vhost": vhost, "type": "topic",
         "durable": True, "auto_delete": False, "internal": False, "arguments": {}}
        for producer in producers(catalogue)
    ]
    queues, bindings = [], []
    for queue in all_queues(catalogue, retry_delays_ms):
        queues.append({"name": queue.name, "vhost": vhost, "durable": True,
                       "auto_delete": False, "arguments": dict(queue.queue_arguments or {})})
        if queue.exchange is not None and queue.exchange.type == "fanout":
            exchanges.append({"name": queue.exchange.name, "vhost": vhost, "type": "fanout",
                              "durable": True, "auto_delete": False, "internal": False,
                              "arguments": {}})
        for exchange, routing_key in queue_bindings(queue):
            bindings.append({"source": exchange, "vhost": vhost,
                             "destination": queue.name, "destination_type": "queue",
                             "routing_key": routing_key, "arguments": {}})
    return {"exchanges": exchanges, "queues": queues, "bindings": bindings}
