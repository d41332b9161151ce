"""The committee's case routing table: which party owns each category, who
handles it with them, and how fast (plain Python).

The defaults below follow the seeds and Beijing 12345's practice; a
community changes them without code by pointing CASE_ROUTING_FILE at a JSON
document of the same shape (entries there replace the default entry of
their category). The limits per priority come from the settings
(CASE_ACCEPT_SECONDS_<PRIORITY>, CASE_RESOLVE_SECONDS_<PRIORITY>).
"""
import json
from dataclasses import dataclass, field

from shared.cases.model import CATEGORIES, PRIORITIES
from shared.parties import ALL, COMMITTEE, DEVELOPER, FLOATING, POLICE, PROPERTY


@dataclass(frozen=True)
class Route:
    owner: str
    priority: str
    co_handlers: tuple = ()
    # A case reported with `safety_risk: true` also goes to these, at this priority.
    on_safety_risk: tuple = ()
    safety_risk_priority: str = "urgent"
    reason: str = ""

    def assignees(self, safety_risk):
        parties = [self.owner] + [p for p in self.co_handlers if p != self.owner]
        if safety_risk:
            parties += [p for p in self.on_safety_risk if p not in parties]
        return parties

    def priority_for(self, safety_risk):
        if safety_risk and self.on_safety_risk:
            return _faster(self.priority, self.safety_risk_priority)
        return self.priority


def _faster(a, b):
    return min(a, b, key=PRIORITIES.index)


_MEDIATION = dict(on_safety_risk=(POLICE,), safety_risk_priority="urgent")

DEFAULT_ROUTES = {
    "fire_lane_blocked": Route(PROPERTY, "urgent", reason="a blocked fire lane endangers lives"),
    "ebike_indoors": Route(PROPERTY, "urgent", reason="indoor e-bike charging is the main cause "
                                                      "of residential fires"),
    "elevator_fault": Route(PROPERTY, "urgent", reason="people may be trapped"),
    "facility_damage": Route(PROPERTY, "24h", reason="common parts are the property company's"),
    "garbage_overflow": Route(PROPERTY, "24h", reason="sorting points are the property company's"),
    "water_leak": Route(PROPERTY, "24h", reason="utilities: within 24 h"),
    "illegal_parking": Route(PROPERTY, "normal", reason="parking is managed by the property company"),
    "security_risk": Route(POLICE, "urgent", reason="public security is the police's"),
    "neighbour_dispute": Route(COMMITTEE, "normal", reason="the committee mediates; the police "
                                                           "join when safety is at risk",
                               **_MEDIATION),
    "noise": Route(COMMITTEE, "normal", reason="the committee mediates; the police join when "
                                               "safety is at risk", **_MEDIATION),
    "unregistered_tenant": Route(FLOATING, "normal", co_handlers=(POLICE,),
                                 reason="tenant registration is the office's, checked by the police"),
    "group_rental": Route(FLOATING, "normal", co_handlers=(POLICE,),
                          reason="renting by designed room; the police check crowding"),
    "resettlement_housing": Route(DEVELOPER, "complex", reason="allocation and handover are the "
                                                               "developer's"),
    "other": Route(COMMITTEE, "complex", reason="demands and suggestions: the committee answers "
                                                "or passes them on"),
}

DEFAULT_LIMITS = {  # priority: (accept within, resolve within), in seconds
    "urgent": (30 * 60, 2 * 3600),
    "24h": (2 * 3600, 24 * 3600),
    "normal": (24 * 3600, 7 * 86400),
    "complex": (24 * 3600, 15 * 86400),
}


class RoutingError(ValueError):
    """A routing file or limit setting the committee cannot use (stops the start)."""


@dataclass(frozen=True)
class RoutingTable:
    routes: dict
    limits: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    def route(self, category):
        return self.routes[category]

    def describe(self):
        return [{
            "category": category,
            "description": CATEGORIES[category],
            "owner": route.owner,
            "co_handlers": list(route.co_handlers),
            "priority": route.priority,
            "accept_within_seconds": self.limits[route.priority][0],
            "resolve_within_seconds": self.limits[route.priority][1],
            "on_safety_risk": {"also": list(route.on_safety_risk),
                               "priority": route.safety_risk_priority} if route.on_safety_risk else None,
            "reason": route.reason,
        } for category, route in sorted(self.routes.items())]


def _party(value, where):
    if value not in ALL:
        raise RoutingError("%s: %r is not a party (%s)" % (where, value, ", ".join(ALL)))
    return value


def _priority(value, where):
    if value not in PRIORITIES:
        raise RoutingError("%s: %r is not a priority (%s)" % (where, value, ", ".join(PRIORITIES)))
    return value


def _route(category, entry):
    where = "CASE_ROUTING_FILE %s" % category
    if not isinstance(entry, dict) or "owner" not in entry or "priority" not in entry:
        raise RoutingError("%s: needs at least an owner and a priority" % where)
    return Route(
        owner=_party(entry["owner"], where),
        priority=_priority(entry["priority"], where),
        co_handlers=tuple(_party(p, where) for p in entry.get("co_handlers", ())),
        on_safety_risk=tuple(_party(p, where) for p in entry.get("on_safety_risk", ())),
        safety_risk_priority=_priority(entry.get("safety_risk_priority", "urgent"), where),
        reason=str(entry.get("reason", "")),
    )


def load(config):
    """The routing table from a service's nameko config: the defaults, the
    entries of CASE_ROUTING_FILE over them, and the limit settings."""
    routes = dict(DEFAULT_ROUTES)
    path = config.get("CASE_ROUTING_FILE")
    if path:
        try:
            with open(path) as handle:
                entries = json.load(handle)
        except (OSError, ValueError) as exc:
            raise RoutingError("CASE_ROUTING_FILE %s: %s" % (path, exc))
        for category, entry in entries.items():
            if category not in CATEGORIES:
                raise RoutingError("CASE_ROUTING_FILE: unknown category %r (known: %s)"
                                   % (category, ", ".join(CATEGORIES)))
            routes[category] = _route(category, entry)
    limits = {}
    for priority, (accept, resolve) in DEFAULT_LIMITS.items():
        limits[priority] = (
            positive(config, "CASE_ACCEPT_SECONDS_%s" % priority.upper(), accept),
            positive(config, "CASE_RESOLVE_SECONDS_%s" % priority.upper(), resolve))
    return RoutingTable(routes, limits)


def positive(config, name, default):
    """A positive number setting; RoutingError names it otherwise."""
    value = config.get(name)
    if value in (None, ""):
        return float(default)
    try:
        seconds = float(value)
    except ValueError:
        raise RoutingError("%s must be a number, not %r" % (name, value))
    if seconds <= 0:
        raise RoutingError("%s must be positive" % name)
    return seconds
