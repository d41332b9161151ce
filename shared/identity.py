"""PRC resident identity numbers and mobile phone numbers: validation and masking.

An 18-character resident ID is: 6-digit region code, 8-digit birth date,
3-digit sequence, and an ISO 7064 MOD 11-2 check character (0-9 or X).
"""
import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"

# First two digits of the region code: the provinces, autonomous regions and
# municipalities (GB/T 2260), plus Taiwan, Hong Kong and Macao.
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
    "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
    "53", "54", "61", "62", "63", "64", "65", "71", "81", "82",
})

_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def check_char(first17):
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def id_number_problem(value, today=None):
    """Why `value` is not a valid resident ID number, or None when it is."""
    if not isinstance(value, str) or len(value) != 18:
        return "must be 18 characters"
    value = value.upper()
    if not _ID_SHAPE.match(value):
        return "must be 17 digits followed by a digit or X"
    if value[:2] not in PROVINCE_CODES or value[2:6] == "0000":
        return "region code %s is not a valid region" % value[:6]
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "birth date %s is not a calendar date" % value[6:14]
    today = today or date.today()
    if born > today or born.year < 1900:
        return "birth date %s is out of range" % value[6:14]
    if check_char(value[:17]) != value[17]:
        return "check digit does not match"
    return None


def mobile_problem(value):
    if not isinstance(value, str) or not _MOBILE.match(value):
        return "must be an 11-digit mainland mobile number starting with 1[3-9]"
    return None


def mask_id(value):
    """First 6 and last 4 characters: enough to tell people apart at a desk,
    not enough to be an identity."""
    return value[:6] + "*" * 8 + value[-4:]


def make_id_number(region, born, sequence):
    """A valid ID number; used by tests, the README walk-through and the benchmark."""
    first17 = "%s%s%03d" % (region, born.strftime("%Y%m%d"), sequence % 1000)
    return first17 + check_char(first17)
