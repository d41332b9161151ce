"""A community case across the consoles: the property company reports a
blocked fire lane, accepts and resolves it at its desk; the committee
verifies it and records the resident's call-back; the property company
sees it closed."""
import uuid

from playwright.sync_api import expect


def test_a_case_reported_at_the_property_company_is_worked_through_to_closure(consoles):
    spot = "北门消防通道 %s" % uuid.uuid4().hex[:6]
    steward = consoles("property_company")
    page = steward.sign_in("steward-chen")
    expect(page.locator("nav.menu a.active")).to_have_attribute("data-nav", "/cases/assigned")

    # Report it.
    steward.go("/cases/new")
    form = page.locator("form[data-form=case-report]")
    form.locator("select[name=category]").select_option("fire_lane_blocked")
    form.locator("select[name=source]").select_option("walking_inspection")
    form.locator("textarea[name=description]").fill("两辆私家车堵住消防通道")
    form.locator('input[name="location.building"]').fill("7")
    form.locator('input[name="location.spot"]').fill(spot)
    steward.shot("report-form")
    form.locator("[data-action=report-case]").click()
    expect(steward.notice()).to_contain_text("已上报“消防通道堵塞”案件")
    reported = page.locator("table.cases tbody tr", has_text=spot)
    expect(reported).to_be_visible()
    case_id = reported.get_attribute("data-id")
    steward.shot("reported")

    # The committee dispatched it back to the property company (its routing
    # table): accept it, then resolve it with a note.
    steward.go("/cases/assigned")
    row = steward.refresh_until(page.locator('table.cases tbody tr[data-id="%s"]' % case_id))
    row.locator("[data-action=accept]").click()
    expect(steward.notice()).to_contain_text("已接单")
    row = page.locator('table.cases tbody tr[data-id="%s"]' % case_id)
    expect(row.locator(".chip[data-status=accepted]")).to_be_visible()
    row.locator("[data-action=resolve]").click()
    resolve = page.locator("form[data-form=case-resolve]")
    resolve.locator("[data-action=confirm-resolve]").click()
    expect(resolve.locator('.field-error[data-error-for="note"]')).not_to_be_empty()
    resolve.locator("textarea[name=note]").fill("已联系车主挪车，通道畅通")
    steward.shot("resolving")
    resolve.locator("[data-action=confirm-resolve]").click()
    expect(steward.notice()).to_contain_text("已办结")
    expect(page.locator('table.cases tbody tr[data-id="%s"] .chip[data-status=resolved]' % case_id).first).to_be_visible()

    # The committee verifies it and records the call-back.
    committee = consoles("neighborhood_committee")
    page = committee.sign_in("super-li")
    committee.go("/cases/all")
    committee.refresh_until(page.locator('table.cases tbody tr[data-id="%s"]' % case_id)).click()
    committee.refresh_until(page.locator(".chip-big[data-status=resolved]"))
    expect(page.locator('table.assignments .chip[data-party="property_company"]')).to_have_attribute("data-status", "resolved")
    verify = page.locator("form[data-form=verify]")
    verify.locator("select[name=outcome]").select_option("confirmed")
    verify.locator("input[name=note]").fill("现场查看，通道畅通")
    committee.shot("verifying")
    verify.locator("[data-action=verify]").click()
    expect(committee.notice()).to_contain_text("案件已结案")
    expect(page.locator(".chip-big[data-status=closed]")).to_be_visible()
    feedback = page.locator("form[data-form=feedback]")
    feedback.locator("select[name=satisfaction]").select_option("satisfied")
    feedback.locator("select[name=resolved]").select_option("true")
    feedback.locator("[data-action=feedback]").click()
    expect(committee.notice()).to_contain_text("已记录回访")
    timeline = page.locator("ol.timeline")
    for action in ("reported", "dispatched", "accepted", "resolved", "verified: confirmed", "feedback: satisfied"):
        expect(timeline.locator('li[data-action="%s"]' % action)).to_have_count(1)
    committee.shot("closed-with-timeline")

    # The committee's KPIs count it.
    committee.go("/kpis")
    expect(page.locator("table.kpis tbody tr", has_text="物业公司")).to_be_visible()
    committee.shot("kpis")

    # The property company sees its report closed.
    page = steward.page
    steward.go("/cases/reported")
    steward.refresh_until(page.locator('table.cases tbody tr[data-id="%s"] .chip[data-status=closed]' % case_id))
    steward.shot("closed")


def test_the_committee_reports_and_dispatches_a_case_and_the_police_return_it(consoles):
    committee = consoles("neighborhood_committee")
    page = committee.sign_in("super-li")
    committee.go("/cases/new")
    form = page.locator("form[data-form=case-report]")
    # The committee's categories come from its routing table (GET /api/v1/case-categories).
    expect(form.locator("select[name=category] option[value=noise]")).to_have_text("噪音扰民")
    form.locator("select[name=category]").select_option("noise")
    form.locator("select[name=source]").select_option("phone")
    form.locator("textarea[name=description]").fill("楼上夜间装修噪音")
    form.locator('input[name="location.building"]').fill("3")
    form.locator('input[name="reporter.name"]').fill("刘女士")
    form.locator('input[name="reporter.phone"]').fill("139123")
    form.locator("[data-action=report-case]").click()
    expect(form.locator('.field-error[data-error-for="reporter.phone"]')).not_to_be_empty()
    form.locator('input[name="reporter.phone"]').fill("13912340000")
    form.locator("[data-action=report-case]").click()
    expect(committee.notice()).to_contain_text("已上报“噪音扰民”案件")
    expect(page.locator('table.assignments .chip[data-party="neighborhood_committee"]')).to_be_visible()
    case_id = page.evaluate("decodeURIComponent(location.hash.split('/').pop())")

    # Dispatch it to the police too.
    dispatch = page.locator("form[data-form=dispatch]")
    dispatch.locator('input[name=to][value="community_police"]').check()
    dispatch.locator("input[name=note]").fill("夜间噪音，请民警协助")
    dispatch.locator("[data-action=dispatch]").click()
    expect(committee.notice()).to_contain_text("已派单")
    expect(page.locator('table.assignments .chip[data-party="community_police"]')).to_have_attribute("data-status", "dispatched")
    committee.shot("dispatched")

    # The police return it with a reason.
    police = consoles("community_police")
    page = police.sign_in("officer-zhao")
    police.go("/cases/assigned")
    row = police.refresh_until(page.locator('table.cases tbody tr[data-id="%s"]' % case_id))
    expect(row).to_contain_text("噪音扰民")
    row.locator("[data-action=return]").click()
    returning = page.locator("form[data-form=case-return]")
    returning.locator("textarea[name=reason]").fill("不涉及治安，请居委会调解")
    returning.locator("[data-action=confirm-return]").click()
    expect(police.notice()).to_contain_text("已退回")
    police.shot("returned")

    page = committee.page
    committee.refresh_until(page.locator('table.assignments .chip[data-party="community_police"][data-status="returned"]'))
    expect(page.locator('ol.timeline li[data-action="returned"]')).to_contain_text("不涉及治安")
    committee.shot("return-in-timeline")
