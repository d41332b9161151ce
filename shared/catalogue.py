"""The event catalogue of the five-party linkage: every event, its producer,
its consumers, its schema and version.

Personal data is kept to what each consumer's job needs by construction: the
full identity (ID number, phone) travels only in `returnee_registered` (to the
police) and `non_local_returnee_registered` (to the floating-population office,
and only for non-local arrivals). The property company and the developer get
`returnee_housing_declared`, whose schema has a masked ID and no phone at all.

A flat's handover (`flat_handover_recorded`) carries the members' names, never an
ID number. A resident's name and phone on a warranty repair travel only in
`warranty_repair_assigned`, from the property company to the developer.

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

A tenancy registered at the floating-population office travels the same
way: the tenants' full identities only to the police (`tenant_registered`),
name, masked ID and flat to the property company and the committee
(`tenant_housing_declared`), and whether the tenant has local hukou to the
committee alone (`tenant_hukou_recorded`, for its briefing's local /
non-local intake: the property company's job does not need it). Each
party's progress on a tenant (the police's check, the property company's
access) carries ids, an outcome and times only, and reaches the committee
too, for its daily briefing.
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


class FlatHandoverRecorded(Schema):
    """The developer handed a relocation flat over to its household: the
    flat, the members' names and the date; never an ID number."""
    handover_id = fields.String(required=True)
    flat = fields.Nested(AddressSchema, required=True)
    members = fields.List(fields.String(validate=validate.Length(min=1, max=50)), required=True,
                          validate=validate.Length(min=1, max=30))
    handed_over_on = fields.Date(required=True)
    recorded_at = fields.AwareDateTime(required=True)


class ResidentSchema(Schema):
    """The resident who reported a repair: for the property company and, for
    a warranty repair, the developer, who must contact them."""
    name = fields.String(required=True, validate=validate.Length(min=1, max=50))
    phone = fields.String(required=True)


class WarrantySchema(Schema):
    category = fields.String(required=True)
    period = fields.String(required=True)
    end = fields.Date(required=True)
    covered = fields.Boolean(required=True)


class StoredWarrantySchema(WarrantySchema):
    """The same, as a repair keeps it and a front end gets it (the end as an ISO date)."""
    end = fields.String(required=True)


class WarrantyRepairAssigned(Schema):
    """A repair under warranty, assigned to the developer with its limits."""
    repair_id = fields.String(required=True)
    flat = fields.Nested(AddressSchema, required=True)
    category = fields.String(required=True)
    part = fields.String(required=True, validate=validate.OneOf(("common", "in_flat")))
    description = fields.String(required=True)
    resident = fields.Nested(ResidentSchema, required=True)
    warranty = fields.Nested(WarrantySchema, required=True)
    reason = fields.String(required=True)
    urgent = fields.Boolean(required=True)
    reported_at = fields.AwareDateTime(required=True)
    accept_due = fields.AwareDateTime(required=True)
    resolve_due = fields.AwareDateTime(required=True)


class WarrantyRepairActed(Schema):
    repair_id = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    by = fields.String(required=True)
    note = fields.String(allow_none=True, load_default=None)


class WarrantyRepairOverdue(Schema):
    repair_id = fields.String(required=True)
    limit = fields.String(required=True, validate=validate.OneOf(("accept", "resolve")))
    due_at = fields.AwareDateTime(required=True)
    detected_at = fields.AwareDateTime(required=True)


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


class TraceRequested(Schema):
    """The committee asks each party for its part of a trace of one linkage
    or case (shared/trace.py); a party answers only until `answer_by`."""
    trace_id = fields.String(required=True)
    subject_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.Length(min=1, max=20))  # returnee, case, ...
    requested_by = fields.String(required=True)
    requested_at = fields.AwareDateTime(required=True)
    answer_by = fields.AwareDateTime(required=True)


class TraceAction(Schema):
    at = fields.AwareDateTime(required=True)
    action = fields.String(required=True)
    by = fields.String(allow_none=True)  # the staff member, where the record says


