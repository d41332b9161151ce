"""Need-to-know personal data, end to end.

The full ID number and phone go only to the committee, the police and (for
non-local arrivals) the floating-population office. The property company and
the developer get a masked ID and no phone: not in their API responses, not
in their databases, not in any message delivered to their queues. Every
response that does carry a full ID leaves an audit record at the service
that gave it out. Each check here is paired with one that shows it would see
the data if it were there."""
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
from kombu import Connection

from shared.catalogue import CATALOGUE
from shared.identity import mask_id
from shared.settings import Settings
from shared.parties import ALL as ALL_SERVICES, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from tests.support import Api, registration, wait_for
from tests.system import RABBIT_API, System

pytestmark = pytest.mark.slow

NEED_TO_KNOW = (COMMITTEE, POLICE, FLOATING)
HOUSING_ONLY = (PROPERTY, DEVELOPER)


def secrets_of(body):
    """The strings that must never reach a housing-only party: the full ID
    number (either case), its first 14 characters (region and birth date
    together) and the phone."""
    id_number = body["id_number"]
    return [id_number, id_number.lower(), id_number[:14], body["phone"]]


def leaks(text, bodies):
    """The secrets of `bodies` found in `text`."""
    return [secret for body in bodies for secret in secrets_of(body) if secret in text]


def first(response):
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-desk" % name) for name, url in system.urls.items()}


@pytest.fixture(scope="module")
def db(system, mongo_client):
    return lambda service: mongo_client[system.db_prefix + service]


def register(apis, body):
    response = apis[COMMITTEE].post("/api/v1/returnees", body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture(scope="module")
def people(apis):
    """A non-local and a local returnee on allocated flats, once every party
    that should have them has them."""
    response = apis[DEVELOPER].post("/api/v1/allocations", {
        "building": "21", "unit": "1", "room": "1101", "household": ["Qian Non-Local"]})
    assert response.status_code in (200, 201), response.text
    non_local = registration(local_hukou=False, name="Qian Non-Local", building="21", unit="1",
                             room="1101")
    local = registration(local_hukou=True, name="Sun Local", building="21", unit="1", room="1102")
    result = {"local": dict(local, returnee_id=register(apis, local)),
              "non_local": dict(non_local, returnee_id=register(apis, non_local))}
    for person in result.values():
        returnee_id = person["returnee_id"]
        wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id)),
                 "the police check")
        wait_for(lambda: first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id)),
                 "the property company's pass")
        wait_for(lambda: first(apis[DEVELOPER].get("/api/v1/housing-checks",
                                                   returnee_id=returnee_id)),
                 "the developer's check")
    wait_for(lambda: first(apis[FLOATING].get("/api/v1/registrations",
                                              returnee_id=result["non_local"]["returnee_id"])),
             "the floating-population registration")
    return result


# --- (a) API responses ----------------------------------------------------------

def housing_only_responses(apis, people):
    """Every GET the property company's and the developer's front ends have,
    with and without filters, and some of their errors."""
    property_company, developer = apis[PROPERTY], apis[DEVELOPER]
    responses = [
        property_company.get("/api/v1/passes"),
        property_company.get("/api/v1/passes", status="held"),
        property_company.get("/api/v1/passes", building="21"),
        property_company.get("/api/v1/audit"),
        developer.get("/api/v1/housing-checks"),
        developer.get("/api/v1/housing-checks", mismatch="true"),
        developer.get("/api/v1/allocations/21-1-1101"),
        developer.get("/api/v1/allocations/21-1-1102"),
        developer.get("/api/v1/audit"),
    ]
    for person in people.values():
        responses.append(property_company.get("/api/v1/passes", returnee_id=person["returnee_id"]))
        responses.append(developer.get("/api/v1/housing-checks",
                                       returnee_id=person["returnee_id"]))
    return responses


def test_housing_only_parties_never_get_a_full_id_or_phone_from_their_apis(apis, people):
    bodies = list(people.values())
    for response in housing_only_responses(apis, people):
        assert response.status_code in (200, 404), response.text
        assert leaks(response.text, bodies) == [], response.request.url


@pytest.mark.parametrize("service,path,filter_", [
    (PROPERTY, "/api/v1/passes", "returnee_id"),
    (DEVELOPER, "/api/v1/housing-checks", "returnee_id"),
])
def test_housing_only_parties_see_the_masked_id(apis, people, service, path, filter_):
    for person in people.values():
        item = first(apis[service].get(path, **{filter_: person["returnee_id"]}))
        assert item["id_masked"] == mask_id(person["id_number"])
        assert item["id_masked"] == person["id_number"][:6] + "********" + person["id_number"][-4:]
        assert item["name"] == person["name"]


