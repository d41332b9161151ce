"""The trace in the committee's console: a desk clerk searches a returnee's
id and sees who holds it (the police, since they opened the check, waiting
for their decision), each of the five parties' answer and the timeline;
the linkage's screen leads there too. With the developer's service
stopped, the developer shows unreachable and the trace still answers. A
police officer's console has no trace."""
import time

import requests
from playwright.sync_api import expect

from tests.support import registration

from conftest import PASSWORD

COMMITTEE = "neighborhood_committee"
LINKED = ("community_police", "floating_population_office", "property_company", "developer")
ALL = (COMMITTEE,) + LINKED


def registered(system):
    """A non-local returnee every party has received; its id."""
    response = requests.post(system.url(COMMITTEE) + "/api/v1/session",
                             json={"username": "desk-wang", "password": PASSWORD}, timeout=10)
    headers = {"Authorization": "Bearer " + response.json()["token"]}
    body = registration(name="钱%s" % time.strftime("%S"), building="12", unit="1", room="601")
    response = requests.post(system.url(COMMITTEE) + "/api/v1/returnees", json=body, headers=headers,
                             timeout=10)
    assert response.status_code == 201, response.text
    returnee_id = response.json()["id"]
    deadline = time.monotonic() + 30
    while True:
        linkage = requests.get(system.url(COMMITTEE) + "/api/v1/returnees/" + returnee_id,
                               headers=headers, timeout=10).json()
        if all(linkage["parties"][party].get("acknowledged_at") for party in LINKED):
            return returnee_id, body
        assert time.monotonic() < deadline, linkage["parties"]
        time.sleep(0.3)


def test_a_clerk_traces_a_returnee_and_sees_who_holds_it(consoles, system):
    returnee_id, body = registered(system)
    committee = consoles(COMMITTEE)
    page = committee.sign_in("desk-wang")
    expect(page.locator('nav.menu a[data-nav="/trace"]')).to_be_visible()
    committee.go("/trace")
    form = page.locator("form[data-form=trace-search]")
    form.locator("input[name=id]").fill(returnee_id)
    form.locator("[data-action=search-trace]").click()

    holding = page.locator(".trace-holding")
    expect(holding).to_have_attribute("data-holder", "community_police")
    expect(holding.locator(".trace-now")).to_contain_text("社区民警")
    expect(holding.locator(".trace-now")).to_contain_text("起在手")
    expect(holding.locator(".trace-waiting")).to_contain_text("decision")
    expect(holding.locator(".trace-also li[data-party=property_company]")).to_be_visible()
    expect(page.locator("main h1")).to_have_text(body["name"])
    for party in ALL:
        part = page.locator('.trace-party[data-party="%s"]' % party)
        expect(part).to_have_attribute("data-status", "answered")
        expect(part).to_contain_text("已答复")
        expect(page.locator('.trace-timeline li[data-party="%s"]' % party).first).to_be_visible()
    expect(page.locator(".trace-timeline li").first).to_contain_text("登记")
    expect(page.locator('.trace-timeline li[data-source=event]').first).to_be_visible()
    # The person as the committee's list shows them: masked ID, never the full one.
    expect(page.locator(".trace")).to_contain_text(body["id_number"][:6] + "********")
    expect(page.locator(".trace")).not_to_contain_text(body["id_number"])
    expect(page.locator(".trace")).not_to_contain_text(body["phone"])
    committee.shot("trace")

    # The linkage's own screen leads to its trace.
    committee.go("/linkages/" + returnee_id)
    page.locator("[data-action=trace]").click()
    expect(page.locator(".trace")).to_have_attribute("data-id", returnee_id)

    # The developer's service stops: it shows unreachable, the trace still answers.
    system.stop("developer")
    try:
        page.locator("[data-action=refresh]").first.click()
        developer = page.locator('.trace-party[data-party="developer"]')
        expect(developer).to_have_attribute("data-status", "unreachable", timeout=30_000)
        expect(developer).to_contain_text("无法联系")
        expect(page.locator('.trace-party[data-party="community_police"]')).to_have_attribute(
            "data-status", "answered")
        committee.shot("trace-developer-unreachable")
    finally:
        system.start("developer")


def test_an_unknown_id_says_so_and_an_officer_has_no_trace(consoles, system):
    committee = consoles(COMMITTEE)
    page = committee.sign_in("desk-wang")
    committee.go("/trace/no-such-returnee")
    expect(page.locator("main")).to_contain_text("no returnee or case no-such-returnee")
    committee.shot("trace-unknown")
    police = consoles("community_police")
    page = police.sign_in("officer-zhao")
    expect(page.locator("nav.menu a")).not_to_have_count(0)
    expect(page.locator('nav.menu a[data-nav="/trace"]')).to_have_count(0)
