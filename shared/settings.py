"""Settings of a service, read from its nameko config (which `nameko.yaml`
fills from the environment, and tests fill directly).

Secrets come only from the environment. LINKAGE_SECRET is the service's own
token-signing key (each agency's service has its own); in development,
without it, each agency's key is derived from the development secret.
Production refuses to start on the development secret. The personal-data
keys (shared/personal.py) follow the same rule: PERSONAL_DATA_KEYS and
BLIND_INDEX_KEY are the service's own, TRANSIT_KEYS are shared by the
services that exchange personal data; in development each defaults to a key
derived from the development secret, which production refuses.
"""
from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared import personal
from shared.auth import development_key
from shared.parties import LINKED
from shared.locks import MODES as DOCUMENT_LOCK_MODES
from shared.writes import MODES as WRITE_GUARD_MODES

DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"

DEFAULT_RETRY_DELAYS_MS = (1000, 5000, 30000, 120000, 600000)
DEFAULT_TIME_LIMITS = {
    "community_police": 4 * 3600,
    "property_company": 4 * 3600,
    "floating_population_office": 24 * 3600,
    "developer": 24 * 3600,
}


class InsecureConfiguration(Exception):
    pass


def _ms_list(value):
    if value in (None, ""):
        return DEFAULT_RETRY_DELAYS_MS
    if isinstance(value, (list, tuple)):
        return tuple(int(item) for item in value)
    return tuple(int(item) for item in str(value).replace(" ", "").split(",") if item)


def _write_guards(value):
    value = "auto" if _blank(value) else str(value).strip().lower()
    if value not in WRITE_GUARD_MODES:
        raise ValueError("WRITE_GUARDS must be one of %s, not %r" % (", ".join(WRITE_GUARD_MODES), value))
    return value


TOPOLOGY_SCOPES = ("all", "own")


def _declare_topology(value):
    value = "all" if _blank(value) else str(value).strip().lower()
    if value not in TOPOLOGY_SCOPES:
        raise ValueError("DECLARE_TOPOLOGY must be one of %s, not %r" % (", ".join(TOPOLOGY_SCOPES), value))
    return value


def _document_locks(value):
    value = "process" if _blank(value) else str(value).strip().lower()
    if value not in DOCUMENT_LOCK_MODES:
        raise ValueError("DOCUMENT_LOCKS must be one of %s, not %r" % (", ".join(DOCUMENT_LOCK_MODES), value))
    return value


def _fraction(config, name, default):
    value = config.get(name)
    value = default if _blank(value) else float(value)
    if not 0 <= value <= 1:
        raise ValueError("%s must be between 0 and 1, not %r" % (name, value))
    return value


def _season(config, name, default):
    """A yearly season as `MM-DD/MM-DD` (checked here so a bad one stops the
    service at start; services/property_company/warranty.py reads it)."""
    value = config.get(name)
    value = default if _blank(value) else str(value).strip()
    try:
        first, last = value.split("/")
        for part in (first, last):
            month, day = (int(number) for number in part.split("-"))
            date(2024, month, day)
    except (ValueError, TypeError):
        raise ValueError("%s must be MM-DD/MM-DD (e.g. %s), not %r" % (name, default, value))
    if first == last:
        raise ValueError("%s must not start and end on the same day" % name)
    return value


def _positive_int(config, name, default):
    value = config.get(name)
    value = default if _blank(value) else int(value)
    if value < 1:
        raise ValueError("%s must be at least 1, not %r" % (name, value))
    return value


def _positive(config, name, default):
    value = config.get(name)
    value = default if _blank(value) else float(value)
    if value <= 0:
        raise ValueError("%s must be above 0, not %r" % (name, value))
    return value
def _time_of_day(value):
    """BRIEFING_TIME as a time of day, `HH:MM` or `HH:MM:SS` (default 08:00)."""
    text = "08:00" if _blank(value) else str(value).strip()
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError("BRIEFING_TIME must be a time of day such as 08:00, not %r" % text)


def _time_zone(value):
    name = "Asia/Shanghai" if _blank(value) else str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("BRIEFING_TZ must be an IANA time zone such as Asia/Shanghai, not %r" % name)
    return name


def _blank(value):
    return value is None or value == ""


def _keys(config, name, derived, environment):
    """A key setting as [(kid, key)]: the development key when unset outside
    production; production refuses it unset or set to the development key."""
    value = config.get(name)
    if _blank(value):
        if environment == "production":
            raise InsecureConfiguration("LINKAGE_ENV=production needs %s set to real keys" % name)
        return (("dev", derived),)
    try:
        keys = personal.parse_keys(value, name)
    except personal.BadKeys as exc:
        raise InsecureConfiguration(str(exc))
    if environment == "production" and any(key == derived for _, key in keys):
        raise InsecureConfiguration("%s holds the development key, refused in production" % name)
    return keys


