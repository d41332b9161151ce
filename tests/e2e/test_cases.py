"""Community cases end to end, through the HTTP APIs only, with the five
services as processes: any party reports, the committee files and
dispatches by its routing table, the assigned parties accept or return and
resolve, the committee verifies and closes, and the resident's call-back is
recorded and counted."""
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from tests.support import Api, wait_for
from tests.system import System

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-clerk" % name) for name, url in system.urls.items()}


def report(api, category, **overrides):
    body = {"category": category, "description": "%s seen on the morning round" % category,
            "location": {"building": "7", "unit": "2", "spot": "north stairwell"},
            "source": "walking_inspection"}
    body.update(overrides)
    response = api.post("/api/v1/cases", body)
    assert response.status_code in (201, 202), response.text
    return response.json()["id"]


def case(apis, case_id):
    response = apis[COMMITTEE].get("/api/v1/cases/%s" % case_id)
    return response.json() if response.status_code == 200 else None


def case_when(apis, case_id, condition, what):
    return wait_for(lambda: (lambda c: c if c and condition(c) else None)(case(apis, case_id)), what)


def assignment(api, case_id):
    """A party's own assignment of a case, as its desk lists it (the
    committee's GET /api/v1/cases/{id} answers with the whole case)."""
    response = api.get("/api/v1/cases", role="assigned", limit=500)
    assert response.status_code == 200, response.text
    return next((item for item in response.json()["items"] if item["id"] == case_id), None)


def assignment_when(api, case_id, condition, what):
    return wait_for(lambda: (lambda a: a if a and condition(a) else None)(assignment(api, case_id)),
                    what)


def act(api, case_id, action, body=None, status=200):
    response = api.post("/api/v1/cases/%s/%s" % (case_id, action), body if body is not None else {})
    assert response.status_code == status, response.text
    return response.json()


def work(api, case_id, note="done"):
    """A party accepts the case dispatched to it and resolves it."""
    assignment_when(api, case_id, lambda a: a["status"] in ("dispatched", "accepted"),
                    "the assignment to arrive")
    if assignment(api, case_id)["status"] == "dispatched":
        act(api, case_id, "accept")
    return act(api, case_id, "resolve", {"note": note})


def kpis(apis):
    today = date.today()
    response = apis[COMMITTEE].get("/api/v1/case-kpis", **{
        "from": (today - timedelta(days=1)).isoformat(), "to": (today + timedelta(days=1)).isoformat()})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_blocked_fire_lane_reported_by_the_property_company_is_closed_and_counted(apis):
    before = kpis(apis)["parties"][PROPERTY]
    case_id = report(apis[PROPERTY], "fire_lane_blocked",
                     reporter={"name": "Han Mei", "phone": "13800001111"})
    filed = case_when(apis, case_id, lambda c: c["status"] == "dispatched", "the case to be filed")
    assert filed["priority"] == "urgent"
    assert list(filed["assignments"]) == [PROPERTY]
    assert filed["reported_by"] == PROPERTY

    assignment = assignment_when(apis[PROPERTY], case_id, lambda a: True, "the assignment")
    assert assignment["reporter"] == {"name": "Han Mei", "phone": "13800001111"}
    assert assignment["priority"] == "urgent"
    act(apis[PROPERTY], case_id, "accept")
    act(apis[PROPERTY], case_id, "resolve", {"note": "car towed, lane clear, photos attached"})

    case_when(apis, case_id, lambda c: c["status"] == "resolved", "the committee to see it resolved")
    closed = act(apis[COMMITTEE], case_id, "verify", {"outcome": "confirmed", "note": "checked on site"})
    assert closed["status"] == "closed" and closed["closed_at"]
    rated = act(apis[COMMITTEE], case_id, "feedback",
                {"satisfaction": "satisfied", "resolved": True, "note": "thanks"})
    assert rated["feedback"][-1]["satisfaction"] == "satisfied"
    assert rated["status"] == "closed"
    actions = [entry["action"] for entry in rated["timeline"]]
    assert actions[:4] == ["reported", "dispatched", "accepted", "resolved"]

    after = kpis(apis)["parties"][PROPERTY]
    for name in ("dispatched", "accepted_on_time", "resolved_on_time", "rated", "satisfied"):
        assert after[name] == before[name] + 1, name
    assert after["response_rate"] is not None and after["satisfaction_rate"] is not None

    mine = wait_for(lambda: [item for item in apis[PROPERTY].get("/api/v1/cases", role="reported")
                             .json()["items"] if item["id"] == case_id and item["status"] == "closed"],
                    "the reporting party to see its case closed")
    assert mine[0]["has_reporter"] is True and "reporter" not in mine[0]


