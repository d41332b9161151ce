"""What the property company's front end gets back: name, masked ID, flat
and the state of the gate pass or of a tenant's access, never a full ID
number or a returnee's or tenant's phone; households with their warranty
tables; repairs, with the resident who reported each (their name and phone:
the property company calls back)."""
from datetime import datetime, timedelta, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates

from shared import clock
from shared.cases.model import CAMERA_KINDS, LocationSchema, ReporterSchema, text
from shared.catalogue import AddressSchema, StoredWarrantySchema
from shared.fields import QueryBoolean, StrictNumber, Text
from shared.web import PageQuery

from services.property_company.warranty import PARTS, REPAIR_CATEGORIES, RESPONSIBLE

CLOCK_SKEW = timedelta(minutes=5)  # a camera's clock may run a little ahead
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)

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
    name = Text(50)  # the start of a name; blank would match everyone
    building = fields.String()
    unit = fields.String()
    room = fields.String()


class DetectionInSchema(Schema):
    """What the camera gateway posts."""
    camera_id = text(64, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        list(CAMERA_KINDS), error="unknown kind {input}; known: %s" % ", ".join(CAMERA_KINDS)))
    location = fields.Nested(LocationSchema, required=True)
    detected_at = fields.AwareDateTime(required=True)
    confidence = StrictNumber(required=True, validate=validate.Range(min=0, max=1))
    snapshot_ref = text(200, load_default=None)

    @validates("detected_at")
    def _plausible(self, value, **kwargs):
        if value > clock.utcnow() + CLOCK_SKEW:
            raise ValidationError("must not be in the future")
        if value < EARLIEST:  # compared, not converted: year 1 ahead of UTC has no UTC year
            raise ValidationError("must be after 2000-01-01")


class DetectionQuery(PageQuery):
    camera_id = fields.String(validate=validate.Length(min=1, max=64))
    reported = QueryBoolean()


class DetectionOutSchema(Schema):
    id = fields.String(attribute="_id")
    camera_id = fields.String()
    kind = fields.String()
    location = fields.Nested(LocationSchema)
    detected_at = fields.AwareDateTime()
    confidence = fields.Float()
    snapshot_ref = fields.String(allow_none=True)
    received_at = fields.AwareDateTime()
    reported = fields.Boolean()
    attached = fields.Boolean()
    case_id = fields.String(allow_none=True)
    count = fields.Integer(allow_none=True)


class HouseholdQuery(PageQuery):
    flat = fields.String(validate=validate.Length(min=1, max=70))  # building-unit-room
    building = fields.String(validate=validate.Length(min=1, max=20))


class WarrantyRowSchema(Schema):
    category = fields.String()
    covers = fields.String()
    period = fields.String()
    unit = fields.String()  # years | seasons
    length = fields.Integer()
    starts = fields.Date()
    end = fields.Date()


class HouseholdSchema(Schema):
    """A household the property company took on, with its flat's warranty table."""
    id = fields.String(attribute="_id")
    flat = fields.Nested(AddressSchema)
    members = fields.List(fields.String())
    handed_over_on = fields.String()
    taken_on_at = fields.AwareDateTime()
    warranty = fields.List(fields.Nested(WarrantyRowSchema))


class RepairInSchema(Schema):
    """`POST /api/v1/repairs`: a resident's repair, reported at the property company."""
    flat = fields.Nested(AddressSchema, required=True)
    category = fields.String(required=True, validate=validate.OneOf(
        REPAIR_CATEGORIES, error="unknown category {input}; known: %s" % ", ".join(REPAIR_CATEGORIES)))
    part = fields.String(load_default=None, validate=validate.OneOf(PARTS))  # default: by category
    description = Text(2000, required=True)
    resident = fields.Nested(ReporterSchema, required=True)


class DeveloperTaskSchema(Schema):
    status = fields.String()
    due_kind = fields.String()
    due_at = fields.AwareDateTime(allow_none=True)
    resolve_due = fields.AwareDateTime()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    done_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean()
    overdue_at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True)


class RepairTasksSchema(Schema):
    developer = fields.Nested(DeveloperTaskSchema)


class RepairSchema(Schema):
    id = fields.String(attribute="_id")
    flat = fields.Nested(AddressSchema)
    category = fields.String()
    part = fields.String()
    description = fields.String()
    resident = fields.Nested(ReporterSchema)
    handed_over_on = fields.String()
    responsible = fields.String()
    warranty = fields.Nested(StoredWarrantySchema, allow_none=True)
    reason = fields.String()
    urgent = fields.Boolean()
    status = fields.String()
    reported_at = fields.AwareDateTime()
    reported_by = fields.String()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    tasks = fields.Nested(RepairTasksSchema)


class RepairQuery(PageQuery):
    flat = fields.String(validate=validate.Length(min=1, max=70))
    responsible = fields.String(validate=validate.OneOf(RESPONSIBLE))
    status = fields.String(validate=validate.OneOf(("open", "assigned", "accepted", "resolved")))
    overdue = QueryBoolean()


class RepairResolveSchema(Schema):
    note = Text(2000, required=True)
ACCESS_STATES = ("held", "issued", "refused", "ended")
OCCUPANT_STATES = ("watching", "covered", "unregistered")


class TenantAccessSchema(Schema):
    """A tenant's access: name, masked ID, flat and whether the police cleared."""
    id = fields.String(attribute="access_id")
    tenant_id = fields.String(attribute="_id")
    tenancy_id = fields.String()
    name = fields.String()
    id_masked = fields.String()
    flat = fields.Nested(AddressSchema, attribute="address")
    flat_id = fields.String()
    start_date = fields.String()
    police = fields.Function(lambda doc: {"issued": "cleared", "refused": "flagged"}.get(
        doc["status"], "cleared" if doc.get("decided_at") else "pending"))
    status = fields.String()
    held_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean()
    overdue_notified_at = fields.AwareDateTime(allow_none=True)


class TenantAccessQuery(PageQuery):
    tenancy_id = fields.String()
    status = fields.String(validate=validate.OneOf(ACCESS_STATES))
    flat = fields.String(validate=validate.Length(min=1, max=80))
    name = Text(50)


class OccupantInSchema(Schema):
    """An occupant the property company's staff saw living in a flat."""
    flat = fields.Nested(AddressSchema, required=True)
    name = Text(50, required=True)
    note = Text(500, load_default=None)


class OccupantSchema(Schema):
    id = fields.String(attribute="_id")
    flat = fields.Nested(AddressSchema)
    flat_id = fields.String()
    name = fields.String()
    note = fields.String(allow_none=True)
    seen_at = fields.AwareDateTime()
    reported_by = fields.String()
    status = fields.String()
    due_at = fields.AwareDateTime(allow_none=True)
    covered_by = fields.String(allow_none=True)
    case_id = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)


class OccupantQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(OCCUPANT_STATES))
    flat = fields.String(validate=validate.Length(min=1, max=80))
