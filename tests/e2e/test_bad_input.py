"""Every endpoint of every service against bad input, through HTTP as a front
end would send it: 401 (no, bad or expired token), 403 (another agency's
token), 400 (malformed JSON), 415 (not JSON), 413 (too big), 422 naming every
bad field, 404 (unknown ids) and 409 (invalid transitions). A rejected request
writes nothing: no document, no audit record, no event to another party."""
import base64
import json
import uuid
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import requests

from shared.auth import development_key, issue_token
from shared.identity import check_char
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY
from shared.roles import ROLES
from shared.settings import DEVELOPMENT_SECRET, Settings
from tests.e2e.grouped import check_each
from tests.support import Api, auth, registration, token_for, wait_for

pytestmark = pytest.mark.slow

MAX_BODY_BYTES = 65536  # the default limit; the system fixture does not change it
KNOWN_FLAT = ("11", "1", "101")

# (service, method, path): every API endpoint of the product. `{id}` is the
# known returnee, `{registration}` its floating-office registration, `{flat}`
# an allocated flat.
ENDPOINTS = [
    (COMMITTEE, "POST", "/api/v1/returnees"),
    (COMMITTEE, "GET", "/api/v1/returnees/{id}"),
    (COMMITTEE, "GET", "/api/v1/returnees"),
    (COMMITTEE, "POST", "/api/v1/returnees/{id}/correction"),
    (COMMITTEE, "POST", "/api/v1/people/erasure"),
    (POLICE, "GET", "/api/v1/checks"),
    (POLICE, "GET", "/api/v1/checks/{id}"),
    (POLICE, "POST", "/api/v1/checks/{id}/decision"),
    (FLOATING, "GET", "/api/v1/registrations"),
    (FLOATING, "GET", "/api/v1/registrations/{registration}"),
    (PROPERTY, "GET", "/api/v1/passes"),
    (DEVELOPER, "POST", "/api/v1/allocations"),
    (DEVELOPER, "GET", "/api/v1/allocations/{flat}"),
    (DEVELOPER, "GET", "/api/v1/housing-checks"),
    (COMMITTEE, "POST", "/api/v1/people/exports"),
    (COMMITTEE, "GET", "/api/v1/people/exports/{export}"),
    (COMMITTEE, "GET", "/api/v1/trace/{id}"),
    (FLOATING, "POST", "/api/v1/tenancies"),
    (FLOATING, "GET", "/api/v1/tenancies"),
    (FLOATING, "GET", "/api/v1/tenancies/{tenancy}"),
    (FLOATING, "POST", "/api/v1/tenancies/{tenancy}/end"),
    (PROPERTY, "GET", "/api/v1/tenant-access"),
    (PROPERTY, "POST", "/api/v1/occupants"),
    (PROPERTY, "GET", "/api/v1/occupants"),
    (PROPERTY, "GET", "/api/v1/occupants/{occupant}"),
    (COMMITTEE, "GET", "/api/v1/tenants"),
    (COMMITTEE, "POST", "/api/v1/briefings"),
    (COMMITTEE, "GET", "/api/v1/briefings"),
    (COMMITTEE, "GET", "/api/v1/briefings/{day}"),
    (COMMITTEE, "GET", "/api/v1/briefings/{day}/print"),
    (COMMITTEE, "GET", "/api/v1/reports/monthly/{month}"),
    (COMMITTEE, "GET", "/api/v1/reports/monthly/{month}/print"),
] + [(service, "GET", "/api/v1/audit") for service in ALL] + [
    (service, "GET", "/api/v1/briefings/latest") for service in (POLICE, FLOATING, PROPERTY, DEVELOPER)]

POST_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint[1] == "POST"]
LIST_ENDPOINTS = [(COMMITTEE, "/api/v1/returnees"), (POLICE, "/api/v1/checks"),
                  (FLOATING, "/api/v1/registrations"), (PROPERTY, "/api/v1/passes"),
                  (DEVELOPER, "/api/v1/housing-checks"), (FLOATING, "/api/v1/tenancies"),
                  (PROPERTY, "/api/v1/tenant-access"), (PROPERTY, "/api/v1/occupants"),
                  (COMMITTEE, "/api/v1/briefings")] + [(s, "/api/v1/audit") for s in ALL]

# Registrations that were refused: none of them may ever reach another party.
REJECTED = []
# The known returnee's id, for bodies that name it (an erasure request).
KNOWN = {}


def endpoint_id(endpoint):
    return "%s %s %s" % endpoint


# --- helpers -----------------------------------------------------------------

@pytest.fixture(scope="module")
def apis(system):
    return {name: Api(url, name, user="%s-desk" % name) for name, url in system.urls.items()}


@pytest.fixture(scope="module")
def db(system, mongo_client):
    return lambda service: mongo_client[system.db_prefix + service]


def first(response):
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return items[0] if items else None


@pytest.fixture(scope="module")
def known(apis):
    """A non-local returnee every party has acted on, its police check still
    pending: the target of the endpoints that take an id."""
    building, unit, room = KNOWN_FLAT
    response = apis[DEVELOPER].post("/api/v1/allocations", {
        "building": building, "unit": unit, "room": room, "household": ["Known Person"]})
    assert response.status_code in (200, 201), response.text
    response = apis[COMMITTEE].post("/api/v1/returnees", registration(
        name="Known Person", building=building, unit=unit, room=room))
    assert response.status_code == 201, response.text
    returnee_id = response.json()["id"]
    wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id)),
             "the police check")
    wait_for(lambda: first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id)),
             "the held gate pass")
    wait_for(lambda: first(apis[DEVELOPER].get("/api/v1/housing-checks", returnee_id=returnee_id)),
             "the developer's check")
    record = wait_for(lambda: first(apis[FLOATING].get("/api/v1/registrations",
                                                       returnee_id=returnee_id)),
                      "the floating-population registration")
    # Every party's part recorded: the linkage changes no more unless a request writes.
    wait_for(lambda: apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id).json()["dispatched_at"],
             "the committee to record every party's part")
    KNOWN["id"] = returnee_id
    export = apis[COMMITTEE].post("/api/v1/people/exports", {
        "id_number": registration()["id_number"], "reason": "the known export"})
    assert export.status_code == 202, export.text
    tenancy = apis[FLOATING].post("/api/v1/tenancies", tenancy_body("Known Tenant"))
    assert tenancy.status_code == 201, tenancy.text
    tenancy_id = tenancy.json()["id"]
    wait_for(lambda: first(apis[PROPERTY].get("/api/v1/tenant-access", tenancy_id=tenancy_id)),
             "the known tenant's access")
    wait_for(lambda: first(apis[COMMITTEE].get("/api/v1/tenants", flat="12-1-101")),
             "the committee's known tenant")
    wait_for(lambda: all(t["parties"][p]["acknowledged_at"] for t in apis[FLOATING].get(
        "/api/v1/tenancies/%s" % tenancy_id).json()["tenants"] for p in (POLICE, PROPERTY)),
        "the office to record both parties' parts")
    occupant = apis[PROPERTY].post("/api/v1/occupants", {
        "flat": {"building": "12", "unit": "1", "room": "102"}, "name": "Known Occupant"})
    assert occupant.status_code == 201, occupant.text
    # The committee's timer made the day's briefing at start; every party has its part.
    day = wait_for(lambda: first(apis[COMMITTEE].get("/api/v1/briefings")), "the day's briefing")["date"]
    for party in (POLICE, FLOATING, PROPERTY, DEVELOPER):
        wait_for(lambda: apis[party].get("/api/v1/briefings/latest").status_code == 200,
                 "%s's part of the briefing" % party)
    return {"id": returnee_id, "registration": record["id"], "flat": "-".join(KNOWN_FLAT),
            "export": export.json()["id"], "tenancy": tenancy_id, "occupant": occupant.json()["id"],
            "day": day, "month": day[:7]}


