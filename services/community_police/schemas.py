"""What the police front end sends and gets back."""
from marshmallow import Schema, fields, validate

from shared.catalogue import AddressSchema
from shared.fields import QueryBoolean
from shared.web import PageQuery

OUTCOMES = ("cleared", "flagged")


class DecisionSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    note = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class CheckSchema(Schema):
    """A check with the full identity: the police need it (reads are audited)."""
    id = fields.String(attribute="_id")
    returnee_id = fields.Function(lambda doc: doc["_id"])
    name = fields.String()
    id_number = fields.String()
    phone = fields.String()
    address = fields.Nested(AddressSchema)
    kind = fields.Function(lambda doc: doc.get("kind", "returnee"))  # a returnee's or a tenant's
    tenancy_id = fields.String(allow_none=True)
    origin = fields.String(allow_none=True)  # a tenant has none
    arrival_date = fields.String()  # a tenant's: the tenancy's start
    local_hukou = fields.Boolean()
    registered_at = fields.AwareDateTime()
    status = fields.String()
    opened_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    overdue = fields.Boolean()
    overdue_notified_at = fields.AwareDateTime(allow_none=True)


class CheckQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("pending",) + OUTCOMES))
    overdue = QueryBoolean()
    returnee_id = fields.String()
    kind = fields.String(validate=validate.OneOf(("returnee", "tenant")))
    tenancy_id = fields.String()
