"""Publishing to RabbitMQ with publisher confirms and `mandatory` set.

A publish returns only once the broker has confirmed it; an unroutable
message (no queue bound) or a nack raises PublishFailed. Any failure drops
the connection, so a late ack or return can never be taken for the next
message's confirmation. The topology is declared on every new connection,
before the first publish on it.
"""
import json
import logging
import threading

from amqp.exceptions import MessageNacked
from kombu import Connection

from shared import topology

log = logging.getLogger(__name__)

class PublishFailed(Exception):
    """The broker did not confirm the message (unreachable, or it said no)."""


class Unroutable(PublishFailed):
    """The broker is up but refused this message (no queue bound, or nacked):
    retrying at once will not help, other messages may still go."""


NO_ROUTE = 312


class Broker:
    """One confirmed publishing channel, safe to share between green threads."""

    def __init__(self, amqp_uri, catalogue, retry_delays_ms, connect_timeout=5.0,
                 confirm_timeout=10.0):
        self.amqp_uri = amqp_uri
        self.catalogue = catalogue
        self.retry_delays_ms = tuple(retry_delays_ms)
        self.connect_timeout = connect_timeout
        self.confirm_timeout = confirm_timeout
        self._lock = threading.Lock()
        self._connection = None
        self._channel = None

    def _ensure_channel(self):
        if self._channel is not None:
            return self._channel
        connection = Connection(
            self.amqp_uri,
            connect_timeout=self.connect_timeout,
            transport_options={"confirm_publish": True},
            heartbeat=0,
        )
        connection.connect()
        channel = connection.channel()
        topology.declare(channel, self.catalogue, self.retry_delays_ms)
        self._connection, self._channel = connection, channel
        return channel

    def _drop(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # the connection is being thrown away anyway
                log.debug("error while releasing a failed connection", exc_info=True)

    def _publish(self, body, exchange, routing_key, headers=None, message_id=None):
        payload = json.dumps(body, separators=(",", ":"))
        with self._lock:
            try:
                channel = self._ensure_channel()
                message = channel.prepare_message(
                    payload,
                    content_type="application/json",
                    content_encoding="utf-8",
                    headers=headers or {},
                    properties={"delivery_mode": 2, "message_id": message_id} if message_id
                    else {"delivery_mode": 2},
                )
                channel.basic_publish(message, exchange=exchange, routing_key=routing_key,
                                      mandatory=True, confirm_timeout=self.confirm_timeout)
            except Exception as exc:
                self._drop()
                refused = isinstance(exc, MessageNacked) or getattr(exc, "reply_code", None) == NO_ROUTE
                raise (Unroutable if refused else PublishFailed)("%s to %r/%r: %s" % (type(exc).__name__, exchange,
                                                          routing_key, exc)) from exc

    def publish_event(self, envelope):
        self._publish(
            envelope,
            exchange=topology.event_exchange_name(envelope["producer"]),
            routing_key=envelope["event_type"],
            headers={"event_type": envelope["event_type"],
                     "correlation_id": envelope["correlation_id"]},
            message_id=envelope["event_id"],
        )

    def publish_to_queue(self, queue, body, headers):
        """Straight into a named queue, through the default exchange."""
        self._publish(body, exchange="", routing_key=queue, headers=headers,
                      message_id=headers.get("message_id"))

    def publish_delayed(self, queue, body, headers, delay_ms):
        """Into `queue` again after `delay_ms`, through that delay's retry queue."""
        self._publish(body, exchange=topology.retry_name(delay_ms), routing_key=queue,
                      headers=headers, message_id=headers.get("message_id"))

    def ping(self):
        with self._lock:
            try:
                self._ensure_channel()
                self._connection.drain_events(timeout=0)
            except TimeoutError:
                pass  # nothing to read: the connection is alive
            except Exception:
                self._drop()
                raise
        return True

    def close(self):
        with self._lock:
            self._drop()
