"""The audit trail: full-identity reads, and sign-ins, failed sign-ins,
lockouts and sign-outs.

Every API response or RPC reply that carries a full ID number first writes an
audit record: who (user and agency), whose identity (the linkage id and the
masked ID), when, and through what (the route). If the record cannot be
written, the identity is not handed out.
"""
import uuid

from nameko.extensions import DependencyProvider
from marshmallow import Schema, fields, validate

from shared import clock
from shared.errors import ServiceUnavailable
from shared.identity import mask_id
from shared.platform import Platform

COLLECTION = "audit"


ACTIONS = ("full_identity_read", "sign_in", "sign_in_failed", "locked", "sign_out")


class AuditRecordSchema(Schema):
    id = fields.String(attribute="_id")
    at = fields.AwareDateTime()
    action = fields.Function(lambda record: record.get("action", "full_identity_read"))
    user = fields.String()
    agency = fields.String()
    returnee_id = fields.String()
    id_masked = fields.String()
    via = fields.String()
    purpose = fields.String()


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditRecordSchema))


class AuditQuery(Schema):
    returnee_id = fields.String()
    action = fields.String(validate=validate.OneOf(ACTIONS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class AuditLog:
    def __init__(self, collection, metrics, agency):
        self.collection = collection
        self.metrics = metrics
        self.agency = agency

    def full_identity_read(self, principal, people, via, purpose):
        """Record that `principal` received the full identities of `people`
        (dicts with `returnee_id` and `id_number`) through `via`."""
        now = clock.utcnow()
        records = [{
            "_id": str(uuid.uuid4()),
            "at": now,
            "user": principal.subject,
            "agency": principal.agency,
            "returnee_id": person["returnee_id"],
            "id_masked": mask_id(person["id_number"]),
            "via": via,
            "purpose": purpose,
        } for person in people]
        if not records:
            return
        try:
            self.collection.insert_many(records)
        except Exception as exc:
            raise ServiceUnavailable("audit trail unavailable; identities withheld") from exc
        self.metrics.audit_records.labels(via).inc(len(records))

    def account_event(self, username, action, via, purpose):
        """A sign-in, a failed one, a lockout or a sign-out."""
        record = {"_id": str(uuid.uuid4()), "at": clock.utcnow(), "action": action,
                  "user": username, "agency": self.agency, "via": via, "purpose": purpose}
        try:
            self.collection.insert_one(record)
        except Exception as exc:
            raise ServiceUnavailable("audit trail unavailable; try again") from exc
        self.metrics.audit_records.labels(via).inc()

    def records(self, returnee_id=None, action=None, limit=100):
        query = {"agency": self.agency}
        if returnee_id:
            query["returnee_id"] = returnee_id
        if action == "full_identity_read":
            query["action"] = {"$exists": False}
        elif action:
            query["action"] = action
        cursor = self.collection.find(query).sort("at", -1).limit(limit)
        return AuditRecordSchema(many=True).dump(list(cursor))


class Audit(DependencyProvider):
    platform = Platform()

    def start(self):
        self.platform.db[COLLECTION].create_index([("agency", 1), ("at", -1)])

    def get_dependency(self, worker_ctx):
        return AuditLog(self.platform.db[COLLECTION], self.platform.metrics,
                        self.container.service_name)
