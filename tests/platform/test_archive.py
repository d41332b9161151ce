"""Integration: finished documents leave the working set for the archive
(shared/store.py, Repository.ARCHIVED), against the real database."""
from datetime import timedelta

import pymongo
import pytest
from pymongo import MongoClient

from shared import clock, outbox
from shared.catalogue import CATALOGUE
from shared.locks import KeyedLocks
from shared.store import Finished, Repository, insert_once
from shared.writes import Writes
from tests.conftest import MONGO_URI


class Tasks(Repository):
    OUTBOX_COLLECTIONS = ("tasks",)
    ARCHIVED = {"tasks": Finished(since="done_at", open=("open",))}


@pytest.fixture(params=["database", "process"])
def repo(request, db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    db = client[db_prefix + "archive"]
    repository = Tasks(db, CATALOGUE, "community_police", writes=Writes(db, KeyedLocks(), request.param))
    repository.archive_after_seconds = 3600
    yield repository
    client.close()


def task(repo, task_id, status, done_hours_ago=None, events=()):
    done_at = None if done_hours_ago is None else clock.utcnow() - timedelta(hours=done_hours_ago)
    repo.insert("tasks", {"_id": task_id, "status": status, "done_at": done_at,
                          "opened_at": clock.utcnow() - timedelta(hours=50 - len(task_id))}, events)


def ids(collection):
    return sorted(document["_id"] for document in collection.find({}, {"_id": 1}))


def test_only_documents_finished_longer_than_the_setting_move(repo):
    task(repo, "open", "open")
    task(repo, "recent", "cleared", done_hours_ago=0.5)
    task(repo, "old", "cleared", done_hours_ago=2)
    task(repo, "older", "flagged", done_hours_ago=30)
    assert repo.archive_finished() == {"tasks": 2}
    assert ids(repo.db["tasks"]) == ["open", "recent"]
    assert ids(repo.db["tasks_archive"]) == ["old", "older"]
    assert repo.archive_finished() == {"tasks": 0}


def test_a_document_with_events_not_yet_published_stays(repo):
    event = repo.event("identity_check_opened", {"returnee_id": "pending-out",
                                                 "opened_at": clock.utcnow()}, "pending-out")
    task(repo, "pending-out", "cleared", done_hours_ago=5, events=[event])
    assert repo.archive_finished() == {"tasks": 0}
    outbox.mark_published(repo.writes, repo.db["tasks"], "pending-out", [event["event_id"]])
    assert repo.archive_finished() == {"tasks": 1}


def test_an_archived_document_is_found_by_id_and_says_so(repo):
    task(repo, "gone", "cleared", done_hours_ago=2)
    repo.archive_finished()
    found = repo.find("tasks", "gone")
    assert found["status"] == "cleared" and found["archived_at"] is not None
    assert repo.find("tasks", "never") is None


def test_lists_read_the_archive_unless_they_ask_for_open_work(repo):
    for index in range(7):
        task(repo, "done-%d" % index, "cleared", done_hours_ago=2 + index)
    for index in range(3):
        task(repo, "open-%d" % index, "open")
    repo.archive_finished()
    # An open document the archive should never hold, to see who reads it.
    repo.db["tasks_archive"].insert_one({"_id": "stray", "status": "open",
                                         "opened_at": clock.utcnow()})
    page = repo.page("tasks", {"status": "open"}, "opened_at", pymongo.DESCENDING, 10)
    assert sorted(item["_id"] for item in page.items) == ["open-0", "open-1", "open-2"]

    seen, cursor = [], None
    while True:
        page = repo.page("tasks", {}, "opened_at", pymongo.DESCENDING, 3, cursor)
        assert page.total == 11
        seen += [item["_id"] for item in page.items]
        cursor = page.next
        if cursor is None:
            break
    everything = list(repo.db["tasks"].find()) + list(repo.db["tasks_archive"].find())
    expected = [d["_id"] for d in sorted(everything, key=lambda d: (d["opened_at"], d["_id"]),
                                         reverse=True)]
    assert seen == expected and len(seen) == 11


def test_an_old_event_replayed_after_its_document_moved_changes_nothing(repo):
    task(repo, "replayed", "cleared", done_hours_ago=2)
    repo.archive_finished()
    made_long_ago = clock.utcnow() - timedelta(hours=3)
    assert insert_once(repo, "tasks", {"_id": "replayed", "status": "open"},
                       made_at=made_long_ago) is False
    assert repo.db["tasks"].count_documents({}) == 0
    # A fresh event's document cannot be in the archive yet: not looked for.
    assert insert_once(repo, "tasks", {"_id": "fresh", "status": "open"},
                       made_at=clock.utcnow()) is True


def test_a_document_that_changes_while_it_is_copied_stays_in_the_working_set(repo, monkeypatch):
    task(repo, "busy", "cleared", done_hours_ago=2)
    archive = repo.db["tasks_archive"]
    copy = type(archive).replace_one

    def copy_then_change(collection, *args, **kwargs):
        result = copy(collection, *args, **kwargs)
        repo.db["tasks"].update_one({"_id": "busy"}, {"$inc": {"version": 1},
                                                       "$set": {"note": "late write"}})
        return result

    monkeypatch.setattr(type(archive), "replace_one", copy_then_change)
    assert repo.archive_finished() == {"tasks": 0}
    assert repo.db["tasks"].find_one({"_id": "busy"})["note"] == "late write"
    assert repo.db["tasks_archive"].count_documents({}) == 0
    monkeypatch.undo()
    assert repo.archive_finished() == {"tasks": 1}  # the next pass moves it
