"""Every housing endpoint (handovers, warranty cases, households, repairs)
against bad input, through HTTP as a front end would send it: 401 (no, bad
or expired token), 403 (another agency's token, a role without the
permission), 400 (malformed JSON), 415 (not JSON), 413 (too big), 422
naming every bad field and query argument, 404 (unknown ids) and 409
(invalid transitions). A rejected request writes nothing: no handover,
household, repair or warranty case, no change to the known ones, no audit
record, and no event that makes another party write."""
import json
import uuid
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import requests

from shared.parties import ALL, COMMITTEE, DEVELOPER, PROPERTY
from tests.e2e.grouped import check_each
from tests.e2e.test_bad_input import (BAD_CREDENTIALS, MALFORMED, MAX_BODY_BYTES, NOT_A_CURSOR,
                                      assert_problem, audit_count, endpoint_id, error_fields,
                                      padded)
from tests.support import Api, auth, wait_for

pytestmark = pytest.mark.slow

TAG = "rejected-%s" % uuid.uuid4().hex[:10]
HANDOVERS = "/api/v1/handovers"
CASES = "/api/v1/warranty-cases"
REPAIRS = "/api/v1/repairs"

ENDPOINTS = [
    (DEVELOPER, "POST", HANDOVERS),
    (DEVELOPER, "GET", HANDOVERS),
    (DEVELOPER, "GET", HANDOVERS + "/{flat}"),
    (DEVELOPER, "GET", CASES),
    (DEVELOPER, "GET", CASES + "/{case}"),
    (DEVELOPER, "POST", CASES + "/{case}/accept"),
    (DEVELOPER, "POST", CASES + "/{case}/resolve"),
    (PROPERTY, "GET", "/api/v1/households"),
    (PROPERTY, "POST", REPAIRS),
    (PROPERTY, "GET", REPAIRS),
    (PROPERTY, "GET", REPAIRS + "/{own}"),
    (PROPERTY, "POST", REPAIRS + "/{own}/resolve"),
    (COMMITTEE, "GET", "/api/v1/households"),
]
POST_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint[1] == "POST"]
LIST_ENDPOINTS = [(DEVELOPER, HANDOVERS), (DEVELOPER, CASES), (PROPERTY, "/api/v1/households"),
                  (PROPERTY, REPAIRS), (COMMITTEE, "/api/v1/households")]
# A role of the agency without the endpoint's permission.
WITHOUT_PERMISSION = {DEVELOPER: {"POST " + HANDOVERS: "warranty", "GET " + HANDOVERS: "auditor",
                                  "POST " + CASES: "records", "GET " + CASES: "records"},
                      PROPERTY: "guard", COMMITTEE: "auditor"}


@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-housing-desk" % name.split("_")[0])
            for name, url in system.urls.items()}


@pytest.fixture(scope="module")
def db(system, mongo_client):
    return lambda service: mongo_client[system.db_prefix + service]


def first(response):
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


@pytest.fixture(scope="module")
def known(apis):
    """A flat handed over a year ago; a roof leak there assigned to the
    developer and not acted on; an appliance repair, the owner's, open."""
    flat = {"building": "bi%s" % uuid.uuid4().hex[:6], "unit": "1", "room": "101"}
    response = apis[DEVELOPER].post("/api/v1/allocations", dict(flat, household=["Known Owner"]))
    assert response.status_code == 201, response.text
    year_ago = date.today() - timedelta(days=366)
    response = apis[DEVELOPER].post(HANDOVERS, {"flat": flat, "members": ["Known Owner"],
                                                "handed_over_on": year_ago.isoformat()})
    assert response.status_code == 201, response.text
    flat_id = response.json()["id"]
    wait_for(lambda: first(apis[PROPERTY].get("/api/v1/households", flat=flat_id)),
             "the property company to take the household on")
    wait_for(lambda: first(apis[COMMITTEE].get("/api/v1/households", flat=flat_id)),
             "the committee to register it")
    leak = apis[PROPERTY].post(REPAIRS, repair_body(flat))
    own = apis[PROPERTY].post(REPAIRS, repair_body(flat, category="appliance", part="in_flat"))
    assert leak.status_code == 201 and own.status_code == 201, (leak.text, own.text)
    assert leak.json()["responsible"] == "developer" and own.json()["responsible"] == "owner"
    case_id = leak.json()["id"]
    wait_for(lambda: apis[DEVELOPER].get(CASES + "/" + case_id).status_code == 200,
             "the developer's warranty case")
    return {"flat": flat_id, "address": flat, "case": case_id, "own": own.json()["id"]}


