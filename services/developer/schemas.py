"""What the developer's front end sends and gets back."""
from marshmallow import Schema, fields, validate

from shared.catalogue import HOUSING_RESULTS, AddressSchema
from shared.fields import QueryBoolean, StrictBoolean
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
