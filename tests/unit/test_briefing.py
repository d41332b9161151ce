"""The daily briefing's rules, on plain dicts with a clock the test sets: when
one is due, what each section holds for a scripted day, what each party is
told, and that no full ID number or phone gets into one."""
import json
from datetime import date, datetime, time, timedelta, timezone
from xml.etree import ElementTree

import pytest

from services.neighborhood_committee import briefing, cases, charts, domain, monthly, routing
from services.neighborhood_committee.sources import SOURCES
from shared.identity import make_id_number, mask_id
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY
from shared.settings import DEFAULT_TIME_LIMITS

EIGHT = time(8, 0)
ZONE = "Asia/Shanghai"
DAY = date(2026, 12, 2)
# 08:00 in Shanghai on DAY is midnight UTC: the period is 1 Dec, 00:00 to 24:00 UTC.
END = datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc)
NOW = END + timedelta(seconds=5)
TABLE = routing.load({})


def utc(day, hour, minute=0):
    return datetime(2026, 12 if day < 30 else 11, day, hour, minute, tzinfo=timezone.utc)


# --- when ----------------------------------------------------------------------------

@pytest.mark.parametrize("local,due", [
    ("2026-12-02T07:59:59+08:00", date(2026, 12, 1)),
    ("2026-12-02T08:00:00+08:00", date(2026, 12, 2)),
    ("2026-12-02T23:59:00+08:00", date(2026, 12, 2)),
    ("2026-12-03T00:30:00+08:00", date(2026, 12, 2)),
])
def test_a_day_is_due_from_its_briefing_time_in_the_briefing_zone(local, due):
    assert briefing.due_date(datetime.fromisoformat(local), EIGHT, ZONE) == due


def test_the_period_is_the_24_hours_before_the_briefing_time():
    assert briefing.period(DAY, EIGHT, ZONE) == (END - timedelta(hours=24), END)
    start, end = briefing.period(DAY, time(9, 30), "Europe/Berlin")
    assert end == datetime(2026, 12, 2, 8, 30, tzinfo=timezone.utc) and end - start == timedelta(hours=24)


# --- a scripted day --------------------------------------------------------------------

def registration(name, registered_at, local_hukou=False, building="7", room="502", sequence=1):
    body = {"name": name, "id_number": make_id_number("420106", date(1988, 5, 17), sequence),
            "phone": "139%08d" % sequence, "address": {"building": building, "unit": "1", "room": room},
            "origin": "Wuhan", "arrival_date": registered_at.date(), "local_hukou": local_hukou}
    linkage = domain.new_linkage("r-%s" % name.split()[0].lower(), body, registered_at,
                                 DEFAULT_TIME_LIMITS, None, None)
    linkage["version"] = 1
    return linkage


def act(linkage, party, status, done, at):
    for path, value in domain.apply_party_update(linkage, party, status, done, at).items():
        target = linkage
        *parents, leaf = path.split(".")
        for part in parents:
            target = target[part]
        target[leaf] = value


def case(case_id, category, reported_at, building="7"):
    body = {"category": category, "description": "call 13912345678 about it",
            "location": {"building": building, "unit": "2", "spot": "north stairwell"},
            "source": "resident", "reporter": {"name": "Han Mei", "phone": "13800001111"}}
    filed, _ = cases.new_case(case_id, body, PROPERTY, "steward", reported_at, TABLE)
    return filed


def party_event(filed, party, at, **extra):
    payload = {"case_id": filed["_id"], "party": party, "round": filed["assignments"][party]["round"],
               "at": at, "by": "%s-u" % party}
    payload.update(extra)
    return payload


