"""The audit trail: full-identity reads, and sign-ins, failed sign-ins,
lockouts and sign-outs.

Every API response or RPC reply that carries a full ID number first writes an
audit record: who (user and agency), whose identity (the linkage id and the
masked ID), when, and through what (the route). If the record cannot be
written, the identity is not handed out.
"""
import logging
import uuid
from datetime import datetime, timedelta, timezone

import pymongo
from nameko.extensions import DependencyProvider
from marshmallow import Schema, fields, validate

from shared import clock, paging
from shared.errors import ServiceUnavailable
from shared.identity import mask_id
from shared.platform import Platform
from shared.timer import BackgroundPass
from shared.web import PageQuery

log = logging.getLogger(__name__)

# One collection per calendar month (UTC) of records: a page of the newest
# reads the months it needs, not every record ever kept, and retention drops
# a whole month at once. `audit` was the single collection before.
#
# Each record also names its UTC `day`, and a page of the newest records is
# read a day at a time ({day: D} is an index lookup everywhere), newest day
# first: a database that sorts in its own process (FerretDB) then sorts one
# day's records, not a month's (measured: the first page of a month of 25k
# records took 1.2 s that way). A page for one person (an index lookup by
# `returnee_id`) or of one kind of sign-in event (rare) is read a month at
# a time.
PREFIX = "audit_"
LEGACY = "audit"
RETENTION_CHECK_SECONDS = 3600
DAY_INDEX = [("day", 1), ("agency", 1), ("at", -1), ("_id", -1)]
PERSON_INDEX = [("returnee_id", 1), ("at", -1)]
MARKS = "marks"             # what was done once to the months of earlier versions
DAYS_ADDED = "days_added"


def month_name(at):
    return "%s%04d_%02d" % (PREFIX, at.year, at.month)


def day_name(at):
    return "%04d-%02d-%02d" % (at.year, at.month, at.day)


def month_start(name):
    year, month = name[len(PREFIX):].split("_")
    return datetime(int(year), int(month), 1, tzinfo=timezone.utc)


def months(db):
    """The month collections, newest first."""
    names = [name for name in db.list_collection_names()
             if name.startswith(PREFIX) and _is_month(name)]
    return sorted(names, reverse=True)


def _is_month(name):
    try:
        month_start(name)
        return True
    except ValueError:
        return False


def count_records(db, query=None):
    """Every audit record a database holds (for tests and operators)."""
    return sum(db[name].count_documents(query or {}) for name in months(db))


ACTIONS = ("full_identity_read", "sign_in", "sign_in_failed", "locked", "sign_out")


class AuditRecordSchema(Schema):
    id = fields.String(attribute="_id")
    at = fields.AwareDateTime()
    action = fields.Function(lambda record: record.get("action", "full_identity_read"))
    user = fields.String()
    agency = fields.String()
    returnee_id = fields.String()
    id_masked = fields.String()
    via = fields.String()
    purpose = fields.String()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditRecordSchema))
    next = fields.String(allow_none=True)


