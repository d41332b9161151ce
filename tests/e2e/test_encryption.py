"""Personal data encrypted at rest and in transit, end to end (shared/personal.py).

The proof: during a run of the returnee flow and of a case with a resident
reporter, every document of every collection of the five databases and every
message published (a tap queue bound with `#` to every producer's exchange)
or waiting in any queue is read, and no plain ID number or phone is found;
the same run with ENCRYPT_PERSONAL_DATA off finds them, so the check can
fail. Then a key rotation under load: registrations and decisions keep
coming while `linkage keys rotate` re-encrypts each service's data; nothing
is lost and nothing is left under the old key."""
import json
import os
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from kombu import Connection, Exchange, Queue

from shared.catalogue import CATALOGUE
from shared.personal import Keyring, format_keys, is_sealed, kid_of
from shared.parties import ALL, COMMITTEE, FLOATING, POLICE, PROPERTY
from shared.store import archive_name
from shared.topology import event_exchange_name
from tests.e2e.test_privacy import queue_names, read_all
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

TAP = "test.tap"


def install_tap(amqp_uri):
    with Connection(amqp_uri, connect_timeout=10) as connection:
        channel = connection.channel()
        queue = Queue(TAP, durable=True, channel=channel)
        queue.declare()
        for producer in sorted({p for spec in CATALOGUE for p in spec.producers}):
            exchange = Exchange(event_exchange_name(producer), type="topic", durable=True,
                                channel=channel)
            exchange.declare(passive=True)
            queue.bind_to(exchange, routing_key="#")


def secrets(people, reporter):
    found = [reporter["phone"]]
    for person in people:
        found += [person["id_number"], person["id_number"].lower(), person["phone"]]
    return found


def first(response):
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


def run_flow(system, mongo_client):
    """Register a non-local and a local returnee and have the police report a
    case with a resident reporter; wait until every party has its part;
    return (where each secret was found: [(place, secret)], every place read,
    once per document or message)."""
    apis = {name: Api(url, name, user="%s-desk" % name.split("_")[0])
            for name, url in system.urls.items()}
    install_tap(system.amqp_uri)
    people = [registration(local_hukou=False, name="Enc Non-Local"),
              registration(local_hukou=True, name="Enc Local")]
    for person in people:
        response = apis[COMMITTEE].post("/api/v1/returnees", person)
        assert response.status_code == 201, response.text
        person["returnee_id"] = response.json()["id"]
    reporter = {"name": "Enc Resident-%s" % uuid.uuid4().hex[:6],
                "phone": "158%08d" % (uuid.uuid4().int % 10 ** 8)}
    reported = apis[POLICE].post("/api/v1/cases", {
        "category": "fire_lane_blocked", "description": "a van across the fire lane",
        "location": {"building": "9", "spot": "north fire lane"}, "source": "resident",
        "reporter": reporter})
    assert reported.status_code == 202, reported.text
    case_id = reported.json()["id"]
    for person in people:
        wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=person["returnee_id"])),
                 "the police check")
    wait_for(lambda: first(apis[FLOATING].get("/api/v1/registrations",
                                              returnee_id=people[0]["returnee_id"])),
             "the floating-population registration")
    assigned = wait_for(lambda: apis[PROPERTY].get("/api/v1/cases/%s" % case_id).status_code == 200
                        and apis[PROPERTY].get("/api/v1/cases/%s" % case_id).json(),
                        "the case's dispatch to the property company")
    # The APIs and the domain see plain values.
    assert assigned["reporter"] == reporter
    check = apis[POLICE].get("/api/v1/checks/%s" % people[0]["returnee_id"]).json()
    assert (check["id_number"], check["phone"]) == (people[0]["id_number"], people[0]["phone"])
    wait_for(lambda: all(not document.get("outbox") for service in ALL
                         for name in mongo_client[system.db_prefix + service].list_collection_names()
                         for document in mongo_client[system.db_prefix + service][name].find(
                             {"outbox_due": {"$ne": None}})),
             "every outbox to be published")

    wanted = secrets(people, reporter)
    found, places = [], []
    for service in ALL:
        database = mongo_client[system.db_prefix + service]
        for name in database.list_collection_names():
            for document in database[name].find():
                places.append("%s.%s" % (service, name))
                text = json.dumps(document, default=str, ensure_ascii=False)
                found += [(places[-1], s) for s in wanted if s in text]
    for queue in queue_names(system.vhost):
        for text in read_all(system.amqp_uri, queue):
            places.append("queue %s" % queue)
            found += [(places[-1], s) for s in wanted if s in text]
    return found, places


def encrypted_run(mongo_client, **settings):
    with System(**settings) as system:
        system.start()
        try:
            return run_flow(system, mongo_client)
        finally:
            system.stop()
            system.drop_databases(mongo_client)


PLAIN_PLACES = ("neighborhood_committee.linkages", "community_police.checks",
                "floating_population_office.registrations", "neighborhood_committee.cases",
                "property_company.case_assignments")


def test_no_plain_id_number_or_phone_in_any_database_or_message(mongo_client):
    found, places = encrypted_run(mongo_client)
    # Not vacuous: the scan read where these people and this reporter are,
    # and every event published (the two registrations, the case, the answers).
    assert set(PLAIN_PLACES) <= set(places)
    assert places.count("queue test.tap") >= 10
    assert found == []