def test_a_dispute_with_a_safety_risk_closes_only_when_both_parties_resolved_and_it_is_confirmed(apis):
    case_id = report(apis[POLICE], "neighbour_dispute", safety_risk=True, source="patrol",
                     description="quarrel over e-bike charging, threats made")
    filed = case_when(apis, case_id, lambda c: c["status"] == "dispatched", "the case to be filed")
    assert set(filed["assignments"]) == {COMMITTEE, POLICE}
    assert filed["assignments"][COMMITTEE]["role"] == "owner"
    assert filed["priority"] == "urgent"

    work(apis[POLICE], case_id, "both parties warned")
    partly = case_when(apis, case_id, lambda c: c["assignments"][POLICE]["status"] == "resolved",
                       "the police part to be resolved")
    assert partly["status"] == "in_progress" or partly["status"] == "dispatched"
    early = apis[COMMITTEE].post("/api/v1/cases/%s/verify" % case_id,
                                 {"outcome": "confirmed", "note": "too early"})
    assert early.status_code == 409

    work(apis[COMMITTEE], case_id, "mediated: charging moved to the shed")
    case_when(apis, case_id, lambda c: c["status"] == "resolved", "both parts resolved")
    # The clerk who mediated cannot verify their own work.
    own = apis[COMMITTEE].post("/api/v1/cases/%s/verify" % case_id,
                               {"outcome": "confirmed", "note": "my own"})
    assert own.status_code == 409, own.text
    supervisor = Api(apis[COMMITTEE].base_url, COMMITTEE, user="supervisor-1")
    closed = act(supervisor, case_id, "verify", {"outcome": "confirmed", "note": "both sides agree"})
    assert closed["status"] == "closed"
    assert {task["status"] for task in closed["assignments"].values()} == {"resolved"}


def test_a_returned_case_is_dispatched_again_and_the_new_party_handles_it(apis):
    case_id = report(apis[COMMITTEE], "resettlement_housing",
                     description="lift lobby tiles loose since handover")
    assignment_when(apis[DEVELOPER], case_id, lambda a: True, "the developer's assignment")
    returned = act(apis[DEVELOPER], case_id, "return",
                   {"reason": "common-part repair after handover: the property company's"})
    assert returned["status"] == "returned"
    act(apis[DEVELOPER], case_id, "accept", status=409)  # returned is final for this round

    filed = case_when(apis, case_id, lambda c: c["status"] == "filed", "the case back at the committee")
    assert filed["returns"] == 1 and filed["escalated"] is False
    dispatched = act(apis[COMMITTEE], case_id, "dispatch",
                     {"to": [PROPERTY], "priority": "24h", "note": "common parts"})
    assert dispatched["assignments"][PROPERTY]["status"] == "dispatched"
    assert dispatched["assignments"][DEVELOPER]["status"] == "returned"

    work(apis[PROPERTY], case_id, "tiles re-laid")
    resolved = case_when(apis, case_id, lambda c: c["status"] == "resolved", "the new party to resolve it")
    assert resolved["assignments"][PROPERTY]["priority"] == "24h"


