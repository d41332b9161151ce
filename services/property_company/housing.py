"""The property company's households and repairs.

A household is taken on when the developer hands its flat over
(`flat_handover_recorded`): one document per flat, with the members and the
handover date; its warranty table is worked out when read, from the
settings (services/property_company/warranty.py), so a changed setting
applies to every flat.

A repair reported by a resident is decided here from the flat's warranty
table. Under warranty it goes to the developer (`warranty_repair_assigned`,
with the resident's name and phone, in the same write as the repair), as
work with an accept limit (urgent for leaks and structural defects) and a
resolve limit, kept with shared/joint.py: the timer marks a limit that
passed once and tells the developer (`warranty_repair_overdue`); the
developer's accept and resolve come back as events. Out of warranty it is
the property company's own work order (common parts), or recorded as the
owner's (in-flat items), and resolved here.
"""
from datetime import date, timedelta

import pymongo

from shared import clock, joint
from shared.catalogue import flat_id
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.retention import Identity
from shared.store import Finished, Repository, insert_once

from services.property_company import warranty

HOUSEHOLDS = "households"
REPAIRS = "repairs"
DEVELOPER = "developer"


def rules_from(settings):
    return warranty.Rules(design_life_years=settings.warranty_design_life_years,
                          heating_season=warranty.Season.parse(settings.heating_season),
                          cooling_season=warranty.Season.parse(settings.cooling_season))


