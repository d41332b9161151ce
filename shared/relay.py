"""The outbox relay: publishes the events that services wrote into their
documents, with publisher confirms, then marks them sent.

Right after a write that carries events, the store hands it the document's
`_id` and the envelopes it wrote, so events leave within milliseconds and
without a read. It also scans for everything due every OUTBOX_SCAN_SECONDS,
and at each retry while the broker is unreachable, so events written while
the broker was down, or by a process that died before publishing, go out
once it is back. (Avoiding scans on every write matters on FerretDB's SQLite
backend, where any filter but `{_id}` decodes every document of the
collection.) Broker or database errors back off exponentially up to 30 s.

Marking events sent normally reads the document under its lock, to see
whether anything else is pending. When this process is the document's only
writer (WRITE_GUARDS resolved to `process`, DOCUMENT_LOCKS=process), the
relay can know that without the read: each hand-over says which events the
document held right after that write, and gets a number, the latest for
that document. If the hand-over being marked is still the latest, and every
event it named went out, the mark is one write by `_id`. Anything else (a
later write, a refused event, a restart, a dropped hand-over) takes the read.
"""
import logging
import threading
import time

import eventlet
from nameko.extensions import DependencyProvider

from shared import clock, journal, outbox
from shared.platform import Platform
from shared.store import Store

log = logging.getLogger(__name__)

BATCH = 200
MAX_BACKOFF_SECONDS = 30.0
# The backlog gauges read every pending document. On FerretDB's SQLite backend
# any filter but a bare `_id` decodes every document of the collection, so
# reading them on every poll (twice a second under tests.system) cost more
# database CPU than the events themselves. A gauge scraped every 15 s needs no
# fresher value; after a failure it is refreshed at once, so an outage shows.
GAUGE_SECONDS = 15.0
UNROUTABLE_RETRY_SECONDS = 60.0
WRITTEN_MAX = 10000
SCANNED_MAX = 2 * WRITTEN_MAX  # a hand-over older than this many ids has left the queue


