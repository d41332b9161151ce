"""The events that carry a case between the parties, for the catalogue.

A report from any party goes to the committee (`case_reported`). What the
committee sends about a case is addressed to one party at a time (routing
key `<event>.<party>`), so a resident reporter's name and phone reach only
the parties the case is dispatched to. What a party does with its
assignment goes back to the committee. Every event names the assignment's
`round` (a new dispatch or a rework starts a new one), so a late or
repeated event of an earlier round changes nothing.
"""
from marshmallow import Schema, fields, validate

from shared.cases.model import (DetectionSchema, LocationSchema, ReporterSchema, SOURCES,
                                category_field, priority_field)
from shared.events import EventSpec
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY

ROLES = ("owner", "co_handler")
LIMITS = ("accept", "resolve")
CASE_STATUSES = ("filed", "dispatched", "in_progress", "resolved", "closed")


def _party(**kwargs):
    return fields.String(required=True, validate=validate.OneOf(ALL), **kwargs)


class CaseReported(Schema):
    case_id = fields.String(required=True)
    category = category_field(required=True)
    description = fields.String(required=True)
    location = fields.Nested(LocationSchema, required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    reporter = fields.Nested(ReporterSchema, allow_none=True, load_default=None)
    safety_risk = fields.Boolean(required=True)
    reported_by = _party()
    reported_by_user = fields.String(required=True)
    reported_at = fields.AwareDateTime(required=True)
    detection = fields.Nested(DetectionSchema, allow_none=True, load_default=None)


class CaseDispatched(Schema):
    case_id = fields.String(required=True)
    party = _party()
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    round = fields.Integer(required=True)
    category = category_field(required=True)
    description = fields.String(required=True)
    location = fields.Nested(LocationSchema, required=True)
    source = fields.String(required=True)
    priority = priority_field(required=True)
    safety_risk = fields.Boolean(required=True)
    reporter = fields.Nested(ReporterSchema, allow_none=True, load_default=None)
    reported_by = _party()
    dispatched_at = fields.AwareDateTime(required=True)
    accept_due = fields.AwareDateTime(required=True)
    resolve_due = fields.AwareDateTime(required=True)


class CaseWithdrawn(Schema):
    case_id = fields.String(required=True)
    party = _party()
    round = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)
    note = fields.String(allow_none=True, load_default=None)


class CaseReworkRequested(Schema):
    case_id = fields.String(required=True)
    party = _party()
    round = fields.Integer(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(("verification", "feedback")))
    note = fields.String(required=True)
    resolve_due = fields.AwareDateTime(required=True)
    at = fields.AwareDateTime(required=True)


class CaseOverdue(Schema):
    case_id = fields.String(required=True)
    party = _party()
    round = fields.Integer(required=True)
    limit = fields.String(required=True, validate=validate.OneOf(LIMITS))
    due_at = fields.AwareDateTime(required=True)
    detected_at = fields.AwareDateTime(required=True)


class CaseStatusChanged(Schema):
    case_id = fields.String(required=True)
    party = _party()
    status = fields.String(required=True, validate=validate.OneOf(CASE_STATUSES))
    escalated = fields.Boolean(required=True)
    at = fields.AwareDateTime(required=True)


class CaseActed(Schema):
    case_id = fields.String(required=True)
    party = _party()
    round = fields.Integer(required=True)
    at = fields.AwareDateTime(required=True)
    by = fields.String(required=True)


class CaseAccepted(CaseActed):
    note = fields.String(allow_none=True, load_default=None)


class CaseReturned(CaseActed):
    reason = fields.String(required=True)


class CaseResolved(CaseActed):
    note = fields.String(required=True)
    accepted_at = fields.AwareDateTime(required=True)


class CaseDetectionCounted(Schema):
    case_id = fields.String(required=True)
    count = fields.Integer(required=True, validate=validate.Range(min=1))
    last_detected_at = fields.AwareDateTime(required=True)


REPORTERS = (POLICE, FLOATING, PROPERTY, DEVELOPER)  # the committee files its own at once

SPECS = [
    EventSpec("case_reported", REPORTERS, (COMMITTEE,), CaseReported,
              personal=("reporter",), description="A party reported a case (hazard, demand, dispute, camera "
                          "detection); the committee files and dispatches it."),
    EventSpec("case_dispatched", COMMITTEE, ALL, CaseDispatched, addressed_by="party",
              personal=("reporter",), description="The committee assigned a case to one party, with its accept and "
                          "resolve limits (and the reporter, whom that party may contact)."),
    EventSpec("case_withdrawn", COMMITTEE, ALL, CaseWithdrawn, addressed_by="party",
              description="The committee took a case back from a party (re-dispatched by hand)."),
    EventSpec("case_rework_requested", COMMITTEE, ALL, CaseReworkRequested, addressed_by="party",
              description="Verification or the resident's call-back sent a case back to a party "
                          "that had resolved it, with a fresh resolve limit."),
    EventSpec("case_overdue", COMMITTEE, ALL, CaseOverdue, addressed_by="party",
              description="A party passed its accept or resolve limit on a case."),
    EventSpec("case_status_changed", COMMITTEE, ALL, CaseStatusChanged, addressed_by="party",
              description="A case a party reported or works on changed status (e.g. closed)."),
    EventSpec("case_accepted", ALL, (COMMITTEE,), CaseAccepted,
              description="A party accepted a case dispatched to it."),
    EventSpec("case_returned", ALL, (COMMITTEE,), CaseReturned,
              description="A party returned a case as not its business, with the reason."),
    EventSpec("case_resolved", ALL, (COMMITTEE,), CaseResolved,
              description="A party resolved its part of a case, with a note."),
    EventSpec("case_detection_counted", PROPERTY, (COMMITTEE,), CaseDetectionCounted,
              description="A camera saw again what an open case is about; the count went up."),
]