def tenancy_body(*names, rooms=2):
    """A tenancy the office would register, at flat 12-1-101, of fresh tenants."""
    tenants = []
    for name in names:
        person = registration(name=name)
        tenants.append({key: person[key] for key in ("name", "id_number", "phone", "local_hukou")})
    return {"flat": {"building": "12", "unit": "1", "room": "101"}, "landlord": "Zhou Ming",
            "rooms": rooms, "start_date": date.today().isoformat(), "tenants": tenants}


def url(system, known, service, path):
    return system.url(service) + path.format(**known)


def valid_body(service, path):
    """A body the endpoint would accept, so only the thing under test is wrong."""
    if path == "/api/v1/returnees":
        return rejectable(registration(name="Rejected %s" % uuid.uuid4().hex[:8]))
    if path.endswith("/decision"):
        return {"outcome": "cleared", "note": "identity verified"}
    if path == "/api/v1/allocations":
        return {"building": "88", "unit": "8", "room": "808", "household": ["Never Saved"]}
    if path.endswith("/correction"):
        return {"name": "Never Corrected", "phone": "13700137000", "reason": "misspelt"}
    if path == "/api/v1/people/erasure":
        return {"returnee_id": KNOWN["id"], "reason": "asked in person"}
    if path == "/api/v1/tenancies":
        return tenancy_body("Never Rented")
    if path.endswith("/end"):
        return {"reason": "moved out"}
    if path == "/api/v1/occupants":
        return {"flat": {"building": "12", "unit": "1", "room": "109"}, "name": "Never Seen"}
    if path == "/api/v1/briefings":
        return {"date": OLD_BRIEFING_DAY}
    return None


# The day a refused request to make a briefing names: none is ever made for it.
OLD_BRIEFING_DAY = "2001-01-01"


def rejectable(body, by_id=True):
    """Remember a registration that must be refused (its name, and its ID
    number unless the same person is legitimately registered elsewhere)."""
    REJECTED.append({"name": body.get("name") if isinstance(body.get("name"), str) else None,
                     "id_number": body.get("id_number") if by_id else None})
    return body


def written(db, known):
    """Everything a request to any service could write, as comparable state:
    the committee's linkages, the developer's allocations, the known police
    check and every service's audit trail."""
    check = db(POLICE)["checks"].find_one({"_id": known["id"]}) or {}
    linkage = db(COMMITTEE)["linkages"].find_one({"_id": known["id"]}) or {}
    tenancy = db(FLOATING)["tenancies"].find_one({"_id": known.get("tenancy")}) or {}
    state = {
        "tenancies": db(FLOATING)["tenancies"].count_documents({}),
        "known_tenancy": (tenancy.get("version"), tenancy.get("status")),
        "occupants": db(PROPERTY)["occupants"].count_documents({}),
        # A correction or an erasure writes the known linkage (and its events) at once.
        "known_linkage": (linkage.get("version"), linkage.get("name"),
                          len(linkage.get("corrections", ())), bool(linkage.get("erasure"))),
        "linkages": db(COMMITTEE)["linkages"].count_documents({}),
        "allocations": db(DEVELOPER)["allocations"].count_documents({}),
        "person_exports": db(COMMITTEE)["person_exports"].count_documents({}),
        "old_briefings": db(COMMITTEE)["briefings"].count_documents({"_id": OLD_BRIEFING_DAY}),
        "known_check": (check.get("status"), check.get("version"), check.get("decided_by")),
    }
    for service in ALL:
        state["audit:" + service] = audit_count(db(service))
    return state


@contextmanager
def nothing_written(db, known):
    """`written` is the same after the block as before it."""
    before = written(db, known)
    yield
    assert written(db, known) == before


def audit_count(database):
    """How many audit records a service keeps: in a collection a month
    (`audit_YYYY_MM`), or in the one `audit` collection before those."""
    return sum(database[name].count_documents({}) for name in database.list_collection_names()
               if name == "audit" or name.startswith("audit_"))


def assert_problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json"), \
        response.headers["Content-Type"]
    problem = response.json()
    assert problem["status"] == status
    assert problem["title"] and problem["detail"]
    return problem


def error_fields(problem):
    fields = [error["field"] for error in problem.get("errors", [])]
    assert all(error.get("reason") for error in problem["errors"]), problem
    return fields


def send(system, known, service, method, path, headers=None, body=None):
    return requests.request(method, url(system, known, service, path), headers=headers or {},
                            json=body, timeout=15)


def post_json_bytes(system, service, path, raw):
    headers = dict(auth(service), **{"Content-Type": "application/json"})
    return requests.post(system.url(service) + path, data=raw, headers=headers, timeout=15)


def test_a_group_under_one_write_check_fails_naming_the_request_that_wrote(apis, db, known):
    """The control for the tests that send several requests under one check
    (tests/e2e/grouped.py): a refused decision, an allocation of a new flat
    (written: counted in `written`), a refused allocation."""
    def sent(what):
        if what == "a decision with nothing in it":
            response = apis[POLICE].post("/api/v1/checks/%s/decision" % known["id"], {})
        elif what == "an allocation with nothing in it":
            response = apis[DEVELOPER].post("/api/v1/allocations", {})
        else:
            response = apis[DEVELOPER].post("/api/v1/allocations", {
                "building": "ctl%s" % uuid.uuid4().hex[:8], "unit": "1", "room": "101",
                "household": ["Control Person"]})
        assert response.status_code in (201, 422), response.text
    with pytest.raises(AssertionError) as failed:
        check_each(["a decision with nothing in it", "a new flat's allocation",
                    "an allocation with nothing in it"], sent, lambda: nothing_written(db, known))
    message = str(failed.value)
    assert "the group wrote: " in message and "'allocations'" in message
    assert "a new flat's allocation, sent alone, wrote: " in message
    assert "a decision with nothing in it, sent alone" not in message
    assert "an allocation with nothing in it, sent alone" not in message


# --- 401 and 403 ----------------------------------------------------------------

def _expired_token(agency):
    return issue_token(development_key(DEVELOPMENT_SECRET, agency), agency, "tester", ttl_seconds=60,
                       now=1_000_000_000)


