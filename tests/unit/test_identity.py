from datetime import date

import pytest

from shared.identity import id_number_problem, make_id_number, mask_id, mobile_problem

VALID = make_id_number("110105", date(1990, 3, 7), 123)


def test_a_generated_number_is_valid_and_its_check_digit_is_computed():
    assert id_number_problem(VALID) is None
    # The published example of GB 11643: 11010519491231002X.
    assert id_number_problem("11010519491231002X") is None
    assert id_number_problem("11010519491231002x") is None


@pytest.mark.parametrize("value, reason", [
    ("1101051949123100", "18 characters"),
    ("11010519491231002Y", "digit or X"),
    ("99010519491231002X", "region"),
    ("110105194902300021", "calendar date"),
    ("110105299901010021", "out of range"),
    ("110105194912310021", "check digit"),
])
def test_invalid_numbers_say_why(value, reason):
    assert reason in id_number_problem(value)


def test_birth_dates_after_today_are_rejected():
    future = make_id_number("310101", date(2031, 1, 1), 1)
    assert "out of range" in id_number_problem(future, today=date(2030, 1, 1))


def test_masking_keeps_six_and_four():
    assert mask_id("11010519491231002X") == "110105********002X"


@pytest.mark.parametrize("phone, ok", [("13800138000", True), ("19912345678", True),
                                       ("12800138000", False), ("1380013800", False),
                                       ("+8613800138000", False)])
def test_mobile_numbers(phone, ok):
    assert (mobile_problem(phone) is None) is ok
