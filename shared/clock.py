"""Time in one place: always timezone-aware UTC.

The clock can be set ahead or behind by an offset, so a test can put a
service (or the test itself) at any moment, such as a minute before the
daily briefing is due, and let time run on from there: `set_offset` in
process, `CLOCK_OFFSET_SECONDS` for a service (shared/settings.py; refused
in production). Everything that asks the time asks `utcnow`."""
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)


def set_offset(seconds):
    """Run the clock `seconds` ahead of the machine's (behind if negative)."""
    global _offset
    _offset = timedelta(seconds=float(seconds or 0))


def offset_seconds():
    return _offset.total_seconds()


def utcnow():
    """Now, to the millisecond: what BSON keeps, so a time a service answers
    with from memory is the one a later read returns."""
    now = datetime.now(timezone.utc) + _offset
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def isoformat(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))



def utcfromtimestamp(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc)