def _tampered_token(agency):
    """A real token of the agency whose claims were edited (another user, a
    made-up role) and its signature kept."""
    claims_part, signature = token_for(agency, roles=["auditor"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(claims_part + "=" * (-len(claims_part) % 4)))
    claims.update(sub="someone-else", roles=sorted(ROLES[agency]))
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return forged + "." + signature


BAD_CREDENTIALS = {
    "no header": lambda agency: {},
    "empty bearer": lambda agency: {"Authorization": "Bearer "},
    "other scheme": lambda agency: {"Authorization": "Basic dGVzdGVyOnNlY3JldA=="},
    "garbage token": lambda agency: {"Authorization": "Bearer not-a-token"},
    "three parts": lambda agency: {"Authorization": "Bearer a.b.c"},
    "wrong secret": lambda agency: {"Authorization": "Bearer " + token_for(
        agency, secret="some-other-secret-that-is-long-enough-000")},
    "expired": lambda agency: {"Authorization": "Bearer " + _expired_token(agency)},
    "tampered claims": lambda agency: {"Authorization": "Bearer " + _tampered_token(agency)},
    "non-ASCII": lambda agency: {"Authorization": "Bearer " + token_for(agency)[:-2] + "é"},
}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_a_request_without_a_valid_token_is_401_and_writes_nothing(system, known, db, endpoint):
    """Each of BAD_CREDENTIALS in turn, under one write check (tests/e2e/grouped.py)."""
    service, method, path = endpoint

    def refused(credentials):
        response = send(system, known, service, method, path,
                        headers=BAD_CREDENTIALS[credentials](service),
                        body=valid_body(service, path))
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    check_each(sorted(BAD_CREDENTIALS), refused, lambda: nothing_written(db, known))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_another_agencys_token_is_403_and_writes_nothing(system, known, db, endpoint):
    service, method, path = endpoint
    before = written(db, known)
    for other in ALL:
        if other == service:
            continue
        response = send(system, known, service, method, path, headers=auth(other),
                        body=valid_body(service, path))
        problem = assert_problem(response, 403)
        assert other in problem["detail"]
    assert written(db, known) == before


# --- 400, 415, 413 --------------------------------------------------------------

MALFORMED = {
    "truncated": b'{"name": "Li',
    "trailing comma": b'{"outcome": "cleared",}',
    "not json": b"outcome=cleared",
    "empty": b"",
    "not utf-8": b'{"name": "\xff\xfe"}',
    "single quotes": b"{'outcome': 'cleared'}",
}


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_malformed_json_is_400_and_writes_nothing(system, known, db, endpoint):
    """Each of MALFORMED in turn, under one write check."""
    service, _, path = endpoint

    def refused(malformed):
        response = post_json_bytes(system, service, path.format(**known), MALFORMED[malformed])
        assert_problem(response, 400)
    check_each(sorted(MALFORMED), refused, lambda: nothing_written(db, known))


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_body_that_is_not_json_is_415_and_writes_nothing(system, known, db, endpoint):
    """Each Content-Type in turn (None: none), under one write check."""
    service, _, path = endpoint

    def refused(content_type):
        raw = json.dumps(valid_body(service, path)).encode()
        headers = auth(service)
        if content_type:
            headers["Content-Type"] = content_type
        response = requests.post(url(system, known, service, path), data=raw, headers=headers,
                                 timeout=15)
        assert_problem(response, 415)
    check_each(["text/plain", "application/x-www-form-urlencoded", "application/xml", None],
               refused, lambda: nothing_written(db, known))


def padded(body, size):
    """`body` as JSON of exactly `size` bytes (padded with whitespace, which
    JSON ignores)."""
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)
def test_a_body_over_the_limit_is_413_and_writes_nothing(system, known, db, endpoint):
    service, method, path = endpoint
    before = written(db, known)
    raw = padded(valid_body(service, path) or {}, MAX_BODY_BYTES + 1)
    response = requests.request(method, url(system, known, service, path), data=raw, timeout=15,
                                headers=dict(auth(service), **{"Content-Type": "application/json"}))
    assert_problem(response, 413)
    assert written(db, known) == before


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_chunked_body_over_the_limit_is_413_and_writes_nothing(system, known, db, endpoint):
    """No Content-Length to refuse up front: the limit holds while reading."""
    service, _, path = endpoint
    before = written(db, known)
    raw = padded(valid_body(service, path), 4 * MAX_BODY_BYTES)
    chunks = (raw[i:i + 8192] for i in range(0, len(raw), 8192))
    response = requests.post(url(system, known, service, path), data=chunks, timeout=15,
                             headers=dict(auth(service), **{"Content-Type": "application/json"}))
    assert_problem(response, 413)
    assert written(db, known) == before


def test_a_body_of_exactly_the_limit_is_accepted(apis, system):
    body = registration(name="Exactly Sixty-Four K")
    response = post_json_bytes(system, COMMITTEE, "/api/v1/returnees", padded(body, MAX_BODY_BYTES))
    assert response.status_code == 201, response.text


def test_a_chunked_body_within_the_limit_is_read(system, db):
    """A body without Content-Length is the body, not an empty one."""
    raw = json.dumps(registration(name="Chunked Person")).encode()
    chunks = (raw[i:i + 16] for i in range(0, len(raw), 16))
    response = requests.post(system.url(COMMITTEE) + "/api/v1/returnees", data=chunks, timeout=15,
                             headers=dict(auth(COMMITTEE), **{"Content-Type": "application/json"}))
    assert response.status_code == 201, response.text
    assert db(COMMITTEE)["linkages"].count_documents({"name": "Chunked Person"}) == 1


# --- 422 on bodies ----------------------------------------------------------------

def bad_check_digit(id_number):
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def tomorrow():
    return (date.today() + timedelta(days=1)).isoformat()


def test_a_registration_with_everything_wrong_names_every_bad_field(apis, db, known):
    body = registration(name="Rejected Everything")
    body["id_number"] = bad_check_digit(body["id_number"])
    body["phone"] = "1391234567"
    body["arrival_date"] = tomorrow()
    del body["address"]["room"]
    body["local_hukou"] = "no"
    body["nickname"] = "Xiao Wei"
    rejectable(body)
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees", body), 422)
    assert sorted(error_fields(problem)) == sorted(
        ["id_number", "phone", "arrival_date", "address.room", "local_hukou", "nickname"])
    for field in error_fields(problem):
        assert field in problem["detail"]
    assert written(db, known) == before


def test_an_empty_registration_names_every_required_field(apis, db, known):
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees", {}), 422)
    assert sorted(error_fields(problem)) == sorted(
        ["name", "id_number", "phone", "address", "origin", "arrival_date", "local_hukou"])
    assert written(db, known) == before


def _without(key):
    return lambda body: {k: v for k, v in body.items() if k != key}


def _with(**changes):
    return lambda body: dict(body, **changes)


def _address(**changes):
    return lambda body: dict(body, address=dict(body["address"], **changes))


def _address_without(key):
    return lambda body: dict(body, address={k: v for k, v in body["address"].items() if k != key})


