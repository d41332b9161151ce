"""The committee's resident registry of handed-over flats:

    GET /api/v1/households?flat=&building=   the households registered, by flat or building

A household is registered when the developer hands its flat over
(`flat_handover_recorded`): the flat, the members' names and the handover
date, one document per flat (a redelivered event changes nothing). The
committee learns no more of a flat than that; a resident's repairs stay
between the property company and the developer. Each household is shown
with the flat's active tenants, masked (services/neighborhood_committee/
tenants.py: the floating-population office's tenancies).
"""
import pymongo
from marshmallow import Schema, fields, validate

from shared import clock
from shared.catalogue import AddressSchema
from shared.consumer import event_handler
from shared.store import Repository, Store, insert_once
from shared.web import Page, PageQuery, api, page

from services.neighborhood_committee.tenants import FlatTenantSchema

HOUSEHOLDS = "households"


class RegistryRepository(Repository):

    @classmethod
    def create_indexes(cls, db):
        super().create_indexes(db)
        db[HOUSEHOLDS].create_index([("flat.building", 1), ("_id", 1)])

    def register(self, event):
        handover = event.payload
        return insert_once(self, HOUSEHOLDS, {
            "_id": handover["handover_id"],
            "flat": handover["flat"],
            "members": handover["members"],
            "handed_over_on": handover["handed_over_on"].isoformat(),
            "registered_at": clock.utcnow(),
            "source_event_id": event.event_id,
        })

    def search(self, flat=None, building=None, limit=50, cursor=None):
        query = {}
        if flat:
            query["_id"] = flat
        if building:
            query["flat.building"] = building
        return self.page(HOUSEHOLDS, query, "_id", pymongo.ASCENDING, limit, cursor)


class RegisteredHouseholdSchema(Schema):
    id = fields.String(attribute="_id")
    flat = fields.Nested(AddressSchema)
    members = fields.List(fields.String())
    handed_over_on = fields.String()
    registered_at = fields.AwareDateTime()
    tenants = fields.List(fields.Nested(FlatTenantSchema(only=(
        "id", "tenancy_id", "name", "id_masked", "start_date", "registered_at"))),
        metadata={"description": "the flat's active tenants, masked, newest first (at most 20)"})


class RegistryQuery(PageQuery):
    flat = fields.String(validate=validate.Length(min=1, max=70))  # building-unit-room
    building = fields.String(validate=validate.Length(min=1, max=20))


REGISTERED = RegisteredHouseholdSchema()


class HouseholdRegistry:
    """Mixed into the committee's service, with TenantRegistry (its tenants)."""
    registry = Store(RegistryRepository)

    @api("GET", "/api/v1/households", permission="households:read", query=RegistryQuery(),
         responses={200: Page(REGISTERED)}, summary="The resident registry: households by flat or building")
    def list_households(self, request):
        found = self.registry.search(**request.query)
        tenants = self.tenant_registry.active_in(household["_id"] for household in found.items)
        households = [dict(household, tenants=tenants.get(household["_id"], []))
                      for household in found.items]
        return page(REGISTERED.dump(households, many=True), found, request.query)

    @event_handler("flat_handover_recorded")
    def on_flat_handover_recorded(self, event):
        self.registry.register(event)
