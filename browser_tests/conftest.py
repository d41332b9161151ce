"""Fixtures of the browser tests: the five services as processes (as in
tests/e2e), staff accounts made with `linkage users add`, and Debian's
Chromium driven by Playwright.

Kept out of tests/ on purpose: tests/conftest.py monkey-patches everything
with eventlet, under which Playwright hangs; nothing here imports eventlet.
Every test saves screenshots under browser_tests/screenshots/ (git-ignored)
for a reviewer to look at the screens.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from pymongo import MongoClient

from tests.system import MONGO_URI, System

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "correct horse battery"

# username -> (agency, role): the staff these tests sign in as.
STAFF = {
    "desk-wang": ("neighborhood_committee", "desk"),
    "super-li": ("neighborhood_committee", "supervisor"),
    "officer-zhao": ("community_police", "officer"),
    "registrar-sun": ("floating_population_office", "registrar"),
    "steward-chen": ("property_company", "steward"),
    "gate-2": ("property_company", "guard"),
    "records-he": ("developer", "records"),
    "warranty-guo": ("developer", "warranty"),
}

expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    """The five services, each serving its console at /console/."""
    client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    client.admin.command("ping")
    with System() as running:
        running.start()
        add_staff(running, tmp_path_factory.mktemp("passwords"))
        yield running
        running.drop_databases(client)
    client.close()


def add_staff(system, folder):
    for username, (agency, role) in STAFF.items():
        add_user(system, folder, agency, username, role)


def add_user(system, folder, agency, username, role):
    """`linkage users add`, as an administrator makes an account."""
    password_file = folder / "password"
    password_file.write_text(PASSWORD + "\n")
    linkage = os.path.join(os.path.dirname(sys.executable), "linkage")
    env = dict(os.environ, DB_PREFIX=system.db_prefix, MONGO_URI=MONGO_URI)
    result = subprocess.run([linkage, "users", "add", agency, username, "--role", role,
                             "--password-file", str(password_file)],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session", autouse=True)
def not_monkey_patched():
    """Playwright hangs under eventlet's monkey-patching. Importing shared/
    modules imports eventlet (shared.web does), which is harmless; patching
    is not, and nothing here may do it."""
    yield
    if "eventlet" in sys.modules:
        from eventlet import patcher
        assert not any(patcher.is_monkey_patched(name) for name in ("socket", "thread", "os"))


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("%s is missing: run scripts/install-browser-tools.sh" % CHROMIUM)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Console:
    """One agency's console in one browser tab, with what went wrong in it:
    script errors, and words missing from the message catalogue."""

    def __init__(self, system, browser, agency, name):
        self.system = system
        self.agency = agency
        self.name = name
        self.context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.problems = []
        self.page.on("pageerror", lambda error: self.problems.append("page error: %s" % error))
        self.page.on("console", self._console)
        self.shots = 0

    def _console(self, message):
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append("console error: %s" % message.text)
        if "console: no message" in message.text:
            self.problems.append(message.text)

    @property
    def url(self):
        return self.system.url(self.agency) + "/console/"

    def open(self, route=""):
        self.page.goto(self.url + ("#" + route if route else ""))
        return self.page

    def go(self, route):
        self.page.evaluate("route => { window.location.hash = route; }", route)
        self.page.wait_for_load_state()

    def sign_in(self, username, password=PASSWORD):
        page = self.open()
        form = page.locator("form[data-form=sign-in]")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(password)
        form.locator("button[data-action=sign-in]").click()
        expect(page.locator(".who-user")).to_contain_text(username)
        return page

    def notice(self):
        return self.page.locator("#notice .notice")

    def shot(self, label):
        """A full-page screenshot: browser_tests/screenshots/<test>--<n>-<label>.png."""
        SCREENSHOTS.mkdir(exist_ok=True)
        self.shots += 1
        path = SCREENSHOTS / ("%s--%s-%02d-%s.png" % (self.name, self.agency, self.shots, label))
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def refresh_until(self, locator, timeout=30):
        """Press the screen's refresh button until `locator` shows (the
        other parties act through events, a moment later)."""
        deadline = time.monotonic() + timeout
        while True:
            if locator.count() and locator.first.is_visible():
                return locator
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s" % locator)
            time.sleep(0.3)
            button = self.page.locator("[data-action=refresh]")
            if button.count():
                button.first.click()
                self.page.wait_for_timeout(200)

    def api(self, method, path, body=None):
        """A call from inside the page with the signed-in user's token, as
        someone poking at the API from the console would make it."""
        return self.page.evaluate("""async ([method, path, body]) => {
            const session = JSON.parse(sessionStorage.getItem("linkage.console.session") || "{}");
            const headers = {"Authorization": "Bearer " + session.token};
            if (body !== null) headers["Content-Type"] = "application/json";
            const response = await fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body)});
            return {status: response.status, body: await response.text()};
        }""", [method, path, body])

    def close(self):
        self.context.close()


@pytest.fixture
def consoles(request, system, browser):
    """consoles(agency) -> a fresh tab on that agency's console; at the end
    of the test, none may have had a script error or a missing word."""
    opened = []
    name = re.sub(r"[^\w-]+", "-", request.node.name)

    def open_console(agency):
        console = Console(system, browser, agency, name)
        opened.append(console)
        return console
    yield open_console
    problems = [problem for console in opened for problem in console.problems]
    for console in opened:
        console.close()
    assert not problems, problems
