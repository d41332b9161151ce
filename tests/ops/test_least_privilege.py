"""Least privilege, shown on servers of the test's own (the local stack is
never touched): each service's users do its own job and nothing of another
party's; the developer's credentials cannot read the police's queue or
database.

- Broker: a RabbitMQ node booted with the compose configuration, its users
  and permissions imported from ops/rabbitmq/definitions.json as compose does
  (tests/ops/rabbit_node.py).
- The developer's service itself, `linkage run developer` with
  DECLARE_TOPOLOGY=own and nothing but its own broker and database users,
  does its part of a registration.
- Database: FerretDB 1.24 on PostgreSQL with one role per service
  (tests/ops/ferretdb_node.py). MongoDB, which compose and Kubernetes run
  with one readWrite user per database, is not installed here: its users are
  checked as configuration only (test_compose.py, test_k8s.py).
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import uuid
from datetime import date, datetime, timezone

import pytest
import requests
from amqp.exceptions import AccessRefused
from kombu import Connection, Queue
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from shared import topology
from shared.broker import Broker
from shared.catalogue import CATALOGUE
from shared.settings import DEFAULT_RETRY_DELAYS_MS
from tests.ops.ferretdb_node import PrivateFerretDB
from tests.ops.helpers import SERVICES, free_port
from tests.ops.rabbit_node import compose_node, http_get
from tests.support import token_for, wait_for

pytestmark = pytest.mark.slow

POLICE, DEVELOPER, COMMITTEE = "community_police", "developer", "neighborhood_committee"
POLICE_QUEUE = topology.consumer_queue_name(POLICE, "returnee_registered")
DELAYS = DEFAULT_RETRY_DELAYS_MS  # the retry queues the definitions hold
LINKAGE = os.path.join(os.path.dirname(sys.executable), "linkage")


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory):
    with compose_node(tmp_path_factory.mktemp("least-privilege")) as node:
        yield node


@pytest.fixture(scope="module")
def database():
    """Police and developer each with a role and a database of their own; the
    police's holds a full identity."""
    server = PrivateFerretDB()
    try:
        server.start()
        server.passwords = {service: uuid.uuid4().hex for service in (POLICE, DEVELOPER)}
        for service, password in server.passwords.items():
            server.add_service_role(service, password)
        with MongoClient(server.uri(POLICE, server.passwords[POLICE])) as police:
            police[POLICE].checks.insert_one({"_id": "r-1", "name": "Wang Fang",
                                              "id_number": "420106198805173215"})
        with MongoClient(server.uri(DEVELOPER, server.passwords[DEVELOPER])) as developer:
            developer[DEVELOPER].create_collection("allocations")
        server.seal(list(server.passwords))
        yield server
    finally:
        server.stop()


def refusal(uri, action):
    """The broker's AccessRefused for `action(channel)`, or None if it was done."""
    with Connection(uri, connect_timeout=10) as connection:
        channel = connection.channel()
        try:
            action(channel)
        except AccessRefused as exc:
            return exc
    return None


def publish(exchange, routing_key, body="{}"):
    def action(channel):
        channel.confirm_select()
        message = channel.prepare_message(body, content_type="application/json",
                                          content_encoding="utf-8")
        channel.basic_publish_confirm(message, exchange=exchange, routing_key=routing_key)
    return action


def envelope(event_type, producer, payload=None, correlation_id="least-privilege"):
    """Enough of an event for the broker to route it (a handler would find it invalid)."""
    spec = CATALOGUE.spec(event_type)
    payload = dict(payload or {})
    if spec.addressed_by:
        payload.setdefault(spec.addressed_by, spec.consumers[0])
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "producer": producer,
            "schema_version": spec.version, "correlation_id": correlation_id, "payload": payload}


def take(uri, queue, match, timeout=15):
    """The first message on `queue` whose JSON body `match`es, acknowledged
    (others are returned to the queue)."""
    with Connection(uri, connect_timeout=10) as connection:
        def find():
            channel = connection.channel()
            try:
                while True:
                    message = channel.basic_get(queue, no_ack=False)
                    if message is None:
                        return None
                    body = json.loads(message.body)
                    if match(body):
                        channel.basic_ack(message.delivery_tag)
                        return body
            finally:
                channel.close()  # hands back what was not taken
        return wait_for(find, "a matching message on %s" % queue, timeout=timeout, interval=0.2)


