"""Integration: the Mongo store's guarantees against the real database."""
import eventlet
import pytest
from pymongo import MongoClient

from shared import clock, outbox
from shared.catalogue import CATALOGUE
from shared.locks import KeyedLocks
from shared.store import Repository, insert_once
from tests.conftest import MONGO_URI


@pytest.fixture
def repo(db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    yield Repository(client[db_prefix + "store"], CATALOGUE, "neighborhood_committee",
                     locks=KeyedLocks())
    client.close()


def test_concurrent_updates_of_one_document_are_all_kept(repo):
    repo.insert("things", {"_id": "t1", "seen": []})

    def apply(index):
        assert repo.apply_once("things", {"_id": "t1"}, "event-%d" % index,
                               {"$push": {"seen": index}})

    pool = eventlet.GreenPool(20)
    for index in range(60):
        pool.spawn(apply, index)
    pool.waitall()
    document = repo.db["things"].find_one({"_id": "t1"})
    assert sorted(document["seen"]) == list(range(60))
    assert document["version"] == 61


def test_an_event_is_applied_to_a_document_once(repo):
    repo.insert("things", {"_id": "t2", "count": 0})
    assert repo.apply_once("things", {"_id": "t2"}, "e-1", {"$inc": {"count": 1}}) is True
    assert repo.apply_once("things", {"_id": "t2"}, "e-1", {"$inc": {"count": 1}}) is False
    assert repo.db["things"].find_one({"_id": "t2"})["count"] == 1


def test_an_insert_caused_by_an_event_happens_once(repo):
    assert insert_once(repo, "things", {"_id": "t3"}) is True
    assert insert_once(repo, "things", {"_id": "t3"}) is False
    assert repo.db["things"].count_documents({}) == 1


def test_the_change_and_its_events_are_one_write_and_the_relay_mark_keeps_new_events(repo):
    first = repo.event("linkage_party_overdue", {
        "returnee_id": "r", "party": "developer", "due_at": clock.utcnow(),
        "detected_at": clock.utcnow()}, "r")
    repo.insert("linkages", {"_id": "r", "status": "open"}, [first])
    stored = repo.db["linkages"].find_one({"_id": "r"})
    assert list(stored["outbox"]) == [first["event_id"]]
    assert stored["outbox_due"] is not None

    # An event is added after the relay read the document...
    second = repo.event("linkage_party_overdue", {
        "returnee_id": "r", "party": "community_police", "due_at": clock.utcnow(),
        "detected_at": clock.utcnow()}, "r")
    repo.update("linkages", {"_id": "r"}, {"$set": {"status": "open"}}, [second])
    # ...so marking the first as published must not clear the due mark.
    outbox.mark_published(repo.db["linkages"], stored, [first["event_id"]])
    after = repo.db["linkages"].find_one({"_id": "r"})
    assert list(after["outbox"]) == [second["event_id"]]
    assert after["outbox_due"] is not None

    outbox.mark_published(repo.db["linkages"], after, [second["event_id"]])
    done = repo.db["linkages"].find_one({"_id": "r"})
    assert done["outbox"] == {} and done["outbox_due"] is None


def test_a_partly_published_document_stays_due_for_the_rest(repo):
    events = [repo.event("linkage_party_overdue", {
        "returnee_id": "p", "party": party, "due_at": clock.utcnow(),
        "detected_at": clock.utcnow()}, "p") for party in ("developer", "community_police")]
    repo.insert("linkages", {"_id": "p"}, events)
    stored = repo.db["linkages"].find_one({"_id": "p"})
    # The broker took the first event, then went away.
    outbox.mark_published(repo.db["linkages"], stored, [events[0]["event_id"]])
    after = repo.db["linkages"].find_one({"_id": "p"})
    assert list(after["outbox"]) == [events[1]["event_id"]]
    assert after["outbox_due"] is not None
    assert repo.db["linkages"].count_documents(outbox.pending_query(clock.utcnow())) == 1
