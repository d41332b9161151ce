"""Need-to-know for warranty repairs, end to end.

The resident who reports a repair at the property company (name and
phone) is known to the property company and, for a repair under warranty,
to the developer, who must contact them; to no one else. Not to the
committee (whose registry has the household from the handover, but no
repair), not to the police or the floating-population office: not in their
API responses, not in any collection of their databases, not in any
message in their queues, not in any service's /metrics or log. Where the
resident is held, they are held encrypted (each party's own key), and in
the one message that carries them, under the transit keys.

The system is one of this module's own. The developer is stopped while the
repair is reported, so the assignment waits in its queue and every queue
can be read; then it runs again and accepts and resolves the case.
Each "absent" check has its control: the same search finds the resident
where they must be."""
import json
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import requests

from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from shared.settings import Settings
from tests.e2e.test_privacy import opened, queue_names, read_all
from tests.support import Api, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

ENTITLED = (PROPERTY, DEVELOPER)
KEPT_FROM = (COMMITTEE, POLICE, FLOATING)


def found_in(text, resident):
    return [secret for secret in (resident["name"], resident["phone"]) if secret in text]


def documents_with(database, resident):
    found = []
    for name in database.list_collection_names():
        for document in database[name].find():
            secrets = found_in(json.dumps(document, default=str, ensure_ascii=False), resident)
            if secrets:
                found.append((name, document.get("_id"), secrets))
    return found


@pytest.fixture(scope="module")
def world(mongo_client):
    with System() as system:
        try:
            yield build_world(system, mongo_client)
        finally:
            system.stop()
            system.drop_databases(mongo_client)


def build_world(system, mongo_client):
    system.start()
    apis = {name: Api(url, name, user="%s-privacy" % name.split("_")[0])
            for name, url in system.urls.items()}
    db = lambda service: mongo_client[system.db_prefix + service]  # noqa: E731
    tag = uuid.uuid4()
    # Not a household member: the repair is the only way the name travels.
    resident = {"name": "Resident-%s" % tag.hex[:8], "phone": "158%08d" % (tag.int % 10 ** 8)}
    flat = {"building": "p%s" % tag.hex[:6], "unit": "1", "room": "702"}
    flat_id = "%(building)s-%(unit)s-%(room)s" % flat
    assert apis[DEVELOPER].post("/api/v1/allocations", dict(
        flat, household=["Qian Jun"], handed_over=False)).status_code == 201
    handed = apis[DEVELOPER].post("/api/v1/handovers", {
        "flat": flat, "members": ["Qian Jun"],
        "handed_over_on": (date.today() - timedelta(days=400)).isoformat()})
    assert handed.status_code == 201, handed.text
    for party in (PROPERTY, COMMITTEE):
        wait_for(lambda: apis[party].get("/api/v1/households", flat=flat_id).json()["items"],
                 "%s to have the household" % party)

    # The developer is down: the assignment waits in its queue.
    system.stop(DEVELOPER)
    answers = {}
    for key, category, part in (("warranty", "waterproofing", "common"),
                                ("owner", "appliance", "in_flat")):
        response = apis[PROPERTY].post("/api/v1/repairs", {
            "flat": flat, "category": category, "part": part,
            "description": "reported by phone", "resident": resident})
        assert response.status_code == 201, response.text
        answers[key] = response
    repair_id = answers["warranty"].json()["id"]
    assert answers["warranty"].json()["responsible"] == "developer"
    wait_for(lambda: db(PROPERTY)["repairs"].find_one({"_id": repair_id})["outbox_due"] is None,
             "the property company to publish the assignment")
    queues = {name: read_all(system.amqp_uri, name) for name in queue_names(system.vhost)}

    system.start(DEVELOPER)
    wait_for(lambda: apis[DEVELOPER].get("/api/v1/warranty-cases/%s" % repair_id).status_code == 200,
             "the developer's warranty case")
    for action, body in (("accept", {}), ("resolve", {"note": "called the resident; fixed"})):
        response = apis[DEVELOPER].post("/api/v1/warranty-cases/%s/%s" % (repair_id, action), body)
        assert response.status_code == 200, response.text
        answers[action] = response
    wait_for(lambda: apis[PROPERTY].get("/api/v1/repairs/%s" % repair_id).json()["status"]
             == "resolved", "the property company to see it resolved")
    return SimpleNamespace(system=system, apis=apis, db=db, resident=resident, flat=flat,
                           flat_id=flat_id, repair_id=repair_id, answers=answers, queues=queues)


# --- API responses ------------------------------------------------------------------------