# ------------------------------------------------------------------ broker
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_user_declares_publishes_and_consumes_its_own(rabbit, service):
    uri = rabbit.amqp_uri(service)
    broker = Broker(uri, CATALOGUE, DELAYS, owner=service)  # declares its own topology first
    try:
        produced = [spec.event_type for spec in CATALOGUE if service in spec.producers]
        assert produced
        refused = broker.publish_events([envelope(event_type, service) for event_type in produced])
        assert refused == []  # each one confirmed and routed to a queue of the definitions
    finally:
        broker.close()
    for queue in topology.owned_queues(CATALOGUE, service):
        assert refusal(uri, lambda channel: channel.basic_get(queue.name)) is None, queue.name


def test_the_developer_cannot_read_the_polices_queue_nor_publish_on_its_exchange(rabbit):
    # a full identity waiting for the police
    secret = envelope("returnee_registered", COMMITTEE, {"id_number": "420106198805173215"})
    assert refusal(rabbit.amqp_uri(COMMITTEE), publish(topology.event_exchange_name(COMMITTEE),
                                                       "returnee_registered",
                                                       json.dumps(secret))) is None
    developer = rabbit.amqp_uri(DEVELOPER)

    # not by consuming, purging or deleting the police's queue
    for action in (lambda channel: channel.basic_get(POLICE_QUEUE),
                   lambda channel: channel.basic_consume(POLICE_QUEUE, callback=print),
                   lambda channel: channel.queue_purge(POLICE_QUEUE),
                   lambda channel: channel.queue_delete(POLICE_QUEUE)):
        error = refusal(developer, action)
        assert error is not None and "queue '%s'" % POLICE_QUEUE in str(error)
    # nor by binding a queue of its own to the committee's exchange for the
    # police's events, nor by declaring a queue in the police's name
    own_queue = topology.consumer_queue_name(DEVELOPER, "returnee_housing_declared")
    assert refusal(developer, lambda channel: channel.queue_bind(
        own_queue, topology.event_exchange_name(COMMITTEE), "returnee_registered")) is not None
    assert refusal(developer, lambda channel: Queue(POLICE + ".copy", auto_delete=True)(channel)
                   .declare()) is not None
    # nor by declaring the whole topology (DECLARE_TOPOLOGY=all), the police's exchange among it
    assert refusal(developer, lambda channel: topology.declare(channel, CATALOGUE, DELAYS))
    # nor by reading the police's retry queue, where its failed events wait
    assert refusal(developer, lambda channel: channel.basic_get(topology.retry_name(POLICE, DELAYS[0])))
    # nor by putting a forged event in the police's queue: not through the
    # default exchange (which reaches any queue by name), not through the
    # police's redelivery or retry exchanges
    forged = envelope("returnee_registered", COMMITTEE, {"id_number": "110105194912310021"})
    for exchange in ("", topology.redelivery_name(POLICE), topology.retry_name(POLICE, DELAYS[0])):
        error = refusal(developer, publish(exchange, POLICE_QUEUE, json.dumps(forged)))
        assert error is not None and "exchange '%s'" % (exchange or "amq.default") in str(error)
    # and through its own retry exchange, named for the police's queue, it is
    # handed back through its own redelivery exchange, which reaches no queue
    # but its own: the forged event never arrives
    assert refusal(developer, publish(topology.retry_name(DEVELOPER, DELAYS[0]), POLICE_QUEUE,
                                      json.dumps(forged))) is None
    # nor through the management API
    with pytest.raises(urllib.error.HTTPError) as denied:
        http_get(rabbit.api + "/api/queues", auth=(DEVELOPER, rabbit.passwords[DEVELOPER]))
    assert denied.value.code == 401

    # and it cannot speak for the police or the committee
    for producer, event_type in ((POLICE, "identity_check_completed"),
                                 (COMMITTEE, "returnee_housing_declared")):
        error = refusal(developer, publish(topology.event_exchange_name(producer), event_type))
        assert error is not None and "exchange '%s.events'" % producer in str(error)

    # the police, with its own user, still has the event
    taken = take(rabbit.amqp_uri(POLICE), POLICE_QUEUE,
                 lambda body: body["event_id"] == secret["event_id"])
    assert taken["payload"]["id_number"] == "420106198805173215"
    # and, well after the retry's delay, not the forged one
    time.sleep(DELAYS[0] / 1000.0 * 3)
    assert not_on_queue(rabbit.amqp_uri(POLICE), POLICE_QUEUE, forged["event_id"])


