"""The roles matrix: what the README promises is what the code enforces."""
import re
from pathlib import Path

from shared import roles
from shared.parties import ALL

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_matrix_is_the_one_enforced():
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| (.*) \|$", README.read_text(), re.M)
    documented = {(agency, role): set(re.findall(r"`([\w:]+)`", perms))
                  for agency, role, perms in rows if agency in ALL}
    enforced = {(agency, role): set(perms) for agency, role, perms in roles.matrix()}
    assert documented == enforced


def test_every_agency_has_an_auditor_who_reads_the_audit_and_nothing_else():
    for agency in ALL:
        assert roles.permissions(agency, ["auditor"]) == {"audit:read"}


def test_a_guard_only_reads_passes_and_tenants_access_and_an_unknown_role_grants_nothing():
    assert roles.permissions("property_company", ["guard"]) == {"passes:read", "tenants:read"}
    assert roles.permissions("property_company", ["mayor"]) == set()
    assert not roles.allows("community_police", ["steward"], "passes:read")
