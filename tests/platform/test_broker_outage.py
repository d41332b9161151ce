"""Integration: a state-changing request succeeds while the service cannot
reach RabbitMQ, and its event is delivered, once in effect, when it can again."""
import re

import pytest
import requests
from urllib.parse import urlparse

from tests.platform.test_delivery import make_thing, taken
from tests.platform.toy import TOY_CATALOGUE, MakerService, TakerService
from tests.proxy import CuttableProxy
from tests.support import free_port, token_for, wait_for


def metric(base_url, name):
    text = requests.get(base_url + "/metrics", timeout=5).text
    match = re.search(r"^%s(?:\{[^}]*\})? ([0-9.e+-]+)$" % re.escape(name), text, re.M)
    return float(match.group(1)) if match else None


@pytest.fixture
def proxy(rabbit_config):
    uri = urlparse(rabbit_config["AMQP_URI"])
    link = CuttableProxy(uri.hostname, uri.port or 5672).start()
    yield link
    link.stop()


def test_a_request_made_while_the_broker_is_unreachable_succeeds_and_its_event_follows(
        container_factory, service_config, proxy, rabbit_config):
    uri = urlparse(rabbit_config["AMQP_URI"])
    via_proxy = uri._replace(netloc="%s@127.0.0.1:%d" % (uri.netloc.split("@")[0], proxy.port)).geturl()
    maker_port, taker_port = free_port(), free_port()
    maker = container_factory(MakerService, service_config(
        maker_port, AMQP_URI=via_proxy, LINKAGE_CATALOGUE=TOY_CATALOGUE))
    taker = container_factory(TakerService, service_config(taker_port, LINKAGE_CATALOGUE=TOY_CATALOGUE))
    maker.start()
    taker.start()
    maker_url = "http://127.0.0.1:%d" % maker_port
    # One event through, so the maker's publishing connection is open when we cut it.
    first_id = make_thing(maker_url, "warm-up")
    wait_for(lambda: taken(taker, first_id), "the first event")

    proxy.cut()
    assert requests.get(maker_url + "/health", timeout=30).status_code == 503
    thing_id = make_thing(maker_url, "during-outage")  # 201 with the broker out of reach
    # The backlog gauge may be read before the relay tries (a periodic refresh
    # can see the new document first): wait for both.
    wait_for(lambda: (metric(maker_url, "maker_outbox_backlog_events") or 0) >= 1,
             "the outbox to report the pending event")
    wait_for(lambda: (metric(maker_url, "maker_outbox_publish_failures_total") or 0) >= 1,
             "the relay to report its failed publish")
    assert taken(taker, thing_id) == []

    proxy.restore()
    wait_for(lambda: taken(taker, thing_id), "the event to be delivered after the outage", timeout=60)
    wait_for(lambda: metric(maker_url, "maker_outbox_backlog_events") == 0, "the backlog to drain",
             timeout=60)
    assert len(taken(taker, thing_id)) == 1
    assert requests.get(maker_url + "/health", timeout=30).status_code == 200


def test_a_write_while_the_database_is_unreachable_is_a_503_with_retry_after(
        container_factory, service_config):
    """Not a 500: the client is told nothing was written and when to try again."""
    from tests.conftest import MONGO_URI
    mongo = urlparse(MONGO_URI)
    link = CuttableProxy(mongo.hostname, mongo.port or 27017).start()
    try:
        port = free_port()
        maker = container_factory(MakerService, service_config(
            port, MONGO_URI="mongodb://127.0.0.1:%d/" % link.port, MONGO_TIMEOUT_MS=1000,
            LINKAGE_CATALOGUE=TOY_CATALOGUE))
        maker.start()
        url = "http://127.0.0.1:%d" % port
        make_thing(url, "before")
        link.cut()
        response = requests.post(url + "/api/v1/things", json={"label": "during", "size": 1},
                                 headers={"Authorization": "Bearer " + token_for("maker")},
                                 timeout=30)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "5"
        assert "nothing was written" in response.json()["detail"]
        link.restore()
        wait_for(lambda: requests.get(url + "/health", timeout=10).status_code == 200,
                 "the database back")
        make_thing(url, "after")
    finally:
        link.stop()
