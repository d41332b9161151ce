"""The tenancies in the daily briefing (sources.Tenancies), on plain dicts
as the committee's registry of tenants keeps them (tenants.py): intake by
local / non-local, each party's counts, a late or long-waiting tenant named
by name, masked ID and flat only, the KPIs, and the monthly report."""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from services.neighborhood_committee import briefing, monthly
from services.neighborhood_committee.sources import SOURCES, Tenancies
from services.neighborhood_committee.tenants import refresh
from shared import joint, tenant_tasks
from shared.identity import make_id_number, mask_id
from shared.parties import POLICE, PROPERTY
from shared.settings import DEFAULT_TIME_LIMITS
from tests.unit.test_briefing import FakeRepository  # the briefing's fake of the repository, per source

EIGHT = time(8, 0)
ZONE = "Asia/Shanghai"
DAY = date(2026, 12, 2)
# 08:00 in Shanghai on DAY is midnight UTC: the period is 1 Dec, 00:00 to 24:00 UTC.
END = datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc)
NOW = END + timedelta(seconds=5)


def utc(day, hour, minute=0):
    return datetime(2026, 12 if day < 30 else 11, day, hour, minute, tzinfo=timezone.utc)


def tenant(tenant_id, name, registered_at, local_hukou, sequence, room="502"):
    """A tenant as the committee registers it from `tenant_housing_declared`."""
    tasks = tenant_tasks.new_tasks(registered_at, DEFAULT_TIME_LIMITS)
    return {"_id": tenant_id, "tenancy_id": tenant_id.split(".")[0], "name": name,
            "id_masked": mask_id(make_id_number("420106", date(1990, 3, 1), sequence)),
            "address": {"building": "5", "unit": "2", "room": room}, "flat_id": "5-2-%s" % room,
            "registered_at": registered_at, "local_hukou": local_hukou, "status": "active",
            "ended_at": None, "tasks": tasks, "next_due_at": joint.next_due_at(tasks),
            "closed_at": None}


def act(doc, event_type, at, **payload):
    party, status, done = tenant_tasks.party_update_for(event_type, payload)
    changed = tenant_tasks.progress(doc["tasks"][party], status, done, at)
    if changed:
        refresh(doc, at)
    return changed


@pytest.fixture
def documents():
    """- t1 (two tenants, 1 Dec 02:00): Chen Jing, non-local, cleared at 03:00 and
      given access at 03:05; Liu Yang, local, the police opened the check at 02:10
      and have not decided (limit 06:00: late 18 h), access held at 02:05.
    - t0 (30 Nov 20:00, before the period): Sun Li, non-local, nobody has acted
      (28 h waiting at both parties)."""
    chen = tenant("t1.1", "Chen Jing", utc(1, 2), False, 21)
    liu = tenant("t1.2", "Liu Yang", utc(1, 2), True, 22, room="502")
    for doc in (chen, liu):
        act(doc, "tenant_check_opened", utc(1, 2, 10))
        act(doc, "tenant_access_held", utc(1, 2, 5))
    act(chen, "tenant_check_completed", utc(1, 3), outcome="cleared")
    act(chen, "tenant_access_issued", utc(1, 3, 5))
    sun = tenant("t0.1", "Sun Li", utc(30, 20), False, 23, room="803")
    return {"registrations": [], "cases": [], "tenancies": [chen, liu, sun]}


def made(documents):
    return briefing.build(DAY, EIGHT, ZONE, NOW, documents, documents)


def test_tenancies_are_a_source_of_the_briefing():
    assert "tenancies" in [source.name for source in SOURCES]
    assert Tenancies.pending_check


def test_a_partys_word_is_recorded_once_and_a_stale_one_changes_nothing():
    doc = tenant("t9.1", "Zhou Qi", utc(1, 2), False, 31)
    assert act(doc, "tenant_check_completed", utc(1, 3), outcome="flagged")
    # the police's "opened" arriving after their decision, and a redelivery
    assert not act(doc, "tenant_check_opened", utc(1, 3, 1))
    assert not act(doc, "tenant_check_completed", utc(1, 3, 2), outcome="flagged")
    police = doc["tasks"][POLICE]
    assert (police["status"], police["done"], police["done_at"]) == ("flagged", True, utc(1, 3))
    assert doc["closed_at"] is None
    assert act(doc, "tenant_access_refused", utc(1, 3, 5))
    assert doc["closed_at"] == utc(1, 3, 5) and doc["next_due_at"] is None


