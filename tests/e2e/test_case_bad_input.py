"""Every community-case endpoint against bad input, through HTTP as a front
end would send it: 401 (no, bad or expired token), 403 (another agency's
token), 400 (malformed JSON), 415 (not JSON), 413 (too big), 422 naming every
bad field, 404 (unknown cases, and cases a party is not on), 405 and 409
(invalid transitions, a reused Idempotency-Key, acting on a case one sees but
is not assigned to). A rejected request writes nothing: no
report, assignment, case, detection or camera watch, and no event that makes
the committee file a case or another party change one.

Every rejected request carries TAG (in a description, a note, a camera id);
the last test checks that no document of any party holds it."""
import json
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
import requests

from shared.cases.model import CAMERA_KINDS, CATEGORIES, PRIORITIES
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from tests.e2e.test_bad_input import (  # noqa: F401 (apis and db are fixtures)
    BAD_CREDENTIALS, MALFORMED, MAX_BODY_BYTES, NOT_A_CURSOR, apis, assert_problem, db,
    endpoint_id, error_fields, padded, walk)
from tests.e2e.grouped import check_each
from tests.support import auth, wait_for

pytestmark = pytest.mark.slow

TAG = "rejected-%s" % uuid.uuid4().hex[:12]
OTHERS = [party for party in ALL if party != COMMITTEE]
ACTIVE = ("dispatched", "accepted", "resolved")
ACTIONS = ("accept", "return", "resolve")

CASE = "/api/v1/cases/{case}"
PARTY_ENDPOINTS = [("POST", "/api/v1/cases"), ("GET", "/api/v1/cases"), ("GET", CASE),
                   ("POST", CASE + "/accept"), ("POST", CASE + "/return"),
                   ("POST", CASE + "/resolve")]
COMMITTEE_ENDPOINTS = [("POST", CASE + "/dispatch"), ("POST", CASE + "/verify"),
                       ("POST", CASE + "/feedback"), ("GET", "/api/v1/case-categories"),
                       ("GET", "/api/v1/case-kpis?from=2025-01-01&to=2025-12-31")]
# (service, method, path): every case endpoint; `{case}` is a case dispatched
# to all five parties that nobody has acted on, so a request that got through
# would change it.
ENDPOINTS = ([(service, method, path) for service in ALL for method, path in PARTY_ENDPOINTS]
             + [(COMMITTEE, method, path) for method, path in COMMITTEE_ENDPOINTS]
             + [(PROPERTY, method, "/api/v1/detections") for method in ("POST", "GET")])
POST_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint[1] == "POST"]

# Where a request could leave something behind, per service.
COLLECTIONS = {service: ["case_reports", "case_assignments"] for service in ALL}
COLLECTIONS[COMMITTEE].append("cases")
COLLECTIONS[PROPERTY] += ["detections", "camera_watches"]
RELAY_FIELDS = {"outbox": 0, "outbox_due": 0}  # the relay empties these; not a write
CHECKED = []  # the requests checked to have written nothing


# --- bodies ------------------------------------------------------------------

def hours_from_now(hours):
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat()


def report(text=TAG, **changes):
    body = {"category": "other", "description": "%s: bikes piled in the stairwell" % text,
            "location": {"building": "5", "unit": "2", "spot": text},
            "source": "walking_inspection", "safety_risk": False,
            "reporter": {"name": "Li Na", "phone": "13912345678"}}
    body.update(changes)
    return body


def detection(camera_id=TAG, **changes):
    body = {"camera_id": camera_id, "kind": "ebike_indoors",
            "location": {"building": "5", "unit": "2", "spot": "lobby"},
            "detected_at": hours_from_now(-1), "confidence": 0.95,
            "snapshot_ref": "snapshots/%s.jpg" % camera_id}
    body.update(changes)
    return body


REJECTABLE_BODIES = {
    "/api/v1/cases": report,
    CASE + "/accept": lambda: {"note": TAG},
    CASE + "/return": lambda: {"reason": TAG},
    CASE + "/resolve": lambda: {"note": TAG},
    CASE + "/dispatch": lambda: {"to": [POLICE], "priority": "urgent", "note": TAG},
    CASE + "/verify": lambda: {"outcome": "confirmed", "note": TAG},
    CASE + "/feedback": lambda: {"satisfaction": "unsatisfied", "resolved": False, "note": TAG},
    "/api/v1/detections": detection,
}


def body_for(path):
    """A body the endpoint would accept (carrying TAG), so only the thing
    under test is wrong."""
    make = REJECTABLE_BODIES.get(path)
    return make() if make else None


# --- what was written --------------------------------------------------------

def snapshot(db):
    return {"%s.%s/%s" % (service, name, document["_id"]): document
            for service, names in COLLECTIONS.items() for name in names
            for document in db(service)[name].find({}, RELAY_FIELDS)}


@contextmanager
def nothing_written(db):
    before = snapshot(db)
    yield
    after = snapshot(db)
    assert sorted(key for key in before.keys() | after.keys()
                  if before.get(key) != after.get(key)) == []
    CHECKED.append(True)


def named(problem):
    """The fields a 422 names, each once (a field may fail for two reasons)."""
    return sorted(set(error_fields(problem)))


def reason_for(problem, field):
    return next(error["reason"] for error in problem["errors"] if error["field"] == field)