def test_a_second_return_escalates_the_case(apis):
    case_id = report(apis[COMMITTEE], "group_rental", description="ten people in a two-room flat")
    assignment_when(apis[FLOATING], case_id, lambda a: True, "the office's assignment")
    act(apis[FLOATING], case_id, "return", {"reason": "the flat is owner-occupied"})
    case_when(apis, case_id, lambda c: c["returns"] == 1, "the first return")
    act(apis[COMMITTEE], case_id, "dispatch", {"to": [FLOATING]})
    assignment_when(apis[FLOATING], case_id, lambda a: a["round"] == 2, "the second dispatch")
    act(apis[FLOATING], case_id, "return", {"reason": "still not a rental"})
    escalated = case_when(apis, case_id, lambda c: c["escalated"], "the escalation")
    assert [item["reason"] for item in escalated["escalations"]] == ["returned_twice"]
    listed = apis[COMMITTEE].get("/api/v1/cases", escalated="true").json()["items"]
    assert case_id in [item["id"] for item in listed]


def test_rework_after_verification_and_a_reopening_after_unsatisfied_feedback(apis):
    case_id = report(apis[PROPERTY], "water_leak", description="water through the ceiling of 502")
    work(apis[PROPERTY], case_id, "pipe joint sealed")
    case_when(apis, case_id, lambda c: c["status"] == "resolved", "resolved")
    rework = act(apis[COMMITTEE], case_id, "verify", {"outcome": "rework", "note": "still dripping"})
    assert rework["status"] == "in_progress" and rework["reworks"] == 1
    task = assignment_when(apis[PROPERTY], case_id, lambda a: a["round"] == 2, "the rework to arrive")
    assert task["status"] == "accepted" and task["rework"]["note"] == "still dripping"
    act(apis[PROPERTY], case_id, "resolve", {"note": "pipe replaced"})
    case_when(apis, case_id, lambda c: c["status"] == "resolved", "resolved again")
    act(apis[COMMITTEE], case_id, "verify", {"outcome": "confirmed", "note": "dry now"})

    reopened = act(apis[COMMITTEE], case_id, "feedback",
                   {"satisfaction": "unsatisfied", "resolved": False, "note": "leaks when it rains"})
    assert reopened["status"] == "in_progress" and reopened["closed_at"] is None
    assert reopened["reopened"] == 1 and reopened["escalated"] is True
    assert reopened["assignments"][PROPERTY]["counts"]["reworked"] == 2
    assignment_when(apis[PROPERTY], case_id, lambda a: a["round"] == 3 and a["status"] == "accepted",
                    "the reopened case back at the property company")
    act(apis[COMMITTEE], case_id, "feedback",
        {"satisfaction": "unsatisfied", "resolved": False}, status=409)  # not closed now


