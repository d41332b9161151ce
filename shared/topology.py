"""Names and declarations of every exchange and queue, derived from the catalogue,
and what each service's broker user may do with them.

Everything is declared up front, so an event for a service that is not
running yet waits in its queue instead of being confirmed and dropped: on the
local stack by every service at start and by the relay before its first
publish (DECLARE_TOPOLOGY=all, as guest); in compose and Kubernetes by the
broker's definitions (`definitions`, `kubernetes`), where each service has a
user of its own (`permissions`) and declares only what it owns
(DECLARE_TOPOLOGY=own).

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
import re

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


RETRY_NAMES = r"linkage\.retry\.[0-9]+ms\.quorum"


def _consumer_queue_arguments(consumer):
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue_name(consumer),
    }


def event_exchange(producer):
    return Exchange(event_exchange_name(producer), type="topic", durable=True)


def consumer_queue(consumer, spec, bound=True):
    """`bound=False`: the queue alone, for a consumer whose broker user may
    not read the producers' exchanges (the definitions bind it)."""
    if not bound:
        return Queue(consumer_queue_name(consumer, spec.event_type), durable=True,
                     queue_arguments=_consumer_queue_arguments(consumer))
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


def owned_queues(catalogue, service):
    """The service's own queues, unbound: its consumer queues and its dead letters."""
    queues = [consumer_queue(service, spec, bound=False) for spec in catalogue
              if service in spec.consumers]
    return queues + [dead_letter_queue(service)]


def declare(channel, catalogue, retry_delays_ms, owner=None):
    """Declare every exchange, queue and binding; idempotent. With `owner`,
    only what that service's user may configure (`permissions`): its own
    exchange and queues. The rest (their bindings, the retry exchanges and
    queues, the other parties' queues) must exist already: the definitions
    make it."""
    if owner is not None:
        if owner in producers(catalogue):
            event_exchange(owner)(channel).declare()
        for queue in owned_queues(catalogue, owner):
            queue(channel).declare()
        return
    for producer in producers(catalogue):
        event_exchange(producer)(channel).declare()
    for queue in all_queues(catalogue, retry_delays_ms):
        queue(channel).declare()


def permissions(service):
    """RabbitMQ's configure, write and read patterns of `service`'s user.

    It configures and reads its own exchange and queues, and writes to its
    own exchange (its events), to the retry exchanges (its retries) and to
    the default exchange (`amq.default`: its dead letters, and declaring a
    queue whose dead letters go there). Reading no other exchange, it cannot
    bind a queue of its own to another party's events; reading no other
    queue, it cannot consume another party's, nor a retry queue where
    another party's events wait."""
    own = "^%s" % re.escape(service + ".")
    return {"configure": own,
            "write": "^(%s|%s|amq\\.default)$" % (re.escape(event_exchange_name(service)), RETRY_NAMES),
            "read": own}


def definitions(catalogue, retry_delays_ms, vhost="/"):
    """The same topology as a RabbitMQ definitions document (for compose),
    with each service user's permissions (the users themselves, with their
    passwords, are added where the broker starts)."""
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
    granted = [dict({"user": service, "vhost": vhost}, **permissions(service))
               for service in catalogue.services()]
    return {"exchanges": exchanges, "queues": queues, "bindings": bindings, "permissions": granted}