class AuditQuery(PageQuery):
    returnee_id = fields.String()
    action = fields.String(validate=validate.OneOf(ACTIONS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditLog:
    def __init__(self, db, metrics, agency, known_months):
        self.db = db
        self.metrics = metrics
        self.agency = agency
        self._known = known_months  # month collections whose index exists (the provider's)

    def full_identity_read(self, principal, people, via, purpose):
        """Record that `principal` received the full identities of `people`
        (dicts with `returnee_id` and `id_number`) through `via`."""
        now = clock.utcnow()
        records = [{
            "_id": str(uuid.uuid4()),
            "at": now,
            "day": day_name(now),
            "user": principal.subject,
            "agency": principal.agency,
            "returnee_id": person["returnee_id"],
            "id_masked": mask_id(person["id_number"]),
            "via": via,
            "purpose": purpose,
        } for person in people]
        if not records:
            return
        try:
            self._month(now).insert_many(records)
        except Exception as exc:
            raise ServiceUnavailable("audit trail unavailable; identities withheld") from exc
        self.metrics.audit_records.labels(via).inc(len(records))

    def account_event(self, username, action, via, purpose):
        """A sign-in, a failed one, a lockout or a sign-out."""
        now = clock.utcnow()
        record = {"_id": str(uuid.uuid4()), "at": now, "day": day_name(now), "action": action,
                  "user": username, "agency": self.agency, "via": via, "purpose": purpose}
        try:
            self._month(now).insert_one(record)
        except Exception as exc:
            raise ServiceUnavailable("audit trail unavailable; try again") from exc
        self.metrics.audit_records.labels(via).inc()

    def _month(self, at):
        name = month_name(at)
        if name not in self._known:
            collection = self.db[name]
            collection.create_index(DAY_INDEX)
            collection.create_index(PERSON_INDEX)
            self._known.add(name)
        return self.db[name]

    def add_days(self, batch=1000):
        """Give the records of earlier versions, which have no `day`, theirs:
        once per database (marked done); how many were given one."""
        if self.db[MARKS].find_one({"_id": DAYS_ADDED}):
            return 0
        added = 0
        for name in months(self.db):
            self._month(month_start(name))  # the indexes of this version
            while True:
                records = list(self.db[name].find({"day": {"$exists": False}}, {"at": 1}).limit(batch))
                if not records:
                    break
                for record in records:
                    self.db[name].update_one({"_id": record["_id"]},
                                             {"$set": {"day": day_name(_aware(record["at"]))}})
                added += len(records)
        self._mark_days_added()
        return added

    def _mark_days_added(self):
        try:
            self.db[MARKS].insert_one({"_id": DAYS_ADDED, "at": clock.utcnow()})
        except pymongo.errors.DuplicateKeyError:
            pass  # a replica starting at the same time marked it (found by fault scenario 6)

    def records(self, returnee_id=None, action=None, limit=100, cursor=None, today=None):
        """This agency's records, newest first, from `cursor` on: the body
        of a page ({items, next}). Months are read newest first until the
        page is full; within a month, one person's records or one kind of
        account event at once, anything else a day at a time."""
        query = {"agency": self.agency}
        if returnee_id:
            query["returnee_id"] = returnee_id
        if action == "full_identity_read":
            query["action"] = {"$exists": False}
        elif action:
            query["action"] = action
        below = _aware(paging.decode(cursor)[0]) if cursor else None
        last_day = (today or clock.utcnow()).date()
        if below is not None:
            last_day = min(last_day, below.date())
        by_day = not returnee_id and action in (None, "full_identity_read")
        items = []
        for name, part in self._parts(query, by_day, last_day):
            wanted = limit - len(items) + 1
            items += list(self.db[name].find(paging.after(part, "at", pymongo.DESCENDING, cursor))
                          .sort([("at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)])
                          .limit(wanted))
            if len(items) > limit:
                break
        page = items[:limit]
        return {"items": AuditRecordSchema(many=True).dump(page),
                "next": paging.encode(page[-1], "at") if len(items) > limit else None}

    def _parts(self, query, by_day, last_day):
        """(month collection, query) to read in turn, newest first, from
        `last_day` back: each month whole, or each of its days."""
        for name in months(self.db):
            first = month_start(name)
            start = first.date()
            if start > last_day:
                continue  # a month after the cursor: all of it was on earlier pages
            if not by_day:
                yield name, query
                continue
            newest = min(_next_month(first).date() - timedelta(days=1), last_day)
            for back in range((newest - start).days + 1):
                yield name, dict(query, day=(newest - timedelta(days=back)).isoformat())

    def drop_expired(self, retention_days, now=None):
        """Drop the months that ended more than `retention_days` ago; the
        number of records dropped."""
        cutoff = (now or clock.utcnow()) - timedelta(days=retention_days)
        dropped = 0
        for name in months(self.db):
            if _next_month(month_start(name)) <= cutoff:
                dropped += self.db[name].estimated_document_count()
                self.db.drop_collection(name)
                self._known.discard(name)
                log.info("audit month %s dropped: past the %d days kept", name, retention_days)
        return dropped

    def move_legacy(self, batch=1000):
        """Move records from the single collection of earlier versions into
        their months; how many moved."""
        legacy, moved = self.db[LEGACY], 0
        while True:
            records = list(legacy.find().limit(batch))
            if not records:
                return moved
            for record in records:
                when = _aware(record["at"])
                record.setdefault("day", day_name(when))
                try:
                    self._month(when).replace_one({"_id": record["_id"]}, record, upsert=True)
                except pymongo.errors.DuplicateKeyError:
                    pass  # a replica starting at the same time moved it
            legacy.delete_many({"_id": {"$in": [record["_id"] for record in records]}})
            moved += len(records)


def _aware(at):
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _next_month(start):
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


class Audit(DependencyProvider):
    """The audit log of a service's entrypoints, and the hourly pass that
    drops months older than AUDIT_RETENTION_DAYS."""
    platform = Platform()

    def setup(self):
        self._known = set()
        self._retention = BackgroundPass(self._retain, RETENTION_CHECK_SECONDS, "audit_retention",
                                         immediately=True)

    def start(self):
        trail = self._log()
        moved = trail.move_legacy()
        if moved:
            log.info("moved %d audit records into monthly collections", moved)
        added = trail.add_days()
        if added:
            log.info("gave %d audit records of earlier versions their day", added)
        self._retention.start(self.container)

    def stop(self):
        self._retention.stop()

    def kill(self):
        self._retention.kill()

    def _log(self):
        return AuditLog(self.platform.db, self.platform.metrics, self.container.service_name,
                        self._known)

    def _retain(self):
        dropped = self._log().drop_expired(self.platform.settings.audit_retention_days)
        if dropped:
            self.platform.metrics.audit_records_dropped.inc(dropped)

    def get_dependency(self, worker_ctx):
        return self._log()
