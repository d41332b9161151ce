"""The trace of a linkage or a case across the five parties, end to end
(services/neighborhood_committee/trace_desk.py, shared/trace.py,
shared/journal.py): the five services as processes, the committee asking
each party with `trace_requested` and waiting TRACE_TIMEOUT_SECONDS for its
part. A stopped party is shown unreachable and the trace still answers; a
dead-lettered event of the id shows, with its retries; the command line;
bad input, unknown ids and roles."""
import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shared import clock
from shared.catalogue import CATALOGUE
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY
from shared.retention import deidentified_name
from tests.support import Api, auth, publishing_connection, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

TIMEOUT = 3  # TRACE_TIMEOUT_SECONDS


@pytest.fixture(scope="module")
def system(mongo_client):
    # The police have 2 s to act, so a registration they leave is marked overdue.
    with System(TRACE_TIMEOUT_SECONDS=str(TIMEOUT), LIMIT_COMMUNITY_POLICE_SECONDS="2",
                OVERDUE_SCAN_SECONDS="1") as running:
        running.start()
        yield running
        running.stop()
        running.drop_databases(mongo_client)


@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-desk" % name) for name, url in system.urls.items()}


def register(apis, **fields):
    body = registration(**fields)
    response = apis[COMMITTEE].post("/api/v1/returnees", body)
    assert response.status_code == 201, response.text
    return response.json()["id"], body


def trace(apis, subject_id, **params):
    response = apis[COMMITTEE].get("/api/v1/trace/%s" % subject_id, **params)
    assert response.status_code == 200, response.text
    return response.json()


def trace_when(apis, subject_id, condition, what):
    """The trace once `condition` holds (a case reported at a party is
    unknown, 404, until the committee has filed it)."""
    def ready():
        response = apis[COMMITTEE].get("/api/v1/trace/%s" % subject_id)
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200 and condition(response.json()) and response.json()
    return wait_for(ready, what)


def event(trace_, event_type):
    return next((e for e in trace_["events"] if e["event_type"] == event_type), None)


def all_handled(trace_, event_types):
    for event_type in event_types:
        found = event(trace_, event_type)
        if found is None or found["published_at"] is None or not found["consumers"] or any(
                consumer["status"] != "handled" for consumer in found["consumers"]):
            return False
    return True


LINKAGE_EVENTS = ("returnee_registered", "non_local_returnee_registered", "returnee_housing_declared",
                  "identity_check_opened", "non_local_arrival_recorded", "gate_pass_held",
                  "housing_allocation_checked", "linkage_party_overdue")


