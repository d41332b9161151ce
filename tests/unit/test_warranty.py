"""The warranty table and who repairs what (services/property_company/warranty.py)."""
from datetime import date

import pytest

from services.property_company.warranty import (
    REPAIR_CATEGORIES, WARRANTY_CATEGORIES, BadSeason, Rules, Season, decide, default_part,
    period_end, table, urgent)

RULES = Rules()


def test_a_period_in_years_ends_the_day_before_the_anniversary():
    assert period_end("waterproofing", date(2024, 3, 10), RULES) == date(2029, 3, 9)
    assert period_end("electrical", date(2024, 3, 10), RULES) == date(2026, 3, 9)
    assert period_end("structure", date(2024, 3, 10), RULES) == date(2074, 3, 9)


def test_the_design_life_is_a_setting():
    assert period_end("structure", date(2024, 3, 10), Rules(design_life_years=70)) == date(2094, 3, 9)


def test_a_handover_on_29_february_runs_through_the_last_day_of_february():
    assert period_end("decoration", date(2024, 2, 29), RULES) == date(2026, 2, 28)
    assert period_end("decoration", date(2024, 2, 29), Rules()) != date(2026, 2, 27)
    # to a leap year: the anniversary is 29 February itself
    assert period_end("structure", date(2024, 2, 29), Rules(design_life_years=4)) == date(2028, 2, 28)


def test_the_last_day_is_covered_and_the_next_is_not():
    handed = date(2024, 3, 10)
    last = decide("plumbing", "in_flat", handed, date(2026, 3, 9), RULES)
    after = decide("plumbing", "in_flat", handed, date(2026, 3, 10), RULES)
    assert last["responsible"] == "developer" and last["warranty"]["covered"] is True
    assert after["responsible"] == "owner" and after["warranty"]["covered"] is False
    assert "ended on 2026-03-09" in after["reason"] and "owner" in after["reason"]


def test_the_handover_day_itself_is_covered():
    handed = date(2024, 3, 10)
    assert decide("waterproofing", "common", handed, handed, RULES)["responsible"] == "developer"


def test_a_report_before_the_handover_is_refused():
    with pytest.raises(ValueError):
        decide("waterproofing", "common", date(2024, 3, 10), date(2024, 3, 9), RULES)


def test_heating_counts_two_seasons_that_begin_on_or_after_the_handover():
    # handed over in summer: the seasons of 2024/25 and 2025/26
    assert period_end("heating", date(2024, 7, 1), RULES) == date(2026, 3, 15)
    # handed over on the first day of a season: that season counts
    assert period_end("heating", date(2024, 11, 15), RULES) == date(2026, 3, 15)
    # handed over the day after it began: the rest of it is covered, then two more
    assert period_end("heating", date(2024, 11, 16), RULES) == date(2027, 3, 15)
    # in January (a season that began the year before)
    assert period_end("heating", date(2025, 1, 10), RULES) == date(2027, 3, 15)


def test_cooling_seasons_within_one_year():
    assert period_end("cooling", date(2024, 5, 31), RULES) == date(2025, 9, 30)
    assert period_end("cooling", date(2024, 6, 1), RULES) == date(2025, 9, 30)
    assert period_end("cooling", date(2024, 6, 2), RULES) == date(2026, 9, 30)
    assert period_end("cooling", date(2024, 12, 1), RULES) == date(2026, 9, 30)


def test_season_dates_are_settings():
    rules = Rules(heating_season=Season.parse("10-01/04-30"))
    assert period_end("heating", date(2024, 9, 1), rules) == date(2026, 4, 30)
    assert str(rules.heating_season) == "10-01/04-30"


@pytest.mark.parametrize("text", ["", "11-15", "13-01/03-15", "11-31/03-15", "11-15/11-15",
                                  "a-b/c-d", "11-15/03-15/04-01"])
def test_a_bad_season_setting_is_refused(text):
    with pytest.raises(BadSeason):
        Season.parse(text, "HEATING_SEASON")


def test_a_season_ending_on_29_february():
    season = Season.parse("12-01/02-29")
    assert season.ends_after(date(2024, 12, 1)) == date(2025, 3, 1)
    assert season.ends_after(date(2023, 12, 1)) == date(2024, 2, 29)


def test_the_table_has_every_warranty_category_from_the_handover():
    rows = table(date(2024, 3, 10), RULES)
    assert [row["category"] for row in rows] == list(WARRANTY_CATEGORIES)
    assert all(row["starts"] == date(2024, 3, 10) for row in rows)
    ends = {row["category"]: row["end"] for row in rows}
    assert ends["waterproofing"] == date(2029, 3, 9) and ends["decoration"] == date(2026, 3, 9)
    periods = {row["category"]: row["period"] for row in rows}
    assert periods["structure"] == "50 years (design life)"
    assert periods["heating"] == "2 heating seasons (11-15/03-15)"


def test_out_of_warranty_common_parts_are_the_property_companys():
    decision = decide("waterproofing", "common", date(2019, 1, 1), date(2025, 1, 1), RULES)
    assert decision["responsible"] == "property_company"
    assert "maintenance fund" in decision["reason"]


def test_non_warranty_categories_never_go_to_the_developer():
    handed = date(2025, 1, 1)
    assert decide("common_area", "common", handed, handed, RULES)["responsible"] == "property_company"
    appliance = decide("appliance", "in_flat", handed, handed, RULES)
    assert appliance["responsible"] == "owner" and appliance["warranty"] is None
    assert "not a warranty category" in appliance["reason"]


def test_leaks_and_structure_are_urgent_and_parts_default_sensibly():
    assert urgent("waterproofing") and urgent("structure") and not urgent("decoration")
    assert default_part("common_area") == "common" and default_part("plumbing") == "in_flat"
    assert set(WARRANTY_CATEGORIES) < set(REPAIR_CATEGORIES)


def test_each_row_says_its_unit_and_length_for_a_front_end_to_word():
    rows = {row["category"]: row for row in table(date(2024, 3, 10), Rules(design_life_years=70))}
    assert (rows["structure"]["unit"], rows["structure"]["length"]) == ("years", 70)
    assert (rows["heating"]["unit"], rows["heating"]["length"]) == ("seasons", 2)
    assert (rows["waterproofing"]["unit"], rows["waterproofing"]["length"]) == ("years", 5)