def test_the_police_api_does_carry_the_full_identity(apis, people):
    """The control: the same search finds the secrets where they belong."""
    person = people["non_local"]
    response = apis[POLICE].get("/api/v1/checks", returnee_id=person["returnee_id"])
    assert set(leaks(response.text, [person])) >= {person["id_number"], person["phone"]}


# --- (b) databases ------------------------------------------------------------------

def documents_with_secrets(database, bodies):
    """(collection, _id, secrets) of every document, in every collection,
    whose serialised form carries a secret of `bodies`."""
    found = []
    for name in database.list_collection_names():
        for document in database[name].find():
            text = json.dumps(document, default=str, ensure_ascii=False)
            secrets = leaks(text, bodies)
            if secrets:
                found.append((name, document.get("_id"), secrets))
    return found


def test_housing_only_databases_never_hold_a_full_id_or_phone(apis, people, db):
    bodies = list(people.values())
    for service in HOUSING_ONLY:
        database = db(service)
        # Not vacuous: the scan covers the collections these people are in.
        names = set(database.list_collection_names())
        assert names & {"gate_passes", "housing_checks"}
        for person in bodies:
            collection = "gate_passes" if service == PROPERTY else "housing_checks"
            assert database[collection].find_one({"_id": person["returnee_id"]})
        assert documents_with_secrets(database, bodies) == [], service


def test_the_police_and_floating_office_hold_the_identity_encrypted(people, db):
    """They do hold it, under their own keys; no database holds it plain
    (tests/e2e/test_encryption.py, with its control run)."""
    non_local = people["non_local"]
    for service, collection in ((POLICE, "checks"), (FLOATING, "registrations")):
        assert documents_with_secrets(db(service), [non_local]) == [], service
        document = db(service)[collection].find_one({"_id": non_local["returnee_id"]})
        keyring = Settings.from_config(service, {}).keyring()
        assert keyring.open(document["id_number"], "id_number") == non_local["id_number"]
        assert keyring.open(document["phone"], "phone") == non_local["phone"]


def opened(text):
    """The payload of a message read by `read_all`, its personal fields
    decrypted with the transit keys."""
    body = json.JSONDecoder().raw_decode(text)[0]
    transit = Settings.from_config(POLICE, {}).transit_keyring()
    return CATALOGUE.with_transit(transit).load(body).payload


# --- (c) messages on the queues --------------------------------------------------------

def queue_names(vhost):
    response = requests.get("%s/api/queues/%s" % (RABBIT_API, quote(vhost, safe="")),
                            params={"columns": "name"}, timeout=10)
    response.raise_for_status()
    return sorted(queue["name"] for queue in response.json())


def read_all(amqp_uri, queue):
    """Every message waiting in `queue` (body and headers as text); they are
    returned to the queue when the channel closes."""
    texts = []
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        while True:
            message = channel.basic_get(queue=queue, no_ack=False)
            if message is None:
                break
            body = message.body.decode("utf-8") if isinstance(message.body, bytes) else message.body
            headers = json.dumps(message.properties.get("application_headers") or {}, default=str)
            texts.append(body + headers)
        channel.close()
    return texts


@pytest.fixture(scope="module")
def committee_alone(mongo_client):
    """A system of its own where only the committee runs: everything it sends
    waits in the other parties' queues, to be read there."""
    with System() as running:
        running.start(COMMITTEE)
        try:
            api = Api(running.url(COMMITTEE), COMMITTEE, user="gate-desk")
            people = {"non_local": registration(local_hukou=False, name="Zhao Non-Local"),
                      "local": registration(local_hukou=True, name="Zhou Local")}
            for body in people.values():
                response = api.post("/api/v1/returnees", body)
                assert response.status_code == 201, response.text
            linkages = mongo_client[running.db_prefix + COMMITTEE]["linkages"]
            wait_for(lambda: linkages.count_documents({}) == 2 and all(
                not document.get("outbox") for document in linkages.find()),
                "the committee to publish every event")
            queues = {name: read_all(running.amqp_uri, name) for name in queue_names(running.vhost)}
            yield people, queues
        finally:
            running.stop()
            running.drop_databases(mongo_client)


