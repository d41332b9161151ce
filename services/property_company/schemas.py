"""What the property company's front end gets back: name, masked ID, flat
and the state of the gate pass; never a full ID number or a phone."""
from marshmallow import Schema, fields, validate

from shared.catalogue import AddressSchema
from shared.web import PageQuery

PASS_STATES = ("held", "issued", "refused")


class StewardNoticeSchema(Schema):
    building = fields.String()
    text = fields.String()
    at = fields.AwareDateTime()


class GatePassSchema(Schema):
    id = fields.String(attribute="pass_id")
    returnee_id = fields.String(attribute="_id")
    name = fields.String()
    id_masked = fields.String()
    address = fields.Nested(AddressSchema)
    arrival_date = fields.String()
    status = fields.String()
    steward_notice = fields.Nested(StewardNoticeSchema)
    held_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean()
    overdue_notified_at = fields.AwareDateTime(allow_none=True)


class PassQuery(PageQuery):
    returnee_id = fields.String()
    status = fields.String(validate=validate.OneOf(PASS_STATES))
    building = fields.String()
