"""The returnee linkage as the committee sees it: plain Python, no framework.

One registration opens a task at each of the four other parties. The
committee tracks, per party, its status, whether it has acknowledged the task
and whether it is done, and its deadline; the linkage closes when all four are
done. Updates never go backwards: events from different queues may arrive in
any order, so a party that is done stays done. Each party's part is a task
of the joint-work pattern (shared/joint.py) with one limit, `act`.
"""
from shared import joint
from shared.parties import DEVELOPER, FLOATING, LINKED, POLICE, PROPERTY

# What each party's event means for the linkage: (party, status, done).
PARTY_UPDATES = {
    "identity_check_opened": (POLICE, "pending", False),
    "non_local_arrival_recorded": (FLOATING, "registered", True),
    "gate_pass_held": (PROPERTY, "held", False),
    "gate_pass_issued": (PROPERTY, "issued", True),
    "gate_pass_refused": (PROPERTY, "refused", True),
}


def new_linkage(returnee_id, registration, now, limits, idempotency_key, request_hash):
    parties = {party: joint.new_task(now, limits[party]) for party in LINKED}
    if registration["local_hukou"]:
        # A local resident is not the floating-population office's business.
        joint.finish(parties[FLOATING], "not_required", now)
    return {
        "_id": returnee_id,
        "name": registration["name"],
        "id_number": registration["id_number"],
        "phone": registration["phone"],
        "address": registration["address"],
        "origin": registration["origin"],
        "arrival_date": registration["arrival_date"].isoformat(),
        "local_hukou": registration["local_hukou"],
        "registered_at": now,
        "registered_by": registration.get("registered_by"),
        "status": "open",
        "parties": parties,
        "next_due_at": joint.next_due_at(parties),
        "mismatch": None,
        "dispatched_at": None,
        "closed_at": None,
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
    }


def party_update_for(event_type, payload):
    """(party, status, done) for a party's event."""
    if event_type == "identity_check_completed":
        return POLICE, payload["outcome"], True
    if event_type == "housing_allocation_checked":
        return DEVELOPER, payload["result"], True
    return PARTY_UPDATES[event_type]


def apply_party_update(linkage, party, status, done, now):
    """The `$set` fields that record a party's progress, or {} when the update
    is stale (the party is done already, or the status is not news)."""
    current = linkage["parties"][party]
    if current["done"] or (current["status"] == status and not done):
        return {}
    changes = {"parties.%s.status" % party: status}
    if current["acknowledged_at"] is None:
        changes["parties.%s.acknowledged_at" % party] = now
    if done:
        changes["parties.%s.done" % party] = True
        changes["parties.%s.done_at" % party] = now
    if party == DEVELOPER:
        changes["mismatch"] = status != "matched"

    after = {name: dict(state) for name, state in linkage["parties"].items()}
    after[party].update(done=current["done"] or done,
                        acknowledged_at=current["acknowledged_at"] or now)
    if joint.next_due_at(after) != linkage.get("next_due_at"):
        changes["next_due_at"] = joint.next_due_at(after)
    if linkage.get("dispatched_at") is None and all(s["acknowledged_at"] for s in after.values()):
        changes["dispatched_at"] = now
    if linkage["status"] == "open" and joint.all_done(after):
        changes["status"] = "closed"
        changes["closed_at"] = now
    return changes
