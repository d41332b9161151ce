import pytest

from shared.auth import authenticate, issue_token, verify_token
from shared.errors import Forbidden, Unauthorized
from shared.settings import DEVELOPMENT_SECRET, InsecureConfiguration, Settings

SECRET = "s" * 40
PRODUCTION_KEYS = {"PERSONAL_DATA_KEYS": "k1:" + "a" * 43 + "=", "BLIND_INDEX_KEY": "b1:" + "b" * 43 + "=",
                   "TRANSIT_KEYS": "t1:" + "c" * 43 + "="}


def test_a_token_names_its_agency_and_user():
    principal = verify_token(SECRET, issue_token(SECRET, "community_police", "officer-7"))
    assert (principal.agency, principal.subject) == ("community_police", "officer-7")


def test_tampered_expired_and_foreign_tokens_are_refused():
    token = issue_token(SECRET, "community_police", "officer-7")
    claims, signature = token.split(".")
    with pytest.raises(Unauthorized, match="signature"):
        verify_token(SECRET, claims + "x." + signature)
    with pytest.raises(Unauthorized, match="signature"):
        verify_token("another-secret", token)
    with pytest.raises(Unauthorized, match="expired"):
        verify_token(SECRET, issue_token(SECRET, "developer", ttl_seconds=10, now=1000), now=2000)
    with pytest.raises(Unauthorized, match="missing"):
        authenticate({}, SECRET, "developer")
    with pytest.raises(Forbidden):
        authenticate({"Authorization": "Bearer " + token}, SECRET, "developer")
    assert authenticate({"Authorization": "Bearer " + token}, SECRET, "community_police")


def test_production_refuses_the_development_secret():
    with pytest.raises(InsecureConfiguration):
        Settings.from_config("developer", {"LINKAGE_ENV": "production"})
    with pytest.raises(InsecureConfiguration):
        Settings.from_config("developer", {"LINKAGE_ENV": "production",
                                           "LINKAGE_SECRET": DEVELOPMENT_SECRET})
    settings = Settings.from_config("developer", dict(PRODUCTION_KEYS, LINKAGE_ENV="production",
                                                      LINKAGE_SECRET=SECRET))
    assert settings.secret == SECRET


def test_settings_parse_the_environment_strings():
    settings = Settings.from_config("developer", {"RETRY_DELAYS_MS": "100, 200,400",
                                                  "LIMIT_COMMUNITY_POLICE_SECONDS": "3",
                                                  "DB_PREFIX": "x_"})
    assert settings.retry_delays_ms == (100, 200, 400)
    assert settings.max_attempts == 4
    assert settings.time_limits["community_police"] == 3.0
    assert settings.time_limits["developer"] == 86400.0
    assert settings.db_name == "x_developer"


def test_a_printed_uri_never_shows_its_password():
    from shared.cli import without_password
    assert without_password("pyamqp://linkage:s3cret@rabbitmq:5672/") == "pyamqp://linkage:***@rabbitmq:5672/"
    assert "s3cret" not in without_password("mongodb://u:s3cret@mongo/?replicaSet=rs0")
    assert without_password("pyamqp://rabbitmq:5672/") == "pyamqp://rabbitmq:5672/"
