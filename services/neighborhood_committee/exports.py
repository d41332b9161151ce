"""A person's export at the committee (PIPL Art. 45, shared/people.py).

    POST /api/v1/people/exports        {id_number, reason}: 202, the export as it stands
    GET  /api/v1/people/exports/{id}   the export: each party's records and reads

The committee finds the person's linkages by the blind index of their ID
number, writes its own part at once and asks the four other parties in the
same write; each party's answer is added as it comes, and the export is
complete when every party has answered. The answers are stored as one
ciphertext under the committee's keys (a personal field: sealed on every
write, re-encrypted by `linkage keys rotate`). Requesting and reading an export are full-identity
reads, audited like any other.
"""
import uuid
from datetime import datetime

from marshmallow import Schema, fields, validate

from shared import clock
from shared.consumer import event_handler
from shared.errors import NotFound
from shared.fields import NOT_BLANK_PATTERN, IdNumber, Mobile, not_blank
from shared.identity import mask_id
from shared.parties import COMMITTEE, LINKED
from shared.people import reads_of, records_of, repositories_of
from shared.retention import Identity
from shared.store import Finished, Repository, Store
from shared.web import api

from services.neighborhood_committee.case_repository import CaseRepository
from services.neighborhood_committee.repository import LinkageRepository

EXPORTS = "person_exports"


class ExportRequestSchema(Schema):
    id_number = IdNumber(required=True)
    phone = Mobile(metadata={
        "description": "the person's phone, to include the cases they reported as a resident"})
    reason = fields.String(required=True, validate=[validate.Length(max=200), not_blank],
                           metadata={"pattern": NOT_BLANK_PATTERN})


class PartSchema(Schema):
    party = fields.String()
    status = fields.String(metadata={"enum": ["answered", "waiting"]})
    answered_at = fields.AwareDateTime(allow_none=True)
    legal_hold = fields.String(allow_none=True, metadata={
        "description": "the party's LEGAL_HOLD: it keeps its records when the person asks for erasure"})
    records = fields.List(fields.Dict())
    reads = fields.List(fields.Dict())


class ExportSchema(Schema):
    id = fields.String(attribute="_id")
    status = fields.String(metadata={"enum": ["waiting", "complete"]})
    id_masked = fields.String()
    reason = fields.String()
    requested_by = fields.String()
    requested_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    deidentified_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "when its copy of the answers was removed (retention)"})
    returnee_ids = fields.List(fields.String())
    case_ids = fields.List(fields.String(), metadata={"description": "cases the person reported"})
    parties = fields.List(fields.Nested(PartSchema))


EXPORT_REQUEST = ExportRequestSchema()
EXPORT = ExportSchema()


class ExportRepository(Repository):
    OUTBOX_COLLECTIONS = (EXPORTS,)
    # The parties' answers, {party: {answered_at, legal_hold, records, reads}},
    # stored as one ciphertext: sealed on every write, rotated with the rest.
    PERSONAL = {EXPORTS: ("parts",)}
    # An export is a copy: its answers go PERSONAL_DATA_RETENTION_DAYS after
    # it completed; who asked, when and why stay.
    RETAINED = {EXPORTS: Identity(names=(), drop=("parts",), since="requested_at",
                                  finished=Finished(since="completed_at"),
                                  purpose="a copy of a person's export, for the supervisor who asked")}

    def open(self, export, events):
        self.insert(EXPORTS, export, events)

    def get(self, export_id):
        """The export with its parts, in the order of the parties."""
        export = self.find(EXPORTS, export_id)
        if export is None:
            return None
        parts = []
        for party in [COMMITTEE] + list(export["expected"]) if "parts" in export else ():
            part = export["parts"].get(party)
            if part is None:
                parts.append({"party": party, "status": "waiting", "answered_at": None,
                              "legal_hold": None, "records": [], "reads": []})
            else:
                parts.append(dict(part, party=party, status="answered",
                                  answered_at=datetime.fromisoformat(part["answered_at"])))
        return dict(export, parties=parts)

    def record_answer(self, event):
        """Add a party's answer once; the export is complete with the last one.
        False when the export is unknown (an answer to another committee's)."""
        answer = event.payload

        def decide(export):
            if "parts" not in export or answer["party"] not in export["expected"]:
                return None
            parts = self.personal.open(export["parts"], "parts")  # `modify` seals it again
            if answer["party"] in parts:
                return None
            parts[answer["party"]] = part(answer["records"], answer["reads"], answer["answered_at"],
                                          answer.get("legal_hold"))
            export["parts"] = parts
            if all(party in parts for party in export["expected"]):
                export.update(status="complete", completed_at=clock.utcnow())
            return []
        return self.modify(EXPORTS, answer["export_id"], decide, event.event_id) is not None


