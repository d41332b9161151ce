"""Two small services on the platform library, with a catalogue of their own:
`maker` writes a thing and announces it; `taker` records it. The tests steer
the taker's failures through TAKER_BEHAVIOUR."""
from marshmallow import Schema, fields

from shared.consumer import PoisonEvent, event_handler
from shared.events import Catalogue, EventSpec
from shared.service import PlatformService
from shared.store import Repository, Store, insert_once
from shared.web import api, read_json


class ThingMade(Schema):
    thing_id = fields.String(required=True)
    label = fields.String(required=True)


class NewThing(Schema):
    label = fields.String(required=True)
    size = fields.Integer(required=True)


TOY_CATALOGUE = Catalogue([
    EventSpec("thing_made", "maker", ("taker",), ThingMade),
])

# What the taker's handler does next: a list of "fail" / "poison" / "ok",
# consumed from the front; empty means "ok". Attempts are recorded.
TAKER_BEHAVIOUR = {"script": [], "attempts": []}


class MakerRepository(Repository):
    OUTBOX_COLLECTIONS = ("things",)

    def make(self, thing_id, label):
        event = self.event("thing_made", {"thing_id": thing_id, "label": label}, thing_id)
        self.insert("things", {"_id": thing_id, "label": label}, [event])
        return event

    def touch(self, thing_id):
        """Announce the thing again, read and written under its lock: the
        write knows every event the document then holds."""
        with self.locked("things", thing_id):
            current = self.db["things"].find_one({"_id": thing_id})
            event = self.event("thing_made", {"thing_id": thing_id, "label": current["label"]}, thing_id)
            return self.update("things", {"_id": thing_id, "version": current["version"]},
                               {"$inc": {"touches": 1}}, [event], current)


class TakerRepository(Repository):
    def record(self, event):
        return insert_once(self, "taken", {"_id": event.payload["thing_id"],
                                           "label": event.payload["label"],
                                           "event_id": event.event_id})


class MakerService(PlatformService):
    name = "maker"
    store = Store(MakerRepository)

    @api("POST", "/api/v1/things")
    def make_thing(self, request):
        body = read_json(request, NewThing())
        thing_id = "thing-%s-%d" % (body["label"], body["size"])
        self.store.make(thing_id, body["label"])
        return 201, {"id": thing_id}

    @api("POST", "/api/v1/things/<string:thing_id>/touches")
    def touch_thing(self, request, thing_id):
        return 200, {"written": self.store.touch(thing_id)}


class TakerService(PlatformService):
    name = "taker"
    store = Store(TakerRepository)

    @event_handler("thing_made")
    def on_thing_made(self, event):
        import time
        TAKER_BEHAVIOUR["attempts"].append((event.event_id, time.monotonic()))
        step = TAKER_BEHAVIOUR["script"].pop(0) if TAKER_BEHAVIOUR["script"] else "ok"
        if step == "fail":
            from pymongo.errors import AutoReconnect
            raise AutoReconnect("database unreachable (simulated by the test)")
        if step == "poison":
            raise PoisonEvent("this thing can never be taken")
        self.store.record(event)
