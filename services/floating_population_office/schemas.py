"""What the floating-population office's front end gets back."""
from datetime import date, timedelta

from marshmallow import (Schema, ValidationError, fields, post_load, validate, validates,
                         validates_schema)

from shared.catalogue import AddressSchema
from shared.fields import (BLANK, NOT_BLANK_PATTERN, IdNumber, Mobile, QueryBoolean,
                           StrictBoolean, not_blank)
from shared.web import PageQuery

# A tenancy may be registered a little before the tenants move in.
FUTURE_START_DAYS = 30
EARLIEST = date(2000, 1, 1)


class RegistrationRecordSchema(Schema):
    """A non-local resident's registration, full identity included (audited)."""
    id = fields.String(attribute="registration_id")
    returnee_id = fields.String(attribute="_id")
    name = fields.String()
    id_number = fields.String()
    phone = fields.String()
    address = fields.Nested(AddressSchema)
    origin = fields.String(allow_none=True)
    arrival_date = fields.String()
    status = fields.String()
    kind = fields.Function(lambda doc: doc.get("kind", "returnee"))
    tenancy_id = fields.String(allow_none=True)
    residence = fields.String(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    recorded_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    overdue_notified_at = fields.AwareDateTime(allow_none=True)


class RegistrationQuery(PageQuery):
    returnee_id = fields.String()
    status = fields.String(validate=validate.OneOf(["registered", "departed"]))
    kind = fields.String(validate=validate.OneOf(["returnee", "tenant"]))
    tenancy_id = fields.String()
    # Tenants residing here for RESIDENCE_PERMIT_DAYS (true) or not yet (false).
    permit_eligible = QueryBoolean()


class TenantInSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(max=50), not_blank],
                         metadata={"pattern": NOT_BLANK_PATTERN})
    id_number = IdNumber(required=True)
    phone = Mobile(required=True)
    local_hukou = StrictBoolean(required=True)


class TenancyInSchema(Schema):
    """What the office's registrar posts to register a tenancy."""
    flat = fields.Nested(AddressSchema, required=True)
    landlord = fields.String(required=True, validate=[validate.Length(max=50), not_blank],
                             metadata={"pattern": NOT_BLANK_PATTERN})
    rooms = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=20))
    start_date = fields.Date(required=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    tenants = fields.List(fields.Nested(TenantInSchema), required=True,
                          validate=validate.Length(min=1, max=50))

    @validates("start_date")
    def _start(self, value, **kwargs):
        if value > date.today() + timedelta(days=FUTURE_START_DAYS):
            raise ValidationError("must not be more than %d days ahead" % FUTURE_START_DAYS)
        if value < EARLIEST:
            raise ValidationError("must be after %s" % EARLIEST.isoformat())

    @validates_schema
    def _consistent(self, data, **kwargs):
        if data.get("end_date") and data.get("start_date") and data["end_date"] < data["start_date"]:
            raise ValidationError("must not be before start_date", "end_date")
        numbers = [t["id_number"].upper() for t in data.get("tenants", ())]
        if len(set(numbers)) != len(numbers):
            raise ValidationError("a tenant is listed twice (the same id_number)", "tenants")

    @post_load
    def _normalise(self, data, **kwargs):
        data["landlord"] = data["landlord"].strip(BLANK)
        for tenant in data["tenants"]:
            tenant["id_number"] = tenant["id_number"].upper()
            tenant["name"] = tenant["name"].strip(BLANK)
        return data


class EndSchema(Schema):
    ended_on = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=[validate.Length(max=500), not_blank],
                           metadata={"pattern": NOT_BLANK_PATTERN})

    @validates("ended_on")
    def _not_future(self, value, **kwargs):
        if value is not None and value > date.today():
            raise ValidationError("must not be in the future")


class TaskSchema(Schema):
    status = fields.String()
    done = fields.Boolean()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    done_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    overdue = fields.Boolean()
    overdue_at = fields.AwareDateTime(allow_none=True)


class TenantOutSchema(Schema):
    """A tenant, full identity (the office registered it; reads are audited)."""
    id = fields.String(attribute="tenant_id")
    name = fields.String()
    id_number = fields.String()
    id_masked = fields.String()
    phone = fields.String()
    local_hukou = fields.Boolean()
    registration_id = fields.String(allow_none=True)
    parties = fields.Dict(attribute="tasks", keys=fields.String(), values=fields.Nested(TaskSchema))


class TenancyOutSchema(Schema):
    id = fields.String(attribute="_id")
    flat = fields.Nested(AddressSchema, attribute="address")
    flat_id = fields.String()
    landlord = fields.String()
    rooms = fields.Integer()
    start_date = fields.String()
    end_date = fields.String(allow_none=True)
    registered_at = fields.AwareDateTime()
    registered_by = fields.String(allow_none=True)
    registered_late = fields.Boolean()
    status = fields.String()
    ended_on = fields.String(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)
    ended_by = fields.String(allow_none=True)
    end_reason = fields.String(allow_none=True)
    checks = fields.String()
    checks_closed_at = fields.AwareDateTime(allow_none=True)
    group_rental_case_id = fields.String(allow_none=True)
    tenants = fields.Method("_tenants")

    def _tenants(self, tenancy):
        identities = {i["tenant_id"]: i for i in tenancy.get("identities") or ()}
        return TENANT_OUT.dump([dict(t, **{k: v for k, v in identities.get(t["tenant_id"], {}).items()
                                           if k in ("id_number", "phone")})
                                for t in tenancy["tenants"]], many=True)


TENANT_OUT = TenantOutSchema()


class TenancyQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["active", "ended"]))
    flat = fields.String(validate=validate.Length(min=1, max=80))
    checks = fields.String(validate=validate.OneOf(["open", "closed"]))
    overdue = QueryBoolean()
