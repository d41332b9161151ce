"""The trace's plain parts: who holds a linkage or a case, the events put
together from the parties' journals, and a record as a party shows it
(services/neighborhood_committee/trace.py, shared/trace.py)."""
from datetime import date, datetime, timedelta, timezone

from services.neighborhood_committee import trace as tracing
from services.neighborhood_committee.domain import apply_party_update, new_linkage
from shared import joint
from shared.catalogue import CATALOGUE
from shared.retention import deidentified_name
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY
from shared.trace import record_part

NOW = datetime(2026, 11, 30, 8, tzinfo=timezone.utc)
LIMITS = {POLICE: 4 * 3600, PROPERTY: 4 * 3600, FLOATING: 24 * 3600, DEVELOPER: 24 * 3600}
KIND = {kind.name: kind for kind in tracing.KINDS}


def linkage(local_hukou=False):
    document = new_linkage("r1", {"name": "Wang Fang", "id_number": "420106198805173215",
                                  "phone": "13912345678", "address": {"building": "7", "unit": "1",
                                                                      "room": "502"},
                                  "origin": "Wuhan", "arrival_date": date(2026, 11, 22),
                                  "local_hukou": local_hukou, "registered_by": "desk-1"},
                           NOW, LIMITS, "k", "h")
    return document


def act(document, party, status, done, at):
    for key, value in apply_party_update(document, party, status, done, at).items():
        target = document
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value


def test_a_new_linkage_is_held_by_every_party_the_police_first_by_their_limit():
    holding = tracing.holding_of(KIND["returnee"], linkage(), [], NOW)
    assert holding["status"] == "open"
    # Equal limits: the police and the property company; then the 24 h ones.
    assert [h["party"] for h in holding["holders"]] == [POLICE, PROPERTY, FLOATING, DEVELOPER]
    assert holding["since"] == NOW and "open the identity" in holding["waiting_for"]


def test_a_held_pass_waits_on_the_police_and_an_overdue_party_comes_first():
    document = linkage(local_hukou=True)
    later = NOW + timedelta(minutes=5)
    act(document, PROPERTY, "held", False, later)
    act(document, DEVELOPER, "matched", True, later)
    act(document, POLICE, "pending", False, later + timedelta(minutes=1))
    holding = tracing.holding_of(KIND["returnee"], document, [], NOW + timedelta(hours=1))
    assert [h["party"] for h in holding["holders"]] == [POLICE, PROPERTY]
    assert holding["holders"][1]["waits_on"] == POLICE
    assert holding["since"] == later + timedelta(minutes=1)
    assert "decision" in holding["waiting_for"] and "overdue" not in holding["summary"]

    joint.mark(document["parties"][PROPERTY], NOW + timedelta(hours=5))
    late = tracing.holding_of(KIND["returnee"], document, [], NOW + timedelta(hours=5))
    # Both are past the limit; the police's own decision is what is awaited.
    assert late["holder"] == POLICE and late["summary"].endswith(", overdue")


def test_a_closed_linkage_has_no_holder_and_dead_letters_are_named():
    document = linkage(local_hukou=True)
    for party, status in ((POLICE, "cleared"), (PROPERTY, "issued"), (DEVELOPER, "matched")):
        act(document, party, status, True, NOW + timedelta(minutes=1))
    assert document["status"] == "closed"
    holding = tracing.holding_of(KIND["returnee"], document, [{"party": FLOATING}], NOW)
    assert holding["holder"] is None and holding["holders"] == []
    assert holding["summary"].startswith("closed at") and "; 1 dead letter(s) of it, at %s" % FLOATING in holding["summary"]


def case(status, assignments):
    return {"_id": "c1", "status": status, "assignments": assignments, "filed_at": NOW,
            "closed_at": None, "timeline": []}


def task(status, **fields):
    base = joint.new_task(NOW, 1800, due_kind="accept", status=status)
    base.update(dispatched_at=NOW, accepted_at=None, resolved_at=None, returned_at=None)
    base.update(fields)
    return base


def test_who_holds_a_case_at_each_step():
    kind = KIND["case"]
    dispatched = case("dispatched", {PROPERTY: task("dispatched")})
    assert [(h["party"], "accept" in h["waiting_for"]) for h in kind.holders(dispatched)] == [(PROPERTY, True)]
    accepted = case("in_progress", {PROPERTY: task("accepted", accepted_at=NOW + timedelta(minutes=3))})
    holder, = kind.holders(accepted)
    assert "resolve" in holder["waiting_for"] and holder["since"] == NOW + timedelta(minutes=3)
    resolved = case("resolved", {PROPERTY: task("resolved", resolved_at=NOW + timedelta(hours=1))})
    holder, = kind.holders(resolved)
    assert holder["party"] == COMMITTEE and "verify" in holder["waiting_for"]
    returned = case("filed", {POLICE: task("returned", returned_at=NOW + timedelta(minutes=9))})
    holder, = kind.holders(returned)
    assert holder["party"] == COMMITTEE and "again" in holder["waiting_for"]
    assert kind.holders(case("closed", {})) == []


def note(kind, event_id, event_type, producer, at, **fields):
    return dict({"event_id": event_id, "event_type": event_type, "producer": producer, "kind": kind,
                 "at": NOW + timedelta(milliseconds=at), "occurred_at": "2026-11-30T08:00:00Z",
                 "attempt": None, "error": None, "reason": None, "routing_key": None}, **fields)