BAD_REGISTRATIONS = {
    "check digit": (lambda body: dict(body, id_number=bad_check_digit(body["id_number"])),
                    "id_number"),
    "id 17 characters": (lambda body: dict(body, id_number=body["id_number"][:17]), "id_number"),
    "id 19 characters": (lambda body: dict(body, id_number=body["id_number"] + "1"), "id_number"),
    "id letters": (_with(id_number="42010619800101ABCD"), "id_number"),
    "id unknown region": (lambda body: dict(body, id_number="99" + body["id_number"][2:17] + "0"),
                          "id_number"),
    "id impossible birth date": (
        lambda body: dict(body, id_number="42010619801301001" + check_char("42010619801301001")),
        "id_number"),
    "id a number": (_with(id_number=420106198001010011), "id_number"),
    "id null": (_with(id_number=None), "id_number"),
    "phone 10 digits": (_with(phone="1391234567"), "phone"),
    "phone 12 digits": (_with(phone="139123456789"), "phone"),
    "phone landline": (_with(phone="02787654321"), "phone"),
    "phone with spaces": (_with(phone="139 1234 5678"), "phone"),
    # tomorrow as of the request, not of collection (a run that crosses midnight)
    "future arrival": (lambda body: dict(body, arrival_date=tomorrow()), "arrival_date"),
    "arrival not a date": (_with(arrival_date="2024-13-01"), "arrival_date"),
    "arrival a timestamp": (_with(arrival_date=1700000000), "arrival_date"),
    "hukou a string": (_with(local_hukou="true"), "local_hukou"),
    "hukou a number": (_with(local_hukou=1), "local_hukou"),
    "hukou null": (_with(local_hukou=None), "local_hukou"),
    "no room": (_address_without("room"), "address.room"),
    "empty building": (_address(building=""), "address.building"),
    "unit too long": (_address(unit="1" * 21), "address.unit"),
    "unknown address field": (_address(floor="3"), "address.floor"),
    "address a string": (_with(address="3-2-301"), "address"),
    "empty name": (_with(name=""), "name"),
    "blank name": (_with(name="   "), "name"),
    "name too long": (_with(name="N" * 51), "name"),
    "name a number": (_with(name=42), "name"),
    "no origin": (_without("origin"), "origin"),
    "empty origin": (_with(origin=""), "origin"),
    "blank origin": (_with(origin=" \t "), "origin"),
    "hukou zero": (_with(local_hukou=0), "local_hukou"),
    "unknown field": (_with(nickname="Xiao Wei"), "nickname"),
}


@pytest.mark.parametrize("case", sorted(BAD_REGISTRATIONS))
def test_a_registration_with_one_bad_field_is_422_naming_it(apis, db, known, case):
    spoil, field = BAD_REGISTRATIONS[case]
    body = rejectable(spoil(registration(name="Rejected %s" % uuid.uuid4().hex[:8])))
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees", body), 422)
    assert error_fields(problem) == [field]
    assert written(db, known) == before


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS, ids=endpoint_id)
def test_a_body_that_is_not_an_object_is_422(system, known, db, endpoint):
    """Each body in turn, under one write check."""
    service, _, path = endpoint

    def refused(body):
        response = post_json_bytes(system, service, path.format(**known),
                                   json.dumps(body).encode())
        assert error_fields(assert_problem(response, 422)) == ["_body"]
    check_each([[], ["a"], "text", 42, None], refused, lambda: nothing_written(db, known),
               name=repr)


def test_a_bad_idempotency_key_is_named_with_the_bad_body_fields(apis, db, known):
    body = rejectable(registration(name="Rejected Key"))
    body["phone"] = "123"
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees", body,
                                                  {"Idempotency-Key": "k" * 129}), 422)
    assert sorted(error_fields(problem)) == ["Idempotency-Key", "phone"]
    assert written(db, known) == before


def test_an_idempotency_key_too_long_is_422(apis, db, known):
    body = rejectable(registration(name="Rejected Long Key"))
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees", body,
                                                  {"Idempotency-Key": "k" * 129}), 422)
    assert error_fields(problem) == ["Idempotency-Key"]
    assert written(db, known) == before


BAD_DECISIONS = {
    "everything": ({"outcome": "maybe", "note": "", "officer": "me"}, ["note", "officer", "outcome"]),
    "nothing": ({}, ["note", "outcome"]),
    "outcome lower-case only": ({"outcome": "CLEARED", "note": "ok"}, ["outcome"]),
    "note too long": ({"outcome": "cleared", "note": "n" * 1001}, ["note"]),
    "note a list": ({"outcome": "flagged", "note": ["risk"]}, ["note"]),
    "outcome null": ({"outcome": None, "note": "ok"}, ["outcome"]),
}


@pytest.mark.parametrize("case", sorted(BAD_DECISIONS))
def test_a_bad_decision_is_422_naming_every_bad_field(apis, db, known, case):
    body, fields = BAD_DECISIONS[case]
    before = written(db, known)
    problem = assert_problem(apis[POLICE].post("/api/v1/checks/%s/decision" % known["id"], body), 422)
    assert sorted(error_fields(problem)) == fields
    assert written(db, known) == before


BAD_ALLOCATIONS = {
    "everything": ({"building": "", "unit": 5, "household": [], "handed_over": "yes", "x": 1},
                   ["building", "handed_over", "household", "room", "unit", "x"]),
    "nothing": ({}, ["building", "household", "room", "unit"]),
    "blank member": ({"building": "1", "unit": "1", "room": "1", "household": ["Li", ""]},
                     ["household.1"]),
    "household a string": ({"building": "1", "unit": "1", "room": "1", "household": "Li"},
                           ["household"]),
    "too many members": ({"building": "1", "unit": "1", "room": "1",
                          "household": ["Member %d" % i for i in range(31)]}, ["household"]),
    "handed_over a number": ({"building": "1", "unit": "1", "room": "1", "household": ["Li"],
                              "handed_over": 0}, ["handed_over"]),
}


@pytest.mark.parametrize("case", sorted(BAD_ALLOCATIONS))
def test_a_bad_allocation_is_422_naming_every_bad_field(apis, db, known, case):
    body, fields = BAD_ALLOCATIONS[case]
    before = written(db, known)
    problem = assert_problem(apis[DEVELOPER].post("/api/v1/allocations", body), 422)
    assert sorted(error_fields(problem)) == fields
    assert written(db, known) == before


BAD_CORRECTIONS = {
    "everything": ({"name": "", "phone": "123", "reason": "", "x": 1},
                   ["name", "phone", "reason", "x"]),
    "nothing": ({}, ["name", "phone", "reason"]),
    "a reason alone": ({"reason": "typo"}, ["name", "phone"]),
    "name blank": ({"name": " \t", "reason": "typo"}, ["name"]),
    "name too long": ({"name": "n" * 51, "reason": "typo"}, ["name"]),
    "phone a landline": ({"phone": "02012345678", "reason": "typo"}, ["phone"]),
    "phone a number": ({"phone": 13800138000, "reason": "typo"}, ["phone"]),
    "reason too long": ({"name": "Known Persen", "reason": "r" * 201}, ["reason"]),
    "name null": ({"name": None, "reason": "typo"}, ["name"]),
    "the name registered already": ({"name": "Known Person", "reason": "typo"}, ["name"]),
}


@pytest.mark.parametrize("case", sorted(BAD_CORRECTIONS))
def test_a_bad_correction_is_422_naming_every_bad_field(apis, db, known, case):
    body, fields = BAD_CORRECTIONS[case]
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees/%s/correction" % known["id"],
                                                  body), 422)
    assert sorted(set(error_fields(problem))) == fields  # a blank text: two reasons
    assert written(db, known) == before


BAD_ERASURES = {
    "nothing": ({}, ["reason", "returnee_id"]),
    "blank": ({"returnee_id": " ", "reason": ""}, ["reason", "returnee_id"]),
    "id a number": ({"returnee_id": 5, "reason": "asked"}, ["returnee_id"]),
    "reason too long": ({"returnee_id": "{id}", "reason": "r" * 201}, ["reason"]),
    "an unknown field": ({"returnee_id": "{id}", "reason": "asked", "name": "Known Person"},
                         ["name"]),
}


