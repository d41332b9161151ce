"""A tenancy as the floating-population office sees it: plain Python, no framework.

The office registers a tenancy (a flat, its landlord, its rooms, its dates,
its tenants) and opens work at two parties for each tenant, each a task of
the joint-work pattern (shared/joint.py) with one limit, `act`, kept as
shared/tenant_tasks.py says (the committee keeps the same tasks):

- the police check the tenant's identity and risk, as a returnee's
  (`community_police`: pending, then cleared or flagged);
- the property company holds the tenant's access until the police clear
  (`property_company`: held, then issued or refused).

The tenancy's checks close when every task of every tenant is done. Non-local
tenants also get a temporary-residence registration at the office. The rules
with numbers (TENANCY_REGISTRATION_DAYS, TENANTS_PER_ROOM,
RESIDENCE_PERMIT_DAYS) are the functions at the end.
"""
from datetime import datetime, time, timedelta, timezone

from shared import joint
from shared.catalogue import flat_id
from shared.identity import mask_id
from shared.tenant_tasks import new_tasks, progress


def new_tenancy(tenancy_id, body, tenant_ids, now, limits, registration_days):
    """The tenancy document: tenants' ID numbers and phones in `identities`
    (a personal field, encrypted at rest), the rest in `tenants`."""
    tenants, identities = [], []
    for tenant_id, tenant in zip(tenant_ids, body["tenants"]):
        tasks = new_tasks(now, limits)
        tenants.append({"tenant_id": tenant_id, "name": tenant["name"],
                        "id_masked": mask_id(tenant["id_number"]),
                        "local_hukou": tenant["local_hukou"], "registration_id": None,
                        "tasks": tasks})
        identities.append({"tenant_id": tenant_id, "id_number": tenant["id_number"],
                           "phone": tenant["phone"]})
    start, end = body["start_date"], body.get("end_date")
    return {
        "_id": tenancy_id,
        "address": body["flat"],
        "flat_id": flat_id(body["flat"]),
        "landlord": body["landlord"],
        "rooms": body["rooms"],
        "start_date": start.isoformat(),
        "end_date": end.isoformat() if end else None,
        "registered_at": now,
        "registered_by": body.get("registered_by"),
        "registered_late": registered_late(start, now, registration_days),
        "status": "active",
        "end_due": end_due(end),
        "ended_at": None,
        "ended_on": None,
        "ended_by": None,
        "tenants": tenants,
        "identities": identities,
        "checks": "open",
        "checks_closed_at": None,
        "next_due_at": next_due_at(tenants),
        "group_rental_case_id": None,
        "group_rental_due": None,
    }


def registered_late(start_date, now, registration_days):
    """A tenancy must be registered within TENANCY_REGISTRATION_DAYS of its
    start: by the end (UTC) of the third day after the start date."""
    return now >= _midnight(start_date) + timedelta(days=1 + registration_days)


def end_due(end_date):
    """When a tenancy with an end date ends by itself: the end of that day (UTC)."""
    return _midnight(end_date) + timedelta(days=1) if end_date else None


def _midnight(day):
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def next_due_at(tenants):
    """The earliest limit of any tenant's task still running and not yet marked."""
    due = [joint.next_due_at(tenant["tasks"]) for tenant in tenants]
    due = [at for at in due if at is not None]
    return min(due) if due else None


def tenant(tenancy, tenant_id):
    for item in tenancy["tenants"]:
        if item["tenant_id"] == tenant_id:
            return item
    return None


def apply_party_update(tenancy, tenant_id, party, status, done, now):
    """Record a party's progress on a tenant in `tenancy` (a copy, changed in
    place); False when the update is stale (the task is done already, or the
    status is not news: events from different queues arrive in any order)."""
    item = tenant(tenancy, tenant_id)
    if item is None:
        return False
    if not progress(item["tasks"][party], status, done, now):
        return False
    _refresh(tenancy, now)
    return True


def _refresh(tenancy, now):
    tenancy["next_due_at"] = next_due_at(tenancy["tenants"]) if tenancy["status"] == "active" else None
    if tenancy["checks"] == "open" and all(joint.all_done(t["tasks"]) for t in tenancy["tenants"]):
        tenancy["checks"] = "closed"
        tenancy["checks_closed_at"] = now


def to_mark(tenancy, now):
    """[(tenant_id, party)] past their running limit and not marked for it."""
    if tenancy["status"] != "active":
        return []
    return [(item["tenant_id"], party) for item in tenancy["tenants"]
            for party in joint.to_mark(item["tasks"], now)]


def mark(tenancy, tenant_id, party, now):
    """Mark the task overdue (in place); its `due_at`, or None if it was
    marked, finished or changed meanwhile."""
    task = tenant(tenancy, tenant_id)["tasks"][party]
    if not joint.late(task, now) or task["overdue"]:
        return None
    joint.mark(task, now)
    tenancy["next_due_at"] = next_due_at(tenancy["tenants"])
    return task["due_at"]


def end(tenancy, ended_on, user, now, reason=None):
    """End the tenancy (in place): no task is due any more."""
    tenancy.update(status="ended", ended_on=ended_on.isoformat(), ended_at=now, ended_by=user,
                   end_reason=reason, end_due=None, next_due_at=None)


def crowded(active_tenants, rooms, per_room):
    """More than `per_room` registered tenants per room at one flat."""
    return active_tenants > per_room * rooms


def permit_cutoff(today, residence_permit_days):
    """A tenant who moved in on or before this day has lived here long enough
    to apply for a residence permit (RESIDENCE_PERMIT_DAYS)."""
    return today - timedelta(days=residence_permit_days)
