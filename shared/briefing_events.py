"""The daily briefing's shape: the committee's whole briefing (its API) and
each party's own part of it, which `briefing_published` carries, addressed
to that party alone (need-to-know: a party learns its own late items, not
another's). An item names a person by name, masked ID and flat only, and a
case by its category and place: no field here holds a full ID number, a
phone, a reporter or a case's description.
"""
from marshmallow import Schema, fields, validate

from shared.events import EventSpec
from shared.parties import ALL, COMMITTEE, LINKED


class ItemSchema(Schema):
    """One registration or case in a list of the briefing, for one party."""
    source = fields.String(required=True)
    id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(ALL))
    name = fields.String()
    id_masked = fields.String(validate=validate.Regexp(r"^.{6}\*{8}.{4}$"))
    flat = fields.String()
    category = fields.String()
    location = fields.String()
    priority = fields.String()
    status = fields.String()
    kind = fields.String()
    detail = fields.String()
    due_kind = fields.String()
    due_at = fields.AwareDateTime()
    late_seconds = fields.Integer()
    pending_hours = fields.Float()
    topic = fields.String()  # what a decision is about: mismatch, returned_twice, ...
    reason = fields.String()


class PeriodSchema(Schema):
    from_ = fields.AwareDateTime(data_key="from", attribute="from", required=True)
    to = fields.AwareDateTime(required=True)


class IntakeSchema(Schema):
    total = fields.Integer(required=True)
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer())


class CountsSchema(Schema):
    received = fields.Integer(required=True)
    acknowledged = fields.Integer(required=True)
    done = fields.Integer(required=True)
    returned = fields.Integer(required=True)


class PartyRowSchema(CountsSchema):
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(CountsSchema))
    overdue_count = fields.Integer(required=True)
    worst_late_seconds = fields.Integer(required=True)


class PartyDaySchema(PartyRowSchema):
    overdue = fields.List(fields.Nested(ItemSchema), required=True)


class KpiRowSchema(Schema):
    received = fields.Integer(required=True)
    responded_on_time = fields.Integer(required=True)
    finished = fields.Integer(required=True)
    finished_on_time = fields.Integer(required=True)
    rated = fields.Integer(required=True)
    satisfied = fields.Integer(required=True)
    response_rate = fields.Float(allow_none=True, required=True)
    on_time_rate = fields.Float(allow_none=True, required=True)
    resolution_rate = fields.Float(allow_none=True, required=True)
    satisfaction_rate = fields.Float(allow_none=True, required=True)


class KpiWindowSchema(Schema):
    from_ = fields.AwareDateTime(data_key="from", attribute="from", required=True)
    to = fields.AwareDateTime(required=True)
    parties = fields.Dict(keys=fields.String(), values=fields.Nested(KpiRowSchema))
    total = fields.Nested(KpiRowSchema)


class KpisSchema(Schema):
    last_7_days = fields.Nested(KpiWindowSchema, required=True)
    month_to_date = fields.Nested(KpiWindowSchema, required=True)


class BriefingSchema(Schema):
    """The committee's whole briefing (GET /api/v1/briefings/{date})."""
    date = fields.String(required=True)
    time_zone = fields.String(required=True)
    period = fields.Nested(PeriodSchema, required=True)
    generated_at = fields.AwareDateTime(required=True)
    generated_by = fields.String()
    intake = fields.Dict(keys=fields.String(), values=fields.Nested(IntakeSchema))
    parties = fields.Dict(keys=fields.String(), values=fields.Nested(PartyDaySchema))
    red = fields.List(fields.Nested(ItemSchema))
    pending = fields.List(fields.Nested(ItemSchema))
    kpis = fields.Nested(KpisSchema)
    decisions = fields.List(fields.Nested(ItemSchema))


class OwnKpiWindowSchema(Schema):
    from_ = fields.AwareDateTime(data_key="from", attribute="from", required=True)
    to = fields.AwareDateTime(required=True)
    party = fields.Nested(KpiRowSchema, required=True)


class OwnKpisSchema(Schema):
    last_7_days = fields.Nested(OwnKpiWindowSchema, required=True)
    month_to_date = fields.Nested(OwnKpiWindowSchema, required=True)


class IntakeTotalSchema(Schema):
    total = fields.Integer(required=True)


class BriefingPublished(Schema):
    """One party's part of a briefing (services/neighborhood_committee/briefing.py `part_for`)."""
    briefing_date = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$"))
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    time_zone = fields.String(required=True)
    period = fields.Nested(PeriodSchema, required=True)
    generated_at = fields.AwareDateTime(required=True)
    intake = fields.Dict(keys=fields.String(), values=fields.Nested(IntakeTotalSchema), required=True)
    counts = fields.Nested(PartyRowSchema, required=True)
    overdue = fields.List(fields.Nested(ItemSchema), required=True)
    red = fields.List(fields.Nested(ItemSchema), required=True)
    pending = fields.List(fields.Nested(ItemSchema), required=True)
    decisions = fields.List(fields.Nested(ItemSchema), required=True)
    kpis = fields.Nested(OwnKpisSchema, required=True)


SPECS = [
    EventSpec("briefing_published", COMMITTEE, LINKED, BriefingPublished, addressed_by="party",
              description="The committee made the day's briefing; each party gets its own "
                          "part (its counts, late items, red items, pending registrations, "
                          "decisions and KPIs), addressed to it alone."),
]
