"""Time in one place: always timezone-aware UTC."""
from datetime import datetime, timezone


def utcnow():
    return datetime.now(timezone.utc)


def isoformat(moment):
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