def settled(db, case_id):
    """The case once every event about it has been published and applied:
    each party's assignment agrees with the committee, and so does the report
    of the party that reported it."""
    case = db(COMMITTEE)["cases"].find_one({"_id": case_id})
    if case is None or case.get("outbox"):
        return None
    for party, task in case["assignments"].items():
        mine = db(party)["case_assignments"].find_one({"_id": case_id})
        if mine is None or mine.get("outbox") or (mine["round"], mine["status"]) != (
                task["round"], task["status"]):
            return None
        if task["status"] in ACTIVE and mine["case_status"] != case["status"]:
            return None
        # A party dispatched as the case was filed, or working on it when its
        # status moved on, was told the status: that news may come after
        # the dispatch, which already says "dispatched".
        told = case["status"] != "dispatched" or task["dispatched_at"] == case["filed_at"]
        if task["status"] in ACTIVE and told and mine["case_status_at"] is None:
            return None
    if case["reported_by"] != COMMITTEE:
        reported = db(case["reported_by"])["case_reports"].find_one({"_id": case_id})
        if reported is None or reported.get("outbox") or reported["status"] != case["status"]:
            return None
    return case


def settle(db, case_id):
    # 60 s: a machine busy with other work can take more than 30 to settle one.
    return wait_for(lambda: settled(db, case_id), "case %s to settle" % case_id, timeout=60)


# --- cases in every state ----------------------------------------------------

def file_case(apis, db, category):
    response = apis[COMMITTEE].post("/api/v1/cases", report("valid %s" % category,
                                                            category=category))
    assert response.status_code == 201, response.text
    return settle(db, response.json()["id"])["_id"]


def act(apis, db, service, case_id, action, body=None):
    response = apis[service].post("/api/v1/cases/%s/%s" % (case_id, action), body)
    assert response.status_code == 200, response.text
    return settle(db, case_id)


@pytest.fixture(scope="module")
def cases(apis, db):
    """Case ids by state: `pending` and `accepted` are dispatched to all five
    parties (nobody acted / everybody accepted); `resolved`, `closed` and
    `rated` are the police's alone (resolved / verified / called back);
    `property_only` is dispatched to the property company alone."""
    found = {}
    for state in ("pending", "accepted"):
        found[state] = file_case(apis, db, "other")
        case = act(apis, db, COMMITTEE, found[state], "dispatch", {"to": list(ALL)})
        assert sorted(case["assignments"]) == sorted(ALL)
    for party in ALL:
        act(apis, db, party, found["accepted"], "accept")
    steps = [(POLICE, "accept", None), (POLICE, "resolve", {"note": "nobody found on patrol"}),
             (COMMITTEE, "verify", {"outcome": "confirmed", "note": "checked on site"}),
             (COMMITTEE, "feedback", {"satisfaction": "satisfied", "resolved": True})]
    for state, step_count in (("resolved", 2), ("closed", 3), ("rated", 4)):
        found[state] = file_case(apis, db, "security_risk")
        for service, action, body in steps[:step_count]:
            act(apis, db, service, found[state], action, body)
    found["property_only"] = file_case(apis, db, "elevator_fault")
    assert list(settle(db, found["property_only"])["assignments"]) == [PROPERTY]
    assert settle(db, found["closed"])["status"] == "closed"
    return found


@pytest.fixture(scope="module")
def keyed(apis, db):
    """service -> (Idempotency-Key, case id) of a report each party made with a key."""
    found = {}
    for service in ALL:
        key = "desk-%s" % uuid.uuid4().hex
        response = apis[service].post("/api/v1/cases", report("valid keyed report"),
                                      {"Idempotency-Key": key})
        assert response.status_code in (201, 202), response.text
        found[service] = (key, settle(db, response.json()["id"])["_id"])
    return found


def send(system, service, method, path, case_id, headers=None, body=None, **kwargs):
    return requests.request(method, system.url(service) + path.format(case=case_id),
                            headers=headers or {}, json=body, timeout=15, **kwargs)


def post_raw(system, service, path, case_id, raw, content_type="application/json"):
    headers = auth(service)
    if content_type:
        headers["Content-Type"] = content_type
    return requests.post(system.url(service) + path.format(case=case_id), data=raw,
                         headers=headers, timeout=15)


def test_the_write_check_sees_a_write(apis, db):
    """The check every test below relies on notices a request that wrote
    (a detection below the threshold: kept, nothing reported)."""
    with pytest.raises(AssertionError, match="property_company.detections/"):
        with nothing_written(db):
            response = apis[PROPERTY].post("/api/v1/detections", detection(
                "valid-dim-camera", confidence=0.1))
            assert response.status_code == 201 and not response.json()["reported"], response.text


@pytest.mark.parametrize("kind", ["update", "delete"])
def test_the_write_check_sees_an_update_and_a_delete(db, kind):
    """The other kinds of write, made here directly (no endpoint deletes): a
    document of the check's collections changed in a field the platform does
    not keep (no new `version`), or deleted."""
    reports = db(POLICE)["case_reports"]
    scratch = {"_id": "scratch-%s" % uuid.uuid4().hex, "version": 1, "note": "before"}
    reports.insert_one(scratch)
    try:
        with pytest.raises(AssertionError, match="community_police.case_reports/scratch-"):
            with nothing_written(db):
                if kind == "update":
                    reports.update_one({"_id": scratch["_id"]}, {"$set": {"note": "after"}})
                else:
                    reports.delete_one({"_id": scratch["_id"]})
    finally:
        reports.delete_one({"_id": scratch["_id"]})


def test_a_group_under_one_write_check_fails_naming_the_request_that_wrote(apis, db):
    """The control for the tests that send several bodies under one check
    (tests/e2e/grouped.py): a refused detection, then one that writes (below
    the threshold: kept), then another refused one."""
    bodies = {"refused: confidence 1.5": detection(confidence=1.5),
              "kept: a dim detection": detection("valid-dim-group-camera", confidence=0.1),
              "refused: no camera": detection(camera_id=" ")}

    def sent(name):
        response = apis[PROPERTY].post("/api/v1/detections", bodies[name])
        assert response.status_code == (201 if name.startswith("kept") else 422), response.text
    with pytest.raises(AssertionError) as failed:
        check_each(bodies, sent, lambda: nothing_written(db))
    message = str(failed.value)
    assert "the group wrote: " in message and "property_company.detections/" in message
    assert "kept: a dim detection, sent alone, wrote: " in message
    assert "refused: confidence 1.5, sent alone" not in message
    assert "refused: no camera, sent alone" not in message


