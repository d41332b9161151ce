"""End to end, through the HTTP APIs only: a tenancy registered at the
floating-population office reaches the police (each tenant in the same
queue as a returnee, marked as a tenant), the property company (each
tenant's access held, then issued or refused) and the committee (the flat's
tenants, masked); the office registers its non-local tenants; the rules with
numbers open cases through the committee's case flow; an ended tenancy ends
its registrations and access. Limits are test-short through settings."""
from datetime import date, timedelta

import pytest

from shared.identity import mask_id
from shared.parties import COMMITTEE, FLOATING, POLICE, PROPERTY
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

REGISTRATION_SECONDS = 8
POLICE_LIMIT_SECONDS = 4


@pytest.fixture(scope="module")
def apis(mongo_client):
    with System(TENANCY_REGISTRATION_DAYS=REGISTRATION_SECONDS / 86400.0,
                LIMIT_COMMUNITY_POLICE_SECONDS=POLICE_LIMIT_SECONDS,
                OVERDUE_SCAN_SECONDS=0.5) as system:
        system.start()
        try:
            yield {name: Api(url, name, user="%s-desk" % name) for name, url in system.urls.items()}
        finally:
            system.stop()
            system.drop_databases(mongo_client)


def tenant(name, local_hukou=False):
    person = registration(local_hukou=local_hukou, name=name)
    return {key: person[key] for key in ("name", "id_number", "phone", "local_hukou")}


def tenancy_body(flat, tenants, rooms=2, start=None, **extra):
    building, unit, room = flat.split("-")
    return dict({"flat": {"building": building, "unit": unit, "room": room},
                 "landlord": "Zhou Ming", "rooms": rooms,
                 "start_date": (start or date.today()).isoformat(), "tenants": tenants}, **extra)


def register(apis, body):
    response = apis[FLOATING].post("/api/v1/tenancies", body)
    assert response.status_code == 201, response.text
    return response.json()


def items(response):
    assert response.status_code == 200, response.text
    return response.json()["items"]


def by_name(found):
    return {item["name"]: item for item in found}


def access_of(apis, tenancy_id, count):
    found = items(apis[PROPERTY].get("/api/v1/tenant-access", tenancy_id=tenancy_id))
    return by_name(found) if len(found) == count else None


def decide(apis, tenant_id, outcome):
    response = apis[POLICE].post("/api/v1/checks/%s/decision" % tenant_id,
                                 {"outcome": outcome, "note": "checked at the flat"})
    assert response.status_code == 200, response.text


def test_a_cleared_non_local_tenant_gets_access_and_a_registration_a_flagged_one_is_refused(apis):
    cleared, flagged = tenant("Liu Yang"), tenant("Ma Li", local_hukou=True)
    tenancy = register(apis, tenancy_body("31-2-1203", [cleared, flagged]))
    ids = {item["name"]: item["id"] for item in tenancy["tenants"]}
    assert tenancy["status"] == "active" and tenancy["checks"] == "open"

    # The police: both in the pending queue, with the full identity, marked as tenants.
    queue = wait_for(lambda: (lambda found: found if len(found) == 2 else None)(items(
        apis[POLICE].get("/api/v1/checks", status="pending", tenancy_id=tenancy["id"]))),
        "the police to have both tenants' checks")
    assert {check["kind"] for check in queue} == {"tenant"}
    assert by_name(queue)["Liu Yang"]["id_number"] == cleared["id_number"]
    pending = items(apis[POLICE].get("/api/v1/checks", status="pending"))
    assert {ids["Liu Yang"], ids["Ma Li"]} <= {check["id"] for check in pending}  # the same queue

    # The property company: access held, name and masked ID only.
    access = wait_for(lambda: access_of(apis, tenancy["id"], 2), "the property company's access")
    assert access["Liu Yang"]["status"] == "held" and access["Liu Yang"]["police"] == "pending"
    assert access["Liu Yang"]["id_masked"] == mask_id(cleared["id_number"])
    assert access["Liu Yang"]["flat_id"] == "31-2-1203"

    # The office registered the non-local tenant, and only them.
    registrations = items(apis[FLOATING].get("/api/v1/registrations", tenancy_id=tenancy["id"]))
    assert [(r["name"], r["kind"], r["status"]) for r in registrations] == [
        ("Liu Yang", "tenant", "registered")]
    assert registrations[0]["id_number"] == cleared["id_number"]

    # The committee: the flat's tenants, masked.
    registry = wait_for(lambda: (lambda found: by_name(found) if len(found) == 2 else None)(
        items(apis[COMMITTEE].get("/api/v1/tenants", flat="31-2-1203"))), "the committee's registry")
    assert registry["Ma Li"]["id_masked"] == mask_id(flagged["id_number"])
    assert "id_number" not in registry["Ma Li"] and "phone" not in registry["Ma Li"]

    decide(apis, ids["Liu Yang"], "cleared")
    decide(apis, ids["Ma Li"], "flagged")
    access = wait_for(lambda: (lambda found: found if found and found["Ma Li"]["status"] == "refused"
                               and found["Liu Yang"]["status"] == "issued" else None)(
        access_of(apis, tenancy["id"], 2)), "the access issued and refused")
    assert access["Liu Yang"]["police"] == "cleared"
    assert access["Ma Li"]["police"] == "flagged"

    closed = wait_for(lambda: (lambda t: t if t["checks"] == "closed" else None)(
        apis[FLOATING].get("/api/v1/tenancies/%s" % tenancy["id"]).json()), "the checks to close")
    parties = {item["name"]: item["parties"] for item in closed["tenants"]}
    assert parties["Liu Yang"][POLICE]["status"] == "cleared"
    assert parties["Liu Yang"][PROPERTY]["status"] == "issued"
    assert parties["Ma Li"][PROPERTY]["status"] == "refused"


