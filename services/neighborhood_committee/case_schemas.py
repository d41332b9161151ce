"""What the committee's front end sends and gets back about cases."""
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from shared import clock
from shared.cases.model import (DetectionSchema, LocationSchema, ReporterSchema, SATISFACTION,
                                category_field, priority_field, text)
from shared.cases.schemas import ASSIGNMENT_STATUSES, CASE_STATUSES
from shared.fields import QueryBoolean, StrictBoolean
from shared.parties import ALL
from shared.web import PageQuery

from services.neighborhood_committee.cases import overdue_parties


class DispatchSchema(Schema):
    to = fields.List(fields.String(validate=validate.OneOf(ALL)), required=True,
                     validate=validate.Length(min=1, max=len(ALL)), metadata={"uniqueItems": True})
    priority = priority_field(load_default=None)
    note = text(1000, load_default=None)

    @validates("to")
    def _distinct(self, value, **kwargs):
        if len(set(value)) != len(value):
            raise ValidationError("names a party twice")


class VerifySchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("confirmed", "rework")))
    note = text(2000, required=True)


class FeedbackSchema(Schema):
    satisfaction = fields.String(required=True, validate=validate.OneOf(SATISFACTION))
    resolved = StrictBoolean(required=True)
    note = text(2000, load_default=None)


# What a case is at the committee (a party's own report starts as `reported`).
COMMITTEE_STATUSES = tuple(status for status in CASE_STATUSES if status != "reported")


class CommitteeCaseQuery(PageQuery):
    role = fields.String(validate=validate.OneOf(("all", "assigned", "reported")))
    status = fields.String(validate=validate.OneOf(CASE_STATUSES + ASSIGNMENT_STATUSES))
    overdue = QueryBoolean()
    escalated = QueryBoolean()
    category = category_field()
    party = fields.String(validate=validate.OneOf(ALL))

    @validates_schema
    def _status_for_role(self, data, **kwargs):
        status, role = data.get("status"), data.get("role", "all")
        if status and role != "assigned" and status not in COMMITTEE_STATUSES:
            raise ValidationError("a case here is %s; %s is a status at a party's desk (role=assigned)"
                                  % (", ".join(COMMITTEE_STATUSES), status), "status")


def _in_service_years(value):
    if not 2000 <= value.year <= 2999:
        raise ValidationError("must be a date from 2000 to 2999")


class KpiQuery(Schema):
    from_ = fields.Date(data_key="from", required=True, validate=_in_service_years)
    to = fields.Date(required=True, validate=_in_service_years)

    @validates_schema
    def _order(self, data, **kwargs):
        if "from_" in data and "to" in data:
            if data["to"] < data["from_"]:
                raise ValidationError("must not be before from", "to")
            if (data["to"] - data["from_"]).days > 366:
                raise ValidationError("at most 366 days after from", "to")


class TaskSchema(Schema):
    role = fields.String()
    round = fields.Integer()
    status = fields.String()
    priority = fields.String()
    dispatched_at = fields.AwareDateTime()
    accept_due = fields.AwareDateTime()
    resolve_due = fields.AwareDateTime()
    due_kind = fields.String()
    due_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean()
    overdue_at = fields.AwareDateTime(allow_none=True)
    accepted_at = fields.AwareDateTime(allow_none=True)
    accepted_by = fields.String(allow_none=True)
    returned_at = fields.AwareDateTime(allow_none=True)
    return_reason = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class TimelineSchema(Schema):
    at = fields.AwareDateTime()
    party = fields.String()
    action = fields.String()
    by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class EscalationSchema(Schema):
    reason = fields.String()
    party = fields.String(allow_none=True)
    at = fields.AwareDateTime()


class VerificationSchema(Schema):
    outcome = fields.String()
    note = fields.String()
    by = fields.String()
    at = fields.AwareDateTime()


class FeedbackOutSchema(Schema):
    satisfaction = fields.String()
    resolved = fields.Boolean()
    note = fields.String(allow_none=True)
    by = fields.String()
    at = fields.AwareDateTime()
    closure = fields.Integer()


class CaseSummarySchema(Schema):
    id = fields.String(attribute="_id")
    category = fields.String()
    description = fields.String()
    location = fields.Nested(LocationSchema)
    source = fields.String()
    safety_risk = fields.Boolean()
    priority = fields.String()
    status = fields.String()
    escalated = fields.Boolean()
    escalations = fields.List(fields.Nested(EscalationSchema))
    reported_by = fields.String()
    reported_at = fields.AwareDateTime()
    detection = fields.Nested(DetectionSchema, allow_none=True)
    assignments = fields.Dict(keys=fields.String(), values=fields.Nested(TaskSchema))
    overdue = fields.Method("_overdue")
    returns = fields.Integer()
    reworks = fields.Integer()
    reopened = fields.Integer()
    closed_at = fields.AwareDateTime(allow_none=True)

    def _overdue(self, case):
        return overdue_parties(case, clock.utcnow()) if case["closed_at"] is None else []


class CaseDetailSchema(CaseSummarySchema):
    reporter = fields.Nested(ReporterSchema, allow_none=True)
    reported_by_user = fields.String()
    filed_at = fields.AwareDateTime()
    verifications = fields.List(fields.Nested(VerificationSchema))
    feedback = fields.List(fields.Nested(FeedbackOutSchema))
    timeline = fields.List(fields.Nested(TimelineSchema))


class SafetyRiskRouteSchema(Schema):
    also = fields.List(fields.String())
    priority = fields.String()


class RouteSchema(Schema):
    category = fields.String()
    description = fields.String()
    owner = fields.String()
    co_handlers = fields.List(fields.String())
    priority = fields.String()
    accept_within_seconds = fields.Integer()
    resolve_within_seconds = fields.Integer()
    on_safety_risk = fields.Nested(SafetyRiskRouteSchema, allow_none=True)
    reason = fields.String()


class CategoriesSchema(Schema):
    items = fields.List(fields.Nested(RouteSchema))
    statuses = fields.List(fields.String())
    parties = fields.List(fields.String())


class KpiRowSchema(Schema):
    """Counts, and the rates of the 12345 practice (null with nothing to divide by)."""
    dispatched = fields.Integer()
    accepted = fields.Integer()
    accepted_on_time = fields.Integer()
    resolved = fields.Integer()
    resolved_on_time = fields.Integer()
    returned = fields.Integer()
    reworked = fields.Integer()
    overdue_accept = fields.Integer()
    overdue_resolve = fields.Integer()
    rated = fields.Integer()
    satisfied = fields.Integer()
    reopened = fields.Integer()
    response_rate = fields.Float(allow_none=True)
    on_time_resolution_rate = fields.Float(allow_none=True)
    return_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)


class KpiSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    cases_reported_between = fields.List(fields.AwareDateTime())
    parties = fields.Dict(keys=fields.String(), values=fields.Nested(KpiRowSchema))
    total = fields.Nested(KpiRowSchema)
