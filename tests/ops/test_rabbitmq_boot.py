"""Boot a real RabbitMQ node (the one installed on this machine for the local
stack) with the compose configuration (tests/ops/rabbit_node.py). Shows that
the config is accepted, every queue exists before any service runs, the
administrator and the five service users from the environment can log in
and no default guest exists, and the Prometheus endpoints the scrape config
uses answer with the series the alert rules need. What each service's user
may do there: tests/ops/test_least_privilege.py."""
import json
import os
import re
import time
import urllib.error

import pytest

from tests.ops.helpers import OPS, RABBITMQ_METRICS, SERVICES
from tests.ops.rabbit_node import compose_node, http_get

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory):
    with compose_node(tmp_path_factory.mktemp("rabbit")) as node:
        yield node


def test_every_queue_exchange_and_binding_exists_at_boot(rabbit):
    expected = json.load(open(os.path.join(OPS, "rabbitmq", "definitions.json")))
    auth = rabbit.admin
    queues = {q["name"]: q for q in json.loads(http_get(rabbit.api + "/api/queues", auth=auth))}
    for queue in expected["queues"]:
        assert queue["name"] in queues
        assert queues[queue["name"]]["type"] == queue["arguments"].get("x-queue-type", "classic")
        assert queues[queue["name"]]["arguments"] == queue["arguments"]
    exchanges = {e["name"] for e in json.loads(http_get(rabbit.api + "/api/exchanges", auth=auth))}
    assert {e["name"] for e in expected["exchanges"]} <= exchanges
    bindings = {(b["source"], b["destination"], b["routing_key"])
                for b in json.loads(http_get(rabbit.api + "/api/bindings", auth=auth))}
    assert {(b["source"], b["destination"], b["routing_key"]) for b in expected["bindings"]} <= bindings


def test_only_the_configured_users_exist_with_their_permissions(rabbit):
    users = json.loads(http_get(rabbit.api + "/api/users", auth=rabbit.admin))
    assert {u["name"] for u in users} == {rabbit.admin[0]} | set(SERVICES)  # no default guest
    granted = {p["user"]: p for p in json.loads(http_get(rabbit.api + "/api/permissions", auth=rabbit.admin))}
    expected = json.load(open(os.path.join(OPS, "rabbitmq", "definitions.json")))["permissions"]
    for permission in expected:
        assert granted[permission["user"]] == permission
    with pytest.raises(urllib.error.HTTPError) as refused:
        http_get(rabbit.api + "/api/overview", auth=(rabbit.admin[0], "wrong-password"))
    assert refused.value.code == 401
    amqp = pytest.importorskip("amqp")
    for user, password in [rabbit.admin] + list(rabbit.passwords.items()):
        connection = amqp.Connection("127.0.0.1:%d" % rabbit.amqp_port, userid=user, password=password)
        connection.connect()
        connection.close()


def test_prometheus_endpoints_serve_the_series_the_rules_use(rabbit):
    url = rabbit.prometheus + "/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count"
    series = [(metric, service) for service in SERVICES for metric in (
        "rabbitmq_detailed_queue_messages", "rabbitmq_detailed_queue_messages_ready",
        "rabbitmq_detailed_queue_messages_unacked", "rabbitmq_detailed_queue_consumers")]

    def missing(text):
        return [(metric, service) for metric, service in series if not re.search(
            r'^%s\{vhost="/",queue="%s\.dead_letters"\} 0' % (metric, service), text, re.M)]
    # Queue statistics are collected every few seconds after boot, not all
    # queues in the same pass: wait until every series is there.
    deadline = time.monotonic() + 60
    detailed = http_get(url)
    while missing(detailed) and time.monotonic() < deadline:
        time.sleep(1)
        detailed = http_get(url)
    assert missing(detailed) == []
    aggregated = http_get(rabbit.prometheus + "/metrics")
    for metric in RABBITMQ_METRICS:
        if not metric.startswith("rabbitmq_detailed_"):
            assert re.search(r"^%s " % metric, aggregated, re.M), metric