def test_no_message_to_a_housing_only_party_carries_a_full_id_or_phone(committee_alone):
    people, queues = committee_alone
    housing_queues = [name for name in queues if name.split(".")[0] in HOUSING_ONLY]
    assert "property_company.returnee_housing_declared" in housing_queues
    assert "developer.returnee_housing_declared" in housing_queues
    for name in housing_queues:
        for text in queues[name]:
            assert leaks(text, people.values()) == [], name
    for name in ("property_company.returnee_housing_declared", "developer.returnee_housing_declared"):
        assert len(queues[name]) == 2, name  # one per registration: they did get the news
        for person in people.values():
            assert sum(mask_id(person["id_number"]) in text for text in queues[name]) == 1


def test_the_police_queue_does_carry_the_full_identity(committee_alone):
    """The control: the police's messages carry the identity, encrypted
    under the transit keys."""
    people, queues = committee_alone
    texts = queues["community_police.returnee_registered"]
    assert len(texts) == 2
    assert leaks(" ".join(texts), people.values()) == []
    payloads = [opened(text) for text in texts]
    for person in people.values():
        found = [payload for payload in payloads if payload["id_number"] == person["id_number"]]
        assert len(found) == 1 and found[0]["phone"] == person["phone"]


def test_a_local_residents_registration_never_reaches_the_floating_office_queue(committee_alone):
    people, queues = committee_alone
    floating = [name for name in queues if name.startswith(FLOATING + ".")]
    assert "floating_population_office.non_local_returnee_registered" in floating
    texts = [text for name in floating for text in queues[name]]
    assert leaks(" ".join(texts), [people["local"]]) == []
    assert not any(people["local"]["name"] in text for text in texts)
    arrivals = queues["floating_population_office.non_local_returnee_registered"]
    assert len(arrivals) == 1
    assert opened(arrivals[0])["id_number"] == people["non_local"]["id_number"]


# --- (d) the floating office in the running system ----------------------------------------

def test_a_local_residents_registration_never_reaches_the_floating_office(apis, people, db):
    local, non_local = people["local"], people["non_local"]
    # The non-local person, registered after the local one, is there already.
    assert first(apis[FLOATING].get("/api/v1/registrations",
                                    returnee_id=non_local["returnee_id"]))
    assert first(apis[FLOATING].get("/api/v1/registrations",
                                    returnee_id=local["returnee_id"])) is None
    assert documents_with_secrets(db(FLOATING), [local]) == []
    assert db(FLOATING)["registrations"].find_one({"name": local["name"]}) is None
    linkage = apis[COMMITTEE].get("/api/v1/returnees/%s" % local["returnee_id"]).json()
    assert linkage["parties"][FLOATING]["status"] == "not_required"


# --- (e) the audit trail -------------------------------------------------------------------

def audit_records(api, returnee_id=None, user=None):
    params = {"limit": 1000}
    if returnee_id:
        params["returnee_id"] = returnee_id
    response = api.get("/api/v1/audit", **params)
    assert response.status_code == 200, response.text
    return [record for record in response.json()["items"]
            if user is None or record["user"] == user]


def assert_one_record(records, person, agency, user, via):
    assert len(records) == 1, records
    record = records[0]
    assert (record["user"], record["agency"], record["returnee_id"], record["via"]) == (
        user, agency, person["returnee_id"], via)
    assert record["id_masked"] == mask_id(person["id_number"])
    at = datetime.fromisoformat(record["at"])
    assert abs(datetime.now(timezone.utc) - at) < timedelta(minutes=2)
    assert record["id"]


def staff(system, agency):
    user = "%s-%s" % (agency.split("_")[0], uuid.uuid4().hex[:8])
    return user, Api(system.url(agency), agency, user=user)


