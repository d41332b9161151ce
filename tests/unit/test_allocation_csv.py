"""The developer's CSV import of allocations: every bad row named, or all rows."""
from services.developer.domain import allocations_from_csv
from services.developer.schemas import AllocationSchema

HEADER = "building,unit,room,household,handed_over\n"


def test_good_rows_become_allocations():
    allocations, errors = allocations_from_csv(
        HEADER + "7,1,502,Wang Fang; Chen Jie,true\n7,1,503,Li Na,false\n", AllocationSchema())
    assert errors == []
    assert allocations[0] == {"building": "7", "unit": "1", "room": "502",
                              "household": ["Wang Fang", "Chen Jie"], "handed_over": True}
    assert allocations[1]["handed_over"] is False


def test_every_bad_row_is_named_by_its_line_and_field():
    text = HEADER + ("7,1,502,Wang Fang,true\n"
                     ",1,503,Li Na,true\n"          # line 3: no building
                     "7,1,504,Li Na,maybe\n"        # line 4: handed_over
                     "7,1,505,,true\n"              # line 5: no household
                     "7,1,502,Someone Else,true\n"  # line 6: the same flat again
                     "7,1,506,A,true,extra\n")      # line 7: too many values
    allocations, errors = allocations_from_csv(text, AllocationSchema())
    fields = [error["field"] for error in errors]
    assert fields == ["row 3.building", "row 4.handed_over", "row 5.household", "row 6", "row 7"]
    assert "row 2" in errors[3]["reason"]
    both = allocations_from_csv(HEADER + "7,1,510,,maybe\n", AllocationSchema())[1]
    assert [error["field"] for error in both] == ["row 2.household", "row 2.handed_over"]


def test_a_file_without_the_columns_or_rows_is_refused():
    assert allocations_from_csv("flat,people\n1,2\n", AllocationSchema())[1][0]["field"] == "header"
    assert allocations_from_csv(HEADER, AllocationSchema())[1][0]["field"] == "rows"


def test_parts_with_hyphens_never_make_two_flats_one_id():
    from shared.catalogue import flat_id
    first = flat_id({"building": "1-2", "unit": "3", "room": "4"})
    second = flat_id({"building": "1", "unit": "2-3", "room": "4"})
    assert first != second
    assert flat_id({"building": "7", "unit": "1", "room": "502"}) == "7-1-502"
    assert flat_id({"building": "1%2D2", "unit": "3", "room": "4"}) != first
