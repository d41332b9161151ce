"""The ceiling: the returnee linkage's message pattern on bare kombu and
pymongo, without the platform.

One event fanned out to four consumers, four replies consumed by a fifth;
every step a persistent write (FerretDB, acknowledged) and a persistent
message published with publisher confirms, through the same broker and the
same database as the platform, with the same queue type (quorum) and the
same prefetch. What it leaves out is everything the platform adds: HTTP,
auth, schemas, the outbox and its relay, idempotency records, retries,
dead-lettering, metrics and logs.

Five processes, as the platform has:

- `committee`: producer threads write a registration and publish
  `registered` at a fixed rate (open loop); reply-consumer threads record
  each party's reply (one update by `_id`), and `dispatched_at` with the
  fourth (counted in memory: a ceiling keeps no more state than it must).
  Replies are partitioned by registration id over the reply threads, so one
  document is only ever written by one thread (FerretDB on SQLite loses
  concurrent updates of one document, see shared/locks.py).
- `party` (x4): consumer threads insert the party's record and publish the
  reply, then acknowledge.

    python -m bench.ceiling party --party community_police ...
    python -m bench.ceiling committee --rate 200 --duration 20 ...
"""
import argparse
import hashlib
import json
import signal
import sys
import threading
import time
from datetime import datetime, timezone

from kombu import Connection, Consumer, Exchange, Producer, Queue
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from shared.parties import LINKED

REGISTERED = Exchange("ceiling.registered", type="fanout", durable=True)
REPLIES = Exchange("ceiling.replies", type="direct", durable=True)
QUORUM = {"x-queue-type": "quorum"}
PREFETCH = 10  # what nameko gives each service (max_workers)


def party_queue(party):
    return Queue("ceiling.%s" % party, exchange=REGISTERED, routing_key="", durable=True,
                 queue_arguments=QUORUM)


def reply_queue(partition):
    return Queue("ceiling.replies.%d" % partition, exchange=REPLIES, routing_key=str(partition),
                 durable=True, queue_arguments=QUORUM)


def partition_of(returnee_id, partitions):
    return int(hashlib.md5(returnee_id.encode()).hexdigest(), 16) % partitions


def utcnow():
    return datetime.now(timezone.utc)


def declare(amqp_uri, partitions):
    with Connection(amqp_uri, connect_timeout=5) as connection:
        channel = connection.channel()
        for party in LINKED:
            party_queue(party)(channel).declare()
        for partition in range(partitions):
            reply_queue(partition)(channel).declare()


