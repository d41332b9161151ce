"""A faithful bulk copy of closed linkages, for the data-growth benchmark.

Writing 100,000 linkages through the API at the 10-25 registrations/s this
machine carries would take hours; copying what the services wrote takes
minutes. The copy is faithful because it is made of what the five services
themselves wrote for a few template returnees driven through the whole flow
(bench/templates.py), and changes only what must differ between two
returnees:

- every *per-returnee token*: an id-like string (a UUID, a run of 8 or more
  hex digits, a valid resident ID number) that occurs in one template's
  documents and in no other document. That is the returnee id, event ids,
  idempotency keys, pass and registration numbers, audit record ids, ID and
  phone numbers, request hashes. Each gets a fresh value of the same shape (a
  UUID of the same version, hex or digits of the same length, a valid ID
  number of the same region), the same one wherever it occurs in any of the
  five databases. An ID number's masked form follows it, as
  `shared.identity.mask_id` makes it. A value stored encrypted
  (`shared.personal`, `enc:v1:...`) is opened with its database's keys
  (`keyrings`), its tokens replaced like any others, and sealed again
  under a fresh nonce; a blind index (a keyed hash of an ID number or
  phone) becomes that of the clone's number under the same key;
- every time: clone n is n+1 spacings older than its template, every
  timestamp in it moved by the same amount, so the durations inside a
  linkage stay and the copies lie in the past as a real history would;
- where an old linkage lives: a clone old enough to have been archived is
  copied from the template as the services' own archive pass leaves it
  (bench/aging.py runs that pass on a scratch copy of the templates, with
  the clock moved on), and a document in a collection named by a month
  (`audit_2026_11`) goes to the month of its own shifted time.

Nothing here names a collection or a field. A template's documents are found
by its returnee id anywhere in them, then by its tokens (a document that
names it only by an event id, say), so new collections, archives and keyed
lookups are copied as the services write them. A document carrying tokens of
several templates (a digest over many linkages) cannot be split: it is
counted as shared and not copied, and the report says so.
"""
import random
import re
import uuid
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

from bson import ObjectId

from shared.identity import id_number_problem, make_id_number, mask_id
from shared.outbox import pending_query
from shared.personal import Undecryptable, is_sealed
from shared.settings import Settings

TOKEN = re.compile(
    r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\d{17}[\dXx]|[0-9a-fA-F]{8,})(?![0-9A-Za-z])")
UUID_SHAPE = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})?$")
MONTH_IN_NAME = re.compile(r"(?<!\d)((?:19|20|21)\d{2})([_-]?)(0[1-9]|1[0-2])(?!\d)")
SHARED = "shared"  # the owner of a document that holds tokens of several templates


# ------------------------------------------------------------------ reading
def snapshot(client, databases):
    """Every document of every collection of `databases`: [(db, collection, doc)]."""
    documents = []
    for name in databases:
        for collection in sorted(client[name].list_collection_names()):
            if not collection.startswith("system."):
                documents += [(name, collection, doc) for doc in client[name][collection].find()]
    return documents


def counts(client, databases):
    """{(db, collection): documents}, from collStats: on FerretDB a
    count_documents decodes every document (8 s for 20k under load here)."""
    found = {}
    for name in databases:
        for collection in sorted(client[name].list_collection_names()):
            if collection.startswith("system."):
                continue
            try:
                found[(name, collection)] = int(client[name].command("collStats", collection)["count"])
            except Exception:
                found[(name, collection)] = client[name][collection].count_documents({})
    return found


def pending_outboxes(client, databases):
    """Documents whose events have not all been confirmed by the broker yet."""
    due = pending_query(datetime.max.replace(year=9000))
    return sum(client[name][collection].count_documents(due)
               for name in databases for collection in client[name].list_collection_names()
               if not collection.startswith("system."))


# ------------------------------------------------------------------ ciphertexts
class Sealed:
    """A value stored encrypted, opened for the copy: its tokens are found
    and replaced in `plain`, and it is sealed again as `field` when written."""
    __slots__ = ("plain", "field")

    def __init__(self, plain, field):
        self.plain, self.field = plain, field

    def __repr__(self):
        return "Sealed(%r)" % (self.plain,)


def keyrings(services, config=None, db_prefix=""):
    """{database: the keys its service stores personal data under}."""
    return {db_prefix + service: Settings.from_config(service, config or {}).keyring()
            for service in services}


