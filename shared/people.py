"""A person's own record across the parties (PIPL Arts. 44-45): what each
party holds about them, why, since when, until when, and who has read it.

The committee knows who the person is (their linkages, found by the blind
index of their ID number) and asks each party with `person_export_requested`;
each party answers with `person_record_provided`, whose records travel
encrypted (a `personal` field), through its outbox like any other event: a
party that is down answers when it is back, and the export says who has not
answered yet (services/neighborhood_committee/exports.py).

An export is a request and its answers, not a synchronous call: a call
would need a shared request exchange that every party may read, which the
broker users' permissions keep each party from (shared/topology.py).
"""
from datetime import date, datetime

from bson import ObjectId

from shared import clock
from shared.auth import Principal
from shared.consumer import event_handler
from shared.parties import COMMITTEE
from shared.store import BOOKKEEPING, Repository, Store, insert_once

ANSWERS = "person_exports_answered"
# What a record keeps for the platform, not about the person.
NOT_ABOUT_THE_PERSON = BOOKKEEPING | {"source_event_id", "request_hash", "idempotency_key",
                                      "open_person", "person_index"}
READS_PER_RECORD = 1000


def jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


def describe(repository, collection, document, party):
    """One record of an export: where it is, why it is held, since when,
    until when its identity is kept, and what it holds (decrypted)."""
    identity = repository.RETAINED[collection]
    finished_at, kept_until = repository.retained_until(collection, document)
    return jsonable({
        "party": party,
        "record": collection,
        "id": document["_id"],
        "purpose": identity.purpose,
        "since": document.get(identity.since),
        "finished_at": finished_at,
        "identity_kept_until": None if document.get("deidentified_at") else kept_until,
        "deidentified_at": document.get("deidentified_at"),
        "data": {key: value for key, value in document.items()
                 if key not in NOT_ABOUT_THE_PERSON and not key.endswith("_index")
                 and key not in ("deidentified_at",)},
    })


def records_of(repositories, ids, party):
    """Every record under `ids` (the person's linkages and the cases they
    reported) in the retained collections of `repositories` (working set or
    archive, by `_id`)."""
    found = []
    for repository in repositories:
        for collection in repository.RETAINED:
            for record_id in ids:
                document = repository.find(collection, record_id)
                if document is not None:
                    found.append(describe(repository, collection, document, party))
    return found


def reads_of(audit_log, returnee_ids):
    """Who at this party read the person's full identity, newest first."""
    reads = []
    for returnee_id in returnee_ids:
        page = audit_log.records(returnee_id=returnee_id, action="full_identity_read",
                                 limit=READS_PER_RECORD)
        reads += [{key: record.get(key) for key in ("at", "user", "agency", "via", "purpose",
                                                    "returnee_id")} for record in page["items"]]
    return sorted(reads, key=lambda read: read["at"] or "", reverse=True)


def repositories_of(service):
    """The repositories a service instance was given, one per Store."""
    found = []
    for klass in type(service).__mro__:
        for name, value in vars(klass).items():
            if isinstance(value, Store) and name not in [n for n, _ in found]:
                found.append((name, getattr(service, name)))
    return [repository for _, repository in found if repository.RETAINED]


class AnswerRepository(Repository):
    """Each export answered once: the answer's event leaves through this
    collection's outbox, and a redelivered request hits its `_id`."""
    OUTBOX_COLLECTIONS = (ANSWERS,)


class PersonRecords:
    """A linked party's answer to the committee's person exports."""
    person_answers = Store(AnswerRepository)

    @event_handler("person_export_requested")
    def on_person_export_requested(self, event):
        request = event.payload
        party = self.name
        now = clock.utcnow()
        answer = {
            "export_id": request["export_id"], "party": party, "answered_at": now,
            "records": records_of(repositories_of(self), request["returnee_ids"] + request["case_ids"],
                                  party),
            "reads": reads_of(self.audit, request["returnee_ids"]),
            "legal_hold": self.infra.settings.legal_hold or None,
        }
        # The answer hands full identities to the committee's supervisor: a
        # read of this party's records, listed with this party's (the user
        # is named with their agency).
        self.audit.full_identity_read(
            Principal(agency=party, subject="%s/%s" % (COMMITTEE, request["requested_by"])),
            [{"returnee_id": record["id"], "id_number": record["data"]["id_number"]}
             for record in answer["records"] if len(record["data"].get("id_number") or "") == 18
             and "*" not in record["data"]["id_number"]],
            via="person_export_requested", purpose="a person's export of their own record")
        provided = self.person_answers.event("person_record_provided", answer, request["export_id"])
        insert_once(self.person_answers, ANSWERS, {
            "_id": request["export_id"], "returnee_ids": request["returnee_ids"], "answered_at": now,
            "records": len(answer["records"])}, [provided], made_at=event.occurred_at)
