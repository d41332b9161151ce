"""A tenant's tasks at the police and the property company, as every party
that follows a tenancy keeps them: plain Python, no framework.

The floating-population office opens, for each tenant of a tenancy, one
task of the joint-work pattern (shared/joint.py) at each of two parties:

- `community_police`: the identity and risk check (pending, then cleared or
  flagged);
- `property_company`: the tenant's access (held, then issued or refused).

The office keeps them in its tenancy, the committee in its registry of
tenants (for the daily briefing); both learn each party's progress from the
same events, read here the same way, and run the same limits
(LIMIT_<PARTY>_SECONDS) from the tenancy's registration.
"""
from shared import joint
from shared.parties import POLICE, PROPERTY

TENANT_PARTIES = (POLICE, PROPERTY)

# What each party's event means for a tenant's task: (party, status, done).
PARTY_UPDATES = {
    "tenant_check_opened": (POLICE, "pending", False),
    "tenant_access_held": (PROPERTY, "held", False),
    "tenant_access_issued": (PROPERTY, "issued", True),
    "tenant_access_refused": (PROPERTY, "refused", True),
}


def new_tasks(registered_at, limits):
    """party -> task, each limit running from the tenancy's registration."""
    return {party: joint.new_task(registered_at, limits[party]) for party in TENANT_PARTIES}


def party_update_for(event_type, payload):
    """(party, status, done) for a party's event on a tenant."""
    if event_type == "tenant_check_completed":
        return POLICE, payload["outcome"], True
    return PARTY_UPDATES[event_type]


def progress(task, status, done, now):
    """Record a party's word on its task (in place); False when it is stale
    (the task is done already, or the status is not news: events from
    different queues arrive in any order)."""
    if task["done"] or (task["status"] == status and not done):
        return False
    if done:
        joint.finish(task, status, now)
    else:
        task["status"] = status
        if task["acknowledged_at"] is None:
            task["acknowledged_at"] = now
    return True