def open_sealed(value, keyring, path=()):
    """`value` with each ciphertext in it opened as a Sealed; one no key
    opens (written under another key) stays as it is."""
    if isinstance(value, dict):
        return {key: open_sealed(item, keyring, path + (key,)) for key, item in value.items()}
    if isinstance(value, list):
        return [open_sealed(item, keyring, path) for item in value]
    if keyring is not None and is_sealed(value) and path:
        for field in (path[-1], ".".join(path)):  # a top-level field, or a part of one
            try:
                return Sealed(keyring.open(value, field), field)
            except Undecryptable:
                continue
    return value


def seal(value, keyring):
    """`value` as stored: each Sealed in it encrypted again."""
    if isinstance(value, Sealed):
        return keyring.encrypt(value.plain, value.field)
    if isinstance(value, dict):
        return {key: seal(item, keyring) for key, item in value.items()}
    if isinstance(value, list):
        return [seal(item, keyring) for item in value]
    return value


# ------------------------------------------------------------------ tokens
def tokens_in(value, found=None):
    """The id-like strings (and ObjectIds) anywhere in a document, keys included."""
    found = set() if found is None else found
    if isinstance(value, str):
        found.update(TOKEN.findall(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            tokens_in(key, found)
            tokens_in(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            tokens_in(item, found)
    elif isinstance(value, ObjectId):
        found.add(value)
    elif isinstance(value, Sealed):
        tokens_in(value.plain, found)
    return found


def is_id_number(token):
    return isinstance(token, str) and len(token) == 18 and id_number_problem(token) is None


def shape(token):
    if isinstance(token, ObjectId):
        return "objectid"
    if UUID_SHAPE.match(token):
        return "uuid"
    if is_id_number(token):
        return "id_number"
    return "digits" if token.isdigit() else "hex"


def fresh(token, rng):
    """A new token of the same shape."""
    kind = shape(token)
    if kind == "objectid":
        return ObjectId()
    if kind == "uuid":
        version = uuid.UUID(token).version
        new = uuid.UUID(bytes=rng.randbytes(16), version=version) if version else \
            uuid.UUID(bytes=rng.randbytes(16))
        return str(new).upper() if token.isupper() else str(new)
    if kind == "id_number":
        born = date(1945, 1, 1) + timedelta(days=rng.randrange(365 * 60))
        return make_id_number(token[:6], born, rng.randrange(1000))
    if kind == "digits":  # a phone keeps its operator prefix (1[3-9]x), so it stays valid
        keep = 3 if len(token) > 6 else 0
        return token[:keep] + "".join(rng.choice("0123456789") for _ in token[keep:])
    alphabet = "0123456789ABCDEF" if token.isupper() else "0123456789abcdef"
    return "".join(rng.choice(alphabet) for _ in token)


# ------------------------------------------------------------------ the plan
class Plan:
    """Which documents make up each template's linkage, and its tokens;
    `aged`: the same templates' documents once archived (or None)."""

    def __init__(self, documents, template_ids, aged=None, aged_after=None, taken_at=None,
                 keyrings=None):
        self.template_ids = list(template_ids)
        self.taken_at = taken_at or datetime.now(timezone.utc)  # when the templates were read
        self.keyrings = keyrings or {}
        documents = self.opened(documents)
        self.families, self.tokens, self.unowned, self.shared = _families(documents, self.template_ids)
        self.aged, self.aged_after = None, aged_after
        if aged is not None:
            self.aged, aged_tokens, _, _ = _families(self.opened(aged), self.template_ids)
            for mine, more in zip(self.tokens, aged_tokens):
                mine.update(more)

    def opened(self, documents):
        return [(db, collection, open_sealed(doc, self.keyrings.get(db)))
                for db, collection, doc in documents]

    def family(self, template, age):
        """The documents to copy for a linkage `age` old."""
        if self.aged is not None and age >= self.aged_after:
            return self.aged[template]
        return self.families[template]

    def summary(self):
        shapes = Counter(shape(t) for tokens in self.tokens for t in tokens)
        per = lambda families: {"%s.%s" % key: round(n / len(families), 2) for key, n in sorted(
            Counter((db, c) for family in families for db, c, _ in family).items())}
        return {
            "templates": len(self.template_ids),
            "documents_per_linkage": per(self.families),
            "documents_per_archived_linkage": per(self.aged) if self.aged is not None else None,
            "archived_after_seconds": self.aged_after.total_seconds() if self.aged is not None else None,
            "tokens_per_linkage": {k: round(v / len(self.families), 2) for k, v in sorted(shapes.items())},
            "not_copied_unrelated": {"%s.%s" % key: n for key, n in sorted(self.unowned.items())},
            "not_copied_shared": {"%s.%s" % key: n for key, n in sorted(self.shared.items())},
        }


def _families(documents, template_ids):
    """(documents of each template, tokens of each template, unrelated
    documents, shared documents) by collection."""
    index = {returnee_id: number for number, returnee_id in enumerate(template_ids)}
    held = [tokens_in(doc) for _, _, doc in documents]
    owner = []
    for tokens in held:
        mine = {index[t] for t in tokens if isinstance(t, str) and t in index}
        owner.append(mine.pop() if len(mine) == 1 else SHARED if mine else None)
    where = _attach(held, owner)
    families = [[] for _ in template_ids]
    unowned, shared = Counter(), Counter()
    for (db, collection, doc), mine in zip(documents, owner):
        if mine is None:
            unowned[(db, collection)] += 1
        elif mine == SHARED:
            shared[(db, collection)] += 1
        else:
            families[mine].append((db, collection, doc))
    # A token is one template's when every document holding it that is
    # copied or left alone (not a shared one, which stays as it is) is of
    # that template.
    tokens = [set() for _ in template_ids]
    for token, owners in where.items():
        owners = owners - {SHARED}
        if len(owners) == 1 and isinstance(next(iter(owners)), int):
            tokens[next(iter(owners))].add(token)
    missing = [template_ids[n] for n, family in enumerate(families) if not family]
    if missing:
        raise ValueError("no documents found for templates %s" % missing)
    return families, tokens, unowned, shared


def _attach(held, owner):
    """Give a document that names no template id the family whose tokens it
    carries (one family: that one; several: shared), until nothing changes.
    Returns {token: owners of the documents holding it}."""
    while True:
        where = defaultdict(set)
        for tokens, mine in zip(held, owner):
            for token in tokens:
                where[token].add(mine)
        changed = False
        for i, tokens in enumerate(held):
            if owner[i] is not None:
                continue
            families = {o for t in tokens for o in where[t] if o is not None}
            if families:
                owner[i] = families.pop() if len(families) == 1 and SHARED not in families else SHARED
                changed = True
        if not changed:
            return where


def _month_time(collection, document):
    """(the month in a collection's name, the document's first time in that
    month), or None for a collection not named by a month."""
    match = MONTH_IN_NAME.search(collection)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(3))
    for value in document.values():
        if isinstance(value, datetime) and (value.year, value.month) == (year, month):
            return match, value
    return None


def dated_collection(collection, document, shift):
    """A collection named by a month (`audit_2026_11`) for the document's
    own time moved by `shift`: the month of its first time field that lies in
    the month of the name."""
    found = _month_time(collection, document)
    if found is None:
        return collection
    match, value = found
    moved = value + shift
    return "%s%04d%s%02d%s" % (collection[:match.start()], moved.year, match.group(2),
                               moved.month, collection[match.end():])


def dated_document(collection, template, copy, shift):
    """In a collection named by a month, a date that names the day of the
    document's time (an audit record's `day` of its `at`) follows that time
    (moved by `shift`), not noon of its day as other dates do."""
    found = _month_time(collection, template)
    if found is not None:
        value = found[1]
        day, moved = value.date().isoformat(), (value + shift).date().isoformat()
        for key, item in template.items():
            if item == day:
                copy[key] = moved
    return copy


# ------------------------------------------------------------------ the copy
class Cloner:
    """Clones numbered 0, 1, 2, ...: clone n copies template n mod T."""

    def __init__(self, plan, spacing_seconds=300.0, seed=None):
        self.plan = plan
        self.spacing = timedelta(seconds=spacing_seconds)
        self.rng = random.Random(seed)
        self.used = set().union(*plan.tokens)
        self.next_number = 0
        self.recent = deque(maxlen=16)  # (number, returnee id, mapping) of the last clones copied
        self._needs = {}
        self.sources = {}   # (db, collection named by another month) -> the template's collection
        self._indexed = set()

    def template_of(self, number):
        return number % len(self.plan.template_ids)

    def shift(self, number):
        return -(number + 1) * self.spacing

    def mapping(self, number):
        """Template token -> this clone's token (drawn once per clone)."""
        mapping = {}
        for token in sorted(self.plan.tokens[self.template_of(number)], key=str):
            new = fresh(token, self.rng)
            while new in self.used:
                new = fresh(token, self.rng)
            self.used.add(new)
            mapping[token] = new
        tokens = self.plan.tokens[self.template_of(number)]
        for old, new in list(mapping.items()):
            if shape(old) in ("id_number", "digits"):  # a blind index follows its number
                for keyring in self.plan.keyrings.values():
                    if keyring.blind_key and keyring.blind_index(old) in tokens:
                        mapping[keyring.blind_index(old)] = keyring.blind_index(new)
        return mapping

    def age(self, number, now=None):
        """How old clone `number` is now: its shift, plus the templates' own age."""
        return -self.shift(number) + ((now or datetime.now(timezone.utc)) - self.plan.taken_at)

    def clone(self, number, mapping=None, now=None):
        """(the clone's returnee id, [(db, collection, document)], mapping)."""
        template = self.template_of(number)
        mapping = self.mapping(number) if mapping is None else mapping
        shift = self.shift(number)
        rewrite = self.rewriter(mapping, shift)
        documents = []
        for db, collection, doc in self.plan.family(template, self.age(number, now)):
            target = dated_collection(collection, doc, shift)
            if target != collection:
                self.sources[(db, target)] = collection
            documents.append((db, target, dated_document(collection, doc, rewrite(doc), shift)))
        return mapping[self.plan.template_ids[template]], documents, mapping

    def kept(self, count):
        """{number: (returnee id, mapping)} of the last `count` clones copied."""
        return {number: (returnee_id, mapping) for number, returnee_id, mapping in
                list(self.recent)[-count:]}

    def rewriter(self, mapping, shift):
        """A function rewriting any value (a document, an API answer) of the
        template into the clone's: tokens substituted, times shifted."""
        masks = [(mask_id(old), mask_id(new)) for old, new in mapping.items() if is_id_number(old)]

        def text(value):
            needs = self._needs.get(value)
            if needs is None:
                needs = self._needs[value] = bool(
                    TOKEN.search(value) or "*" in value or ISO_DATE.match(value) or ISO_TIME.match(value))
            if not needs:
                return value
            if ISO_TIME.match(value) or ISO_DATE.match(value):
                return shift_iso(value, shift)
            value = TOKEN.sub(lambda m: mapping.get(m.group(0), m.group(0)), value)
            for old, new in masks:
                value = value.replace(old, new)
            return value

        def rewrite(value):
            if isinstance(value, str):
                return text(value)
            if isinstance(value, dict):
                return {text(key): rewrite(item) for key, item in value.items()}
            if isinstance(value, list):
                return [rewrite(item) for item in value]
            if isinstance(value, datetime):
                return value + shift
            if isinstance(value, ObjectId):
                return mapping.get(value, value)
            if isinstance(value, Sealed):
                return Sealed(rewrite(value.plain), value.field)
            return value
        return rewrite

    def copy(self, client, count, chunk=2000, batch=1000, log=None):
        """Insert `count` more clones in bulk: (their returnee ids,
        {(db, collection): documents the database acknowledged})."""
        ids, inserted = [], Counter()
        with ThreadPoolExecutor(max_workers=5) as pool:
            for start in range(0, count, chunk):
                targets = defaultdict(list)
                for _ in range(min(chunk, count - start)):
                    returnee_id, documents, mapping = self.clone(self.next_number)
                    self.recent.append((self.next_number, returnee_id, mapping))
                    self.next_number += 1
                    ids.append(returnee_id)
                    for db, collection, doc in documents:
                        targets[(db, collection)].append(seal(doc, self.plan.keyrings.get(db)))
                for key in targets:
                    self._same_indexes(client, key)
                jobs = {key: pool.submit(_insert, client[key[0]][key[1]], docs, batch)
                        for key, docs in targets.items()}
                for key, job in jobs.items():
                    inserted[key] += job.result()
                if log and count > chunk:
                    log("    %d of %d copied" % (len(ids), count))
        return ids, inserted

    def _same_indexes(self, client, key):
        """A collection of another month, made by the copy, gets the indexes
        its template's collection has: the services make each month's when
        they first write to it, as they did the template's."""
        if key in self._indexed or key not in self.sources:
            return
        db = client[key[0]]
        for name, info in db[self.sources[key]].index_information().items():
            if name != "_id_":
                db[key[1]].create_index(info["key"], name=name, unique=info.get("unique", False))
        self._indexed.add(key)


def _insert(collection, documents, batch):
    acknowledged = 0
    for start in range(0, len(documents), batch):
        acknowledged += len(collection.insert_many(documents[start:start + batch], ordered=False)
                            .inserted_ids)
    return acknowledged


def shift_iso(text, shift):
    """An ISO date or time string moved by `shift`, in the same format."""
    if ISO_DATE.match(text):
        return (datetime.fromisoformat(text + "T12:00:00") + shift).date().isoformat()
    match = ISO_TIME.match(text)
    whole, fraction, zone = match.groups()
    moment = datetime.fromisoformat(whole + ("." + fraction.ljust(6, "0") if fraction else "")
                                    + ("+00:00" if zone == "Z" else zone or "")) + shift
    out = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        out += "." + ("%06d" % moment.microsecond)[:len(fraction)]
    if zone == "Z":
        out += "Z"
    elif zone:
        out += moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]
    return out
