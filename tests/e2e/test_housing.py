"""Housing across the parties, end to end, through the HTTP APIs only: the
developer hands an allocated flat over, the property company takes the
household on with its flat's warranty table, the committee registers it;
a resident's repair is decided from that table (the developer under
warranty, with a time limit and an overdue mark; the property company or
the owner after it, with the reason); and a handover without an allocation,
or to the wrong household, is refused with nothing written."""
import uuid
from datetime import date, timedelta

import pytest

from shared.identity import mask_id
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, PROPERTY
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

URGENT_ACCEPT_SECONDS = 2  # test-short: the developer's accept limit on a leak


@pytest.fixture(scope="module")
def system(mongo_client):
    with System(WARRANTY_URGENT_ACCEPT_SECONDS=URGENT_ACCEPT_SECONDS,
                OVERDUE_SCAN_SECONDS=0.5) as running:
        running.start()
        try:
            yield running
        finally:
            running.stop()
            running.drop_databases(mongo_client)


@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-housing" % name.split("_")[0])
            for name, url in system.urls.items()}


@pytest.fixture(scope="module")
def db(system, mongo_client):
    return lambda service: mongo_client[system.db_prefix + service]


def a_flat():
    return {"building": "h%s" % uuid.uuid4().hex[:6], "unit": "2", "room": "301"}


def flat_id(flat):
    return "%(building)s-%(unit)s-%(room)s" % flat


def years_ago(years):
    today = date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def years_later(day, years):
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February: the anniversary is 1 March
        return date(day.year + years, 3, 1)


def allocate(apis, flat, household, handed_over=False):
    response = apis[DEVELOPER].post("/api/v1/allocations", dict(
        flat, household=household, handed_over=handed_over))
    assert response.status_code in (200, 201), response.text
    return response.json()


def hand_over(apis, flat, members, on):
    return apis[DEVELOPER].post("/api/v1/handovers", {
        "flat": flat, "members": members, "handed_over_on": on.isoformat()})


def household_at(api, flat):
    response = api.get("/api/v1/households", flat=flat_id(flat))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


def handed_over_household(apis, on):
    """A flat allocated, handed over `on`, and taken on by the property company."""
    flat = a_flat()
    allocate(apis, flat, ["Wang Fang", "Wang Lei"])
    response = hand_over(apis, flat, ["Wang Fang", "Wang Lei"], on)
    assert response.status_code == 201, response.text
    wait_for(lambda: household_at(apis[PROPERTY], flat), "the property company to take it on")
    return flat


