"""A person's own record and retention, end to end (shared/people.py,
shared/retention.py, services/neighborhood_committee/exports.py).

The five services run with a retention of two minutes. A non-local
returnee is registered, read by a police officer, and their linkage closes.
The person's export then shows each party's record with its full identity,
why it is held and until when, and who read it; asking for it is audited.
Once retention has run out (the services restarted with their clocks set
past it), every party's stored record is de-identified,
and a new export shows exactly that, while the first export's copy of the
answers is gone."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import requests

from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY
from shared.personal import is_sealed
from shared.retention import deidentified_name, mask_phone
from shared.identity import mask_id
from tests.support import Api, registration, wait_for
from tests.system import System

pytestmark = pytest.mark.slow

RETENTION_DAYS = 120 / 86400  # two minutes
RECORDS = {COMMITTEE: "linkages", POLICE: "checks", FLOATING: "registrations",
           PROPERTY: "gate_passes", DEVELOPER: "housing_checks"}


@pytest.fixture(scope="module")
def system(mongo_client):
    with System(PERSONAL_DATA_RETENTION_DAYS=str(RETENTION_DAYS), RETENTION_SCAN_SECONDS="2") as running:
        running.start()
        yield running
        running.stop()
        running.drop_databases(mongo_client)


@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-supervisor" % name) for name, url in system.urls.items()}


@pytest.fixture(scope="module")
def person(apis):
    """A non-local returnee whose linkage closed, read once by an officer."""
    body = registration(local_hukou=False, name="Liu Yang-Export")
    response = apis[COMMITTEE].post("/api/v1/returnees", body)
    assert response.status_code == 201, response.text
    body["returnee_id"] = returnee_id = response.json()["id"]
    officer = Api(apis[POLICE].base_url, POLICE, user="officer-wang")
    wait_for(lambda: officer.get("/api/v1/checks/%s" % returnee_id).status_code == 200, "the check")
    decision = officer.post("/api/v1/checks/%s/decision" % returnee_id,
                            {"outcome": "cleared", "note": "identity verified"})
    assert decision.status_code == 200, decision.text
    wait_for(lambda: apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id).json()["status"]
             == "closed", "the linkage to close")
    return body


def export_of(apis, id_number):
    response = apis[COMMITTEE].post("/api/v1/people/exports",
                                    {"id_number": id_number, "reason": "the person asked at the desk"})
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == "/api/v1/people/exports/%s" % response.json()["id"]
    return wait_for(lambda: (lambda e: e if e["status"] == "complete" else None)(
        apis[COMMITTEE].get(response.headers["Location"]).json()), "every party's answer")


def records_by_party(export):
    found = {}
    for part in export["parties"]:
        assert part["status"] == "answered", part
        for record in part["records"]:
            assert record["party"] == part["party"]
            found.setdefault(part["party"], []).append(record)
    return found


def stored(mongo_client, system, service, returnee_id):
    return mongo_client[system.db_prefix + service][RECORDS[service]].find_one({"_id": returnee_id})


def test_an_export_shows_each_partys_record_why_until_when_and_who_read_it(apis, person, system,
                                                                        mongo_client):
    export = export_of(apis, person["id_number"].lower())
    # the parties' answers are kept as one ciphertext of the committee's
    raw = mongo_client[system.db_prefix + COMMITTEE]["person_exports"].find_one({"_id": export["id"]})
    assert is_sealed(raw["parts"]) and person["id_number"] not in json.dumps(raw, default=str)
    assert export["returnee_ids"] == [person["returnee_id"]]
    assert export["id_masked"] == mask_id(person["id_number"])
    assert [part["party"] for part in export["parties"]] == [COMMITTEE] + list(LINKED)
    records = records_by_party(export)
    assert {party: [r["record"] for r in found] for party, found in records.items()} == {
        party: [RECORDS[party]] for party in ALL}
    for party, (record,) in records.items():
        assert record["id"] == person["returnee_id"] and record["purpose"], record
        assert record["since"] and record["finished_at"] and record["deidentified_at"] is None
        kept = datetime.fromisoformat(record["identity_kept_until"])
        finished = datetime.fromisoformat(record["finished_at"])
        assert kept - finished == timedelta(days=RETENTION_DAYS), record
        assert record["data"]["name"] == person["name"], record
        assert "outbox" not in record["data"] and "applied_events" not in record["data"]
    for party in (COMMITTEE, POLICE, FLOATING):  # these three hold the full identity
        data = records[party][0]["data"]
        assert (data["id_number"], data["phone"]) == (person["id_number"], person["phone"]), party
    for party in (PROPERTY, DEVELOPER):  # these never got more than the masked ID
        assert records[party][0]["data"]["id_masked"] == mask_id(person["id_number"])
        assert person["id_number"] not in json.dumps(records[party])
    # Who read it: the officer who opened the check, at the police.
    (police_part,) = [part for part in export["parties"] if part["party"] == POLICE]
    assert any(read["user"] == "officer-wang" and read["via"] == "GET /api/v1/checks/{id}"
               for read in police_part["reads"]), police_part["reads"]


def test_asking_for_an_export_and_reading_it_are_audited(apis, person):
    export_of(apis, person["id_number"])
    reads = apis[COMMITTEE].get("/api/v1/audit", returnee_id=person["returnee_id"]).json()["items"]
    vias = {(read["user"], read["via"]) for read in reads}
    assert ("%s-supervisor" % COMMITTEE, "POST /api/v1/people/exports") in vias
    assert ("%s-supervisor" % COMMITTEE, "GET /api/v1/people/exports/{id}") in vias
    # The police handed the full identity to the committee's supervisor: audited there too.
    police_reads = apis[POLICE].get("/api/v1/audit", returnee_id=person["returnee_id"]).json()["items"]
    assert any(read["via"] == "person_export_requested"
               and read["user"] == "%s/%s-supervisor" % (COMMITTEE, COMMITTEE)
               for read in police_reads), police_reads


def test_an_export_is_refused_without_the_permission_and_for_a_bad_id_number(apis, system):
    desk = Api(apis[COMMITTEE].base_url, COMMITTEE, user="desk-1", roles=["desk"])
    assert desk.post("/api/v1/people/exports", {"id_number": "11010519491231002X",
                                                "reason": "x"}).status_code == 403
    refused = apis[COMMITTEE].post("/api/v1/people/exports", {"id_number": "110105194912310021",
                                                              "reason": "asked"})
    assert refused.status_code == 422 and "id_number" in refused.text
    assert apis[COMMITTEE].get("/api/v1/people/exports/no-such-export").status_code == 404


def test_a_person_with_nothing_held_gets_a_complete_empty_export(apis):
    body = registration()
    export = export_of(apis, body["id_number"])
    assert export["returnee_ids"] == []
    assert [part["party"] for part in export["parties"]] == [COMMITTEE]
    assert export["parties"][0]["records"] == []


def test_an_export_with_the_phone_includes_the_cases_the_person_reported(apis, person):
    reporter = {"name": person["name"], "phone": person["phone"]}
    reported = apis[POLICE].post("/api/v1/cases", {
        "category": "fire_lane_blocked", "description": "a van across the fire lane",
        "location": {"building": "9", "spot": "north fire lane"}, "source": "resident",
        "reporter": reporter})
    assert reported.status_code == 202, reported.text
    case_id = reported.json()["id"]
    wait_for(lambda: apis[PROPERTY].get("/api/v1/cases/%s" % case_id).status_code == 200,
             "the case's dispatch to the property company")
    without = export_of(apis, person["id_number"])
    assert without["case_ids"] == []
    response = apis[COMMITTEE].post("/api/v1/people/exports", {
        "id_number": person["id_number"], "phone": person["phone"], "reason": "asked, with cases"})
    assert response.status_code == 202, response.text
    export = wait_for(lambda: (lambda e: e if e["status"] == "complete" else None)(
        apis[COMMITTEE].get(response.headers["Location"]).json()), "every party's answer")
    assert export["case_ids"] == [case_id]
    cases = {(record["party"], record["record"]): record for part in export["parties"]
             for record in part["records"] if record["id"] == case_id}
    assert set(cases) == {(COMMITTEE, "cases"), (PROPERTY, "case_assignments")}, set(cases)
    for record in cases.values():
        assert record["data"]["reporter"] == reporter and record["purpose"]
        assert record["finished_at"] is None and record["identity_kept_until"] is None  # still open
    bad = apis[COMMITTEE].post("/api/v1/people/exports", {
        "id_number": person["id_number"], "phone": "12345", "reason": "x"})
    assert bad.status_code == 422 and "phone" in bad.text


def test_past_retention_every_party_holds_the_person_de_identified(apis, person, system, mongo_client):
    first = export_of(apis, person["id_number"])
    returnee_id = person["returnee_id"]
    # Time runs on past the retention: the five services restart with their
    # clocks a minute past it (shared/clock.py), rather than the test waiting.
    system.settings["CLOCK_OFFSET_SECONDS"] = str(RETENTION_DAYS * 86400 + 60)
    system.stop()
    system.start()
    wait_for(lambda: all((stored(mongo_client, system, service, returnee_id) or {}).get("deidentified_at")
                         for service in ALL), "every party to de-identify its record", timeout=60)
    short = deidentified_name(person["name"])
    for service in ALL:
        document = stored(mongo_client, system, service, returnee_id)
        text = json.dumps(document, default=str, ensure_ascii=False)
        assert person["name"] not in text and person["id_number"] not in text, service
        assert person["phone"] not in text and "enc:v1:" not in text, service
        assert document["name"] == short, service
    for service in ALL:  # each pass reports what it did
        metrics = requests.get(system.url(service) + "/metrics", timeout=10).text
        line = '%s_deidentified_documents_total{collection="%s"}' % (service, RECORDS[service])
        assert any(row.startswith(line) and float(row.split()[-1]) >= 1 for row in metrics.splitlines()), \
            (service, [row for row in metrics.splitlines() if "deidentified" in row])
    committee = stored(mongo_client, system, COMMITTEE, returnee_id)
    assert committee["id_number"] == mask_id(person["id_number"])
    assert committee["phone"] == mask_phone(person["phone"])

    again = export_of(apis, person["id_number"])  # still found: by the kept blind index
    assert again["returnee_ids"] == [returnee_id]
    for party, (record,) in records_by_party(again).items():
        assert record["deidentified_at"] and record["identity_kept_until"] is None, record
        assert record["data"]["name"] == short
        assert person["id_number"] not in json.dumps(record) and person["phone"] not in json.dumps(record)

    # The first export's copy of the answers goes too, its request stays.
    copy = wait_for(lambda: (lambda e: e if e.get("deidentified_at") else None)(
        apis[COMMITTEE].get("/api/v1/people/exports/%s" % first["id"]).json()),
        "the first export's copy to go", timeout=60)
    assert copy["parties"] == [] and copy["reason"] == "the person asked at the desk"
    raw = mongo_client[system.db_prefix + COMMITTEE]["person_exports"].find_one({"_id": first["id"]})
    assert "parts" not in raw


def test_the_command_line_exports_as_the_api_does(apis, person, system):
    """`linkage person export`: written at the committee with its request in
    the outbox (the running committee's relay sends it), then waited for."""
    linkage = os.path.join(os.path.dirname(sys.executable), "linkage")
    env = dict(system.env(COMMITTEE), EVENTLET_NO_GREENDNS="yes")
    result = subprocess.run([linkage, "person", "export", "-", "--reason", "asked by letter",
                             "--by", "ops-li", "--wait", "90"], input=person["id_number"] + "\n",
                            env=env, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr
    export = json.loads(result.stdout)
    assert export["status"] == "complete" and export["requested_by"] == "ops-li"
    assert [part["party"] for part in export["parties"]] == [COMMITTEE] + list(LINKED)
    assert all(part["records"] for part in export["parties"]), export
    reads = apis[COMMITTEE].get("/api/v1/audit", returnee_id=person["returnee_id"]).json()["items"]
    assert any(read["user"] == "ops-li" and read["via"] == "linkage person export" for read in reads)
    refused = subprocess.run([linkage, "person", "export", "110105194912310021", "--reason", "x",
                              "--by", "ops-li"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "id_number" in refused.stderr
