"""The committee's database: one document per linkage, carrying its outbox."""
import pymongo

from shared import joint
from shared.parties import LINKED
from shared.retention import Identity
from shared.store import Finished, Repository, archive_name

LINKAGES = "linkages"
BLIND_INDEX_LENGTH = 64  # hex of HMAC-SHA256; an ID number has 18 characters


class VersionConflict(Exception):
    """The linkage changed between read and write: read again (retried)."""


class LinkageRepository(Repository):
    OUTBOX_COLLECTIONS = (LINKAGES,)
    ARCHIVED = {LINKAGES: Finished(since="closed_at", open=("open",))}
    PERSONAL = {LINKAGES: ("id_number", "phone")}
    REMEMBERED = (LINKAGES,)  # a linkage's party events follow its registration within seconds
    RETAINED = {LINKAGES: Identity(
        id_numbers=("id_number",), phones=("phone",), since="registered_at",
        purpose="the registration of a returnee or newcomer, followed up with the four other parties")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        linkages = db[LINKAGES]
        linkages.create_index([("status", 1), ("registered_at", -1)])
        # One open linkage per person, even when two desks register them at
        # once: `open_person` is the ID number's blind index while open,
        # unset on close (the ID number itself is stored encrypted). FerretDB
        # has no partial indexes; a sparse unique one does this.
        linkages.create_index("open_person", unique=True, sparse=True)
        # Every linkage of a person, open or closed, for their export: the
        # blind index again, kept (retention keeps it too).
        linkages.create_index("person_index")
        db[archive_name(LINKAGES)].create_index("person_index")
        linkages.create_index("next_due_at")
        # Linkages opened before `next_due_at` existed get it once.
        for linkage in linkages.find({"status": "open", "next_due_at": {"$exists": False}},
                                     {"parties": 1}):
            linkages.update_one({"_id": linkage["_id"], "next_due_at": {"$exists": False}},
                                {"$set": {"next_due_at": joint.next_due_at(linkage["parties"])}})

    def get(self, returnee_id):
        return self.find(LINKAGES, returnee_id)

    def open_for_person(self, id_number):
        return self.db[LINKAGES].find_one({"open_person": self.personal.blind_index(id_number)},
                                          {"_id": 1})

    def register(self, linkage, events):
        """DuplicateKeyError if the idempotency key is taken or the person
        has an open linkage already."""
        person = self.personal.blind_index(linkage["id_number"])
        self.insert(LINKAGES, dict(linkage, open_person=person, person_index=person), events)

    def of_person(self, id_number):
        """The ids of every linkage of a person, working set and archive."""
        query = {"person_index": self.personal.blind_index(id_number)}
        return sorted({document["_id"] for name in (LINKAGES, archive_name(LINKAGES))
                       for document in self.db[name].find(query, {"_id": 1})})

    def reseal(self, collection, document):
        """Also replace an `open_person` written before the blind index (the
        plain ID number) with the index, and give a linkage written before
        `person_index` (so, plain: rotated anyway) its index."""
        resealed = super().reseal(collection, document)
        person = document.get("open_person")
        if person is not None and len(person) != BLIND_INDEX_LENGTH:
            document["open_person"] = self.personal.blind_index(person)
            resealed = True
        if document.get("person_index") is None and document.get("deidentified_at") is None:
            # written before the export's index: given it by the rotation
            document["person_index"] = self.personal.blind_index(
                self.personal.open(document["id_number"], "id_number"))
            resealed = True
        return resealed

    def for_party_event(self, returnee_id):
        """The linkage as stored (sealed), to record a party's progress on:
        the copy this process wrote last, else read (Repository.current)."""
        return self.current(LINKAGES, returnee_id)

    def record_party_event(self, linkage, event_id, changes, events=()):
        """Apply `changes` if the linkage is still the version given (from
        `for_party_event`, under its lock) and the event is not applied yet.
        True if applied now, False if it had been applied before;
        VersionConflict if the linkage is not that version any more (someone
        else wrote, or the copy was stale: read again)."""
        if event_id in linkage.get("applied_events", ()):
            return False
        update = {"$set": changes} if changes else {}
        if changes.get("status") == "closed":
            update["$unset"] = {"open_person": ""}  # the person may register again
        if self.apply_to(LINKAGES, linkage, event_id, update, events) is not None:
            return True
        raise VersionConflict(linkage["_id"])

    def search(self, status=None, overdue=None, party=None, limit=50, cursor=None):
        query = {}
        if status:
            query["status"] = status
        parties = [party] if party else list(LINKED)
        if overdue is True:
            query["$or"] = [{"parties.%s.overdue" % p: True, "parties.%s.done" % p: False}
                            for p in parties]
        elif overdue is False:
            for p in parties:
                query["$nor"] = query.get("$nor", []) + [
                    {"parties.%s.overdue" % p: True, "parties.%s.done" % p: False}]
        return self.page(LINKAGES, query, "registered_at", pymongo.DESCENDING, limit, cursor)

    def due(self, now):
        """The open linkages with a party past its running limit, not yet marked."""
        return self.db[LINKAGES].find({"next_due_at": {"$lte": now}}, {"status": 1, "parties": 1})

    def open_counts(self, now):
        """How many linkages are open, and per party how many of them it is late on."""
        late = {party: self.db[LINKAGES].count_documents({
            "status": "open", "parties.%s.done" % party: False,
            "parties.%s.due_at" % party: {"$lte": now}}) for party in LINKED}
        return self.db[LINKAGES].count_documents({"status": "open"}), late

    def escalate(self, linkage, party, now, event):
        """Mark `party` overdue and announce it, once (the guard is the flag)."""
        path = "parties.%s" % party
        guard = dict(joint.mark_guard(path, linkage["parties"][party]), _id=linkage["_id"])
        marked = {name: dict(task) for name, task in linkage["parties"].items()}
        joint.mark(marked[party], now)
        return self.update(LINKAGES, guard, {"$set": {"%s.overdue" % path: True,
                                                      "%s.overdue_at" % path: now,
                                                      "next_due_at": joint.next_due_at(marked)}},
                           [event])
