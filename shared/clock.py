"""Time in one place: always timezone-aware UTC."""
from datetime import datetime, timezone


def utcnow():
    """Now, to the millisecond: what BSON keeps, so a time a service answers
    with from memory is the one a later read returns."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def isoformat(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))



def utcfromtimestamp(seconds):
    return datetime.fromtimestamp(seconds, timezone.utc)