def report_repair(apis, flat, category="waterproofing", part="common", **overrides):
    body = {"flat": flat, "category": category, "part": part,
            "description": "rain comes through the roof above the stairwell",
            "resident": {"name": "Wang Fang", "phone": "13912345678"}}
    body.update(overrides)
    response = apis[PROPERTY].post("/api/v1/repairs", body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_handover_reaches_the_property_company_with_its_warranty_table_and_the_committee(apis):
    flat = a_flat()
    allocate(apis, flat, ["Li Na", "Li Ming", "Zhao Hong"])
    on = date.today() - timedelta(days=10)
    response = hand_over(apis, flat, [" Li Ming", "Zhao Hong", "Li Na"], on)
    assert response.status_code == 201, response.text
    handover = response.json()
    assert handover["id"] == flat_id(flat) and handover["handed_over_on"] == on.isoformat()
    assert response.headers["Location"] == "/api/v1/handovers/%s" % flat_id(flat)
    assert apis[DEVELOPER].get("/api/v1/handovers/%s" % flat_id(flat)).json() == handover
    listed = apis[DEVELOPER].get("/api/v1/handovers", building=flat["building"]).json()
    assert [item["id"] for item in listed["items"]] == [flat_id(flat)]
    # The allocation is handed over now.
    allocation = apis[DEVELOPER].get("/api/v1/allocations/%s" % flat_id(flat)).json()
    assert allocation["handed_over"] is True

    household = wait_for(lambda: household_at(apis[PROPERTY], flat),
                         "the property company to take the household on")
    assert sorted(household["members"]) == ["Li Ming", "Li Na", "Zhao Hong"]
    assert household["handed_over_on"] == on.isoformat() and household["flat"] == flat
    table = {row["category"]: row for row in household["warranty"]}
    assert sorted(table) == sorted(["structure", "waterproofing", "heating", "cooling",
                                    "electrical", "plumbing", "equipment", "decoration"])
    assert all(row["starts"] == on.isoformat() for row in table.values())
    assert table["waterproofing"]["end"] == (years_later(on, 5) - timedelta(days=1)).isoformat()
    assert table["decoration"]["end"] == (years_later(on, 2) - timedelta(days=1)).isoformat()
    assert table["structure"]["period"] == "50 years (design life)"
    assert table["heating"]["period"].startswith("2 heating seasons")

    registered = wait_for(lambda: household_at(apis[COMMITTEE], flat),
                          "the committee to register the household")
    assert registered["members"] == household["members"]
    assert registered["handed_over_on"] == on.isoformat()
    assert "warranty" not in registered
    by_building = apis[COMMITTEE].get("/api/v1/households", building=flat["building"]).json()
    assert [item["id"] for item in by_building["items"]] == [flat_id(flat)]


def test_the_committees_household_shows_the_flats_tenants_masked(apis):
    flat = handed_over_household(apis, date.today() - timedelta(days=400))
    wait_for(lambda: household_at(apis[COMMITTEE], flat), "the committee to register the household")
    assert household_at(apis[COMMITTEE], flat)["tenants"] == []
    tenant = registration(local_hukou=False, name="Sun Qiang")
    response = apis[FLOATING].post("/api/v1/tenancies", {
        "flat": flat, "landlord": "Wang Fang", "rooms": 2, "start_date": date.today().isoformat(),
        "tenants": [{key: tenant[key] for key in ("name", "id_number", "phone", "local_hukou")}]})
    assert response.status_code == 201, response.text

    household = wait_for(lambda: (lambda h: h if h["tenants"] else None)(household_at(apis[COMMITTEE], flat)),
                         "the committee's household to show the tenant")
    [shown] = household["tenants"]
    assert shown["name"] == "Sun Qiang" and shown["id_masked"] == mask_id(tenant["id_number"])
    assert tenant["id_number"] not in str(household) and tenant["phone"] not in str(household)
    assert sorted(household["members"]) == ["Wang Fang", "Wang Lei"]


def test_a_second_handover_of_the_flat_is_refused(apis, db):
    flat = handed_over_household(apis, date.today())
    again = hand_over(apis, flat, ["Wang Fang", "Wang Lei"], date.today())
    assert again.status_code == 409, again.text
    assert "handed over already" in again.json()["detail"]
    assert db(DEVELOPER)["handovers"].count_documents({"flat.building": flat["building"]}) == 1


def test_the_returnee_check_sees_a_handed_over_flat(apis):
    """Before its handover a flat allocated as not handed over answers
    not_handed_over to a returnee's claim; after it, matched."""
    from tests.support import registration
    flat = a_flat()
    allocate(apis, flat, ["Sun Li"], handed_over=False)

    def checked(name):
        response = apis[COMMITTEE].post("/api/v1/returnees", registration(name=name, **flat))
        assert response.status_code == 201, response.text
        returnee_id = response.json()["id"]
        return wait_for(lambda: (lambda items: items[0] if items else None)(apis[DEVELOPER].get(
            "/api/v1/housing-checks", returnee_id=returnee_id).json()["items"]),
            "the developer's check")["result"]
    assert checked("Sun Li") == "not_handed_over"
    assert hand_over(apis, flat, ["Sun Li"], date.today()).status_code == 201
    assert checked("Sun Li") == "matched"
    # Saving the allocation again keeps the flat handed over.
    assert allocate(apis, flat, ["Sun Li"], handed_over=False)["handed_over"] is True


def nothing_written(db, flat):
    return (db(DEVELOPER)["handovers"].count_documents({"flat.building": flat["building"]}) == 0
            and db(PROPERTY)["households"].count_documents({"flat.building": flat["building"]}) == 0
            and db(COMMITTEE)["households"].count_documents({"flat.building": flat["building"]}) == 0)


def test_a_handover_without_an_allocation_or_to_the_wrong_household_is_refused(apis, db):
    flat = a_flat()
    refused = hand_over(apis, flat, ["Nobody Here"], date.today())
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "flat"
    assert "no allocation" in refused.json()["errors"][0]["reason"]

    allocate(apis, flat, ["Chen Jie", "Chen Yu"])
    wrong = hand_over(apis, flat, ["Chen Jie", "Liu Bei"], date.today())
    assert wrong.status_code == 409, wrong.text
    reason = wrong.json()["errors"][0]["reason"]
    assert wrong.json()["errors"][0]["field"] == "members"
    assert "Liu Bei" in reason and "missing from the handover: Chen Yu" in reason
    part = hand_over(apis, flat, ["Chen Jie"], date.today())
    assert part.status_code == 409, part.text

    # Nothing written: no handover, no household anywhere, the flag unchanged,
    # even after the consumers had time to act on an event (a control below).
    control = handed_over_household(apis, date.today())
    wait_for(lambda: household_at(apis[COMMITTEE], control), "the control's registration")
    assert nothing_written(db, flat)
    assert apis[DEVELOPER].get("/api/v1/handovers/%s" % flat_id(flat)).status_code == 404
    assert apis[DEVELOPER].get("/api/v1/allocations/%s" % flat_id(flat)).json()["handed_over"] is False
    assert household_at(apis[PROPERTY], flat) is None and household_at(apis[COMMITTEE], flat) is None


def warranty_case(apis, repair_id):
    response = apis[DEVELOPER].get("/api/v1/warranty-cases/%s" % repair_id)
    return response.json() if response.status_code == 200 else None


def repair_at_property(apis, repair_id):
    response = apis[PROPERTY].get("/api/v1/repairs/%s" % repair_id)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_roof_leak_a_year_after_handover_goes_to_the_developer_who_is_marked_late_then_resolves(
        apis):
    flat = handed_over_household(apis, years_ago(1))
    repair = report_repair(apis, flat)
    assert repair["responsible"] == "developer"
    assert repair["warranty"]["category"] == "waterproofing" and repair["warranty"]["covered"] is True
    assert repair["warranty"]["period"] == "5 years"
    assert "under warranty" in repair["reason"] and "the developer repairs" in repair["reason"]
    assert repair["urgent"] is True and repair["status"] == "assigned"
    task = repair["tasks"]["developer"]
    assert task["due_kind"] == "accept" and task["overdue"] is False

    case = wait_for(lambda: warranty_case(apis, repair["id"]), "the developer's warranty case")
    assert case["resident"] == {"name": "Wang Fang", "phone": "13912345678"}
    assert case["flat"] == flat and case["urgent"] is True and case["status"] == "assigned"
    listed = apis[DEVELOPER].get("/api/v1/warranty-cases", status="assigned", urgent="true").json()
    assert repair["id"] in [item["id"] for item in listed["items"]]

    # The urgent accept limit (test-short) passes: marked at both, once.
    late = wait_for(lambda: (lambda r: r if r["tasks"]["developer"]["overdue"] else None)(
        repair_at_property(apis, repair["id"])), "the property company to mark the developer late")
    assert late["tasks"]["developer"]["overdue_at"] is not None
    noticed = wait_for(lambda: (lambda c: c if c and c["overdue"] else None)(
        warranty_case(apis, repair["id"])), "the developer to hear it is late")
    assert noticed["overdue_limit"] == "accept"
    overdue = apis[PROPERTY].get("/api/v1/repairs", overdue="true", flat=flat_id(flat)).json()
    assert [item["id"] for item in overdue["items"]] == [repair["id"]]

    accepted = apis[DEVELOPER].post("/api/v1/warranty-cases/%s/accept" % repair["id"],
                                    {"note": "the builder comes tomorrow"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["overdue"] is False
    twice = apis[DEVELOPER].post("/api/v1/warranty-cases/%s/accept" % repair["id"], {})
    assert twice.status_code == 409, twice.text
    on_resolve = wait_for(lambda: (lambda r: r if r["status"] == "accepted" else None)(
        repair_at_property(apis, repair["id"])), "the property company to see it accepted")
    assert on_resolve["tasks"]["developer"]["due_kind"] == "resolve"
    assert on_resolve["tasks"]["developer"]["overdue"] is False

    resolved = apis[DEVELOPER].post("/api/v1/warranty-cases/%s/resolve" % repair["id"],
                                    {"note": "the roof membrane was replaced"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text
    done = wait_for(lambda: (lambda r: r if r["status"] == "resolved" else None)(
        repair_at_property(apis, repair["id"])), "the property company to see it resolved")
    assert done["resolution_note"] == "the roof membrane was replaced"
    assert done["resolved_by"] == "developer/developer-housing"
    # The property company does not resolve the developer's repair.
    own = apis[PROPERTY].post("/api/v1/repairs/%s/resolve" % repair["id"], {"note": "x"})
    assert own.status_code == 409, own.text


def test_the_same_leak_six_years_after_handover_stays_with_the_property_company_or_the_owner(
        apis, db):
    flat = handed_over_household(apis, years_ago(6))
    common = report_repair(apis, flat)
    assert common["responsible"] == "property_company" and common["status"] == "open"
    assert common["warranty"]["covered"] is False
    assert "ended on" in common["reason"] and "maintenance fund" in common["reason"]
    assert common["tasks"] == {}
    in_flat = report_repair(apis, flat, part="in_flat",
                            description="the bathroom floor leaks into the flat below")
    assert in_flat["responsible"] == "owner" and "owner" in in_flat["reason"]
    # Nothing goes to the developer.
    control = report_repair(apis, handed_over_household(apis, years_ago(1)))
    wait_for(lambda: warranty_case(apis, control["id"]), "the control's warranty case")
    for repair in (common, in_flat):
        assert apis[DEVELOPER].get("/api/v1/warranty-cases/%s" % repair["id"]).status_code == 404
    assert db(DEVELOPER)["warranty_cases"].count_documents({"flat.building": flat["building"]}) == 0
    # The property company closes its own work order.
    closed = apis[PROPERTY].post("/api/v1/repairs/%s/resolve" % common["id"],
                                 {"note": "roof resealed from the maintenance fund"})
    assert closed.status_code == 200 and closed.json()["status"] == "resolved", closed.text
    again = apis[PROPERTY].post("/api/v1/repairs/%s/resolve" % common["id"], {"note": "again"})
    assert again.status_code == 409
    listed = apis[PROPERTY].get("/api/v1/repairs", flat=flat_id(flat), responsible="owner").json()
    assert [item["id"] for item in listed["items"]] == [in_flat["id"]]


def test_an_appliance_is_never_the_developers_and_a_flat_not_handed_over_has_no_repairs(apis):
    flat = handed_over_household(apis, date.today())
    appliance = report_repair(apis, flat, category="appliance", part=None)
    assert appliance["part"] == "in_flat" and appliance["responsible"] == "owner"
    assert appliance["warranty"] is None and "not a warranty category" in appliance["reason"]
    unknown = apis[PROPERTY].post("/api/v1/repairs", {
        "flat": a_flat(), "category": "plumbing", "description": "a dripping pipe",
        "resident": {"name": "Wang Fang", "phone": "13912345678"}})
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["errors"][0]["field"] == "flat"


def test_a_repair_retried_with_its_idempotency_key_is_recorded_once(apis, db):
    flat = handed_over_household(apis, years_ago(1))
    body = {"flat": flat, "category": "plumbing", "description": "the kitchen drain leaks",
            "resident": {"name": "Wang Lei", "phone": "13700001234"}}
    key = {"Idempotency-Key": "repair-%s" % uuid.uuid4().hex}
    first = apis[PROPERTY].post("/api/v1/repairs", body, key)
    again = apis[PROPERTY].post("/api/v1/repairs", body, key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json() and first.json()["responsible"] == "developer"
    other = apis[PROPERTY].post("/api/v1/repairs", dict(body, description="another leak"), key)
    assert other.status_code == 409, other.text
    assert db(PROPERTY)["repairs"].count_documents({"flat.building": flat["building"]}) == 1
    wait_for(lambda: warranty_case(apis, first.json()["id"]), "the developer's case")
    assert db(DEVELOPER)["warranty_cases"].count_documents({"flat.building": flat["building"]}) == 1