class TraceRecord(Schema):
    """One record of a party about the linkage or case: its state, limits
    and actions, and nothing about the person."""
    record = fields.String(required=True)
    status = fields.String()
    result = fields.String()
    case_status = fields.String()
    round = fields.Integer()
    assignment_role = fields.String()
    overdue = fields.Boolean(required=True)
    due_at = fields.AwareDateTime()
    accept_due = fields.AwareDateTime()
    resolve_due = fields.AwareDateTime()
    actions = fields.List(fields.Nested(TraceAction), required=True)


class JournalNote(Schema):
    """A party's journal note about one event (shared/journal.py)."""
    event_id = fields.String(required=True)
    event_type = fields.String(allow_none=True)
    producer = fields.String(allow_none=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ("published", "handled", "retried", "dead_lettered")))
    at = fields.AwareDateTime(required=True)
    occurred_at = fields.String(allow_none=True)
    attempt = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, validate=validate.Length(max=300))
    reason = fields.String(allow_none=True)
    routing_key = fields.String(allow_none=True)


class DeadLetterNote(Schema):
    """A dead letter in a party's queue: the envelope's metadata and why."""
    event_id = fields.String(required=True)
    event_type = fields.String(allow_none=True)
    producer = fields.String(allow_none=True)
    queue = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    attempts = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, validate=validate.Length(max=300))
    dead_lettered_at = fields.String(allow_none=True)


class TracePartProvided(Schema):
    """One party's part of a trace."""
    trace_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(LINKED))
    subject_id = fields.String(required=True)
    answered_at = fields.AwareDateTime(required=True)
    records = fields.List(fields.Nested(TraceRecord), required=True)
    notes = fields.List(fields.Nested(JournalNote), required=True)
    dead_letters = fields.List(fields.Nested(DeadLetterNote), required=True)
    dead_letters_read = fields.Boolean(required=True)


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


# --- tenants (the floating-population office's tenancy linkage) -------------

class TenantRegistration(Schema):
    """A tenant of a registered tenancy, full identity: for the police."""
    tenant_id = fields.String(required=True)
    tenancy_id = fields.String(required=True)
    name = fields.String(required=True)
    id_number = fields.String(required=True, validate=validate.Length(equal=18))
    phone = fields.String(required=True)
    address = fields.Nested(AddressSchema, required=True)
    local_hukou = fields.Boolean(required=True)
    start_date = fields.Date(required=True)
    registered_at = fields.AwareDateTime(required=True)


class TenantHousingDeclaration(Schema):
    """Who rents in which flat: name, masked ID and flat only."""
    tenant_id = fields.String(required=True)
    tenancy_id = fields.String(required=True)
    name = fields.String(required=True)
    id_masked = fields.String(required=True, validate=validate.Regexp(r"^.{6}\*{8}.{4}$"))
    address = fields.Nested(AddressSchema, required=True)
    start_date = fields.Date(required=True)
    registered_at = fields.AwareDateTime(required=True)


class TenantHukouRecorded(Schema):
    """Whether a tenant has local hukou: for the committee's briefing alone."""
    tenant_id = fields.String(required=True)
    tenancy_id = fields.String(required=True)
    local_hukou = fields.Boolean(required=True)
    registered_at = fields.AwareDateTime(required=True)


class TenantCheckOpened(Schema):
    tenant_id = fields.String(required=True)
    tenancy_id = fields.String(required=True)
    opened_at = fields.AwareDateTime(required=True)


class TenantCheckCompleted(Schema):
    tenant_id = fields.String(required=True)
    tenancy_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(["cleared", "flagged"]))
    decided_at = fields.AwareDateTime(required=True)


class TenantAccessChanged(Schema):
    tenant_id = fields.String(required=True)
    tenancy_id = fields.String(required=True)
    access_id = fields.String(required=True)
    at = fields.AwareDateTime(required=True)


class TenancyEnded(Schema):
    tenancy_id = fields.String(required=True)
    tenant_ids = fields.List(fields.String(), required=True)
    address = fields.Nested(AddressSchema, required=True)
    ended_on = fields.Date(required=True)
    ended_at = fields.AwareDateTime(required=True)


