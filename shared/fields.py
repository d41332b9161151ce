"""marshmallow fields every API uses."""
from marshmallow import ValidationError, fields, validate

from shared.identity import id_number_problem, mobile_problem


class StrictBoolean(fields.Boolean):
    """JSON true or false only. (A truthy set of {True} is not enough:
    1 == True in Python, so 1 and 0 would pass as booleans.)"""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class StrictNumber(fields.Float):
    """A JSON number only (not a numeric string, not a boolean), and finite."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, **kwargs)


def QueryBoolean(**kwargs):
    """A yes/no filter in a query string: `true`/`1` or `false`/`0`."""
    return fields.Boolean(truthy={"true", "1"}, falsy={"false", "0"}, **kwargs)


# "Blank" is ASCII whitespace only, the same in Python and in the JSON Schema
# (ECMA-262) pattern a document gives for it: Python's str.strip() and `\s`
# also take control characters such as U+001E for space, a JSON Schema
# validator does not, and a document must promise exactly what is checked.
BLANK = " \t\n\r\f\v"
NOT_BLANK_PATTERN = "[^ \\t\\n\\r\\f\\v]"


def not_blank(value):
    if not value.strip(BLANK):
        raise ValidationError("must not be blank")


def Text(max_length, **kwargs):
    """A string of 1 to `max_length` characters that is not all blank."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), not_blank],
                         metadata={"pattern": NOT_BLANK_PATTERN}, **kwargs)


def _checked(problem_of, pattern, kwargs):
    """A string field checked by `problem_of` (which names what is wrong), its
    JSON Schema `pattern` telling a front end the shape."""
    def check(value):
        problem = problem_of(value)
        if problem:
            raise ValidationError(problem)
    metadata = dict({"pattern": pattern}, **kwargs.pop("metadata", {}))
    return fields.String(validate=check, metadata=metadata, **kwargs)


def IdNumber(**kwargs):
    """A resident ID number (region, birth date and check digit checked)."""
    return _checked(id_number_problem, "^[0-9]{17}[0-9Xx]$", kwargs)


def Mobile(**kwargs):
    """An 11-digit mainland mobile number."""
    return _checked(mobile_problem, "^1[3-9][0-9]{9}$", kwargs)