def test_a_returnees_trace_shows_all_five_parties_in_order_and_who_holds_it(apis, system, mongo_client):
    returnee_id, body = register(apis, local_hukou=False, name="Zhou Min")
    found = trace_when(apis, returnee_id, lambda t: all_handled(t, LINKAGE_EVENTS) and any(
        "marked overdue" in step["action"] for step in t["timeline"]),
        "every party's part, the police marked overdue, every event handled")

    assert [part["party"] for part in found["parties"]] == list(ALL)
    assert all(part["status"] == "answered" for part in found["parties"]), found["parties"]
    assert found["kind"] == "returnee" and found["subject"]["flat"] == "3-2-301"
    # Who holds it: the police, since they opened the check, late.
    holding = found["holding"]
    assert holding["holder"] == POLICE and holding["status"] == "open"
    assert "decision" in holding["waiting_for"]
    police = holding["holders"][0]
    assert police["overdue"] and police["status"] == "pending" and police["since"]
    assert POLICE in holding["summary"] and "overdue" in holding["summary"]
    assert [h["party"] for h in holding["holders"]] == [POLICE, PROPERTY]  # the pass waits on them

    # The timeline runs oldest first and starts with the registration at the committee.
    times = [step["at"] for step in found["timeline"]]
    assert times == sorted(times)
    assert (found["timeline"][0]["party"], found["timeline"][0]["action"]) == (COMMITTEE, "registered")
    assert {step["party"] for step in found["timeline"]} == set(ALL)
    # Each party's own action, from its own record.
    actions = {(step["party"], step["action"]) for step in found["timeline"] if step["source"] == "action"}
    assert {(POLICE, "opened"), (POLICE, "told it is overdue"), (PROPERTY, "held"),
            (FLOATING, "recorded"), (DEVELOPER, "checked")} <= actions
    # Every event: its producer, when it was published, when each consumer handled it.
    registered = event(found, "returnee_registered")
    assert registered["producer"] == COMMITTEE
    assert [c["party"] for c in registered["consumers"]] == [POLICE]
    overdue = event(found, "linkage_party_overdue")
    assert [c["party"] for c in overdue["consumers"]] == list(LINKED)
    assert found["dead_letters"] == [] and found["retries"] == []

    # Need to know: the person is there as the committee's list shows them, and
    # the parties' answers (kept with the trace) hold nothing about them.
    text = json.dumps(found)
    assert body["id_number"] not in text and body["phone"] not in text
    assert text.count(body["name"]) == 1  # the subject's name, once
    stored = mongo_client[system.db_prefix + COMMITTEE]["traces"].find_one({"_id": found["trace_id"]})
    assert set(stored["parts"]) == set(LINKED)
    kept = json.dumps(stored, default=str)
    assert body["name"] not in kept and body["id_number"] not in kept and body["phone"] not in kept

    # Handed to another agency: the name shortened too.
    handed = trace(apis, returnee_id, **{"for": POLICE})
    assert handed["subject"]["name"] == deidentified_name(body["name"])
    assert body["name"] not in json.dumps(handed)


def test_a_stopped_party_is_unreachable_and_the_trace_still_answers(apis, system, mongo_client):
    returnee_id, _ = register(apis, local_hukou=True, name="Gao Lin")
    trace_when(apis, returnee_id, lambda t: all_handled(t, ("housing_allocation_checked",)),
               "the developer's check")
    system.stop(DEVELOPER)
    try:
        response = requests.get(system.url(COMMITTEE) + "/api/v1/trace/%s" % returnee_id,
                                headers=auth(COMMITTEE), timeout=TIMEOUT + 30)
        assert response.status_code == 200, response.text
        found = response.json()
        status = {part["party"]: part["status"] for part in found["parties"]}
        assert status == {COMMITTEE: "answered", POLICE: "answered", FLOATING: "answered",
                          PROPERTY: "answered", DEVELOPER: "unreachable"}
        assert found["waited_seconds"] >= TIMEOUT - 0.5  # it waited for the developer, no longer
        # What the others know of the developer's part still shows: its event, handled.
        checked = event(found, "housing_allocation_checked")
        assert checked["producer"] == DEVELOPER and checked["published_at"] is None
        assert [c["status"] for c in checked["consumers"]] == ["handled"]
        # An event the developer should handle shows it unreachable.
        declared = event(found, "returnee_housing_declared")
        assert {c["party"]: c["status"] for c in declared["consumers"]}[DEVELOPER] == "unreachable"
        # Traces waiting for a party hold a worker each: a fifth at once is told to come back.
        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(lambda _: requests.get(
                system.url(COMMITTEE) + "/api/v1/trace/%s" % returnee_id, headers=auth(COMMITTEE),
                timeout=TIMEOUT + 30), range(5)))
        assert sorted(answer.status_code for answer in answers) == [200, 200, 200, 200, 503]
        busy = next(answer for answer in answers if answer.status_code == 503)
        assert busy.headers["Retry-After"] == str(TIMEOUT + 1) and "try again" in busy.json()["detail"]
        metrics = requests.get(system.url(COMMITTEE) + "/metrics", timeout=15).text
        assert 'neighborhood_committee_trace_parties_unreachable_total{party="developer"} 5.0' in metrics
        assert 'neighborhood_committee_trace_parties_unreachable_total{party="community_police"} 0.0' in metrics
    finally:
        system.start(DEVELOPER)
    # Back, the developer finds the request past its answer_by and leaves it:
    # nobody waits for it any more.
    journal = mongo_client[system.db_prefix + DEVELOPER]["event_journal"]
    wait_for(lambda: journal.find_one({"correlation_id": found["trace_id"], "kind": "handled",
                                       "event_type": "trace_requested"}), "the stale request handled")
    assert mongo_client[system.db_prefix + DEVELOPER]["trace_answers"].find_one(
        {"_id": found["trace_id"]}) is None
    assert trace(apis, returnee_id)["parties"][-1]["status"] == "answered"


