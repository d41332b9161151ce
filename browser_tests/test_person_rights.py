"""A person's rights on the committee's console (PIPL Arts. 44-47), a
supervisor's decisions: a person's export fills in as each of the five
parties answers; a wrong phone is corrected and the correction shows in the
linkage's history; an erasure shows each party's answer. A bad form shows
the server's reasons beside its fields; a desk clerk sees none of it."""
import time
import uuid

import pytest
import requests
from playwright.sync_api import expect
from pymongo import MongoClient

from tests.support import registration
from tests.system import MONGO_URI, System

from conftest import PASSWORD, Console, add_staff

COMMITTEE = "neighborhood_committee"
LINKED = ("community_police", "floating_population_office", "property_company", "developer")


def token(system, agency, username):
    response = requests.post(system.url(agency) + "/api/v1/session",
                             json={"username": username, "password": PASSWORD}, timeout=10)
    assert response.status_code == 201, response.text
    return {"Authorization": "Bearer " + response.json()["token"]}


def registered(system):
    """A non-local returnee registered at the desk (so all four parties
    hold a record), once every party has received it; (body, its linkage)."""
    headers = token(system, COMMITTEE, "desk-wang")
    body = registration(name="赵%s" % uuid.uuid4().hex[:3].upper(), building="9", unit="2", room="1101")
    response = requests.post(system.url(COMMITTEE) + "/api/v1/returnees", json=body, headers=headers, timeout=10)
    assert response.status_code == 201, response.text
    returnee_id = response.json()["id"]
    deadline = time.monotonic() + 30
    while True:
        linkage = requests.get(system.url(COMMITTEE) + "/api/v1/returnees/" + returnee_id,
                               headers=headers, timeout=10).json()  # a read by desk-wang, audited
        if all(linkage["parties"][party].get("acknowledged_at") for party in LINKED):
            return body, linkage
        assert time.monotonic() < deadline, linkage["parties"]
        time.sleep(0.3)


def test_a_supervisor_exports_a_person_and_every_party_answers(consoles, system):
    person, linkage = registered(system)
    committee = consoles(COMMITTEE)
    page = committee.sign_in("super-li")
    expect(page.locator('nav.menu a[data-nav="/people/exports"]')).to_be_visible()
    committee.go("/people/exports")
    form = page.locator("form[data-form=person-export]")

    # A bad ID number and no reason: the server's reasons beside the fields.
    form.locator("input[name=id_number]").fill(person["id_number"][:17] + "0"
                                               if person["id_number"][17] != "0" else person["id_number"][:17] + "1")
    form.locator("input[name=phone]").fill("12345")
    form.locator("[data-action=request-export]").click()
    expect(committee.notice()).to_contain_text("请按提示修改")
    expect(form.locator('.field-error[data-error-for="id_number"]')).to_contain_text("校验位不符")
    expect(form.locator('.field-error[data-error-for="reason"]')).to_contain_text("必填")
    expect(form.locator('.field-error[data-error-for="phone"]')).to_be_visible()
    committee.shot("export-form-errors")

    form.locator("input[name=phone]").fill("")  # optional: left out when blank
    form.locator("input[name=id_number]").fill(person["id_number"])
    form.locator("textarea[name=reason]").fill("本人到窗口申请查阅")
    form.locator("[data-action=request-export]").click()
    expect(committee.notice()).to_contain_text("已申请调取")
    expect(page.locator("main h1")).to_have_text("个人信息查阅复制")

    # The screen asks again by itself until every party has answered.
    export = page.locator(".export")
    expect(export).to_have_attribute("data-status", "complete", timeout=45_000)
    expect(page.locator(".chip-big[data-status=complete]")).to_be_visible()
    for party in (COMMITTEE,) + LINKED:
        part = page.locator('.export-party[data-party="%s"]' % party)
        expect(part).to_have_attribute("data-status", "answered")
        expect(part.locator(".chip[data-status=answered]")).to_be_visible()
        expect(part.locator(".export-record").first).to_be_visible()
        expect(part.locator(".export-record").first.locator("dl.facts")).to_contain_text("身份信息保留至")
    expect(page.locator(".export-party .legal-hold")).to_have_count(0)  # no party holds on this system
    ours = page.locator('.export-party[data-party="%s"]' % COMMITTEE)
    record = ours.locator('.export-record[data-record="linkages"]')
    expect(record).to_have_attribute("data-id", linkage["id"])
    expect(record.locator('table.kv tr[data-key="phone"] td')).to_have_text(person["phone"])
    expect(record.locator('table.kv tr[data-key="id_number"] td')).to_have_text(person["id_number"])
    expect(record.locator('table.kv tr[data-key="address.room"] td')).to_have_text("1101")
    expect(ours.locator("table.reads tbody tr", has_text="desk-wang").first).to_be_visible()
    police = page.locator('.export-party[data-party="community_police"] .export-record[data-record="checks"]')
    expect(police.locator('table.kv tr[data-key="name"] td')).to_have_text(person["name"])
    expect(page.locator(".export-party[data-party=developer] .export-record[data-record=housing_checks]")).to_be_visible()
    committee.shot("export-complete")

    # Print-friendly: the menu and the buttons are not printed.
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("[data-action=print]")).to_be_hidden()
    expect(ours).to_be_visible()
    committee.shot("export-print")
    page.emulate_media(media="screen")

    # In English too, every word from the catalogue.
    page.locator("[data-action=language]").click()
    expect(page.locator("main h1")).to_have_text("A person's export")
    expect(ours.locator(".chip[data-status=answered]")).to_have_text("Answered")
    expect(record.locator('table.kv tr[data-key="phone"] th')).to_contain_text("Mobile")


