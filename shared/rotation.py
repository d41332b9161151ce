"""`linkage keys rotate <service>`: re-encrypt a service's stored personal
data under the key that now writes, while the service keeps running.

Put the new key first in PERSONAL_DATA_KEYS with the old one still listed,
restart the service (it then writes with the new key and reads both), and
rotate: every personal field (Repository.PERSONAL) that is plain or under
another key is re-encrypted, in the working set and in the archive, a batch
at a time by `_id` (a de-identified document holds masked values only, and
is left as it is). Each document goes through `Repository.modify`: under
its document lock and with its version guard, so a write the service makes
meanwhile is read again rather than overwritten. Then the old key can go.
"""
import importlib

from shared.store import Store, archive_name
from shared.writes import Writes

BATCH = 200


def repository_classes(service_class):
    """The repositories of a service class (its Stores), once each."""
    found = []
    for klass in service_class.__mro__:
        for value in vars(klass).values():
            if isinstance(value, Store) and value.repository_cls not in found:
                found.append(value.repository_cls)
    return found


def service_class(path):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def rotate(db, service, repositories, keyring, locks, catalogue, batch=BATCH):
    """{collection: (documents read, documents re-encrypted)}. A linkage's
    `open_person` written before the blind index becomes the index too."""
    counts = {}
    # The database checks each version guard: the service's process guards
    # do not see this process's reads.
    writes = Writes(db, locks=locks, mode="database")
    for repository_cls in repositories:
        repository = repository_cls(db, catalogue, service, writes=writes)
        repository.personal = keyring
        for collection, fields in repository_cls.PERSONAL.items():
            names = [collection]
            if collection in repository_cls.ARCHIVED:
                names.append(archive_name(collection))
            for name in names:
                counts[name] = _rotate(repository, collection, name, fields, keyring, batch)
    return counts


def _rotate(repository, collection, name, fields, keyring, batch):
    read = rewritten = 0
    last = None
    projection = dict({field: 1 for field in fields}, deidentified_at=1)
    while True:
        query = {} if last is None else {"_id": {"$gt": last}}
        page = list(repository.db[name].find(query, projection).sort("_id", 1).limit(batch))
        if not page:
            return read, rewritten
        last = page[-1]["_id"]
        read += len(page)
        for document in page:
            if document.get("deidentified_at") is None and any(
                    keyring.stale(document.get(field)) for field in fields):
                rewritten += _reseal(repository, collection, name, document["_id"])


def _reseal(repository, collection, name, document_id):
    """1 if the document was re-encrypted now, else 0 (done meanwhile, or gone)."""
    changed = []

    def decide(document):
        changed.append(repository.reseal(collection, document))
        return [] if changed[-1] else None
    written = repository.modify(name, document_id, decide)
    return int(written is not None and changed[-1])
