"""The committee's case rules, on plain dicts with a clock the test sets."""
from datetime import datetime, timedelta, timezone

import pytest

from services.neighborhood_committee import cases
from services.neighborhood_committee import routing
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
TABLE = routing.load({})


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def report(category, safety_risk=False, **extra):
    body = {"category": category, "description": "seen", "location": {"building": "7"},
            "source": "patrol", "reporter": None, "safety_risk": safety_risk}
    body.update(extra)
    return body


def filed(category, safety_risk=False, reported_by=POLICE):
    case, messages = cases.new_case("c1", report(category, safety_risk), reported_by, "officer-7",
                                    T0, TABLE)
    return case, messages


def event(party, round_=1, minutes=1, **extra):
    payload = {"case_id": "c1", "party": party, "round": round_, "at": at(minutes), "by": "%s-u" % party}
    payload.update(extra)
    return payload


def kinds(messages):
    return [(kind, payload["party"]) for kind, payload in messages]


def test_a_report_is_routed_by_category_and_the_reporter_told():
    case, messages = filed("fire_lane_blocked")
    assert case["priority"] == "urgent" and case["status"] == "dispatched"
    assert kinds(messages) == [("case_dispatched", PROPERTY), ("case_status_changed", POLICE),
                               ("case_status_changed", PROPERTY)]
    task = case["assignments"][PROPERTY]
    assert task["accept_due"] == at(30) and task["resolve_due"] == at(120)
    assert case["next_due_at"] == at(30)


def test_a_dispute_with_a_safety_risk_also_goes_to_the_police_at_urgent():
    case, _ = filed("neighbour_dispute", safety_risk=True)
    assert list(case["assignments"]) == [COMMITTEE, POLICE]
    assert case["assignments"][COMMITTEE]["role"] == "owner"
    assert case["priority"] == "urgent"
    calm, _ = filed("neighbour_dispute")
    assert list(calm["assignments"]) == [COMMITTEE] and calm["priority"] == "normal"


def test_a_tenant_case_has_the_police_as_co_handler():
    case, _ = filed("unregistered_tenant")
    assert {p: t["role"] for p, t in case["assignments"].items()} == {
        FLOATING: "owner", POLICE: "co_handler"}


def test_a_resolution_that_overtakes_its_acceptance_counts_both_and_the_late_accept_is_stale():
    case, _ = filed("fire_lane_blocked")
    messages = cases.record_resolved(case, event(PROPERTY, minutes=50, note="moved",
                                                 accepted_at=at(10)), at(50))
    task = case["assignments"][PROPERTY]
    assert task["status"] == "resolved" and task["accepted_at"] == at(10)
    assert task["counts"]["accepted_on_time"] == 1 and task["counts"]["resolved_on_time"] == 1
    assert case["status"] == "resolved" and messages
    assert cases.record_accepted(case, event(PROPERTY, minutes=10), at(51)) is None


def test_an_event_of_an_earlier_round_changes_nothing():
    case, _ = filed("group_rental")
    cases.record_returned(case, event(FLOATING, reason="not a rental"), at(2))
    cases.dispatch(case, [FLOATING, POLICE], at(3), TABLE, by="clerk")
    assert case["assignments"][FLOATING]["round"] == 2
    assert cases.record_accepted(case, event(FLOATING, round_=1, minutes=4), at(4)) is None
    assert cases.record_accepted(case, event(FLOATING, round_=2, minutes=4), at(4)) is not None


def test_a_return_puts_the_case_back_for_dispatch_and_a_second_return_escalates():
    case, _ = filed("resettlement_housing")
    cases.record_returned(case, event(DEVELOPER, reason="common parts"), at(5))
    assert case["status"] == "filed" and case["next_due_at"] is None and not case["escalated"]
    cases.dispatch(case, [DEVELOPER], at(6), TABLE, by="clerk")
    cases.record_returned(case, event(DEVELOPER, round_=2, minutes=7, reason="still not ours"), at(7))
    assert case["escalated"] and case["escalations"][0]["reason"] == "returned_twice"


def test_dispatching_by_hand_withdraws_a_party_no_longer_named():
    case, _ = filed("water_leak")
    messages = cases.dispatch(case, [DEVELOPER], at(5), TABLE, by="supervisor")
    assert ("case_withdrawn", PROPERTY) in kinds(messages)
    assert ("case_dispatched", DEVELOPER) in kinds(messages)
    assert case["assignments"][PROPERTY]["status"] == "withdrawn"
    assert case["assignments"][DEVELOPER]["role"] == "owner"


def test_each_limit_is_marked_once_and_accepting_starts_the_resolve_limit():
    case, _ = filed("security_risk")
    assert kinds(cases.mark_due(case, at(29))) == []
    assert [p for k, p in kinds(cases.mark_due(case, at(31))) if k == "case_overdue"] == [POLICE]
    assert cases.mark_due(case, at(32)) == []
    assert case["next_due_at"] == at(240)  # only the escalation at twice the resolve limit is left
    cases.record_accepted(case, event(POLICE, minutes=40), at(40))
    task = case["assignments"][POLICE]
    assert task["overdue"] is False and task["due_kind"] == "resolve" and task["due_at"] == at(120)
    marks = cases.mark_due(case, at(121))
    assert [payload["limit"] for kind, payload in marks if kind == "case_overdue"] == ["resolve"]
    assert task["counts"]["overdue_accept"] == task["counts"]["overdue_resolve"] == 1