# --- 401 and 403 ---------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_a_request_without_a_valid_token_is_401_and_writes_nothing(system, db, cases, endpoint):
    """Each of BAD_CREDENTIALS in turn, under one write check (tests/e2e/grouped.py)."""
    service, method, path = endpoint

    def refused(credentials):
        response = send(system, service, method, path, cases["pending"],
                        headers=BAD_CREDENTIALS[credentials](service), body=body_for(path))
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    check_each(sorted(BAD_CREDENTIALS), refused, lambda: nothing_written(db))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_another_agencys_token_is_403_and_writes_nothing(system, db, cases, endpoint):
    service, method, path = endpoint
    with nothing_written(db):
        for other in ALL:
            if other != service:
                response = send(system, service, method, path, cases["pending"],
                                headers=auth(other), body=body_for(path))
                assert other in assert_problem(response, 403)["detail"]


# --- 400, 415, 413, and a body that is not an object ----------------------------

def malformed_for(path):
    """MALFORMED's bodies, but an empty one to an accept, which is an accept, not a 400."""
    return [name for name in sorted(MALFORMED)
            if not (path.endswith("/accept") and name == "empty")]


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_malformed_json_is_400_and_writes_nothing(system, db, cases, endpoint):
    """Each of MALFORMED in turn, under one write check."""
    service, _, path = endpoint

    def refused(malformed):
        assert_problem(post_raw(system, service, path, cases["pending"], MALFORMED[malformed]), 400)
    check_each(malformed_for(path), refused, lambda: nothing_written(db))


NOT_JSON_TYPES = ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_body_that_is_not_json_is_415_and_writes_nothing(system, db, cases, endpoint):
    """Each of NOT_JSON_TYPES (None: no Content-Type) in turn, under one write check."""
    service, _, path = endpoint
    raw = json.dumps(body_for(path)).encode()

    def refused(content_type):
        assert_problem(post_raw(system, service, path, cases["pending"], raw, content_type), 415)
    check_each(NOT_JSON_TYPES, refused, lambda: nothing_written(db))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_a_body_over_the_limit_is_413_and_writes_nothing(system, db, cases, endpoint):
    service, method, path = endpoint
    raw = padded(body_for(path) or {}, MAX_BODY_BYTES + 1)
    with nothing_written(db):
        response = send(system, service, method, path, cases["pending"], data=raw,
                        headers=dict(auth(service), **{"Content-Type": "application/json"}))
        assert_problem(response, 413)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_chunked_body_over_the_limit_is_413_and_writes_nothing(system, db, cases, endpoint):
    service, _, path = endpoint
    raw = padded(body_for(path), 4 * MAX_BODY_BYTES)
    chunks = (raw[i:i + 8192] for i in range(0, len(raw), 8192))
    with nothing_written(db):
        response = send(system, service, "POST", path, cases["pending"], data=chunks,
                        headers=dict(auth(service), **{"Content-Type": "application/json"}))
        assert_problem(response, 413)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_body_that_is_not_an_object_is_422(system, db, cases, endpoint):
    """Each body in turn, under one write check."""
    service, _, path = endpoint

    def refused(body):
        response = post_raw(system, service, path, cases["pending"], json.dumps(body).encode())
        assert error_fields(assert_problem(response, 422)) == ["_body"]
    check_each([[], [TAG], TAG, 42, None], refused, lambda: nothing_written(db), name=repr)


# --- 422 on bodies --------------------------------------------------------------

def _with(**changes):
    return lambda body: dict(body, **changes)


def _without(*keys):
    return lambda body: {k: v for k, v in body.items() if k not in keys}


def _in(field, **changes):
    """A change inside the nested object `field` (a None value removes the key)."""
    def spoil(body):
        nested = dict(body[field], **changes)
        return dict(body, **{field: {k: v for k, v in nested.items() if v is not None}})
    return spoil


BAD_REPORTS = {
    "unknown category": (_with(category="stray_cats"), ["category"]),
    "category upper-case": (_with(category="NOISE"), ["category"]),
    "no category": (_without("category"), ["category"]),
    "description over 2000": (_with(description=TAG + "d" * 2000), ["description"]),
    "description blank": (_with(description=" \n "), ["description"]),
    "description a list": (_with(description=[TAG]), ["description"]),
    "no description": (_without("description"), ["description"]),
    "location without building": (_in("location", building=None), ["location.building"]),
    "location building blank": (_in("location", building="  "), ["location.building"]),
    "location spot over 100": (_in("location", spot=TAG + "s" * 100), ["location.spot"]),
    "location unknown field": (_in("location", floor="3"), ["location.floor"]),
    "location a string": (_with(location="5-2 " + TAG), ["location"]),
    "no location": (_without("location"), ["location"]),
    "reporter phone 10 digits": (_in("reporter", phone="1391234567"), ["reporter.phone"]),
    "reporter phone landline": (_in("reporter", phone="02787654321"), ["reporter.phone"]),
    "reporter phone a number": (_in("reporter", phone=13912345678), ["reporter.phone"]),
    "reporter without name": (_in("reporter", name=None), ["reporter.name"]),
    "reporter unknown field": (_in("reporter", id_number="420106198805173215"),
                               ["reporter.id_number"]),
    "safety_risk a string": (_with(safety_risk="yes"), ["safety_risk"]),
    "safety_risk a number": (_with(safety_risk=1), ["safety_risk"]),
    "safety_risk null": (_with(safety_risk=None), ["safety_risk"]),
    "bad source": (_with(source="wechat_group"), ["source"]),
    "no source": (_without("source"), ["source"]),
    "unknown field": (_with(priority="urgent"), ["priority"]),
    "everything": (lambda body: dict(_in("location", building=None)(body), category="stray_cats",
                                     description="d" * 2001, source="rumour", safety_risk="no",
                                     reporter={"name": TAG, "phone": "123"}),
                   ["category", "description", "location.building", "reporter.phone",
                    "safety_risk", "source"]),
    "nothing": (lambda body: {}, ["category", "description", "location", "source"]),
}


