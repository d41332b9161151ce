"""Integration: document locks shared by replicas (shared/locks.py,
DOCUMENT_LOCKS=database) keep read-modify-write exact across connections,
on the real database, where its own updates are not isolated."""
from datetime import timedelta

import eventlet
import pytest
from pymongo import MongoClient

from shared import clock
from shared.locks import DatabaseLocks, KeyedLocks, LockTimeout
from tests.conftest import MONGO_URI

REPLICAS, WORKERS, ROUNDS = 2, 5, 10


@pytest.fixture
def replicas(db_prefix):
    """Each 'replica' has its own client (its own connections) and locks."""
    clients = [MongoClient(MONGO_URI, tz_aware=True) for _ in range(REPLICAS)]
    dbs = [client[db_prefix + "locks"] for client in clients]
    dbs[0]["counters"].insert_one({"_id": "c", "value": 0})
    yield [(db, DatabaseLocks(db["locks"])) for db in dbs]
    for client in clients:
        client.close()


def increments(db, locks):
    for _ in range(ROUNDS):
        with locks.hold(("counters", "c")):
            value = db["counters"].find_one({"_id": "c"})["value"]
            eventlet.sleep(0)  # let the others run between the read and the write
            db["counters"].update_one({"_id": "c"}, {"$set": {"value": value + 1}})


def run_all(replicas, locks_of=lambda locks: locks):
    pool = eventlet.GreenPool(REPLICAS * WORKERS)
    for db, locks in replicas:
        for _ in range(WORKERS):
            pool.spawn(increments, db, locks_of(locks))
    pool.waitall()
    return replicas[0][0]["counters"].find_one({"_id": "c"})["value"]


def test_replicas_holding_the_lock_lose_no_update(replicas):
    assert run_all(replicas) == REPLICAS * WORKERS * ROUNDS
    assert replicas[0][0]["locks"].count_documents({}) == 0  # every lock released


def test_without_the_shared_lock_replicas_lose_updates(replicas):
    """The control: process locks alone do not keep replicas apart."""
    process_locks = {id(locks): KeyedLocks() for _, locks in replicas}
    assert run_all(replicas, lambda locks: process_locks[id(locks)]) < REPLICAS * WORKERS * ROUNDS


def test_a_nested_hold_takes_the_lock_document_once(replicas):
    db, locks = replicas[0]
    with locks.hold(("counters", "c")):
        with locks.hold(("counters", "c")):
            assert db["locks"].count_documents({}) == 1
        assert db["locks"].count_documents({}) == 1
    assert db["locks"].count_documents({}) == 0


def test_a_lock_left_by_a_dead_replica_is_taken_over_once_stale(replicas):
    db, locks = replicas[0]
    locks.stale_seconds = 5
    key_id = '["counters", "c"]'
    db["locks"].insert_one({"_id": key_id, "token": "dead", "at": clock.utcnow() - timedelta(seconds=60)})
    with locks.hold(("counters", "c")):
        assert db["locks"].find_one({"_id": key_id})["token"] != "dead"
    assert db["locks_claims"].count_documents({"_id": "dead"}) == 1


def test_a_lock_held_by_a_live_replica_is_waited_for_then_given_up(replicas):
    (db, first), (_, second) = replicas
    second.wait_seconds = 0.3
    with first.hold(("counters", "c")):
        with pytest.raises(LockTimeout):
            with second.hold(("counters", "c")):
                pass
    with second.hold(("counters", "c")):
        pass
