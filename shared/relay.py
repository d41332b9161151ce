"""The outbox relay: publishes the events that services wrote into their
documents, with publisher confirms, then marks them sent.

It is woken right after a write that carries events (so events leave within
milliseconds), and also polls, so events written while the broker was down,
or by a process that died before publishing, go out once the broker is back.
Broker or database errors back off exponentially up to 30 s.
"""
import logging
import threading
import time

import eventlet
from nameko.extensions import DependencyProvider

from shared import clock, outbox
from shared.broker import Unroutable
from shared.platform import Platform
from shared.store import Store

log = logging.getLogger(__name__)

BATCH = 200
MAX_BACKOFF_SECONDS = 30.0
UNROUTABLE_RETRY_SECONDS = 60.0


class OutboxRelay(DependencyProvider):
    platform = Platform()

    def setup(self):
        self._wakeup = threading.Event()
        self._running = False
        self._thread = None
        for dependency in self.container.dependencies:
            if isinstance(dependency, Store):
                dependency.relay_wakeup = self._wakeup.set
                self.collections = dependency.repository_cls.OUTBOX_COLLECTIONS

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

    def wake(self):
        self._wakeup.set()

    def _run(self):
        poll = self.platform.settings.outbox_poll_seconds
        backoff = 0.0
        last_gauge = 0.0
        while self._running:
            woken = self._wakeup.wait(timeout=backoff or poll)
            self._wakeup.clear()
            if not self._running:
                break
            try:
                while self._running and self.relay_once() >= BATCH:
                    eventlet.sleep(0)
                backoff = 0.0
            except Exception as exc:
                backoff = min(max(backoff * 2, poll), MAX_BACKOFF_SECONDS)
                self.platform.metrics.outbox_publish_failures.inc()
                log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, exc)
            now = time.monotonic()
            if not woken or now - last_gauge >= poll:
                last_gauge = now
                self._update_gauges()

    def relay_once(self):
        """Publish what is due; the number of documents handled."""
        handled = 0
        for name in self.collections:
            collection = self.platform.db[name]
            due = collection.find(outbox.pending_query(clock.utcnow()),
                                  {"outbox": 1, "version": 1}).limit(BATCH)
            for document in due:
                self._publish_document(collection, document)
                handled += 1
        return handled

    def _publish_document(self, collection, document):
        published, refused = [], None
        try:
            for envelope in outbox.pending_events(document):
                self.platform.broker.publish_event(envelope)
                self.platform.metrics.events_published.labels(envelope["event_type"]).inc()
                published.append(envelope["event_id"])
        except Unroutable as exc:
            refused = exc
        finally:
            with self.platform.locks.hold((collection.name, document["_id"])):
                outbox.mark_published(collection, document, published)
                if refused is not None:
                    # The broker is up but will not take this event (its topology is
                    # missing): set the document aside so the others keep flowing.
                    outbox.postpone(collection, document, UNROUTABLE_RETRY_SECONDS)
        if refused is not None:
            self.platform.metrics.outbox_publish_failures.inc()
            log.error("event refused by the broker; retrying its document in %ss: %s",
                      UNROUTABLE_RETRY_SECONDS, refused)

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