@pytest.mark.parametrize("case", sorted(BAD_REPORTS))
def test_a_bad_report_is_422_naming_every_bad_field(apis, db, case):
    """To each party in turn, under one write check."""
    spoil, fields = BAD_REPORTS[case]

    def refused(service):
        problem = assert_problem(apis[service].post("/api/v1/cases", spoil(report())), 422)
        assert named(problem) == fields
        for field in fields:
            assert field in problem["detail"]
    check_each(ALL, refused, lambda: nothing_written(db))


@pytest.mark.parametrize("service", ALL)
def test_a_bad_idempotency_key_is_named_with_the_bad_report_fields(apis, db, service):
    with nothing_written(db):
        problem = assert_problem(apis[service].post(
            "/api/v1/cases", report(source="rumour"), {"Idempotency-Key": "k" * 129}), 422)
    assert named(problem) == ["Idempotency-Key", "source"]


# (service, path, body, field, the values its reason must list)
UNKNOWN_VALUES = [(service, "/api/v1/cases", report(category="stray_cats"), "category",
                   CATEGORIES) for service in ALL] + [
    (COMMITTEE, CASE + "/dispatch", {"to": [POLICE], "priority": "asap", "note": TAG},
     "priority", PRIORITIES),
    (PROPERTY, "/api/v1/detections", detection(kind="smoke"), "kind", CAMERA_KINDS)]


@pytest.mark.parametrize("service,path,body,field,known", UNKNOWN_VALUES,
                         ids=["%s-%s" % (v[0], v[3]) for v in UNKNOWN_VALUES])
def test_an_unknown_value_is_422_listing_the_known_ones(system, db, cases, service, path, body,
                                                        field, known):
    with nothing_written(db):
        response = send(system, service, "POST", path, cases["pending"], headers=auth(service),
                        body=body)
        problem = assert_problem(response, 422)
    assert error_fields(problem) == [field]
    reason = reason_for(problem, field)
    assert [value for value in known if value not in reason] == [], reason


# (action, what is wrong): (body, bad fields)
BAD_ACTIONS = {
    ("accept", "note blank"): ({"note": "  "}, ["note"]),
    ("accept", "note over 1000"): ({"note": TAG + "n" * 1000}, ["note"]),
    ("accept", "note a number"): ({"note": 7}, ["note"]),
    ("accept", "unknown field"): ({"note": TAG, "eta": "tomorrow"}, ["eta"]),
    ("return", "no reason"): ({"note": TAG}, ["note", "reason"]),
    ("return", "reason blank"): ({"reason": ""}, ["reason"]),
    ("return", "reason over 1000"): ({"reason": TAG + "r" * 1000}, ["reason"]),
    ("return", "reason a list"): ({"reason": [TAG]}, ["reason"]),
    ("resolve", "nothing"): ({}, ["note"]),
    ("resolve", "note null"): ({"note": None}, ["note"]),
    ("resolve", "note over 2000"): ({"note": TAG + "n" * 2000}, ["note"]),
}


@pytest.mark.parametrize("action,case", sorted(BAD_ACTIONS),
                         ids=["-".join(key) for key in sorted(BAD_ACTIONS)])
def test_a_bad_action_is_422_naming_every_bad_field(apis, db, cases, action, case):
    """By each party in turn, under one write check, on a case the party could
    act on: a body that got through would write."""
    body, fields = BAD_ACTIONS[action, case]
    case_id = cases["accepted" if action == "resolve" else "pending"]

    def refused(service):
        problem = assert_problem(apis[service].post(
            "/api/v1/cases/%s/%s" % (case_id, action), body), 422)
        assert named(problem) == fields
    check_each(ALL, refused, lambda: nothing_written(db))


