"""Retention on a real database (shared/retention.py, Repository.RETAINED):
finished documents lose their identity PERSONAL_DATA_RETENTION_DAYS after
they finished, in the working set and in the archive, which is walked a day
at a time from a mark; a document archived after its retention ran out is
archived de-identified; a key rotation leaves de-identified documents alone."""
import os
from datetime import timedelta

import pytest
from pymongo import MongoClient

from shared import clock, retention, rotation
from shared.catalogue import CATALOGUE
from shared.locks import KeyedLocks, make_locks
from shared.personal import Keyring, is_sealed
from shared.store import archive_name
from shared.writes import Writes
from tests.conftest import MONGO_URI

from services.neighborhood_committee.repository import LINKAGES, LinkageRepository
from services.neighborhood_committee.service import NeighborhoodCommitteeService

KEYRING = Keyring((("k1", os.urandom(32)),), os.urandom(32))
ARCHIVE = archive_name(LINKAGES)


@pytest.fixture(params=["database", "process"])
def repo(request, db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    db = client[db_prefix + "retention"]
    LinkageRepository.create_indexes(db)
    repository = LinkageRepository(db, CATALOGUE, "neighborhood_committee",
                                   writes=Writes(db, KeyedLocks(), request.param))
    repository.personal = KEYRING
    repository.retention_days = 10
    repository.archive_after_seconds = 7 * 24 * 3600
    yield repository
    client.close()


def linkage(returnee_id, closed_days_ago=None, number=1):
    now = clock.utcnow()
    closed_at = None if closed_days_ago is None else now - timedelta(days=closed_days_ago)
    return {"_id": returnee_id, "version": 1, "name": "Wang Fang-%s" % returnee_id,
            "id_number": "11010519491231%04d" % number, "phone": "138%08d" % number,
            "status": "open" if closed_at is None else "closed", "closed_at": closed_at,
            "registered_at": now - timedelta(days=40)}


def stored(repo, collection, returnee_id):
    return repo.db[collection].find_one({"_id": returnee_id})


def test_the_working_set_loses_identities_past_retention_only(repo):
    for returnee_id, days_ago in (("open", None), ("recent", 9), ("old", 11)):
        repo.insert(LINKAGES, linkage(returnee_id, days_ago))
    assert repo.forget_expired() == {LINKAGES: 1}
    old = stored(repo, LINKAGES, "old")
    assert old["name"] == "W. Fang-old" and old["id_number"] == "110105********0001"
    assert old["phone"] == "138****0001" and old["phone_index"] == KEYRING.blind_index("13800000001")
    assert old["id_number_index"] == KEYRING.blind_index("110105194912310001")
    assert old["version"] == 2 and old["deidentified_at"] is not None
    for kept in ("open", "recent"):
        document = stored(repo, LINKAGES, kept)
        assert is_sealed(document["id_number"]) and "deidentified_at" not in document
    assert repo.get("old")["id_number"] == "110105********0001"  # reads as stored
    assert repo.forget_expired() == {LINKAGES: 0}


def test_a_document_archived_past_its_retention_is_archived_deidentified(repo):
    repo.insert(LINKAGES, linkage("long-waiting", 12))
    repo.insert(LINKAGES, linkage("archived-in-time", 8))
    assert repo.archive_finished() == {LINKAGES: 2}
    late, in_time = stored(repo, ARCHIVE, "long-waiting"), stored(repo, ARCHIVE, "archived-in-time")
    assert late["id_number"] == "110105********0001" and late["deidentified_at"] is not None
    assert is_sealed(in_time["id_number"]) and "deidentified_at" not in in_time
    assert in_time["finished_day"] == retention.finished_day(in_time["closed_at"])


def test_the_archive_is_walked_a_day_at_a_time_from_its_mark(repo):
    archive = repo.db[ARCHIVE]
    for number, days_ago in enumerate((30, 30, 20, 12, 11, 9, 5)):
        document = repo.sealed(LINKAGES, linkage("a%d" % number, days_ago, number))
        document["finished_day"] = retention.finished_day(document["closed_at"])
        archive.insert_one(document)
    legacy = repo.sealed(LINKAGES, linkage("legacy", 25, 99))  # archived by an earlier version
    archive.insert_one(legacy)

    # Each pass de-identifies at most a batch; the walk goes on where it stopped.
    assert [repo.forget_expired(batch=2)[LINKAGES] for _ in range(4)] == [2, 2, 2, 0]
    forgotten = sorted(d["_id"] for d in archive.find({"deidentified_at": {"$ne": None}}))
    assert forgotten == ["a0", "a1", "a2", "a3", "a4", "legacy"]
    assert stored(repo, ARCHIVE, "legacy")["finished_day"] == retention.finished_day(legacy["closed_at"])
    for kept in ("a5", "a6"):
        assert is_sealed(stored(repo, ARCHIVE, kept)["id_number"])
    mark = repo.db[retention.MARKS].find_one({"_id": "deidentified_through:%s" % ARCHIVE})
    cutoff_day = repo.retention_cutoff().date()
    assert mark["day"] == (cutoff_day - timedelta(days=1)).isoformat()

    # A day past the mark is not read again: a document slipped in behind the
    # mark (it cannot be, since the archive pass de-identifies such a document
    # itself) stays as it is, so the walk's cost follows the days, not the archive.
    behind = repo.sealed(LINKAGES, linkage("behind", 30, 42))
    behind["finished_day"] = retention.finished_day(behind["closed_at"])
    archive.insert_one(behind)
    assert repo.forget_expired() == {LINKAGES: 0}


def test_a_rotation_leaves_deidentified_documents_alone(repo):
    repo.insert(LINKAGES, linkage("gone", 11))
    repo.insert(LINKAGES, linkage("kept", 1, 2))
    repo.forget_expired()
    new_keys = Keyring((("k2", os.urandom(32)),) + tuple(KEYRING.keys.items()), KEYRING.blind_key)
    counts = rotation.rotate(repo.db, "neighborhood_committee",
                             rotation.repository_classes(NeighborhoodCommitteeService), new_keys,
                             make_locks("process", repo.db), CATALOGUE)
    assert counts[LINKAGES] == (2, 1)
    assert stored(repo, LINKAGES, "gone")["id_number"] == "110105********0001"
