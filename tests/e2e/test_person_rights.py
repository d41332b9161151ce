"""A person's rights end to end (PIPL Arts. 44-47): a supervisor's correction
and an erasure request at the committee reach exactly the parties that hold
the person's data, through the real services, broker and database.

One system for the module: the police declare a legal hold (LEGAL_HOLD) and
finished documents leave the working set after a second, so the corrections
and erasures also meet records in the archives. The committee's own events
are read from a tap queue bound to its exchange."""
import json
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from shared.personal import is_sealed
from shared.retention import deidentified_name, mask_phone
from shared.settings import Settings
from shared.store import archive_name
from shared.topology import event_exchange_name
from tests.e2e.test_personal_record import export_of
from tests.support import Api, publishing_connection, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

HOLD = "court order 2026-17: keep until the trial ends"
TAP = "test.rights.tap"
COLLECTIONS = {COMMITTEE: "linkages", POLICE: "checks", FLOATING: "registrations",
               PROPERTY: "gate_passes", DEVELOPER: "housing_checks"}


class PoliceOnHold(System):
    def env(self, service):
        env = super().env(service)
        if service == POLICE:
            env["LEGAL_HOLD"] = HOLD
        return env


@pytest.fixture(scope="module")
def system(mongo_client):
    with PoliceOnHold(ARCHIVE_AFTER_SECONDS="1", ARCHIVE_SCAN_SECONDS="1") as running:
        running.start()
        with Connection(running.amqp_uri, connect_timeout=10) as connection:
            channel = connection.channel()
            queue = Queue(TAP, durable=True, channel=channel)
            queue.declare()
            exchange = Exchange(event_exchange_name(COMMITTEE), type="topic", durable=True,
                                channel=channel)
            exchange.declare(passive=True)
            queue.bind_to(exchange, routing_key="#")
        yield running
        running.stop()
        running.drop_databases(mongo_client)


@pytest.fixture(scope="module")
def apis(system):
    apis = {name: Api(url, name, user="%s-desk" % name) for name, url in system.urls.items()}
    apis["supervisor"] = Api(system.url(COMMITTEE), COMMITTEE, user="sup", roles=["supervisor"])
    apis["desk"] = Api(system.url(COMMITTEE), COMMITTEE, user="desk", roles=["desk"])
    return apis


@pytest.fixture(scope="module")
def raw(system, mongo_client):
    """A party's stored document of a returnee, working set or archive."""
    def read(service, returnee_id):
        database = mongo_client[system.db_prefix + service]
        collection = COLLECTIONS[service]
        return (database[collection].find_one({"_id": returnee_id})
                or database[archive_name(collection)].find_one({"_id": returnee_id}))
    return read


def keyring(service):
    return Settings.from_config(service, {}).keyring()


