"""What a service container shares: settings, one Mongo client, one publishing
broker connection, metrics, the catalogue. Entrypoints and dependency
providers reach it as a nameko SharedExtension, so each container builds
these once in `setup()` and closes them in `stop()`."""
import logging
import os
import threading

from nameko.exceptions import ConfigurationError
from nameko.extensions import SharedExtension
from pymongo import MongoClient

from shared import clock, metrics
from shared.broker import Broker, BrokerBusy
from shared.catalogue import CATALOGUE
from shared.settings import Settings
from shared.locks import make_locks
from shared.writes import Writes

log = logging.getLogger(__name__)


def _check_resolver():
    if os.environ.get("EVENTLET_NO_GREENDNS", "").lower() != "yes":
        raise ConfigurationError(
            "set EVENTLET_NO_GREENDNS=yes before starting (eventlet's green DNS resolver "
            "breaks pymongo's getaddrinfo calls); `linkage run` does this for you")


class Platform(SharedExtension):
    """Built by whichever of its users sets up first (nameko sets extensions
    up concurrently), exactly once."""

    _ready = False

    def setup(self):
        self.ensure_ready()

    def ensure_ready(self):
        if not hasattr(self, "_lock"):
            self._lock = threading.Lock()
        with self._lock:
            if not self._ready:
                self._build()
                self._ready = True

    def _build(self):
        _check_resolver()
        service = self.container.service_name
        config = self.container.config
        self.settings = Settings.from_config(service, config)
        if self.settings.clock_offset_seconds:
            clock.set_offset(self.settings.clock_offset_seconds)
        # Tests pass their own catalogue; the product has one. Its personal
        # fields travel under the transit keys.
        self.catalogue = (config.get("LINKAGE_CATALOGUE") or CATALOGUE).with_transit(
            self.settings.transit_keyring())
        self.personal = self.settings.keyring()
        self.metrics = metrics.for_service(service)
        self.client = MongoClient(
            self.settings.mongo_uri,
            tz_aware=True,
            serverSelectionTimeoutMS=int(config.get("MONGO_TIMEOUT_MS") or 5000),
            connectTimeoutMS=5000,
            appname=service,
        )
        self.db = self.client[self.settings.db_name]
        # Holds the document locks: this process's, or every replica's (DOCUMENT_LOCKS).
        self.writes = Writes(self.db, locks=make_locks(self.settings.document_locks, self.db),
                             mode=self.settings.write_guards)
        self.broker = Broker(self.settings.amqp_uri, self.catalogue, self.settings.retry_delays_ms,
                             owner=self.settings.topology_owner)

    def stop(self):
        self.broker.close()
        self.client.close()

    def kill(self):
        self.stop()

    def database_reachable(self):
        try:
            self.client.admin.command("ping")
            return True
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False

    def broker_state(self):
        """`up`, `blocked` (it holds our publishes back: a resource alarm)
        or `down`."""
        try:
            self.broker.ping()
            return "up"
        except BrokerBusy as exc:
            log.warning("broker blocked: %s", exc)
            return "blocked"
        except Exception:
            log.warning("broker ping failed", exc_info=True)
            return "down"
