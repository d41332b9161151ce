"""The developer's warranty desk: the repairs the property company assigned
to it under the flat's warranty, each with an accept and a resolve limit.

A case is one document per repair, created by `warranty_repair_assigned`
(the resident's name and phone with it: the developer must contact them,
so they are PERSONAL, encrypted at rest). Accepting and resolving tell the
property company in the same write; the property company keeps the limits
(shared/joint.py) and tells the developer when one passed
(`warranty_repair_overdue`), which marks the case here.

    GET  /api/v1/warranty-cases?status=&urgent=&overdue=&building=
    GET  /api/v1/warranty-cases/{id}
    POST /api/v1/warranty-cases/{id}/accept | resolve

`WarrantyDesk` is mixed into the developer's service.
"""
import pymongo

from shared import clock
from shared.consumer import event_handler
from shared.errors import Conflict, NotFound
from shared.retention import Identity
from shared.store import Finished, Repository, Store, insert_once
from shared.web import Body, Page, api, page

from services.developer.schemas import (WarrantyAcceptSchema, WarrantyCaseQuery,
                                        WarrantyCaseSchema, WarrantyResolveSchema)

WARRANTY_CASES = "warranty_cases"
STATUSES = ("assigned", "accepted", "resolved")
# What each action needs the case to be, and what it makes it.
ACTIONS = {"accept": ("assigned", "accepted", "warranty_repair_accepted"),
           "resolve": ("accepted", "resolved", "warranty_repair_resolved")}


class WarrantyCaseRepository(Repository):
    OUTBOX_COLLECTIONS = (WARRANTY_CASES,)
    PERSONAL = {WARRANTY_CASES: ("resident",)}
    RETAINED = {WARRANTY_CASES: Identity(
        names=(), people=("resident",), since="assigned_at",
        finished=Finished(since="resolved_at", done=("resolved",)),
        purpose="a warranty repair assigned to the developer, with the resident to contact")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[WARRANTY_CASES].create_index([("status", 1), ("assigned_at", -1)])

    def receive(self, event):
        assigned = event.payload
        case = {
            "_id": assigned["repair_id"],
            "flat": assigned["flat"],
            "category": assigned["category"],
            "part": assigned["part"],
            "description": assigned["description"],
            "resident": assigned["resident"],
            "warranty": dict(assigned["warranty"], end=assigned["warranty"]["end"].isoformat()),
            "reason": assigned["reason"],
            "urgent": assigned["urgent"],
            "reported_at": assigned["reported_at"],
            "assigned_at": clock.utcnow(),
            "accept_due": assigned["accept_due"],
            "resolve_due": assigned["resolve_due"],
            "status": "assigned",
            "accepted_at": None, "accepted_by": None, "accept_note": None,
            "resolved_at": None, "resolved_by": None, "resolution_note": None,
            "overdue": False, "overdue_limit": None, "overdue_notified_at": None,
            "source_event_id": event.event_id,
        }
        return insert_once(self, WARRANTY_CASES, case)

    def note_overdue(self, event):
        payload = event.payload

        def mark(current):
            wanted = "assigned" if payload["limit"] == "accept" else "accepted"
            if current["status"] != wanted:
                return None  # acted on before the notice arrived
            current.update(overdue=True, overdue_limit=payload["limit"],
                           overdue_notified_at=clock.utcnow())
            return []
        written = self.modify(WARRANTY_CASES, payload["repair_id"], mark, event.event_id)
        if written is None:
            raise LookupError("no warranty case %s yet" % payload["repair_id"])
        return bool(written["overdue"])

    def act(self, case_id, action, note, user):
        """accept | resolve: the case as written; NotFound, or Conflict when
        its status does not allow the action."""
        needed, status, event_type = ACTIONS[action]

        def decide(current):
            if current["status"] != needed:
                raise Conflict("cannot %s warranty case %s: it is %s" % (action, case_id,
                                                                         current["status"]))
            now = clock.utcnow()
            if action == "accept":
                current.update(accepted_at=now, accepted_by=user, accept_note=note)
            else:
                current.update(resolved_at=now, resolved_by=user, resolution_note=note)
            current.update(status=status, overdue=False, overdue_limit=None)
            return [self.event(event_type, {"repair_id": case_id, "at": now, "by": user,
                                            "note": note}, case_id)]
        written = self.modify(WARRANTY_CASES, case_id, decide)
        if written is None:
            raise NotFound("no warranty case %s" % case_id)
        return self.opened(WARRANTY_CASES, written)

    def case(self, case_id):
        return self.find(WARRANTY_CASES, case_id)

    def search(self, status=None, overdue=None, urgent=None, building=None, limit=50, cursor=None):
        query = {}
        if status:
            query["status"] = status
        for field, value in (("overdue", overdue), ("urgent", urgent)):
            if value is not None:
                query[field] = value
        if building:
            query["flat.building"] = building
        return self.page(WARRANTY_CASES, query, "assigned_at", pymongo.DESCENDING, limit, cursor)


WARRANTY_CASE = WarrantyCaseSchema()


class WarrantyDesk:
    warranty = Store(WarrantyCaseRepository)

    @api("GET", "/api/v1/warranty-cases", permission="warranty:read", query=WarrantyCaseQuery(),
         responses={200: Page(WARRANTY_CASE)},
         summary="Repairs assigned to the developer under warranty, newest first")
    def list_warranty_cases(self, request):
        found = self.warranty.search(**request.query)
        return page(WARRANTY_CASE.dump(found.items, many=True), found, request.query)

    @api("GET", "/api/v1/warranty-cases/<string:case_id>", permission="warranty:read",
         responses={200: WARRANTY_CASE}, summary="One warranty repair, with the resident to contact")
    def get_warranty_case(self, request, case_id):
        case = self.warranty.case(case_id)
        if case is None:
            raise NotFound("no warranty case %s" % case_id)
        return WARRANTY_CASE.dump(case)

    @api("POST", "/api/v1/warranty-cases/<string:case_id>/accept", permission="warranty:work",
         body=Body(WarrantyAcceptSchema(), optional=True), responses={200: WARRANTY_CASE, 409: None},
         summary="Accept a warranty repair")
    def accept_warranty_case(self, request, case_id):
        case = self.warranty.act(case_id, "accept", (request.data or {}).get("note"),
                                 request.principal.subject)
        return WARRANTY_CASE.dump(case)

    @api("POST", "/api/v1/warranty-cases/<string:case_id>/resolve", permission="warranty:work",
         body=WarrantyResolveSchema(), responses={200: WARRANTY_CASE, 409: None},
         summary="Resolve a warranty repair, with a note")
    def resolve_warranty_case(self, request, case_id):
        case = self.warranty.act(case_id, "resolve", request.data["note"], request.principal.subject)
        return WARRANTY_CASE.dump(case)

    @event_handler("warranty_repair_assigned")
    def on_warranty_repair_assigned(self, event):
        self.warranty.receive(event)

    @event_handler("warranty_repair_overdue")
    def on_warranty_repair_overdue(self, event):
        if self.warranty.note_overdue(event):
            self.infra.metrics.overdue_notices.inc()
