"""Need-to-know personal data of tenants, end to end, as tests/e2e/test_privacy.py
proves it for returnees.

A tenant's ID number and phone go only to the floating-population office
(which registers the tenancy) and the police (who check the tenant). The
property company and the developer get neither: not in their API responses,
not in their databases, not in any message delivered to their queues; the
committee's registry has the masked ID only. Each check is paired with one
that shows it would see the data if it were there."""
from datetime import date

import pytest

from shared.identity import mask_id
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from shared.settings import Settings
from tests.e2e.test_privacy import (documents_with_secrets, leaks, opened, queue_names,
                                    read_all)
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

HOUSING_ONLY = (PROPERTY, DEVELOPER)
MASKED_ONLY = (PROPERTY, DEVELOPER, COMMITTEE)


def tenant(name, local_hukou):
    person = registration(local_hukou=local_hukou, name=name)
    return {key: person[key] for key in ("name", "id_number", "phone", "local_hukou")}


def tenancy_body(tenants, room):
    return {"flat": {"building": "41", "unit": "1", "room": room}, "landlord": "Zhou Ming",
            "rooms": 2, "start_date": date.today().isoformat(), "tenants": tenants}


def items(response):
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-desk" % name) for name, url in system.urls.items()}


@pytest.fixture(scope="module")
def db(system, mongo_client):
    return lambda service: mongo_client[system.db_prefix + service]


@pytest.fixture(scope="module")
def tenancy(apis):
    """A tenancy of a non-local and a local tenant, once every party has them."""
    tenants = [tenant("Qian Renter", False), tenant("Sun Renter", True)]
    response = apis[FLOATING].post("/api/v1/tenancies", tenancy_body(tenants, "1101"))
    assert response.status_code == 201, response.text
    tenancy_id = response.json()["id"]
    wait_for(lambda: len(items(apis[POLICE].get("/api/v1/checks", tenancy_id=tenancy_id))) == 2,
             "the police checks")
    wait_for(lambda: len(items(apis[PROPERTY].get("/api/v1/tenant-access",
                                                  tenancy_id=tenancy_id))) == 2,
             "the property company's access")
    wait_for(lambda: len(items(apis[COMMITTEE].get("/api/v1/tenants", flat="41-1-1101"))) == 2,
             "the committee's registry")
    occupant = apis[PROPERTY].post("/api/v1/occupants", {
        "flat": {"building": "41", "unit": "1", "room": "1101"}, "name": "Qian Renter"})
    assert occupant.status_code == 201, occupant.text
    return {"id": tenancy_id, "tenants": tenants}