@pytest.mark.parametrize("case", sorted(BAD_ERASURES))
def test_a_bad_erasure_request_is_422_naming_every_bad_field(apis, db, known, case):
    body, fields = BAD_ERASURES[case]
    body = {key: value.format(**known) if isinstance(value, str) else value
            for key, value in body.items()}
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/people/erasure", body), 422)
    assert sorted(set(error_fields(problem))) == fields  # a blank text: two reasons
    assert written(db, known) == before


def test_a_desk_clerk_may_neither_correct_nor_erase(system, db, known):
    """Both are a supervisor's: the desk role is refused, and nothing is written."""
    before = written(db, known)
    for path in ("/api/v1/returnees/{id}/correction", "/api/v1/people/erasure"):
        response = send(system, known, COMMITTEE, "POST", path,
                        headers=auth(COMMITTEE, roles=["desk"]), body=valid_body(COMMITTEE, path))
        assert assert_problem(response, 403)["missing_permission"] in ("returnees:correct",
                                                                       "people:erase")
    assert written(db, known) == before


BAD_TENANCIES = {
    "everything": (lambda body: {"flat": {"building": ""}, "landlord": " ", "rooms": "2",
                                 "start_date": "2024-13-01", "end_date": "soon", "tenants": [],
                                 "x": 1},
                   ["end_date", "flat.building", "flat.room", "flat.unit", "landlord", "rooms",
                    "start_date", "tenants", "x"]),
    "nothing": (lambda body: {}, ["flat", "landlord", "rooms", "start_date", "tenants"]),
    "a tenant with everything wrong": (
        lambda body: dict(body, tenants=[{"name": "", "id_number": bad_check_digit(
            body["tenants"][0]["id_number"]), "phone": "1391234567", "local_hukou": "no",
            "age": 30}]),
        ["tenants.0.age", "tenants.0.id_number", "tenants.0.local_hukou", "tenants.0.name",
         "tenants.0.phone"]),
    "a tenant listed twice": (lambda body: dict(body, tenants=body["tenants"] * 2), ["tenants"]),
    "ends before it starts": (lambda body: dict(body, end_date=(date.today() - timedelta(days=1))
                                                .isoformat()), ["end_date"]),
    "starts too far ahead": (lambda body: dict(body, start_date=(date.today() + timedelta(days=31))
                                               .isoformat()), ["start_date"]),
    "no rooms": (lambda body: dict(body, rooms=0), ["rooms"]),
    "rooms a fraction": (lambda body: dict(body, rooms=1.5), ["rooms"]),
    "tenants an object": (lambda body: dict(body, tenants=body["tenants"][0]), ["tenants"]),
    "too many tenants": (lambda body: dict(body, tenants=[dict(body["tenants"][0])] * 51),
                         ["tenants"]),
}


@pytest.mark.parametrize("case", sorted(BAD_TENANCIES))
def test_a_bad_tenancy_is_422_naming_every_bad_field(apis, db, known, case):
    spoil, fields = BAD_TENANCIES[case]
    before = written(db, known)
    problem = assert_problem(apis[FLOATING].post("/api/v1/tenancies",
                                                 spoil(tenancy_body("Rejected Tenant"))), 422)
    assert sorted(set(error_fields(problem))) == fields
    assert written(db, known) == before


BAD_ENDS = {
    "everything": ({"ended_on": "tomorrow", "reason": "", "by": "me"}, ["by", "ended_on", "reason"]),
    "in the future": ({"ended_on": "{tomorrow}"}, ["ended_on"]),
    "reason blank": ({"reason": "  "}, ["reason"]),
    "reason too long": ({"reason": "r" * 501}, ["reason"]),
}


@pytest.mark.parametrize("case", sorted(BAD_ENDS))
def test_a_bad_end_of_a_tenancy_is_422_naming_every_bad_field(apis, db, known, case):
    body, fields = BAD_ENDS[case]
    body = {key: value.format(tomorrow=tomorrow()) if isinstance(value, str) else value
            for key, value in body.items()}
    before = written(db, known)
    problem = assert_problem(apis[FLOATING].post("/api/v1/tenancies/%s/end" % known["tenancy"],
                                                 body), 422)
    assert sorted(set(error_fields(problem))) == fields
    assert written(db, known) == before


def test_an_end_before_the_tenancy_started_is_409_and_writes_nothing(apis, db, known):
    before = written(db, known)
    problem = assert_problem(apis[FLOATING].post(
        "/api/v1/tenancies/%s/end" % known["tenancy"],
        {"ended_on": (date.today() - timedelta(days=1)).isoformat()}), 409)
    assert "cannot end before" in problem["detail"]
    assert written(db, known) == before


BAD_OCCUPANTS = {
    "everything": ({"flat": {"building": "", "room": 5}, "name": " ", "note": "", "x": 1},
                   ["flat.building", "flat.room", "flat.unit", "name", "note", "x"]),
    "nothing": ({}, ["flat", "name"]),
    "flat a string": ({"flat": "12-1-102", "name": "Li"}, ["flat"]),
    "name too long": ({"flat": {"building": "1", "unit": "1", "room": "1"}, "name": "n" * 51},
                      ["name"]),
}


@pytest.mark.parametrize("case", sorted(BAD_OCCUPANTS))
def test_a_bad_occupant_report_is_422_naming_every_bad_field(apis, db, known, case):
    body, fields = BAD_OCCUPANTS[case]
    before = written(db, known)
    problem = assert_problem(apis[PROPERTY].post("/api/v1/occupants", body), 422)
    assert sorted(set(error_fields(problem))) == fields
    assert written(db, known) == before


@pytest.mark.parametrize("args,fields", [
    ({}, ["flat"]), ({"flat": ""}, ["flat"]), ({"flat": "12-1-101", "status": "gone"}, ["status"]),
    ({"flat": "12-1-101", "limit": "0", "sort": "name"}, ["limit", "sort"]),
    ({"flat": "12-1-101", "cursor": "!!!"}, ["cursor"])], ids=repr)
def test_the_committees_tenants_need_a_flat_and_good_arguments(system, db, known, args, fields):
    before = written(db, known)
    response = requests.get(system.url(COMMITTEE) + "/api/v1/tenants", params=args,
                            headers=auth(COMMITTEE), timeout=15)
    assert sorted(set(error_fields(assert_problem(response, 422)))) == fields
    assert written(db, known) == before


def test_the_committees_tenants_of_a_flat_are_the_control(apis, known):
    found = apis[COMMITTEE].get("/api/v1/tenants", flat="12-1-101").json()["items"]
    assert [tenant["name"] for tenant in found] == ["Known Tenant"]


# --- 422 on query arguments -------------------------------------------------------

