"""marshmallow fields every API uses."""
from marshmallow import ValidationError, fields, validate


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