def tapped(system, returnee_id):
    """The committee's events about `returnee_id` so far (left in the tap)."""
    found = []
    with Connection(system.amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        while True:
            message = channel.basic_get(queue=TAP, no_ack=False)
            if message is None:
                break
            body = message.body.decode() if isinstance(message.body, bytes) else message.body
            envelope = json.loads(body)
            if envelope["correlation_id"] == returnee_id:
                found.append(envelope)
        channel.close()
    return found


def registered(apis, raw, local_hukou=False, name=None):
    body = registration(local_hukou=local_hukou, name=name or "Rights %s" % uuid.uuid4().hex[:6])
    response = apis[COMMITTEE].post("/api/v1/returnees", body)
    assert response.status_code == 201, response.text
    body["id"] = response.json()["id"]
    for service in (POLICE, PROPERTY, DEVELOPER) + (() if local_hukou else (FLOATING,)):
        wait_for(lambda: raw(service, body["id"]), "the %s record" % service)
    return body


def test_a_correction_reaches_exactly_the_parties_that_hold_each_field(system, apis, raw):
    person = registered(apis, raw)
    rid = person["id"]
    before = {service: raw(service, rid) for service in COLLECTIONS}
    new_name, new_phone = "Corrected %s" % uuid.uuid4().hex[:6], "137%08d" % (uuid.uuid4().int % 10 ** 8)
    refused = apis["desk"].post("/api/v1/returnees/%s/correction" % rid,
                                {"name": new_name, "reason": "misspelt"})
    assert refused.status_code == 403  # a supervisor's decision

    response = apis["supervisor"].post("/api/v1/returnees/%s/correction" % rid, {
        "name": " %s " % new_name, "phone": new_phone, "reason": "misspelt at the desk"})
    assert response.status_code == 200, response.text
    assert response.json()["fields"] == ["name", "phone"]
    assert sorted(response.json()["notified"]) == sorted([POLICE, FLOATING, PROPERTY, DEVELOPER])

    # The committee: stored encrypted, history without values.
    linkage = raw(COMMITTEE, rid)
    assert linkage["name"] == new_name
    assert is_sealed(linkage["phone"])
    assert keyring(COMMITTEE).decrypt(linkage["phone"], "phone") == new_phone
    assert linkage["corrections"][-1]["fields"] == ["name", "phone"]
    history = json.dumps(linkage["corrections"], default=str)
    assert new_name not in history and new_phone not in history and person["name"] not in history
    detail = apis[COMMITTEE].get("/api/v1/returnees/%s" % rid).json()
    assert (detail["name"], detail["phone"]) == (new_name, new_phone)
    assert detail["corrections"][-1]["by"] == "sup"

    for service in (POLICE, FLOATING):
        document = wait_for(lambda: (lambda d: d if d["name"] == new_name else None)(raw(service, rid)),
                            "the correction at %s" % service)
        assert is_sealed(document["phone"])
        assert keyring(service).decrypt(document["phone"], "phone") == new_phone
    gate_pass = wait_for(lambda: (lambda d: d if d["name"] == new_name else None)(raw(PROPERTY, rid)),
                         "the correction at the property company")
    assert new_name in gate_pass["steward_notice"]["text"]
    assert person["name"] not in gate_pass["steward_notice"]["text"]
    housing = wait_for(lambda: (lambda d: d if d["name"] == new_name else None)(raw(DEVELOPER, rid)),
                       "the correction at the developer")
    for document in (gate_pass, housing):  # never the phone, old or new
        text = json.dumps(document, default=str)
        assert "phone" not in document and new_phone not in text and person["phone"] not in text
    assert before[PROPERTY]["pass_id"] == gate_pass["pass_id"]

    # The messages: the phone only to the police and the floating office, and sealed.
    def corrections():
        found = [e for e in tapped(system, rid) if e["event_type"].endswith("corrected")]
        return found if len(found) == 3 else None
    events = wait_for(corrections, "the three correction events on the tap")
    by_type = {}
    for envelope in events:
        by_type.setdefault(envelope["event_type"], []).append(envelope["payload"])
    assert sorted(p["party"] for p in by_type["returnee_details_corrected"]) == sorted([POLICE, FLOATING])
    assert all(is_sealed(p["phone"]) for p in by_type["returnee_details_corrected"])
    assert by_type["returnee_name_corrected"] == [
        {"returnee_id": rid, "name": new_name,
         "corrected_at": by_type["returnee_name_corrected"][0]["corrected_at"]}]
    assert new_phone not in json.dumps(events)


def test_a_phone_correction_of_a_local_person_reaches_the_police_alone(system, apis, raw):
    person = registered(apis, raw, local_hukou=True)
    rid = person["id"]
    versions = {service: raw(service, rid)["version"] for service in (PROPERTY, DEVELOPER)}
    new_phone = "136%08d" % (uuid.uuid4().int % 10 ** 8)
    response = apis["supervisor"].post("/api/v1/returnees/%s/correction" % rid,
                                       {"phone": new_phone, "reason": "wrong number"})
    assert response.status_code == 200, response.text
    assert response.json()["notified"] == [POLICE]
    wait_for(lambda: keyring(POLICE).open(raw(POLICE, rid)["phone"], "phone") == new_phone,
             "the police to have the new phone")
    events = tapped(system, rid)
    assert [e["event_type"] for e in events if "corrected" in e["event_type"]] == [
        "returnee_details_corrected"]
    assert raw(FLOATING, rid) is None
    assert {service: raw(service, rid)["version"] for service in (PROPERTY, DEVELOPER)} == versions
    same = apis["supervisor"].post("/api/v1/returnees/%s/correction" % rid,
                                   {"phone": new_phone, "reason": "again"})
    assert same.status_code == 422 and same.json()["errors"][0]["field"] == "phone"


def test_the_same_correction_event_delivered_twice_is_applied_once(system, apis, raw):
    """The committee's event to the police is published again as it was,
    then a control: a copy with a new event id and another name, which is
    applied, so the duplicate before it was delivered and handled."""
    rid = registered(apis, raw)["id"]
    new_name = "Twice %s" % uuid.uuid4().hex[:6]
    response = apis["supervisor"].post("/api/v1/returnees/%s/correction" % rid,
                                       {"name": new_name, "reason": "typo"})
    assert response.status_code == 200, response.text
    wait_for(lambda: raw(POLICE, rid)["name"] == new_name, "the correction at the police")
    envelope = [e for e in tapped(system, rid) if e["event_type"] == "returnee_details_corrected"
                and e["payload"]["party"] == POLICE][0]
    control = dict(envelope, event_id=str(uuid.uuid4()),
                   payload=dict(envelope["payload"], name="Control %s" % new_name))
    with publishing_connection(system.amqp_uri) as connection:
        producer = connection.Producer(exchange=Exchange(event_exchange_name(COMMITTEE), type="topic",
                                                         durable=True))
        for body in (envelope, control):
            producer.publish(json.dumps(body), routing_key="returnee_details_corrected.%s" % POLICE,
                             content_type="application/json", delivery_mode=2)
    check = wait_for(lambda: (lambda d: d if d["name"] == control["payload"]["name"] else None)(
        raw(POLICE, rid)), "the control event at the police")
    assert check["applied_events"].count(envelope["event_id"]) == 1
    assert check["applied_events"].count(control["event_id"]) == 1


def test_an_erasure_deidentifies_every_party_without_a_hold_and_shows_the_hold(system, apis, raw):
    person = registered(apis, raw, name="Erase Wang")
    rid = person["id"]
    refused = apis["desk"].post("/api/v1/people/erasure", {"returnee_id": rid, "reason": "asked"})
    assert refused.status_code == 403
    response = apis["supervisor"].post("/api/v1/people/erasure",
                                       {"returnee_id": rid, "reason": "asked in person, form 88"})
    assert response.status_code == 202, response.text
    parties = response.json()["parties"]
    assert parties[COMMITTEE]["status"] == "erased"
    assert {parties[p]["status"] for p in (POLICE, FLOATING, PROPERTY, DEVELOPER)} == {"pending"}

    # At once at the committee: de-identified, and the person may register again.
    linkage = raw(COMMITTEE, rid)
    assert linkage["name"] == deidentified_name(person["name"])
    assert linkage["phone"] == mask_phone(person["phone"]) and "open_person" not in linkage
    again = apis[COMMITTEE].post("/api/v1/returnees", {k: v for k, v in person.items() if k != "id"})
    assert again.status_code == 201, again.text

    shown = wait_for(lambda: (lambda d: d if all(s["status"] != "pending" for s in
                                                  d["erasure"]["parties"].values()) else None)(
        apis[COMMITTEE].get("/api/v1/returnees/%s" % rid).json()), "every party's answer")
    answers = shown["erasure"]["parties"]
    assert answers[POLICE]["status"] == "held" and answers[POLICE]["hold_reason"] == HOLD
    for party in (FLOATING, PROPERTY, DEVELOPER):
        assert answers[party]["status"] == "erased" and answers[party]["at"], party
        document = raw(party, rid)
        assert document["deidentified_at"] is not None
        assert document["name"] == deidentified_name(person["name"]), party
        assert person["name"] not in json.dumps(document, default=str), party
    assert raw(FLOATING, rid)["phone"] == mask_phone(person["phone"])
    police = raw(POLICE, rid)  # the hold keeps the police's record whole
    assert police["name"] == person["name"] and police.get("deidentified_at") is None
    assert keyring(POLICE).decrypt(police["phone"], "phone") == person["phone"]

    # The person's export says what was erased and who keeps what, and why.
    export = export_of({COMMITTEE: apis["supervisor"]}, person["id_number"])
    parts = {part["party"]: part for part in export["parties"]}
    assert parts[POLICE]["legal_hold"] == HOLD
    assert all(parts[party]["legal_hold"] is None for party in (COMMITTEE, FLOATING, PROPERTY, DEVELOPER))
    (kept,) = [record for record in parts[POLICE]["records"] if record["id"] == rid]
    assert kept["data"]["name"] == person["name"] and kept["deidentified_at"] is None
    for party in (COMMITTEE, FLOATING, PROPERTY, DEVELOPER):
        (erased,) = [record for record in parts[party]["records"] if record["id"] == rid]
        assert erased["deidentified_at"] and erased["data"]["name"] == deidentified_name(person["name"])

    second = apis["supervisor"].post("/api/v1/people/erasure", {"returnee_id": rid, "reason": "again"})
    assert second.status_code == 200
    assert second.json()["reason"] == "asked in person, form 88"
    nothing = apis["supervisor"].post("/api/v1/returnees/%s/correction" % rid,
                                      {"name": "Erase Wong", "reason": "typo"})
    assert nothing.status_code == 409


def test_a_closed_linkage_in_the_archives_is_corrected_and_erased_there(system, apis, raw, mongo_client):
    person = registered(apis, raw, local_hukou=True)
    rid = person["id"]
    decided = apis[POLICE].post("/api/v1/checks/%s/decision" % rid, {"outcome": "cleared", "note": "ok"})
    assert decided.status_code == 200, decided.text

    def archived(service):
        return mongo_client[system.db_prefix + service][archive_name(COLLECTIONS[service])].find_one(
            {"_id": rid})
    for service in (COMMITTEE, POLICE, PROPERTY, DEVELOPER):
        wait_for(lambda: archived(service), "%s's record in its archive" % service, timeout=60)

    new_name = "Archived %s" % uuid.uuid4().hex[:6]
    response = apis["supervisor"].post("/api/v1/returnees/%s/correction" % rid,
                                       {"name": new_name, "reason": "typo"})
    assert response.status_code == 200, response.text
    for service in (COMMITTEE, POLICE, PROPERTY, DEVELOPER):
        wait_for(lambda: raw(service, rid)["name"] == new_name, "the correction at %s" % service)

    response = apis["supervisor"].post("/api/v1/people/erasure", {"returnee_id": rid, "reason": "asked"})
    assert response.status_code == 202, response.text
    shown = wait_for(lambda: (lambda d: d if all(s["status"] != "pending" for s in
                                                  d["erasure"]["parties"].values()) else None)(
        apis[COMMITTEE].get("/api/v1/returnees/%s" % rid).json()), "every party's answer", timeout=60)
    assert shown["erasure"]["parties"][POLICE]["status"] == "held"
    for service in (PROPERTY, DEVELOPER):
        assert raw(service, rid)["name"] == deidentified_name(new_name)


def test_both_endpoints_are_in_the_committees_openapi_document(system):
    import requests
    document = requests.get(system.url(COMMITTEE) + "/openapi.json", timeout=10).json()
    correction = document["paths"]["/api/v1/returnees/{returnee_id}/correction"]["post"]
    erasure = document["paths"]["/api/v1/people/erasure"]["post"]
    assert {"200", "404", "409", "422"} <= set(correction["responses"])
    assert {"200", "202", "404", "422"} <= set(erasure["responses"])
    detail = document["components"]["schemas"]["LinkageDetail"]["properties"]
    assert {"corrections", "erasure", "deidentified_at"} <= set(detail)