def repair_body(flat, category="waterproofing", **changes):
    body = {"flat": flat, "category": category, "part": "common",
            "description": "water through the roof", "resident": {"name": "Known Owner",
                                                                 "phone": "13812345678"}}
    body.update(changes)
    return body


def valid_body(path, known):
    """A body the endpoint would take, so only the thing under test is wrong
    (each one names a flat or case whose state it would change)."""
    if path == HANDOVERS:
        return {"flat": known["address"], "members": ["Known Owner"],
                "handed_over_on": date.today().isoformat()}
    if path == REPAIRS:
        return repair_body(known["address"], description=TAG)
    if path.endswith("/accept"):
        return {"note": TAG}
    if path.endswith("/resolve"):
        return {"note": TAG}
    return None


def written(db, known):
    """Everything a housing request could write, as comparable state."""
    case = db(DEVELOPER)["warranty_cases"].find_one({"_id": known["case"]}) or {}
    own = db(PROPERTY)["repairs"].find_one({"_id": known["own"]}) or {}
    leak = db(PROPERTY)["repairs"].find_one({"_id": known["case"]}) or {}
    state = {
        "handovers": db(DEVELOPER)["handovers"].count_documents({}),
        "allocations": db(DEVELOPER)["allocations"].count_documents({}),
        "warranty_cases": db(DEVELOPER)["warranty_cases"].count_documents({}),
        "known_case": (case.get("status"), case.get("version")),
        "repairs": db(PROPERTY)["repairs"].count_documents({}),
        "own_repair": (own.get("status"), own.get("version")),
        "leak": leak.get("status"),
        "households": (db(PROPERTY)["households"].count_documents({}),
                       db(COMMITTEE)["households"].count_documents({})),
    }
    for service in ALL:
        state["audit:" + service] = audit_count(db(service))
    return state


@contextmanager
def nothing_written(db, known):
    before = written(db, known)
    yield
    assert written(db, known) == before


def url(system, known, service, path):
    return system.url(service) + path.format(**known)


def send(system, known, service, method, path, headers=None, body=None):
    return requests.request(method, url(system, known, service, path), headers=headers or {},
                            json=body, timeout=15)


# --- 401, 403 -------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_a_request_without_a_valid_token_is_401_and_writes_nothing(system, known, db, endpoint):
    service, method, path = endpoint

    def refused(credentials):
        response = send(system, known, service, method, path,
                        headers=BAD_CREDENTIALS[credentials](service), body=valid_body(path, known))
        assert_problem(response, 401)
    check_each(sorted(BAD_CREDENTIALS), refused, lambda: nothing_written(db, known))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_another_agencys_token_or_a_role_without_the_permission_is_403(system, known, db, endpoint):
    service, method, path = endpoint
    role = WITHOUT_PERMISSION[service]
    if isinstance(role, dict):
        role = role["%s %s" % (method, HANDOVERS if path.startswith(HANDOVERS) else CASES)]

    def refused(who):
        headers = auth(who) if who != "role" else auth(service, roles=[role])
        response = send(system, known, service, method, path, headers=headers,
                        body=valid_body(path, known))
        problem = assert_problem(response, 403)
        assert (who in problem["detail"]) if who != "role" else problem["missing_permission"]
    check_each([other for other in ALL if other != service] + ["role"], refused,
               lambda: nothing_written(db, known))


# --- 400, 415, 413, a body that is not an object ---------------------------------------

