"""A copy of every event the services publish: one durable queue of our own
bound to every producer's exchange with `#`, read at the end. It tells how
many distinct events of each type were published for each linkage (two
distinct ones for one fact are a duplicated effect) and how often each was
published (the same event twice is the outbox's at-least-once, harmless)."""
from collections import Counter, defaultdict

from kombu import Connection, Exchange, Queue

from shared.catalogue import CATALOGUE
from shared.topology import event_exchange_name

TAP = "faults.tap"


def producers():
    return sorted({producer for spec in CATALOGUE for producer in spec.producers})


def install(amqp_uri):
    """Bind the tap to every producer exchange (the services declared them)."""
    with Connection(amqp_uri, connect_timeout=10) as connection:
        channel = connection.channel()
        queue = Queue(TAP, durable=True, channel=channel)
        queue.declare()
        for producer in producers():
            exchange = Exchange(event_exchange_name(producer), type="topic", durable=True,
                                channel=channel)
            exchange.declare(passive=True)
            queue.bind_to(exchange, routing_key="#")


def drain(amqp_uri, idle_seconds=2.0):
    """Every event the tap holds, as the envelopes that were published."""
    events = []
    with Connection(amqp_uri, connect_timeout=10) as connection:
        queue = Queue(TAP, durable=True)

        def take(body, message):
            events.append(body)
            message.ack()

        with connection.Consumer(queue, callbacks=[take], accept=["json"], prefetch_count=500):
            while True:
                try:
                    connection.drain_events(timeout=idle_seconds)
                except TimeoutError:
                    break
                except OSError as exc:  # socket.timeout on older kombu
                    if "timed out" not in str(exc):
                        raise
                    break
    return events


class Published:
    """The tap's events indexed by linkage: distinct event ids per type, and
    publications per event id."""

    def __init__(self, events):
        self.ids = defaultdict(lambda: defaultdict(set))   # returnee -> type -> {event_id}
        self.publications = Counter()                       # event_id -> times published
        self.overdue = defaultdict(set)                     # (returnee, party) -> {event_id}
        for envelope in events:
            payload = envelope.get("payload") or {}
            returnee = payload.get("returnee_id")
            if returnee is None:
                continue
            self.ids[returnee][envelope["event_type"]].add(envelope["event_id"])
            self.publications[envelope["event_id"]] += 1
            if envelope["event_type"] == "linkage_party_overdue":
                self.overdue[(returnee, payload["party"])].add(envelope["event_id"])

    def distinct(self, returnee, *event_types):
        return sum(len(self.ids[returnee][t]) for t in event_types) if returnee in self.ids else 0

    def republished(self):
        """Events published more than once (same id): the relay's at-least-once."""
        return sum(1 for count in self.publications.values() if count > 1)

    def overdue_ids(self):
        return {event_id for ids in self.overdue.values() for event_id in ids}
