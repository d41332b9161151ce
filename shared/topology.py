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
- each service has a dead-letter queue `<service>.dead_letters`, behind an
  exchange of the same name (its consumer publishes there, and the broker
  dead-letters there a message redelivered too often);
- each service has, for each retry delay, a fanout exchange and a quorum
  queue `<service>.retry.<ms>ms` whose messages expire after the delay and
  go back (dead-lettered at least once) through the service's own
  `<service>.redelivery` exchange, to the queue named by their routing key:
  that exchange is bound to the service's own queues only (a dead letter
  replayed goes the same way).

No service publishes through the default exchange, which reaches every
queue by its name: a service's user may write to its own exchanges only, so
it cannot put a message in another party's queue, whatever routing key it
gives (one for another party's queue is routed nowhere).
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


def retry_name(service, delay_ms):
    """The exchange and the queue where `service`'s events wait out a delay."""
    return "%s.retry.%dms" % (service, delay_ms)


def redelivery_name(service):
    """The exchange that hands `service`'s retried and replayed events back
    to its own queues (by the queue's name as routing key)."""
    return "%s.redelivery" % service


def owner_of(queue_name):
    """The service a queue belongs to: its names start with `<service>.`."""
    return queue_name.split(".", 1)[0]


def _consumer_queue_arguments(consumer):
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": dead_letter_queue_name(consumer),
    }


def redelivery_exchange(service):
    return Exchange(redelivery_name(service), type="direct", durable=True)


def event_exchange(producer):
    return Exchange(event_exchange_name(producer), type="topic", durable=True)


def consumer_queue(consumer, spec, bound=True):
    """Bound to each producer's exchange, and to the consumer's redelivery
    exchange by its own name. `bound=False`: the queue alone, for a consumer
    whose broker user may not read the producers' exchanges (the
    definitions bind it)."""
    name = consumer_queue_name(consumer, spec.event_type)
    if not bound:
        return Queue(name, durable=True, queue_arguments=_consumer_queue_arguments(consumer))
    routing_key = spec.routing_key(consumer=consumer)
    return Queue(name, bindings=[binding(event_exchange(producer), routing_key=routing_key)
                                 for producer in spec.producers]
                 + [binding(redelivery_exchange(consumer), routing_key=name)],
                 durable=True, queue_arguments=_consumer_queue_arguments(consumer))


def queue_bindings(queue):
    """(exchange, routing key) of each binding of a queue, in a stable order."""
    if queue.bindings:
        return sorted((b.exchange.name, b.routing_key or "") for b in queue.bindings)
    if queue.exchange is not None and queue.exchange.name:
        return [(queue.exchange.name, queue.routing_key or "")]
    return []


def dead_letter_queue(service, bound=True):
    name = dead_letter_queue_name(service)
    exchange = Exchange(name, type="fanout", durable=True) if bound else None
    return Queue(name, exchange=exchange, routing_key="", durable=True,
                 queue_arguments={"x-queue-type": "quorum"})