@pytest.fixture
def day():
    """1 Dec (UTC): three registrations and three cases, and one older registration.

    - Wang Fang, non-local, 02:00: the floating office and the developer done, the
      property company holds the pass, the police have not acted (limit 4 h: late 18 h).
    - Li Lei, local, 10:00: everyone done by 10:05; the linkage closed.
    - Zhao Min, non-local, 30 Nov 20:00 (before the period): the police still
      pending (28 h), the developer found the flat allocated to another (a mismatch).
    - a blocked fire lane, 03:00: urgent, the property company accepted at 03:10 and
      has not resolved it (resolve limit 05:00: late 19 h).
    - a water leak, 04:00: the property company returned it twice; with the committee.
    - a noise complaint, 06:00: the committee accepted and resolved it on time.
    """
    wang = registration("Wang Fang", utc(1, 2), sequence=11)
    for party, status, done in ((FLOATING, "registered", True), (DEVELOPER, "matched", True),
                                (PROPERTY, "held", False)):
        act(wang, party, status, done, utc(1, 2, 1))
    li = registration("Li Lei", utc(1, 10), local_hukou=True, building="9", room="101", sequence=12)
    for party, status in ((POLICE, "cleared"), (PROPERTY, "issued"), (DEVELOPER, "matched")):
        act(li, party, status, True, utc(1, 10, 5))
    zhao = registration("Zhao Min", utc(30, 20), building="7", room="803", sequence=13)
    act(zhao, POLICE, "pending", False, utc(30, 20, 1))
    act(zhao, FLOATING, "registered", True, utc(30, 20, 1))
    act(zhao, PROPERTY, "held", False, utc(30, 20, 1))
    act(zhao, DEVELOPER, "allocated_to_other", True, utc(30, 20, 1))

    fire = case("fire", "fire_lane_blocked", utc(1, 3))
    cases.record_accepted(fire, party_event(fire, PROPERTY, utc(1, 3, 10)), utc(1, 3, 10))
    leak = case("leak", "water_leak", utc(1, 4))
    cases.record_returned(leak, party_event(leak, PROPERTY, utc(1, 4, 5), reason="not ours"), utc(1, 4, 5))
    cases.dispatch(leak, [PROPERTY], utc(1, 4, 10), TABLE, by="desk-1")
    cases.record_returned(leak, party_event(leak, PROPERTY, utc(1, 4, 20), reason="still not ours"),
                          utc(1, 4, 20))
    noise = case("noise", "noise", utc(1, 6))
    cases.record_accepted(noise, party_event(noise, COMMITTEE, utc(1, 6, 30)), utc(1, 6, 30))
    cases.record_resolved(noise, party_event(noise, COMMITTEE, utc(1, 7), note="talked to both",
                                             accepted_at=utc(1, 6, 30)), utc(1, 7))
    documents = {"registrations": [wang, li, zhao], "cases": [fire, leak, noise], "tenancies": []}
    return documents


def made(documents):
    return briefing.build(DAY, EIGHT, ZONE, NOW, documents, documents)


def test_intake_counts_what_came_in_in_the_period_by_source_and_category(day):
    intake = made(day)["intake"]
    assert intake["registrations"] == {"total": 2, "by_category": {"local": 1, "non_local": 1}}
    assert intake["cases"] == {"total": 3, "by_category": {"fire_lane_blocked": 1, "noise": 1,
                                                            "water_leak": 1}}


def test_each_party_has_its_counts_and_its_late_items_worst_first(day):
    parties = made(day)["parties"]
    police = parties[POLICE]
    # Wang Fang and Li Lei came in today; Zhao Min's task was received the day before.
    assert (police["received"], police["acknowledged"], police["done"], police["returned"]) == (2, 1, 1, 0)
    # Late now: Zhao Min (due 30 Nov 24:00: 24 h) before Wang Fang (due 06:00: 18 h).
    assert [(item["name"], item["late_seconds"]) for item in police["overdue"]] == [
        ("Zhao Min", 24 * 3600 + 5), ("Wang Fang", 18 * 3600 + 5)]
    prop = parties[PROPERTY]
    # registrations: Wang Fang, Li Lei; cases: the fire lane, the leak twice
    assert prop["by_source"]["registrations"] == {"received": 2, "acknowledged": 2, "done": 1, "returned": 0}
    assert prop["by_source"]["cases"] == {"received": 3, "acknowledged": 1, "done": 0, "returned": 2}
    # Late: Zhao Min's pass (24 h), the fire lane's resolve limit (05:00: 19 h), Wang Fang's pass (18 h).
    assert [(item["source"], item.get("name") or item["category"], item["late_seconds"])
            for item in prop["overdue"]] == [
        ("registrations", "Zhao Min", 24 * 3600 + 5), ("cases", "fire_lane_blocked", 19 * 3600 + 5),
        ("registrations", "Wang Fang", 18 * 3600 + 5)]
    committee = parties[COMMITTEE]
    assert (committee["received"], committee["acknowledged"], committee["done"]) == (1, 1, 1)
    assert committee["overdue"] == []
    assert parties[FLOATING]["received"] == 1 and parties[FLOATING]["done"] == 1  # Li Lei is local


