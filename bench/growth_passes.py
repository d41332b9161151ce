"""The periodic passes at one data size, timed in this process against the
stack's databases with the services' own code:

- every timer entrypoint of the five services (found on their classes: today
  the committee's overdue scans of linkages and of cases), called through
  nameko's `worker_factory` with the real repositories;
- each service's outbox relay scan (`OutboxRelay.relay_once`: what is due, in
  every outbox collection) and its backlog gauge pass (`_update_gauges`),
  with publishing switched off: the service's own relay does that;
- each store's archive pass (`archive_finished`, where a repository archives)
  and the audit trail's retention pass (`drop_expired`), where they exist.

The services expose no pass duration in /metrics, hence the in-process run.
Nothing is due while this runs (every linkage is closed or within its
limits), so a pass is its queries; should something be due, a timer writes
its change and events as the service would, and the service's relay sends
them at its next scan.
"""
import inspect
import time
from types import SimpleNamespace

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory
from nameko.timer import Timer

from bench.stats import summary
from shared.catalogue import CATALOGUE
from shared.cli import SERVICE_CLASSES
from shared.metrics import Metrics
from shared.relay import OutboxRelay
from shared.runner import service_class
from shared.settings import Settings
from shared.store import Store
from shared.writes import Writes


def _members(cls, kind):
    return [(name, value) for name, value in inspect.getmembers(cls) if isinstance(value, kind)]


def timers(cls):
    return [name for name, member in inspect.getmembers(cls)
            if any(isinstance(entry, Timer) for entry in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()))]


def passes(client, mongo_uri, db_prefix="", config=None):
    """[(label, callable)] of every periodic pass of the five services."""
    found = []
    for service, path in SERVICE_CLASSES.items():
        cls = service_class(path)
        db = client[db_prefix + service]
        writes = Writes(db)
        metrics = Metrics(service)
        settings = Settings.from_config(service, dict(config or {}, MONGO_URI=mongo_uri,
                                                      DB_PREFIX=db_prefix))
        stores = sorted(_members(cls, Store), key=lambda pair: pair[0])
        repositories = {name: store.repository_cls(db, CATALOGUE, service, lambda *written: None, writes)
                        for name, store in stores}
        for name, repository in repositories.items():
            if getattr(repository, "ARCHIVED", None) and hasattr(repository, "archive_finished"):
                repository.archive_after_seconds = settings.archive_after_seconds
                found.append(("%s.archive(%s)" % (service, name), repository.archive_finished))
        retention = _retention(db, metrics, service, settings)
        if retention is not None:
            found.append(("%s.audit_retention" % service, retention))
        infra = SimpleNamespace(metrics=metrics, settings=settings, writes=writes, db=db)
        for timer in timers(cls):
            worker = worker_factory(cls, infra=infra, **repositories)
            found.append(("%s.%s" % (service, timer), getattr(worker, timer)))
        collections = []
        for _, store in stores:
            collections += [c for c in store.repository_cls.OUTBOX_COLLECTIONS if c not in collections]
        relay = _relay(db, writes, metrics, collections)
        found.append(("%s.outbox_scan" % service, relay.relay_once))
        found.append(("%s.outbox_gauges" % service, relay._update_gauges))
    return found


def _retention(db, metrics, service, settings):
    """The audit trail's retention pass, if the platform has one."""
    from shared import audit
    if not hasattr(audit.AuditLog, "drop_expired") or not hasattr(settings, "audit_retention_days"):
        return None
    parameters = inspect.signature(audit.AuditLog).parameters
    log = audit.AuditLog(db, metrics, service, *([set()] if len(parameters) > 3 else []))
    return lambda: log.drop_expired(settings.audit_retention_days)


def _relay(db, writes, metrics, collections):
    relay = OutboxRelay()
    relay.platform = SimpleNamespace(db=db, metrics=metrics, writes=writes)
    relay.collections = collections
    relay._scanned, relay._scanned_before, relay._running = set(), set(), True
    relay._publish = lambda *args: None  # the service's own relay publishes
    return relay


def measure(client, mongo_uri, db_prefix="", repeat=10, config=None):
    """{pass: summary (seconds)}, each pass run `repeat` times after one warm-up."""
    results = {}
    for label, call in passes(client, mongo_uri, db_prefix, config):
        times, error = [], None
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            try:
                call()
            except Exception as exc:  # a pass the services changed: say so, measure the rest
                error = "%s: %s" % (type(exc).__name__, exc)
                break
            if attempt:
                times.append(time.perf_counter() - started)
        results[label] = dict(summary(times), error=error)
    return results
