"""A list paged through in the console: each page found by where the one
before ended (the API's `next`), Previous by the cursors kept in the
address, so the browser's back and forward and a reload show the same page;
a place the list no longer knows leads to its first page, and a total the
API stopped counting shows as 10,000+."""
import re
import uuid
from datetime import datetime, timezone

from playwright.sync_api import expect
from pymongo import MongoClient

from tests.system import MONGO_URI


def rows_of(page):
    rows = page.locator("table.allocations tbody tr")
    return [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]


def showing(page, info, ids):
    """The page shows `info` in its pager and exactly the flats `ids`."""
    expect(page.locator(".pager-info")).to_have_text(info)
    expect(page.locator("table.allocations tbody tr")).to_have_count(len(ids))
    assert rows_of(page) == ids


def allocate(developer, building, rooms):
    for room in rooms:
        answer = developer.api("POST", "/api/v1/allocations", {
            "building": building, "unit": "1", "room": room, "household": ["住户" + room]})
        assert answer["status"] == 201, answer["body"]


def test_a_list_pages_forward_and_back_and_keeps_its_place(consoles):
    developer = consoles("developer")
    page = developer.sign_in("records-he")
    building = "pg" + uuid.uuid4().hex[:4]
    rooms = [str(101 + n) for n in range(7)]
    allocate(developer, building, rooms)
    flats = ["%s-1-%s" % (building, room) for room in rooms]  # the list's order

    developer.go("/allocations?building=%s&limit=3" % building)
    showing(page, "第 1–3 条，共 7 条", flats[:3])
    expect(page.locator("[data-action=previous-page]")).to_be_disabled()
    page.locator("[data-action=next-page]").click()
    showing(page, "第 4–6 条，共 7 条", flats[3:6])
    expect(page).to_have_url(re.compile(r"[?&]cursor="))
    page.locator("[data-action=next-page]").click()
    showing(page, "第 7–7 条，共 7 条", flats[6:])
    expect(page.locator("[data-action=next-page]")).to_be_disabled()
    developer.shot("last-page")

    page.locator("[data-action=previous-page]").click()
    showing(page, "第 4–6 条，共 7 条", flats[3:6])
    # The browser's own back and forward walk the same pages.
    page.go_back()
    showing(page, "第 7–7 条，共 7 条", flats[6:])
    page.go_back()
    showing(page, "第 4–6 条，共 7 条", flats[3:6])
    page.go_forward()
    showing(page, "第 7–7 条，共 7 条", flats[6:])
    # A reload is the same page, and Previous still knows the way back.
    page.reload()
    showing(page, "第 7–7 条，共 7 条", flats[6:])
    page.locator("[data-action=previous-page]").click()
    showing(page, "第 4–6 条，共 7 条", flats[3:6])
    page.locator("[data-action=previous-page]").click()
    showing(page, "第 1–3 条，共 7 条", flats[:3])
    expect(page.locator("[data-action=previous-page]")).to_be_disabled()
    assert "cursor=" not in page.url and "back=" not in page.url

    # A new filter starts at its first page, with the same page size.
    page.locator("[data-action=next-page]").click()
    showing(page, "第 4–6 条，共 7 条", flats[3:6])
    allocate(developer, building + "x", ["101"])
    filters = page.locator("form[data-form=allocation-filters]")
    filters.locator("input[name=building]").fill(building + "x")
    filters.locator("[data-action=search]").click()
    showing(page, "第 1–1 条，共 1 条", ["%sx-1-101" % building])
    assert "cursor=" not in page.url and "limit=3" in page.url


def test_a_place_the_list_does_not_know_leads_to_its_first_page(consoles):
    developer = consoles("developer")
    page = developer.sign_in("records-he")
    building = "pq" + uuid.uuid4().hex[:4]
    allocate(developer, building, ["101", "102", "103"])
    developer.go("/allocations?building=%s&limit=2&cursor=!!!&back=also-not-one" % building)
    expect(developer.notice()).to_contain_text("列表的这一页已无法找到")
    showing(page, "第 1–2 条，共 3 条", ["%s-1-101" % building, "%s-1-102" % building])
    assert "cursor=" not in page.url and "back=" not in page.url
    expect(page.locator("[data-action=previous-page]")).to_be_disabled()
    # Replaced, not added: back leaves the list rather than returning to it.
    page.locator("[data-action=next-page]").click()
    showing(page, "第 3–3 条，共 3 条", ["%s-1-103" % building])
    page.go_back()
    showing(page, "第 1–2 条，共 3 条", ["%s-1-101" % building, "%s-1-102" % building])
    expect(developer.notice()).to_have_count(0)


def test_a_total_past_ten_thousand_shows_as_ten_thousand_plus(consoles, system):
    """Made straight in the database: ten thousand flats through the API
    would take minutes."""
    building = "cap" + uuid.uuid4().hex[:4]
    now = datetime.now(timezone.utc)
    client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        client[system.db_prefix + "developer"]["allocations"].insert_many([
            {"_id": "%s-1-%05d" % (building, n), "building": building, "unit": "1",
             "room": "%05d" % n, "household": ["住户"], "handed_over": True, "updated_at": now}
            for n in range(10_001)])
    finally:
        client.close()
    developer = consoles("developer")
    page = developer.sign_in("records-he")
    developer.go("/allocations?building=%s" % building)
    expect(page.locator(".pager-info")).to_have_text("第 1–20 条，共 10,000+ 条")
    page.locator("[data-action=next-page]").click()
    expect(page.locator(".pager-info")).to_have_text("第 21–40 条，共 10,000+ 条")
    assert rows_of(page)[0] == "%s-1-00020" % building
    page.locator("[data-action=language]").click()
    expect(page.locator(".pager-info")).to_have_text("21–40 of 10,000+")
    developer.shot("capped-total")
