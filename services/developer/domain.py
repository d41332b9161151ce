"""Checking a claimed flat against the relocation-housing allocation records."""


def flat_id(address):
    return "%s-%s-%s" % (address["building"], address["unit"], address["room"])


def check_claim(allocation, name):
    """matched | allocated_to_other | unknown_flat | not_handed_over"""
    if allocation is None:
        return "unknown_flat"
    if not allocation.get("handed_over", True):
        return "not_handed_over"
    household = {member.strip() for member in allocation["household"]}
    return "matched" if name.strip() in household else "allocated_to_other"