# (committee decision, what is wrong): (body, bad fields, the case it is sent
# to: one where the decision without the fault would be taken)
BAD_DECISIONS = {
    ("dispatch", "unknown party"): ({"to": ["fire_brigade"], "note": TAG}, ["to.0"], "pending"),
    ("dispatch", "same party twice"): ({"to": [POLICE, PROPERTY, POLICE], "note": TAG}, ["to"],
                                       "pending"),
    ("dispatch", "nobody"): ({"to": [], "note": TAG}, ["to"], "pending"),
    ("dispatch", "one party as a string"): ({"to": POLICE, "note": TAG}, ["to"], "pending"),
    ("dispatch", "no one named"): ({"note": TAG}, ["to"], "pending"),
    ("dispatch", "unknown priority"): ({"to": [POLICE], "priority": "asap", "note": TAG},
                                       ["priority"], "pending"),
    ("dispatch", "note over 1000"): ({"to": [POLICE], "note": TAG + "n" * 1000}, ["note"],
                                     "pending"),
    ("dispatch", "everything"): ({"to": [POLICE, "mayor"], "priority": "later", "note": "",
                                  "by": TAG}, ["by", "note", "priority", "to.1"], "pending"),
    ("verify", "bad outcome"): ({"outcome": "approved", "note": TAG}, ["outcome"], "resolved"),
    ("verify", "outcome upper-case"): ({"outcome": "CONFIRMED", "note": TAG}, ["outcome"],
                                       "resolved"),
    ("verify", "outcome a boolean"): ({"outcome": True, "note": TAG}, ["outcome"], "resolved"),
    ("verify", "no note"): ({"outcome": "confirmed"}, ["note"], "resolved"),
    ("verify", "nothing"): ({}, ["note", "outcome"], "resolved"),
    ("feedback", "resolved a string"): ({"satisfaction": "unsatisfied", "resolved": "no",
                                         "note": TAG}, ["resolved"], "closed"),
    ("feedback", "resolved a number"): ({"satisfaction": "unsatisfied", "resolved": 0,
                                         "note": TAG}, ["resolved"], "closed"),
    ("feedback", "resolved null"): ({"satisfaction": "unsatisfied", "resolved": None,
                                     "note": TAG}, ["resolved"], "closed"),
    ("feedback", "unknown satisfaction"): ({"satisfaction": "furious", "resolved": False,
                                            "note": TAG}, ["satisfaction"], "closed"),
    ("feedback", "note over 2000"): ({"satisfaction": "satisfied", "resolved": True,
                                      "note": TAG + "n" * 2000}, ["note"], "closed"),
    ("feedback", "nothing"): ({}, ["resolved", "satisfaction"], "closed"),
}


@pytest.mark.parametrize("decision,case", sorted(BAD_DECISIONS),
                         ids=["-".join(key) for key in sorted(BAD_DECISIONS)])
def test_a_bad_committee_decision_is_422_naming_every_bad_field(apis, db, cases, decision, case):
    body, fields, state = BAD_DECISIONS[decision, case]
    with nothing_written(db):
        problem = assert_problem(apis[COMMITTEE].post(
            "/api/v1/cases/%s/%s" % (cases[state], decision), body), 422)
    assert named(problem) == fields


BAD_DETECTIONS = {
    "confidence 1.5": (_with(confidence=1.5), ["confidence"]),
    "confidence negative": (_with(confidence=-0.1), ["confidence"]),
    "confidence NaN": (_with(confidence=float("nan")), ["confidence"]),
    "confidence a string": (_with(confidence="0.9"), ["confidence"]),
    "confidence a boolean": (_with(confidence=True), ["confidence"]),
    "confidence null": (_with(confidence=None), ["confidence"]),
    "detected tomorrow": (_with(detected_at=hours_from_now(24)), ["detected_at"]),
    "detected in an hour": (_with(detected_at=hours_from_now(1)), ["detected_at"]),
    "detected_at without a zone": (_with(detected_at="2025-05-01T08:00:00"), ["detected_at"]),
    "detected_at a timestamp": (_with(detected_at=1746086400), ["detected_at"]),
    "unknown kind": (_with(kind="smoke"), ["kind"]),
    "kind a category, not a kind": (_with(kind="noise"), ["kind"]),
    "location without building": (_in("location", building=None), ["location.building"]),
    "camera_id blank": (_with(camera_id=" "), ["camera_id"]),
    "camera_id over 64": (_with(camera_id=TAG + "c" * 64), ["camera_id"]),
    "snapshot_ref over 200": (_with(snapshot_ref=TAG + "s" * 200), ["snapshot_ref"]),
    "unknown field": (_with(case_id=TAG), ["case_id"]),
    "everything": (_with(confidence=1.5, detected_at=hours_from_now(24), kind="smoke",
                         location={"spot": TAG}),
                   ["confidence", "detected_at", "kind", "location.building"]),
    "nothing": (lambda body: {}, ["camera_id", "confidence", "detected_at", "kind", "location"]),
}


@pytest.mark.parametrize("case", sorted(BAD_DETECTIONS))
def test_a_bad_detection_is_422_naming_every_bad_field(system, db, case):
    spoil, fields = BAD_DETECTIONS[case]
    raw = json.dumps(spoil(detection())).encode()  # NaN as Python's JSON writes it
    with nothing_written(db):
        problem = assert_problem(post_raw(system, PROPERTY, "/api/v1/detections", None, raw), 422)
    assert named(problem) == fields


def test_a_detection_time_the_database_cannot_store_is_422(apis, db):
    """Year 1, ahead of UTC: before the first instant the database stores (was a 500)."""
    with nothing_written(db):
        problem = assert_problem(apis[PROPERTY].post("/api/v1/detections", detection(
            detected_at="0001-01-01T00:00:00+14:00")), 422)
    assert error_fields(problem) == ["detected_at"]


# --- 422 on query arguments -------------------------------------------------------

# (service, list): every filter given a bad value, and an argument the list
# does not take (`party` is the committee's alone; cameras have no `kind` filter).
BAD_QUERIES = dict.fromkeys(
    [(party, "/api/v1/cases") for party in OTHERS],
    {"role": "all", "status": "bogus", "overdue": "maybe", "category": "stray_cats",
     "party": POLICE, "limit": "0", "cursor": "!!!"})
BAD_QUERIES[COMMITTEE, "/api/v1/cases"] = {
    "role": "mine", "status": "bogus", "overdue": "maybe", "escalated": "perhaps",
    "category": "stray_cats", "party": "mayor", "limit": "501", "cursor": NOT_A_CURSOR}
BAD_QUERIES[PROPERTY, "/api/v1/detections"] = {
    "camera_id": "", "reported": "maybe", "kind": "smoke", "limit": "many", "cursor": "!!!"}


def get_args(system, service, path, args):
    return requests.get(system.url(service) + path, params=args, headers=auth(service),
                        timeout=15)


