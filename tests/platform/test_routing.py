"""Routing on the real broker: an event addressed to one consumer reaches
that consumer's queue alone, and an event several services produce reaches
its consumer from each of them."""
import json

import pytest
from kombu import Connection
from marshmallow import Schema, fields

from shared.broker import Broker
from shared.events import Catalogue, EventSpec, InvalidEvent


class Note(Schema):
    to = fields.String(required=True)
    text = fields.String(required=True)


class Reply(Schema):
    text = fields.String(required=True)


CATALOGUE = Catalogue([
    EventSpec("note_sent", "hub", ("north", "south"), Note, addressed_by="to"),
    EventSpec("reply_sent", ("north", "south"), ("hub",), Reply),
])


@pytest.fixture
def broker(rabbit_config):
    broker = Broker(rabbit_config["AMQP_URI"], CATALOGUE, (1000,))
    yield broker
    broker.close()


def drain(uri, queue):
    """Every message waiting in `queue`, as JSON bodies."""
    bodies = []
    with Connection(uri) as connection:
        channel = connection.channel()
        while True:
            message = channel.basic_get(queue, no_ack=True)
            if message is None:
                return bodies
            bodies.append(json.loads(message.body))


def test_an_addressed_event_reaches_its_consumer_alone(broker, rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    envelope = CATALOGUE.new_event("note_sent", {"to": "north", "text": "for north only"}, "c1")
    assert broker.publish_events([envelope]) == []
    assert [body["payload"]["text"] for body in drain(uri, "north.note_sent")] == ["for north only"]
    assert drain(uri, "south.note_sent") == []


def test_an_event_is_never_addressed_to_a_service_that_does_not_consume_it():
    with pytest.raises(ValueError, match="addressed to 'east'"):
        CATALOGUE.new_event("note_sent", {"to": "east", "text": "lost"}, "c1")


def test_an_event_with_several_producers_reaches_its_consumer_from_each(broker, rabbit_config):
    replies = [CATALOGUE.new_event("reply_sent", {"text": "from %s" % name}, "c1", producer=name)
               for name in ("north", "south")]
    assert broker.publish_events(replies) == []
    bodies = drain(rabbit_config["AMQP_URI"], "hub.reply_sent")
    assert sorted((body["producer"], body["payload"]["text"]) for body in bodies) == [
        ("north", "from north"), ("south", "from south")]


def test_an_event_from_a_service_that_is_not_its_producer_is_refused():
    with pytest.raises(ValueError, match="produced by"):
        CATALOGUE.new_event("reply_sent", {"text": "x"}, "c1", producer="hub")
    forged = CATALOGUE.new_event("reply_sent", {"text": "x"}, "c1", producer="north")
    forged["producer"] = "hub"
    with pytest.raises(InvalidEvent, match="not produced by hub"):
        CATALOGUE.load(forged)
