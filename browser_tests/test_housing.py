"""A handover and a repair across the consoles: the developer records who
is entitled to a flat and hands it over (a wrong household is refused with
the reason; a blank form shows each field's reason); the property company
sees the household with its warranty table and reports a roof leak, which
its console says the developer must repair; the developer's warranty desk
shows the resident to call, accepts and resolves it; the property company
sees it resolved and the committee's registry lists the household."""
import uuid
from datetime import date, timedelta

from playwright.sync_api import expect


def test_a_handover_and_a_warranty_repair_across_the_consoles(consoles):
    building = "H%s" % uuid.uuid4().hex[:5]
    flat_id = "%s-1-302" % building
    handed_over_on = (date.today() - timedelta(days=400)).isoformat()
    phone = "1580%07d" % (uuid.uuid4().int % 10 ** 7)

    # The developer: the allocation, then the handover.
    developer = consoles("developer")
    page = developer.sign_in("records-he")
    developer.go("/allocations")
    form = page.locator("form[data-form=allocation]")
    form.locator("input[name=building]").fill(building)
    form.locator("input[name=unit]").fill("1")
    form.locator("input[name=room]").fill("302")
    form.locator("textarea[name=household]").fill("周建国\n周丽")
    form.locator("input[name=handed_over]").uncheck()
    form.locator("[data-action=save-allocation]").click()
    expect(developer.notice()).to_contain_text(flat_id)

    developer.go("/handovers")
    form = page.locator("form[data-form=handover]")
    form.locator("[data-action=record-handover]").click()
    for name in ("members", "handed_over_on"):
        expect(form.locator('.field-error[data-error-for="%s"]' % name)).not_to_be_empty()
    expect(form.locator('.form-errors li[data-error-for="flat"]')).to_contain_text("必填")
    developer.shot("handover-blank")
    form.locator('input[name="flat.building"]').fill(building)
    form.locator('input[name="flat.unit"]').fill("1")
    form.locator('input[name="flat.room"]').fill("302")
    form.locator("textarea[name=members]").fill("周建国\n王五")
    form.locator("input[name=handed_over_on]").fill(handed_over_on)
    form.locator("[data-action=record-handover]").click()
    expect(developer.notice()).to_contain_text("王五")  # the server's reason: not in the household
    expect(developer.notice()).to_contain_text("周丽")
    developer.shot("handover-wrong-household")
    form.locator("textarea[name=members]").fill("周建国\n周丽")
    form.locator("[data-action=record-handover]").click()
    expect(developer.notice()).to_contain_text("%s 已交房" % flat_id)
    expect(page.locator('table.handovers tbody tr[data-id="%s"]' % flat_id)).to_contain_text("周建国、周丽")
    developer.shot("handed-over")

    # The property company: the household and its warranty table, then a roof leak.
    steward = consoles("property_company")
    page = steward.sign_in("steward-chen")
    steward.go("/households?flat=%s" % flat_id)
    steward.refresh_until(page.locator('table.households tbody tr[data-id="%s"]' % flat_id))
    table = page.locator("table.warranty-table")
    expect(table.locator("tbody tr")).to_have_count(8)
    expect(table.locator('tr[data-id="waterproofing"]')).to_contain_text("5 年")
    expect(table.locator('tr[data-id="structure"]')).to_contain_text("50 年（设计使用年限）")
    expect(table.locator('tr[data-id="heating"]')).to_contain_text("2 个采暖期")
    steward.shot("household-warranty")

    steward.go("/repairs")
    form = page.locator("form[data-form=repair]")
    form.locator('input[name="flat.building"]').fill(building)
    form.locator('input[name="flat.unit"]').fill("1")
    form.locator('input[name="flat.room"]').fill("302")
    form.locator("select[name=category]").select_option("waterproofing")
    form.locator("select[name=part]").select_option("common")
    form.locator("textarea[name=description]").fill("顶层楼梯间屋面漏雨")
    form.locator('input[name="resident.name"]').fill("周丽")
    form.locator('input[name="resident.phone"]').fill("1381234")
    form.locator("[data-action=report-repair]").click()
    expect(form.locator('.field-error[data-error-for="resident.phone"]')).to_contain_text("11 位手机号")
    form.locator('input[name="resident.phone"]').fill(phone)
    form.locator("[data-action=report-repair]").click()
    expect(steward.notice()).to_contain_text("由开发商（保修）维修")
    expect(steward.notice()).to_contain_text("under warranty")
    row = page.locator("table.repairs tbody tr", has_text="顶层楼梯间屋面漏雨")
    expect(row.locator('.chip[data-status="developer"]')).to_be_visible()
    expect(row).to_contain_text("在保修期内")
    expect(row).to_contain_text(phone)
    steward.shot("repair-decided")

    # The developer's warranty desk: the resident to call, accept, resolve.
    desk = consoles("developer")
    page = desk.sign_in("warranty-guo")
    desk.go("/warranty-cases")
    row = desk.refresh_until(page.locator("table.warranty-cases tbody tr", has_text=flat_id))
    expect(row).to_contain_text(phone)
    expect(row.locator(".chip[data-status=urgent]")).to_be_visible()
    row.locator("[data-action=accept]").click()
    expect(desk.notice()).to_contain_text("已接")
    row = page.locator("table.warranty-cases tbody tr", has_text=flat_id)
    expect(row.locator(".chip[data-status=accepted]")).to_be_visible()
    row.locator("[data-action=resolve]").click()
    resolve = page.locator("form[data-form=warranty-resolve]")
    resolve.locator("[data-action=confirm-resolve]").click()
    expect(resolve.locator('.field-error[data-error-for="note"]')).not_to_be_empty()
    resolve.locator("textarea[name=note]").fill("已更换屋面防水卷材")
    resolve.locator("[data-action=confirm-resolve]").click()
    expect(desk.notice()).to_contain_text("已办结")
    desk.shot("warranty-resolved")

    # The property company sees it resolved; the committee's registry has the household.
    steward.go("/repairs?flat=%s" % flat_id)
    steward.refresh_until(steward.page.locator("table.repairs tbody tr .chip[data-status=resolved]"))
    steward.shot("repair-resolved")

    committee = consoles("neighborhood_committee")
    page = committee.sign_in("desk-wang")
    committee.go("/households?building=%s" % building)
    row = committee.refresh_until(page.locator('table.households tbody tr[data-id="%s"]' % flat_id))
    expect(row).to_contain_text("周建国、周丽")
    expect(page.locator("body")).not_to_contain_text(phone)
    committee.shot("registry")
