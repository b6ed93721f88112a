"""Schema fields every plugin's API needs, so bad input is refused the same way everywhere."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

#: The largest value an id column holds on every backend (PostgreSQL INTEGER; SQLite's
#: are wider). A larger one would make the driver fail (a 500) instead of finding nothing.
MAX_ID = 2**31 - 1


def Identifier(**kwargs: Any) -> fields.Integer:
    """A row id in a request (``customer_id``, a keyset cursor): 1 to :data:`MAX_ID`."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Cursor(**kwargs: Any) -> fields.Integer:
    """A keyset pagination cursor: the last id of the previous page (0 to :data:`MAX_ID`)."""
    return fields.Integer(validate=validate.Range(min=0, max=MAX_ID), **kwargs)


def decimal_strings_in_openapi(self: Any, field: fields.Field, ret: dict[str, Any],
                               **_kwargs: Any) -> dict[str, Any]:
    """Describe a ``fields.Decimal`` as what travels, with valid bounds.

    apispec calls every Decimal a number and renders its Range bounds as strings, which
    makes the OpenAPI document invalid. Money is exchanged as decimal strings
    (``"12.50"``, ``as_string=True``), never as floats: such a field is a string here, its
    bounds kept as ``x-minimum``... for people. Registered in ``create_app``.
    """
    if not isinstance(field, fields.Decimal):
        return {}
    bounds = [b for b in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
              if b in ret]
    if field.as_string:
        ret["type"] = ["string", "null"] if field.allow_none else "string"
        ret["format"] = "decimal"
        for bound in bounds:
            ret[f"x-{bound}"] = str(ret.pop(bound))
    else:  # a JSON number: the bound must be one too
        for bound in bounds:
            value = Decimal(str(ret[bound]))
            ret[bound] = int(value) if value == value.to_integral_value() else float(value)
    return {}


class BoundedIntConverter(IntegerConverter):
    """Flask's ``<int:...>`` URL converter, refusing values no id column can hold: such a
    URL is a 404 like any id that does not exist, never a database error."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