def _switch(value, default=True):
    return default if _blank(value) else str(value).strip().lower() not in ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    service: str
    amqp_uri: str
    mongo_uri: str
    db_name: str
    secret: str
    environment: str
    retry_delays_ms: tuple
    outbox_poll_seconds: float
    outbox_scan_seconds: float
    max_body_bytes: int
    overdue_scan_seconds: float
    time_limits: dict
    write_guards: str = "auto"
    declare_topology: str = "all"
    detection_threshold: float = 0.6
    session_ttl_seconds: float = 8 * 3600
    lockout_attempts: int = 5
    lockout_window_seconds: float = 15 * 60
    lockout_seconds: float = 15 * 60
    cors_origins: tuple = ()
    document_locks: str = "process"
    archive_after_seconds: float = 7 * 24 * 3600
    archive_scan_seconds: float = 300.0
    audit_retention_days: float = 3 * 365
    personal_data_retention_days: float = 180.0
    retention_scan_seconds: float = 3600.0
    personal_data_keys: tuple = ()
    blind_index_key: bytes = None
    transit_keys: tuple = ()
    encrypt_personal_data: bool = True
    # Why this party must keep personal data it is asked to erase (a court
    # order, an open investigation); empty: no hold, an erasure de-identifies.
    legal_hold: str = ""
    # The warranty table (Art. 40): the design life of the structure, and
    # the heating and cooling seasons (MM-DD/MM-DD) that count the 2 seasons.
    warranty_design_life_years: int = 50
    heating_season: str = "11-15/03-15"
    cooling_season: str = "06-01/09-30"
    # The developer's limits on a warranty repair: accept (urgent: leaks and
    # structural defects), and resolve, each from the report.
    warranty_accept_seconds: float = 3 * 24 * 3600
    warranty_urgent_accept_seconds: float = 24 * 3600
    warranty_resolve_seconds: float = 15 * 24 * 3600
    # How long the committee waits for each party's part of a trace.
    trace_timeout_seconds: float = 5.0
    journal_days: float = 400.0
    journal_scan_seconds: float = 6 * 3600.0
    journal_flush_seconds: float = 0.5
    # Tenants (the floating-population office's tenancy rules; shared so the
    # property company's occupant watch uses the same limit).
    tenancy_registration_days: float = 3.0
    tenants_per_room: int = 2
    residence_permit_days: float = 180.0
    # The daily briefing (services/neighborhood_committee/briefings.py): when,
    # in which time zone, and how often its timer looks whether one is due.
    briefing_time: object = None
    briefing_tz: str = "Asia/Shanghai"
    briefing_scan_seconds: float = 60.0
    # Tests only: the clock runs this far ahead (shared/clock.py).
    clock_offset_seconds: float = 0.0

    def keyring(self):
        """This service's keys for the personal data it stores."""
        return personal.Keyring(self.personal_data_keys, self.blind_index_key,
                                enabled=self.encrypt_personal_data)

    def transit_keyring(self):
        """The keys of personal fields in events, shared by the services."""
        return personal.Keyring(self.transit_keys, enabled=self.encrypt_personal_data)

    @property
    def topology_owner(self):
        """The service whose topology alone this one declares, or None for
        all of it (shared/topology.py `declare`)."""
        return self.service if self.declare_topology == "own" else None

    @property
    def max_attempts(self):
        """First delivery plus one retry per configured delay."""
        return len(self.retry_delays_ms) + 1

    @classmethod
    def from_config(cls, service, config):
        environment = config.get("LINKAGE_ENV") or "development"
        clock_offset = float(config.get("CLOCK_OFFSET_SECONDS") or 0)
        if environment == "production" and clock_offset:
            raise InsecureConfiguration("CLOCK_OFFSET_SECONDS is for tests; production keeps the real time")
        secret = config.get("LINKAGE_SECRET") or DEVELOPMENT_SECRET
        if secret == DEVELOPMENT_SECRET and environment != "production":
            secret = development_key(DEVELOPMENT_SECRET, service)
        if environment == "production" and secret == DEVELOPMENT_SECRET:
            raise InsecureConfiguration(
                "LINKAGE_ENV=production needs LINKAGE_SECRET set to a real secret")
        if environment == "production" and len(secret) < 32:
            raise InsecureConfiguration("LINKAGE_SECRET must be at least 32 characters in production")
        def derived(purpose, who=service):
            return personal.development_key(DEVELOPMENT_SECRET, purpose, who)
        blind_index = _keys(config, "BLIND_INDEX_KEY", derived("blind-index-key"), environment)
        if len(blind_index) != 1:
            raise InsecureConfiguration("BLIND_INDEX_KEY takes one key (an index cannot be read two ways)")
        if environment == "production" and not _switch(config.get("ENCRYPT_PERSONAL_DATA")):
            raise InsecureConfiguration("ENCRYPT_PERSONAL_DATA cannot be off in production")
        limits = {}
        for party in LINKED:
            value = config.get("LIMIT_%s_SECONDS" % party.upper())
            limits[party] = float(DEFAULT_TIME_LIMITS[party] if _blank(value) else value)
        return cls(
            service=service,
            amqp_uri=config.get("AMQP_URI") or "pyamqp://guest:guest@127.0.0.1:5672/",
            mongo_uri=config.get("MONGO_URI") or "mongodb://127.0.0.1:27017/",
            db_name=(config.get("DB_PREFIX") or "") + service,
            secret=secret,
            environment=environment,
            retry_delays_ms=_ms_list(config.get("RETRY_DELAYS_MS")),
            outbox_poll_seconds=float(config.get("OUTBOX_POLL_SECONDS") or 1.0),
            outbox_scan_seconds=float(config.get("OUTBOX_SCAN_SECONDS") or 30.0),
            max_body_bytes=int(config.get("MAX_BODY_BYTES") or 65536),
            overdue_scan_seconds=float(config.get("OVERDUE_SCAN_SECONDS") or 15),
            time_limits=limits,
            write_guards=_write_guards(config.get("WRITE_GUARDS")),
            declare_topology=_declare_topology(config.get("DECLARE_TOPOLOGY")),
            detection_threshold=_fraction(config, "DETECTION_CONFIDENCE_THRESHOLD", 0.6),
            session_ttl_seconds=float(config.get("SESSION_TTL_SECONDS") or 8 * 3600),
            lockout_attempts=int(config.get("LOCKOUT_ATTEMPTS") or 5),
            lockout_window_seconds=float(config.get("LOCKOUT_WINDOW_SECONDS") or 15 * 60),
            lockout_seconds=float(config.get("LOCKOUT_SECONDS") or 15 * 60),
            document_locks=_document_locks(config.get("DOCUMENT_LOCKS")),
            archive_after_seconds=float(config.get("ARCHIVE_AFTER_SECONDS") or 7 * 24 * 3600),
            archive_scan_seconds=float(config.get("ARCHIVE_SCAN_SECONDS") or 300),
            audit_retention_days=float(config.get("AUDIT_RETENTION_DAYS") or 3 * 365),
            personal_data_retention_days=float(config.get("PERSONAL_DATA_RETENTION_DAYS") or 180),
            retention_scan_seconds=float(config.get("RETENTION_SCAN_SECONDS") or 3600),
            personal_data_keys=_keys(config, "PERSONAL_DATA_KEYS", derived("personal-data-key"),
                                     environment),
            blind_index_key=blind_index[0][1],
            transit_keys=_keys(config, "TRANSIT_KEYS", derived("transit-key", None), environment),
            encrypt_personal_data=_switch(config.get("ENCRYPT_PERSONAL_DATA")),
            legal_hold=str(config.get("LEGAL_HOLD") or "").strip(),
            warranty_design_life_years=_positive_int(config, "WARRANTY_DESIGN_LIFE_YEARS", 50),
            heating_season=_season(config, "HEATING_SEASON", "11-15/03-15"),
            cooling_season=_season(config, "COOLING_SEASON", "06-01/09-30"),
            warranty_accept_seconds=float(config.get("WARRANTY_ACCEPT_SECONDS") or 3 * 24 * 3600),
            warranty_urgent_accept_seconds=float(config.get("WARRANTY_URGENT_ACCEPT_SECONDS")
                                                 or 24 * 3600),
            warranty_resolve_seconds=float(config.get("WARRANTY_RESOLVE_SECONDS") or 15 * 24 * 3600),
            trace_timeout_seconds=_positive(config, "TRACE_TIMEOUT_SECONDS", 5.0),
            journal_days=_positive(config, "JOURNAL_DAYS", 400.0),
            journal_scan_seconds=_positive(config, "JOURNAL_SCAN_SECONDS", 6 * 3600.0),
            journal_flush_seconds=_positive(config, "JOURNAL_FLUSH_SECONDS", 0.5),
            tenancy_registration_days=_positive(config, "TENANCY_REGISTRATION_DAYS", 3.0),
            tenants_per_room=int(_positive(config, "TENANTS_PER_ROOM", 2)),
            residence_permit_days=_positive(config, "RESIDENCE_PERMIT_DAYS", 180.0),
            briefing_time=_time_of_day(config.get("BRIEFING_TIME")),
            briefing_tz=_time_zone(config.get("BRIEFING_TZ")),
            briefing_scan_seconds=float(config.get("BRIEFING_SCAN_SECONDS") or 60),
            clock_offset_seconds=clock_offset,
            cors_origins=tuple(origin.strip() for origin in str(config.get("CORS_ORIGINS") or "")
                               .split(",") if origin.strip()),
        )