def test_every_late_or_red_item_names_exactly_one_party(day):
    made_ = made(day)
    for item in made_["red"] + made_["pending"] + made_["decisions"]:
        assert item["party"] in ALL
    kinds = [(item["kind"], item["party"], item["id"]) for item in made_["red"]]
    assert ("urgent", PROPERTY, "fire") in kinds
    assert ("returned_twice", COMMITTEE, "leak") in kinds
    assert ("mismatch", DEVELOPER, "r-zhao") in kinds
    assert [kind for kind in kinds if kind[0] == "overdue"] == [
        ("overdue", POLICE, "r-zhao"), ("overdue", PROPERTY, "r-zhao"), ("overdue", PROPERTY, "fire"),
        ("overdue", POLICE, "r-wang"), ("overdue", PROPERTY, "r-wang")]


def test_pending_lists_registrations_waiting_at_a_party_over_24_hours(day):
    pending = made(day)["pending"]
    assert [(item["name"], item["party"], item["pending_hours"]) for item in pending] == [
        ("Zhao Min", POLICE, 28.0), ("Zhao Min", PROPERTY, 28.0)]


def test_decisions_each_name_one_party(day):
    decisions = {(item["id"], item["party"]) for item in made(day)["decisions"]}
    assert decisions == {("leak", COMMITTEE), ("r-zhao", DEVELOPER), ("r-zhao", POLICE),
                         ("r-zhao", PROPERTY)}


def test_kpis_over_the_last_7_days_and_the_month_so_far(day):
    week = made(day)["kpis"]["last_7_days"]
    police = week["parties"][POLICE]
    # Zhao Min, Wang Fang, Li Lei: acknowledged in time twice (Zhao Min, Li Lei), done once, in time.
    assert (police["received"], police["responded_on_time"], police["finished"],
            police["finished_on_time"]) == (3, 2, 1, 1)
    assert police["response_rate"] == 0.6667 and police["on_time_rate"] == 1.0
    assert police["resolution_rate"] == 0.3333 and police["satisfaction_rate"] is None
    committee = week["parties"][COMMITTEE]
    assert (committee["received"], committee["finished_on_time"], committee["on_time_rate"]) == (1, 1, 1.0)
    # The month so far starts 1 Dec 00:00 in Shanghai (30 Nov 16:00 UTC): Zhao Min is in it.
    month = made(day)["kpis"]["month_to_date"]
    assert month["from"] == datetime(2026, 11, 30, 16, tzinfo=timezone.utc)
    assert month["parties"][POLICE]["received"] == 3


def test_a_party_is_told_its_own_items_only(day):
    made_ = made(day)
    for party in LINKED:
        part = briefing.part_for(made_, party)
        listed = part["overdue"] + part["red"] + part["pending"] + part["decisions"]
        assert all(item["party"] == party for item in listed)
    police = briefing.part_for(made_, POLICE)
    assert {item["id"] for item in police["overdue"]} == {"r-zhao", "r-wang"}
    assert "fire" not in json.dumps(police, default=str)


# --- no identities ---------------------------------------------------------------------

def test_no_full_id_number_or_phone_in_a_briefing_or_any_party_part(day):
    made_ = made(day)
    text = json.dumps(made_, default=str)
    for doc in day["registrations"]:
        assert doc["id_number"] not in text and doc["phone"] not in text
    assert mask_id(day["registrations"][0]["id_number"]) in text  # Wang Fang, late at the police
    assert "13912345678" not in text and "13800001111" not in text and "Han Mei" not in text
    assert briefing.identities_in(made_) == []
    for party in LINKED:
        assert briefing.identities_in(briefing.part_for(made_, party)) == []


def test_the_identity_check_finds_a_planted_id_number_or_phone(day):
    """The check above can fail: it finds either one wherever it is planted."""
    made_ = made(day)
    id_number = day["registrations"][0]["id_number"]
    planted = json.loads(json.dumps(made_, default=str))
    planted["red"][0]["detail"] = "ID %s" % id_number
    planted["parties"][POLICE]["overdue"][1]["name"] = "call 13912345678"
    assert briefing.identities_in(planted) == [
        ("$.parties.community_police.overdue[1].name", "phone"), ("$.red[0].detail", "id_number")]
    # a number in a longer run of digits is neither
    assert briefing.identities_in({"n": "9" + id_number + "9", "m": "913912345678"}) == []


def test_a_phone_typed_into_a_place_is_masked_and_a_leak_stops_the_briefing(day):
    day["cases"][0]["location"]["spot"] = "by the gate, call 13912345678"
    made_ = made(day)
    assert "139****5678" in json.dumps(made_, default=str)
    assert briefing.identities_in(made_) == []
    # A number where nothing masks it (here a category, a key of the intake) stops it.
    day["cases"][1]["category"] = day["registrations"][0]["id_number"]
    with pytest.raises(briefing.IdentityLeak):
        made(day)