class OutboxRelay(DependencyProvider):
    platform = Platform()
    notes = journal.Notes()

    def setup(self):
        self._wakeup = threading.Event()
        self._written = outbox.HandOvers(WRITTEN_MAX)  # written, not yet relayed
        # Event ids the last two scans published: their entries may still be
        # queued (a write's hand-over can follow a scan that already saw it).
        # Bounded (SCANNED_MAX): a scan after a long outage may publish a
        # large backlog, and only its most recent ids can still be queued.
        self._scanned, self._scanned_before = set(), set()
        self._running = False
        self._thread = None
        self.collections = []  # of every store of the service (linkages, cases, ...)
        for dependency in sorted(self.container.dependencies, key=lambda d: d.attr_name):
            if isinstance(dependency, Store):
                dependency.relay_wakeup = self.wake
                self.collections += [name for name in dependency.repository_cls.OUTBOX_COLLECTIONS
                                     if name not in self.collections]

    def start(self):
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._run, identifier="outbox_relay")

    def stop(self):
        self._running = False
        self._wakeup.set()
        if self._thread is not None:
            self._thread.wait()

    def kill(self):
        self._running = False
        if self._thread is not None:
            self._thread.kill()

    def wake(self, collection=None, document_id=None, envelopes=(), pending=None):
        """A write's hand-over, under the document's lock: the envelopes it
        wrote and, when the writer knows it, every event id the document
        holds now (`pending`)."""
        if collection is not None:
            self._written.add(collection, document_id, envelopes, pending)
        self._wakeup.set()

    def _run(self):
        poll = self.platform.settings.outbox_poll_seconds
        scan = max(poll, self.platform.settings.outbox_scan_seconds)
        backoff = 0.0
        last_gauge = last_scan = float("-inf")
        while self._running:
            self._wakeup.wait(timeout=backoff or poll)
            self._wakeup.clear()
            if not self._running:
                break
            try:
                if not backoff:
                    self.relay_written()
                if backoff or time.monotonic() - last_scan >= scan:
                    last_scan = time.monotonic()
                    self._scanned_before, self._scanned = self._scanned, set()
                    while self._running and self.relay_once() >= BATCH:
                        eventlet.sleep(0)
                backoff = 0.0
            except Exception as exc:
                backoff = min(max(backoff * 2, poll), MAX_BACKOFF_SECONDS)
                self.platform.metrics.outbox_publish_failures.inc()
                log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, exc)
            now = time.monotonic()
            if backoff or now - last_gauge >= max(poll, GAUGE_SECONDS):
                last_gauge = now
                self._update_gauges()

    def relay_written(self):
        """Publish the events the store said it wrote, as it handed them over."""
        handled = 0
        while self._written and self._running:
            hand_over = self._written.next()
            # A scan may have sent some of them already (say, after an outage).
            envelopes = [env for env in hand_over.envelopes if env["event_id"] not in self._scanned
                         and env["event_id"] not in self._scanned_before]
            if envelopes:
                self._publish(self.platform.db[hand_over.collection], hand_over.document_id,
                              envelopes, hand_over)
            self._written.done(hand_over)
            handled += 1
        return handled

    def relay_once(self):
        """Publish what is due; the number of documents handled."""
        handled = 0
        for name in self.collections:
            collection = self.platform.db[name]
            due = collection.find(outbox.pending_query(clock.utcnow()), outbox.PROJECTION).limit(BATCH)
            for document in due:
                envelopes = outbox.pending_events(document)
                self._publish(collection, document["_id"], envelopes)
                if len(self._scanned) < SCANNED_MAX:
                    self._scanned.update(env["event_id"] for env in envelopes)
                handled += 1
        return handled

    def _publish(self, collection, document_id, envelopes, hand_over=None):
        """A document's events in one confirmed batch, then marked published.
        If the batch fails, none is marked: the document stays due and the
        scan sends them again (consumers are idempotent)."""
        sent_at = clock.utcnow()
        refused = set(self.platform.broker.publish_events(envelopes)) if envelopes else set()
        for envelope in envelopes:
            if envelope["event_id"] not in refused:
                self.platform.metrics.events_published.labels(envelope["event_type"]).inc()
        confirmed = [env for env in envelopes if env["event_id"] not in refused]
        published = [env["event_id"] for env in confirmed]
        all_sent = None
        if hand_over is not None and self.platform.writes.sole_writer:
            all_sent = self._written.all_sent(hand_over, published)
        outbox.mark_published(self.platform.writes, collection, document_id, published, all_sent)
        self.notes.add(journal.published(confirmed, sent_at, {
            env["event_id"]: self.platform.catalogue.routing_key(env) for env in confirmed}))
        if refused:
            # The broker is up but will not take these events (their topology
            # is missing): set the document aside so the others keep flowing.
            outbox.postpone(collection, document_id, UNROUTABLE_RETRY_SECONDS)
            self.platform.metrics.outbox_publish_failures.inc()
            log.error("the broker refused %d event(s) of %s/%s; retrying in %ss: %s", len(refused),
                      collection.name, document_id, UNROUTABLE_RETRY_SECONDS,
                      sorted(env["event_type"] for env in envelopes if env["event_id"] in refused))

    def _update_gauges(self):
        backlog, oldest = 0, None
        try:
            for name in self.collections:
                pending = self.platform.db[name].find({"outbox_due": {"$ne": None}}, {"outbox": 1})
                for document in pending.limit(10000):
                    for envelope in (document.get("outbox") or {}).values():
                        backlog += 1
                        occurred = clock.parse(envelope["occurred_at"])
                        oldest = occurred if oldest is None or occurred < oldest else oldest
        except Exception:
            log.warning("could not measure the outbox backlog", exc_info=True)
            return
        self.platform.metrics.outbox_backlog.set(backlog)
        age = (clock.utcnow() - oldest).total_seconds() if oldest else 0.0
        self.platform.metrics.outbox_oldest_age.set(max(age, 0.0))
