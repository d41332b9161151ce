from datetime import date, datetime, timezone

import pytest

from shared.catalogue import CATALOGUE, FullIdentityRegistration, HousingDeclaration
from shared.events import InvalidEvent
from shared.parties import DEVELOPER, PROPERTY

PAST_TENSE = {"registered", "declared", "opened", "completed", "recorded", "held", "issued",
              "refused", "checked", "overdue", "reported", "dispatched", "withdrawn", "requested",
              "changed", "accepted", "returned", "resolved", "counted", "corrected", "answered", "provided",
              "assigned", "ended", "published"}

REGISTRATION = {
    "returnee_id": "r1", "name": "Li Lei", "id_number": "11010519491231002X",
    "phone": "13800138000", "address": {"building": "3", "unit": "2", "room": "301"},
    "origin": "Wuhan", "arrival_date": date(2026, 11, 20), "local_hukou": False,
    "registered_at": datetime(2026, 11, 20, 8, tzinfo=timezone.utc),
}


def test_an_event_travels_in_its_envelope_and_loads_back():
    envelope = CATALOGUE.new_event("returnee_registered", REGISTRATION, "r1")
    assert set(envelope) == {"event_id", "event_type", "producer", "schema_version",
                             "occurred_at", "correlation_id", "payload"}
    assert envelope["producer"] == "neighborhood_committee"
    assert envelope["occurred_at"].endswith("Z")
    event = CATALOGUE.load(envelope)
    assert event.payload["address"]["room"] == "301"
    assert event.correlation_id == "r1"


def test_the_producer_cannot_write_an_invalid_payload():
    with pytest.raises(ValueError, match="id_number"):
        CATALOGUE.new_event("returnee_registered", dict(REGISTRATION, id_number=None), "r1")


def test_a_field_outside_the_schema_never_leaves_the_producer():
    housing = {key: REGISTRATION[key] for key in ("returnee_id", "name", "address",
                                                   "arrival_date", "registered_at")}
    housing.update(id_masked="110105********002X", id_number=REGISTRATION["id_number"],
                   phone=REGISTRATION["phone"])
    envelope = CATALOGUE.new_event("returnee_housing_declared", housing, "r1")
    assert "id_number" not in envelope["payload"]
    assert "phone" not in envelope["payload"]


def test_the_property_company_and_developer_get_no_full_identity_by_construction():
    for spec in CATALOGUE:
        if PROPERTY in spec.consumers or DEVELOPER in spec.consumers:
            names = set(spec.schema().fields)
            assert not names & {"id_number", "phone"}, spec.event_type
    assert "id_number" in FullIdentityRegistration().fields
    assert "id_number" not in HousingDeclaration().fields


@pytest.mark.parametrize("mutate, reason", [
    (lambda env: env.pop("event_id"), "event_id"),
    (lambda env: env.update(event_type="nothing_happened"), "not in the catalogue"),
    (lambda env: env.update(schema_version=7), "no schema version 7"),
    (lambda env: env["payload"].pop("name"), "name"),
])
def test_invalid_events_are_refused_with_a_reason(mutate, reason):
    envelope = CATALOGUE.new_event("returnee_registered", REGISTRATION, "r1")
    mutate(envelope)
    with pytest.raises(InvalidEvent, match=reason):
        CATALOGUE.load(envelope)


def test_every_event_is_a_past_tense_fact_with_consumers():
    for spec in CATALOGUE:
        assert spec.consumers, spec.event_type
        assert spec.event_type.split("_")[-1] in PAST_TENSE, spec.event_type
