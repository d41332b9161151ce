"""A returnee's linkage through the consoles of all five parties: the
developer records the flat, the committee registers a non-local returnee
through its form, the police clear her in their queue, and the committee
sees every party done and the linkage closed; a bad form shows each
field's reason beside the field and registers nothing."""
import random
from datetime import date

import requests
from playwright.sync_api import expect

from shared.identity import make_id_number
from tests.support import auth

from conftest import PASSWORD


def fill(form, values):
    for name, value in values.items():
        control = form.locator('[name="%s"]' % name)
        if control.evaluate("node => node.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def token(system, agency, username):
    response = requests.post(system.url(agency) + "/api/v1/session",
                             json={"username": username, "password": PASSWORD}, timeout=10)
    assert response.status_code == 201, response.text
    return {"Authorization": "Bearer " + response.json()["token"]}


def test_a_non_local_returnee_is_registered_cleared_by_the_police_and_the_linkage_closes(consoles, system):
    name, flat = "王芳", {"address.building": "7", "address.unit": "1", "address.room": "502"}
    id_number = make_id_number("420106", date(1988, 5, 17), random.randint(0, 999))

    # The developer records who is entitled to the flat.
    developer = consoles("developer")
    page = developer.sign_in("records-he")
    developer.go("/allocations")
    form = page.locator("form[data-form=allocation]")
    fill(form, {"building": "7", "unit": "1", "room": "502", "household": "王芳\n陈杰"})
    form.locator("[data-action=save-allocation]").click()
    expect(developer.notice()).to_contain_text("7-1-502")
    expect(page.locator("table.allocations")).to_contain_text("王芳、陈杰")

    # The committee registers her through the form.
    committee = consoles("neighborhood_committee")
    page = committee.sign_in("desk-wang")
    committee.go("/linkages/new")
    form = page.locator("form[data-form=register]")
    fill(form, dict(flat, **{"name": name, "id_number": id_number, "phone": "13912345678",
                              "origin": "湖北武汉", "arrival_date": date.today().isoformat(),
                              "local_hukou": "false"}))
    committee.shot("register-form")
    form.locator("[data-action=register]").click()
    expect(committee.notice()).to_contain_text("已登记 王芳")
    expect(page.locator("main h1")).to_have_text(name)
    expect(page.locator(".chip-big[data-status=open]")).to_be_visible()
    returnee_id = page.evaluate("decodeURIComponent(location.hash.split('/').pop())")
    committee.shot("registered")

    # The police see the full identity in their queue; a decision without a
    # note is refused beside the note, then she is cleared.
    police = consoles("community_police")
    page = police.sign_in("officer-zhao")
    row = police.refresh_until(page.locator("table.checks tbody tr", has_text=id_number))
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("13912345678")
    row.locator("[data-action=clear]").click()
    expect(row.locator('.field-error[data-error-for="note"]')).not_to_be_empty()
    police.shot("note-required")
    row.locator('input[name="note"]').fill("身份已核实")
    row.locator("[data-action=clear]").click()
    expect(police.notice()).to_contain_text("已核查通过：王芳")
    expect(page.locator("table.checks tbody tr", has_text=id_number)).to_have_count(0)
    police.shot("cleared")
    audit = requests.get(system.url("community_police") + "/api/v1/audit",  # an auditor's machine token
                         headers=auth("community_police", roles=["auditor"]), timeout=10).json()
    assert returnee_id in [record.get("returnee_id") for record in audit["items"]]

    # The committee sees every party done and the linkage closed.
    page = committee.page
    committee.refresh_until(page.locator(".chip-big[data-status=closed]"))
    for party, status in (("community_police", "cleared"), ("property_company", "issued"),
                          ("floating_population_office", "registered"), ("developer", "matched")):
        expect(page.locator('table.parties .chip[data-party="%s"]' % party)).to_have_attribute("data-status", status)
    timeline = page.locator("ol.timeline")
    for action in ("registered", "acknowledged", "done", "dispatched", "closed"):
        expect(timeline.locator('li[data-action="%s"]' % action).first).to_be_visible()
    expect(timeline.locator('li[data-action="done"]')).to_have_count(4)
    committee.shot("closed-with-timeline")
    committee.go("/linkages")
    page.locator("form[data-form=linkage-filters] select[name=status]").select_option("closed")
    row = page.locator("table.linkages tbody tr", has_text=name)
    expect(row.locator(".chip[data-party]")).to_have_count(4)
    expect(row.locator(".chip[data-status=closed]")).to_be_visible()
    committee.shot("closed-list")

    # The floating-population office and the developer see their part.
    office = consoles("floating_population_office")
    page = office.sign_in("registrar-sun")
    expect(page.locator("table.registrations tbody tr", has_text=id_number)).to_contain_text("已登记")
    office.shot("registrations")
    page = developer.page
    developer.go("/housing-checks")
    expect(page.locator("table.housing-checks tbody tr", has_text=name).locator(".chip").first).to_have_attribute("data-status", "matched")
    developer.shot("housing-checks")

    # The gate guard looks her up by flat, then by name: let in.
    gate = consoles("property_company")
    page = gate.sign_in("gate-2")
    box = page.locator("form[data-form=gate] input[name=q]")
    box.fill("7-1-502")
    box.press("Enter")
    card = page.locator(".gate-card", has_text=name)
    expect(card).to_have_attribute("data-status", "issued")
    expect(card).to_contain_text("可以放行")
    gate.shot("gate-by-flat")
    box = page.locator("form[data-form=gate] input[name=q]")
    box.fill(name)
    box.press("Enter")
    expect(page.locator(".gate-card", has_text="7-1-502")).to_have_attribute("data-status", "issued")


def test_a_bad_registration_shows_every_fields_reason_beside_it_and_registers_nothing(consoles, system):
    headers = token(system, "neighborhood_committee", "desk-wang")
    before = requests.get(system.url("neighborhood_committee") + "/api/v1/returnees", params={"status": "open"},
                          headers=headers, timeout=10).json()["total"]
    committee = consoles("neighborhood_committee")
    page = committee.sign_in("desk-wang")
    committee.go("/linkages/new")
    form = page.locator("form[data-form=register]")
    fill(form, {"id_number": "420106198805173219", "phone": "1391234567", "address.building": "7",
                "address.unit": "1", "origin": "Wuhan", "arrival_date": "2031-01-01"})
    form.locator("[data-action=register]").click()
    expect(committee.notice()).to_contain_text("请按提示修改")

    # The server's own answer to the same body: every field it names shows
    # its reason beside that field, and no other field does.
    body = {"id_number": "420106198805173219", "phone": "1391234567",
            "address": {"building": "7", "unit": "1"}, "origin": "Wuhan", "arrival_date": "2031-01-01"}
    answer = requests.post(system.url("neighborhood_committee") + "/api/v1/returnees", json=body,
                           headers=headers, timeout=10)
    assert answer.status_code == 422
    expected = {error["field"] for error in answer.json()["errors"]}
    assert expected >= {"name", "id_number", "phone", "address.room", "arrival_date", "local_hukou"}
    for field in expected:
        slot = form.locator('.field-error[data-error-for="%s"]' % field)
        expect(slot).not_to_be_empty()
        expect(form.locator('.field[data-field="%s"]' % field)).to_have_class("field invalid")
    shown = form.locator(".field.invalid")
    assert {shown.nth(i).get_attribute("data-field") for i in range(shown.count())} == expected
    expect(form.locator('.field-error[data-error-for="id_number"]')).to_contain_text("校验位不符")
    expect(form.locator('.field-error[data-error-for="address.room"]')).to_contain_text("必填")
    expect(form.locator('.field-error[data-error-for="arrival_date"]')).to_contain_text("不能晚于今天")
    committee.shot("every-reason-beside-its-field")
    after = requests.get(system.url("neighborhood_committee") + "/api/v1/returnees", params={"status": "open"},
                         headers=headers, timeout=10).json()["total"]
    assert after == before
