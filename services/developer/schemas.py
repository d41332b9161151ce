"""What the developer's front end sends and gets back."""
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates

from shared import clock

from shared.catalogue import HOUSING_RESULTS, AddressSchema, StoredWarrantySchema
from shared.cases.model import ReporterSchema
from shared.fields import QueryBoolean, StrictBoolean, Text
from shared.web import PageQuery


class AllocationSchema(AddressSchema):
    """A relocation-housing allocation: which household is entitled to a flat."""
    household = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True,
                            validate=validate.Length(min=1, max=30))
    handed_over = StrictBoolean(load_default=True)


class AllocationOutSchema(AllocationSchema):
    id = fields.String(attribute="_id")
    updated_at = fields.AwareDateTime()


class ImportResultSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()


class AllocationQuery(PageQuery):
    building = fields.String(validate=validate.Length(min=1, max=20))


class HousingCheckSchema(Schema):
    id = fields.String(attribute="_id")
    returnee_id = fields.Function(lambda doc: doc["_id"])
    name = fields.String()
    id_masked = fields.String()
    address = fields.Nested(AddressSchema)
    result = fields.String()
    mismatch = fields.Boolean()
    checked_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    overdue_notified_at = fields.AwareDateTime(allow_none=True)


class HousingCheckQuery(PageQuery):
    returnee_id = fields.String()
    result = fields.String(validate=validate.OneOf(HOUSING_RESULTS))
    mismatch = QueryBoolean()


EARLIEST_HANDOVER = date(1990, 1, 1)


def _unique(names):
    seen = [name.strip() for name in names]
    twice = sorted({name for name in seen if seen.count(name) > 1})
    if twice:
        raise ValidationError("named twice: %s" % ", ".join(twice))


class HandoverSchema(Schema):
    """`POST /api/v1/handovers`: a relocation flat handed over to its household."""
    flat = fields.Nested(AddressSchema, required=True)
    members = fields.List(Text(50), required=True,
                          validate=[validate.Length(min=1, max=30), _unique])
    handed_over_on = fields.Date(required=True)

    @validates("handed_over_on")
    def _not_in_the_future(self, value, **kwargs):
        if value > clock.utcnow().date():
            raise ValidationError("must not be in the future")
        if value < EARLIEST_HANDOVER:
            raise ValidationError("must be on or after %s" % EARLIEST_HANDOVER.isoformat())


class HandoverOutSchema(Schema):
    id = fields.String(attribute="_id")
    flat = fields.Nested(AddressSchema)
    members = fields.List(fields.String())
    handed_over_on = fields.String()
    recorded_at = fields.AwareDateTime()
    recorded_by = fields.String()


class HandoverQuery(PageQuery):
    building = fields.String(validate=validate.Length(min=1, max=20))


class WarrantyCaseSchema(Schema):
    """A warranty repair as the developer works it, with the resident to contact."""
    id = fields.String(attribute="_id")
    flat = fields.Nested(AddressSchema)
    category = fields.String()
    part = fields.String()
    description = fields.String()
    resident = fields.Nested(ReporterSchema)
    warranty = fields.Nested(StoredWarrantySchema)
    reason = fields.String()
    urgent = fields.Boolean()
    status = fields.String()
    reported_at = fields.AwareDateTime()
    assigned_at = fields.AwareDateTime()
    accept_due = fields.AwareDateTime()
    resolve_due = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)
    accepted_by = fields.String(allow_none=True)
    accept_note = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    overdue = fields.Boolean()
    overdue_limit = fields.String(allow_none=True)
    overdue_notified_at = fields.AwareDateTime(allow_none=True)


class WarrantyCaseQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("assigned", "accepted", "resolved")))
    overdue = QueryBoolean()
    urgent = QueryBoolean()
    building = fields.String(validate=validate.Length(min=1, max=20))


class WarrantyAcceptSchema(Schema):
    note = Text(1000, load_default=None)


class WarrantyResolveSchema(Schema):
    note = Text(2000, required=True)
