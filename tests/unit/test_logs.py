"""No log line carries an ID number or a phone, whatever put it there."""
import logging
from datetime import date

from shared.identity import make_id_number
from shared.logs import JsonFormatter, scrub


def test_id_numbers_and_mobiles_are_masked_in_a_finished_line():
    id_number = make_id_number("420106", date(1988, 5, 17), 321)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1,
                               "E11000 duplicate key: { open_person: '%s' } from 13912345678", (id_number,),
                               None)
    line = JsonFormatter("neighborhood_committee").format(record)
    assert id_number not in line and "13912345678" not in line
    assert "420106********" in line and "139****5678" in line


def test_longer_runs_of_digits_are_left_alone():
    for text in ("1795983275123456789012", "trace 139123456789", "uuid 13912345678a"):
        assert scrub(text) == text
    assert scrub("id 11010519491231002X.") == "id 110105********002X."
