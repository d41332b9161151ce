"""Integration: a party that reported a case gets the committee's news of it
and its own dispatch in either order (two queues), and its assignment ends
with the news either way (shared/cases/desk.py), against the real database."""
from collections import namedtuple
from datetime import timedelta

import pytest
from pymongo import MongoClient

from shared import clock
from shared.cases.desk import ASSIGNMENTS, CaseDeskRepository
from shared.catalogue import CATALOGUE
from shared.locks import KeyedLocks
from shared.writes import Writes
from tests.conftest import MONGO_URI

Event = namedtuple("Event", "event_id payload")
PARTY = "property_company"


@pytest.fixture
def desk(db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    db = client[db_prefix + "case_news"]
    yield CaseDeskRepository(db, CATALOGUE, PARTY, writes=Writes(db, KeyedLocks(), "process"))
    client.drop_database(db)
    client.close()


def reported(desk, case_id):
    desk.report(case_id, {"category": "other", "description": "bikes piled in the stairwell",
                          "location": {"building": "5", "unit": "2", "spot": "lobby"},
                          "source": "camera", "safety_risk": False}, "camera-7", clock.utcnow())


def news(case_id, at):
    return Event("news-" + case_id, {"case_id": case_id, "party": PARTY, "status": "dispatched",
                                     "escalated": False, "at": at})


def dispatch(case_id, at):
    return Event("dispatch-" + case_id, {
        "case_id": case_id, "party": PARTY, "role": "owner", "round": 1, "category": "other",
        "description": "bikes piled in the stairwell", "source": "camera", "priority": "normal",
        "location": {"building": "5", "unit": "2", "spot": "lobby"}, "safety_risk": False,
        "reporter": None, "reported_by": PARTY, "dispatched_at": at,
        "accept_due": at + timedelta(hours=2), "resolve_due": at + timedelta(days=3)})


@pytest.mark.parametrize("news_first", [True, False], ids=["news-before-dispatch", "dispatch-first"])
def test_the_assignment_of_a_reporting_party_ends_with_the_news_in_either_order(desk, news_first):
    case_id = "case-%s" % news_first
    reported(desk, case_id)
    filed = clock.utcnow()
    arrivals = [news(case_id, filed), dispatch(case_id, filed)]
    for event in (arrivals if news_first else reversed(arrivals)):
        if "round" in event.payload:
            desk.receive_dispatch(event)
        else:
            desk.case_status_changed(event)
    assignment = desk.db[ASSIGNMENTS].find_one({"_id": case_id})
    assert assignment["case_status"] == "dispatched"
    assert assignment["case_status_at"] is not None  # before the change: None for news-before-dispatch
    assert abs(assignment["case_status_at"] - filed) < timedelta(milliseconds=2)
    assert desk.reported(case_id)["status_at"] == assignment["case_status_at"]
