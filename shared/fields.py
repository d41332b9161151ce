"""marshmallow fields every API uses."""
from marshmallow import fields


class StrictBoolean(fields.Boolean):
    """JSON true or false only. (A truthy set of {True} is not enough:
    1 == True in Python, so 1 and 0 would pass as booleans.)"""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def QueryBoolean(**kwargs):
    """A yes/no filter in a query string: `true`/`1` or `false`/`0`."""
    return fields.Boolean(truthy={"true", "1"}, falsy={"false", "0"}, **kwargs)