class Publisher:
    """A confirmed publishing channel on a connection of its own (waiting for
    a confirm on a consuming channel would run delivery callbacks inside it)."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri, connect_timeout=5,
                                     transport_options={"confirm_publish": True})
        self.connection.connect()
        self.producer = Producer(self.connection.channel())

    def publish(self, body, exchange, routing_key):
        self.producer.publish(json.dumps(body, separators=(",", ":")), exchange=exchange,
                              routing_key=routing_key, delivery_mode=2, mandatory=True,
                              content_type="application/json", content_encoding="utf-8")

    def close(self):
        self.connection.release()


def consume(amqp_uri, queue, on_message, stop):
    """Run `on_message(body_dict, message)` for each delivery until `stop`."""
    with Connection(amqp_uri, connect_timeout=5, heartbeat=0) as connection:
        channel = connection.channel()
        consumer = Consumer(channel, queues=[queue], callbacks=[on_message],
                            accept=["json"], prefetch_count=PREFETCH)
        consumer.qos(prefetch_count=PREFETCH)
        with consumer:
            while not stop.is_set():
                try:
                    connection.drain_events(timeout=0.5)
                except TimeoutError:
                    continue


def run_party(args):
    db = MongoClient(args.mongo, tz_aware=True)[args.db_prefix + args.party]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def worker():
        publisher = Publisher(args.amqp)

        def on_message(body, message):
            if isinstance(body, str):
                body = json.loads(body)
            returnee_id = body["returnee_id"]
            try:
                db.records.insert_one({"_id": returnee_id, "name": body["name"],
                                       "address": body["address"], "recorded_at": utcnow()})
            except DuplicateKeyError:
                pass  # a redelivery: the record is there, reply again
            publisher.publish({"returnee_id": returnee_id, "party": args.party,
                               "at": utcnow().isoformat()},
                              REPLIES.name, str(partition_of(returnee_id, args.partitions)))
            message.ack()
        try:
            consume(args.amqp, party_queue(args.party), on_message, stop)
        finally:
            publisher.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=5)


def run_committee(args):
    """One step: produce for `duration` at `rate`, wait until every
    registration is dispatched (or `drain_timeout`), print a JSON summary."""
    db = MongoClient(args.mongo, tz_aware=True)[args.db_prefix + "committee"]
    registrations = db.registrations
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()
    state = {"next": 0, "dispatched": 0, "replies": 0, "errors": 0}
    total = int(round(args.rate * args.duration))
    lateness = [None] * total

    seen = {}  # returnee id -> parties replied; each id belongs to one reply thread

    def on_reply(body, message):
        if isinstance(body, str):
            body = json.loads(body)
        returnee_id, now = body["returnee_id"], utcnow()
        parties = seen.setdefault(returnee_id, set())
        fresh = body["party"] not in parties
        parties.add(body["party"])
        changes = {"parties.%s" % body["party"]: now}
        complete = fresh and len(parties) == len(LINKED)
        if complete:
            changes["dispatched_at"] = now
        # One write per reply, filtered on _id alone: the only filter FerretDB
        # 1.24 on SQLite hands to SQLite instead of decoding every document.
        registrations.update_one({"_id": returnee_id}, {"$set": changes})
        with lock:
            state["replies"] += 1
            if complete:
                state["dispatched"] += 1
                del seen[returnee_id]
        message.ack()

    consumers = [threading.Thread(target=consume, daemon=True,
                                  args=(args.amqp, reply_queue(p), on_reply, stop))
                 for p in range(args.partitions)]
    for thread in consumers:
        thread.start()

    start = time.monotonic() + 0.5
    start_wall = time.time() + 0.5
    cpu_start = time.process_time()

    def producer():
        publisher = Publisher(args.amqp)
        try:
            while True:
                with lock:
                    index = state["next"]
                    state["next"] += 1
                if index >= total:
                    return
                due = start + index / args.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                lateness[index] = max(0.0, time.monotonic() - due)
                returnee_id = "%s-%06d" % (args.run_id, index)
                registration = {
                    "returnee_id": returnee_id, "name": "Ceiling %d" % index,
                    "id_number": "420106199001011234", "phone": "13900000000",
                    "address": {"building": "1", "unit": "1", "room": "101"},
                    "origin": "Wuhan, Hubei", "arrival_date": "2024-01-01", "local_hukou": False,
                }
                try:
                    registrations.insert_one(dict(registration, _id=returnee_id,
                                                  created_at=utcnow(), parties={},
                                                  dispatched_at=None))
                    publisher.publish(registration, REGISTERED.name, "")
                except Exception as exc:
                    with lock:
                        state["errors"] += 1
                        if state["errors"] <= 3:
                            print("produce failed: %r" % exc, file=sys.stderr, flush=True)
        finally:
            publisher.close()

    producers = [threading.Thread(target=producer, daemon=True) for _ in range(args.threads)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    produced_wall = time.time()
    deadline = time.monotonic() + args.drain_timeout
    while time.monotonic() < deadline and not stop.is_set():
        with lock:
            if state["dispatched"] >= total - state["errors"]:
                break
        time.sleep(0.05)
    stop.set()
    for thread in consumers:
        thread.join(timeout=5)
    print(json.dumps({"total": total, "started_wall": start_wall, "produced_wall": produced_wall,
                      "ended_wall": time.time(), "dispatched": state["dispatched"],
                      "replies": state["replies"], "errors": state["errors"],
                      "cpu_seconds": time.process_time() - cpu_start,
                      "lateness": [value for value in lateness if value is not None]}), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench.ceiling")
    parser.add_argument("role", choices=["party", "committee", "declare"])
    parser.add_argument("--amqp", required=True)
    parser.add_argument("--mongo", required=True)
    parser.add_argument("--db-prefix", required=True)
    parser.add_argument("--party", choices=LINKED)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--drain-timeout", type=float, default=60)
    parser.add_argument("--run-id", default="c")
    args = parser.parse_args(argv)
    if args.role == "declare":
        declare(args.amqp, args.partitions)
    elif args.role == "party":
        run_party(args)
    else:
        run_committee(args)


if __name__ == "__main__":
    sys.exit(main())
