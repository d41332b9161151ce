"""The briefing and monthly report endpoints' requests and answers (the
briefing itself is shared/briefing_events.py, which the parties share)."""
from marshmallow import Schema, ValidationError, fields, validates_schema

from shared.briefing_events import ItemSchema, KpiRowSchema, PeriodSchema
from shared.web import PageQuery

from services.neighborhood_committee.case_schemas import _in_service_years


class GenerateSchema(Schema):
    date = fields.Date(required=True, validate=_in_service_years)


class BriefingQuery(PageQuery):
    from_ = fields.Date(data_key="from", validate=_in_service_years)
    to = fields.Date(validate=_in_service_years)

    @validates_schema
    def _order(self, data, **kwargs):
        if "from_" in data and "to" in data and data["to"] < data["from_"]:
            raise ValidationError("must not be before from", "to")


class BriefingSummarySchema(Schema):
    """A briefing in the list: its headline numbers."""
    date = fields.String()
    time_zone = fields.String()
    period = fields.Nested(PeriodSchema)
    generated_at = fields.AwareDateTime()
    generated_by = fields.String()
    intake = fields.Method("_intake")
    overdue = fields.Method("_overdue")
    red = fields.Method("_red")
    decisions = fields.Method("_decisions")

    def _intake(self, briefing):
        return {name: section["total"] for name, section in briefing["intake"].items()}

    def _overdue(self, briefing):
        return sum(row["overdue_count"] for row in briefing["parties"].values())

    def _red(self, briefing):
        return len(briefing["red"])

    def _decisions(self, briefing):
        return len(briefing["decisions"])


class KpiChangeSchema(Schema):
    response_rate = fields.Float(allow_none=True)
    on_time_rate = fields.Float(allow_none=True)
    resolution_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)


class MonthKpiSchema(Schema):
    month = fields.Nested(KpiRowSchema)
    previous = fields.Nested(KpiRowSchema)
    change = fields.Nested(KpiChangeSchema)


class RecurringSchema(Schema):
    source = fields.String()
    key = fields.String()
    count = fields.Integer()
    previous = fields.Integer()


class DaySchema(Schema):
    date = fields.String()
    intake = fields.Dict(keys=fields.String(), values=fields.Integer())
    on_time = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    finished = fields.Dict(keys=fields.String(), values=fields.Integer())


class MonthlySchema(Schema):
    month = fields.String()
    previous_month = fields.String()
    time_zone = fields.String()
    period = fields.Nested(PeriodSchema)
    generated_at = fields.AwareDateTime()
    intake = fields.Dict(keys=fields.String(), values=fields.Integer())
    intake_previous = fields.Dict(keys=fields.String(), values=fields.Integer())
    parties = fields.Dict(keys=fields.String(), values=fields.Nested(MonthKpiSchema))
    total = fields.Nested(MonthKpiSchema)
    top_categories = fields.List(fields.Nested(RecurringSchema))
    top_locations = fields.List(fields.Nested(RecurringSchema))
    escalated_open = fields.List(fields.Nested(ItemSchema))
    days = fields.List(fields.Nested(DaySchema))
