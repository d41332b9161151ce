"""The committee's briefings: one document per local date, `_id` the date.

Made once per day whichever replica's timer or whose POST gets there
first: the briefing and the events that announce it are one insert under
that unique `_id`, the one write FerretDB makes atomic across connections
(a conditional update of one document is not, README "Per-document write
lock"); a second maker's insert hits the key and changes nothing.

It also reads the sources' documents (sources.py) for a briefing and the
monthly report, with their projections: never a phone, a reporter or a
case's description; a registration's ID number only to mask it.
"""
import pymongo

from shared.retention import Identity
from shared.store import Finished, Repository, insert_once

from services.neighborhood_committee.sources import SOURCES

BRIEFINGS = "briefings"


class BriefingRepository(Repository):
    OUTBOX_COLLECTIONS = (BRIEFINGS,)
    # Its items name people (a name, a masked ID, a flat): past the
    # retention, each name is reduced (王芳 → 王某); the counts stay.
    RETAINED = {BRIEFINGS: Identity(
        names=(), named=("parties", "red", "pending", "decisions"), since="generated_at",
        finished=Finished(since="generated_at"),
        purpose="the daily five-party briefing: the items each party had to act on")}
    # No PERSONAL of its own: the sources' collections belong to their own
    # repositories (a key rotation walks each PERSONAL once, through its owner).

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[BRIEFINGS].create_index("date")

    def get(self, day):
        return self.db[BRIEFINGS].find_one({"_id": day.isoformat()})

    def publish(self, briefing, events):
        """True if this call made it; False if it was made already."""
        return insert_once(self, BRIEFINGS, briefing, events)

    def search(self, from_=None, to=None, limit=50, cursor=None):
        query = {}
        if from_ or to:
            query["date"] = {}
            if from_:
                query["date"]["$gte"] = from_.isoformat()
            if to:
                query["date"]["$lte"] = to.isoformat()
        return self.page(BRIEFINGS, query, "date", pymongo.DESCENDING, limit, cursor)

    # --- what a briefing and a report read ----------------------------------------

    def _read(self, source, query):
        found = {}
        for collection in source.collections:
            for doc in self.db[collection].find(query, source.projection):
                # a registration's ID number is opened only to be masked
                found.setdefault(doc["_id"], self.personal.open_fields(doc, source.personal))
        return found

    def current(self, start, end):
        """Per source: what came in or finished between `start` and `end`,
        and what came in before `end` and is open now (a day made up later
        does not list what came in after it)."""
        documents = {}
        for source in SOURCES:
            found = self._read(source, {source.opened_at: {"$gte": start, "$lt": end}})
            found.update(self._read(source, {source.closed_at: {"$gte": start, "$lt": end}}))
            found.update(self._read(source, dict(source.open_query(), **{source.opened_at: {"$lt": end}})))
            documents[source.name] = list(found.values())
        return documents

    def open_items(self, before):
        """Per source: what came in before `before` and is open now."""
        return {source.name: list(self._read(source, dict(source.open_query(),
                                                          **{source.opened_at: {"$lt": before}})).values())
                for source in SOURCES}

    def came_in(self, start, end):
        """Per source: what came in between `start` and `end`, wherever it is now."""
        return {source.name: list(self._read(source, {source.opened_at: {"$gte": start, "$lt": end}})
                                  .values()) for source in SOURCES}

    def finished(self, start, end):
        """Per source: what came in before `start` and closed between `start` and `end`."""
        return {source.name: list(self._read(source, {source.opened_at: {"$lt": start},
                                                      source.closed_at: {"$gte": start, "$lt": end}})
                                  .values()) for source in SOURCES}