@pytest.mark.parametrize("service,path", sorted(BAD_QUERIES),
                         ids=["%s %s" % key for key in sorted(BAD_QUERIES)])
def test_bad_list_arguments_are_422_naming_every_one(system, db, service, path):
    args = dict(BAD_QUERIES[service, path], sort="reported_at")  # no list takes `sort`
    with nothing_written(db):
        problem = assert_problem(get_args(system, service, path, args), 422)
    assert named(problem) == sorted(args)


@pytest.mark.parametrize("args", [{"limit": "0"}, {"limit": "abc"}, {"cursor": "!!!"},
                                  {"cursor": NOT_A_CURSOR}, {"cursor": ""},
                                  {"cursor": "!!!", "role": "reported"},
                                  {"offset": "0"},  # paging is by cursor now: unknown
                                  {"status": "bogus"}, {"overdue": "yes"},
                                  {"category": "stray_cats"}, {"role": "owner"}], ids=repr)
def test_one_bad_case_list_argument_is_422_naming_it(system, db, args):
    """At each party in turn, under one write check."""
    bad = [name for name in args if name != "role" or args[name] != "reported"]

    def refused(service):
        problem = assert_problem(get_args(system, service, "/api/v1/cases", args), 422)
        assert named(problem) == bad  # an empty cursor fails two ways, and is named once
    check_each(ALL, refused, lambda: nothing_written(db))


@pytest.mark.parametrize("service,role", [(POLICE, "assigned"), (COMMITTEE, "all"),
                                          (COMMITTEE, "reported")])
def test_the_case_list_paged_by_its_cursors_holds_every_case_once(apis, cases, keyed, service,
                                                                  role):
    """The control for the bad cursors above: the ones the list hands out."""
    whole = walk(apis[service], "/api/v1/cases", role=role, limit=500)
    pages = walk(apis[service], "/api/v1/cases", role=role, limit=3)
    ids = [item["id"] for item in whole[0]["items"]]
    assert len(whole) == 1 and len(ids) >= 2 and len(set(ids)) == len(ids)
    assert [item["id"] for page in pages for item in page["items"]] == ids
    assert {(page["total"], page["total_capped"], page["limit"]) for page in pages} == {
        (len(ids), False, 3)}


@pytest.mark.parametrize("args", [{"status": "accepted"}, {"status": "returned", "role": "all"},
                                  {"status": "withdrawn", "role": "reported"}], ids=repr)
def test_an_assignment_status_without_role_assigned_is_422_at_the_committee(system, args):
    problem = assert_problem(get_args(system, COMMITTEE, "/api/v1/cases", args), 422)
    assert error_fields(problem) == ["status"]
    assert "role=assigned" in reason_for(problem, "status")


BAD_KPI_QUERIES = {
    "from after to": ({"from": "2025-03-02", "to": "2025-03-01"}, ["to"]),
    "nothing": ({}, ["from", "to"]),
    "no to": ({"from": "2025-03-01"}, ["to"]),
    "no from": ({"to": "2025-03-01"}, ["from"]),
    "not a date": ({"from": "2025-13-01", "to": "2025-03-32"}, ["from", "to"]),
    "a timestamp": ({"from": "2025-03-01T00:00:00", "to": "2025-03-02"}, ["from"]),
    "over 366 days": ({"from": "2024-01-01", "to": "2025-01-02"}, ["to"]),
    "unknown argument": ({"from": "2025-03-01", "to": "2025-03-02", "party": POLICE}, ["party"]),
}


@pytest.mark.parametrize("case", sorted(BAD_KPI_QUERIES))
def test_bad_kpi_arguments_are_422_naming_every_one(system, case):
    args, fields = BAD_KPI_QUERIES[case]
    problem = assert_problem(get_args(system, COMMITTEE, "/api/v1/case-kpis", args), 422)
    assert named(problem) == fields


def test_kpis_up_to_the_last_day_of_the_calendar_are_not_a_500(system):
    """`to + 1 day` overflowed on the last day of the calendar (was a 500)."""
    response = get_args(system, COMMITTEE, "/api/v1/case-kpis",
                        {"from": "9999-12-31", "to": "9999-12-31"})
    assert sorted(error_fields(assert_problem(response, 422))) == ["from", "to"]


# --- NUL characters ----------------------------------------------------------------
# PostgreSQL (under FerretDB) cannot store U+0000: a NUL anywhere in the path, the
# query or a body is a 400 before anything is read into a document.

# (what, service, path, body): a body the endpoint would take but for one NUL.
NUL_BODIES = [
    ("report: the description", service, "/api/v1/cases",
     report(description="%s: bikes\x00in the stairwell" % TAG)) for service in ALL] + [
    ("report: a nested value", POLICE, "/api/v1/cases",
     report(location={"building": "5", "unit": "2", "spot": "%s\x00" % TAG})),
    ("report: the reporter's name", PROPERTY, "/api/v1/cases",
     report(reporter={"name": "Li\x00Na", "phone": "13912345678"})),
    ("report: a key", FLOATING, "/api/v1/cases", dict(report(), **{"\x00": TAG})),
    ("report: a nested key", DEVELOPER, "/api/v1/cases",
     report(location={"building": "5", "unit": "2", "spot\x00": TAG})),
    ("detection: the camera", PROPERTY, "/api/v1/detections", detection("%s\x00cam" % TAG)),
    ("detection: only a NUL", PROPERTY, "/api/v1/detections", detection("\x00")),
    ("detection: a key", PROPERTY, "/api/v1/detections", dict(detection(), **{"camera\x00": TAG})),
    ("accept: the note", POLICE, CASE + "/accept", {"note": TAG + "\x00"}),
    ("return: the reason", DEVELOPER, CASE + "/return", {"reason": "not\x00ours " + TAG}),
    ("dispatch: a party", COMMITTEE, CASE + "/dispatch",
     {"to": [POLICE + "\x00"], "note": TAG}),
]