def cursor_of(key):
    """A cursor in the lists' own spelling (URL-safe base64 of extended JSON,
    unpadded) holding `key`: one no list handed out."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


NOT_A_CURSOR = cursor_of({"page": 2})  # base64 of JSON, but not a cursor
# Cursors no list handed out: none of them is a place in any list.
BAD_CURSORS = {"not base64": "!!!", "base64 of text": "bm90IGEgY3Vyc29y",
               "base64 of JSON, not a cursor": NOT_A_CURSOR, "empty": "",
               "three values": cursor_of([1, 2, 3]), "no id": cursor_of(["2025-01-01", None]),
               "over 2000 characters": "A" * 2001}

BAD_QUERIES = {
    "/api/v1/returnees": {"status": "bogus", "overdue": "maybe", "party": "committee",
                          "limit": "0", "cursor": "!!!"},
    "/api/v1/checks": {"status": "bogus", "overdue": "maybe", "limit": "501",
                       "cursor": NOT_A_CURSOR},
    "/api/v1/registrations": {"status": "bogus", "limit": "0", "cursor": "!!!"},
    "/api/v1/passes": {"status": "lost", "limit": "many", "cursor": NOT_A_CURSOR},
    "/api/v1/housing-checks": {"result": "bogus", "mismatch": "perhaps", "limit": "0",
                               "cursor": "!!!"},
    "/api/v1/audit": {"limit": "1001"},
    "/api/v1/tenancies": {"status": "gone", "checks": "half", "overdue": "maybe", "flat": "",
                          "limit": "0", "cursor": "!!!"},
    "/api/v1/tenant-access": {"status": "lost", "flat": "", "name": " ", "limit": "0",
                              "cursor": NOT_A_CURSOR},
    "/api/v1/occupants": {"status": "lost", "flat": "", "limit": "501", "cursor": "!!!"},
    "/api/v1/briefings": {"from": "2026-13-01", "to": "yesterday", "limit": "0", "cursor": "!!!"},
}


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=lambda e: "%s %s" % e)
def test_bad_query_arguments_are_422_naming_every_one(system, db, known, endpoint):
    service, path = endpoint
    args = dict(BAD_QUERIES[path], sort="name")  # `sort` is not an argument of any list
    before = written(db, known)
    response = requests.get(system.url(service) + path, params=args, headers=auth(service),
                            timeout=15)
    problem = assert_problem(response, 422)
    assert sorted(error_fields(problem)) == sorted(args)
    assert written(db, known) == before


ONE_BAD_ARGUMENT = [{"limit": "0"}, {"limit": "-1"}, {"limit": "abc"},
                    {"offset": "0"},  # paging is by cursor now: unknown
                    {"status": "bogus"}]


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=lambda e: "%s %s" % e)
def test_one_bad_query_argument_is_422_naming_it(system, db, known, endpoint):
    """Each of ONE_BAD_ARGUMENT in turn, under one write check."""
    service, path = endpoint

    def refused(args):
        response = requests.get(system.url(service) + path, params=args, headers=auth(service),
                                timeout=15)
        assert error_fields(assert_problem(response, 422)) == list(args)
    check_each(ONE_BAD_ARGUMENT, refused, lambda: nothing_written(db, known), name=repr)


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=lambda e: "%s %s" % e)
def test_a_long_query_is_422_naming_its_arguments_not_a_bare_414(system, db, known, endpoint):
    """A query of ~20 KB (a repeated `limit`, an over-long `cursor`), over
    eventlet's own 8 KiB request line, reaches the API and is refused there
    like any other bad argument (MAX_URL_BYTES, shared/web.py)."""
    service, path = endpoint
    args = [("limit", "x" * 100)] * 150 + [("cursor", "c" * 5000)]
    with nothing_written(db, known):
        response = requests.get(system.url(service) + path, params=args, headers=auth(service),
                                timeout=15)
        assert len(response.request.url) > 20000
        assert sorted(set(error_fields(assert_problem(response, 422)))) == ["cursor", "limit"]


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS, ids=lambda e: "%s %s" % e)
def test_a_cursor_no_list_handed_out_is_422_naming_it(system, db, known, endpoint):
    """Each of BAD_CURSORS in turn, under one write check."""
    service, path = endpoint

    def refused(cursor):
        response = requests.get(system.url(service) + path,
                                params={"cursor": BAD_CURSORS[cursor]}, headers=auth(service),
                                timeout=15)
        problem = assert_problem(response, 422)
        assert set(error_fields(problem)) == {"cursor"}  # an empty one fails two ways
        assert "cursor" in problem["detail"]
    check_each(sorted(BAD_CURSORS), refused, lambda: nothing_written(db, known))


# Cursors in the lists' spelling whose values the database cannot take.
UNSTORABLE_CURSORS = {"an integer past 64 bits": cursor_of([1, 10 ** 30]),
                      "an ObjectId that is not one": cursor_of(["x", {"$oid": "zz"}])}


@pytest.mark.parametrize("endpoint", [e for e in LIST_ENDPOINTS if e[1] != "/api/v1/audit"],
                         ids=lambda e: "%s %s" % e)
def test_a_cursor_the_database_cannot_take_is_422_not_500(system, db, known, endpoint):
    """Each of UNSTORABLE_CURSORS in turn, under one write check."""
    service, path = endpoint

    def refused(cursor):
        response = requests.get(system.url(service) + path,
                                params={"cursor": UNSTORABLE_CURSORS[cursor]},
                                headers=auth(service), timeout=15)
        assert error_fields(assert_problem(response, 422)) == ["cursor"]
    check_each(sorted(UNSTORABLE_CURSORS), refused, lambda: nothing_written(db, known))


def walk(api, path, **args):
    """Every page of a list, each asked for by the `next` of the one before."""
    pages = [api.get(path, **args)]
    while pages[-1].status_code == 200 and pages[-1].json()["next"] and len(pages) < 1000:
        pages.append(api.get(path, cursor=pages[-1].json()["next"], **args))
    for response in pages:
        assert response.status_code == 200, response.text
    return [response.json() for response in pages]


def test_a_list_paged_by_its_cursors_holds_every_match_once(apis, db):
    """The control for the 422s above: the cursors a list hands out, in turn."""
    building = "pg%s" % uuid.uuid4().hex[:6]
    flats = []
    for room in range(101, 108):
        response = apis[DEVELOPER].post("/api/v1/allocations", {
            "building": building, "unit": "1", "room": str(room), "household": ["Paged"]})
        assert response.status_code == 201, response.text
        flats.append(response.json()["id"])
    pages = walk(apis[DEVELOPER], "/api/v1/allocations", building=building, limit=3)
    assert [(len(page["items"]), page["total"], page["total_capped"], page["limit"])
            for page in pages] == [(3, 7, False, 3), (3, 7, False, 3), (1, 7, False, 3)]
    assert [item["id"] for page in pages for item in page["items"]] == sorted(flats)
    assert pages[-1]["next"] is None and all(page["next"] for page in pages[:-1])


# --- NUL characters -----------------------------------------------------------------
# PostgreSQL (under FerretDB) cannot store U+0000: a NUL anywhere in the path, the
# query or a body is a 400 before anything is read into a document.

def _nul_in(field, value):
    return lambda body: dict(body, **{field: value})


def _nul_in_address(**changes):
    return lambda body: dict(body, address=dict(body["address"], **changes))


# (service, path, the valid body, how a NUL gets into it)
NUL_BODIES = {
    "registration: a value": (COMMITTEE, "/api/v1/returnees", _nul_in("origin", "Wuhan\x00Hubei")),
    "registration: only a NUL": (COMMITTEE, "/api/v1/returnees", _nul_in("origin", "\x00")),
    "registration: a nested value": (COMMITTEE, "/api/v1/returnees",
                                     _nul_in_address(room="30\x001")),
    "registration: a key": (COMMITTEE, "/api/v1/returnees", _nul_in("nick\x00name", "Wei")),
    "registration: a nested key": (COMMITTEE, "/api/v1/returnees",
                                   _nul_in_address(**{"room\x00": "301"})),
    "decision: a value": (POLICE, "/api/v1/checks/{id}/decision",
                          _nul_in("note", "identity\x00verified")),
    "decision: a key": (POLICE, "/api/v1/checks/{id}/decision", _nul_in("\x00", "x")),
    "allocation: a list item": (DEVELOPER, "/api/v1/allocations",
                                _nul_in("household", ["Never\x00Saved"])),
    "allocation: a key": (DEVELOPER, "/api/v1/allocations", _nul_in("unit\x00", "8")),
}


@pytest.mark.parametrize("case", sorted(NUL_BODIES))
def test_a_nul_in_a_json_body_is_400_and_writes_nothing(system, known, db, case):
    service, path, spoil = NUL_BODIES[case]
    body = spoil(valid_body(service, path))
    raw = json.dumps(body).encode()
    assert b"\\u0000" in raw
    before = written(db, known)
    problem = assert_problem(post_json_bytes(system, service, path.format(**known), raw), 400)
    assert "NUL" in problem["detail"]
    assert written(db, known) == before


def test_a_nul_byte_in_json_is_400_and_writes_nothing(system, known, db):
    """Not even escaped: JSON allows no control character in a string."""
    body = rejectable(registration(name="Rejected Raw NUL"))
    raw = json.dumps(body).encode().replace(b"Wuhan", b"Wu\x00han")
    before = written(db, known)
    assert_problem(post_json_bytes(system, COMMITTEE, "/api/v1/returnees", raw), 400)
    assert written(db, known) == before


NUL_PATHS = [(COMMITTEE, "GET", "/api/v1/returnees/{id}%00"),
             (POLICE, "GET", "/api/v1/checks/%00{id}"),
             (POLICE, "POST", "/api/v1/checks/{id}%00/decision"),
             (FLOATING, "GET", "/api/v1/registrations/{registration}%00"),
             (DEVELOPER, "GET", "/api/v1/allocations/{flat}%00"),
             (DEVELOPER, "GET", "/api/v1/allocations/%00")]


@pytest.mark.parametrize("endpoint", NUL_PATHS, ids=endpoint_id)
def test_a_nul_in_the_path_is_400_and_writes_nothing(system, known, db, endpoint):
    service, method, path = endpoint
    body = valid_body(service, path.replace("%00", ""))
    before = written(db, known)
    problem = assert_problem(send(system, known, service, method, path, headers=auth(service),
                                  body=body), 400)
    assert "NUL" in problem["detail"]
    assert written(db, known) == before


NUL_QUERIES = [(COMMITTEE, "/api/v1/returnees", {"status": "open\x00"}),
               (COMMITTEE, "/api/v1/returnees", {"returnee_id": "\x00"}),
               (POLICE, "/api/v1/checks", {"limit": "5\x00"}),
               (PROPERTY, "/api/v1/passes", {"status": "held", "name": "Li\x00Na"}),
               (DEVELOPER, "/api/v1/housing-checks", {"cursor": "abc\x00"}),
               (FLOATING, "/api/v1/audit", {"action": "sign_in", "returnee_id": "x\x00"}),
               (FLOATING, "/api/v1/registrations", {"nul\x00": "1"})]


@pytest.mark.parametrize("service,path,args", NUL_QUERIES,
                         ids=["%s %s %r" % query for query in NUL_QUERIES])
def test_a_nul_in_a_query_argument_is_400_and_writes_nothing(system, known, db, service, path,
                                                             args):
    """A 400, not a 422 naming the argument: what the query holds is not text
    any field takes."""
    before = written(db, known)
    response = requests.get(system.url(service) + path, params=args, headers=auth(service),
                            timeout=15)
    assert "%00" in response.request.url
    assert "NUL" in assert_problem(response, 400)["detail"]
    assert written(db, known) == before


# --- 404 ----------------------------------------------------------------------------

UNKNOWN = [
    (COMMITTEE, "GET", "/api/v1/returnees/%s" % uuid.uuid4(), None),
    (POLICE, "GET", "/api/v1/checks/%s" % uuid.uuid4(), None),
    (POLICE, "POST", "/api/v1/checks/%s/decision" % uuid.uuid4(),
     {"outcome": "cleared", "note": "identity verified"}),
    (FLOATING, "GET", "/api/v1/registrations/fp-000000000000", None),
    (FLOATING, "GET", "/api/v1/registrations/%s" % uuid.uuid4(), None),
    (DEVELOPER, "GET", "/api/v1/allocations/99-9-999", None),
    (COMMITTEE, "POST", "/api/v1/returnees/%s/correction" % uuid.uuid4(),
     {"name": "Nobody Known", "reason": "typo"}),
    (COMMITTEE, "POST", "/api/v1/people/erasure",
     {"returnee_id": str(uuid.uuid4()), "reason": "asked in person"}),
    (COMMITTEE, "GET", "/api/v1/trace/%s" % uuid.uuid4(), None),
    (FLOATING, "GET", "/api/v1/tenancies/%s" % uuid.uuid4(), None),
    (FLOATING, "POST", "/api/v1/tenancies/%s/end" % uuid.uuid4(), {"reason": "moved out"}),
    (PROPERTY, "GET", "/api/v1/occupants/%s" % uuid.uuid4(), None),
    (COMMITTEE, "GET", "/api/v1/briefings/%s" % OLD_BRIEFING_DAY, None),
    (COMMITTEE, "GET", "/api/v1/briefings/%s/print" % OLD_BRIEFING_DAY, None),
]


@pytest.mark.parametrize("service,method,path,body", UNKNOWN, ids=lambda v: str(v)[:40])
def test_an_unknown_id_is_404_and_writes_nothing(system, db, known, service, method, path, body):
    before = written(db, known)
    response = requests.request(method, system.url(service) + path, json=body,
                                headers=auth(service), timeout=15)
    assert_problem(response, 404)
    assert written(db, known) == before


@pytest.mark.parametrize("service", ALL)
def test_an_unknown_route_is_a_404_problem(system, service):
    response = requests.get(system.url(service) + "/api/v1/nothing-here", headers=auth(service),
                            timeout=15)
    assert_problem(response, 404)


WRONG_METHODS = [(COMMITTEE, "DELETE", "/api/v1/returnees"),
                 (COMMITTEE, "PUT", "/api/v1/returnees/{id}"),
                 (POLICE, "GET", "/api/v1/checks/{id}/decision"),
                 (POLICE, "POST", "/api/v1/checks"),
                 (FLOATING, "POST", "/api/v1/registrations"),
                 (PROPERTY, "POST", "/api/v1/passes"),
                 (DEVELOPER, "PUT", "/api/v1/allocations"),
                 (DEVELOPER, "DELETE", "/api/v1/allocations/{flat}")] + [
                     (service, "POST", "/api/v1/audit") for service in ALL]


@pytest.mark.parametrize("endpoint", WRONG_METHODS, ids=endpoint_id)
def test_a_wrong_method_is_a_405_problem_and_writes_nothing(system, known, db, endpoint):
    service, method, path = endpoint
    before = written(db, known)
    response = send(system, known, service, method, path, headers=auth(service),
                    body=valid_body(service, path))
    assert_problem(response, 405)
    assert method not in response.headers["Allow"] and response.headers["Allow"]
    assert written(db, known) == before


def test_the_floating_office_does_not_find_a_registration_by_returnee_id(apis, known):
    """Its records are addressed by registration id; the returnee id is a filter."""
    assert_problem(apis[FLOATING].get("/api/v1/registrations/%s" % known["id"]), 404)


# --- 409 ----------------------------------------------------------------------------

def test_a_second_decision_is_409_and_changes_nothing(apis, db):
    returnee_id = apis[COMMITTEE].post("/api/v1/returnees", registration(
        name="Decided Once", local_hukou=True)).json()["id"]
    wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id)),
             "the police check")
    decided = apis[POLICE].post("/api/v1/checks/%s/decision" % returnee_id,
                                {"outcome": "cleared", "note": "identity verified"})
    assert decided.status_code == 200, decided.text
    wait_for(lambda: (first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id)) or {})
             .get("status") == "issued", "the gate pass to be issued")
    before = db(POLICE)["checks"].find_one({"_id": returnee_id})

    for outcome in ("flagged", "cleared"):
        again = Api(apis[POLICE].base_url, POLICE, user="second-officer").post(
            "/api/v1/checks/%s/decision" % returnee_id, {"outcome": outcome, "note": "second look"})
        problem = assert_problem(again, 409)
        assert "cleared" in problem["detail"]

    after = db(POLICE)["checks"].find_one({"_id": returnee_id})
    assert (after["status"], after["note"], after["decided_by"], after["version"]) == (
        before["status"], before["note"], before["decided_by"], before["version"])
    assert not after.get("outbox")
    # Nothing new reached the property company: the pass stays issued.
    gate_pass = first(apis[PROPERTY].get("/api/v1/passes", returnee_id=returnee_id))
    assert gate_pass["status"] == "issued"
    assert len(db(PROPERTY)["gate_passes"].find_one({"_id": returnee_id})["applied_events"]) == 1


def open_linkages_of(db, id_number):
    """How many open linkages the committee holds for an ID number (by its
    blind index: the number itself is stored encrypted)."""
    index = Settings.from_config(COMMITTEE, {}).keyring().blind_index(id_number)
    return db(COMMITTEE)["linkages"].count_documents({"open_person": index})


def test_reusing_an_idempotency_key_for_another_registration_is_409(apis, db, known):
    headers = {"Idempotency-Key": "desk-9-%s" % uuid.uuid4().hex}
    first_try = apis[COMMITTEE].post("/api/v1/returnees", registration(name="Keyed Once"), headers)
    assert first_try.status_code == 201, first_try.text
    other = rejectable(registration(name="Rejected Same Key"))
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees", other, headers), 409)
    assert "Idempotency-Key" in problem["detail"]
    assert written(db, known) == before
    assert open_linkages_of(db, other["id_number"]) == 0


def test_the_same_key_from_another_user_is_a_new_registration(apis):
    """Keys are per user: one desk's key does not collide with another's."""
    headers = {"Idempotency-Key": "shared-%s" % uuid.uuid4().hex}
    one = apis[COMMITTEE].post("/api/v1/returnees", registration(name="Desk One"), headers)
    two = Api(apis[COMMITTEE].base_url, COMMITTEE, user="desk-two").post(
        "/api/v1/returnees", registration(name="Desk Two"), headers)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


def test_registering_a_person_with_an_open_registration_is_409(apis, db, known):
    body = registration(name="Open Already")
    assert apis[COMMITTEE].post("/api/v1/returnees", body).status_code == 201
    again = rejectable(dict(body, name="Rejected Twice", phone="13800000000"), by_id=False)
    before = written(db, known)
    problem = assert_problem(apis[COMMITTEE].post("/api/v1/returnees", again), 409)
    assert "open registration" in problem["detail"]
    assert written(db, known) == before
    assert open_linkages_of(db, body["id_number"]) == 1


def test_simultaneous_registrations_of_one_person_open_one_linkage(apis, db, known):
    from concurrent.futures import ThreadPoolExecutor
    body = registration(name="Rushed Person")
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(
            lambda user: Api(apis[COMMITTEE].base_url, COMMITTEE, user=user).post(
                "/api/v1/returnees", body), ["desk-%d" % i for i in range(6)]))
    assert sorted(response.status_code for response in responses) == [201] + [409] * 5, [
        response.text for response in responses]
    assert open_linkages_of(db, body["id_number"]) == 1


def test_a_person_whose_linkage_closed_may_register_again(apis):
    body = registration(name="Back Again", local_hukou=True)
    returnee_id = apis[COMMITTEE].post("/api/v1/returnees", body).json()["id"]
    wait_for(lambda: first(apis[POLICE].get("/api/v1/checks", returnee_id=returnee_id)),
             "the police check")
    assert apis[POLICE].post("/api/v1/checks/%s/decision" % returnee_id,
                             {"outcome": "cleared", "note": "ok"}).status_code == 200
    wait_for(lambda: apis[COMMITTEE].get("/api/v1/returnees/%s" % returnee_id).json()["status"]
             == "closed", "the linkage to close")
    again = apis[COMMITTEE].post("/api/v1/returnees", body)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != returnee_id


def test_the_same_person_differently_cased_is_still_409(apis, db, known):
    body = registration(name="Cased Person")
    while not body["id_number"].endswith("X"):
        body = registration(name="Cased Person")
    assert apis[COMMITTEE].post("/api/v1/returnees", body).status_code == 201
    again = rejectable(dict(body, id_number=body["id_number"].lower(), name="Rejected Cased"),
                       by_id=False)
    before = written(db, known)
    assert_problem(apis[COMMITTEE].post("/api/v1/returnees", again), 409)
    assert written(db, known) == before


# --- nothing reached the other parties ------------------------------------------------

def test_no_refused_write_reached_another_party(apis, db, known):
    """Runs last: a registration made after every refused one reaches all four
    parties, so anything a refused one had sent would be there by now."""
    assert REJECTED, "the tests above refuse registrations"
    building, unit, room = KNOWN_FLAT
    sentinel = apis[COMMITTEE].post("/api/v1/returnees", registration(
        name="Sentinel Person", building=building, unit=unit, room=room)).json()["id"]
    for service, collection in ((POLICE, "checks"), (FLOATING, "registrations"),
                                (PROPERTY, "gate_passes"), (DEVELOPER, "housing_checks")):
        wait_for(lambda: db(service)[collection].find_one({"_id": sentinel}),
                 "the sentinel to reach %s" % service)
    names = {entry["name"] for entry in REJECTED if entry["name"] and entry["name"].strip()}
    ids = {entry["id_number"].upper() for entry in REJECTED if isinstance(entry["id_number"], str)
           and len(entry["id_number"]) == 18}
    for service in (POLICE, FLOATING, PROPERTY, DEVELOPER):
        keyring = Settings.from_config(service, {}).keyring()  # ID numbers are stored encrypted
        for collection in db(service).list_collection_names():
            for document in db(service)[collection].find():
                assert document.get("name") not in names, (service, collection, document)
                id_number = keyring.open(document.get("id_number"), "id_number")
                assert id_number not in ids, (service, collection, document)
    assert db(COMMITTEE)["linkages"].count_documents({"name": {"$in": sorted(names)}}) == 0
    # Every decision on the known check was refused: nobody heard of one.
    assert db(POLICE)["checks"].find_one({"_id": known["id"]})["status"] == "pending"
    assert db(PROPERTY)["gate_passes"].find_one({"_id": known["id"]})["status"] == "held"
    linkage = apis[COMMITTEE].get("/api/v1/returnees/%s" % known["id"]).json()
    assert linkage["parties"][POLICE]["status"] == "pending"
    assert linkage["status"] == "open"