@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_malformed_json_is_400_and_writes_nothing(system, known, db, endpoint):
    service, _, path = endpoint

    def refused(malformed):
        response = requests.post(url(system, known, service, path), data=MALFORMED[malformed],
                                 headers=dict(auth(service), **{"Content-Type": "application/json"}),
                                 timeout=15)
        assert_problem(response, 400)
    # An accept's body is optional: an empty one is an accept without a note.
    check_each(sorted(name for name in MALFORMED if not (name == "empty" and path.endswith("/accept"))),
               refused, lambda: nothing_written(db, known))


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_body_that_is_not_json_is_415_and_writes_nothing(system, known, db, endpoint):
    service, _, path = endpoint

    def refused(content_type):
        headers = auth(service)
        if content_type:
            headers["Content-Type"] = content_type
        response = requests.post(url(system, known, service, path), headers=headers, timeout=15,
                                 data=json.dumps(valid_body(path, known)).encode())
        assert_problem(response, 415)
    check_each(["text/plain", "application/x-www-form-urlencoded", None], refused,
               lambda: nothing_written(db, known))


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_body_over_the_limit_is_413_and_writes_nothing(system, known, db, endpoint):
    service, _, path = endpoint
    with nothing_written(db, known):
        response = requests.post(url(system, known, service, path),
                                 data=padded(valid_body(path, known), MAX_BODY_BYTES + 1),
                                 headers=dict(auth(service), **{"Content-Type": "application/json"}),
                                 timeout=15)
        assert_problem(response, 413)


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_body_that_is_not_an_object_is_422(system, known, db, endpoint):
    service, _, path = endpoint

    def refused(body):
        response = requests.post(url(system, known, service, path), data=json.dumps(body),
                                 headers=dict(auth(service), **{"Content-Type": "application/json"}),
                                 timeout=15)
        assert_problem(response, 422)
    check_each([[], "a string", 42, None] if not path.endswith("/accept") else [[], "a string", 42],
               refused, lambda: nothing_written(db, known), name=repr)


# --- 422 on handovers -----------------------------------------------------------------------

def tomorrow():
    return (date.today() + timedelta(days=1)).isoformat()


def test_a_handover_with_everything_wrong_names_every_bad_field(apis, db, known):
    body = {"flat": {"building": "", "unit": 3}, "members": [], "handed_over_on": tomorrow(),
            "keys": 2}
    with nothing_written(db, known):
        problem = assert_problem(apis[DEVELOPER].post(HANDOVERS, body), 422)
    assert sorted(error_fields(problem)) == sorted(
        ["flat.building", "flat.unit", "flat.room", "members", "handed_over_on", "keys"])


def _with(**changes):
    return lambda body: dict(body, **changes)


def _flat(**changes):
    return lambda body: dict(body, flat=dict(body["flat"], **changes))


BAD_HANDOVERS = {
    "no flat": (lambda body: {k: v for k, v in body.items() if k != "flat"}, "flat"),
    "flat a string": (_with(flat="1-1-101"), "flat"),
    "room too long": (_flat(room="1" * 21), "flat.room"),
    "unknown flat field": (_flat(floor="1"), "flat.floor"),
    "members empty": (_with(members=[]), "members"),
    "members a string": (_with(members="Known Owner"), "members"),
    "a blank member": (_with(members=["Known Owner", "  "]), "members.1"),
    "a member too long": (_with(members=["N" * 51]), "members.0"),
    "a member named twice": (_with(members=["Known Owner", " Known Owner"]), "members"),
    "31 members": (_with(members=["Member %d" % i for i in range(31)]), "members"),
    "in the future": (lambda body: dict(body, handed_over_on=tomorrow()), "handed_over_on"),
    "before 1990": (_with(handed_over_on="1989-12-31"), "handed_over_on"),
    "not a date": (_with(handed_over_on="2025-02-30"), "handed_over_on"),
    "a timestamp": (_with(handed_over_on=1700000000), "handed_over_on"),
    "no date": (lambda body: {k: v for k, v in body.items() if k != "handed_over_on"},
                "handed_over_on"),
}


