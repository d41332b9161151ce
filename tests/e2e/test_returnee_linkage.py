"""End to end, through the HTTP APIs only, as the five front ends would:
one registration at the committee reaches the four other parties, each acts,
and the committee sees the linkage close."""
import pytest
import requests

from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from tests.support import Api, registration, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["auto", "database"])
def apis(request, system, mongo_client):
    """The linkage twice: with write guards as the stack picks them (checked
    in the process on FerretDB), and checked by the database, as compose and
    Kubernetes run the services (shared/writes.py)."""
    on_ferretdb = "ferretdbVersion" in mongo_client.admin.command("buildInfo")
    if request.param == "auto":
        assert guards(system) == ("process" if on_ferretdb else "database")
        yield {name: Api(url, name, user="%s-desk" % name) for name, url in system.urls.items()}
        return
    from tests.system import System
    with System(WRITE_GUARDS=request.param) as other:
        other.start()
        assert guards(other) == "database"
        yield {name: Api(url, name, user="%s-desk" % name) for name, url in other.urls.items()}
        other.drop_databases(mongo_client)


def guards(system):
    """Every service's write-guard mode, as its /health reports it (one value)."""
    modes = {requests.get(url + "/health", timeout=10).json()["write_guards"]
             for url in system.urls.values()}
    assert len(modes) == 1, modes
    return modes.pop()


def register(apis, body):
    response = apis[COMMITTEE].post("/api/v1/returnees", body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def linkage(apis, returnee_id):
    response = apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id)
    assert response.status_code == 200, response.text
    return response.json()


def allocate(apis, building, unit, room, household, handed_over=True):
    response = apis[DEVELOPER].post("/api/v1/allocations", {
        "building": building, "unit": unit, "room": room, "household": household,
        "handed_over": handed_over})
    assert response.status_code in (200, 201), response.text


def first(response):
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


def test_a_cleared_non_local_returnee_reaches_all_five_parties_and_the_linkage_closes(apis):
    allocate(apis, "7", "1", "502", ["Wang Fang", "Chen Jie"])
    body = registration(local_hukou=False, name="Wang Fang", building="7", unit="1", room="502")
    returnee_id = register(apis, body)

    check = wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id)),
                     "the police to have the check")
    assert check["status"] == "pending"
    assert check["id_number"] == body["id_number"]  # the police need the full identity

    gate_pass = wait_for(lambda: first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id)),
                         "the property company to hold the pass")
    assert gate_pass["status"] == "held"
    assert gate_pass["steward_notice"]["building"] == "7"
    assert gate_pass["id_masked"] == body["id_number"][:6] + "*" * 8 + body["id_number"][-4:]

    record = wait_for(lambda: first(apis[FLOATING].get("/api/v1/registrations",
                                                       returnee_id=returnee_id)),
                      "the floating-population office to register the arrival")
    assert record["status"] == "registered"

    housing = wait_for(lambda: first(apis[DEVELOPER].get("/api/v1/housing-checks",
                                                         returnee_id=returnee_id)),
                       "the developer's allocation check")
    assert housing["result"] == "matched"

    seen = wait_for(lambda: (lambda l: l if l["dispatched_at"] else None)(
        linkage(apis, returnee_id)), "the committee to see every party's part")
    assert seen["status"] == "open"
    assert seen["parties"][POLICE]["status"] == "pending"
    assert seen["parties"][PROPERTY]["status"] == "held"
    assert seen["parties"][FLOATING]["done"] is True
    assert seen["parties"][DEVELOPER]["status"] == "matched"
    assert seen["overdue"] == []

    decision = apis[POLICE].post("/api/v1/checks/%s/decision" % returnee_id,
                                 {"outcome": "cleared", "note": "identity verified, no risk"})
    assert decision.status_code == 200, decision.text
    again = apis[POLICE].post("/api/v1/checks/%s/decision" % returnee_id,
                              {"outcome": "flagged", "note": "second thoughts"})
    assert again.status_code == 409

    wait_for(lambda: first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id))["status"]
             == "issued", "the gate pass to be issued")
    closed = wait_for(lambda: (lambda l: l if l["status"] == "closed" else None)(
        linkage(apis, returnee_id)), "the linkage to close")
    assert all(state["done"] for state in closed["parties"].values())
    assert closed["parties"][POLICE]["status"] == "cleared"
    assert closed["parties"][PROPERTY]["status"] == "issued"
    assert closed["mismatch"] is False
    assert closed["closed_at"] is not None


def test_a_flagged_person_is_refused_the_pass(apis):
    body = registration(local_hukou=True, name="Liu Yang", building="9", unit="3", room="101")
    returnee_id = register(apis, body)
    wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id)),
             "the police to have the check")
    response = apis[POLICE].post("/api/v1/checks/%s/decision" % returnee_id,
                                 {"outcome": "flagged", "note": "on the watch list"})
    assert response.status_code == 200, response.text
    wait_for(lambda: (first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id)) or {})
             .get("status") == "refused", "the gate pass to be refused")
    final = wait_for(lambda: (lambda l: l if l["status"] == "closed" else None)(
        linkage(apis, returnee_id)), "the linkage to close")
    assert final["parties"][POLICE]["status"] == "flagged"
    assert final["parties"][PROPERTY]["status"] == "refused"
    # A local resident is not the floating-population office's business.
    assert final["parties"][FLOATING]["status"] == "not_required"
    assert first(apis[FLOATING].get("/api/v1/registrations", returnee_id=returnee_id)) is None
    # No allocation for flat 9-3-101: the committee sees the mismatch.
    assert final["parties"][DEVELOPER]["status"] == "unknown_flat"
    assert final["mismatch"] is True


def test_a_claim_on_someone_elses_flat_is_a_mismatch(apis):
    allocate(apis, "2", "2", "202", ["Sun Li"])
    returnee_id = register(apis, registration(local_hukou=True, name="Zhou Qiang",
                                              building="2", unit="2", room="202"))
    seen = wait_for(lambda: (lambda l: l if l["parties"][DEVELOPER]["done"] else None)(
        linkage(apis, returnee_id)), "the developer's check")
    assert seen["parties"][DEVELOPER]["status"] == "allocated_to_other"
    assert seen["mismatch"] is True


def test_a_retried_registration_with_the_same_idempotency_key_creates_nothing_new(apis):
    body = registration()
    headers = {"Idempotency-Key": "desk-3-req-42"}
    first_try = apis[COMMITTEE].post("/api/v1/returnees", body, headers)
    retry = apis[COMMITTEE].post("/api/v1/returnees", body, headers)
    assert first_try.status_code == retry.status_code == 201
    assert first_try.json()["id"] == retry.json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    other = apis[COMMITTEE].post("/api/v1/returnees", registration(), headers)
    assert other.status_code == 409
    # The person is registered once, so the police have one check.
    checks = wait_for(lambda: apis[POLICE].get("/api/v1/checks",
                                               returnee_id=first_try.json()["id"]).json()["items"],
                      "the police check")
    assert len(checks) == 1


def test_the_daily_review_lists_open_linkages(apis):
    returnee_id = register(apis, registration())
    listed = apis[COMMITTEE].get("/api/v1/returnees", status="open")
    assert listed.status_code == 200
    ids = [item["id"] for item in listed.json()["items"]]
    assert returnee_id in ids
    assert all("id_number" not in item and "phone" not in item for item in listed.json()["items"])
