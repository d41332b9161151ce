"""Staff sign-in, roles and keys, through HTTP as a console would use them:
every endpoint refuses a role that lacks its permission (403 naming it),
five failed sign-ins lock an account, a session expires and sign-out ends
it at once, and each agency's tokens are signed with that agency's key."""
import os
import re
import subprocess
import sys
import time

import pytest
import requests
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from shared.auth import development_key, issue_token
from shared.cli import SERVICE_CLASSES
from shared.parties import ALL, COMMITTEE, DEVELOPER, POLICE, PROPERTY
from shared.roles import ROLES, allows
from shared.settings import DEVELOPMENT_SECRET
from shared.web import Api as ApiEntrypoint
from tests.support import Api, token_for
from tests.system import System

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


def service_class(service):
    module, name = SERVICE_CLASSES[service].split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def endpoints(service):
    """(method, path, permission) of every guarded endpoint of a service, from its code."""
    found = set()
    for attr in dir(service_class(service)):
        for entrypoint in getattr(getattr(service_class(service), attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ApiEntrypoint) and entrypoint.permission:
                path = re.sub(r"<any\(([a-z]+),[^>]*>", r"\1", entrypoint.url)
                found.add((entrypoint.method, re.sub(r"<[^>]+>", "no-such-id", path),
                           entrypoint.permission))
    return sorted(found)


ROLE_CASES = [(service, role) for service in ALL for role in sorted(ROLES[service])]


@pytest.mark.parametrize("service, role", ROLE_CASES, ids=["%s-%s" % case for case in ROLE_CASES])
def test_every_endpoint_refuses_a_role_without_its_permission(system, service, role):
    api = Api(system.url(service), service, user="%s-1" % role, roles=[role])
    checked = 0
    for method, path, permission in endpoints(service):
        response = api.session.request(method, api.base_url + path, json={}, timeout=15)
        if allows(service, [role], permission):
            assert response.status_code != 403, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["missing_permission"] == permission
            assert role in response.json()["detail"]
        checked += 1
    assert checked >= 4


def test_a_guard_reads_passes_and_decides_nothing(system):
    guard = Api(system.url(PROPERTY), PROPERTY, user="gate-2", roles=["guard"])
    assert guard.get("/api/v1/passes").status_code == 200
    for path, body in (("/api/v1/cases", {}), ("/api/v1/detections", {})):
        assert guard.post(path, body).status_code == 403
    assert guard.get("/api/v1/cases").status_code == 403
    assert guard.get("/api/v1/audit").status_code == 403


def add_user(system, agency, username, role, password=PASSWORD, tmp_path=None):
    path = tmp_path / ("%s.pw" % username)
    path.write_text(password + "\n")
    env = dict(os.environ, DB_PREFIX=system.db_prefix)
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "linkage"), "users",
                             "add", agency, username, "--role", role, "--password-file", str(path)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def sign_in(system, agency, username, password=PASSWORD):
    return requests.post(system.url(agency) + "/api/v1/session",
                         json={"username": username, "password": password}, timeout=15)


@pytest.fixture(scope="module")
def short(mongo_client):
    """A system whose sessions expire after 3 s and whose lockout is 5 failures, 3 s."""
    with System(SESSION_TTL_SECONDS=3, LOCKOUT_SECONDS=3) as system:
        system.start(COMMITTEE, POLICE)
        yield system
        system.stop()
        system.drop_databases(mongo_client)


