"""The daily briefing end to end, with the five services as processes on a
clock set ahead (CLOCK_OFFSET_SECONDS, shared/clock.py) to 07:59:20 in
Shanghai two days from now, so 08:00 comes during the test:

- at start, the committee's timer makes the day before's briefing, which
  nobody made at its time: a missed day made up, once;
- a second committee replica starts; a scripted morning of registrations
  and cases happens before 08:00;
- at 08:00 the day's briefing is made, once between the two replicas, and
  each party gets its own part, once;
- its sections hold the scripted numbers; no full ID number or phone is in
  the briefing, its print view, the monthly report or any party's part;
- after a restart of the committee nothing is made or sent again, and
  POST makes an older missed day (201), then answers with it (200).
"""
import re
import subprocess
import time
from datetime import datetime, time as clock_time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from services.neighborhood_committee.briefing import identities_in
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY
from tests.support import Api, free_port, registration, wait_for
from tests.system import LOG_DIR, System, _linkage_command

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Asia/Shanghai")
DAY = (datetime.now(ZONE) + timedelta(days=2)).date()
DUE = datetime.combine(DAY, clock_time(8, 0), ZONE)
START_AT = DUE - timedelta(seconds=40)  # the morning takes about 10 s here


def metric(base_url, name, labels=""):
    text = requests.get(base_url + "/metrics", timeout=10).text
    found = re.search(r"^%s%s ([0-9.e+]+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(found.group(1)) if found else 0.0


class Replica:
    """A second committee process with the system's settings, on its own port."""

    def __init__(self, system):
        self.port = free_port()
        env = dict(system.env(COMMITTEE), HTTP_PORT=str(self.port))
        self.log = open(LOG_DIR / ("%s-committee-2.log" % system.vhost), "ab")
        self.process = subprocess.Popen(_linkage_command() + ["run", COMMITTEE], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.url = "http://127.0.0.1:%d" % self.port
        wait_for(self._healthy, "the second committee replica", timeout=60, interval=0.2)

    def _healthy(self):
        assert self.process.poll() is None, "the replica exited"
        try:
            return requests.get(self.url + "/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)
        self.log.close()


@pytest.fixture(scope="module")
def morning(mongo_client):
    offset = (START_AT - datetime.now(timezone.utc)).total_seconds()
    settings = {"CLOCK_OFFSET_SECONDS": offset, "BRIEFING_SCAN_SECONDS": 1,
                "LIMIT_COMMUNITY_POLICE_SECONDS": 3, "OVERDUE_SCAN_SECONDS": 1,
                "DOCUMENT_LOCKS": "database"}
    with System(**settings) as system:
        system.start()
        apis = {name: Api(url, name, user="%s-clerk" % name) for name, url in system.urls.items()}
        replica = Replica(system)
        try:
            yield script(system, apis, replica)
        finally:
            if replica.process.poll() is None:
                replica.stop()
            system.drop_databases(mongo_client)


def script(system, apis, replica):
    """The morning before 08:00: what the briefing must then count."""
    committee, police, prop, developer = apis[COMMITTEE], apis[POLICE], apis[PROPERTY], apis[DEVELOPER]
    missed = wait_for(lambda: _briefing(committee, DAY - timedelta(days=1)), "yesterday's briefing")
    assert developer.post("/api/v1/allocations", {"building": "9", "unit": "1", "room": "101",
                                                 "household": ["Li Lei"]}).status_code in (200, 201)
    # Wang Fang, not local, claims a flat the developer has no record of: a mismatch.
    wang = registration(name="Wang Fang", building="7", unit="1", room="502", local_hukou=False)
    li = registration(name="Li Lei", building="9", unit="1", room="101", local_hukou=True)
    ids = {}
    for person in (wang, li):
        response = committee.post("/api/v1/returnees", person)
        assert response.status_code == 201, response.text
        ids[person["name"]] = response.json()["id"]
    wait_for(lambda: police.get("/api/v1/checks/%s" % ids["Li Lei"]).status_code == 200, "Li Lei's check")
    decided = police.post("/api/v1/checks/%s/decision" % ids["Li Lei"],
                          {"outcome": "cleared", "note": "identity verified"})
    assert decided.status_code == 200, decided.text
    wait_for(lambda: _linkage(committee, ids["Li Lei"])["status"] == "closed", "Li Lei's linkage to close")
    # The police never act on Wang Fang: late after 3 s, and marked.
    wait_for(lambda: _linkage(committee, ids["Wang Fang"])["parties"][POLICE]["overdue"],
             "the police marked late on Wang Fang")
    wait_for(lambda: _linkage(committee, ids["Wang Fang"])["mismatch"], "the developer's mismatch")

    fire = prop.post("/api/v1/cases", {
        "category": "fire_lane_blocked", "description": "a van across the fire lane, call 13800001111",
        "location": {"building": "7", "spot": "fire lane, north side"}, "source": "resident",
        "reporter": {"name": "Han Mei", "phone": "13800001111"}})
    assert fire.status_code in (201, 202), fire.text
    leak = committee.post("/api/v1/cases", {
        "category": "water_leak", "description": "water through the ceiling of 7-1-402",
        "location": {"building": "7", "unit": "1", "spot": "4th floor"}, "source": "walking_inspection"})
    assert leak.status_code == 201, leak.text
    fire_id, leak_id = fire.json()["id"], leak.json()["id"]
    for case_id in (fire_id, leak_id):
        wait_for(lambda: _assigned(prop, case_id), "the property company's assignment")
    assert prop.post("/api/v1/cases/%s/accept" % fire_id).status_code == 200
    assert prop.post("/api/v1/cases/%s/return" % leak_id, {"reason": "the flat's own pipe"}).status_code == 200
    wait_for(lambda: committee.get("/api/v1/cases/%s" % leak_id).json()["status"] == "filed",
             "the leak back with the committee")
    wait_for(lambda: committee.get("/api/v1/cases/%s" % fire_id).json()["status"] == "in_progress",
             "the fire lane accepted")
    last = committee.get("/api/v1/cases/%s" % leak_id).json()["timeline"][-1]["at"]
    if datetime.fromisoformat(last) >= DUE:
        pytest.fail("the morning's script ran past 08:00 (a slow machine): its numbers would be "
                    "in the next day's briefing")
    return {"system": system, "apis": apis, "replica": replica, "ids": ids, "people": (wang, li),
            "fire": fire_id, "leak": leak_id, "missed": missed}


def _briefing(api, day):
    response = api.get("/api/v1/briefings/%s" % day.isoformat())
    return response.json() if response.status_code == 200 else None


def _linkage(api, returnee_id):
    return api.get("/api/v1/returnees/%s" % returnee_id).json()


def _assigned(api, case_id):
    items = api.get("/api/v1/cases", role="assigned", limit=500).json()["items"]
    return any(item["id"] == case_id for item in items)


@pytest.fixture(scope="module")
def today(morning):
    briefing = wait_for(lambda: _briefing(morning["apis"][COMMITTEE], DAY), "the 08:00 briefing",
                        timeout=120, interval=0.5)
    for party in LINKED:
        wait_for(lambda: morning["apis"][party].get("/api/v1/briefings/latest").json()
                 .get("briefing_date") == DAY.isoformat(), "%s's part" % party)
    return briefing


def test_a_missed_day_is_made_up_once_by_the_timer_when_the_committee_starts(morning):
    missed = morning["missed"]
    assert missed["generated_by"] == "timer"
    # made at start, a day after its time
    made_at = datetime.fromisoformat(missed["generated_at"])
    assert DUE - timedelta(minutes=5) < made_at < DUE
    # only the latest missed day: nothing for the day before it
    assert _briefing(morning["apis"][COMMITTEE], DAY - timedelta(days=2)) is None


def test_the_briefing_is_made_at_the_set_time(morning, today):
    assert today["generated_by"] == "timer"
    made_at = datetime.fromisoformat(today["generated_at"])
    assert DUE <= made_at < DUE + timedelta(seconds=30)
    assert datetime.fromisoformat(today["period"]["to"]) == DUE
    assert datetime.fromisoformat(today["period"]["from"]) == DUE - timedelta(hours=24)


def test_its_sections_hold_the_mornings_numbers(morning, today):
    ids = morning["ids"]
    assert today["intake"]["registrations"] == {"total": 2, "by_category": {"local": 1, "non_local": 1}}
    assert today["intake"]["cases"] == {"total": 2, "by_category": {"fire_lane_blocked": 1, "water_leak": 1}}
    police = today["parties"][POLICE]
    assert (police["received"], police["acknowledged"], police["done"], police["returned"]) == (2, 2, 1, 0)
    assert [(item["id"], item["party"]) for item in police["overdue"]] == [(ids["Wang Fang"], POLICE)]
    assert police["overdue"][0]["late_seconds"] > 0 and police["worst_late_seconds"] > 0
    prop = today["parties"][PROPERTY]
    assert prop["by_source"]["registrations"] == {"received": 2, "acknowledged": 2, "done": 1, "returned": 0}
    assert prop["by_source"]["cases"] == {"received": 2, "acknowledged": 1, "done": 0, "returned": 1}
    assert prop["overdue"] == []
    floating = today["parties"][FLOATING]
    assert (floating["received"], floating["done"]) == (1, 1)  # Li Lei is local
    developer = today["parties"][DEVELOPER]
    assert (developer["received"], developer["done"]) == (2, 2)
    red = {(item["kind"], item["party"], item["id"]) for item in today["red"]}
    assert red == {("overdue", POLICE, ids["Wang Fang"]), ("urgent", PROPERTY, morning["fire"]),
                   ("mismatch", DEVELOPER, ids["Wang Fang"])}
    assert today["pending"] == []  # nothing has waited 24 hours yet
    decisions = {(item["party"], item["id"]) for item in today["decisions"]}
    assert decisions == {(DEVELOPER, ids["Wang Fang"]), (COMMITTEE, morning["leak"])}
    week = today["kpis"]["last_7_days"]["parties"]
    assert (week[POLICE]["received"], week[POLICE]["finished"], week[POLICE]["resolution_rate"]) == (2, 1, 0.5)
    assert week[PROPERTY]["received"] == 4 and week[PROPERTY]["response_rate"] == 0.75
    for item in today["red"] + today["pending"] + today["decisions"] + [
            item for row in today["parties"].values() for item in row["overdue"]]:
        assert item["party"] in ALL


def test_made_once_between_two_replicas_and_each_party_told_once(morning, today):
    committee = morning["apis"][COMMITTEE]
    listed = committee.get("/api/v1/briefings", **{"from": DAY.isoformat(), "to": DAY.isoformat()}).json()
    assert listed["total"] == 1
    urls = (morning["system"].url(COMMITTEE), morning["replica"].url)
    made = sum(metric(url, "neighborhood_committee_briefings_total", '{by="timer"}') for url in urls)
    assert made == 2  # yesterday's at start, today's at 08:00: by one replica each time
    for party in LINKED:
        # A party stores its part, then counts it: its API can show it first.
        received = wait_for(lambda: (lambda n: n if n and n >= 2 else None)(metric(
            morning["system"].url(party), "%s_briefings_received_total" % party)),
            "%s's count of the two briefings" % party)
        assert received == 2


def test_each_party_sees_its_own_part_only(morning, today):
    ids = morning["ids"]
    parts = {party: morning["apis"][party].get("/api/v1/briefings/latest").json() for party in LINKED}
    for party, part in parts.items():
        assert part["briefing_date"] == DAY.isoformat() and part["party"] == party
        for item in part["overdue"] + part["red"] + part["pending"] + part["decisions"]:
            assert item["party"] == party
    assert [item["id"] for item in parts[POLICE]["overdue"]] == [ids["Wang Fang"]]
    assert parts[POLICE]["overdue"][0]["id_masked"].count("*") == 8
    assert [item["kind"] for item in parts[PROPERTY]["red"]] == ["urgent"]
    assert [item["id"] for item in parts[DEVELOPER]["decisions"]] == [ids["Wang Fang"]]
    assert morning["fire"] not in str(parts[POLICE]) and ids["Wang Fang"] not in str(parts[PROPERTY]["red"])


def test_no_full_id_number_or_phone_anywhere_in_it(morning, today):
    committee = morning["apis"][COMMITTEE]
    month = DAY.strftime("%Y-%m")
    texts = {
        "briefing": committee.get("/api/v1/briefings/%s" % DAY).text,
        "print": committee.get("/api/v1/briefings/%s/print" % DAY).text,
        "list": committee.get("/api/v1/briefings").text,
        "monthly": committee.get("/api/v1/reports/monthly/%s" % month).text,
        "monthly print": committee.get("/api/v1/reports/monthly/%s/print" % month).text,
    }
    texts.update({party: morning["apis"][party].get("/api/v1/briefings/latest").text for party in LINKED})
    known = [value for person in morning["people"] for value in (person["id_number"], person["phone"])]
    known += ["13800001111", "Han Mei"]
    for name, text in texts.items():
        assert identities_in(text) == [], name
        assert not [value for value in known if value in text], name
    # the same check on the same text finds a number planted in it
    planted = texts["print"].replace("</body>", morning["people"][0]["id_number"] + "</body>")
    assert identities_in(planted) == [("$", "id_number")]


def test_the_print_view_and_the_monthly_report(morning, today):
    committee = morning["apis"][COMMITTEE]
    page = committee.get("/api/v1/briefings/%s/print" % DAY)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "五方联动每日简报" in page.text and "size: A4" in page.text and "Wang Fang" in page.text
    report = committee.get("/api/v1/reports/monthly/%s" % DAY.strftime("%Y-%m")).json()
    assert report["intake"] == {"registrations": 2, "cases": 2, "tenancies": 0}
    morning_row = next(row for row in report["days"] if row["date"] == DAY.isoformat())
    assert morning_row["intake"] == {"registrations": 2, "cases": 2, "tenancies": 0}
    assert morning_row["finished"][DEVELOPER] == 2
    escalated = {(item["kind"], item["party"]) for item in report["escalated_open"]}
    assert ("overdue", POLICE) in escalated
    printed = committee.get("/api/v1/reports/monthly/%s/print" % DAY.strftime("%Y-%m")).text
    assert printed.count("<svg") == 2 and "每日登记与事件数" in printed and "各方按时办结率" in printed


def test_a_post_makes_an_older_missed_day_once_and_refuses_one_not_due(morning, today):
    committee = morning["apis"][COMMITTEE]
    older = (DAY - timedelta(days=2)).isoformat()
    made = committee.post("/api/v1/briefings", {"date": older})
    assert made.status_code == 201, made.text
    assert made.json()["generated_by"] == "%s-clerk" % COMMITTEE
    # what came in on DAY's morning, after that day's period, is not in it (open or not)
    assert made.json()["red"] == [] and made.json()["decisions"] == []
    assert all(row["overdue"] == [] for row in made.json()["parties"].values())
    again = committee.post("/api/v1/briefings", {"date": older})
    assert again.status_code == 200 and again.json()["generated_at"] == made.json()["generated_at"]
    ahead = committee.post("/api/v1/briefings", {"date": (DAY + timedelta(days=1)).isoformat()})
    assert ahead.status_code == 422 and [e["field"] for e in ahead.json()["errors"]] == ["date"]
    for path in ("/api/v1/briefings/yesterday", "/api/v1/reports/monthly/2026-13"):
        assert committee.get(path).status_code == 422


def test_after_a_restart_nothing_is_made_or_sent_again(morning, today):
    system = morning["system"]
    # Every briefing made so far (an earlier test's POST among them) has reached every party.
    made = morning["apis"][COMMITTEE].get("/api/v1/briefings").json()["total"]
    for party in LINKED:
        wait_for(lambda: metric(system.url(party), "%s_briefings_received_total" % party) == made,
                 "%s to hold every briefing made" % party)
    morning["replica"].stop()
    system.stop(COMMITTEE)
    system.start(COMMITTEE)
    committee = morning["apis"][COMMITTEE]
    wait_for(lambda: "neighborhood_committee_briefings_total" in requests.get(
        system.url(COMMITTEE) + "/metrics", timeout=10).text, "the restarted committee's metrics")
    time.sleep(3)  # three timer passes, each of which finds the day's briefing made
    assert metric(system.url(COMMITTEE), "neighborhood_committee_briefings_total", '{by="timer"}') == 0
    assert _briefing(committee, DAY)["generated_at"] == today["generated_at"]
    for party in LINKED:
        assert metric(system.url(party), "%s_briefings_received_total" % party) == made
        assert morning["apis"][party].get("/api/v1/briefings/latest").json()["generated_at"] == \
            today["generated_at"]
