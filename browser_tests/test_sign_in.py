"""Signing in and out of a console, its two languages, and every screen of
every agency's console as each role sees it."""
import pytest
import requests
from playwright.sync_api import expect

from conftest import STAFF, add_user


def test_a_wrong_password_is_refused_and_the_right_one_signs_in_and_out(consoles, system):
    console = consoles("community_police")
    page = console.open()
    form = page.locator("form[data-form=sign-in]")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    form.locator("input[name=username]").fill("officer-zhao")
    form.locator("input[name=password]").fill("not the password")
    form.locator("button[data-action=sign-in]").click()
    expect(form.locator(".form-errors")).to_contain_text("用户名或密码错误")
    console.shot("wrong-password")

    console.sign_in("officer-zhao")
    expect(page.locator(".brand-agency")).to_have_text("社区民警")
    expect(page.locator(".who-user")).to_contain_text("民警")
    expect(page.locator("nav.menu a[data-nav='/checks']")).to_have_class("active")
    token = page.evaluate("JSON.parse(sessionStorage.getItem('linkage.console.session')).token")
    who = requests.get(system.url("community_police") + "/api/v1/session",
                       headers={"Authorization": "Bearer " + token}, timeout=10)
    assert who.status_code == 200 and who.json()["user"] == "officer-zhao"
    console.shot("signed-in")

    page.locator("[data-action=sign-out]").click()
    expect(page.locator("form[data-form=sign-in]")).to_be_visible()
    expect(console.notice()).to_contain_text("已退出")
    assert page.evaluate("sessionStorage.getItem('linkage.console.session')") is None
    refused = requests.get(system.url("community_police") + "/api/v1/checks",
                           headers={"Authorization": "Bearer " + token}, timeout=10)
    assert refused.status_code == 401


def test_an_empty_sign_in_shows_the_reasons_and_five_failures_lock_the_account(consoles, system, tmp_path):
    add_user(system, tmp_path, "developer", "records-zhou", "records")
    console = consoles("developer")
    page = console.open()
    form = page.locator("form[data-form=sign-in]")
    form.locator("button[data-action=sign-in]").click()
    expect(form.locator('.field-error[data-error-for="username"]')).to_contain_text("长度须为")
    expect(form.locator('.field-error[data-error-for="password"]')).to_contain_text("长度须为")
    form.locator("input[name=username]").fill("records-zhou")
    for attempt in range(5):
        form.locator("input[name=password]").fill("wrong password %d" % attempt)
        form.locator("button[data-action=sign-in]").click()
        expect(form.locator(".form-errors li")).to_be_visible()
        expect(form.locator("button[data-action=sign-in]")).to_be_enabled()
    form.locator("input[name=password]").fill("correct horse battery")
    form.locator("button[data-action=sign-in]").click()
    expect(form.locator(".form-errors")).to_contain_text("账号已锁定")
    expect(form.locator(".form-errors")).to_contain_text("秒后再试")
    console.shot("locked")


def test_the_console_speaks_chinese_by_default_and_english_on_request(consoles):
    console = consoles("neighborhood_committee")
    page = console.sign_in("desk-wang")
    expect(page.locator("nav.menu a[data-nav='/linkages']")).to_have_text("联动事项")
    page.locator("[data-action=language]").click()
    expect(page.locator("nav.menu a[data-nav='/linkages']")).to_have_text("Linkages")
    expect(page.locator("html")).to_have_attribute("lang", "en-GB")
    console.shot("english")
    page.reload()
    expect(page.locator("nav.menu a[data-nav='/linkages']")).to_have_text("Linkages")
    page.locator("[data-action=language]").click()
    expect(page.locator("nav.menu a[data-nav='/linkages']")).to_have_text("联动事项")
    keys = page.evaluate("""async () => {
        const i18n = await import("./js/i18n.js");
        return {zh: i18n.keys("zh"), en: i18n.keys("en")};
    }""")
    assert keys["zh"] == keys["en"], set(keys["zh"]) ^ set(keys["en"])


ROLES = sorted(STAFF.items(), key=lambda item: item[1])


@pytest.mark.parametrize("username, agency", [(user, agency) for user, (agency, role) in ROLES],
                         ids=["%s-%s" % (agency, role) for user, (agency, role) in ROLES])
def test_every_screen_a_role_has_renders(consoles, username, agency):
    console = consoles(agency)
    page = console.sign_in(username)
    links = page.locator("nav.menu a")
    routes = [links.nth(i).get_attribute("data-nav") for i in range(links.count())]
    assert routes, "no screen for %s" % username
    for route in routes:
        console.go(route)
        expect(page.locator("nav.menu a.active")).to_have_attribute("data-nav", route)
        expect(page.locator("main .loading")).to_have_count(0)
        expect(page.locator("main h1")).not_to_have_text("页面加载失败")
        console.shot(route.strip("/").replace("/", "-"))
