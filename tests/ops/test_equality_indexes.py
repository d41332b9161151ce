"""The local stack's FerretDB on PostgreSQL answers equalities from an index
(ops/postgres/equality-indexes.sql, installed by scripts/stack.sh): by `_id`
and by the first field of every index a service declares, in collections
made before or after it. FerretDB's `explain` shows PostgreSQL's own plan.
On another backend (SQLite, MongoDB) there is nothing of ours to check."""
import uuid

import pytest
from pymongo import ASCENDING, DESCENDING


def plan_nodes(plan):
    """Every node of a PostgreSQL plan, depth first."""
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def scans(db, collection, query):
    """(node type, index name) of each scan PostgreSQL plans for `query`."""
    answer = db.command("explain", {"find": collection, "filter": query})
    return [(node["Node Type"], node.get("Index Name"))
            for node in plan_nodes(answer["queryPlanner"]["Plan"]) if "Scan" in node["Node Type"]]


@pytest.fixture
def db(mongo_client):
    info = mongo_client.admin.command("buildInfo")
    probe = mongo_client["t%s_probe" % uuid.uuid4().hex[:8]]
    try:
        probe["probe"].insert_one({"_id": 1})
        plan = probe.command("explain", {"find": "probe", "filter": {}}).get("queryPlanner", {})
    finally:
        mongo_client.drop_database(probe.name)
    if "ferretdbVersion" not in info or "Plan" not in plan:
        pytest.skip("the local database is not FerretDB on PostgreSQL")
    name = "t%s_equality" % uuid.uuid4().hex[:8]
    yield mongo_client[name]
    mongo_client.drop_database(name)


def test_lookups_by_id_and_by_a_declared_index_use_an_index(db):
    things = db["things"]
    things.create_index([("returnee_id", ASCENDING)])
    things.create_index([("agency", ASCENDING), ("at", DESCENDING)])
    things.insert_many([{"_id": "thing-%05d" % n, "returnee_id": "r-%d" % (n % 500),
                         "agency": "police", "note": "n%d" % n} for n in range(3000)])

    for query in ({"_id": "thing-01234"}, {"returnee_id": "r-17"}):
        found = scans(db, "things", query)
        assert any(kind == "Bitmap Index Scan" and "_eq_" in (index or "")
                   for kind, index in found), (query, found)
        assert not any(kind == "Seq Scan" for kind, _ in found), (query, found)
    # Control: a field no index names is still read by a scan of the table.
    assert [kind for kind, _ in scans(db, "things", {"note": "n17"})] == ["Seq Scan"]
    # And the answers are the same as without an index.
    assert [d["_id"] for d in things.find({"returnee_id": "r-17"}).sort("_id", 1)] == \
        ["thing-%05d" % n for n in range(17, 3000, 500)]
    assert things.find_one({"_id": "thing-01234"})["returnee_id"] == "r-234"


def test_an_index_declared_after_the_documents_is_served_too(db):
    later = db["later"]
    later.insert_many([{"_id": n, "who": "w%d" % n} for n in range(2000)])
    assert [kind for kind, _ in scans(db, "later", {"who": "w5"})] == ["Seq Scan"]
    later.create_index("who")
    assert any("_eq_" in (index or "") for _, index in scans(db, "later", {"who": "w5"}))
    assert later.find_one({"who": "w5"})["_id"] == 5