def retry_queue(service, delay_ms, bound=True):
    name = retry_name(service, delay_ms)
    return Queue(
        name,
        exchange=Exchange(name, type="fanout", durable=True) if bound else None,
        routing_key="",
        durable=True,
        queue_arguments={
            # A message waiting out its delay was already acknowledged on its
            # own queue: it must survive a node as the queues it came from do.
            "x-queue-type": "quorum",
            "x-message-ttl": int(delay_ms),
            # Back, by its routing key (its queue's name), through the
            # service's own redelivery exchange: to its own queues only.
            "x-dead-letter-exchange": redelivery_name(service),
            # At least once, even across a node failure (needs
            # reject-publish: the queue never drops the oldest).
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def service_exchanges(service, retry_delays_ms):
    """The exchanges a service owns besides its events': its retries', its
    redelivery and its dead letters'."""
    return ([Exchange(retry_name(service, delay), type="fanout", durable=True)
             for delay in retry_delays_ms]
            + [redelivery_exchange(service),
               Exchange(dead_letter_queue_name(service), type="fanout", durable=True)])


def all_queues(catalogue, retry_delays_ms):
    queues = []
    for spec in catalogue:
        for consumer in spec.consumers:
            queues.append(consumer_queue(consumer, spec))
    for service in catalogue.services():
        queues.append(dead_letter_queue(service))
        queues.extend(retry_queue(service, delay) for delay in retry_delays_ms)
    return queues


def producers(catalogue):
    return sorted({producer for spec in catalogue for producer in spec.producers})


def owned_queues(catalogue, service, retry_delays_ms=()):
    """The service's own queues, unbound: its consumer queues, its dead
    letters and its retry queues."""
    queues = [consumer_queue(service, spec, bound=False) for spec in catalogue
              if service in spec.consumers]
    return (queues + [dead_letter_queue(service, bound=False)]
            + [retry_queue(service, delay, bound=False) for delay in retry_delays_ms])


def declare(channel, catalogue, retry_delays_ms, owner=None):
    """Declare every exchange, queue and binding; idempotent. With `owner`,
    only what that service's user may configure (`permissions`): its own
    exchanges and queues. The rest (the bindings, the other parties' queues)
    must exist already: the definitions make it."""
    if owner is not None:
        if owner in producers(catalogue):
            event_exchange(owner)(channel).declare()
        for exchange in service_exchanges(owner, retry_delays_ms):
            exchange(channel).declare()
        for queue in owned_queues(catalogue, owner, retry_delays_ms):
            queue(channel).declare()
        return
    for producer in producers(catalogue):
        event_exchange(producer)(channel).declare()
    for service in catalogue.services():
        for exchange in service_exchanges(service, retry_delays_ms):
            exchange(channel).declare()
    for queue in all_queues(catalogue, retry_delays_ms):
        queue(channel).declare()


def permissions(service):
    """RabbitMQ's configure, write and read patterns of `service`'s user.

    It configures and reads its own exchanges and queues (all named
    `<service>.`), and writes to its own exchanges only: its events, its
    retries, its redelivery and its dead letters; not to the default
    exchange, through which any queue could be reached by name. Reading no
    other exchange, it cannot bind a queue of its own to another party's
    events; reading no other queue, it cannot consume another party's."""
    own = re.escape(service + ".")
    writes = "|".join([re.escape(event_exchange_name(service)), re.escape(redelivery_name(service)),
                       re.escape(dead_letter_queue_name(service)), own + r"retry\.[0-9]+ms"])
    return {"configure": "^" + own, "write": "^(%s)$" % writes, "read": "^" + own}


def definitions(catalogue, retry_delays_ms, vhost="/"):
    """The same topology as a RabbitMQ definitions document (for compose),
    with each service user's permissions (the users themselves, with their
    passwords, are added where the broker starts)."""
    exchanges = [
        {"name": exchange.name, "vhost": vhost, "type": exchange.type, "durable": True,
         "auto_delete": False, "internal": False, "arguments": {}}
        for exchange in [event_exchange(producer) for producer in producers(catalogue)]
        + [exchange for service in catalogue.services()
           for exchange in service_exchanges(service, retry_delays_ms)]
    ]
    queues, bindings = [], []
    for queue in all_queues(catalogue, retry_delays_ms):
        queues.append({"name": queue.name, "vhost": vhost, "durable": True,
                       "auto_delete": False, "arguments": dict(queue.queue_arguments or {})})
        for exchange, routing_key in queue_bindings(queue):
            bindings.append({"source": exchange, "vhost": vhost,
                             "destination": queue.name, "destination_type": "queue",
                             "routing_key": routing_key, "arguments": {}})
    granted = [dict({"user": service, "vhost": vhost}, **permissions(service))
               for service in catalogue.services()]
    return {"exchanges": exchanges, "queues": queues, "bindings": bindings, "permissions": granted}