def test_a_handover_with_one_bad_field_is_422_naming_it(apis, db, known):
    def refused(case):
        spoil, field = BAD_HANDOVERS[case]
        problem = assert_problem(apis[DEVELOPER].post(HANDOVERS, spoil(valid_body(HANDOVERS, known))),
                                 422)
        assert error_fields(problem) == [field], problem
    check_each(sorted(BAD_HANDOVERS), refused, lambda: nothing_written(db, known))


def test_a_second_handover_is_409_and_writes_nothing(apis, db, known):
    with nothing_written(db, known):
        problem = assert_problem(apis[DEVELOPER].post(HANDOVERS, valid_body(HANDOVERS, known)), 409)
    assert "handed over already" in problem["detail"]


# --- 422 on repairs ------------------------------------------------------------------------------

def _resident(**changes):
    return lambda body: dict(body, resident=dict(body["resident"], **changes))


BAD_REPAIRS = {
    "unknown category": (_with(category="roof"), "category"),
    "category null": (_with(category=None), "category"),
    "unknown part": (_with(part="garden"), "part"),
    "blank description": (_with(description="  "), "description"),
    "description too long": (_with(description="d" * 2001), "description"),
    "no resident": (lambda body: {k: v for k, v in body.items() if k != "resident"}, "resident"),
    "phone 10 digits": (_resident(phone="1381234567"), "resident.phone"),
    "phone a landline": (_resident(phone="02787654321"), "resident.phone"),
    "resident without a name": (lambda body: dict(body, resident={"phone": "13812345678"}),
                                "resident.name"),
    "unknown resident field": (_resident(id_number="420106198001010011"), "resident.id_number"),
    "no unit": (lambda body: dict(body, flat={"building": "1", "room": "101"}), "flat.unit"),
    "unknown field": (_with(priority="urgent"), "priority"),
}


def test_a_repair_with_one_bad_field_is_422_naming_it(apis, db, known):
    def refused(case):
        spoil, field = BAD_REPAIRS[case]
        problem = assert_problem(apis[PROPERTY].post(REPAIRS, spoil(valid_body(REPAIRS, known))), 422)
        assert error_fields(problem) == [field], problem
    check_each(sorted(BAD_REPAIRS), refused, lambda: nothing_written(db, known))


def test_a_bad_idempotency_key_is_422_with_the_bodys_errors(apis, db, known):
    body = dict(valid_body(REPAIRS, known), category="roof")
    with nothing_written(db, known):
        problem = assert_problem(apis[PROPERTY].post(REPAIRS, body, {"Idempotency-Key": "k" * 129}), 422)
    assert sorted(error_fields(problem)) == ["Idempotency-Key", "category"]


def test_an_empty_repair_names_every_required_field(apis, db, known):
    with nothing_written(db, known):
        problem = assert_problem(apis[PROPERTY].post(REPAIRS, {}), 422)
    assert sorted(error_fields(problem)) == ["category", "description", "flat", "resident"]


def test_a_repair_at_a_flat_not_handed_over_is_422_naming_the_flat(apis, db, known):
    body = repair_body({"building": "nowhere", "unit": "1", "room": "1"}, description=TAG)
    with nothing_written(db, known):
        problem = assert_problem(apis[PROPERTY].post(REPAIRS, body), 422)
    assert error_fields(problem) == ["flat"] and "no handover" in problem["errors"][0]["reason"]


# --- actions: 422, 404, 409 -----------------------------------------------------------------------

def test_a_resolve_without_a_note_is_422(apis, db, known):
    def refused(target):
        api, path = target
        for body in ({}, {"note": ""}, {"note": "  "}, {"note": 5}, {"note": "n", "by": "x"}):
            assert_problem(api.post(path, body), 422)
    check_each([(apis[DEVELOPER], "%s/%s/resolve" % (CASES, known["case"])),
                (apis[PROPERTY], "%s/%s/resolve" % (REPAIRS, known["own"]))], refused,
               lambda: nothing_written(db, known), name=lambda target: target[1])


