"""Publishing to RabbitMQ with publisher confirms and `mandatory` set.

Messages are published in batches (the relay's batch is one document's
events) and the batch's confirms are awaited together: one round trip to
the broker per batch, not one per message. A message the broker returns
(no queue bound) or nacks is reported as refused; anything else that stops
the whole batch being confirmed (connection lost, timeout) raises
PublishFailed and drops the connection, so a late ack or return can never
be taken for another message's. The topology (all of it, or what `owner`
owns: shared/topology.py) is declared on every new connection, before the
first publish on it.
"""
import json
import logging
import threading
import time
import uuid

from kombu import Connection

from shared import topology

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """The broker did not confirm the messages (unreachable, or it said no)."""


class BrokerBusy(Exception):
    """The publishing channel is held by a publish still waiting for its confirms."""


PING_WAIT_SECONDS = 1.0


class Unroutable(PublishFailed):
    """The broker is up but refused this message (no queue bound, or nacked):
    retrying at once will not help, other messages may still go."""


class Broker:
    """One confirmed publishing channel, safe to share between green threads."""

    def __init__(self, amqp_uri, catalogue, retry_delays_ms, connect_timeout=5.0,
                 confirm_timeout=10.0, owner=None):
        self.amqp_uri = amqp_uri
        self.catalogue = catalogue
        self.retry_delays_ms = tuple(retry_delays_ms)
        self.owner = owner
        self.connect_timeout = connect_timeout
        self.confirm_timeout = confirm_timeout
        self._lock = threading.Lock()
        self._connection = None
        self._channel = None
        self._next_tag = 1
        self._unconfirmed = {}  # delivery tag -> message id, of the batch in flight
        self._refused = set()   # message ids the broker returned or nacked

    def _ensure_channel(self):
        if self._channel is not None:
            return self._channel
        connection = Connection(self.amqp_uri, connect_timeout=self.connect_timeout, heartbeat=0)
        try:
            connection.connect()
            channel = connection.channel()
            topology.declare(channel, self.catalogue, self.retry_delays_ms, owner=self.owner)
            channel.confirm_select()
        except Exception:
            self._release(connection)  # a half-set-up connection is not kept, nor leaked
            raise
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self._connection, self._channel, self._next_tag = connection, channel, 1
        return channel

    def _settle(self, delivery_tag, multiple):
        tags = [tag for tag in self._unconfirmed if tag <= delivery_tag] if multiple else [delivery_tag]
        return [self._unconfirmed.pop(tag) for tag in tags if tag in self._unconfirmed]

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag, multiple):
        self._refused.update(self._settle(delivery_tag, multiple))

    def _on_return(self, exc, exchange, routing_key, message):
        # Sent before the message's ack, which still follows.
        self._refused.add(message.properties.get("message_id"))

    def _drop(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            self._release(connection)

    @staticmethod
    def _release(connection):
        try:
            connection.release()
        except Exception:  # the connection is being thrown away anyway
            log.debug("error while releasing a failed connection", exc_info=True)

    def publish_all(self, messages):
        """Publish `messages` ((body, exchange, routing_key, headers, message_id)
        each) and wait for all their confirms; the message ids the broker
        refused. PublishFailed if they could not all be confirmed."""
        with self._lock:
            try:
                channel = self._ensure_channel()
                self._unconfirmed, self._refused = {}, set()
                for body, exchange, routing_key, headers, message_id in messages:
                    message = channel.prepare_message(
                        json.dumps(body, separators=(",", ":")),
                        content_type="application/json",
                        content_encoding="utf-8",
                        headers=headers or {},
                        properties={"delivery_mode": 2, "message_id": message_id},
                    )
                    self._unconfirmed[self._next_tag] = message_id
                    self._next_tag += 1
                    channel._basic_publish(message, exchange=exchange, routing_key=routing_key,
                                           mandatory=True)
                deadline = time.monotonic() + self.confirm_timeout
                while self._unconfirmed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("no confirm within %ss" % self.confirm_timeout)
                    self._connection.drain_events(timeout=remaining)
            except Exception as exc:
                self._drop()
                raise PublishFailed("%s publishing %d message(s) to %s: %s" % (
                    type(exc).__name__, len(messages),
                    sorted({(m[1], m[2]) for m in messages}), exc)) from exc
            return [message[4] for message in messages if message[4] in self._refused]

    def _publish_one(self, body, exchange, routing_key, headers):
        message_id = headers.get("message_id") or uuid.uuid4().hex
        if self.publish_all([(body, exchange, routing_key, headers, message_id)]):
            raise Unroutable("the broker refused %r/%r (no queue bound, or nacked)"
                             % (exchange, routing_key))

    def publish_events(self, envelopes):
        """Publish events with their confirms awaited together; the ids of
        those the broker refused (their topology is missing)."""
        return self.publish_all([(
            envelope,
            topology.event_exchange_name(envelope["producer"]),
            self.catalogue.routing_key(envelope),
            {"event_type": envelope["event_type"], "correlation_id": envelope["correlation_id"]},
            envelope["event_id"],
        ) for envelope in envelopes])

    def publish_dead_letter(self, service, body, headers):
        """Into the service's dead-letter queue, through its exchange."""
        self._publish_one(body, topology.dead_letter_queue_name(service), "", headers)

    def publish_to_queue(self, queue, body, headers):
        """Into one of a service's own queues again (a replayed dead letter),
        through that service's redelivery exchange."""
        self._publish_one(body, topology.redelivery_name(topology.owner_of(queue)), queue, headers)

    def publish_delayed(self, queue, body, headers, delay_ms):
        """Into `queue` again after `delay_ms`, through its service's retry
        queue of that delay."""
        self._publish_one(body, topology.retry_name(topology.owner_of(queue), delay_ms), queue,
                          headers)

    def ping(self, wait=PING_WAIT_SECONDS):
        """True when the broker takes our messages. A publish that holds the
        channel longer than `wait` (its confirms held back, as under a
        memory or disk alarm) makes this raise BrokerBusy at once, so a
        health check answers in time instead of queueing behind it."""
        if not self._lock.acquire(timeout=wait):
            raise BrokerBusy("a publish has waited over %ss for the broker's confirms "
                             "(a resource alarm?)" % wait)
        try:
            self._ensure_channel()
            self._connection.drain_events(timeout=0)
        except TimeoutError:
            pass  # nothing to read: the connection is alive
        except Exception:
            self._drop()
            raise
        finally:
            self._lock.release()
        return True

    def close(self):
        with self._lock:
            self._drop()