TENANCY_PARTIES = (POLICE, PROPERTY)


class TenancyPartyOverdue(Schema):
    tenant_id = fields.String(required=True)
    tenancy_id = fields.String(required=True)
    party = fields.String(required=True, validate=validate.OneOf(TENANCY_PARTIES))
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
    EventSpec("flat_handover_recorded", DEVELOPER, (PROPERTY, COMMITTEE), FlatHandoverRecorded,
              description="The developer handed a relocation flat over to its allocated "
                          "household; the property company takes the household on, the "
                          "committee registers it."),
    EventSpec("warranty_repair_assigned", PROPERTY, (DEVELOPER,), WarrantyRepairAssigned,
              personal=("resident",),
              description="A resident's repair is under the flat's warranty; the developer "
                          "must accept it (urgent: leaks and structure) and resolve it, and "
                          "contacts the resident."),
    EventSpec("warranty_repair_accepted", DEVELOPER, (PROPERTY,), WarrantyRepairActed,
              description="The developer accepted a warranty repair."),
    EventSpec("warranty_repair_resolved", DEVELOPER, (PROPERTY,), WarrantyRepairActed,
              description="The developer resolved a warranty repair, with a note."),
    EventSpec("warranty_repair_overdue", PROPERTY, (DEVELOPER,), WarrantyRepairOverdue,
              description="The developer passed its accept or resolve limit on a warranty repair."),
    EventSpec("trace_requested", COMMITTEE, LINKED, TraceRequested,
              description="Staff asked where a linkage or case stands: each party looks up "
                          "its own part (records, journal, dead letters) until answer_by."),
    EventSpec("trace_part_provided", LINKED, (COMMITTEE,), TracePartProvided,
              description="One party's part of a trace: its records' state and actions, "
                          "when it published and handled each event, its retries and dead "
                          "letters; nothing about the person."),
    EventSpec("tenant_registered", FLOATING, (POLICE,), TenantRegistration,
              personal=("id_number", "phone"),
              description="The floating-population office registered a tenancy; the police "
                          "check each tenant's identity and risk, as a returnee's."),
    EventSpec("tenant_housing_declared", FLOATING, (PROPERTY, COMMITTEE), TenantHousingDeclaration,
              description="A tenant rents a flat; the property company holds the tenant's "
                          "access until the police clear, the committee registers the tenant."),
    EventSpec("tenant_hukou_recorded", FLOATING, (COMMITTEE,), TenantHukouRecorded,
              description="Whether a registered tenant has local hukou; the committee's "
                          "briefing counts its tenants local or not."),
    EventSpec("tenant_check_opened", POLICE, (FLOATING, COMMITTEE), TenantCheckOpened,
              description="The police have the tenant's check on their list."),
    EventSpec("tenant_check_completed", POLICE, (FLOATING, PROPERTY, COMMITTEE), TenantCheckCompleted,
              description="The police cleared or flagged the tenant."),
    EventSpec("tenant_access_held", PROPERTY, (FLOATING, COMMITTEE), TenantAccessChanged,
              description="The tenant's access is held until the police clear."),
    EventSpec("tenant_access_issued", PROPERTY, (FLOATING, COMMITTEE), TenantAccessChanged,
              description="The tenant's access was issued after the police cleared them."),
    EventSpec("tenant_access_refused", PROPERTY, (FLOATING, COMMITTEE), TenantAccessChanged,
              description="The tenant's access was refused because the police flagged them."),
    EventSpec("tenancy_ended", FLOATING, (PROPERTY, COMMITTEE), TenancyEnded,
              description="A tenancy ended; its tenants' access ends and the committee's "
                          "registry no longer counts them at the flat."),
    EventSpec("tenancy_party_overdue", FLOATING, TENANCY_PARTIES, TenancyPartyOverdue,
              addressed_by="party",
              description="A party passed its time limit on a tenant; addressed to it."),
] + CASE_SPECS + BRIEFING_SPECS)
