"""De-identification of a finished document (shared/retention.py), pure."""
import os
from datetime import datetime, timedelta, timezone

import pytest

from shared.personal import Keyring
from shared.retention import Identity, days, deidentified_name, deidentify, finished_day, mask_phone

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
KEYRING = Keyring((("k1", os.urandom(32)),), os.urandom(32))


@pytest.mark.parametrize("name, expected", [
    ("王芳", "王某"), ("欧阳娜娜", "欧阳某"), ("司马 光", "司马某"), ("Wang Fang", "W. Fang"),
    ("Keyed Once", "K. Once"), ("Enc Non-Local", "E. Non-Local"), ("Madonna", "M."),
    ("  Li  Lei ", "L. Lei"), ("", ""),
])
def test_a_name_keeps_its_surname_and_the_given_names_initial(name, expected):
    assert deidentified_name(name) == expected


def test_a_phone_keeps_its_first_three_and_last_four_digits():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345") == "*****"  # not a mobile number: nothing of it kept


def test_a_document_loses_its_identity_and_keeps_its_blind_indexes():
    plain = {"_id": "r1", "name": "王芳", "id_number": "11010519491231002X", "phone": "13812345678",
             "address": {"building": "3"}, "status": "closed",
             "notice": {"text": "王芳 arrives at 3-1-101"}}
    stored = dict(plain, id_number=KEYRING.encrypt(plain["id_number"], "id_number"),
                  phone=KEYRING.encrypt(plain["phone"], "phone"))
    identity = Identity(id_numbers=("id_number",), phones=("phone",), texts=("notice.text",))
    done = deidentify(stored, plain, identity, KEYRING, NOW)
    assert done["name"] == "王某"
    assert done["id_number"] == "110105********002X"
    assert done["id_number_index"] == KEYRING.blind_index("11010519491231002x")
    assert done["phone"] == "138****5678" and done["phone_index"] == KEYRING.blind_index("13812345678")
    assert done["notice"]["text"] == "王某 arrives at 3-1-101"
    assert done["address"] == {"building": "3"} and done["status"] == "closed"
    assert done["deidentified_at"] == NOW
    assert "王芳" not in repr(done) and "13812345678" not in repr(done)


def test_a_reporter_object_is_reduced_and_a_second_pass_changes_nothing():
    plain = {"_id": "c1", "reporter": {"name": "Wang Fang", "phone": "13912345678"}}
    stored = dict(plain, reporter=KEYRING.encrypt(plain["reporter"], "reporter"))
    identity = Identity(names=(), people=("reporter",))
    done = deidentify(stored, plain, identity, KEYRING, NOW)
    assert done["reporter"] == {"name": "W. Fang", "phone": "139****5678",
                                "phone_index": KEYRING.blind_index("13912345678")}
    again = deidentify(dict(done), dict(done), identity, KEYRING, datetime.now(timezone.utc))
    assert again == done


def test_a_document_without_a_reporter_is_only_marked():
    done = deidentify({"_id": "c2", "reporter": None}, {"_id": "c2", "reporter": None},
                      Identity(names=(), people=("reporter",)), KEYRING, NOW)
    assert done == {"_id": "c2", "reporter": None, "deidentified_at": NOW}


def test_finished_days_are_utc_days():
    assert finished_day(datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)) == "2026-11-30"
    assert finished_day(datetime(2026, 12, 1, 1, 0, tzinfo=timezone(timedelta(hours=8)))) == "2026-11-30"
    assert days("2026-11-29", "2026-12-01") == ["2026-11-29", "2026-11-30", "2026-12-01"]
    assert days("2026-12-01", "2026-11-29") == []


def test_a_group_of_people_is_reduced_each_one():
    """A tenancy's tenants (names) and their identities (encrypted together)."""
    tenants = [{"tenant_id": "t.1", "name": "Liu Yang", "id_masked": "510107********0314"},
               {"tenant_id": "t.2", "name": "马丽", "id_masked": "110105********0121"}]
    identities = [{"tenant_id": "t.1", "id_number": "510107199503140314", "phone": "13712345678"},
                  {"tenant_id": "t.2", "id_number": "110105199007020121", "phone": "13698765432"}]
    plain = {"_id": "t", "landlord": "Zhou Ming", "tenants": tenants, "identities": identities}
    stored = dict(plain, identities=KEYRING.encrypt(identities, "identities"))
    identity = Identity(names=("landlord",), groups=("tenants", "identities"))
    done = deidentify(stored, plain, identity, KEYRING, NOW)
    assert done["landlord"] == "Z. Ming"
    assert [t["name"] for t in done["tenants"]] == ["L. Yang", "马某"]
    assert done["tenants"][0]["id_masked"] == "510107********0314"
    assert done["identities"][0] == {
        "tenant_id": "t.1", "id_number": "510107********0314", "phone": "137****5678",
        "id_number_index": KEYRING.blind_index("510107199503140314"),
        "phone_index": KEYRING.blind_index("13712345678")}
    assert "13698765432" not in repr(done) and "Liu Yang" not in repr(done)


def test_a_reports_items_have_their_names_reduced_at_any_depth_and_keep_their_counts():
    briefing = {
        "_id": "2026-11-30",
        "parties": {"community_police": {"received": 4, "overdue": [
            {"id": "r1", "name": "王芳", "id_masked": "110101********1234", "flat": "3-2-301"}]}},
        "red": [{"id": "c1", "kind": "urgent", "name": None, "detail": {"place": "7, fire lane"}}],
        "pending": [{"id": "r2", "name": "Wang Fang", "party": "developer"}],
        "kpis": {"total": {"received": 12}},
    }
    identity = Identity(names=(), named=("parties", "red", "pending"))
    deidentify(briefing, dict(briefing), identity, KEYRING, NOW)
    police = briefing["parties"]["community_police"]
    assert police["overdue"][0]["name"] == "王某" and police["received"] == 4
    assert police["overdue"][0]["id_masked"] == "110101********1234"
    assert briefing["pending"][0]["name"] == "W. Fang"
    assert briefing["red"][0]["name"] is None and briefing["red"][0]["detail"]["place"] == "7, fire lane"
    assert briefing["kpis"] == {"total": {"received": 12}} and briefing["deidentified_at"] == NOW