def test_an_accept_with_a_bad_note_is_422(apis, db, known):
    with nothing_written(db, known):
        for body in ({"note": ""}, {"note": 5}, {"note": "n" * 1001}, {"when": "now"}):
            assert_problem(apis[DEVELOPER].post("%s/%s/accept" % (CASES, known["case"]), body), 422)


UNKNOWN = [(DEVELOPER, "GET", HANDOVERS + "/no-such-flat", None),
           (DEVELOPER, "GET", "%s/%s" % (CASES, uuid.uuid4()), None),
           (DEVELOPER, "POST", "%s/%s/accept" % (CASES, uuid.uuid4()), {}),
           (DEVELOPER, "POST", "%s/%s/resolve" % (CASES, uuid.uuid4()), {"note": "done"}),
           (PROPERTY, "GET", "%s/%s" % (REPAIRS, uuid.uuid4()), None),
           (PROPERTY, "POST", "%s/%s/resolve" % (REPAIRS, uuid.uuid4()), {"note": "done"})]


@pytest.mark.parametrize("request_", UNKNOWN, ids=lambda r: "%s %s %s" % r[:3])
def test_an_unknown_id_is_404(system, db, known, request_):
    service, method, path, body = request_
    with nothing_written(db, known):
        response = requests.request(method, system.url(service) + path, json=body,
                                    headers=auth(service), timeout=15)
        assert_problem(response, 404)


def test_resolving_before_accepting_and_resolving_the_developers_repair_are_409(apis, db, known):
    with nothing_written(db, known):
        early = apis[DEVELOPER].post("%s/%s/resolve" % (CASES, known["case"]), {"note": TAG})
        assert "is assigned" in assert_problem(early, 409)["detail"]
        theirs = apis[PROPERTY].post("%s/%s/resolve" % (REPAIRS, known["case"]), {"note": TAG})
        assert "the developer resolves it" in assert_problem(theirs, 409)["detail"]


# --- lists ------------------------------------------------------------------------------------------

BAD_QUERIES = {
    (DEVELOPER, HANDOVERS): {"building": "b" * 21, "limit": "0", "cursor": "!!!"},
    (DEVELOPER, CASES): {"status": "open", "overdue": "maybe", "urgent": "2", "limit": "501",
                         "cursor": NOT_A_CURSOR},
    (PROPERTY, "/api/v1/households"): {"flat": "f" * 71, "building": "", "limit": "abc"},
    (PROPERTY, REPAIRS): {"responsible": "builder", "status": "bogus", "overdue": "perhaps",
                          "flat": "", "cursor": "!!!"},
    (COMMITTEE, "/api/v1/households"): {"flat": "", "building": "b" * 21, "limit": "-1"},
}


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=lambda e: "%s %s" % e)
def test_bad_query_arguments_are_422_naming_every_one(system, db, known, endpoint):
    service, path = endpoint
    args = dict(BAD_QUERIES[endpoint], sort="name")
    with nothing_written(db, known):
        response = requests.get(system.url(service) + path, params=args, headers=auth(service),
                                timeout=15)
        problem = assert_problem(response, 422)
    assert sorted(error_fields(problem)) == sorted(args)


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=lambda e: "%s %s" % e)
def test_the_lists_answer_the_known_records(apis, known, endpoint):
    """The control for the 422s above: good arguments find the known records."""
    service, path = endpoint
    args = {HANDOVERS: {"building": known["address"]["building"]},
            CASES: {"status": "assigned", "urgent": "true"},
            "/api/v1/households": {"flat": known["flat"]},
            REPAIRS: {"flat": known["flat"], "responsible": "owner"}}[path]
    items = apis[service].get(path, **args).json()["items"]
    wanted = {HANDOVERS: known["flat"], CASES: known["case"], "/api/v1/households": known["flat"],
              REPAIRS: known["own"]}[path]
    assert wanted in [item["id"] for item in items]


def test_no_rejected_request_left_its_tag_anywhere(db, known):
    """Every rejected body carried TAG: no document of any party holds it."""
    for service in ALL:
        database = db(service)
        for name in database.list_collection_names():
            for document in database[name].find():
                assert TAG not in json.dumps(document, default=str), (service, name)
