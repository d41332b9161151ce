"""Integration: the Mongo store's guarantees against the real database, with
write guards checked by the database and by the process (shared/writes.py)."""
import eventlet
import pytest
from pymongo import MongoClient

from shared import clock, outbox
from shared.catalogue import CATALOGUE
from shared.locks import KeyedLocks
from shared.store import Finished, Recent, Repository, insert_once
from shared.writes import Writes
from tests.conftest import MONGO_URI


@pytest.fixture(params=["database", "process"])
def repo(request, db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    db = client[db_prefix + "store"]
    written = []
    repository = Repository(db, CATALOGUE, "neighborhood_committee",
                            lambda *handed: written.append(handed),
                            writes=Writes(db, KeyedLocks(), request.param))
    repository.handed_over = written
    yield repository
    client.close()


def overdue_event(repo, returnee_id, party="developer"):
    return repo.event("linkage_party_overdue", {
        "returnee_id": returnee_id, "party": party, "due_at": clock.utcnow(),
        "detected_at": clock.utcnow()}, returnee_id)


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
    outbox.mark_published(repo.writes, repo.db["linkages"], "r", [first["event_id"]])
    after = repo.db["linkages"].find_one({"_id": "r"})
    assert list(after["outbox"]) == [second["event_id"]]
    assert after["outbox_due"] is not None

    outbox.mark_published(repo.writes, repo.db["linkages"], "r", [second["event_id"]])
    done = repo.db["linkages"].find_one({"_id": "r"})
    assert done["outbox"] == {} and done["outbox_due"] is None


def test_a_partly_published_document_stays_due_for_the_rest(repo):
    events = [repo.event("linkage_party_overdue", {
        "returnee_id": "p", "party": party, "due_at": clock.utcnow(),
        "detected_at": clock.utcnow()}, "p") for party in ("developer", "community_police")]
    repo.insert("linkages", {"_id": "p"}, events)
    # The broker took the first event, then went away.
    outbox.mark_published(repo.writes, repo.db["linkages"], "p", [events[0]["event_id"]])
    after = repo.db["linkages"].find_one({"_id": "p"})
    assert list(after["outbox"]) == [events[1]["event_id"]]
    assert after["outbox_due"] is not None
    assert repo.db["linkages"].count_documents(outbox.pending_query(clock.utcnow())) == 1


def test_a_write_without_events_between_read_and_mark_does_not_strand_the_due_mark(repo):
    # The relay holds the envelopes; the linkage changes (no new event) before
    # the relay marks them: the document must not stay due with nothing in it.
    event = overdue_event(repo, "v")
    repo.insert("linkages", {"_id": "v", "status": "open"}, [event])
    assert repo.apply_once("linkages", {"_id": "v"}, "party-event", {"$set": {"status": "open"}})
    outbox.mark_published(repo.writes, repo.db["linkages"], "v", [event["event_id"]])
    done = repo.db["linkages"].find_one({"_id": "v"})
    assert done["outbox"] == {} and done["outbox_due"] is None


def test_a_due_mark_left_with_nothing_pending_is_cleared_by_the_next_scan(repo):
    repo.db["linkages"].insert_one({"_id": "s", "outbox": {}, "outbox_due": clock.utcnow(),
                                    "version": 4})  # as an older relay could leave it
    outbox.mark_published(repo.writes, repo.db["linkages"], "s", [])
    assert repo.db["linkages"].find_one({"_id": "s"})["outbox_due"] is None


def test_the_relay_is_handed_each_write_with_its_events_in_order(repo):
    first, second = overdue_event(repo, "h"), overdue_event(repo, "h", "community_police")
    repo.insert("linkages", {"_id": "h", "status": "open"}, [first])
    repo.update("linkages", {"_id": "h", "status": "open"}, {"$set": {"seen": 1}}, [second])
    assert not repo.update("linkages", {"_id": "h", "status": "closed"}, {"$set": {"seen": 2}},
                           [overdue_event(repo, "h")])
    # The insert knows every event the document holds; an update does when
    # the caller hands it the document it read under the lock.
    assert repo.handed_over == [("linkages", "h", [first], {first["event_id"]}),
                                ("linkages", "h", [second], None)]
    third = overdue_event(repo, "h", "property_company")
    with repo.locked("linkages", "h"):
        current = repo.db["linkages"].find_one({"_id": "h"})
        assert repo.update("linkages", {"_id": "h"}, {"$set": {"seen": 3}}, [third], current)
    assert repo.handed_over[-1] == ("linkages", "h", [third], {first["event_id"], second["event_id"],
                                                                third["event_id"]})


class CountingReads:
    """A real collection that counts the reads made through it."""

    def __init__(self, collection):
        self.collection, self.reads = collection, 0

    def __getattr__(self, name):
        return getattr(self.collection, name)

    def find_one(self, *args, **kwargs):
        self.reads += 1
        return self.collection.find_one(*args, **kwargs)


def test_a_mark_told_that_all_is_sent_is_one_write_and_otherwise_reads(repo):
    first, second = overdue_event(repo, "m"), overdue_event(repo, "m", "community_police")
    repo.insert("linkages", {"_id": "m"}, [first, second])
    linkages = CountingReads(repo.db["linkages"])
    # Not everything sent: the mark reads, and the document stays due.
    outbox.mark_published(repo.writes, linkages, "m", [first["event_id"]], lambda: False)
    assert linkages.reads == 1 and repo.db["linkages"].find_one({"_id": "m"})["outbox_due"] is not None
    outbox.mark_published(repo.writes, linkages, "m", [second["event_id"]], lambda: True)
    assert linkages.reads == 1
    done = repo.db["linkages"].find_one({"_id": "m"})
    assert done["outbox"] == {} and done["outbox_due"] is None


def test_a_guarded_write_that_does_not_match_changes_nothing(repo):
    repo.insert("things", {"_id": "g", "status": "pending", "parties": {"police": {"done": False}}})
    assert not repo.update("things", {"_id": "g", "status": "cleared"}, {"$set": {"x": 1}})
    assert not repo.update("things", {"_id": "g", "parties.police.done": True}, {"$set": {"x": 1}})
    assert not repo.update("things", {"_id": "missing"}, {"$set": {"x": 1}})
    assert repo.update("things", {"_id": "g", "parties.police.done": False}, {"$set": {"x": 2}})
    document = repo.db["things"].find_one({"_id": "g"})
    assert document["x"] == 2 and document["version"] == 2


def test_auto_checks_guards_in_the_process_only_on_ferretdb(db_prefix):
    with MongoClient(MONGO_URI, tz_aware=True) as client:
        on_ferretdb = "ferretdbVersion" in client.admin.command("buildInfo")
        writes = Writes(client[db_prefix + "store"])
        assert writes.in_process is on_ferretdb
        assert writes.mode == ("process" if on_ferretdb else "database")


class Remembering(Repository):
    REMEMBERED = ("things",)
    ARCHIVED = {"things": Finished(since="closed_at")}  # `current` looks in the archive too


@pytest.fixture
def remembering(repo):
    repository = Remembering(repo.db, CATALOGUE, "neighborhood_committee",
                             lambda *handed: repo.handed_over.append(handed), writes=repo.writes)
    repository.recent = Recent(size=3)
    repository.handed_over = repo.handed_over
    return repository


def test_a_remembered_copy_saves_the_read_and_is_what_a_read_would_give(remembering):
    remembering.insert("things", {"_id": "m1", "at": clock.utcnow(), "count": 0},
                       [overdue_event(remembering, "m1")])
    remembered = remembering.current("things", "m1")
    assert remembered == remembering.db["things"].find_one({"_id": "m1"})  # times to the ms, aware

    after = remembering.apply_to("things", remembered, "e-1", {"$inc": {"count": 1}})
    assert after == remembering.db["things"].find_one({"_id": "m1"})
    assert after["count"] == 1 and after["version"] == 2 and after["applied_events"] == ["e-1"]
    assert remembering.current("things", "m1") is after


def test_a_stale_remembered_copy_fails_its_guard_in_the_database_and_is_dropped(remembering):
    remembering.insert("things", {"_id": "m2", "count": 0}, [overdue_event(remembering, "m2")])
    stale = remembering.current("things", "m2")
    # another write path (a correction, a retention pass) raises the version
    remembering.modify("things", "m2", lambda document: document.update(count=10) or [])
    assert remembering.apply_to("things", stale, "e-1", {"$inc": {"count": 1}}) is None
    assert remembering.db["things"].find_one({"_id": "m2"})["count"] == 10  # nothing written
    fresh = remembering.current("things", "m2")  # read again
    assert fresh["count"] == 10 and fresh["version"] == 2
    assert remembering.apply_to("things", fresh, "e-1", {"$inc": {"count": 1}})["count"] == 11


def test_a_remembered_copy_of_a_document_archived_since_fails_and_the_archive_is_read(remembering):
    remembering.insert("things", {"_id": "m3", "status": "closed"}, [overdue_event(remembering, "m3")])
    copy_before = remembering.current("things", "m3")
    archived = dict(remembering.db["things"].find_one({"_id": "m3"}), archived_at=clock.utcnow())
    remembering.db["things_archive"].insert_one(archived)
    remembering.db["things"].delete_one({"_id": "m3"})
    assert remembering.apply_to("things", copy_before, "e-1", {"$set": {"status": "x"}}) is None
    assert remembering.current("things", "m3")["archived_at"] is not None


def test_events_written_through_a_remembered_copy_are_handed_over_with_all_it_holds(remembering):
    first = overdue_event(remembering, "m4")
    remembering.insert("things", {"_id": "m4"}, [first])
    second = overdue_event(remembering, "m4", party="community_police")
    remembering.apply_to("things", remembering.current("things", "m4"), "e-1", {}, [second])
    collection, document_id, envelopes, pending = remembering.handed_over[-1]
    assert (collection, document_id) == ("things", "m4")
    assert [env["event_id"] for env in envelopes] == [second["event_id"]]
    assert pending == {first["event_id"], second["event_id"]}  # the first is still unsent


def test_only_the_most_recently_used_copies_are_kept():
    recent = Recent(size=2)
    for name in ("a", "b"):
        recent.put("things", {"_id": name})
    recent.get("things", "a")
    recent.put("things", {"_id": "c"})
    assert recent.get("things", "b") is None
    assert recent.get("things", "a") == {"_id": "a"} and len(recent) == 2