def test_ending_a_tenancy_ends_its_registrations_and_access(apis):
    renter = tenant("Gu Wen")
    tenancy = register(apis, tenancy_body("31-3-101", [renter]))
    tenant_id = tenancy["tenants"][0]["id"]
    wait_for(lambda: access_of(apis, tenancy["id"], 1), "the access held")
    decide(apis, tenant_id, "cleared")
    wait_for(lambda: (access_of(apis, tenancy["id"], 1) or {}).get("Gu Wen", {}).get("status")
             == "issued", "the access issued")

    response = apis[FLOATING].post("/api/v1/tenancies/%s/end" % tenancy["id"], {"reason": "moved out"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ended"
    registration_ = items(apis[FLOATING].get("/api/v1/registrations", tenancy_id=tenancy["id"]))[0]
    assert registration_["status"] == "departed" and registration_["ended_at"]
    wait_for(lambda: access_of(apis, tenancy["id"], 1)["Gu Wen"]["status"] == "ended",
             "the access to end")
    wait_for(lambda: [t["status"] for t in items(apis[COMMITTEE].get("/api/v1/tenants",
                                                                     flat="31-3-101"))] == ["ended"],
             "the committee's registry to show the tenant gone")
    again = apis[FLOATING].post("/api/v1/tenancies/%s/end" % tenancy["id"], {})
    assert again.status_code == 409, again.text


def assigned_case(apis, case_id):
    response = apis[FLOATING].get("/api/v1/cases/%s" % case_id)
    return response.json() if response.status_code == 200 and "assignment_role" in response.json() \
        else None


def test_an_occupant_no_tenancy_covers_opens_an_unregistered_tenant_case_at_the_floating_office(apis):
    seen = apis[PROPERTY].post("/api/v1/occupants", {
        "flat": {"building": "32", "unit": "1", "room": "402"}, "name": "Gao Feng"})
    assert seen.status_code == 201, seen.text
    assert seen.json()["status"] == "watching"
    occupant_id = seen.json()["id"]

    # A retried report (the same Idempotency-Key) watches the person once.
    body = {"flat": {"building": "32", "unit": "1", "room": "404"}, "name": "Lin Retry"}
    first_try = apis[PROPERTY].post("/api/v1/occupants", body, {"Idempotency-Key": "steward-7-0001"})
    retry = apis[PROPERTY].post("/api/v1/occupants", body, {"Idempotency-Key": "steward-7-0001"})
    assert first_try.status_code == retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first_try.json()["id"]
    assert len(items(apis[PROPERTY].get("/api/v1/occupants", flat="32-1-404"))) == 1
    other = apis[PROPERTY].post("/api/v1/occupants", dict(body, name="Lin Other"),
                                {"Idempotency-Key": "steward-7-0001"})
    assert other.status_code == 409, other.text

    # One who is registered in time is covered, and opens nothing.
    covered = apis[PROPERTY].post("/api/v1/occupants", {
        "flat": {"building": "32", "unit": "1", "room": "403"}, "name": "Tang  Hui"})
    assert covered.status_code == 201, covered.text
    register(apis, tenancy_body("32-1-403", [tenant("Tang Hui")]))

    unregistered = wait_for(lambda: (lambda o: o if o["status"] == "unregistered" else None)(
        apis[PROPERTY].get("/api/v1/occupants/%s" % occupant_id).json()),
        "the occupant past the limit to be reported", timeout=60)
    case = wait_for(lambda: assigned_case(apis, unregistered["case_id"]),
                    "the case dispatched to the floating-population office")
    assert case["category"] == "unregistered_tenant"
    assert case["assignment_role"] == "owner"
    assert "Gao Feng" in case["description"]
    assert apis[PROPERTY].get("/api/v1/occupants/%s" % covered.json()["id"]).json()["status"] == "covered"
    assert items(apis[PROPERTY].get("/api/v1/occupants", status="unregistered", flat="32-1-403")) == []


def test_more_tenants_than_the_rooms_allow_opens_a_group_rental_case(apis):
    tenancy = register(apis, tenancy_body("33-1-601", [tenant("Xu %d" % n) for n in range(3)],
                                          rooms=1))
    assert tenancy["group_rental_case_id"]
    case = wait_for(lambda: assigned_case(apis, tenancy["group_rental_case_id"]),
                    "the group-rental case dispatched to the floating-population office")
    assert case["category"] == "group_rental"
    # Two per room is allowed.
    within = register(apis, tenancy_body("33-1-602", [tenant("Yu A"), tenant("Yu B")], rooms=1))
    assert within["group_rental_case_id"] is None


def test_a_tenant_the_police_leave_past_their_limit_is_marked_overdue_and_they_are_told(apis):
    tenancy = register(apis, tenancy_body("34-1-101", [tenant("Pan Jun")]))
    tenant_id = tenancy["tenants"][0]["id"]
    late = wait_for(lambda: (lambda t: t if t["tenants"][0]["parties"][POLICE]["overdue"] else None)(
        apis[FLOATING].get("/api/v1/tenancies/%s" % tenancy["id"]).json()),
        "the office to mark the police overdue")
    assert late["tenants"][0]["parties"][POLICE]["overdue_at"] is not None
    assert [t["id"] for t in items(apis[FLOATING].get("/api/v1/tenancies", overdue="true"))
            if t["id"] == tenancy["id"]] == [tenancy["id"]]
    notified = wait_for(lambda: (lambda found: found[0] if found else None)(items(
        apis[POLICE].get("/api/v1/checks", returnee_id=tenant_id, overdue="true"))),
        "the police to receive the overdue notice")
    assert notified["overdue_notified_at"] is not None


def test_tenants_here_for_the_permit_period_are_listed_as_permit_eligible(apis):
    long_ago = date.today() - timedelta(days=200)
    old = register(apis, tenancy_body("35-1-101", [tenant("Lu Old")], start=long_ago))
    assert old["registered_late"] is True  # registered 200 days after it started
    new = register(apis, tenancy_body("35-1-102", [tenant("Lu New")]))
    eligible = {r["tenancy_id"] for r in items(apis[FLOATING].get(
        "/api/v1/registrations", permit_eligible="true", limit=500))}
    not_yet = {r["tenancy_id"] for r in items(apis[FLOATING].get(
        "/api/v1/registrations", permit_eligible="false", limit=500))}
    assert old["id"] in eligible and new["id"] not in eligible
    assert new["id"] in not_yet and old["id"] not in not_yet


def test_a_tenancy_past_its_end_date_ends_by_itself_and_one_not_started_may_be_called_off(apis):
    past = register(apis, tenancy_body("36-1-101", [tenant("Song Past")],
                                       start=date.today() - timedelta(days=10),
                                       end_date=(date.today() - timedelta(days=1)).isoformat()))
    ended = wait_for(lambda: (lambda t: t if t["status"] == "ended" else None)(
        apis[FLOATING].get("/api/v1/tenancies/%s" % past["id"]).json()),
        "the timer to end the tenancy after its end date")
    assert ended["ended_on"] == (date.today() - timedelta(days=1)).isoformat()
    assert ended["ended_by"] == "end_date"
    assert items(apis[FLOATING].get("/api/v1/registrations", tenancy_id=past["id"]))[0]["status"] \
        == "departed"

    future = register(apis, tenancy_body("36-1-102", [tenant("Song Future")],
                                         start=date.today() + timedelta(days=10)))
    response = apis[FLOATING].post("/api/v1/tenancies/%s/end" % future["id"], {"reason": "called off"})
    assert response.status_code == 200, response.text
    assert response.json()["ended_on"] == date.today().isoformat()
