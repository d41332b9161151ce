"""What a case is, in the words every party shares: categories, sources,
priorities, where it is, who reported it. Plain Python and marshmallow.

The categories are part of the event contract (every party validates a
report against them); which party handles each one, and how fast, is the
committee's routing table (services/neighborhood_committee/routing.py),
which is configuration.
"""
from marshmallow import Schema, fields, validate

from shared.fields import Text

CATEGORIES = {
    "fire_lane_blocked": "a fire lane or fire exit blocked (vehicles, goods)",
    "ebike_indoors": "an e-bike parked or charging in a lobby, corridor, stairwell or lift",
    "elevator_fault": "a lift out of order or trapping people",
    "facility_damage": "damaged common facilities (loose window frames, railings, lights)",
    "garbage_overflow": "garbage piles or overflowing sorting points",
    "water_leak": "a leak in common parts or between flats",
    "illegal_parking": "parking outside the marked places",
    "security_risk": "a public-security risk (suspicious people, theft, fights)",
    "neighbour_dispute": "a dispute between residents",
    "noise": "noise between neighbours",
    "unregistered_tenant": "people living in a flat with no tenancy registered",
    "group_rental": "a flat rented to more people than its rooms allow",
    "resettlement_housing": "a complaint about relocation-housing allocation or handover",
    "other": "demands and suggestions that fit no other category",
}

SOURCES = ("walking_inspection", "patrol", "camera", "resident", "phone", "other")

# Urgent / within 24 h / normal / complex, as Beijing 12345 grades its feedback limits.
PRIORITIES = ("urgent", "24h", "normal", "complex")

# What a camera can detect, as the case category it reports.
CAMERA_KINDS = {
    "ebike_indoors": "ebike_indoors",
    "fire_lane_blocked": "fire_lane_blocked",
    "garbage_overflow": "garbage_overflow",
    "illegal_parking": "illegal_parking",
}

SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")


def _known(values, what):
    return validate.OneOf(list(values), error="unknown %s {input}; known: %s"
                          % (what, ", ".join(values)))


def category_field(**kwargs):
    return fields.String(validate=_known(CATEGORIES, "category"), **kwargs)


def priority_field(**kwargs):
    return fields.String(validate=_known(PRIORITIES, "priority"), **kwargs)


MOBILE = validate.Regexp(r"^1[3-9][0-9]{9}$",
                         error="must be an 11-digit mainland mobile number starting with 1[3-9]")


text = Text


class LocationSchema(Schema):
    building = text(20, required=True)
    unit = text(20, load_default=None)
    room = text(20, load_default=None)
    spot = text(100, load_default=None)


class ReporterSchema(Schema):
    """A resident who reported: personal data, for the committee and the
    parties assigned to the case only."""
    name = text(50, required=True)
    phone = fields.String(required=True, validate=MOBILE)


class DetectionSchema(Schema):
    """A camera's detections attached to one case."""
    camera_id = fields.String(required=True)
    kind = fields.String(required=True, validate=_known(CAMERA_KINDS, "kind"))
    count = fields.Integer(required=True, validate=validate.Range(min=1))
    first_detected_at = fields.AwareDateTime(required=True)
    last_detected_at = fields.AwareDateTime(required=True)
    confidence = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    snapshot_ref = fields.String(load_default=None, allow_none=True)
