"""The developer's CSV import through its console: a file with bad rows is
refused whole, each bad row named; a good file is imported, and its
25 flats are listed 20 a page, forward and back."""
from playwright.sync_api import expect

BAD = ("building,unit,room,household,handed_over\n"
       "9,1,101,张三;李四,true\n"
       "9,1,,王五,true\n"
       "9,1,103,,maybe\n")
GOOD = "building,unit,room,household,handed_over\n9,1,101,张三;李四,true\n" + "".join(
    "9,2,%d,住户%d,false\n" % (200 + n, n) for n in range(24))


def csv_file(text):
    return {"name": "allocations.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")}


def test_a_csv_import_is_all_rows_or_none(consoles):
    developer = consoles("developer")
    page = developer.sign_in("records-he")
    developer.go("/allocations")
    page.locator("form[data-form=allocation-filters] input[name=building]").fill("9")
    page.locator("form[data-form=allocation-filters] [data-action=search]").click()
    expect(page.locator("table.allocations td.empty")).to_be_visible()

    form = page.locator("form[data-form=allocation-import]")
    form.locator("input[type=file]").set_input_files(csv_file(BAD))
    form.locator("[data-action=import-allocations]").click()
    errors = form.locator(".form-errors li")
    expect(errors.first).to_be_visible()
    fields = [errors.nth(i).get_attribute("data-error-for") for i in range(errors.count())]
    assert "row 3.room" in fields and any(field.startswith("row 4") for field in fields), fields
    expect(form.locator(".import-errors")).to_contain_text("没有导入任何数据")
    developer.shot("import-refused")
    developer.refresh_until(page.locator("table.allocations td.empty"))

    form = page.locator("form[data-form=allocation-import]")
    form.locator("input[type=file]").set_input_files(csv_file(GOOD))
    form.locator("[data-action=import-allocations]").click()
    expect(developer.notice()).to_contain_text("已导入 25 行：新增 25 套，更新 0 套")
    rows = page.locator("table.allocations tbody tr")
    expect(rows).to_have_count(20)
    expect(page.locator(".pager-info")).to_have_text("第 1–20 条，共 25 条")
    expect(page.locator("table.allocations")).to_contain_text("张三、李四")
    developer.shot("imported")
    page.locator("[data-action=next-page]").click()
    expect(rows).to_have_count(5)
    expect(page.locator(".pager-info")).to_have_text("第 21–25 条，共 25 条")
    expect(page.locator("[data-action=next-page]")).to_be_disabled()
    developer.shot("second-page")
    page.locator("[data-action=previous-page]").click()
    expect(rows).to_have_count(20)
    expect(page.locator(".pager-info")).to_have_text("第 1–20 条，共 25 条")
    expect(page.locator("[data-action=previous-page]")).to_be_disabled()