def reads_of(world, party):
    api = world.apis[party]
    paths = {COMMITTEE: ["/api/v1/households", "/api/v1/returnees", "/api/v1/cases"],
             POLICE: ["/api/v1/checks", "/api/v1/cases"],
             FLOATING: ["/api/v1/registrations", "/api/v1/cases"]}[party]
    responses = [api.get(path) for path in paths] + [api.get("/api/v1/audit")]
    if party == COMMITTEE:
        responses += [api.get("/api/v1/households", flat=world.flat_id),
                      api.get("/api/v1/households", building=world.flat["building"])]
    return responses


@pytest.mark.parametrize("party", KEPT_FROM)
def test_no_api_response_of_another_party_carries_the_resident(world, party):
    for response in reads_of(world, party):
        assert response.status_code == 200, response.text
        assert found_in(response.text, world.resident) == [], response.request.url


def test_the_committees_registry_has_the_household_and_no_repair(world):
    """Not vacuous: the committee's reads above do hold the flat."""
    listed = world.apis[COMMITTEE].get("/api/v1/households", flat=world.flat_id).json()
    assert [item["members"] for item in listed["items"]] == [["Qian Jun"]]
    assert world.repair_id not in json.dumps(listed)


def test_the_property_company_and_the_developer_do_see_the_resident(world):
    """The control: the same search finds the resident where they belong."""
    repair = world.apis[PROPERTY].get("/api/v1/repairs/%s" % world.repair_id)
    assert repair.json()["resident"] == world.resident
    assert sorted(found_in(world.apis[PROPERTY].get("/api/v1/repairs").text, world.resident)) == \
        sorted([world.resident["name"], world.resident["phone"]])
    case = world.apis[DEVELOPER].get("/api/v1/warranty-cases/%s" % world.repair_id)
    assert case.json()["resident"] == world.resident
    for action in ("accept", "resolve"):
        assert world.answers[action].json()["resident"] == world.resident


def test_the_owners_repair_never_reaches_the_developer(world):
    owner = world.answers["owner"].json()
    assert owner["responsible"] == "owner"
    assert world.apis[DEVELOPER].get("/api/v1/warranty-cases/%s" % owner["id"]).status_code == 404
    assert world.db(DEVELOPER)["warranty_cases"].count_documents({}) == 1


# --- databases ------------------------------------------------------------------------------

@pytest.mark.parametrize("party", KEPT_FROM)
def test_no_other_partys_database_holds_the_resident(world, party):
    database = world.db(party)
    assert database.list_collection_names(), party  # not vacuous: the party has a database
    if party == COMMITTEE:
        assert database["households"].find_one({"_id": world.flat_id})
    assert documents_with(database, world.resident) == [], party


@pytest.mark.parametrize("party", ENTITLED)
def test_the_entitled_parties_hold_the_resident_encrypted_only(world, party):
    assert documents_with(world.db(party), world.resident) == [], party
    collection = "repairs" if party == PROPERTY else "warranty_cases"
    document = world.db(party)[collection].find_one({"_id": world.repair_id})
    keyring = Settings.from_config(party, {}).keyring()
    assert keyring.open(document["resident"], "resident") == world.resident


# --- messages ---------------------------------------------------------------------------------

def test_the_assignment_in_the_developers_queue_carries_the_resident_under_the_transit_keys(world):
    waiting = world.queues["%s.warranty_repair_assigned" % DEVELOPER]
    assert len(waiting) == 1
    assert found_in(waiting[0], world.resident) == []
    assert opened(waiting[0])["resident"] == world.resident


def test_no_other_queue_carries_the_resident(world):
    others = {name: texts for name, texts in world.queues.items()
              if name != "%s.warranty_repair_assigned" % DEVELOPER}
    assert "%s.flat_handover_recorded" % COMMITTEE in others  # the committee's housing queue was read
    assert any(".retry." in name for name in others)
    for name, texts in others.items():
        for text in texts:
            assert found_in(text, world.resident) == [], name
            assert '"resident"' not in text, name  # not even encrypted


# --- metrics and logs --------------------------------------------------------------------------

@pytest.mark.parametrize("service", ALL)
def test_no_services_metrics_or_log_carry_the_resident(world, service):
    metrics = requests.get(world.system.url(service) + "/metrics", timeout=10).text
    assert found_in(metrics, world.resident) == [], service
    assert found_in(world.system.log(service), world.resident) == [], service
    if service == PROPERTY:  # not vacuous: these metrics counted the repairs
        assert 'property_company_repairs_total{responsible="developer"} 1.0' in metrics
