"""Structured logs: one JSON line per request and per event handled, each with
the correlation id, so one linkage can be followed across all five services
with grep."""
import json
import logging
import threading

from shared import clock

_context = threading.local()  # green-thread local once eventlet has patched threading


def set_correlation_id(value):
    _context.correlation_id = value


def correlation_id():
    return getattr(_context, "correlation_id", None)


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
        return json.dumps(line, default=str, ensure_ascii=False)


def info(logger, msg, **fields):
    logger.info(msg, extra={"fields": fields})