# --- the monthly report's charts --------------------------------------------------------

class FakeRepository:
    def __init__(self, documents):
        self.documents = documents

    def came_in(self, start, end):
        return {name: [doc for doc in docs if start <= doc[source.opened_at] < end]
                for source in SOURCES for name, docs in [(source.name, self.documents[source.name])]}

    def finished(self, start, end):
        return {source.name: [] for source in SOURCES}

    def open_items(self, before):
        return {source.name: [doc for doc in self.documents[source.name]
                              if source.is_open(doc) and doc[source.opened_at] < before]
                for source in SOURCES}


def test_the_monthly_report_compares_with_the_month_before_and_draws_two_charts(day):
    report = monthly.report(date(2026, 12, 1), ZONE, NOW, FakeRepository(day))
    # Months are local: Zhao Min (30 Nov, 20:00 UTC) registered on 1 Dec at 04:00 in Shanghai.
    assert report["intake"] == {"registrations": 3, "cases": 3, "tenancies": 0}
    assert report["intake_previous"] == {"registrations": 0, "cases": 0, "tenancies": 0}
    assert report["parties"][POLICE]["month"]["received"] == 3
    assert report["parties"][POLICE]["previous"]["received"] == 0
    assert report["parties"][POLICE]["change"]["on_time_rate"] is None
    assert report["top_locations"][:2] == [{"source": "cases", "key": "7", "count": 3, "previous": 0},
                                           {"source": "registrations", "key": "7", "count": 2, "previous": 0}]
    first = report["days"][0]
    assert first["date"] == "2026-12-01" and first["intake"] == {"registrations": 3, "cases": 3, "tenancies": 0}
    assert first["on_time"][COMMITTEE] == 1.0 and first["on_time"][POLICE] == 1.0
    assert len(report["days"]) == 31
    assert {(item["kind"], item["party"], item["id"]) for item in report["escalated_open"]} >= {
        ("returned_twice", COMMITTEE, "leak")}
    for svg in (charts.daily_intake(report["days"], ["registrations", "cases"], {}),
                charts.on_time_rates(report["days"], list(ALL), {})):
        tree = ElementTree.fromstring(svg)  # well-formed
        assert tree.tag.endswith("svg")
    bars = ElementTree.fromstring(charts.daily_intake(report["days"], ["registrations", "cases"], {}))
    assert len([node for node in bars.iter() if node.get("class") == "bar"]) == 2


# --- settings ---------------------------------------------------------------------------

def test_briefing_settings_and_the_test_clock_refused_in_production():
    from shared.settings import InsecureConfiguration, Settings
    settings = Settings.from_config(COMMITTEE, {})
    assert (settings.briefing_time, settings.briefing_tz) == (time(8, 0), "Asia/Shanghai")
    settings = Settings.from_config(COMMITTEE, {"BRIEFING_TIME": "07:30", "BRIEFING_TZ": "Europe/Berlin"})
    assert (settings.briefing_time, settings.briefing_tz) == (time(7, 30), "Europe/Berlin")
    for bad in ({"BRIEFING_TIME": "8 am"}, {"BRIEFING_TZ": "Mars/Olympus"}):
        with pytest.raises(ValueError):
            Settings.from_config(COMMITTEE, bad)
    with pytest.raises(InsecureConfiguration, match="CLOCK_OFFSET_SECONDS"):
        Settings.from_config(COMMITTEE, {"LINKAGE_ENV": "production", "CLOCK_OFFSET_SECONDS": "3600",
                                         "LINKAGE_SECRET": "x" * 40})


def test_the_print_view_is_in_chinese_and_names_people_by_masked_id_only(day):
    from services.neighborhood_committee import printing
    from shared.briefing_events import BriefingSchema
    page = printing.briefing_page(BriefingSchema().dump(made(day)))
    assert "size: A4" in page and "五方联动每日简报 · 2026-12-02" in page
    assert "消防通道堵塞" in page and "fire_lane_blocked" not in page
    assert "各方均已退回，确定主办单位" in page and "核实房屋分配，确认该户归属" in page
    assert mask_id(day["registrations"][0]["id_number"]) in page
    assert briefing.identities_in(page) == []
    assert [h for h in ("<h2>一、", "<h2>二、", "<h2>三、", "<h2>四、", "<h2>五、", "<h2>六、") if h not in page] == []