@pytest.mark.parametrize("what,service,path,body", NUL_BODIES,
                         ids=["%s at %s" % (case[0], case[1]) for case in NUL_BODIES])
def test_a_nul_in_a_json_body_is_400_and_writes_nothing(system, db, cases, what, service, path,
                                                        body):
    """To the pending case, where a body that got through would act."""
    raw = json.dumps(body).encode()
    assert b"\\u0000" in raw
    with nothing_written(db):
        problem = assert_problem(post_raw(system, service, path, cases["pending"], raw), 400)
    assert "NUL" in problem["detail"]


NUL_PATHS = [(POLICE, "GET", CASE + "%00"), (PROPERTY, "GET", "/api/v1/cases/%00{case}"),
             (DEVELOPER, "POST", CASE + "%00/accept"), (FLOATING, "POST", "/api/v1/cases/%00/accept"),
             (COMMITTEE, "POST", CASE + "%00/dispatch"), (COMMITTEE, "GET", CASE + "%00")]


@pytest.mark.parametrize("endpoint", NUL_PATHS, ids=endpoint_id)
def test_a_nul_in_the_path_is_400_and_writes_nothing(system, db, cases, endpoint):
    service, method, path = endpoint
    body = body_for(path.replace("%00", "")) if method == "POST" else None
    with nothing_written(db):
        response = send(system, service, method, path, cases["pending"], headers=auth(service),
                        body=body)
        assert "NUL" in assert_problem(response, 400)["detail"]


NUL_QUERIES = [(COMMITTEE, "/api/v1/cases", {"status": "open\x00"}),
               (COMMITTEE, "/api/v1/cases", {"party": POLICE, "category": "\x00"}),
               (POLICE, "/api/v1/cases", {"role": "reported\x00"}),
               (DEVELOPER, "/api/v1/cases", {"cursor": NOT_A_CURSOR + "\x00"}),
               (PROPERTY, "/api/v1/detections", {"camera_id": TAG + "\x00"}),
               (COMMITTEE, "/api/v1/case-kpis", {"from": "2025-01-01\x00", "to": "2025-12-31"})]


@pytest.mark.parametrize("service,path,args", NUL_QUERIES,
                         ids=["%s %s %r" % query for query in NUL_QUERIES])
def test_a_nul_in_a_query_argument_is_400_and_writes_nothing(system, db, service, path, args):
    with nothing_written(db):
        response = get_args(system, service, path, args)
        assert "NUL" in assert_problem(response, 400)["detail"]
    assert "%00" in response.request.url


# --- 404 and 405 -------------------------------------------------------------------

ID_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if "{case}" in endpoint[2]]


@pytest.mark.parametrize("endpoint", ID_ENDPOINTS, ids=endpoint_id)
def test_an_unknown_case_is_404_and_writes_nothing(system, db, endpoint):
    service, method, path = endpoint
    with nothing_written(db):
        response = send(system, service, method, path, str(uuid.uuid4()), headers=auth(service),
                        body=body_for(path))
        assert_problem(response, 404)


NOT_SEEN = [(service, "POST", "%s/%s" % (CASE, action))
            for service in (POLICE, FLOATING, DEVELOPER) for action in ACTIONS] + [
                (service, "GET", CASE) for service in (POLICE, FLOATING, DEVELOPER)]


@pytest.mark.parametrize("endpoint", NOT_SEEN, ids=endpoint_id)
def test_a_case_a_party_is_not_on_is_404_to_it_and_writes_nothing(system, db, cases, endpoint):
    """The case is the property company's alone: another party neither sees
    nor works it."""
    service, method, path = endpoint
    with nothing_written(db):
        response = send(system, service, method, path, cases["property_only"],
                        headers=auth(service), body=body_for(path))
        assert_problem(response, 404)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("service,state", [(COMMITTEE, "property_only"), (POLICE, "reported")],
                         ids=["the committee, which sees every case",
                              "the police, which reported it"])
def test_acting_on_a_case_one_sees_but_is_not_on_is_409(apis, db, cases, keyed, service, state,
                                                         action):
    case_id = keyed[POLICE][1] if state == "reported" else cases[state]
    with nothing_written(db):
        problem = assert_problem(apis[service].post("/api/v1/cases/%s/%s" % (case_id, action),
                                                    body_for("%s/%s" % (CASE, action))), 409)
    assert "not assigned to %s" % service in problem["detail"]


ONLY_AT = [(service, method, path) for service in OTHERS for method, path in COMMITTEE_ENDPOINTS
           ] + [(service, method, "/api/v1/detections") for service in ALL if service != PROPERTY
                for method in ("GET", "POST")]


@pytest.mark.parametrize("endpoint", ONLY_AT, ids=endpoint_id)
def test_the_committees_and_cameras_endpoints_are_404_elsewhere(system, db, cases, endpoint):
    service, method, path = endpoint
    with nothing_written(db):
        response = send(system, service, method, path, cases["pending"], headers=auth(service),
                        body=body_for(path))
        assert_problem(response, 404)


WRONG_METHODS = [(service, method, path) for service in ALL for method, path in (
    ("DELETE", "/api/v1/cases"), ("PUT", CASE), ("DELETE", CASE), ("GET", CASE + "/accept"),
    ("GET", CASE + "/resolve"))] + [
    (COMMITTEE, "GET", CASE + "/dispatch"), (COMMITTEE, "PUT", CASE + "/verify"),
    (COMMITTEE, "POST", "/api/v1/case-categories"), (COMMITTEE, "POST", "/api/v1/case-kpis"),
    (PROPERTY, "DELETE", "/api/v1/detections")]


