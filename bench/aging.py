"""The template linkages as they look once old: what the services' own
archive pass (each repository's `archive_finished`, which a Store runs every
ARCHIVE_SCAN_SECONDS) leaves of them after ARCHIVE_AFTER_SECONDS.

The pass runs in this process, on a scratch copy of the templates'
documents in databases of their own, with the platform's clock moved on to
when they are old enough; the stack's own databases are
not touched. A copy older than that is made from this aged form
(bench/clone.py), so an old linkage lies where the services would have put
it, marked as they would have marked it.
"""
import inspect
import os
import uuid
from collections import defaultdict
from datetime import timedelta

from bench.clone import snapshot
from shared import clock
from shared.catalogue import CATALOGUE
from shared.cli import SERVICE_CLASSES
from shared.runner import service_class
from shared.settings import Settings
from shared.store import Store
from shared.writes import Writes


def archivers(client, db_prefix, config):
    """[(service, repository)] of every store whose repository archives."""
    found = []
    for service, path in SERVICE_CLASSES.items():
        settings = Settings.from_config(service, config)
        db = client[db_prefix + service]
        for _, store in sorted(inspect.getmembers(service_class(path), lambda m: isinstance(m, Store)),
                               key=lambda pair: pair[0]):
            cls = store.repository_cls
            if getattr(cls, "ARCHIVED", None) and hasattr(cls, "archive_finished"):
                repository = cls(db, CATALOGUE, service, lambda *written: None, Writes(db))
                repository.archive_after_seconds = settings.archive_after_seconds
                found.append((service, repository))
    return found


def settings_config(service_settings):
    """The services' configuration as the fleet gives it (environment, then settings)."""
    return dict(os.environ, **(service_settings or {}))


def aged(client, documents, service_settings=None, db_prefix=""):
    """(the documents as archived, the age at which they are), or (None, None)
    if no service archives. `db_prefix`: the services' (DB_PREFIX)."""
    config = settings_config(service_settings)
    prefix = "growthage%s_" % uuid.uuid4().hex[:6]
    repositories = archivers(client, prefix + db_prefix, config)
    if not repositories:
        return None, None
    # From this age on the services' pass has moved a document, or moves it
    # at its next scan: either way it is found archived from then on.
    settings = Settings.from_config(repositories[0][0], config)
    age = timedelta(seconds=settings.archive_after_seconds)
    targets = defaultdict(list)
    for db, collection, doc in documents:
        targets[(db, collection)].append(doc)
    real_utcnow = clock.utcnow
    later = real_utcnow() + age
    try:
        for (db, collection), docs in targets.items():
            client[prefix + db][collection].insert_many(docs)
        clock.utcnow = lambda: later
        for _, repository in repositories:
            while any(repository.archive_finished(now=later, batch=1000).values()):
                pass
        clock.utcnow = real_utcnow
        scratch = [name for name in client.list_database_names() if name.startswith(prefix)]
        return [(db[len(prefix):], collection, doc) for db, collection, doc in
                snapshot(client, scratch)], age
    finally:
        clock.utcnow = real_utcnow
        for name in client.list_database_names():
            if name.startswith(prefix):
                client.drop_database(name)
