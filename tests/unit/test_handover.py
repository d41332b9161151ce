"""Whether a flat may be handed over, and what a returnee's claim finds
once it was (services/developer/domain.py)."""
from services.developer.domain import check_claim, handover_refusal

ALLOCATION = {"household": ["Liu Yang", " Liu Min"], "handed_over": False}


def test_the_allocated_household_may_take_the_flat_in_any_order_and_spacing():
    assert handover_refusal(ALLOCATION, ["Liu Min", "Liu Yang "], "12-3-801") is None


def test_no_allocation_is_422_naming_the_flat():
    status, field, reason = handover_refusal(None, ["Liu Yang"], "12-3-802")
    assert (status, field) == (422, "flat") and "no allocation for flat 12-3-802" in reason


def test_another_household_is_409_naming_strangers_and_the_missing():
    status, field, reason = handover_refusal(ALLOCATION, ["Liu Yang", "Zhang San"], "12-3-801")
    assert (status, field) == (409, "members")
    assert reason == ("not in the household allocated flat 12-3-801: Zhang San; "
                      "missing from the handover: Liu Min")


def test_part_of_the_household_is_refused_too():
    status, _, reason = handover_refusal(ALLOCATION, ["Liu Yang"], "12-3-801")
    assert status == 409 and reason == "missing from the handover: Liu Min"


def test_a_recorded_handover_makes_a_flat_handed_over_whatever_its_flag():
    assert check_claim(ALLOCATION, "Liu Yang") == "not_handed_over"
    assert check_claim(ALLOCATION, "Liu Yang", handover={"_id": "12-3-801"}) == "matched"
    assert check_claim(ALLOCATION, "Zhang San", handover={"_id": "12-3-801"}) == "allocated_to_other"
    assert check_claim(None, "Liu Yang", handover={"_id": "12-3-801"}) == "unknown_flat"
