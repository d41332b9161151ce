"""The event journal against the real database (shared/journal.py): notes
once per publish and per handling, a trace's read by correlation id, and
the notes older than JOURNAL_DAYS dropped a day at a time."""
import time
from datetime import date, datetime, timedelta, timezone

from pymongo import MongoClient

from shared import journal
from shared.catalogue import CATALOGUE
from shared.clock import utcnow
from shared.events import Event
from tests.conftest import MONGO_URI


def test_notes_are_kept_once_and_read_by_correlation_id(db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    try:
        db = client[db_prefix + "journal"]
        journal.create_indexes(db)
        envelope = CATALOGUE.new_event("identity_check_opened", {
            "returnee_id": "r1", "opened_at": utcnow()}, "r1")
        sent = utcnow()
        journal.write(db, journal.published([envelope], sent, {envelope["event_id"]: "identity_check_opened"}))
        event = Event(envelope["event_id"], envelope["event_type"], envelope["producer"], 1,
                      datetime.now(timezone.utc), "r1", {})
        other = CATALOGUE.new_event("identity_check_opened", {"returnee_id": "r2", "opened_at": utcnow()}, "r2")
        retried = journal.attempted(event, "retried", 1, error="LookupError: " + "x" * 1000,
                                    retry_in_ms=200)
        time.sleep(0.01)  # the retry came first (the database keeps milliseconds)
        # Written in one batch, in which a note of the same fact may come twice.
        assert journal.write(db, journal.published([envelope], sent + timedelta(seconds=9))  # a republish
                             + [retried, journal.attempted(event, "handled", 2),
                                journal.attempted(event, "handled", 3)]  # redelivered after it was applied
                             + journal.published([other], sent))

        notes = journal.of(db, "r1")
        assert [(n["kind"], n.get("attempt")) for n in notes] == [
            ("published", None), ("retried", 1), ("handled", 2)]
        assert notes[0]["at"] == sent and notes[0]["routing_key"] == "identity_check_opened"
        assert len(notes[1]["error"]) == journal.ERROR_CHARS
        assert "payload" not in notes[0]
    finally:
        client.close()


def test_notes_older_than_the_retention_go_a_day_at_a_time(db_prefix):
    client = MongoClient(MONGO_URI, tz_aware=True)
    try:
        db = client[db_prefix + "journal"]
        # The first pass finds the journal new: it marks the day before the
        # cutoff done without reading the notes.
        assert journal.forget_before(db, date(2026, 11, 20), 10) == "2026-11-09"
        for days_ago in (12, 11, 10, 3, 0):
            day = date(2026, 11, 30) - timedelta(days=days_ago)
            db[journal.JOURNAL].insert_one({"_id": "n%d" % days_ago, "day": day.isoformat(),
                                            "correlation_id": "r1"})
        assert journal.forget_before(db, date(2026, 11, 30), 10) == "2026-11-19"
        assert sorted(n["_id"] for n in db[journal.JOURNAL].find()) == ["n0", "n10", "n3"]
        # The next pass starts after the last day done.
        assert journal.forget_before(db, date(2026, 12, 4), 10) == "2026-11-23"
        assert sorted(n["_id"] for n in db[journal.JOURNAL].find()) == ["n0", "n3"]
        assert db[journal.MARKS].find_one({"_id": journal.MARK})["day"] == "2026-11-23"
    finally:
        client.close()


def test_notes_wait_for_a_database_that_is_away_and_are_written_in_one_batch(db_prefix):
    from tests.support import free_port
    notes = journal.Notes()
    envelopes = [CATALOGUE.new_event("identity_check_opened", {"returnee_id": "r%d" % n,
                                                               "opened_at": utcnow()}, "r%d" % n)
                 for n in range(3)]
    notes.add(journal.published(envelopes, utcnow()))
    away = MongoClient("mongodb://127.0.0.1:%d/" % free_port(), serverSelectionTimeoutMS=200)
    client = MongoClient(MONGO_URI, tz_aware=True)
    try:
        assert notes.write(away["nowhere"]) == 3
        assert notes.waiting == 3 and notes.dropped == 0  # kept for the next pass
        db = client[db_prefix + "journal"]
        assert notes.write(db) == 3 and notes.waiting == 0
        assert sorted(n["correlation_id"] for n in db[journal.JOURNAL].find()) == ["r0", "r1", "r2"]
    finally:
        away.close()
        client.close()
