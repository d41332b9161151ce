"""Events: the envelope every event travels in, and the catalogue type.

An event is a past-tense fact (`returnee_registered`). Every event carries an
envelope: event id, type, producer, schema version, occurred-at (UTC) and the
correlation id of the linkage it belongs to. The payload is dumped through the
event's marshmallow schema when it is written and loaded through it when it is
handled, so a field the schema does not name never leaves the producer.
The payload fields a spec marks `personal` are encrypted under the transit
keys (shared/personal.py) in the envelope, so the producer's outbox, the
queues, dead letters and replays hold ciphertext; they are decrypted just
before the schema loads the payload.
"""
import copy
import uuid
from dataclasses import dataclass, field

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared import clock


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Length(min=1))
    producer = fields.String(required=True, validate=validate.Length(min=1))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=None)
    correlation_id = fields.String(required=True, validate=validate.Length(min=1))
    payload = fields.Dict(required=True)


class InvalidEvent(Exception):
    """A message that is not a valid event of the catalogue: never retried."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class EventSpec:
    """One event type. `producer` is a service, or a tuple of services when
    the same fact can come from several (a case reported at any party).
    `addressed_by` names a payload field that holds one consumer: the event
    is routed to that consumer's queue alone (routing key
    `<event_type>.<consumer>`), so a fact meant for one party, with the data
    that party may see, never sits in another party's queue. `personal`
    names the payload fields that travel encrypted."""
    event_type: str
    producer: object
    consumers: tuple
    schema: type
    version: int = 1
    description: str = ""
    # Older versions still accepted from the wire: {version: schema class}.
    older: dict = field(default_factory=dict)
    addressed_by: str = None
    personal: tuple = ()

    @property
    def producers(self):
        return (self.producer,) if isinstance(self.producer, str) else tuple(self.producer)

    def routing_key(self, payload=None, consumer=None):
        """The routing key of an event (from its payload) or of a consumer's binding."""
        if not self.addressed_by:
            return self.event_type
        return "%s.%s" % (self.event_type, consumer or payload[self.addressed_by])

    def schema_for(self, version):
        if version == self.version:
            return self.schema
        return self.older.get(version)


@dataclass(frozen=True)
class Event:
    """A handled event: the envelope, and the payload loaded through its schema."""
    event_id: str
    event_type: str
    producer: str
    schema_version: int
    occurred_at: object
    correlation_id: str
    payload: dict


class Catalogue:
    """Every event of a system: who produces it, who consumes it, its schema.

    Schema instances are built once here and shared: building one copies
    every declared field (a tenth of the committee's CPU when it was done
    per event), and marshmallow keeps no per-call state on them."""

    def __init__(self, specs):
        self._specs = {}
        self._writers = {}  # event type -> schema of its current version
        self._readers = {}  # (event type, version) -> schema that ignores unknown fields
        self._envelope = EnvelopeSchema()
        self._transit = None
        for spec in specs:
            if spec.event_type in self._specs:
                raise ValueError("event %s declared twice" % spec.event_type)
            self._specs[spec.event_type] = spec
            self._writers[spec.event_type] = spec.schema()
            for version in {spec.version, *spec.older}:
                self._readers[spec.event_type, version] = spec.schema_for(version)(unknown=EXCLUDE)

    def with_transit(self, keyring):
        """This catalogue, sealing and opening personal fields with `keyring`."""
        sealing = copy.copy(self)
        sealing._transit = keyring
        return sealing

    def _field(self, spec, name):
        return "%s.%s" % (spec.event_type, name)

    def __iter__(self):
        return iter(self._specs.values())

    def spec(self, event_type):
        try:
            return self._specs[event_type]
        except KeyError:
            raise KeyError("event type %r is not in the catalogue" % event_type)

    def routing_key(self, envelope):
        """Where the broker routes an envelope on its producer's exchange (an
        event the catalogue does not know goes by its type, and the broker
        refuses it: nothing is bound for it)."""
        spec = self._specs.get(envelope["event_type"])
        return spec.routing_key(envelope["payload"]) if spec else envelope["event_type"]

    def services(self):
        names = set()
        for spec in self:
            names.update(spec.producers)
            names.update(spec.consumers)
        return sorted(names)

    def new_event(self, event_type, payload, correlation_id, producer=None):
        """The envelope, as the plain dict that is stored in the outbox and
        published. Raises ValueError when the payload breaks its schema: that
        is a bug in the producer, and nothing must be written."""
        spec = self.spec(event_type)
        if producer is None and len(spec.producers) == 1:
            producer = spec.producer
        if producer not in spec.producers:
            raise ValueError("%s is produced by %s, not %s" % (event_type, spec.producers, producer))
        schema = self._writers[event_type]
        dumped = schema.dump(payload)
        errors = schema.validate(dumped)
        if errors:
            raise ValueError("%s payload is invalid: %s" % (event_type, errors))
        if spec.addressed_by and dumped.get(spec.addressed_by) not in spec.consumers:
            raise ValueError("%s is addressed to %r, not one of its consumers"
                             % (event_type, dumped.get(spec.addressed_by)))
        if self._transit is not None:
            for name in [name for name in spec.personal if name in dumped]:
                dumped[name] = self._transit.seal(dumped[name], self._field(spec, name))
        return {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "producer": producer,
            "schema_version": spec.version,
            "occurred_at": clock.isoformat(clock.utcnow()),
            "correlation_id": str(correlation_id),
            "payload": dumped,
        }

    def load(self, body):
        """An Event from a message body; InvalidEvent says why not."""
        if not isinstance(body, dict):
            raise InvalidEvent("body is not a JSON object")
        try:
            envelope = self._envelope.load(body)
        except ValidationError as exc:
            raise InvalidEvent("envelope: %s" % exc.messages)
        try:
            spec = self.spec(envelope["event_type"])
        except KeyError as exc:
            raise InvalidEvent(str(exc))
        if envelope["producer"] not in spec.producers:
            raise InvalidEvent("%s is not produced by %s" % (spec.event_type, envelope["producer"]))
        schema = self._readers.get((spec.event_type, envelope["schema_version"]))
        if schema is None:
            raise InvalidEvent("%s has no schema version %s" % (spec.event_type, envelope["schema_version"]))
        try:
            payload = schema.load(self._opened(spec, envelope["payload"]))
        except ValidationError as exc:
            raise InvalidEvent("payload: %s" % exc.messages)
        return Event(
            event_id=str(envelope["event_id"]),
            event_type=spec.event_type,
            producer=envelope["producer"],
            schema_version=envelope["schema_version"],
            occurred_at=envelope["occurred_at"],
            correlation_id=envelope["correlation_id"],
            payload=payload,
        )

    def _opened(self, spec, payload):
        if self._transit is None or not spec.personal:
            return payload
        opened = dict(payload)
        for name in [name for name in spec.personal if name in payload]:  # in order: errors name the first
            try:
                opened[name] = self._transit.open(payload[name], self._field(spec, name))
            except ValueError as exc:
                raise InvalidEvent("payload: %s" % exc)
        return opened