def not_on_queue(uri, queue, event_id):
    """True if no message on `queue` is the event (every message handed back)."""
    with Connection(uri, connect_timeout=10) as connection:
        channel = connection.channel()
        try:
            while True:
                message = channel.basic_get(queue, no_ack=False)
                if message is None:
                    return True
                if json.loads(message.body).get("event_id") == event_id:
                    return False
        finally:
            channel.close()


def linkage(*args, env):
    return subprocess.run([LINKAGE, *args], env=env, capture_output=True, text=True, timeout=60)


def test_a_services_retries_and_dead_letters_need_no_more_than_its_own_user(rabbit):
    uri = rabbit.amqp_uri(DEVELOPER)
    queue = topology.consumer_queue_name(DEVELOPER, "returnee_housing_declared")
    broker = Broker(uri, CATALOGUE, DELAYS, owner=DEVELOPER)
    try:
        retried, dead = envelope("returnee_housing_declared", COMMITTEE), envelope(
            "returnee_housing_declared", COMMITTEE)
        started = time.monotonic()
        broker.publish_delayed(queue, retried, {"message_id": retried["event_id"]}, DELAYS[0])
        broker.publish_dead_letter(DEVELOPER, dead, {
            "message_id": dead["event_id"], "x-linkage-original-queue": queue,
            "x-linkage-reason": "poison"})
    finally:
        broker.close()
    # back on its queue after the delay, through its own redelivery exchange
    take(uri, queue, lambda body: body["event_id"] == retried["event_id"])
    assert time.monotonic() - started >= DELAYS[0] / 1000.0 * 0.9

    # the operator's tools, in the service's container, with its user
    env = dict(os.environ, AMQP_URI=uri, DECLARE_TOPOLOGY="own")
    env.pop("RETRY_DELAYS_MS", None)
    everyone = linkage("dead-letters", "list", env=env)
    assert everyone.returncode != 0 and "--service" in everyone.stderr
    listed = linkage("dead-letters", "list", "--service", DEVELOPER, env=env)
    assert listed.returncode == 0 and dead["event_id"] in listed.stdout, listed.stderr
    replayed = linkage("dead-letters", "replay", dead["event_id"], "--service", DEVELOPER, env=env)
    assert replayed.returncode == 0 and "replayed 1" in replayed.stdout, replayed.stderr
    take(uri, queue, lambda body: body["event_id"] == dead["event_id"])