class HouseholdRepairsRepository(Repository):
    OUTBOX_COLLECTIONS = (REPAIRS,)
    PERSONAL = {REPAIRS: ("resident",)}
    RETAINED = {REPAIRS: Identity(
        names=(), people=("resident",), since="reported_at",
        finished=Finished(since="resolved_at", done=("resolved",)),
        purpose="a repair a resident reported, and who must repair it")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[HOUSEHOLDS].create_index([("flat.building", 1), ("_id", 1)])
        db[REPAIRS].create_index([("next_due_at", 1)])
        db[REPAIRS].create_index([("responsible", 1), ("reported_at", -1)])
        db[REPAIRS].create_index([("flat_id", 1), ("reported_at", -1)])

    # --- households -----------------------------------------------------------

    def take_on(self, event):
        handover = event.payload
        household = {
            "_id": handover["handover_id"],
            "flat": handover["flat"],
            "members": handover["members"],
            "handed_over_on": handover["handed_over_on"].isoformat(),
            "taken_on_at": clock.utcnow(),
            "source_event_id": event.event_id,
        }
        return insert_once(self, HOUSEHOLDS, household)

    def households(self, flat=None, building=None, limit=50, cursor=None):
        query = {}
        if flat:
            query["_id"] = flat
        if building:
            query["flat.building"] = building
        return self.page(HOUSEHOLDS, query, "_id", pymongo.ASCENDING, limit, cursor)

    # --- repairs --------------------------------------------------------------

    def report_repair(self, repair_id, report, user, rules, limits, request_hash=None):
        """Decide who repairs and record it (with the developer's event when
        under warranty). 422 when no household was handed the flat;
        DuplicateKeyError when `repair_id` is taken (a retried Idempotency-Key)."""
        flat = flat_id(report["flat"])
        household = self.db[HOUSEHOLDS].find_one({"_id": flat})
        if household is None:
            reason = "no handover of flat %s is recorded: no warranty runs for it" % flat
            raise ValidationFailed.from_errors([{"field": "flat", "reason": reason}])
        now = clock.utcnow()
        handed_over_on = date.fromisoformat(household["handed_over_on"])
        part = report.get("part") or warranty.default_part(report["category"])
        decision = warranty.decide(report["category"], part, handed_over_on,
                                   max(now.date(), handed_over_on), rules)
        repair = {
            "_id": repair_id,
            "flat": report["flat"],
            "flat_id": flat,
            "category": report["category"],
            "part": part,
            "description": report["description"],
            "resident": report["resident"],
            "handed_over_on": household["handed_over_on"],
            "responsible": decision["responsible"],
            "warranty": _stored(decision["warranty"]),
            "reason": decision["reason"],
            "urgent": False,
            "status": "open",
            "reported_at": now,
            "reported_by": user,
            "resolved_at": None, "resolved_by": None, "resolution_note": None,
            "tasks": {},
            "next_due_at": None,
            "request_hash": request_hash,
        }
        events = []
        if decision["responsible"] == DEVELOPER:
            events.append(self._assign(repair, decision, now, limits))
        self.insert(REPAIRS, repair, events)
        return repair

    def _assign(self, repair, decision, now, limits):
        urgent = warranty.urgent(repair["category"])
        accept = limits.warranty_urgent_accept_seconds if urgent else limits.warranty_accept_seconds
        task = joint.new_task(now, accept, due_kind="accept", status="assigned",
                              resolve_due=now + timedelta(seconds=limits.warranty_resolve_seconds),
                              note=None)
        repair.update(urgent=urgent, status="assigned", tasks={DEVELOPER: task},
                      next_due_at=joint.next_due_at({DEVELOPER: task}))
        return self.event("warranty_repair_assigned", {
            "repair_id": repair["_id"], "flat": repair["flat"], "category": repair["category"],
            "part": repair["part"], "description": repair["description"],
            "resident": repair["resident"], "warranty": decision["warranty"],
            "reason": repair["reason"], "urgent": urgent, "reported_at": now,
            "accept_due": task["due_at"], "resolve_due": task["resolve_due"]}, repair["_id"])

    def developer_acted(self, event, action):
        """The developer accepted or resolved a warranty repair; whichever
        arrives first, a resolved repair stays resolved."""
        payload = event.payload

        def decide(repair):
            task = repair["tasks"].get(DEVELOPER)
            if task is None or task["done"]:
                return None
            if action == "accept":
                if task["status"] != "assigned":
                    return None
                task.update(status="accepted", acknowledged_at=payload["at"], note=payload["note"])
                joint.start_limit(task, "resolve", task["resolve_due"])
                repair["status"] = "accepted"
            else:
                joint.finish(task, "resolved", payload["at"])
                task["note"] = payload["note"]
                repair.update(status="resolved", resolved_at=payload["at"],
                              resolved_by="%s/%s" % (DEVELOPER, payload["by"]),
                              resolution_note=payload["note"])
            repair["next_due_at"] = joint.next_due_at(repair["tasks"])
            return []
        if self.modify(REPAIRS, payload["repair_id"], decide, event.event_id) is None:
            raise LookupError("no repair %s" % payload["repair_id"])

    def due(self, now, limit=200):
        return list(self.db[REPAIRS].find({"next_due_at": {"$lte": now}}, {"_id": 1}).limit(limit))

    def mark_overdue(self, repair_id, now):
        """Mark the developer late on the limit running now, once, and tell
        it in the same write; the limit marked, or None."""
        marked = []

        def decide(repair):
            late = joint.to_mark(repair["tasks"], now)
            if DEVELOPER not in late:
                return None  # acted on, or marked, since it was found due
            task = repair["tasks"][DEVELOPER]
            joint.mark(task, now)
            repair["next_due_at"] = joint.next_due_at(repair["tasks"])
            marked.append(task["due_kind"])
            return [self.event("warranty_repair_overdue", {
                "repair_id": repair["_id"], "limit": task["due_kind"], "due_at": task["due_at"],
                "detected_at": now}, repair["_id"])]
        self.modify(REPAIRS, repair_id, decide)
        return marked[0] if marked else None

    def resolve_own(self, repair_id, note, user):
        """Close a work order that is the property company's or the owner's."""
        def decide(repair):
            if repair["responsible"] == DEVELOPER:
                raise Conflict("repair %s is under warranty: the developer resolves it" % repair_id)
            if repair["status"] != "open":
                raise Conflict("repair %s is %s already" % (repair_id, repair["status"]))
            repair.update(status="resolved", resolved_at=clock.utcnow(), resolved_by=user,
                          resolution_note=note)
            return []
        written = self.modify(REPAIRS, repair_id, decide)
        if written is None:
            raise NotFound("no repair %s" % repair_id)
        return self.opened(REPAIRS, written)

    def repair(self, repair_id):
        return self.find(REPAIRS, repair_id)

    def repairs(self, flat=None, responsible=None, status=None, overdue=None, limit=50, cursor=None):
        query = {}
        if flat:
            query["flat_id"] = flat
        if responsible:
            query["responsible"] = responsible
        if status:
            query["status"] = status
        if overdue is not None:
            query["tasks.%s.overdue" % DEVELOPER] = overdue
        return self.page(REPAIRS, query, "reported_at", pymongo.DESCENDING, limit, cursor)


def _stored(decided):
    if decided is None:
        return None
    return dict(decided, end=decided["end"].isoformat())
