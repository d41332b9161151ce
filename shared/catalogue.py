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

Changes are additive; a breaking change is a new version (keep the old schema
in `older` until every producer has moved on).
"""
from marshmallow import Schema, fields, validate

from shared.cases.events import SPECS as CASE_SPECS
from shared.events import Catalogue, EventSpec
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY


class AddressSchema(Schema):
    building = fields.String(required=True, validate=validate.Length(min=1, max=20))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=20))
    room = fields.String(required=True, validate=validate.Length(min=1, max=20))


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
    requested_by = fields.String(required=True)
    requested_at = fields.AwareDateTime(required=True)


class PersonRecordProvided(Schema):
    """One party's part of a person's export (shared/people.py)."""
    export_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    records = fields.List(fields.Dict(), required=True)
    reads = fields.List(fields.Dict(), required=True)
    answered_at = fields.AwareDateTime(required=True)


class LinkagePartyOverdue(Schema):
    returnee_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    due_at = fields.AwareDateTime(required=True)
    detected_at = fields.AwareDateTime(required=True)


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
] + CASE_SPECS)
