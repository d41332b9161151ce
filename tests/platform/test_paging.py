"""Integration: keyset pages (shared/paging.py) against the real database."""
from datetime import datetime, timedelta, timezone

import pymongo
import pytest

from shared import paging


@pytest.fixture
def things(mongo_client, db_prefix):
    collection = mongo_client[db_prefix + "paging"]["things"]
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    # Ties on the order field: three things share each moment.
    collection.insert_many([{"_id": "t%02d" % i, "at": start + timedelta(minutes=i // 3),
                             "kind": "odd" if i % 2 else "even"} for i in range(25)])
    return collection


def walk(collection, query, order, direction, limit):
    pages, cursor = [], None
    while True:
        page = paging.find_page(collection, query, order, direction, limit, cursor)
        pages.append(page)
        if page.next is None:
            return pages
        cursor = page.next


@pytest.mark.parametrize("direction", [pymongo.ASCENDING, pymongo.DESCENDING])
@pytest.mark.parametrize("limit", [1, 4, 7, 25, 30])
def test_the_pages_hold_every_match_once_in_order(things, direction, limit):
    pages = walk(things, {"kind": "odd"}, "at", direction, limit)
    seen = [thing["_id"] for page in pages for thing in page.items]
    expected = [thing["_id"] for thing in things.find({"kind": "odd"}).sort(
        [("at", direction), ("_id", direction)])]
    assert seen == expected and len(expected) == 12
    assert all(page.total == 12 and not page.total_capped for page in pages)
    assert len(pages) == max(1, -(-12 // limit))


def test_pages_by_id_alone(things):
    pages = walk(things, {}, "_id", pymongo.ASCENDING, 10)
    assert [len(page.items) for page in pages] == [10, 10, 5]
    assert pages[1].items[0]["_id"] == "t10"


def test_the_total_stops_counting_at_its_limit(things, monkeypatch):
    monkeypatch.setattr(paging, "TOTAL_LIMIT", 10)
    page = paging.find_page(things, {}, "at", pymongo.DESCENDING, 5)
    assert (page.total, page.total_capped) == (10, True)
    page = paging.find_page(things, {"kind": "odd", "at": {"$lt": datetime(2026, 11, 1, 0, 3,
                                                                           tzinfo=timezone.utc)}},
                            "at", pymongo.DESCENDING, 5)
    assert (page.total, page.total_capped) == (4, False)


def test_a_page_written_between_two_reads_does_not_shift_the_next(things):
    first = paging.find_page(things, {}, "_id", pymongo.ASCENDING, 5)
    things.insert_one({"_id": "t00a", "at": datetime(2026, 11, 1, tzinfo=timezone.utc)})
    second = paging.find_page(things, {}, "_id", pymongo.ASCENDING, 5, first.next)
    assert [thing["_id"] for thing in second.items] == ["t05", "t06", "t07", "t08", "t09"]


@pytest.mark.parametrize("cursor", ["", "!!!", "bm90IGpzb24", "WzFd", "WzEsIG51bGxd"])
def test_a_cursor_no_page_handed_out_is_refused(cursor):
    with pytest.raises(paging.BadCursor):
        paging.decode(cursor)


def test_a_later_page_keeps_the_query_s_fields_at_the_top_level_where_it_can():
    """FerretDB hands only top-level fields to its backend (and its index):
    the cursor's condition goes beside the query's fields, under "$and" only
    where the two would share a key."""
    cursor = paging.encode({"_id": "t07", "at": datetime(2026, 11, 1, tzinfo=timezone.utc)}, "at")
    beside = paging.after({"kind": "odd", "day": "2026-11-01"}, "at", pymongo.DESCENDING, cursor)
    assert beside["kind"] == "odd" and beside["day"] == "2026-11-01" and "$or" in beside
    both = paging.after({"$or": [{"kind": "odd"}, {"kind": "even"}]}, "at", pymongo.DESCENDING, cursor)
    assert list(both) == ["$and"]
    by_id = paging.after({"_id": {"$ne": "t01"}}, "_id", pymongo.ASCENDING, cursor)
    assert list(by_id) == ["$and"]


@pytest.mark.parametrize("query", [{"kind": "odd"}, {"$or": [{"kind": "odd"}, {"_id": "t02"}]}])
def test_pages_of_a_filtered_query_hold_each_match_once_either_way(things, query):
    expected = sorted((doc for doc in things.find(query)), key=lambda d: (d["at"], d["_id"]), reverse=True)
    found = [item["_id"] for page in walk(things, query, "at", pymongo.DESCENDING, 4) for item in page.items]
    assert found == [doc["_id"] for doc in expected]
