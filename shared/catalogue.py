"""The event catalogue of the five-party linkage: every event, its producer,
its consumers, its schema and version.

Personal data is kept to what each consumer's job needs by construction: the
full identity (ID number, phone) travels only in `returnee_registered` (to the
police) and `non_local_returnee_registered` (to the floating-population office,
and only for non-local arrivals). The property company and the developer get
`returnee_housing_declared`, whose schema has a masked ID and no phone at all.

Cases have their events in shared/cases/events.py: a resident reporter's
name and phone travel only in `case_dispatched`, addressed to each assigned
party alone.

The ID number and phone in those two, and a case's reporter, are `personal`:
encrypted under the transit keys from the producer's outbox to the consumer.

A person's rights (PIPL Arts. 44-47) reach the parties that hold their data
the same way: a corrected name and/or phone goes to the police and (for a
non-local person only) the floating-population office in
`returnee_details_corrected`, addressed to each; a corrected name goes to
the property company and the developer in `returnee_name_corrected`, whose
schema has no phone. `returnee_erasure_requested` asks each holder to
de-identify its record, and `returnee_erasure_answered` says it did, or
that a legal hold keeps it.

The daily briefing's `briefing_published` is in shared/briefing_events.py:
each party's own part, addressed to it alone.

Changes are additive; a breaking change is a new version (keep the old schema
in `older` until every producer has moved on).
"""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.briefing_events import SPECS as BRIEFING_SPECS
from shared.cases.events import SPECS as CASE_SPECS
from shared.events import Catalogue, EventSpec
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY


class AddressSchema(Schema):
    building = fields.String(required=True, validate=validate.Length(min=1, max=20))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=20))
    room = fields.String(required=True, validate=validate.Length(min=1, max=20))


def flat_id(address):
    """`building-unit-room`, each part with `%` and `-` escaped, so parts
    that hold hyphens can never make two flats one id ("1-2","3","4" is
    `1%2D2-3-4`, "1","2-3","4" is `1-2%2D3-4`); plain parts read as before."""
    return "-".join(str(address[part]).replace("%", "%25").replace("-", "%2D")
                    for part in ("building", "unit", "room"))


class FullIdentityRegistration(Schema):
    """A registration with the full identity: for the parties that need it."""
    returnee_id = fields.String(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, validate=validate.Length(equal=18))
    phone = fields.String(required=True)
    address = fields.Nested(AddressSchema, required=True)
    origin = fields.String(required=True)
    arrival_date = fields.Date(required=True)
    local_hukou = fields.Boolean(required=True)
    registered_at = fields.AwareDateTime(required=True)


class HousingDeclaration(Schema):
    """Who says they live in which flat: name, masked ID and flat only."""
    returnee_id = fields.String(required=True)
    name = fields.String(required=True)
    id_masked = fields.String(required=True, validate=validate.Regexp(r"^.{6}\*{8}.{4}$"))
    address = fields.Nested(AddressSchema, required=True)
    arrival_date = fields.Date(required=True)
    registered_at = fields.AwareDateTime(required=True)


class IdentityCheckOpened(Schema):
    returnee_id = fields.String(required=True)
    opened_at = fields.AwareDateTime(required=True)


class IdentityCheckCompleted(Schema):
    returnee_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(["cleared", "flagged"]))
    decided_at = fields.AwareDateTime(required=True)


class NonLocalArrivalRecorded(Schema):
    returnee_id = fields.String(required=True)
    registration_id = fields.String(required=True)
    recorded_at = fields.AwareDateTime(required=True)


class GatePassChanged(Schema):
    returnee_id = fields.String(required=True)
    pass_id = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


HOUSING_RESULTS = ("matched", "allocated_to_other", "unknown_flat", "not_handed_over")


class HousingAllocationChecked(Schema):
    returnee_id = fields.String(required=True)
    result = fields.String(required=True, validate=validate.OneOf(HOUSING_RESULTS))
    checked_at = fields.AwareDateTime(required=True)


class PersonExportRequested(Schema):
    """Which of the committee's linkages are the person's: each party answers
    with what it holds under those ids."""
    export_id = fields.String(required=True)
    returnee_ids = fields.List(fields.String(), required=True)
    case_ids = fields.List(fields.String(), load_default=list)  # cases the person reported
    requested_by = fields.String(required=True)
    requested_at = fields.AwareDateTime(required=True)


class PersonRecordProvided(Schema):
    """One party's part of a person's export (shared/people.py)."""
    export_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    records = fields.List(fields.Dict(), required=True)
    reads = fields.List(fields.Dict(), required=True)
    legal_hold = fields.String(load_default=None, allow_none=True)  # why an erasure would not erase
    answered_at = fields.AwareDateTime(required=True)


class LinkagePartyOverdue(Schema):
    returnee_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    due_at = fields.AwareDateTime(required=True)
    detected_at = fields.AwareDateTime(required=True)


