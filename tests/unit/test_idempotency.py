"""The Idempotency-Key helpers of shared/idempotency.py, the same for every
API that creates something (a registration, a case report, a tenancy, an
occupant, a repair)."""
import pytest

from shared import idempotency
from shared.errors import Conflict

SECRET = "a development secret"


def test_a_retry_names_the_same_resource_and_another_key_or_user_another():
    first = idempotency.resource_id("key-1", "clerk-a")
    assert idempotency.resource_id("key-1", "clerk-a") == first
    assert idempotency.resource_id("key-2", "clerk-a") != first
    assert idempotency.resource_id("key-1", "clerk-b") != first
    assert idempotency.resource_id(None, "clerk-a") != idempotency.resource_id(None, "clerk-a")


def test_the_request_hash_is_keyed_and_ignores_the_order_of_fields():
    body = {"name": "Wang Fang", "id_number": "110105194912310029"}
    assert idempotency.request_hash(body, SECRET) == idempotency.request_hash(dict(reversed(body.items())),
                                                                              SECRET)
    assert idempotency.request_hash(body, SECRET) != idempotency.request_hash(body, "another secret")
    assert idempotency.request_hash(body, SECRET) != idempotency.request_hash(dict(body, name="Li Lei"),
                                                                              SECRET)


def test_the_same_request_retried_is_answered_with_what_it_wrote():
    written = {"_id": "r-1", "request_hash": idempotency.request_hash({"a": 1}, SECRET)}
    assert idempotency.replay(written, written["request_hash"], "key-1", "repair") is written


def test_another_request_under_the_same_key_is_a_409_naming_what():
    written = {"_id": "r-1", "request_hash": idempotency.request_hash({"a": 1}, SECRET)}
    with pytest.raises(Conflict, match="'key-1' was used for a different repair"):
        idempotency.replay(written, idempotency.request_hash({"a": 2}, SECRET), "key-1", "repair")


def test_without_a_key_a_taken_id_is_never_a_replay():
    written = {"_id": "r-1", "request_hash": "h"}
    with pytest.raises(Conflict):
        idempotency.replay(written, "h", None, "tenancy")


def test_nothing_under_the_id_is_left_to_the_caller():
    assert idempotency.replay(None, "h", "key-1", "occupant") is None


@pytest.mark.parametrize("header, fields", [(None, []), ("k", []), ("k" * 128, []),
                                            ("", ["Idempotency-Key"]), ("k" * 129, ["Idempotency-Key"])])
def test_a_bad_key_is_a_field_error(header, fields):
    assert [error["field"] for error in idempotency.key_errors(header)] == fields
