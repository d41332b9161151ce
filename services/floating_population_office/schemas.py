"""What the floating-population office's front end gets back."""
from marshmallow import Schema, fields, validate

from shared.catalogue import AddressSchema
from shared.web import PageQuery


class RegistrationRecordSchema(Schema):
    """A non-local resident's registration, full identity included (audited)."""
    id = fields.String(attribute="registration_id")
    returnee_id = fields.String(attribute="_id")
    name = fields.String()
    id_number = fields.String()
    phone = fields.String()
    address = fields.Nested(AddressSchema)
    origin = fields.String()
    arrival_date = fields.String()
    status = fields.String()
    recorded_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    overdue_notified_at = fields.AwareDateTime(allow_none=True)


class RegistrationQuery(PageQuery):
    returnee_id = fields.String()
    status = fields.String(validate=validate.OneOf(["registered", "departed"]))