@pytest.mark.parametrize("agency,path_of,via", [
    (POLICE, lambda person: ("/api/v1/checks", {"returnee_id": person["returnee_id"]}),
     "GET /api/v1/checks"),
    (POLICE, lambda person: ("/api/v1/checks/%s" % person["returnee_id"], {}),
     "GET /api/v1/checks/{id}"),
    (COMMITTEE, lambda person: ("/api/v1/returnees/%s" % person["returnee_id"], {}),
     "GET /api/v1/returnees/{id}"),
    (FLOATING, lambda person: ("/api/v1/registrations", {"returnee_id": person["returnee_id"]}),
     "GET /api/v1/registrations"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_a_response_with_a_full_id_leaves_an_audit_record(system, people, agency, path_of, via):
    person = people["non_local"]
    user, api = staff(system, agency)
    assert audit_records(api, person["returnee_id"], user) == []
    path, params = path_of(person)
    response = api.get(path, **params)
    assert response.status_code == 200, response.text
    assert person["id_number"] in response.text  # it does carry the full identity
    assert_one_record(audit_records(api, person["returnee_id"], user), person, agency, user, via)
    # The audit trail itself shows the masked ID only.
    audit_text = api.get("/api/v1/audit", returnee_id=person["returnee_id"]).text
    assert leaks(audit_text, [person]) == []


def test_reading_one_floating_registration_is_audited(system, people, apis):
    person = people["non_local"]
    record = first(apis[FLOATING].get("/api/v1/registrations", returnee_id=person["returnee_id"]))
    user, api = staff(system, FLOATING)
    response = api.get("/api/v1/registrations/%s" % record["id"])
    assert response.status_code == 200 and person["id_number"] in response.text
    assert_one_record(audit_records(api, person["returnee_id"], user), person, FLOATING, user,
                      "GET /api/v1/registrations/{id}")


def test_a_list_is_audited_for_exactly_the_people_it_shows(system, people):
    user, api = staff(system, POLICE)
    listed = api.get("/api/v1/checks", limit=2)
    assert listed.status_code == 200, listed.text
    shown = sorted(item["returnee_id"] for item in listed.json()["items"])
    assert len(shown) == 2
    records = audit_records(api, user=user)
    assert sorted(record["returnee_id"] for record in records) == shown
    assert {record["via"] for record in records} == {"GET /api/v1/checks"}


def test_each_agency_lists_only_its_own_audit_records(system, people):
    person = people["non_local"]
    police_user, police = staff(system, POLICE)
    assert police.get("/api/v1/checks/%s" % person["returnee_id"]).status_code == 200
    for agency in (COMMITTEE, FLOATING, PROPERTY, DEVELOPER):
        _, other = staff(system, agency)
        records = audit_records(other)
        assert all(record["agency"] == agency for record in records), agency
        assert not any(record["user"] == police_user for record in records), agency
    assert all(record["agency"] == POLICE for record in audit_records(police))


def test_the_committees_masked_responses_carry_no_full_id_and_need_no_audit(system):
    user, api = staff(system, COMMITTEE)
    body = registration(name="Masked Only")
    key = {"Idempotency-Key": uuid.uuid4().hex}
    created = api.post("/api/v1/returnees", body, key)
    assert created.status_code == 201, created.text
    person = dict(body, returnee_id=created.json()["id"])
    assert created.json()["id_masked"] == mask_id(body["id_number"])
    replayed = api.post("/api/v1/returnees", body, key)
    assert replayed.headers.get("Idempotent-Replayed") == "true", replayed.text
    listed = api.get("/api/v1/returnees", status="open", limit=500)
    assert listed.status_code == 200
    assert person["returnee_id"] in [item["id"] for item in listed.json()["items"]]
    for response in (created, replayed, listed):
        assert leaks(response.text, [body]) == [], response.request.url
    assert audit_records(api, person["returnee_id"]) == []
    # The detail view does carry it, and is audited (the control).
    detail = api.get("/api/v1/returnees/%s" % person["returnee_id"])
    assert detail.json()["id_number"] == body["id_number"] and detail.json()["phone"] == body["phone"]
    assert_one_record(audit_records(api, person["returnee_id"], user), person, COMMITTEE, user,
                      "GET /api/v1/returnees/{id}")


def test_the_police_decision_answer_carries_no_full_id(apis, system):
    body = registration(name="Decided Person", local_hukou=True)
    returnee_id = register(apis, body)
    wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id)),
             "the police check")
    user, api = staff(system, POLICE)
    decided = api.post("/api/v1/checks/%s/decision" % returnee_id,
                       {"outcome": "cleared", "note": "identity verified"})
    assert decided.status_code == 200, decided.text
    assert leaks(decided.text, [body]) == []
    assert audit_records(api, returnee_id, user) == []


# --- (d) logs -----------------------------------------------------------------------

def test_no_service_log_carries_an_id_number_or_phone(system, apis, people):
    """Every line of every service's log in this run: the people registered,
    the police's audited reads, a refused second registration of the same
    person (a duplicate key) and a request whose path holds an ID number.
    The control: that path did reach the log, masked."""
    person = people["non_local"]
    again = apis[COMMITTEE].post("/api/v1/returnees", {key: person[key] for key in (
        "name", "id_number", "phone", "address", "origin", "arrival_date", "local_hukou")})
    assert again.status_code == 409
    probe = apis[POLICE].get("/api/v1/checks/%s" % person["id_number"])
    assert probe.status_code == 404
    logs = {service: system.log(service) for service in ALL_SERVICES}
    assert mask_id(person["id_number"]) in logs[POLICE]  # the probe's path, masked
    for service, text in logs.items():
        assert leaks(text, list(people.values())) == [], service