def test_a_cases_trace_shows_who_holds_it_at_each_step(apis):
    response = apis[PROPERTY].post("/api/v1/cases", {
        "category": "fire_lane_blocked", "description": "a van across the fire lane",
        "location": {"building": "7", "spot": "fire lane, north side"}, "source": "resident",
        "reporter": {"name": "Han Mei", "phone": "13800001111"}})
    assert response.status_code == 202, response.text
    case_id = response.json()["id"]
    dispatched = trace_when(apis, case_id, lambda t: t["kind"] == "case" and all_handled(
        t, ("case_reported", "case_dispatched")), "the case filed and dispatched")
    assert [part["party"] for part in dispatched["parties"]] == list(ALL)
    assert all(part["status"] == "answered" for part in dispatched["parties"])
    assert dispatched["subject"]["category"] == "fire_lane_blocked"
    assert dispatched["holding"]["holder"] == PROPERTY
    assert "accept" in dispatched["holding"]["waiting_for"]
    assert dispatched["holding"]["holders"][0]["due_kind"] == "accept"
    records = {r["record"] for r in dispatched["parties"][ALL.index(PROPERTY)]["records"]}
    assert records == {"case_reports", "case_assignments"}
    text = json.dumps(dispatched)
    assert "Han Mei" not in text and "13800001111" not in text

    assert apis[PROPERTY].post("/api/v1/cases/%s/accept" % case_id, {}).status_code == 200
    accepted = trace_when(apis, case_id, lambda t: "resolve" in (t["holding"]["waiting_for"] or ""),
                          "the acceptance at the committee")
    assert accepted["holding"]["holder"] == PROPERTY
    assert (PROPERTY, "accepted") in {(s["party"], s["action"]) for s in accepted["timeline"]}
    assert apis[PROPERTY].post("/api/v1/cases/%s/resolve" % case_id,
                               {"note": "van moved"}).status_code == 200
    resolved = trace_when(apis, case_id, lambda t: t["holding"]["holder"] == COMMITTEE,
                          "the resolution at the committee")
    assert "verify" in resolved["holding"]["waiting_for"]


def publish_correction_nobody_holds(system, returnee_id):
    """A correction addressed to the floating-population office for a local
    resident, whom it never registered: retried, then dead-lettered."""
    envelope = CATALOGUE.new_event("returnee_details_corrected", {
        "returnee_id": returnee_id, "party": FLOATING, "name": "Gao Lin-Corrected",
        "corrected_at": clock.utcnow()}, returnee_id)
    with publishing_connection(system.amqp_uri) as connection:
        connection.Producer(serializer="json").publish(
            envelope, exchange="%s.events" % COMMITTEE,
            routing_key="returnee_details_corrected.%s" % FLOATING)
    return envelope


