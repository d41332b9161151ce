"""What a party's front end sends about cases, and what it gets back."""
from marshmallow import Schema, fields, validate

from shared.cases.events import LIMITS
from shared.cases.model import (DetectionSchema, LocationSchema, ReporterSchema, SOURCES,
                                category_field, text)
from shared.fields import QueryBoolean, StrictBoolean
from shared.web import PageQuery

ASSIGNMENT_STATUSES = ("dispatched", "accepted", "returned", "resolved", "withdrawn")
CASE_STATUSES = ("reported", "filed", "dispatched", "in_progress", "resolved", "closed")


class ReportSchema(Schema):
    """`POST /api/v1/cases` at any party."""
    category = category_field(required=True)
    description = text(2000, required=True)
    location = fields.Nested(LocationSchema, required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    reporter = fields.Nested(ReporterSchema, load_default=None)
    safety_risk = StrictBoolean(load_default=False)


class AcceptSchema(Schema):
    note = text(1000, load_default=None)


class ReturnSchema(Schema):
    reason = text(1000, required=True)


class ResolveSchema(Schema):
    note = text(2000, required=True)


class CaseQuery(PageQuery):
    role = fields.String(validate=validate.OneOf(("assigned", "reported")))
    status = fields.String(validate=validate.OneOf(ASSIGNMENT_STATUSES + CASE_STATUSES))
    overdue = QueryBoolean()
    category = category_field()


class ReportRecordSchema(Schema):
    """A case as the party that reported it sees it: what it said, and the
    status; the reporter's name and phone stay with the parties on the case."""
    id = fields.String(attribute="_id")
    role = fields.Constant("reported")
    category = fields.String()
    description = fields.String()
    location = fields.Nested(LocationSchema)
    source = fields.String()
    safety_risk = fields.Boolean()
    has_reporter = fields.Boolean()
    detection = fields.Nested(DetectionSchema, allow_none=True)
    reported_by = fields.String()
    reported_by_user = fields.String()
    reported_at = fields.AwareDateTime()
    status = fields.String()
    escalated = fields.Boolean()
    status_at = fields.AwareDateTime(allow_none=True)


class AssignmentSchema(Schema):
    """A case as a party it is dispatched to sees it, reporter included."""
    id = fields.String(attribute="_id")
    role = fields.Constant("assigned")
    assignment_role = fields.String()
    round = fields.Integer()
    category = fields.String()
    description = fields.String()
    location = fields.Nested(LocationSchema)
    source = fields.String()
    priority = fields.String()
    safety_risk = fields.Boolean()
    reporter = fields.Nested(ReporterSchema, allow_none=True)
    reported_by = fields.String()
    status = fields.String()
    case_status = fields.String()
    escalated = fields.Boolean()
    dispatched_at = fields.AwareDateTime()
    accept_due = fields.AwareDateTime()
    resolve_due = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)
    accepted_by = fields.String(allow_none=True)
    accept_note = fields.String(allow_none=True)
    returned_at = fields.AwareDateTime(allow_none=True)
    return_reason = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    rework = fields.Dict(allow_none=True)
    overdue = fields.Boolean()
    overdue_limit = fields.String(allow_none=True, validate=validate.OneOf(LIMITS))
    overdue_notified_at = fields.AwareDateTime(allow_none=True)
