"""What the committee's front end sends and gets back."""
from datetime import date

from marshmallow import (Schema, ValidationError, fields, post_load, validate, validates,
                         validates_schema)

from shared.catalogue import AddressSchema
from shared.fields import (BLANK, NOT_BLANK_PATTERN, IdNumber, Mobile, QueryBoolean, StrictBoolean, Text,
                           not_blank)
from shared.identity import mask_id
from shared.parties import LINKED
from shared.web import PageQuery


class RegistrationSchema(Schema):
    # Names are stored stripped: all-blank would be an empty name.
    name = fields.String(required=True, validate=[validate.Length(max=50), not_blank],
                         metadata={"pattern": NOT_BLANK_PATTERN})
    # The patterns tell a front end the shape; the validators below check the
    # rest (region, birth date, check digit) and say what is wrong.
    id_number = IdNumber(required=True)
    phone = Mobile(required=True)
    address = fields.Nested(AddressSchema, required=True)
    origin = fields.String(required=True, validate=[validate.Length(max=100), not_blank],
                           metadata={"pattern": NOT_BLANK_PATTERN})
    arrival_date = fields.Date(required=True)
    local_hukou = StrictBoolean(required=True)

    @validates("arrival_date")
    def _arrival_date(self, value, **kwargs):
        if value > date.today():
            raise ValidationError("must not be in the future")

    @post_load
    def _normalise(self, data, **kwargs):
        data["id_number"] = data["id_number"].upper()
        data["name"] = data["name"].strip(BLANK)
        return data


class PartyStateSchema(Schema):
    status = fields.String()
    done = fields.Boolean()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    done_at = fields.AwareDateTime(allow_none=True)
    due_at = fields.AwareDateTime()
    overdue = fields.Boolean()
    overdue_at = fields.AwareDateTime(allow_none=True)


class LinkageSummarySchema(Schema):
    """A linkage without the full identity (lists and create responses)."""
    id = fields.String(attribute="_id")
    name = fields.String()
    id_masked = fields.Function(lambda doc: mask_id(doc["id_number"]))
    address = fields.Nested(AddressSchema)
    local_hukou = fields.Boolean()
    registered_at = fields.AwareDateTime()
    status = fields.String()
    parties = fields.Dict(keys=fields.String(), values=fields.Nested(PartyStateSchema))
    overdue = fields.Function(lambda doc: sorted(
        party for party, state in doc["parties"].items() if state["overdue"] and not state["done"]))
    mismatch = fields.Boolean(allow_none=True)
    dispatched_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)


class CorrectionSchema(Schema):
    """A supervisor's correction of a misspelt name or a wrong phone: the
    same checks as at registration, and why."""
    name = fields.String(validate=[validate.Length(max=50), not_blank],
                         metadata={"pattern": NOT_BLANK_PATTERN})
    phone = Mobile()
    reason = Text(200, required=True)

    # Also with other fields bad, so one answer names every one; on the body
    # as sent, so a bad name is not taken for a missing one.
    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _something(self, data, original, **kwargs):
        if not isinstance(original, dict) or ("name" not in original and "phone" not in original):
            raise ValidationError({name: ["give a name or a phone to correct"]
                                   for name in ("name", "phone")})

    @post_load
    def _normalise(self, data, **kwargs):
        if "name" in data:
            data["name"] = data["name"].strip(BLANK)
        return data


class CorrectionRecordSchema(Schema):
    """One correction: which fields, by whom, why (never the values)."""
    at = fields.AwareDateTime()
    by = fields.String(allow_none=True)
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    reason = fields.String()


class CorrectedSchema(CorrectionRecordSchema):
    returnee_id = fields.String()
    notified = fields.List(fields.String())


class ErasureRequestSchema(Schema):
    returnee_id = Text(100, required=True)
    reason = Text(200, required=True)


class ErasurePartySchema(Schema):
    status = fields.String()  # erased | held | pending
    at = fields.AwareDateTime(allow_none=True)
    hold_reason = fields.String(allow_none=True)


class ErasureSchema(Schema):
    """An erasure request and each holder's answer (the committee's own included)."""
    requested_at = fields.AwareDateTime()
    requested_by = fields.String(allow_none=True)
    reason = fields.String()
    parties = fields.Dict(keys=fields.String(), values=fields.Nested(ErasurePartySchema))


class ErasureStatusSchema(ErasureSchema):
    returnee_id = fields.String()


class LinkageDetailSchema(LinkageSummarySchema):
    """The whole registration, full identity included (audited)."""
    id_number = fields.String()
    phone = fields.String()
    origin = fields.String()
    arrival_date = fields.String()
    registered_by = fields.String(allow_none=True)
    corrections = fields.List(fields.Nested(CorrectionRecordSchema), dump_default=[])
    erasure = fields.Nested(ErasureSchema, allow_none=True, dump_default=None)
    deidentified_at = fields.AwareDateTime(allow_none=True, dump_default=None)


class LinkageQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    overdue = QueryBoolean()
    party = fields.String(validate=validate.OneOf(LINKED))
