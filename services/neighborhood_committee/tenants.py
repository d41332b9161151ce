"""The committee's registry of a flat's tenants (masked), fed by the
floating-population office's tenancy events.

    GET /api/v1/tenants?flat=<flat_id>&status=active|ended

Keyed by the tenant, found by `flat_id` (shared.catalogue.flat_id), the key
every party keeps flats under: the households of a flat and its tenants are
read the same way. The committee gets a tenant's name, masked ID and flat,
never an ID number or a phone.
"""
import pymongo
from marshmallow import Schema, fields, validate

from shared import clock
from shared.catalogue import AddressSchema, flat_id
from shared.consumer import event_handler
from shared.retention import Identity
from shared.store import Finished, Repository, Store, insert_once
from shared.web import Page, PageQuery, api, page

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

    def register(self, event):
        declared = event.payload
        return insert_once(self, TENANTS, {
            "_id": declared["tenant_id"],
            "tenancy_id": declared["tenancy_id"],
            "name": declared["name"],
            "id_masked": declared["id_masked"],
            "address": declared["address"],
            "flat_id": flat_id(declared["address"]),
            "start_date": declared["start_date"].isoformat(),
            "registered_at": declared["registered_at"],
            "status": "active",
            "ended_at": None,
            "source_event_id": event.event_id,
        })

    def end(self, event):
        """The tenancy ended; LookupError while a tenant is not here yet."""
        for tenant_id in event.payload["tenant_ids"]:
            def decide(tenant):
                if tenant["status"] != "active":
                    return None
                tenant.update(status="ended", ended_at=clock.utcnow(),
                              ended_on=event.payload["ended_on"].isoformat())
                return []
            if self.modify(TENANTS, tenant_id, decide, event.event_id) is None:
                raise LookupError("no tenant %s yet" % tenant_id)

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
        self.tenant_registry.register(event)

    @event_handler("tenancy_ended")
    def on_tenancy_ended(self, event):
        self.tenant_registry.end(event)

    @api("GET", "/api/v1/tenants", permission="tenants:read", query=FlatTenantQuery(),
         responses={200: Page(FLAT_TENANT)}, summary="A flat's tenants, masked")
    def list_flat_tenants(self, request):
        query = dict(request.query)
        found = self.tenant_registry.of_flat(**query)
        return page(FLAT_TENANT.dump(found.items, many=True), found, request.query)
