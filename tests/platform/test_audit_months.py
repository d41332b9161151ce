"""Integration: the audit trail kept by month (shared/audit.py), paged by
cursor, and dropped past its retention, against the real database."""
from datetime import datetime, timezone

import pytest
from pymongo import MongoClient

from shared import audit
from tests.conftest import MONGO_URI


class Counting:
    def labels(self, *names):
        return self

    def inc(self, amount=1):
        pass


class Metrics:
    audit_records = Counting()


@pytest.fixture
def db(db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    yield client[db_prefix + "audit"]
    client.close()


@pytest.fixture
def trail(db):
    return audit.AuditLog(db, Metrics(), "community_police", set())


def at(month, day, hour=0):
    return datetime(2026, month, day, hour, tzinfo=timezone.utc)


def write(trail, when, index, agency="community_police", returnee="r-1"):
    trail._month(when).insert_one({"_id": "a%03d" % index, "at": when, "day": audit.day_name(when),
                                   "user": "u", "agency": agency,
                                   "returnee_id": returnee, "id_masked": "1101**********0011",
                                   "via": "GET /x", "purpose": "test"})


def pages(trail, limit, **filters):
    result, cursor = [], None
    while True:
        page = trail.records(limit=limit, cursor=cursor, today=at(12, 31), **filters)
        result.append([item["id"] for item in page["items"]])
        cursor = page["next"]
        if cursor is None:
            return result


def test_records_fall_in_their_month_and_page_newest_first_across_months(db, trail):
    moments = [at(9, 30, 23), at(10, 1), at(10, 1), at(10, 15), at(11, 2), at(11, 28), at(11, 28)]
    for index, when in enumerate(moments):
        write(trail, when, index)
    write(trail, at(11, 3), 99, agency="developer")  # another agency's: never listed here
    assert audit.months(db) == ["audit_2026_11", "audit_2026_10", "audit_2026_09"]
    assert db["audit_2026_10"].count_documents({}) == 3

    expected = [record["_id"] for record in sorted(
        (r for name in audit.months(db) for r in db[name].find({"agency": "community_police"})),
        key=lambda r: (r["at"], r["_id"]), reverse=True)]
    for limit in (1, 2, 3, 7, 10):
        found = pages(trail, limit)
        assert [i for page in found for i in page] == expected
        assert all(len(page) == limit for page in found[:-1])


def test_a_page_filtered_to_one_person_reads_on_through_older_months(db, trail):
    write(trail, at(11, 2), 1, returnee="wanted")
    for index in range(2, 6):
        write(trail, at(10, index), index, returnee="other")
    write(trail, at(8, 2), 6, returnee="wanted")
    assert pages(trail, 1, returnee_id="wanted") == [["a001"], ["a006"]]


def test_months_past_the_retention_are_dropped_whole(db, trail):
    write(trail, at(1, 31, 23), 1)
    write(trail, at(2, 1), 2)
    write(trail, at(3, 5), 3)
    # Kept 30 days on 2026-03-15: January ended more than 30 days ago, February did not.
    assert trail.drop_expired(30, now=at(3, 15)) == 1
    assert audit.months(db) == ["audit_2026_03", "audit_2026_02"]
    assert trail.drop_expired(30, now=at(3, 15)) == 0


def test_records_of_the_single_collection_move_into_their_months(db, trail):
    db[audit.LEGACY].insert_many([{"_id": "old-%d" % i, "at": at(6 + i % 2, 1 + i),
                                   "agency": "community_police"} for i in range(5)])
    assert trail.move_legacy(batch=2) == 5
    assert db[audit.LEGACY].count_documents({}) == 0
    assert audit.count_records(db) == 5
    assert db["audit_2026_07"].count_documents({}) == 2
    assert db["audit_2026_07"].find_one({"_id": "old-1"})["day"] == "2026-07-02"
    assert [i for page in pages(trail, 2) for i in page] == ["old-3", "old-1", "old-4", "old-2", "old-0"]


def test_records_of_earlier_versions_get_their_day_once(db, trail):
    """Months written before records had a `day`: a day-at-a-time page would
    miss them, so the service gives them theirs at start, once."""
    for index, when in enumerate([at(10, 3, 5), at(10, 3, 6), at(11, 1)]):
        trail._month(when).insert_one({"_id": "v%d" % index, "at": when, "agency": "community_police"})
    assert pages(trail, 5) == [[]]  # control: without a day they are not found
    assert trail.add_days(batch=2) == 3
    assert db["audit_2026_10"].find_one({"_id": "v1"})["day"] == "2026-10-03"
    assert pages(trail, 2) == [["v2", "v1"], ["v0"]]
    trail._month(at(11, 2)).insert_one({"_id": "late", "at": at(11, 2), "agency": "community_police"})
    assert trail.add_days() == 0  # done once: a record written since has its day from the writer


def test_replicas_starting_together_both_start(db, trail):
    """Both found the mark missing and both mark it: the second must not
    fail its start (fault scenario 6 saw a replica exit on it)."""
    other = audit.AuditLog(db, Metrics(), "community_police", set())
    trail._mark_days_added()
    other._mark_days_added()
    assert [mark["_id"] for mark in db[audit.MARKS].find()] == [audit.DAYS_ADDED]


def test_a_page_of_the_newest_reads_on_through_days_and_months_from_its_cursor(db, trail):
    moments = [at(10, 30, 1), at(11, 10, 0), at(11, 10, 1), at(11, 11, 0), at(11, 11, 1), at(11, 29, 5)]
    for index, when in enumerate(moments):
        write(trail, when, index)
    write(trail, at(12, 1), 98)  # after "today": never reached
    first = trail.records(limit=3, today=at(11, 30))
    assert [item["id"] for item in first["items"]] == ["a005", "a004", "a003"]
    second = trail.records(limit=3, cursor=first["next"], today=at(11, 30))
    assert [item["id"] for item in second["items"]] == ["a002", "a001", "a000"]
    assert second["next"] is None


def test_a_cursor_from_elsewhere_is_refused_by_the_api_schema():
    errors = audit.AuditQuery().validate({"cursor": "!!!"})
    assert "cursor" in errors
