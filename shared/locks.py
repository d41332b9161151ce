"""Per-document write serialisation inside one service process.

FerretDB's SQLite backend does not isolate concurrent updates of the same
document: measured here, 10 threads each doing 50 `$inc` on one document left
it at 52, and compare-and-set on a version field lost updates too. So every
write a service makes to a document, together with any read it depends on,
runs under that document's lock. One process per service talks to FerretDB
(the local stack), and there each write's guard is checked under this lock
(shared/writes.py, WRITE_GUARDS=process). Where services run as several
replicas they use a real MongoDB, whose single-document updates are atomic
and make the guards in the filter sufficient on their own
(WRITE_GUARDS=database).

Several replicas on FerretDB need the lock to span processes: with
DOCUMENT_LOCKS=database the outermost hold of a key in a process also
inserts a lock document whose `_id` is the key, in the service's `locks`
collection, and deletes it on release. A unique-key insert is the one write
FerretDB makes atomic across connections (measured: 30 keys x 8 racers left
exactly 30 documents, on both backends), so at most one replica holds a key,
and each write's guard is checked under it (WRITE_GUARDS=process).
"""
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager

import eventlet
from pymongo.errors import DuplicateKeyError

from shared import clock

log = logging.getLogger(__name__)

MODES = ("process", "database")


class LockTimeout(Exception):
    """Another replica held a document's lock for longer than we wait."""


class KeyedLocks:
    shared = False  # held by this process only

    def __init__(self):
        self._locks = {}  # key -> [RLock, holders, depth]

    @contextmanager
    def hold(self, key):
        entry = self._locks.setdefault(key, [threading.RLock(), 0, 0])
        entry[1] += 1
        try:
            with entry[0]:
                entry[2] += 1  # only the holder changes it
                try:
                    if entry[2] == 1:
                        with self.outermost(key):
                            yield
                    else:
                        yield
                finally:
                    entry[2] -= 1
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(key, None)

    @contextmanager
    def outermost(self, key):
        """What the first hold of a key in this process adds: nothing here."""
        yield


class DatabaseLocks(KeyedLocks):
    """KeyedLocks that every replica of a service shares, through lock
    documents. A lock whose holder died is taken over once it is older than
    `stale_seconds`: by one replica only (it first inserts a claim keyed by
    that lock's token, the same atomic unique-key insert), and only because
    no holder keeps a document's lock for more than a write's few
    milliseconds."""
    shared = True

    def __init__(self, collection, stale_seconds=10.0, wait_seconds=30.0):
        self.collection = collection
        self.claims = collection.database[collection.name + "_claims"]
        self.stale_seconds = stale_seconds
        self.wait_seconds = wait_seconds
        super().__init__()

    @contextmanager
    def outermost(self, key):
        lock_id = json.dumps(list(key) if isinstance(key, tuple) else [key])
        token = uuid.uuid4().hex
        self._acquire(lock_id, token)
        try:
            yield
        finally:
            self.collection.delete_one({"_id": lock_id, "token": token})

    def _acquire(self, lock_id, token):
        deadline = time.monotonic() + self.wait_seconds
        pause = 0.002
        while True:
            try:
                self.collection.insert_one({"_id": lock_id, "token": token, "at": clock.utcnow()})
                return
            except DuplicateKeyError:
                pass
            held = self.collection.find_one({"_id": lock_id})
            if held is not None and self._stale(held):
                self._take_over(held)
                continue
            if time.monotonic() > deadline:
                raise LockTimeout("%s is locked by another replica" % lock_id)
            eventlet.sleep(pause)
            pause = min(pause * 2, 0.02)

    def _stale(self, held):
        at = held["at"] if held["at"].tzinfo else held["at"].replace(tzinfo=clock.utcnow().tzinfo)
        return (clock.utcnow() - at).total_seconds() > self.stale_seconds

    def _take_over(self, held):
        try:
            self.claims.insert_one({"_id": held["token"], "lock": held["_id"], "at": clock.utcnow()})
        except DuplicateKeyError:
            return  # another replica is taking it over
        log.warning("took over the lock on %s, held for over %ss by a replica that is gone",
                    held["_id"], self.stale_seconds)
        self.collection.delete_one({"_id": held["_id"], "token": held["token"]})


def make_locks(mode, db):
    if mode not in MODES:
        raise ValueError("DOCUMENT_LOCKS must be one of %s, not %r" % (", ".join(MODES), mode))
    return DatabaseLocks(db["locks"]) if mode == "database" else KeyedLocks()