def test_tasks_keep_the_joint_shape_and_the_offices_limits():
    doc = tenant("t9.1", "Zhou Qi", utc(1, 2), False, 31)
    for party in (POLICE, PROPERTY):
        task = doc["tasks"][party]
        assert set(task) >= {"status", "done", "acknowledged_at", "done_at", "due_at", "overdue",
                             "overdue_at"}
        assert task["due_at"] == utc(1, 2) + timedelta(seconds=DEFAULT_TIME_LIMITS[party])


def test_intake_counts_the_tenants_that_came_in_by_local_or_not(documents):
    assert made(documents)["intake"]["tenancies"] == {"total": 2,
                                                      "by_category": {"local": 1, "non_local": 1}}


def test_the_police_row_counts_received_and_done_and_names_the_late_tenant(documents):
    police = made(documents)["parties"][POLICE]
    assert police["by_source"]["tenancies"] == {"received": 2, "acknowledged": 2, "done": 1,
                                                "returned": 0}
    late = [(item["source"], item["name"]) for item in police["overdue"]]
    # Sun Li (waiting since 30 Nov 20:00) is the worst, then Liu Yang.
    assert late == [("tenancies", "Sun Li"), ("tenancies", "Liu Yang")]
    item = police["overdue"][1]
    assert item["flat"] == "5-2-502" and item["id_masked"].count("*") == 8
    assert item["late_seconds"] == int((NOW - utc(1, 6)).total_seconds())


def test_tenants_waiting_over_24_hours_are_pending_at_each_party(documents):
    pending = [(item["name"], item["party"], item["status"]) for item in made(documents)["pending"]]
    assert sorted(pending) == [("Sun Li", POLICE, "awaiting"), ("Sun Li", PROPERTY, "awaiting")]


def test_a_day_late_party_is_a_decision_naming_it(documents):
    found = [(item["name"], item["party"], item["topic"]) for item in made(documents)["decisions"]]
    assert ("Sun Li", POLICE, "long_overdue") in found
    assert all(name != "Chen Jing" for name, _, _ in found)


def test_kpis_count_the_tenants_tasks(documents):
    week = made(documents)["kpis"]["last_7_days"]["parties"]
    # Chen Jing: both parties done on time; Liu Yang and Sun Li: not done.
    assert week[POLICE]["received"] == 3 and week[POLICE]["finished_on_time"] == 1
    assert week[POLICE]["responded_on_time"] == 2
    assert week[PROPERTY]["finished"] == 1


def test_an_ended_tenancy_is_no_longer_late_or_pending(documents):
    sun = documents["tenancies"][2]
    sun.update(status="ended", ended_at=utc(1, 12), closed_at=utc(1, 12), next_due_at=None)
    built = made(documents)
    assert all(item["name"] != "Sun Li" for item in built["pending"] + built["red"])


def test_a_tenant_registered_before_tasks_were_kept_counts_in_intake_only():
    old = {"_id": "t8.1", "tenancy_id": "t8", "name": "Ma Lin", "id_masked": "420106********0011",
           "address": {"building": "5", "unit": "2", "room": "101"}, "registered_at": utc(1, 9),
           "status": "active", "ended_at": None}
    built = made({"registrations": [], "cases": [], "tenancies": [old]})
    assert built["intake"]["tenancies"] == {"total": 1, "by_category": {"unknown": 1}}
    assert built["parties"][POLICE]["by_source"]["tenancies"]["received"] == 0


def test_no_full_id_number_or_phone_in_the_briefing_or_a_partys_part(documents):
    built = made(documents)
    assert briefing.identities_in(built) == []
    assert briefing.identities_in(briefing.part_for(built, POLICE)) == []


def test_the_monthly_report_counts_tenancies_and_their_marked_late_tasks(documents):
    liu = documents["tenancies"][1]
    joint.mark(liu["tasks"][POLICE], utc(1, 6, 1))
    report = monthly.report(date(2026, 12, 1), ZONE, NOW, FakeRepository(documents))
    # Sun Li (30 Nov, 20:00 UTC) came in on 1 Dec at 04:00 in Shanghai.
    assert report["intake"]["tenancies"] == 3
    assert sum(row["intake"]["tenancies"] for row in report["days"]) == 3
    escalated = [(item["source"], item["name"], item["party"]) for item in report["escalated_open"]]
    assert ("tenancies", "Liu Yang", POLICE) in escalated
