"""Tenancies in the daily briefing, end to end: the five services as
processes on a clock set ahead (CLOCK_OFFSET_SECONDS) to shortly before
08:00 in Shanghai, so the tenancy registered now is in the 24 hours the
08:00 briefing counts, and the briefing is made by the committee's timer
during the test (a day's briefing cannot be made before it is due).

A tenancy with two tenants is registered at the floating-population
office; the police clear one and never act on the other (a 3 s limit). The
briefing counts the tenants in its intake, the police's row counts
received 2 / done 1, the other tenant is listed late at the police (named
by name, masked ID and flat), and no full ID number or phone is in it."""
import json
from datetime import datetime, time as clock_time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.neighborhood_committee.briefing import identities_in
from shared.identity import mask_id
from shared.parties import COMMITTEE, FLOATING, POLICE, PROPERTY
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")
DAY = (datetime.now(ZONE) + timedelta(days=4)).date()
DUE = datetime.combine(DAY, clock_time(8, 0), ZONE)
START_AT = DUE - timedelta(seconds=35)  # start and the morning take about 15 s here
FLAT = {"building": "52", "unit": "1", "room": "702"}
FLAT_ID = "52-1-702"


def tenant(name, local_hukou):
    person = registration(local_hukou=local_hukou, name=name)
    return {key: person[key] for key in ("name", "id_number", "phone", "local_hukou")}


def items(response):
    assert response.status_code == 200, response.text
    return response.json()["items"]


def committee_tenants(apis):
    return {item["name"]: item for item in items(apis[COMMITTEE].get("/api/v1/tenants", flat=FLAT_ID))}


@pytest.fixture(scope="module")
def morning(mongo_client):
    offset = (START_AT - datetime.now(timezone.utc)).total_seconds()
    with System(CLOCK_OFFSET_SECONDS=offset, BRIEFING_SCAN_SECONDS=1,
                LIMIT_COMMUNITY_POLICE_SECONDS=3, OVERDUE_SCAN_SECONDS=0.5) as system:
        system.start()
        apis = {name: Api(url, name, user="%s-clerk" % name) for name, url in system.urls.items()}
        try:
            yield script(apis, offset)
        finally:
            system.stop()
            system.drop_databases(mongo_client)


def script(apis, offset):
    chen, liu = tenant("Chen Jing", local_hukou=False), tenant("Liu Yang", local_hukou=True)
    registered = apis[FLOATING].post("/api/v1/tenancies", {
        "flat": FLAT, "landlord": "Zhou Ming", "rooms": 2,
        "start_date": (DUE.astimezone(timezone.utc) - timedelta(days=1)).date().isoformat(),
        "tenants": [chen, liu]})
    assert registered.status_code == 201, registered.text
    tenancy = registered.json()
    ids = {item["name"]: item["id"] for item in tenancy["tenants"]}
    assert datetime.fromisoformat(tenancy["registered_at"]) < DUE, "registered after 08:00: too slow a start"

    wait_for(lambda: apis[POLICE].get("/api/v1/checks/%s" % ids["Chen Jing"]).status_code == 200,
             "the police's check of Chen Jing")
    decided = apis[POLICE].post("/api/v1/checks/%s/decision" % ids["Chen Jing"],
                                {"outcome": "cleared", "note": "identity verified at the flat"})
    assert decided.status_code == 200, decided.text

    def seen():
        found = committee_tenants(apis)
        if len(found) < 2:
            return None
        cleared, waiting = found["Chen Jing"]["parties"], found["Liu Yang"]["parties"]
        ready = (cleared[POLICE]["done"] and cleared[PROPERTY]["done"]
                 and all(item["local_hukou"] is not None for item in found.values())
                 and waiting[POLICE]["status"] == "pending" and waiting[POLICE]["overdue"])
        return found if ready else None
    found = wait_for(seen, "the committee to see the hukou and the police and the property company act")
    now = datetime.now(timezone.utc) + timedelta(seconds=offset)
    assert now < DUE, "the morning ran past 08:00: the briefing may have been made before it"
    return {"apis": apis, "ids": ids, "tenants": [chen, liu], "seen": found}


@pytest.fixture(scope="module")
def briefing(morning):
    committee = morning["apis"][COMMITTEE]

    def made():
        response = committee.get("/api/v1/briefings/%s" % DAY.isoformat())
        return response.json() if response.status_code == 200 else None
    return wait_for(made, "the 08:00 briefing", timeout=90)


def test_the_committee_keeps_each_tenants_tasks_with_the_offices_limits(morning):
    seen = morning["seen"]
    assert seen["Chen Jing"]["parties"][POLICE]["status"] == "cleared"
    assert seen["Chen Jing"]["parties"][PROPERTY]["status"] == "issued"
    assert seen["Liu Yang"]["parties"][PROPERTY]["status"] == "held"
    assert seen["Chen Jing"]["local_hukou"] is False and seen["Liu Yang"]["local_hukou"] is True
    assert seen["Chen Jing"]["id_masked"] == mask_id(morning["tenants"][0]["id_number"])


def test_the_briefing_counts_the_tenancy_and_the_police_row(morning, briefing):
    assert briefing["intake"]["tenancies"] == {"total": 2, "by_category": {"local": 1, "non_local": 1}}
    police = briefing["parties"][POLICE]
    assert police["by_source"]["tenancies"]["received"] == 2
    assert police["by_source"]["tenancies"]["done"] == 1
    assert briefing["parties"][PROPERTY]["by_source"]["tenancies"]["done"] == 1


def test_the_tenant_the_police_never_checked_is_late_at_the_police(morning, briefing):
    late = [item for item in briefing["parties"][POLICE]["overdue"] if item["source"] == "tenancies"]
    assert [(item["id"], item["name"], item["flat"]) for item in late] == [
        (morning["ids"]["Liu Yang"], "Liu Yang", FLAT_ID)]
    assert late[0]["id_masked"] == mask_id(morning["tenants"][1]["id_number"])
    red = [(item["kind"], item["party"], item["name"]) for item in briefing["red"]
           if item["source"] == "tenancies"]
    assert red == [("overdue", POLICE, "Liu Yang")]
    # Waiting minutes, not a day: not in "pending for more than 24 hours".
    assert [item for item in briefing["pending"] if item["source"] == "tenancies"] == []


def test_the_monthly_report_counts_the_tenants_and_lists_the_marked_late_one(morning, briefing):
    report = morning["apis"][COMMITTEE].get("/api/v1/reports/monthly/%s" % DAY.strftime("%Y-%m"))
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["intake"]["tenancies"] == 2
    escalated = [(item["party"], item["name"]) for item in body["escalated_open"]
                 if item["source"] == "tenancies"]
    assert escalated == [(POLICE, "Liu Yang")]
    assert identities_in(body) == []


def test_no_full_id_number_or_phone_in_the_briefing_or_its_print_view(morning, briefing):
    assert identities_in(briefing) == []
    printed = morning["apis"][COMMITTEE].get("/api/v1/briefings/%s/print" % DAY.isoformat())
    assert printed.status_code == 200
    text = json.dumps(briefing) + printed.text
    for person in morning["tenants"]:
        assert person["id_number"] not in text and person["phone"] not in text
    assert "Liu Yang" in printed.text
