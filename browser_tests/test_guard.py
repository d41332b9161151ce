"""A gate guard reads gate passes and tenants' access and decides nothing:
the console offers no decision, and the API refuses one anyway."""
from playwright.sync_api import expect

DECISIONS = ("accept", "return", "resolve", "report-case", "clear", "flag", "dispatch", "verify",
             "feedback", "save-allocation", "import-allocations", "register", "report-occupant")


def test_a_guard_sees_the_gate_lookup_and_no_decision(consoles):
    guard = consoles("property_company")
    page = guard.sign_in("gate-2")
    links = page.locator("nav.menu a")
    expect(links).to_have_count(3)
    assert [links.nth(i).get_attribute("data-nav") for i in range(3)] == [
        "/gate", "/passes", "/tenant-access"]
    expect(page.locator("nav.menu a.active")).to_have_attribute("data-nav", "/gate")
    for route in ("/gate", "/passes", "/tenant-access"):
        guard.go(route)
        expect(page.locator("main .loading")).to_have_count(0)
        for action in DECISIONS:
            expect(page.locator('[data-action="%s"]' % action)).to_have_count(0)
    guard.shot("passes")

    # The case screens are not the guard's, nor are the cases the API's.
    guard.go("/cases/assigned")
    expect(page.locator("main h1")).to_have_text("您的角色无权使用这个页面")
    guard.shot("not-allowed")
    report = {"category": "fire_lane_blocked", "description": "blocked", "source": "patrol",
              "location": {"building": "7"}}
    for method, path, body in (("POST", "/api/v1/cases", report), ("GET", "/api/v1/cases", None),
                               ("POST", "/api/v1/cases/any-case/accept", {}),
                               ("GET", "/api/v1/detections", None),
                               ("POST", "/api/v1/occupants", {"flat": {"building": "7", "unit": "1",
                                                                        "room": "502"}, "name": "Li"})):
        answer = guard.api(method, path, body)
        assert answer["status"] == 403, (method, path, answer)
        assert "guard" in answer["body"]
