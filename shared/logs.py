"""Structured logs: one JSON line per request and per event handled, each with
the correlation id, so one linkage can be followed across all five services
with grep.

No log line carries a national ID number or a mobile phone number, whatever
put it there (an exception's message, a duplicate key, a request path): the
formatter masks both in the finished line, as the API masks an ID."""
import json
import logging
import re
import threading

from shared import clock

_context = threading.local()  # green-thread local once eventlet has patched threading


def set_correlation_id(value):
    _context.correlation_id = value


def correlation_id():
    return getattr(_context, "correlation_id", None)


# An 18-character ID number and an 11-digit mainland mobile number, standing
# alone (not inside a longer run of digits, such as a timestamp or a hash).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9A-Za-z])")


def scrub(text):
    """`text` with every ID number and mobile number masked."""
    text = _ID_NUMBER.sub(lambda m: m.group(1) + "*" * 8 + m.group(2), text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service):
        super().__init__()
        self.service = service

    def format(self, record):
        line = {
            "ts": clock.isoformat(clock.utcnow()),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None) or correlation_id()
        if cid:
            line["correlation_id"] = cid
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return scrub(json.dumps(line, default=str, ensure_ascii=False))


def info(logger, msg, **fields):
    logger.info(msg, extra={"fields": fields})
