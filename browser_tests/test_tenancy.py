"""A tenancy through the consoles: the floating-population office registers
it through its form (a bad tenant row first: each reason beside its field,
nothing registered), the police clear one tenant and flag the other in
their queue, the property company's tenants' access shows one issued and
one refused, the committee sees the flat's tenants masked, the property
company reports an occupant, and the office ends the tenancy."""
import random
from datetime import date

from playwright.sync_api import expect

from shared.identity import make_id_number


def fill(form, values):
    for name, value in values.items():
        control = form.locator('[name="%s"]' % name)
        if control.get_attribute("type") == "checkbox":
            control.set_checked(bool(value))
        else:
            control.fill(value)


def test_a_tenancy_is_registered_checked_given_access_seen_by_the_committee_and_ended(consoles):
    flat = "51-2-%d" % random.randint(100, 999)
    cleared_id = make_id_number("510107", date(1995, 3, 14), random.randint(0, 999))
    flagged_id = make_id_number("110105", date(1990, 7, 2), random.randint(0, 999))

    office = consoles("floating_population_office")
    page = office.sign_in("registrar-sun")
    office.go("/tenancies/new")
    form = page.locator("form[data-form=tenancy]")
    fill(form, {"flat_text": flat, "landlord": "周明", "rooms": "2",
                "tenants.0.name": "刘洋", "tenants.0.id_number": cleared_id[:17] + "0"
                if cleared_id[17] != "0" else cleared_id[:17] + "1",
                "tenants.0.phone": "1371234567"})
    form.locator("[data-action=register-tenancy]").click()
    expect(form.locator('.field-error[data-error-for="tenants.0.id_number"]')).not_to_be_empty()
    expect(form.locator('.field-error[data-error-for="tenants.0.phone"]')).not_to_be_empty()
    office.shot("bad-tenant")
    assert office.api("GET", "/api/v1/tenancies?flat=" + flat)["body"].count('"id"') == 0

    fill(form, {"tenants.0.id_number": cleared_id, "tenants.0.phone": "13712345678"})
    form.locator("[data-action=add-tenant]").click()
    fill(form, {"tenants.1.name": "马丽", "tenants.1.id_number": flagged_id,
                "tenants.1.phone": "13698765432", "tenants.1.local_hukou": True})
    form.locator("[data-action=register-tenancy]").click()
    expect(office.notice()).to_contain_text(flat)
    row = page.locator("table.tenancies tbody tr", has_text=flat)
    expect(row).to_contain_text(cleared_id)
    expect(row).to_contain_text("刘洋")
    office.shot("registered")

    # The police: both in their queue, marked as tenants; one cleared, one flagged.
    police = consoles("community_police")
    page = police.sign_in("officer-zhao")
    for id_number, action in ((cleared_id, "clear"), (flagged_id, "flag")):
        check = police.refresh_until(page.locator("table.checks tbody tr", has_text=id_number))
        expect(check.locator(".chip[data-status=tenant]")).to_be_visible()
        check.locator('input[name="note"]').fill("身份已核实")
        check.locator("[data-action=%s]" % action).click()
        expect(page.locator("table.checks tbody tr", has_text=id_number)).to_have_count(0)
    police.shot("decided")

    # The property company: access issued and refused, masked IDs only.
    steward = consoles("property_company")
    page = steward.sign_in("steward-chen")
    steward.go("/tenant-access?flat=" + flat)
    steward.refresh_until(page.locator("table.tenant-access tbody tr", has_text="马丽")
                          .locator(".chip[data-status=refused]"))
    issued = steward.refresh_until(page.locator("table.tenant-access tbody tr", has_text="刘洋")
                                   .locator(".chip[data-status=issued]"))
    expect(issued).to_be_visible()
    expect(page.locator("table.tenant-access")).not_to_contain_text(cleared_id)
    expect(page.locator("table.tenant-access")).to_contain_text(cleared_id[:6] + "********")
    steward.shot("tenant-access")

    # The property company reports an occupant the tenancy covers.
    building, unit, room = flat.split("-")
    steward.go("/occupants")
    form = page.locator("form[data-form=occupant]")
    fill(form, {"flat.building": building, "flat.unit": unit, "flat.room": room, "name": "刘洋"})
    form.locator("[data-action=report-occupant]").click()
    expect(steward.notice()).to_contain_text("刘洋")
    expect(page.locator("table.occupants tbody tr", has_text=flat).first
           .locator(".chip[data-status=covered]")).to_be_visible()
    steward.shot("occupant")

    # The committee: the flat's tenants, masked.
    committee = consoles("neighborhood_committee")
    page = committee.sign_in("desk-wang")
    committee.go("/tenants?flat=" + flat)
    table = committee.refresh_until(page.locator("table.flat-tenants tbody tr", has_text="马丽"))
    expect(table).to_contain_text(flagged_id[:6] + "********" + flagged_id[-4:])
    # each tenant's check at the police and access at the property company
    flagged_row = page.locator("table.flat-tenants tbody tr", has_text="马丽")
    committee.refresh_until(flagged_row.locator(
        '.chip[data-party="property_company"][data-status="refused"]'))
    expect(flagged_row.locator('.chip[data-party="community_police"][data-status="flagged"]')).to_be_visible()
    expect(page.locator("table.flat-tenants")).not_to_contain_text(flagged_id)
    committee.shot("flat-tenants")

    # The office ends the tenancy: the access ends with it.
    page = office.page
    office.go("/tenancies?flat=" + flat)
    page.locator("table.tenancies tbody tr", has_text=flat).locator("[data-action=end-tenancy]").click()
    expect(office.notice()).to_contain_text(flat)
    expect(page.locator("table.tenancies tbody tr", has_text=flat)
           .locator(".chip[data-status=ended]")).to_be_visible()
    office.shot("ended")
    steward.go("/tenant-access?flat=%s&status=ended" % flat)
    steward.refresh_until(steward.page.locator("table.tenant-access tbody tr", has_text="刘洋"))