def test_a_supervisor_corrects_a_phone_then_erases_the_person_everywhere(consoles, system):
    person, linkage = registered(system)
    committee = consoles(COMMITTEE)
    page = committee.sign_in("super-li")
    committee.go("/linkages/" + linkage["id"])
    expect(page.locator("main h1")).to_have_text(person["name"])

    # A correction without a field or a reason: each reason beside its field.
    page.locator("[data-action=correct]").click()
    form = page.locator("form[data-form=correction]")
    form.locator("[data-action=confirm-correct]").click()
    expect(form.locator('.field-error[data-error-for="reason"]')).to_contain_text("必填")
    expect(form.locator('.field-error[data-error-for="phone"]')).to_contain_text("请填写要更正的姓名或手机号")
    # The phone that is registered already is nothing to correct.
    form.locator("input[name=phone]").fill(person["phone"])
    form.locator("textarea[name=reason]").fill("登记时手机号填错")
    form.locator("[data-action=confirm-correct]").click()
    expect(form.locator('.field-error[data-error-for="phone"]')).to_contain_text("与登记信息相同")
    committee.shot("correction-errors")

    new_phone = "137%08d" % (uuid.uuid4().int % 10 ** 8)
    form.locator("input[name=phone]").fill(new_phone)
    form.locator("[data-action=confirm-correct]").click()
    expect(committee.notice()).to_contain_text("已更正：手机号")
    expect(committee.notice()).to_contain_text("已通知：民警")
    history = page.locator("table.corrections tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("super-li")
    expect(history.first).to_contain_text("手机号")
    expect(history.first).to_contain_text("登记时手机号填错")
    expect(page.locator("dl.facts")).to_contain_text(new_phone)
    expect(page.locator('ol.timeline li[data-action="corrected"]')).to_be_visible()
    committee.shot("corrected")

    # Erasure: asked to confirm, with a reason.
    page.locator("[data-action=erase]").click()
    form = page.locator("form[data-form=erasure]")
    expect(form.locator(".error-lead")).to_contain_text("不可撤销")
    form.locator("[data-action=confirm-erase]").click()
    expect(form.locator('.field-error[data-error-for="reason"]')).to_contain_text("必填")
    form.locator("textarea[name=reason]").fill("本人申请删除个人信息")
    committee.shot("erasure-confirm")
    form.locator("[data-action=confirm-erase]").click()
    expect(committee.notice()).to_contain_text("已申请删除")
    erasure = page.locator("table.erasure")
    expect(erasure.locator('.chip[data-party="%s"]' % COMMITTEE)).to_have_attribute("data-status", "erased")
    for party in LINKED:
        committee.refresh_until(page.locator('table.erasure .chip[data-party="%s"][data-status="erased"]' % party))
    expect(page.locator("table.erasure tbody tr")).to_have_count(5)
    expect(page.locator("main h1")).not_to_have_text(person["name"])  # de-identified
    expect(page.locator("[data-action=correct]")).to_have_count(0)
    expect(page.locator("[data-action=erase]")).to_have_count(0)
    expect(page.locator("table.corrections tbody tr")).to_have_count(1)
    committee.shot("erased")


def test_a_desk_clerk_sees_none_of_the_rights(consoles, system):
    _, linkage = registered(system)
    committee = consoles(COMMITTEE)
    page = committee.sign_in("desk-wang")
    committee.go("/linkages/" + linkage["id"])
    expect(page.locator("table.parties")).to_be_visible()
    expect(page.locator("[data-action=correct]")).to_have_count(0)
    expect(page.locator("[data-action=erase]")).to_have_count(0)
    expect(page.locator('nav.menu a[data-nav="/people/exports"]')).to_have_count(0)
    committee.go("/people/exports")
    expect(page.locator("main h1")).to_have_text("您的角色无权使用这个页面")
    expect(page.locator("form[data-form=person-export]")).to_have_count(0)
    # The API refuses them too (the console hides what the server forbids).
    answer = committee.api("POST", "/api/v1/people/erasure", {"returnee_id": linkage["id"], "reason": "x"})
    assert answer["status"] == 403


HOLD = "法院保全令 2026-17：审结前保留"


class PoliceOnHold(System):
    """The police declare a legal hold (LEGAL_HOLD): they keep their record."""

    def env(self, service):
        env = super().env(service)
        if service == "community_police":
            env["LEGAL_HOLD"] = HOLD
        return env


@pytest.fixture(scope="module")
def held_system(tmp_path_factory):
    client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    with PoliceOnHold() as running:
        running.start()
        add_staff(running, tmp_path_factory.mktemp("held-passwords"))
        yield running
        running.drop_databases(client)
    client.close()


def test_a_party_under_a_legal_hold_shows_it_in_the_export_and_keeps_the_record_on_erasure(
        request, browser, held_system):
    person, linkage = registered(held_system)
    committee = Console(held_system, browser, COMMITTEE, request.node.name)
    try:
        page = committee.sign_in("super-li")
        committee.go("/people/exports")
        form = page.locator("form[data-form=person-export]")
        form.locator("input[name=id_number]").fill(person["id_number"])
        form.locator("textarea[name=reason]").fill("本人申请查阅")
        form.locator("[data-action=request-export]").click()
        expect(page.locator(".export")).to_have_attribute("data-status", "complete", timeout=45_000)
        expect(page.locator(".export-party[data-party=community_police] .legal-hold")).to_contain_text(HOLD)
        expect(page.locator(".export-party .legal-hold")).to_have_count(1)
        committee.shot("export-with-hold")

        committee.go("/linkages/" + linkage["id"])
        page.locator("[data-action=erase]").click()
        form = page.locator("form[data-form=erasure]")
        form.locator("textarea[name=reason]").fill("本人申请删除")
        form.locator("[data-action=confirm-erase]").click()
        expect(committee.notice()).to_contain_text("已申请删除")
        for party in LINKED:
            committee.refresh_until(page.locator(
                'table.erasure .chip[data-party="%s"]:not([data-status="pending"])' % party))
        held = page.locator("table.erasure tbody tr", has=page.locator('.chip[data-party="community_police"]'))
        expect(held.locator(".chip")).to_have_attribute("data-status", "held")
        expect(held).to_contain_text("依法保留")
        expect(held).to_contain_text(HOLD)
        for party in (COMMITTEE, "floating_population_office", "property_company", "developer"):
            expect(page.locator('table.erasure .chip[data-party="%s"]' % party)).to_have_attribute("data-status", "erased")
        committee.shot("erasure-with-hold")
    finally:
        problems = committee.problems
        committee.close()
    assert not problems, problems