def test_events_put_together_from_each_partys_journal():
    parts = {
        COMMITTEE: {"notes": [note("published", "e1", "returnee_housing_declared", COMMITTEE, 5,
                                   routing_key="returnee_housing_declared")]},
        PROPERTY: {"notes": [note("handled", "e1", "returnee_housing_declared", COMMITTEE, 9, attempt=1)]},
        POLICE: {"notes": []}, FLOATING: {"notes": []},
        DEVELOPER: None,  # did not answer
    }
    event, = tracing.events_of(parts)
    assert event["published_at"] == NOW + timedelta(milliseconds=5)
    assert [(c["party"], c["status"]) for c in event["consumers"]] == [
        (PROPERTY, "handled"), (DEVELOPER, "unreachable")]


def test_an_addressed_event_expects_only_the_party_it_was_routed_to():
    assert tracing.consumers_of("case_dispatched", "case_dispatched.community_police") == [POLICE]
    assert tracing.consumers_of("case_dispatched", None) == []
    assert tracing.consumers_of("linkage_party_overdue", "linkage_party_overdue") == list(LINKED)
    assert tracing.consumers_of("no_such_event", None) == []


def test_retries_then_a_dead_letter_make_one_consumers_story():
    notes = [note("retried", "e2", "returnee_details_corrected", COMMITTEE, 10 * attempt,
                  attempt=attempt, error="LookupError: no record") for attempt in (1, 2)]
    notes.append(note("dead_lettered", "e2", "returnee_details_corrected", COMMITTEE, 40, attempt=3,
                      error="LookupError: no record", reason="retries_exhausted"))
    event, = tracing.events_of({FLOATING: {"notes": notes}})
    consumer, = event["consumers"]
    assert (consumer["status"], consumer["attempts"], len(consumer["retries"])) == ("dead_lettered", 3, 2)
    steps = tracing.timeline_of(KIND["returnee"], linkage(), {FLOATING: {"notes": notes, "records": []}},
                                [event])
    assert [s["source"] for s in steps] == ["action", "retry", "retry", "dead_letter"]
    assert steps[1]["detail"] == "attempt 1 failed: LookupError: no record"


def test_assemble_lists_the_five_parties_in_order_even_unreachable_ones():
    parts = {party: {"notes": [], "records": [], "dead_letters": [], "dead_letters_read": True}
             for party in ALL}
    parts[DEVELOPER] = None
    trace = tracing.assemble(KIND["returnee"], linkage(), parts, {}, NOW)
    assert [(p["party"], p["status"]) for p in trace["parties"]] == [
        (party, "unreachable" if party == DEVELOPER else "answered") for party in ALL]
    assert trace["subject"] == {"name": "Wang Fang", "id_masked": "420106********3215",
                                "flat": "7-1-502", "status": "open", "opened_at": "2026-11-30T08:00:00Z",
                                "closed_at": None}
    handed = tracing.for_agency(trace)["subject"]
    assert handed["name"] == deidentified_name("Wang Fang") != "Wang Fang"
    assert handed["id_masked"] == "420106********3215"


def test_a_record_shows_its_state_limits_and_actions_and_nothing_about_the_person():
    check = {"_id": "r1", "name": "Wang Fang", "id_number": "420106198805173215",
             "phone": "13912345678", "address": {"building": "7"}, "note": "seen at the gate",
             "status": "cleared", "opened_at": NOW, "decided_at": NOW + timedelta(hours=1),
             "decided_by": "officer-7", "overdue": True, "overdue_notified_at": NOW + timedelta(hours=4),
             "due_at": NOW + timedelta(hours=4), "registered_at": NOW, "version": 3}
    part = record_part("checks", check)
    assert part == {"record": "checks", "status": "cleared", "overdue": True,
                    "due_at": NOW + timedelta(hours=4),
                    "actions": [{"at": NOW, "action": "opened", "by": None},
                                {"at": NOW + timedelta(hours=1), "action": "decided", "by": "officer-7"},
                                {"at": NOW + timedelta(hours=4), "action": "told it is overdue",
                                 "by": None}]}
    # And the event's schema takes it as it is.
    schema = CATALOGUE.spec("trace_part_provided").schema()
    assert schema.validate(schema.dump({
        "trace_id": "t", "party": POLICE, "subject_id": "r1", "answered_at": NOW, "records": [part],
        "notes": [], "dead_letters": [], "dead_letters_read": True})) == {}



def test_the_trace_timeout_is_a_setting_above_zero():
    from shared.settings import Settings
    assert Settings.from_config(COMMITTEE, {}).trace_timeout_seconds == 5.0
    assert Settings.from_config(COMMITTEE, {"TRACE_TIMEOUT_SECONDS": "2.5"}).trace_timeout_seconds == 2.5
    for bad in ("0", "-1"):
        try:
            Settings.from_config(COMMITTEE, {"TRACE_TIMEOUT_SECONDS": bad})
        except ValueError as exc:
            assert "TRACE_TIMEOUT_SECONDS" in str(exc)
        else:
            raise AssertionError("TRACE_TIMEOUT_SECONDS=%s was taken" % bad)