def part(records, reads, answered_at, legal_hold=None):
    """One party's answer, as the export keeps it (JSON, to be sealed)."""
    return {"answered_at": answered_at.isoformat(), "legal_hold": legal_hold, "records": records,
            "reads": reads}


def open_export(committee, exports, audit_log, principal, request, via, legal_hold=None):
    """Write a person's export with the committee's part and ask the four
    other parties in the same write (audited first: no record, no export);
    its id. `committee`: the committee's repositories that hold people
    (linkages, cases, its case desk); `request`: {id_number, phone?, reason}.
    For the API and for `linkage person export`."""
    now = clock.utcnow()
    linkages = next(r for r in committee if isinstance(r, LinkageRepository))
    cases = next(r for r in committee if isinstance(r, CaseRepository))
    id_number = request["id_number"]
    returnee_ids = linkages.of_person(id_number)
    case_ids = cases.of_reporter(request["phone"]) if request.get("phone") else []
    export_id = str(uuid.uuid4())
    expected = list(LINKED) if returnee_ids or case_ids else []
    export = {
        "_id": export_id, "id_masked": mask_id(id_number.upper()), "reason": request["reason"],
        "requested_by": principal.subject, "requested_at": now, "returnee_ids": returnee_ids,
        "case_ids": case_ids, "expected": expected,
        "status": "waiting" if expected else "complete", "completed_at": None if expected else now,
        "parts": {COMMITTEE: part(records_of(committee, returnee_ids + case_ids, COMMITTEE),
                                  reads_of(audit_log, returnee_ids), now, legal_hold)},
    }
    events = [exports.event("person_export_requested", {
        "export_id": export_id, "returnee_ids": returnee_ids, "case_ids": case_ids,
        "requested_by": principal.subject, "requested_at": now}, export_id)] if expected else []
    audit_export(audit_log, principal, returnee_ids, id_number, via)
    exports.open(export, events)
    return export_id


def audit_export(audit_log, principal, returnee_ids, id_number, via):
    if id_number:
        audit_log.full_identity_read(
            principal, [{"returnee_id": returnee_id, "id_number": id_number}
                        for returnee_id in returnee_ids],
            via=via, purpose="a person's export of their own record")


class PersonExports:
    """The committee's side: `self.linkages` finds the person."""
    exports = Store(ExportRepository)

    @api("POST", "/api/v1/people/exports", permission="people:export", body=EXPORT_REQUEST,
         responses={202: EXPORT}, summary="Export what the five parties hold about a person (audited)")
    def request_export(self, request):
        body = request.data
        export_id = open_export(repositories_of(self), self.exports, self.audit, request.principal,
                                body, "POST /api/v1/people/exports",
                                self.infra.settings.legal_hold or None)
        return 202, EXPORT.dump(self.exports.get(export_id)), {
            "Location": "/api/v1/people/exports/%s" % export_id}

    @api("GET", "/api/v1/people/exports/<string:export_id>", permission="people:export",
         responses={200: EXPORT}, summary="A person's export, each party's part as it came (audited)")
    def get_export(self, request, export_id):
        export = self.exports.get(export_id)
        if export is None:
            raise NotFound("no export %s" % export_id)
        held = [record for part in export["parties"] for record in part["records"]
                if record["party"] == COMMITTEE]
        id_number = next((r["data"].get("id_number") for r in held
                          if "*" not in (r["data"].get("id_number") or "*")), None)
        audit_export(self.audit, request.principal, export["returnee_ids"], id_number,
                     "GET /api/v1/people/exports/{id}")
        return EXPORT.dump(export)

    @event_handler("person_record_provided")
    def on_person_record_provided(self, event):
        self.exports.record_answer(event)