def test_a_dead_lettered_event_of_the_id_shows_with_its_retries(apis, system):
    returnee_id, _ = register(apis, local_hukou=True, name="Qin Yu")
    envelope = publish_correction_nobody_holds(system, returnee_id)
    def dead_lettered(trace_):
        # the dead-letter queue holds it, and the party's journal (written in
        # batches, JOURNAL_FLUSH_SECONDS) has noted it
        corrected = event(trace_, "returnee_details_corrected")
        return any(row["event_id"] == envelope["event_id"] for row in trace_["dead_letters"]) and (
            corrected is not None and any(consumer["status"] == "dead_lettered"
                                          for consumer in corrected["consumers"]))
    found = trace_when(apis, returnee_id, dead_lettered,
                       "the correction dead-lettered at the floating-population office")
    row = next(row for row in found["dead_letters"] if row["event_id"] == envelope["event_id"])
    assert row["party"] == FLOATING and row["reason"] == "retries_exhausted"
    assert row["event_type"] == "returnee_details_corrected" and "LookupError" in row["error"]
    retries = [r for r in found["retries"] if r["event_id"] == envelope["event_id"]]
    assert [r["attempt"] for r in retries] == [1, 2, 3, 4] and {r["party"] for r in retries} == {FLOATING}
    # The test published it, not the committee's relay: the one party it was
    # addressed to shows, from that party's journal.
    consumer, = event(found, "returnee_details_corrected")["consumers"]
    assert consumer["party"] == FLOATING and consumer["status"] == "dead_lettered"
    assert consumer["attempts"] == 5
    assert "dead letter(s) of it, at %s" % FLOATING in found["holding"]["summary"]
    sources = {step["source"] for step in found["timeline"] if step.get("event_id") == envelope["event_id"]}
    assert sources == {"retry", "dead_letter"}


def linkage_cli(system, *args):
    command = [os.path.join(os.path.dirname(sys.executable), "linkage"), "trace", *args,
               "--url", system.url(COMMITTEE)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_command_line_prints_the_trace(apis, system):
    returnee_id, body = register(apis, local_hukou=False, name="Lu Jun")
    trace_when(apis, returnee_id, lambda t: all_handled(t, ("housing_allocation_checked",)),
               "the developer's check")
    printed = linkage_cli(system, returnee_id)
    assert printed.returncode == 0, printed.stderr
    lines = printed.stdout.splitlines()
    assert lines[0].startswith("returnee %s: %s" % (returnee_id, body["name"]))
    assert lines[1].startswith("now: %s holds it since" % POLICE)
    assert lines[3] == "parties: " + ", ".join("%s answered" % party for party in ALL)
    assert any(line.split()[1:] == [COMMITTEE, "registered", "(%s-desk)" % COMMITTEE]
               for line in lines if line.startswith("  "))
    as_json = linkage_cli(system, returnee_id, "--json", "--for", PROPERTY)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["subject"]["name"] == deidentified_name(body["name"])
    unknown = linkage_cli(system, str(uuid.uuid4()))
    assert unknown.returncode != 0 and "404" in unknown.stderr


def test_bad_input_unknown_ids_and_roles(apis, system):
    returnee_id, _ = register(apis, local_hukou=True, name="Xu Ping")
    base = system.url(COMMITTEE) + "/api/v1/trace/"
    unknown = requests.get(base + str(uuid.uuid4()), headers=auth(COMMITTEE), timeout=15)
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("no returnee or case")
    bad = requests.get(base + "not%20an%20id!", headers=auth(COMMITTEE), timeout=15)
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["id"]
    bad_for = requests.get(base + returnee_id, params={"for": "somebody"}, headers=auth(COMMITTEE),
                           timeout=15)
    assert bad_for.status_code == 422 and [e["field"] for e in bad_for.json()["errors"]] == ["for"]
    assert requests.get(base + returnee_id, timeout=15).status_code == 401
    assert requests.get(base + returnee_id, headers=auth(POLICE), timeout=15).status_code == 403
    auditor = requests.get(base + returnee_id, headers=auth(COMMITTEE, roles=["auditor"]), timeout=15)
    assert auditor.status_code == 403 and auditor.json()["missing_permission"] == "trace:read"
    for role in ("desk", "supervisor"):
        allowed = requests.get(base + returnee_id, headers=auth(COMMITTEE, roles=[role]), timeout=30)
        assert allowed.status_code == 200, allowed.text