def test_the_property_company_and_developer_apis_never_carry_a_tenants_id_or_phone(apis, tenancy):
    responses = [
        apis[PROPERTY].get("/api/v1/tenant-access"),
        apis[PROPERTY].get("/api/v1/tenant-access", tenancy_id=tenancy["id"]),
        apis[PROPERTY].get("/api/v1/tenant-access", flat="41-1-1101", status="held"),
        apis[PROPERTY].get("/api/v1/occupants"),
        apis[PROPERTY].get("/api/v1/passes"),
        apis[PROPERTY].get("/api/v1/audit"),
        apis[DEVELOPER].get("/api/v1/housing-checks"),
        apis[DEVELOPER].get("/api/v1/audit"),
        apis[COMMITTEE].get("/api/v1/tenants", flat="41-1-1101"),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert leaks(response.text, tenancy["tenants"]) == [], response.request.url
    access = {item["name"]: item for item in items(apis[PROPERTY].get(
        "/api/v1/tenant-access", tenancy_id=tenancy["id"]))}
    for person in tenancy["tenants"]:
        assert access[person["name"]]["id_masked"] == mask_id(person["id_number"])


def test_the_office_and_the_police_apis_do_carry_the_identity(apis, tenancy):
    """The control: the same search finds the secrets where they belong."""
    person = tenancy["tenants"][0]
    for response in (apis[FLOATING].get("/api/v1/tenancies/%s" % tenancy["id"]),
                     apis[POLICE].get("/api/v1/checks", tenancy_id=tenancy["id"])):
        assert set(leaks(response.text, [person])) >= {person["id_number"], person["phone"]}


def test_masked_only_databases_never_hold_a_tenants_id_or_phone(tenancy, db):
    for service in MASKED_ONLY:
        database = db(service)
        names = set(database.list_collection_names())
        if service == PROPERTY:  # not vacuous: the scan covers the tenants' documents
            assert {"tenant_access", "occupants"} <= names
            assert database["tenant_access"].count_documents({"tenancy_id": tenancy["id"]}) == 2
        if service == COMMITTEE:
            assert database["tenants"].count_documents({"tenancy_id": tenancy["id"]}) == 2
        assert documents_with_secrets(database, tenancy["tenants"]) == [], service


def test_the_office_and_the_police_hold_the_identity_encrypted(tenancy, db):
    person = tenancy["tenants"][0]
    for service in (FLOATING, POLICE):
        assert documents_with_secrets(db(service), [person]) == [], service
    keyring = Settings.from_config(FLOATING, {}).keyring()
    stored = db(FLOATING)["tenancies"].find_one({"_id": tenancy["id"]})
    identities = keyring.open(stored["identities"], "identities")
    assert [i["id_number"] for i in identities] == [t["id_number"] for t in tenancy["tenants"]]
    police = Settings.from_config(POLICE, {}).keyring()
    check = db(POLICE)["checks"].find_one({"tenancy_id": tenancy["id"], "name": person["name"]})
    assert police.open(check["phone"], "phone") == person["phone"]


@pytest.fixture(scope="module")
def office_alone(mongo_client):
    """A system of its own where only the office runs: everything it sends
    waits in the other parties' queues, to be read there."""
    with System() as running:
        running.start(FLOATING)
        try:
            api = Api(running.url(FLOATING), FLOATING, user="registrar")
            tenants = [tenant("Zhao Renter", False), tenant("Zhou Renter", True)]
            response = api.post("/api/v1/tenancies", tenancy_body(tenants, "1201"))
            assert response.status_code == 201, response.text
            stored = mongo_client[running.db_prefix + FLOATING]["tenancies"]
            wait_for(lambda: not stored.find_one({"_id": response.json()["id"]}).get("outbox"),
                     "the office to publish every event")
            queues = {name: read_all(running.amqp_uri, name) for name in queue_names(running.vhost)}
            yield tenants, queues
        finally:
            running.stop()
            running.drop_databases(mongo_client)


def test_no_message_to_a_masked_only_party_carries_a_tenants_id_or_phone(office_alone):
    tenants, queues = office_alone
    declared = ["property_company.tenant_housing_declared",
                "neighborhood_committee.tenant_housing_declared"]
    masked_queues = [name for name in queues if name.split(".")[0] in MASKED_ONLY]
    assert set(declared) <= set(masked_queues)
    for name in masked_queues:
        for text in queues[name]:
            assert leaks(text, tenants) == [], name
    for name in declared:
        assert len(queues[name]) == 2, name  # one per tenant: they did get the news
        for person in tenants:
            assert sum(mask_id(person["id_number"]) in text for text in queues[name]) == 1


def test_the_police_queue_carries_each_tenants_identity_encrypted(office_alone):
    """The control: the police's messages carry the identity, only under the transit keys."""
    tenants, queues = office_alone
    texts = queues["community_police.tenant_registered"]
    assert len(texts) == 2
    for text in texts:
        assert leaks(text, tenants) == []
    payloads = {payload["name"]: payload for payload in map(opened, texts)}
    for person in tenants:
        assert payloads[person["name"]]["id_number"] == person["id_number"]
        assert payloads[person["name"]]["phone"] == person["phone"]