def test_a_user_signs_in_sees_their_role_and_signing_out_ends_the_session_at_once(short, tmp_path):
    add_user(short, COMMITTEE, "desk-li", "desk", tmp_path=tmp_path)
    response = sign_in(short, COMMITTEE, "desk-li")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["roles"] == ["desk"] and body["user"] == "desk-li" and body["session"] is True
    assert "cases:dispatch" not in body["permissions"] and "returnees:register" in body["permissions"]
    api = Api(short.url(COMMITTEE), COMMITTEE, token=body["token"])
    assert api.get("/api/v1/session").json()["user"] == "desk-li"
    assert api.get("/api/v1/returnees").status_code == 200
    assert api.post("/api/v1/cases/x/dispatch", {"to": [POLICE]}).status_code == 403
    assert api.delete("/api/v1/session").status_code == 204
    refused = api.get("/api/v1/returnees")
    assert refused.status_code == 401 and "ended" in refused.json()["detail"]
    audit = Api(short.url(COMMITTEE), COMMITTEE).get("/api/v1/audit", action="sign_in").json()
    assert "desk-li" in [record["user"] for record in audit["items"]]


def test_a_session_expires(short, tmp_path):
    add_user(short, POLICE, "officer-wu", "officer", tmp_path=tmp_path)
    token = sign_in(short, POLICE, "officer-wu").json()["token"]
    api = Api(short.url(POLICE), POLICE, token=token)
    assert api.get("/api/v1/checks").status_code == 200
    time.sleep(3.5)  # past the 3 s session
    expired = api.get("/api/v1/checks")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_five_failed_sign_ins_lock_the_account_and_are_audited(short, tmp_path):
    add_user(short, POLICE, "officer-zhao", "officer", tmp_path=tmp_path)
    for _ in range(4):
        assert sign_in(short, POLICE, "officer-zhao", "wrong password!").status_code == 401
    locked = sign_in(short, POLICE, "officer-zhao", "wrong password!")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    # Locked: even the right password is refused, until the lock runs out.
    assert sign_in(short, POLICE, "officer-zhao").status_code == 429
    time.sleep(3.5)
    assert sign_in(short, POLICE, "officer-zhao").status_code == 201
    audit = Api(short.url(POLICE), POLICE).get("/api/v1/audit", limit=1000).json()["items"]
    actions = [record["action"] for record in audit if record["user"] == "officer-zhao"]
    assert actions.count("sign_in_failed") == 4 and actions.count("locked") == 1
    assert actions.count("sign_in") == 1
    unknown = sign_in(short, POLICE, "nobody-here", "whatever-it-is")
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == sign_in(short, POLICE, "officer-zhao", "bad one!!").json()["detail"]


def test_a_token_signed_with_another_agencys_key_is_refused(system):
    police_key = development_key(DEVELOPMENT_SECRET, POLICE)
    forged = issue_token(police_key, DEVELOPER, "records-1")  # a developer token, police's key
    response = requests.get(system.url(DEVELOPER) + "/api/v1/housing-checks",
                            headers={"Authorization": "Bearer " + forged}, timeout=15)
    assert response.status_code == 401 and "signature" in response.json()["detail"]
    genuine = requests.get(system.url(DEVELOPER) + "/api/v1/housing-checks",
                           headers={"Authorization": "Bearer " + token_for(DEVELOPER)}, timeout=15)
    assert genuine.status_code == 200
    assert development_key(DEVELOPMENT_SECRET, POLICE) != development_key(DEVELOPMENT_SECRET, DEVELOPER)


def test_users_cannot_be_added_with_a_weak_password_or_an_unknown_role(system, tmp_path):
    path = tmp_path / "weak.pw"
    path.write_text("short\n")
    linkage = os.path.join(os.path.dirname(sys.executable), "linkage")
    env = dict(os.environ, DB_PREFIX=system.db_prefix)
    weak = subprocess.run([linkage, "users", "add", COMMITTEE, "x", "--role", "desk",
                           "--password-file", str(path)], env=env, capture_output=True, text=True)
    assert weak.returncode != 0 and "at least" in weak.stderr
    role = subprocess.run([linkage, "users", "add", COMMITTEE, "x", "--role", "officer",
                           "--password-file", str(path)], env=env, capture_output=True, text=True)
    assert role.returncode != 0 and "--role must be one of" in role.stderr
