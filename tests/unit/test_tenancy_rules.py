"""The tenancy's rules with numbers and its joint work, plain Python
(services/floating_population_office/tenancy.py), and the property company's
occupant watch (services/property_company/tenants.py)."""
from datetime import date, datetime, timedelta, timezone

import pytest

from services.floating_population_office import tenancy as domain
from services.property_company.tenants import name_key, unregistered_case_id, unregistered_report
from shared.parties import POLICE, PROPERTY
from shared.settings import Settings

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
LIMITS = {POLICE: 3600, PROPERTY: 7200}


def body(start=date(2026, 11, 29), end=None, tenants=2):
    return {"flat": {"building": "9", "unit": "2", "room": "1203"}, "landlord": "Zhou Ming",
            "rooms": 1, "start_date": start, "end_date": end,
            "tenants": [{"name": "T%d" % n, "id_number": "11010519491231002X",
                         "phone": "1381234567%d" % n, "local_hukou": n == 0}
                        for n in range(tenants)]}


def new(**kwargs):
    made = body(**kwargs)
    return domain.new_tenancy("tn", made, ["tn.%d" % n for n in range(len(made["tenants"]))],
                              T0, LIMITS, 3)


def test_a_tenancy_keeps_identities_apart_from_what_other_parties_may_see():
    tenancy = new()
    assert tenancy["flat_id"] == "9-2-1203"
    assert all("id_number" not in t and "phone" not in t for t in tenancy["tenants"])
    assert [i["phone"] for i in tenancy["identities"]] == ["13812345670", "13812345671"]
    assert tenancy["tenants"][0]["id_masked"] == "110105********002X"
    assert tenancy["next_due_at"] == T0 + timedelta(seconds=3600)


@pytest.mark.parametrize("start, late", [
    (date(2026, 11, 30), False), (date(2026, 11, 27), False),  # the third day after the start
    (date(2026, 11, 26), True), (date(2026, 12, 5), False)])
def test_a_tenancy_must_be_registered_within_the_days_of_its_start(start, late):
    assert domain.registered_late(start, T0, 3) is late
    assert domain.registered_late(start, T0, 365) is False


def test_more_than_the_tenants_per_room_is_crowded():
    assert not domain.crowded(2, 1, 2)
    assert domain.crowded(3, 1, 2)
    assert not domain.crowded(6, 3, 2) and domain.crowded(7, 3, 2)
    assert domain.crowded(2, 1, 1)


def test_the_permit_cutoff_is_the_days_before_today():
    assert domain.permit_cutoff(date(2026, 11, 30), 180) == date(2026, 6, 3)


def test_an_end_date_ends_the_tenancy_at_the_end_of_that_day():
    assert domain.end_due(date(2026, 12, 31)) == datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert domain.end_due(None) is None
    assert new(end=date(2026, 12, 31))["end_due"] == datetime(2027, 1, 1, tzinfo=timezone.utc)


def test_the_checks_close_when_every_party_is_done_for_every_tenant():
    tenancy = new()
    for tenant_id in ("tn.0", "tn.1"):
        assert domain.apply_party_update(tenancy, tenant_id, POLICE, "pending", False, T0)
        assert not domain.apply_party_update(tenancy, tenant_id, POLICE, "pending", False, T0)
    assert domain.apply_party_update(tenancy, "tn.0", POLICE, "cleared", True, T0)
    assert domain.apply_party_update(tenancy, "tn.0", PROPERTY, "issued", True, T0)
    assert tenancy["checks"] == "open"
    assert tenancy["next_due_at"] == T0 + timedelta(seconds=3600)  # tn.1's police limit
    # A late "pending" after the decision is stale: done stays done.
    assert not domain.apply_party_update(tenancy, "tn.0", POLICE, "pending", False, T0)
    assert domain.apply_party_update(tenancy, "tn.1", POLICE, "flagged", True, T0)
    assert domain.apply_party_update(tenancy, "tn.1", PROPERTY, "refused", True, T0)
    assert tenancy["checks"] == "closed" and tenancy["checks_closed_at"] == T0
    assert tenancy["next_due_at"] is None
    assert not domain.apply_party_update(tenancy, "tn.9", POLICE, "pending", False, T0)


def test_a_late_party_is_marked_once_per_tenant_and_the_due_key_moves_on():
    tenancy = new()
    later = T0 + timedelta(seconds=3601)
    assert domain.to_mark(tenancy, later) == [("tn.0", POLICE), ("tn.1", POLICE)]
    assert domain.mark(tenancy, "tn.0", POLICE, later) == T0 + timedelta(seconds=3600)
    assert domain.mark(tenancy, "tn.0", POLICE, later) is None
    domain.mark(tenancy, "tn.1", POLICE, later)
    assert domain.to_mark(tenancy, later) == []
    assert tenancy["next_due_at"] == T0 + timedelta(seconds=7200)  # the property company's


def test_an_ended_tenancy_has_nothing_due():
    tenancy = new()
    domain.end(tenancy, date(2026, 12, 1), "registrar", T0, "moved out")
    assert tenancy["status"] == "ended" and tenancy["ended_on"] == "2026-12-01"
    assert tenancy["next_due_at"] is None and tenancy["end_due"] is None
    assert domain.to_mark(tenancy, T0 + timedelta(days=1)) == []


def test_an_occupant_is_matched_by_name_whatever_its_case_and_spacing():
    assert name_key("  Liu   Yang ") == name_key("liu yang")
    assert name_key("Liu Yang") != name_key("Liu Yan")


def test_an_unregistered_occupant_is_one_case_naming_the_flat():
    occupant = {"_id": "o1", "name": "Gao Feng", "flat_id": "32-1-402", "seen_at": T0,
                "flat": {"building": "32", "unit": "1", "room": "402"}}
    report = unregistered_report(occupant, 3)
    assert report["category"] == "unregistered_tenant"
    assert report["location"] == {"building": "32", "unit": "1", "room": "402", "spot": None}
    assert "Gao Feng" in report["description"] and "32-1-402" in report["description"]
    assert unregistered_case_id("o1") == unregistered_case_id("o1") != unregistered_case_id("o2")


def test_the_tenancy_settings_have_their_defaults_and_refuse_nonsense():
    settings = Settings.from_config("floating_population_office", {})
    assert (settings.tenancy_registration_days, settings.tenants_per_room,
            settings.residence_permit_days) == (3.0, 2, 180.0)
    short = Settings.from_config("property_company", {"TENANCY_REGISTRATION_DAYS": "0.0001"})
    assert short.tenancy_registration_days == 0.0001
    with pytest.raises(ValueError, match="TENANTS_PER_ROOM"):
        Settings.from_config("floating_population_office", {"TENANTS_PER_ROOM": "0"})
