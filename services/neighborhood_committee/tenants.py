"""The committee's registry of a flat's tenants (masked), fed by the
floating-population office's tenancy events.

    GET /api/v1/tenants?flat=<flat_id>&status=active|ended   (with each party's task)

Keyed by the tenant, found by `flat_id` (shared.catalogue.flat_id), the key
every party keeps flats under: the households of a flat and its tenants are
read the same way. The committee gets a tenant's name, masked ID and flat,
never an ID number or a phone.

Each tenant also carries its two tasks (shared/tenant_tasks.py: the
police's check, the property company's access), for the daily briefing's
`tenancies` (sources.py). The committee learns each party's progress from
the parties' own events (`tenant_check_opened`, `tenant_check_completed`,
`tenant_access_held` / `_issued` / `_refused`): they carry ids, an outcome
and times, nothing about the person, so the committee is one more consumer
of each, with no new event to keep in step with the office. Whether a
tenant has local hukou (the briefing's category) comes in
`tenant_hukou_recorded`, addressed to the committee alone: the property
company, which gets the declaration too, has no use for it. A redelivery
changes nothing (the event id is written with the change, and a task that
is done or already says so ignores it); a party's word that comes before
the tenant's declaration is a LookupError, and the consumer retries.

The limits are the office's (LIMIT_<PARTY>_SECONDS from the tenancy's
registration, which the declaration carries), so each task's `due_at` is
the office's. The office's `tenancy_party_overdue` is addressed to the late
party alone (its routing key names that party, shared/events.py), so the
committee does not hear it: it marks its own copy by the same rule
(shared/joint.py `to_mark`, every OVERDUE_SCAN_SECONDS), as it marks its
registrations, and tells no one (the office tells the party). A tenant's
item closes (`closed_at`) when both tasks are done or the tenancy ends.
"""
import pymongo
from marshmallow import Schema, fields, validate

from shared import clock, joint, tenant_tasks
from shared.catalogue import AddressSchema, flat_id
from shared.consumer import event_handler
from shared.retention import Identity
from shared.store import Finished, Repository, Store, insert_once
from shared.timer import every
from shared.web import Page, PageQuery, api, page

from services.neighborhood_committee.schemas import PartyStateSchema

TENANTS = "tenants"
TENANTS_SHOWN = 20  # with a household, per flat (the full list: GET /api/v1/tenants?flat=)


class TenantRegistryRepository(Repository):
    RETAINED = {TENANTS: Identity(
        since="registered_at", finished=Finished(since="ended_at", open=("active",)),
        purpose="a tenant of a flat in the community's resident registry")}

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[TENANTS].create_index([("flat_id", 1), ("registered_at", -1)])
        db[TENANTS].create_index("next_due_at")
        db[TENANTS].create_index([("closed_at", 1), ("registered_at", -1)])

    def register(self, event, limits):
        """The tenant, with its tasks at the police and the property
        company, each limit (`limits`: party -> seconds) running from the
        tenancy's registration."""
        declared = event.payload
        tasks = tenant_tasks.new_tasks(declared["registered_at"], limits)
        return insert_once(self, TENANTS, {
            "_id": declared["tenant_id"],
            "tenancy_id": declared["tenancy_id"],
            "name": declared["name"],
            "id_masked": declared["id_masked"],
            "address": declared["address"],
            "flat_id": flat_id(declared["address"]),
            "start_date": declared["start_date"].isoformat(),
            "registered_at": declared["registered_at"],
            "local_hukou": None,  # from `tenant_hukou_recorded`
            "status": "active",
            "ended_at": None,
            "tasks": tasks,
            "next_due_at": joint.next_due_at(tasks),
            "closed_at": None,
            "source_event_id": event.event_id,
        })

    def end(self, event):
        """The tenancy ended; LookupError while a tenant is not here yet."""
        for tenant_id in event.payload["tenant_ids"]:
            def decide(tenant):
                if tenant["status"] != "active":
                    return None
                now = clock.utcnow()
                tenant.update(status="ended", ended_at=now,
                              ended_on=event.payload["ended_on"].isoformat(), next_due_at=None)
                if tenant.get("closed_at") is None:
                    tenant["closed_at"] = now
                return []
            if self.modify(TENANTS, tenant_id, decide, event.event_id) is None:
                raise LookupError("no tenant %s yet" % tenant_id)

    def record_progress(self, event):
        """A party's progress on a tenant's task; idempotent. LookupError
        while the tenant is not here yet (its declaration still to come)."""
        party, status, done = tenant_tasks.party_update_for(event.event_type, event.payload)

        def decide(tenant):
            if "tasks" not in tenant:  # registered before tenants had tasks here
                return None
            now = clock.utcnow()
            if not tenant_tasks.progress(tenant["tasks"][party], status, done, now):
                return None
            refresh(tenant, now)
            return []
        if self.modify(TENANTS, event.payload["tenant_id"], decide, event.event_id) is None:
            raise LookupError("no tenant %s yet" % event.payload["tenant_id"])

    def record_hukou(self, event):
        """Whether the tenant has local hukou (the briefing's category);
        LookupError while the tenant is not here yet."""
        local = event.payload["local_hukou"]

        def decide(tenant):
            if tenant.get("local_hukou") == local:
                return None
            tenant["local_hukou"] = local
            return []
        if self.modify(TENANTS, event.payload["tenant_id"], decide, event.event_id) is None:
            raise LookupError("no tenant %s yet" % event.payload["tenant_id"])

    def due(self, now):
        """Tenants with a task past its limit and not yet marked."""
        return [found["_id"] for found in self.db[TENANTS].find(
            {"next_due_at": {"$lte": now}}, {"_id": 1}).limit(500)]

    def mark_late(self, tenant_id, now):
        """Mark each of the tenant's tasks past its limit overdue, once per
        limit; the parties marked."""
        marked = []

        def decide(tenant):
            del marked[:]
            if tenant["status"] != "active" or "tasks" not in tenant:
                tenant["next_due_at"] = None
                return []
            for party in joint.to_mark(tenant["tasks"], now):
                joint.mark(tenant["tasks"][party], now)
                marked.append(party)
            tenant["next_due_at"] = joint.next_due_at(tenant["tasks"])
            return []
        self.modify(TENANTS, tenant_id, decide)
        return list(marked)

    def active_in(self, flats, most=TENANTS_SHOWN):
        """{flat_id: [its active tenants, newest first]} for the flats of a
        page of households: one query, at most `most` tenants a flat."""
        found = {}
        query = {"flat_id": {"$in": list(flats)}, "status": "active"}
        for tenant in self.db[TENANTS].find(query).sort("registered_at", pymongo.DESCENDING):
            shown = found.setdefault(tenant["flat_id"], [])
            if len(shown) < most:
                shown.append(tenant)
        return found

    def of_flat(self, flat, status=None, limit=50, cursor=None):
        query = {"flat_id": flat}
        if status:
            query["status"] = status
        return self.page(TENANTS, query, "registered_at", pymongo.DESCENDING, limit, cursor)