def test_the_same_run_with_encryption_off_finds_them(mongo_client):
    """The control: the check above does fail when the data is plain."""
    found, _ = encrypted_run(mongo_client, ENCRYPT_PERSONAL_DATA="off")
    assert set(PLAIN_PLACES) | {"queue test.tap"} <= {place for place, _ in found}


# --- rotation under load --------------------------------------------------------------------

OLD = ("k1", os.urandom(32))
NEW = ("k2", os.urandom(32))
PERSONAL = {COMMITTEE: {"linkages": ("id_number", "phone"), "cases": ("reporter",)},
            POLICE: {"checks": ("id_number", "phone")},
            FLOATING: {"registrations": ("id_number", "phone")}}


def rotate(system, service):
    linkage = os.path.join(os.path.dirname(sys.executable), "linkage")
    env = dict(system.env(service), EVENTLET_NO_GREENDNS="yes")
    result = subprocess.run([linkage, "keys", "rotate", service, "--batch", "7"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def stored(database, collection):
    return list(database[collection].find()) + list(database[archive_name(collection)].find())


def test_a_key_rotation_under_load_loses_nothing(mongo_client):
    # DOCUMENT_LOCKS=database, as the README asks for a rotation on FerretDB
    # ("Rotation without downtime"): the rotation is another process, and only
    # locks in the database keep its writes and the services' (the archive pass
    # moving documents every second here) from crossing. With in-process locks
    # one fresh-clone run found a linkage left under the old key (not
    # reproduced since; that documented race is the likely cause).
    settings = {"PERSONAL_DATA_KEYS": format_keys([OLD]), "ARCHIVE_AFTER_SECONDS": "1",
                "ARCHIVE_SCAN_SECONDS": "1", "DOCUMENT_LOCKS": "database"}
    with System(**settings) as system:
        try:
            system.start()
            api = Api(system.url(COMMITTEE), COMMITTEE, user="gate")
            police = Api(system.url(POLICE), POLICE, user="officer")
            registered = {}

            def register(count):
                for index in range(count):
                    body = registration(local_hukou=index % 2 == 0, name="Rot %d" % index)
                    response = api.post("/api/v1/returnees", body)
                    if response.status_code == 201:  # a 409: a random ID number met again
                        registered[response.json()["id"]] = body

            register(30)
            before = dict(registered)
            wait_for(lambda: all(police.get("/api/v1/checks/%s" % rid).status_code == 200
                                 for rid in before), "the first checks", timeout=60)
            # The new key writes, the old one still reads: a rolling restart.
            system.stop()
            system.settings["PERSONAL_DATA_KEYS"] = format_keys([NEW, OLD])
            system.start()

            stop = threading.Event()
            errors = []

            def load():
                try:
                    while not stop.is_set():
                        register(5)
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            def decide():
                try:
                    for rid in before:
                        police.post("/api/v1/checks/%s/decision" % rid,
                                    {"outcome": "cleared", "note": "ok"})
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
            threads = [threading.Thread(target=load), threading.Thread(target=decide)]
            for thread in threads:
                thread.start()
            with ThreadPoolExecutor(len(ALL)) as pool:  # every party rotates at once
                outputs = dict(zip(ALL, pool.map(lambda service: rotate(system, service), ALL)))
            stop.set()
            for thread in threads:
                thread.join()
            assert errors == []
            assert len(registered) > len(before)
            assert "re-encrypted" in outputs[COMMITTEE]

            wait_for(lambda: all(police.get("/api/v1/checks/%s" % rid).status_code == 200
                                 for rid in registered), "every check", timeout=90)
            committee = mongo_client[system.db_prefix + COMMITTEE]
            wait_for(lambda: all(d["parties"][POLICE]["done"] for d in stored(committee, "linkages")
                                 if d["_id"] in before), "the decisions at the committee", timeout=60)
            new_only = Keyring((NEW,))
            for service, collections in PERSONAL.items():
                database = mongo_client[system.db_prefix + service]
                for collection, fields in collections.items():
                    for document in stored(database, collection):
                        for field in fields:
                            value = document.get(field)
                            if value is not None:
                                assert is_sealed(value) and kid_of(value) == "k2", (service, collection)
                                new_only.decrypt(value, field)  # the old key is not needed
            linkages = {d["_id"]: d for d in stored(committee, "linkages")}
            assert set(linkages) == set(registered)
            for rid, body in registered.items():
                assert new_only.decrypt(linkages[rid]["id_number"], "id_number") == body["id_number"]
                assert new_only.decrypt(linkages[rid]["phone"], "phone") == body["phone"]
            checks = stored(mongo_client[system.db_prefix + POLICE], "checks")
            assert sorted(d["_id"] for d in checks) == sorted(registered)
            non_local = {rid for rid, body in registered.items() if not body["local_hukou"]}
            wait_for(lambda: {d["_id"] for d in stored(mongo_client[system.db_prefix + FLOATING],
                                                       "registrations")} == non_local,
                     "every floating-population registration", timeout=60)
            detail = api.get("/api/v1/returnees/%s" % next(iter(before))).json()
            assert detail["id_number"] == before[next(iter(before))]["id_number"]
        finally:
            system.stop()
            system.drop_databases(mongo_client)
