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
"""
import threading
from contextlib import contextmanager


class KeyedLocks:
    def __init__(self):
        self._locks = {}  # key -> [RLock, holders]

    @contextmanager
    def hold(self, key):
        entry = self._locks.setdefault(key, [threading.RLock(), 0])
        entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(key, None)