# The parties that hold a person's phone (need-to-know, as at registration).
PHONE_HOLDERS = (POLICE, FLOATING)
ERASURE_OUTCOMES = ("erased", "held")


class DetailsCorrected(Schema):
    """A corrected name and/or phone, for one party that holds both."""
    returnee_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(PHONE_HOLDERS))
    name = fields.String(validate=validate.Length(min=1, max=50))
    phone = fields.String()
    corrected_at = fields.AwareDateTime(required=True)

    @validates_schema
    def _something(self, data, **kwargs):
        if "name" not in data and "phone" not in data:
            raise ValidationError("a correction names a name or a phone", "_schema")


class NameCorrected(Schema):
    """A corrected name, for the parties that hold the name and no phone."""
    returnee_id = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    corrected_at = fields.AwareDateTime(required=True)


class ErasureRequested(Schema):
    returnee_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    requested_at = fields.AwareDateTime(required=True)


class ErasureAnswered(Schema):
    returnee_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    outcome = fields.String(required=True, validate=validate.OneOf(ERASURE_OUTCOMES))
    hold_reason = fields.String(allow_none=True, validate=validate.Length(max=500))
    at = fields.AwareDateTime(required=True)


CATALOGUE = Catalogue([
    EventSpec("returnee_registered", COMMITTEE, (POLICE,), FullIdentityRegistration,
              personal=("id_number", "phone"),
              description="A person entering or returning registered with the committee; "
                          "the police check identity and risk."),
    EventSpec("non_local_returnee_registered", COMMITTEE, (FLOATING,), FullIdentityRegistration,
              personal=("id_number", "phone"),
              description="A registration without local hukou; the floating-population "
                          "office records the non-local arrival."),
    EventSpec("returnee_housing_declared", COMMITTEE, (PROPERTY, DEVELOPER), HousingDeclaration,
              description="A registrant claims a flat; the property company holds the gate "
                          "pass and notifies the steward, the developer checks the allocation."),
    EventSpec("identity_check_opened", POLICE, (COMMITTEE,), IdentityCheckOpened,
              description="The police have the check on their list."),
    EventSpec("identity_check_completed", POLICE, (COMMITTEE, PROPERTY), IdentityCheckCompleted,
              description="The police cleared or flagged the person."),
    EventSpec("non_local_arrival_recorded", FLOATING, (COMMITTEE,), NonLocalArrivalRecorded,
              description="The floating-population office registered the non-local arrival."),
    EventSpec("gate_pass_held", PROPERTY, (COMMITTEE,), GatePassChanged,
              description="The steward was notified and the gate pass is held until cleared."),
    EventSpec("gate_pass_issued", PROPERTY, (COMMITTEE,), GatePassChanged,
              description="The gate pass was issued after the police cleared the person."),
    EventSpec("gate_pass_refused", PROPERTY, (COMMITTEE,), GatePassChanged,
              description="The gate pass was refused because the police flagged the person."),
    EventSpec("housing_allocation_checked", DEVELOPER, (COMMITTEE,), HousingAllocationChecked,
              description="The developer compared the claimed flat with its allocation records."),
    EventSpec("linkage_party_overdue", COMMITTEE, LINKED, LinkagePartyOverdue,
              description="A party passed its time limit on a linkage; each party acts on "
                          "the ones addressed to it."),
    EventSpec("person_export_requested", COMMITTEE, LINKED, PersonExportRequested,
              description="A person asked what the parties hold about them (PIPL Art. 45): "
                          "each party looks up the person's linkages."),
    EventSpec("person_record_provided", LINKED, (COMMITTEE,), PersonRecordProvided,
              personal=("records",),
              description="One party's records of the person and who read them, for the "
                          "committee's export."),
    EventSpec("returnee_details_corrected", COMMITTEE, PHONE_HOLDERS, DetailsCorrected,
              addressed_by="party", personal=("phone",),
              description="The committee corrected a registered name and/or phone (PIPL "
                          "Art. 46); the police and, for a non-local person, the "
                          "floating-population office update their record."),
    EventSpec("returnee_name_corrected", COMMITTEE, (PROPERTY, DEVELOPER), NameCorrected,
              description="The committee corrected a registered name; the property company "
                          "and the developer update their record."),
    EventSpec("returnee_erasure_requested", COMMITTEE, LINKED, ErasureRequested,
              addressed_by="party",
              description="The person asked for erasure (PIPL Art. 47); each party holding "
                          "their record de-identifies it unless a legal hold keeps it."),
    EventSpec("returnee_erasure_answered", LINKED, (COMMITTEE,), ErasureAnswered,
              description="A party de-identified its record of the person (erased), or "
                          "keeps it under a legal hold (held, with the hold's reason)."),
] + CASE_SPECS + BRIEFING_SPECS)