def test_a_retried_report_with_the_same_idempotency_key_files_one_case(apis):
    body = {"category": "garbage_overflow", "description": "sorting point 3 overflowing",
            "location": {"building": "12"}, "source": "resident"}
    headers = {"Idempotency-Key": "hotline-0042"}
    first = apis[FLOATING].post("/api/v1/cases", body, headers)
    again = apis[FLOATING].post("/api/v1/cases", body, headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = apis[FLOATING].post("/api/v1/cases", dict(body, description="another"), headers)
    assert other.status_code == 409
    case_when(apis, first.json()["id"], lambda c: c["status"] == "dispatched", "the case filed")
    filed = apis[COMMITTEE].get("/api/v1/cases", category="garbage_overflow", limit=500).json()["items"]
    assert [item["id"] for item in filed].count(first.json()["id"]) == 1


def test_the_routing_table_is_readable(apis):
    response = apis[COMMITTEE].get("/api/v1/case-categories")
    assert response.status_code == 200
    routes = {item["category"]: item for item in response.json()["items"]}
    assert routes["fire_lane_blocked"]["owner"] == PROPERTY
    assert routes["fire_lane_blocked"]["accept_within_seconds"] == 1800
    assert routes["unregistered_tenant"]["co_handlers"] == [POLICE]
    assert routes["neighbour_dispute"]["on_safety_risk"] == {"also": [POLICE], "priority": "urgent"}


def detection(camera="cam-7-lobby", kind="ebike_indoors", confidence=0.9, seconds_ago=5):
    return {"camera_id": camera, "kind": kind, "confidence": confidence,
            "location": {"building": "7", "spot": "lobby"},
            "detected_at": (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat(),
            "snapshot_ref": "nvr-7/2026/clip-0001.jpg"}


def test_a_hundred_identical_detections_make_one_case_and_a_faint_one_makes_none(apis):
    camera = "cam-burst-%s" % datetime.now().strftime("%H%M%S%f")
    faint = apis[PROPERTY].post("/api/v1/detections", detection(camera, confidence=0.3))
    assert faint.status_code == 201, faint.text
    assert faint.json()["reported"] is False and faint.json()["case_id"] is None

    def post(_):
        response = apis[PROPERTY].post("/api/v1/detections", detection(camera))
        assert response.status_code == 201, response.text
        return response.json()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(100)))
    case_ids = {result["case_id"] for result in results}
    assert len(case_ids) == 1
    assert sum(result["reported"] for result in results) == 1
    case_id = case_ids.pop()
    counted = case_when(apis, case_id, lambda c: c["detection"]["count"] == 100,
                        "the committee to count 100 detections")
    assert counted["category"] == "ebike_indoors" and counted["source"] == "camera"
    assert counted["priority"] == "urgent"
    assert apis[COMMITTEE].get("/api/v1/cases", category="ebike_indoors", limit=500).json()["total"] >= 1

    # Closed, the next detection from the same camera and kind reports a new case.
    work(apis[PROPERTY], case_id, "e-bike removed, owner warned")
    case_when(apis, case_id, lambda c: c["status"] == "resolved", "resolved")
    act(apis[COMMITTEE], case_id, "verify", {"outcome": "confirmed", "note": "lobby clear on camera"})
    wait_for(lambda: assignment(apis[PROPERTY], case_id)["case_status"] == "closed",
             "the property company to learn the case closed")
    fresh = apis[PROPERTY].post("/api/v1/detections", detection(camera, seconds_ago=1)).json()
    assert fresh["reported"] is True and fresh["case_id"] != case_id


def committee_metric(system, name):
    text = requests.get(system.url(COMMITTEE) + "/metrics", timeout=5).text
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
            if line.startswith(name)}


def test_a_party_idle_past_its_accept_limit_is_marked_overdue_once_and_told(mongo_client):
    with System(CASE_ACCEPT_SECONDS_URGENT=2, OVERDUE_SCAN_SECONDS=0.5) as system:
        system.start()
        try:
            apis = {name: Api(url, name) for name, url in system.urls.items()}
            case_id = report(apis[COMMITTEE], "security_risk", description="stranger trying doors")
            late = case_when(apis, case_id, lambda c: c["assignments"][POLICE]["overdue"],
                             "the committee to mark the police late")
            assert late["overdue"] == [POLICE]
            assert late["assignments"][POLICE]["due_kind"] == "accept"
            listed = apis[COMMITTEE].get("/api/v1/cases", overdue="true").json()["items"]
            assert [item["id"] for item in listed] == [case_id]
            told = assignment_when(apis[POLICE], case_id, lambda a: a["overdue"],
                                   "the police to be told")
            assert told["overdue_limit"] == "accept" and told["overdue_notified_at"]

            # Later scans do not mark the same limit again; accepting starts the resolve limit.
            wait_for(lambda: case(apis, case_id)["timeline"][-1]["action"] == "overdue: accept",
                     "the mark in the timeline")
            time.sleep(2)  # four more scans: a repeat mark would show by now
            marks = [entry for entry in case(apis, case_id)["timeline"] if entry["action"].startswith("overdue")]
            assert len(marks) == 1
            key = 'neighborhood_committee_cases_overdue_total{limit="accept",party="community_police"}'
            assert committee_metric(system, "neighborhood_committee_cases_overdue_total")[key] == 1
            act(apis[POLICE], case_id, "accept")
            accepted = case_when(apis, case_id, lambda c: c["assignments"][POLICE]["status"] == "accepted",
                                 "the acceptance")
            assert accepted["assignments"][POLICE]["overdue"] is False
            assert accepted["assignments"][POLICE]["counts"]["accepted_on_time"] == 0
            assert accepted["overdue"] == []
        finally:
            system.stop()
            system.drop_databases(mongo_client)
