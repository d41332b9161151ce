"""The write guards a process checks itself must mean what MongoDB means."""
import pytest

from shared.settings import Settings
from shared.writes import UnsupportedGuard, Writes, matches

DOC = {"_id": "a", "version": 3, "status": "pending", "applied_events": ["e1", "e2"],
       "parties": {"police": {"done": False, "overdue": None}}, "outbox_rev": None}


@pytest.mark.parametrize("query, expected", [
    ({"_id": "a"}, True),
    ({"_id": "b"}, False),
    ({"_id": "a", "version": 3}, True),
    ({"_id": "a", "version": 2}, False),
    ({"_id": "a", "applied_events": {"$ne": "e3"}}, True),
    ({"_id": "a", "applied_events": {"$ne": "e2"}}, False),
    ({"_id": "a", "applied_events": "e1"}, True),
    ({"_id": "a", "parties.police.done": False}, True),
    ({"_id": "a", "parties.police.done": True}, False),
    ({"_id": "a", "parties.police.overdue": None}, True),
    ({"_id": "a", "parties.floating.done": None}, True),   # missing matches null
    ({"_id": "a", "parties.floating.done": False}, False),
    ({"_id": "a", "outbox_rev": None}, True),
    ({"_id": "a", "nothing": {"$ne": None}}, False),
    ({"_id": "a", "status": {"$ne": "pending"}}, False),
    ({"_id": "a", "parties.police.done": 0}, False),    # BSON: false is not 0
    ({"_id": "a", "version": True}, False),
    ({"_id": "a", "applied_events": ["e1", "e2"]}, True),
])
def test_guards_match_as_mongodb_does(query, expected):
    assert matches(DOC, query) is expected


@pytest.mark.parametrize("query", [{"$or": []}, {"version": {"$gt": 1}},
                                   {"version": {"$ne": 1, "$gt": 0}}])
def test_a_guard_it_cannot_check_is_refused_not_guessed(query):
    with pytest.raises(UnsupportedGuard):
        matches(DOC, query)


def test_the_mode_is_checked_when_configured():
    with pytest.raises(ValueError, match="WRITE_GUARDS"):
        Writes(db=None, mode="sometimes")
    with pytest.raises(ValueError, match="WRITE_GUARDS"):
        Settings.from_config("developer", {"WRITE_GUARDS": "sometimes"})
    assert Settings.from_config("developer", {}).write_guards == "auto"
    assert Settings.from_config("developer", {"WRITE_GUARDS": " Process "}).write_guards == "process"