@pytest.mark.parametrize("endpoint", WRONG_METHODS, ids=endpoint_id)
def test_a_wrong_method_is_a_405_problem_and_writes_nothing(system, db, cases, endpoint):
    service, method, path = endpoint
    with nothing_written(db):
        response = send(system, service, method, path, cases["pending"], headers=auth(service),
                        body=body_for(path) or {"note": TAG})
        assert_problem(response, 405)
    assert response.headers["Allow"] and method not in response.headers["Allow"]


# --- 409 ------------------------------------------------------------------------------

# (what, service, case state, action, body, what the detail says)
TRANSITIONS = [("resolve before accept", party, "pending", "resolve", {"note": TAG},
                "is dispatched") for party in ALL] + [
    ("return after accept", party, "accepted", "return", {"reason": TAG},
     "return only before accepting") for party in ALL] + [
    ("accept twice", party, "accepted", "accept", {"note": TAG}, "is accepted")
    for party in ALL] + [
    ("resolve twice", POLICE, "resolved", "resolve", {"note": TAG}, "is resolved"),
    ("return after resolve", POLICE, "resolved", "return", {"reason": TAG}, "is resolved"),
    ("accept a closed case", POLICE, "closed", "accept", {"note": TAG}, "cannot accept"),
    ("verify a dispatched case", COMMITTEE, "pending", "verify",
     {"outcome": "confirmed", "note": TAG}, "only a resolved case"),
    ("verify a case in progress", COMMITTEE, "accepted", "verify",
     {"outcome": "rework", "note": TAG}, "only a resolved case"),
    ("verify a closed case", COMMITTEE, "closed", "verify",
     {"outcome": "rework", "note": TAG}, "only a resolved case"),
    ("feedback on an open case", COMMITTEE, "pending", "feedback",
     {"satisfaction": "unsatisfied", "resolved": False, "note": TAG}, "feedback follows closure"),
    ("feedback on a resolved case", COMMITTEE, "resolved", "feedback",
     {"satisfaction": "satisfied", "resolved": True, "note": TAG}, "feedback follows closure"),
    ("a second feedback", COMMITTEE, "rated", "feedback",
     {"satisfaction": "unsatisfied", "resolved": False, "note": TAG}, "is recorded"),
    ("dispatch a closed case", COMMITTEE, "closed", "dispatch", {"to": [PROPERTY], "note": TAG},
     "is closed"),
]


@pytest.mark.parametrize("what,service,state,action,body,detail", TRANSITIONS,
                         ids=["%s-%s" % (t[0], t[1]) for t in TRANSITIONS])
def test_an_invalid_transition_is_409_and_writes_nothing(apis, db, cases, what, service, state,
                                                         action, body, detail):
    with nothing_written(db):
        problem = assert_problem(apis[service].post(
            "/api/v1/cases/%s/%s" % (cases[state], action), body), 409)
    assert detail in problem["detail"]


@pytest.mark.parametrize("service", ALL)
def test_reusing_an_idempotency_key_for_another_report_is_409(apis, db, keyed, service):
    key, case_id = keyed[service]
    with nothing_written(db):
        problem = assert_problem(apis[service].post(
            "/api/v1/cases", report(category="noise"), {"Idempotency-Key": key}), 409)
    assert "Idempotency-Key" in problem["detail"]
    # The same request again is the same case, not a conflict.
    again = apis[service].post("/api/v1/cases", report("valid keyed report"),
                               {"Idempotency-Key": key})
    assert again.status_code in (201, 202) and again.json()["id"] == case_id, again.text


# --- nothing reached the committee or another party -----------------------------------

def test_no_rejected_request_left_a_trace(apis, db, cases):
    """Runs last: a report each party makes after every rejected one is filed
    by the committee, so a rejected one would have been filed by now too."""
    assert CHECKED, "the tests above make rejected requests"
    sentinels = []
    for party in OTHERS:
        response = apis[party].post("/api/v1/cases", report("valid sentinel"))
        assert response.status_code == 202, response.text
        sentinels.append(response.json()["id"])
    camera = apis[PROPERTY].post("/api/v1/detections", detection("sentinel-camera"))
    assert camera.status_code == 201 and camera.json()["reported"], camera.text
    for case_id in sentinels + [camera.json()["case_id"]]:
        settle(db, case_id)

    traces = sorted(key for key, document in snapshot(db).items() if TAG in repr(document))
    assert traces == []
    # The committee filed exactly what the parties kept as reported.
    filed = {case["_id"]: case["reported_by"] for case in db(COMMITTEE)["cases"].find()}
    for party in OTHERS:
        kept = {reported["_id"] for reported in db(party)["case_reports"].find()}
        assert kept == {case_id for case_id, by in filed.items() if by == party}, party
    # No rejected action moved a case on.
    expected = {"pending": {party: "dispatched" for party in ALL},
                "accepted": {party: "accepted" for party in ALL},
                "resolved": {POLICE: "resolved"}, "closed": {POLICE: "resolved"},
                "rated": {POLICE: "resolved"}, "property_only": {PROPERTY: "dispatched"}}
    for state, statuses in expected.items():
        tasks = db(COMMITTEE)["cases"].find_one({"_id": cases[state]})["assignments"]
        assert {party: (task["status"], task["round"]) for party, task in tasks.items()} == {
            party: (status, 1) for party, status in statuses.items()}, state
    assert [len(db(COMMITTEE)["cases"].find_one({"_id": cases[state]})["feedback"])
            for state in ("closed", "rated")] == [0, 1]