# ------------------------------------------------------------------ the service
@pytest.fixture
def developer_service(rabbit, database, tmp_path):
    port = free_port()
    env = dict(os.environ, HTTP_HOST="127.0.0.1", HTTP_PORT=str(port), LINKAGE_ENV="development",
               DECLARE_TOPOLOGY="own", AMQP_URI=rabbit.amqp_uri(DEVELOPER),
               MONGO_URI=database.uri(DEVELOPER, database.passwords[DEVELOPER]),
               OUTBOX_POLL_SECONDS="0.2")
    for key in ("DB_PREFIX", "RETRY_DELAYS_MS", "LINKAGE_SECRET"):
        env.pop(key, None)  # its own database by name, and the definitions' retry queues
    log = tmp_path / "developer.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([LINKAGE, "run", DEVELOPER], env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    base = "http://127.0.0.1:%d" % port

    def healthy():
        assert process.poll() is None, log.read_text()
        try:
            return requests.get(base + "/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False
    try:
        wait_for(healthy, "the developer service to be healthy", timeout=60, interval=0.3)
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_developer_service_does_its_part_with_nothing_but_its_own_users(rabbit, developer_service):
    base, log = developer_service
    headers = {"Authorization": "Bearer " + token_for(DEVELOPER)}
    saved = requests.post(base + "/api/v1/allocations", headers=headers, timeout=10, json={
        "building": "7", "unit": "1", "room": "502", "household": ["Wang Fang", "Chen Jie"]})
    assert saved.status_code in (200, 201), saved.text

    returnee_id = str(uuid.uuid4())
    declared = CATALOGUE.new_event("returnee_housing_declared", {
        "returnee_id": returnee_id, "name": "Wang Fang", "id_masked": "420106********3215",
        "address": {"building": "7", "unit": "1", "room": "502"}, "arrival_date": date(2026, 11, 22),
        "registered_at": datetime(2026, 11, 23, 10, 55, tzinfo=timezone.utc)}, returnee_id)
    assert refusal(rabbit.amqp_uri(COMMITTEE), publish(
        topology.event_exchange_name(COMMITTEE), CATALOGUE.routing_key(declared),
        json.dumps(declared))) is None

    # consumed from its own queue, checked in its own database, and its answer
    # published on its own exchange reaches the committee's queue
    answer = take(rabbit.amqp_uri(COMMITTEE),
                  topology.consumer_queue_name(COMMITTEE, "housing_allocation_checked"),
                  lambda body: body["payload"].get("returnee_id") == returnee_id, timeout=30)
    assert answer["producer"] == DEVELOPER and answer["payload"]["result"] == "matched"
    checks = requests.get(base + "/api/v1/housing-checks", params={"returnee_id": returnee_id},
                          headers=headers, timeout=10).json()
    assert [item["result"] for item in checks["items"]] == ["matched"]
    assert "ACCESS_REFUSED" not in log.read_text()


# ------------------------------------------------------------------ database
def test_the_developer_cannot_read_the_polices_database(database):
    developer = MongoClient(database.uri(DEVELOPER, database.passwords[DEVELOPER]),
                            serverSelectionTimeoutMS=5000)
    police_checks = developer[POLICE].checks
    attempts = {
        "find": lambda: police_checks.find_one({"_id": "r-1"}),
        "count": lambda: police_checks.count_documents({}),
        "insert": lambda: police_checks.insert_one({"_id": "forged"}),
        "update": lambda: police_checks.update_one({"_id": "r-1"}, {"$set": {"name": "x"}}),
        "delete": lambda: police_checks.delete_many({}),
        "new collection": lambda: developer[POLICE].planted.insert_one({"a": 1}),
        "drop collection": lambda: police_checks.drop(),
        "drop database": lambda: developer.drop_database(POLICE),
    }
    for name, attempt in attempts.items():
        with pytest.raises(OperationFailure) as refused:
            attempt()
        assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value), name
    # its own database it reads and writes
    developer[DEVELOPER].notes.insert_one({"_id": "n-1"})
    assert developer[DEVELOPER].notes.find_one({"_id": "n-1"}) == {"_id": "n-1"}
    developer.close()

    # without credentials, or with a wrong password, nothing at all
    for uri in (database.uri(), database.uri(DEVELOPER, "wrong-password")):
        with MongoClient(uri, serverSelectionTimeoutMS=5000) as client, pytest.raises(OperationFailure):
            client[POLICE].checks.find_one()
    # and the police's data is intact
    with MongoClient(database.uri(POLICE, database.passwords[POLICE])) as police:
        assert police[POLICE].checks.find_one({"_id": "r-1"})["id_number"] == "420106198805173215"
        assert police[POLICE].list_collection_names() == ["checks"]


def test_the_police_still_see_their_database_when_the_developer_signs_in_first_after_a_restart(database):
    database.stop_ferretdb()
    database.start_ferretdb()
    with MongoClient(database.uri(DEVELOPER, database.passwords[DEVELOPER])) as developer:
        developer[DEVELOPER].allocations.find_one()
    with MongoClient(database.uri(POLICE, database.passwords[POLICE])) as police:
        assert police[POLICE].checks.find_one({"_id": "r-1"})["name"] == "Wang Fang"
        police[POLICE].checks.insert_one({"_id": "r-2"})
