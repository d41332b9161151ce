"""Conditional single-document writes, and who checks their condition.

Every write that depends on a document's state says so in its filter:
`{_id, version: 3}`, `{_id, applied_events: {$ne: event_id}}`,
`{_id, status: "pending"}`. Where the condition is checked is the one choice
this module makes (the WRITE_GUARDS setting):

- `database`: the filter goes to the database as it is. MongoDB checks it
  atomically with the write, which is what keeps several replicas of a
  service correct.
- `process`: the document is read by `_id` under the process's lock on it
  (shared/locks.py), the condition is checked here, and the write is made
  by `_id` alone. This is for FerretDB 1.24, whose SQLite backend hands a
  filter to SQLite only when it is exactly `{_id: ...}`; any other filter
  fetches and JSON-decodes every document of the collection (an update by
  `{_id, version}` cost 3x one by `{_id}` at 4,000 documents, BENCHMARKS.md).
  There the database-side check buys no safety between processes either,
  since FerretDB does not isolate concurrent updates of a document, so one
  process per service writes, as on the local stack.
- `auto` (the default): `process` when the server says it is FerretDB,
  `database` otherwise.
"""
import logging
import threading

from shared.locks import KeyedLocks

log = logging.getLogger(__name__)

MODES = ("auto", "database", "process")
_MISSING = object()


class UnsupportedGuard(ValueError):
    """A filter this module cannot check itself: a bug to fix here, not data."""


def _value(document, path):
    """What a dotted path reaches in a document: a value, or _MISSING."""
    value = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _equals(value, expected):
    """MongoDB's equality: null matches a missing field; an array matches
    when it is equal or holds the value."""
    if value is _MISSING:
        return expected is None
    if _same(value, expected):
        return True
    return isinstance(value, list) and any(_same(item, expected) for item in value)


def _same(value, expected):
    # BSON keeps booleans apart from numbers: false is not 0 there.
    return isinstance(value, bool) == isinstance(expected, bool) and value == expected


def matches(document, query):
    """Whether `document` matches `query`, for the guard forms writes use:
    field equality (dotted paths included) and `{"$ne": value}`."""
    for path, expected in query.items():
        if path.startswith("$"):
            raise UnsupportedGuard("operator %s in a write guard" % path)
        value = _value(document, path)
        if isinstance(expected, dict) and any(key.startswith("$") for key in expected):
            if set(expected) != {"$ne"}:
                raise UnsupportedGuard("%s in the guard on %s" % (sorted(expected), path))
            if _equals(value, expected["$ne"]):
                return False
        elif not _equals(value, expected):
            return False
    return True


class Writes:
    """Conditional updates of one document, checked where the mode says."""

    def __init__(self, db, locks=None, mode="auto"):
        if mode not in MODES:
            raise ValueError("WRITE_GUARDS must be one of %s, not %r" % (", ".join(MODES), mode))
        self.db = db
        self.locks = locks if locks is not None else KeyedLocks()
        self.mode = mode
        self._detect = threading.Lock()

    def locked(self, collection_name, document_id):
        return self.locks.hold((collection_name, document_id))

    @property
    def in_process(self):
        if self.mode == "auto":
            with self._detect:
                if self.mode == "auto":
                    info = self.db.client.admin.command("buildInfo")
                    self.mode = "process" if "ferretdbVersion" in info else "database"
                    log.info("write guards checked in the %s", self.mode)
        return self.mode == "process"

    @property
    def sole_writer(self):
        """Whether every write to this service's documents is made by this
        process, under its own locks: guards checked here and locks that no
        other process holds. (`database` guards or DOCUMENT_LOCKS=database
        mean replicas.)"""
        return self.in_process and not self.locks.shared

    def update_one(self, collection, query, update, current=None):
        """Apply `update` to the document `query` names by `_id` if it still
        matches the rest of `query`; True if it did. `current` is the
        document as the caller read it while holding its lock (saves the
        read in process mode)."""
        with self.locked(collection.name, query["_id"]):
            if not self.in_process:
                return collection.update_one(query, update).matched_count == 1
            if current is None:
                current = collection.find_one({"_id": query["_id"]})
            if current is None or not matches(current, query):
                return False
            return collection.update_one({"_id": query["_id"]}, update).matched_count == 1