def test_a_case_held_past_twice_its_resolve_limit_is_escalated_once():
    case, _ = filed("security_risk")
    cases.mark_due(case, at(239))
    assert not case["escalated"]
    cases.mark_due(case, at(241))
    cases.mark_due(case, at(300))
    assert [item["reason"] for item in case["escalations"]] == ["past_twice_limit"]


def resolved_case():
    case, _ = filed("neighbour_dispute", safety_risk=True)
    for party in (COMMITTEE, POLICE):
        cases.record_resolved(case, event(party, minutes=20, note="done", accepted_at=at(10)), at(20))
    return case


def test_only_a_resolved_case_is_verified_and_not_by_its_own_handler():
    case, _ = filed("noise")
    with pytest.raises(cases.Rejected):
        cases.verify(case, "confirmed", "ok", "supervisor", at(30), TABLE)
    case = resolved_case()
    with pytest.raises(cases.Rejected, match="someone else"):
        cases.verify(case, "confirmed", "ok", "%s-u" % COMMITTEE, at(30), TABLE)
    cases.verify(case, "confirmed", "ok", "supervisor", at(30), TABLE)
    assert case["status"] == "closed" and case["closed_at"] == at(30) and case["next_due_at"] is None


def test_rework_sends_the_case_back_with_a_fresh_resolve_limit_and_a_new_round():
    case = resolved_case()
    messages = cases.verify(case, "rework", "not both sides heard", "supervisor", at(30), TABLE)
    assert sorted(p for k, p in kinds(messages) if k == "case_rework_requested") == sorted([COMMITTEE, POLICE])
    task = case["assignments"][POLICE]
    assert task["round"] == 2 and task["status"] == "accepted" and task["due_at"] == at(150)
    assert case["status"] == "in_progress" and case["reworks"] == 2


def test_unsatisfied_and_unresolved_feedback_within_seven_days_reopens_the_case():
    case = resolved_case()
    cases.verify(case, "confirmed", "ok", "supervisor", at(30), TABLE)
    with pytest.raises(cases.Rejected):
        cases.verify(case, "confirmed", "again", "supervisor", at(31), TABLE)
    cases.feedback(case, {"satisfaction": "unsatisfied", "resolved": False, "note": "still noisy"},
                   "clerk", at(60), TABLE, reopen_days=7)
    assert case["status"] == "in_progress" and case["reopened"] == 1 and case["escalated"]
    assert case["closed_at"] is None


def test_late_or_satisfied_feedback_does_not_reopen_and_one_call_back_per_closure():
    case = resolved_case()
    cases.verify(case, "confirmed", "ok", "supervisor", at(30), TABLE)
    cases.feedback(case, {"satisfaction": "unsatisfied", "resolved": False}, "clerk",
                   at(30) + timedelta(days=8), TABLE, reopen_days=7)
    assert case["status"] == "closed" and case["reopened"] == 0
    with pytest.raises(cases.Rejected, match="recorded"):
        cases.feedback(case, {"satisfaction": "satisfied", "resolved": True}, "clerk", at(31),
                       TABLE, reopen_days=7)


def test_kpis_use_the_12345_formulas():
    on_time, late = filed("fire_lane_blocked")[0], filed("fire_lane_blocked")[0]
    cases.record_resolved(on_time, event(PROPERTY, minutes=60, note="ok", accepted_at=at(10)), at(60))
    cases.record_resolved(late, event(PROPERTY, minutes=200, note="ok", accepted_at=at(45)), at(200))
    for case, satisfaction in ((on_time, "satisfied"), (late, "unsatisfied")):
        cases.verify(case, "confirmed", "ok", "supervisor", at(210), TABLE)
        cases.feedback(case, {"satisfaction": satisfaction, "resolved": True}, "clerk", at(220),
                       TABLE, reopen_days=7)
    returned = filed("fire_lane_blocked")[0]
    cases.record_returned(returned, event(PROPERTY, reason="not ours"), at(5))
    row = cases.kpis([on_time, late, returned], (PROPERTY,))["parties"][PROPERTY]
    assert (row["dispatched"], row["accepted_on_time"], row["resolved"], row["resolved_on_time"],
            row["returned"], row["rated"], row["satisfied"]) == (3, 1, 2, 1, 1, 2, 1)
    assert row["response_rate"] == round(1 / 3, 4)
    assert row["on_time_resolution_rate"] == 0.5
    assert row["return_rate"] == round(1 / 3, 4)
    assert row["satisfaction_rate"] == 0.5


def test_a_routing_file_replaces_entries_and_bad_ones_stop_the_start(tmp_path):
    path = tmp_path / "routing.json"
    path.write_text('{"illegal_parking": {"owner": "community_police", "priority": "24h"}}')
    table = routing.load({"CASE_ROUTING_FILE": str(path), "CASE_ACCEPT_SECONDS_URGENT": "60"})
    assert table.route("illegal_parking").owner == POLICE
    assert table.route("fire_lane_blocked").owner == PROPERTY
    assert table.limits["urgent"] == (60.0, 7200.0)
    path.write_text('{"parking": {"owner": "community_police", "priority": "24h"}}')
    with pytest.raises(routing.RoutingError, match="unknown category 'parking'"):
        routing.load({"CASE_ROUTING_FILE": str(path)})
    path.write_text('{"noise": {"owner": "the_mayor", "priority": "24h"}}')
    with pytest.raises(routing.RoutingError, match="not a party"):
        routing.load({"CASE_ROUTING_FILE": str(path)})
    with pytest.raises(routing.RoutingError, match="positive"):
        routing.load({"CASE_RESOLVE_SECONDS_NORMAL": "0"})
