"""What the developer's front end sends and gets back."""
from marshmallow import Schema, fields, validate

from shared.catalogue import HOUSING_RESULTS, AddressSchema
from shared.web import PageQuery


class StrictBoolean(fields.Boolean):
    """JSON true or false only. (A truthy set of {True} is not enough:
    1 == True in Python, so 1 and 0 would pass as booleans.)"""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class AllocationSchema(Schema):
    """A relocation-housing allocation: which household is entitled to a flat."""
    building = fields.String(required=True, validate=validate.Length(min=1, max=20))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=20))
    room = fields.String(required=True, validate=validate.Length(min=1, max=20))
    household = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True,
                            validate=validate.Length(min=1, max=30))
    handed_over = StrictBoolean(load_default=True)


class AllocationOutSchema(AllocationSchema):
    id = fields.String(attribute="_id")
    updated_at = fields.AwareDateTime()


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
    mismatch = fields.Boolean(truthy={"true", "1"}, falsy={"false", "0"})