def refresh(tenant, now):
    """The next limit to watch, and the item closed once both parties are done."""
    tasks = tenant["tasks"]
    tenant["next_due_at"] = joint.next_due_at(tasks) if tenant["status"] == "active" else None
    if tenant.get("closed_at") is None and joint.all_done(tasks):
        tenant["closed_at"] = now


class FlatTenantSchema(Schema):
    id = fields.String(attribute="_id")
    tenancy_id = fields.String()
    name = fields.String()
    id_masked = fields.String()
    flat = fields.Nested(AddressSchema, attribute="address")
    flat_id = fields.String()
    start_date = fields.String()
    status = fields.String()
    ended_on = fields.String(allow_none=True)
    registered_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True)
    local_hukou = fields.Boolean(allow_none=True)
    # the police's check and the property company's access, as the briefing counts them
    parties = fields.Dict(keys=fields.String(), values=fields.Nested(PartyStateSchema),
                          attribute="tasks")


class FlatTenantQuery(PageQuery):
    flat = fields.String(required=True, validate=validate.Length(min=1, max=80),
                         metadata={"description": "the flat's id, building-unit-room (7-1-502)"})
    status = fields.String(validate=validate.OneOf(["active", "ended"]))


FLAT_TENANT = FlatTenantSchema()


class TenantRegistry:
    """The committee's tenants, as a part of its service."""
    tenant_registry = Store(TenantRegistryRepository)

    @event_handler("tenant_housing_declared")
    def on_tenant_housing_declared(self, event):
        self.tenant_registry.register(event, self.infra.settings.time_limits)

    @event_handler("tenant_hukou_recorded")
    def on_tenant_hukou_recorded(self, event):
        self.tenant_registry.record_hukou(event)

    @event_handler("tenant_check_opened")
    @event_handler("tenant_check_completed")
    @event_handler("tenant_access_held")
    @event_handler("tenant_access_issued")
    @event_handler("tenant_access_refused")
    def on_tenant_party_acted(self, event):
        self.tenant_registry.record_progress(event)

    @every("OVERDUE_SCAN_SECONDS")
    def mark_late_tenants(self):
        """Mark the committee's copy of a tenant's task late by the office's
        rule; the office tells the party (`tenancy_party_overdue`)."""
        now = clock.utcnow()
        for tenant_id in self.tenant_registry.due(now):
            self.tenant_registry.mark_late(tenant_id, now)

    @event_handler("tenancy_ended")
    def on_tenancy_ended(self, event):
        self.tenant_registry.end(event)

    @api("GET", "/api/v1/tenants", permission="tenants:read", query=FlatTenantQuery(),
         responses={200: Page(FLAT_TENANT)}, summary="A flat's tenants, masked")
    def list_flat_tenants(self, request):
        query = dict(request.query)
        found = self.tenant_registry.of_flat(**query)
        return page(FLAT_TENANT.dump(found.items, many=True), found, request.query)
