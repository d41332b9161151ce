"""Who may do what: each agency's roles and the permissions each grants.

Every endpoint names one permission (`@api(..., permission=...)`); a
request whose roles grant none of it is refused with 403 naming what is
missing. A staff member signs in with one role; a machine token (`linkage
token`, for machines such as the camera gateway, and for tests) carries the
roles it is given, by default every role of its agency.
"""
from shared.parties import COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY

# What any agency's case desk does (shared/cases): report, read, and work the
# cases dispatched to it.
CASE_DESK = {"cases:report", "cases:read", "cases:work"}
AUDIT = {"audit:read"}
# A party's own part of the committee's daily briefing (shared/briefings.py).
BRIEFING = {"briefings:read"}
# A person's rights (PIPL Arts. 45-47), a supervisor's decision: their export
# (services/neighborhood_committee/exports.py), correction and erasure (rights_desk.py).
PEOPLE = {"people:export", "people:erase", "returnees:correct"}

# Where a linkage or case is across the parties and who holds it
# (services/neighborhood_committee/trace_desk.py): the committee's desk work.
TRACE = {"trace:read"}

ROLES = {
    COMMITTEE: {
        "desk": {"returnees:register", "returnees:read", "tenants:read", "cases:feedback",
                 "cases:kpis", "households:read", "reports:read"} | CASE_DESK | TRACE | BRIEFING,
        "supervisor": {"returnees:register", "returnees:read", "tenants:read", "cases:feedback",
                       "cases:kpis", "households:read", "cases:dispatch", "cases:verify",
                       "briefings:generate", "reports:read"}
                      | CASE_DESK | AUDIT | PEOPLE | TRACE | BRIEFING,
        "auditor": AUDIT,
    },
    POLICE: {
        "officer": {"checks:read", "checks:decide"} | CASE_DESK | BRIEFING,
        "auditor": AUDIT,
    },
    FLOATING: {
        "registrar": {"registrations:read", "tenancies:read", "tenancies:write"} | CASE_DESK | BRIEFING,
        "auditor": AUDIT,
    },
    PROPERTY: {
        "steward": {"passes:read", "detections:read", "households:read", "repairs:read",
                    "repairs:write", "tenants:read", "occupants:read", "occupants:write"}
                   | CASE_DESK | BRIEFING,
        "guard": {"passes:read", "tenants:read"},
        "camera_gateway": {"detections:write"},
        "auditor": AUDIT,
    },
    DEVELOPER: {
        "records": {"allocations:read", "allocations:write", "housing_checks:read",
                    "handovers:read", "handovers:write"} | CASE_DESK | BRIEFING,
        # The warranty desk: repairs assigned to the developer, with the resident to contact.
        "warranty": {"warranty:read", "warranty:work", "handovers:read"},
        "auditor": AUDIT,
    },
}

def roles_of(agency):
    return sorted(ROLES.get(agency, ()))


def permissions(agency, roles):
    granted = set()
    for role in roles:
        granted |= ROLES.get(agency, {}).get(role, set())
    return granted


def allows(agency, roles, permission):
    return permission in permissions(agency, roles)


def matrix():
    """(agency, role, sorted permissions) rows, for the README and the console."""
    return [(agency, role, sorted(ROLES[agency][role]))
            for agency in ROLES for role in sorted(ROLES[agency])]
