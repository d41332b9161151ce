"""The daily briefing and the monthly report in Chromium: the print views
(the briefing laid out for A4, the month with its two SVG charts) render
to screenshots that are not empty; the committee's console lists the
briefings, shows one, makes a missed day's and shows the month; each
party's console shows its own part of the latest briefing."""
import time
from datetime import date, timedelta

import requests
from playwright.sync_api import expect

from tests.support import registration

from conftest import PASSWORD, SCREENSHOTS

COMMITTEE = "neighborhood_committee"
OWN = {"community_police": "officer-zhao", "floating_population_office": "registrar-sun",
       "property_company": "steward-chen", "developer": "records-he"}


def headers(system, agency, username):
    response = requests.post(system.url(agency) + "/api/v1/session",
                             json={"username": username, "password": PASSWORD}, timeout=10)
    assert response.status_code == 201, response.text
    return {"Authorization": "Bearer " + response.json()["token"]}


def latest_day(system):
    """The day's briefing, which the committee's timer made at start."""
    listed = requests.get(system.url(COMMITTEE) + "/api/v1/briefings",
                          headers=headers(system, COMMITTEE, "desk-wang"), timeout=10).json()
    assert listed["items"], listed
    return listed["items"][0]["date"]


def rendered(browser, html, name):
    """`html` in a tab of its own (no console around it): the page's screenshot."""
    page = browser.new_page(viewport={"width": 800, "height": 1100}, locale="zh-CN")
    try:
        page.set_content(html, wait_until="load")
        SCREENSHOTS.mkdir(exist_ok=True)
        shot = page.screenshot(path=str(SCREENSHOTS / ("print--%s.png" % name)), full_page=True)
        charts = []
        for index in range(page.locator("svg").count()):
            svg = page.locator("svg").nth(index)
            box = svg.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 150, box
            charts.append(svg.screenshot(path=str(SCREENSHOTS / ("print--%s-chart-%d.png" % (name, index)))))
        return page.locator("h1").inner_text(), shot, charts
    finally:
        page.close()


def this_months_work(system, auth):
    """A registration and a case this month, so the month's charts have a bar and a point."""
    body = registration(name="钱%s" % date.today().strftime("%d"), building="5", unit="1", room="301")
    response = requests.post(system.url(COMMITTEE) + "/api/v1/returnees", json=body, headers=auth, timeout=10)
    assert response.status_code == 201, response.text
    linkage = system.url(COMMITTEE) + "/api/v1/returnees/" + response.json()["id"]
    deadline = time.monotonic() + 30
    while not requests.get(linkage, headers=auth, timeout=10).json()["parties"]["developer"]["done"]:
        assert time.monotonic() < deadline, "the developer's check did not come back"
        time.sleep(0.3)
    response = requests.post(system.url(COMMITTEE) + "/api/v1/cases", headers=auth, timeout=10, json={
        "category": "garbage_overflow", "description": "垃圾分类点满溢", "source": "walking_inspection",
        "location": {"building": "5", "spot": "北侧垃圾分类点"}})
    assert response.status_code == 201, response.text


def test_the_print_views_and_the_monthly_charts_render_in_chromium(system, browser):
    day = latest_day(system)
    auth = headers(system, COMMITTEE, "super-li")
    this_months_work(system, auth)
    html = requests.get(system.url(COMMITTEE) + "/api/v1/briefings/%s/print" % day, headers=auth, timeout=10)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    title, shot, charts = rendered(browser, html.text, "briefing")
    assert title == "五方联动每日简报 · %s" % day
    assert len(shot) > 10_000 and charts == []
    month = requests.get(system.url(COMMITTEE) + "/api/v1/reports/monthly/%s/print" % day[:7],
                         headers=auth, timeout=10)
    title, shot, charts = rendered(browser, month.text, "monthly")
    assert title == "五方联席会议月报 · %s" % day[:7]
    assert len(shot) > 10_000
    assert len(charts) == 2 and all(len(chart) > 2_000 for chart in charts)


def test_the_committee_console_lists_shows_and_makes_briefings_and_shows_the_month(system, consoles):
    day = latest_day(system)
    committee = consoles(COMMITTEE)
    page = committee.sign_in("super-li")
    committee.go("/briefings")
    row = page.locator('table.briefings tbody tr[data-id="%s"]' % day)
    expect(row).to_be_visible()
    committee.shot("list")
    row.click()
    expect(page.locator(".print-view h2")).to_have_text("五方联动每日简报 · %s" % day)
    expect(page.locator(".print-view h3")).to_have_count(6)
    committee.shot("briefing")

    # A day nobody made (the system was down): made by hand, once.
    missed = (date.fromisoformat(day) - timedelta(days=3)).isoformat()
    committee.go("/briefings")
    form = page.locator("form[data-form=make-briefing]")
    form.locator("input[name=date]").fill(missed)
    form.locator("[data-action=make-briefing]").click()
    expect(committee.notice()).to_contain_text("%s 的简报已生成" % missed)
    expect(page.locator(".print-view h2")).to_have_text("五方联动每日简报 · %s" % missed)
    committee.go("/briefings")
    form = page.locator("form[data-form=make-briefing]")
    form.locator("input[name=date]").fill(missed)
    form.locator("[data-action=make-briefing]").click()
    expect(committee.notice()).to_contain_text("%s 的简报此前已生成" % missed)

    committee.go("/reports/monthly?month=%s" % day[:7])
    expect(page.locator(".print-view h2")).to_have_text("五方联席会议月报 · %s" % day[:7])
    expect(page.locator(".print-view figure svg")).to_have_count(2)
    box = page.locator("#chart-on-time svg").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 100
    committee.shot("monthly")


def test_a_desk_clerk_reads_briefings_but_does_not_make_them(system, consoles):
    desk = consoles(COMMITTEE)
    page = desk.sign_in("desk-wang")
    desk.go("/briefings")
    expect(page.locator("table.briefings tbody tr").first).to_be_visible()
    expect(page.locator("form[data-form=make-briefing]")).to_have_count(0)


def test_each_party_sees_its_own_part_of_the_latest_briefing(system, consoles):
    day = latest_day(system)
    for agency, username in OWN.items():
        console = consoles(agency)
        page = console.sign_in(username)
        expect(page.locator('nav.menu a[data-nav="/briefing"]')).to_be_visible()
        console.go("/briefing")
        expect(page.locator(".screen-head h1")).to_contain_text("本单位简报")
        expect(page.locator(".screen-head h1")).to_contain_text(day.replace("-", "/"))
        expect(page.locator("table.briefing-kpis tbody tr")).to_have_count(2)
        console.shot("own-briefing")
