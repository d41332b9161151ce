"""Integration: events between two real services over the real broker and
database: delivery, idempotency, retries with backoff, dead letters and
replay, and events that wait for a consumer that is not running yet."""
import time
from datetime import timedelta

import eventlet
import pytest
import requests

from shared import deadletters, topology
from shared.settings import Settings
from tests.platform.toy import TAKER_BEHAVIOUR, TOY_CATALOGUE, MakerService, TakerService
from tests.support import free_port, publishing_connection, token_for, wait_for


@pytest.fixture(autouse=True)
def reset_behaviour():
    TAKER_BEHAVIOUR["script"][:] = []
    TAKER_BEHAVIOUR["attempts"][:] = []


@pytest.fixture
def toy(container_factory, service_config):
    """Start maker and/or taker in-process; returns the maker's base URL."""
    started = {}

    def start(*names):
        for name in names:
            cls = {"maker": MakerService, "taker": TakerService}[name]
            port = free_port()
            config = service_config(port, LINKAGE_CATALOGUE=TOY_CATALOGUE)
            container = container_factory(cls, config)
            container.start()
            started[name] = (container, "http://127.0.0.1:%d" % port, config)
        return started
    return start


def make_thing(base_url, label, size=1):
    response = requests.post(base_url + "/api/v1/things", json={"label": label, "size": size},
                             headers={"Authorization": "Bearer " + token_for("maker")}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def taken(container, thing_id=None):
    db = container.config["DB_PREFIX"] + "taker"
    from tests.conftest import MONGO_URI
    from pymongo import MongoClient
    with MongoClient(MONGO_URI) as client:
        query = {"_id": thing_id} if thing_id else {}
        return list(client[db]["taken"].find(query))


def consumed(base_url):
    """How many events the service's handlers have finished."""
    text = requests.get(base_url + "/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("taker_events_consumed_total{"))


def dead_letters(config):
    settings = Settings.from_config("taker", config)
    return list(deadletters.browse(settings, ["taker"]))


def test_event_reaches_the_consumer_once(toy):
    services = toy("maker", "taker")
    thing_id = make_thing(services["maker"][1], "chair")
    taker = services["taker"][0]
    wait_for(lambda: taken(taker, thing_id), "the taker to record the thing")
    assert taken(taker, thing_id)[0]["label"] == "chair"


def published(base_url):
    text = requests.get(base_url + "/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("maker_events_published_total{"))


@pytest.mark.parametrize("queue", [None, 2], ids=["hand-overs-queued", "hand-over-queue-full"])
def test_events_written_while_the_relay_marks_others_sent_are_all_published(toy, monkeypatch, queue):
    # Writes to one document race the relay's marks: a mark may skip its read
    # only if no write came after the one it marks and it sent every event
    # the document held. An event left in the outbox with no due mark would
    # never be sent. With a full queue, hand-overs are dropped and the scan
    # must find their events.
    from shared import relay
    if queue:
        monkeypatch.setattr(relay, "WRITTEN_MAX", queue)
    services = toy("maker")
    base_url = services["maker"][1]
    before = published(base_url)  # the counter is the process's: other tests' makers count too
    thing_id = make_thing(base_url, "bench")
    headers = {"Authorization": "Bearer " + token_for("maker")}

    def touch(_):
        response = requests.post(base_url + "/api/v1/things/%s/touches" % thing_id,
                                 headers=headers, timeout=10)
        assert response.status_code == 200 and response.json()["written"] is True, response.text

    pool = eventlet.GreenPool(8)
    list(pool.imap(touch, range(40)))
    wait_for(lambda: published(base_url) - before == 41, "all 41 events to be published")
    from tests.conftest import MONGO_URI
    from pymongo import MongoClient
    from shared import clock, outbox
    with MongoClient(MONGO_URI, tz_aware=True) as client:
        things = client[services["maker"][2]["DB_PREFIX"] + "maker"]["things"]
        wait_for(lambda: things.find_one({"_id": thing_id})["outbox"] == {}, "the outbox to empty")
        document = things.find_one({"_id": thing_id})
        assert document["touches"] == 40 and document["outbox_due"] is None

        # An event the broker refused earlier waits in the document, due later:
        # the next write's mark must leave it due.
        stray = TOY_CATALOGUE.new_event("thing_made", {"thing_id": thing_id, "label": "x"},
                                        thing_id, producer="maker")
        stray["event_type"] = "thing_melted"  # no queue is bound for it: refused again
        later = clock.utcnow() + timedelta(minutes=5)
        things.update_one({"_id": thing_id}, {"$set": {"outbox." + stray["event_id"]: stray,
                                                        "outbox_due": later}})
        touch(41)
        wait_for(lambda: published(base_url) - before == 42, "the new event to be published")
        document = wait_for(lambda: (lambda d: d if len(d["outbox"]) == 1 else None)(
            things.find_one({"_id": thing_id})), "the new event to be marked sent")
        assert list(document["outbox"]) == [stray["event_id"]]
        assert document["outbox_due"] is not None, "the waiting event would never be sent"
        assert things.count_documents(outbox.pending_query(later)) == 1


def test_an_event_published_before_its_consumer_runs_waits_for_it(toy):
    services = toy("maker")
    thing_id = make_thing(services["maker"][1], "lamp")
    time.sleep(1.0)  # the maker's relay has published by now; nobody consumes yet
    services = toy("taker")
    wait_for(lambda: taken(services["taker"][0], thing_id), "the late taker to get the event")


def test_the_same_event_delivered_twice_has_one_effect(toy):
    services = toy("maker", "taker")
    taker, config = services["taker"][0], services["taker"][2]
    envelope = TOY_CATALOGUE.new_event("thing_made", {"thing_id": "dup-1", "label": "twice"},
                                       "dup-1", producer="maker")
    taker_url = services["taker"][1]
    before = consumed(taker_url)  # the process's metrics outlive earlier tests' containers
    with publishing_connection(config["AMQP_URI"]) as connection:
        producer = connection.Producer(serializer="json")
        for _ in range(2):
            producer.publish(envelope, exchange=topology.event_exchange_name("maker"),
                             routing_key="thing_made")
    # Both handlers must have finished, not just started (an attempt is
    # recorded before the handler writes): count the consumed events.
    wait_for(lambda: consumed(taker_url) >= before + 2, "both deliveries to be handled")
    assert len(taken(taker)) == 1
    assert dead_letters(config) == []


def test_transient_failures_retry_with_growing_delay_then_dead_letter_and_replay_once(toy):
    TAKER_BEHAVIOUR["script"][:] = ["fail"] * 4  # first delivery + 3 retries (200, 400, 800 ms)
    services = toy("maker", "taker")
    taker, config = services["taker"][0], services["taker"][2]
    thing_id = make_thing(services["maker"][1], "desk")
    wait_for(lambda: dead_letters(config), "the event to be dead-lettered", timeout=20)

    times = [moment for _, moment in TAKER_BEHAVIOUR["attempts"]]
    assert len(times) == 4
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4 and gaps[2] >= 0.8, gaps
    assert gaps[0] < gaps[1] < gaps[2], gaps
    [letter] = dead_letters(config)
    assert letter["reason"] == "retries_exhausted"
    assert letter["attempts"] == 4
    assert "AutoReconnect" in letter["error"]
    assert taken(taker) == []

    settings = Settings.from_config("taker", config)
    assert deadletters.replay(settings, ["taker"], letter["message_id"], catalogue=TOY_CATALOGUE) == 1
    wait_for(lambda: taken(taker, thing_id), "the replayed event to be applied")
    assert dead_letters(config) == []
    # Replaying a copy of an event that was applied already changes nothing.
    with publishing_connection(config["AMQP_URI"]) as connection:
        connection.Producer(serializer="json").publish(
            letter["body"], exchange="", routing_key="taker.thing_made")
    wait_for(lambda: len(TAKER_BEHAVIOUR["attempts"]) >= 6, "the copy to be handled")
    assert len(taken(taker)) == 1


def test_a_poison_event_dead_letters_at_once(toy):
    TAKER_BEHAVIOUR["script"][:] = ["poison"]
    services = toy("maker", "taker")
    config = services["taker"][2]
    make_thing(services["maker"][1], "anvil")
    wait_for(lambda: dead_letters(config), "the poison event to be dead-lettered")
    [letter] = dead_letters(config)
    assert letter["reason"] == "poison"
    assert letter["attempts"] == 1
    assert len(TAKER_BEHAVIOUR["attempts"]) == 1


def test_an_invalid_event_dead_letters_with_the_reason(toy):
    services = toy("taker")
    config = services["taker"][2]
    envelope = TOY_CATALOGUE.new_event("thing_made", {"thing_id": "x", "label": "y"}, "x",
                                       producer="maker")
    del envelope["payload"]["label"]
    with publishing_connection(config["AMQP_URI"]) as connection:
        connection.Producer(serializer="json").publish(
            envelope, exchange=topology.event_exchange_name("maker"), routing_key="thing_made")
    wait_for(lambda: dead_letters(config), "the invalid event to be dead-lettered")
    [letter] = dead_letters(config)
    assert letter["reason"] == "invalid"
    assert "label" in letter["error"]
    assert TAKER_BEHAVIOUR["attempts"] == []


def test_an_event_the_broker_refuses_is_set_aside_and_the_rest_keep_flowing(toy):
    services = toy("maker", "taker")
    maker, taker = services["maker"][0], services["taker"][0]
    stray = TOY_CATALOGUE.new_event("thing_made", {"thing_id": "s", "label": "s"}, "s",
                                    producer="maker")
    stray["event_type"] = "thing_melted"  # no queue is bound for it: unroutable
    # Its document also carries a good event: the two go out in one confirmed batch.
    good = TOY_CATALOGUE.new_event("thing_made", {"thing_id": "g", "label": "g"}, "g",
                                   producer="maker")
    from pymongo import MongoClient
    from shared import outbox
    from tests.conftest import MONGO_URI
    with MongoClient(MONGO_URI, tz_aware=True) as client:
        things = client[maker.config["DB_PREFIX"] + "maker"]["things"]
        things.insert_one(outbox.insert_with_events({"_id": "stray"}, [good, stray]))
        thing_id = make_thing(services["maker"][1], "after-the-stray")
        wait_for(lambda: taken(taker, thing_id), "the next event despite the refused one")
        parked = wait_for(lambda: (lambda d: d if d["outbox_due"] and d["outbox_due"] > __import__(
            "shared.clock").clock.utcnow() else None)(things.find_one({"_id": "stray"})),
            "the refused event to be set aside")
        # The good event of the batch was confirmed and taken; only the refused one waits.
        assert list(parked["outbox"]) == [stray["event_id"]]
        assert len(wait_for(lambda: taken(taker, "g"), "the good event of the same batch")) == 1


@pytest.mark.parametrize("raw, content_type", [
    (b"name=Li Lei&phone=13912345678", "application/json"),   # not JSON at all
    (b"<event><phone>13912345678</phone></event>", "application/xml"),  # not our content type
])
def test_an_undecodable_message_is_dead_lettered_and_never_logged(toy, caplog, raw, content_type):
    services = toy("taker")
    config = services["taker"][2]
    with publishing_connection(config["AMQP_URI"]) as connection:
        connection.Producer().publish(raw, exchange=topology.event_exchange_name("maker"),
                                      routing_key="thing_made", content_type=content_type,
                                      content_encoding="utf-8", message_id="raw-1")
    wait_for(lambda: dead_letters(config), "the undecodable message to be dead-lettered")
    [letter] = dead_letters(config)
    assert letter["reason"] == "undecodable" and letter["message_id"] == "raw-1"
    assert content_type in letter["error"]
    assert __import__("base64").b64decode(letter["body"]["undecodable_base64"]) == raw
    assert TAKER_BEHAVIOUR["attempts"] == []
    assert "13912345678" not in caplog.text
    # Not an event: listing shows it, replaying leaves it where it is.
    settings = Settings.from_config("taker", config)
    assert deadletters.replay(settings, ["taker"], "raw-1", catalogue=TOY_CATALOGUE) == 0
    assert len(dead_letters(config)) == 1


def test_a_retry_the_broker_will_not_take_is_requeued_after_a_pause_not_in_a_hot_loop(toy):
    """The handler fails and scheduling its retry fails too (the broker
    refuses the publish): the message goes back to its queue after a pause
    that grows, never at once through the delivery limit."""
    from shared.broker import PublishFailed
    from shared.platform import Platform
    TAKER_BEHAVIOUR["script"][:] = ["fail"] * 3
    services = toy("maker", "taker")
    taker = services["taker"][0]
    platform = next(ext for ext in taker.extensions if isinstance(ext, Platform))

    def refuse(*args, **kwargs):
        raise PublishFailed("the broker is not taking retries (simulated by the test)")
    platform.broker.publish_delayed = refuse
    thing_id = make_thing(services["maker"][1], "stool")
    wait_for(lambda: len(TAKER_BEHAVIOUR["attempts"]) >= 3, "three deliveries", timeout=30)
    times = [moment for _, moment in TAKER_BEHAVIOUR["attempts"][:3]]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps  # paused each time, and longer
    wait_for(lambda: taken(taker, thing_id), "the thing taken once the handler recovers")
