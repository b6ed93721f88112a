"""Schema fields every plugin's API needs, so bad input is refused the same way everywhere."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, fields, validate
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


#: The most rows one page of a listing may hold.
MAX_PAGE = 500


def PageSize(default: int = 100, maximum: int = MAX_PAGE, **kwargs: Any) -> fields.Integer:
    """The ``limit`` of a listing: how many rows one page holds (1 to ``maximum``)."""
    kwargs.setdefault("metadata", {"description": f"At most this many rows (1 to {maximum})."})
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=maximum),
                          **kwargs)


def page_schema(name: str, item: Any, cursor: type[fields.Field] = fields.String,
                description: str = "Pass as `after` for the next page; null on the last "
                                   "page.") -> type[Schema]:
    """The schema of a page of ``item`` rows: ``{"items": [...], "next": cursor}``, named
    ``name`` in the OpenAPI document (see :func:`one_page`) beside its items' schema."""
    page = Schema.from_dict({
        "items": fields.List(fields.Nested(item)),
        "next": cursor(allow_none=True, metadata={"description": description}),
    }, name=name)
    page.__module__ = item.__module__  # the plugin prefix of its name (erpkit.api)
    return page


def one_page(rows: Sequence[Any], limit: int, cursor: Callable[[Any], Any]) -> dict[str, Any]:
    """A page of a keyset listing without counts, the shape of every erpkit listing:
    ``{"items": [...], "next": <cursor of the last item, or None on the last page>}``.

    Ask the database for ``limit + 1`` rows: the extra one only says that there is more.
    """
    more = len(rows) > limit
    items = list(rows[:limit])
    return {"items": items, "next": cursor(items[-1]) if more else None}


#: A decimal as text: ASCII digits only (``"12.50"``, ``"-3"``). Python's ``Decimal`` also
#: takes Arabic-Indic and other Unicode digits, exponents and ``"Infinity"``: none of them
#: is a quantity a person typed on purpose.
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?|[+-]?\.[0-9]+", re.ASCII)


class StrictDecimal(fields.Decimal):
    """The one decimal field of every erpkit API: exact, never a float.

    It takes a decimal string of ASCII digits (or a JSON integer, or a JSON number, which
    erpkit's JSON parser reads as a ``Decimal``) with at most ``places`` decimals and at
    most ``digits`` digits in all, the scale and precision of the column it is stored in:
    more decimals are refused, never rounded away, and a value too large for the column
    is refused here rather than by the database (a 500). It writes a string.
    """

    default_error_messages = {
        **fields.Decimal.default_error_messages,
        "strict": "Not a valid number: give a decimal in ASCII digits such as \"12.50\" "
                  "(a string; a JSON number with a fraction is a binary float).",
        "places": "at most {places} decimal places",
        "digits": "too large: at most {whole} digits before the decimal point",
    }

    def __init__(self, places: int, digits: int = 18, **kwargs: Any) -> None:
        kwargs.setdefault("as_string", True)
        kwargs.setdefault("allow_nan", False)
        super().__init__(places=places, **kwargs)
        self.scale, self.precision = places, digits
        self.quantum = Decimal(1).scaleb(-places)
        self._format = f".{places}f"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise self.make_error("strict")
        if isinstance(value, str):
            if not _DECIMAL_TEXT.fullmatch(value.strip()):
                raise self.make_error("strict")
            number = Decimal(value.strip())
        elif isinstance(value, int | Decimal):
            try:
                number = Decimal(value)
            except InvalidOperation:
                raise self.make_error("strict") from None
            if not number.is_finite():
                raise self.make_error("special")
        else:  # a float can only come from code, never from erpkit's JSON parser
            raise self.make_error("strict")
        whole = self.precision - self.scale
        if abs(number) >= Decimal(10) ** whole:
            raise self.make_error("digits", whole=whole)
        if number != number.quantize(Decimal(1).scaleb(-self.scale)):
            raise self.make_error("places", places=self.scale)
        return number  # as given: "1" stays 1, not 1.000 (``places`` formats output)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if type(value) is Decimal and value.is_finite():
            return self.text(value)
        return super()._serialize(value, attr, obj, **kwargs)

    def text(self, value: Decimal) -> str:
        """What this field writes for a finite ``value``: quantized to ``places``, then
        format "f" (marshmallow's output without its round trip through str(): a listing
        writes thousands). For a listing that builds its JSON without a schema dump."""
        if self.rounding is None:  # format's own rounding is the context's, as quantize's
            return format(value, self._format)
        return format(value.quantize(self.quantum, rounding=self.rounding), "f")


def Quantity(**kwargs: Any) -> StrictDecimal:
    """A quantity: 3 decimals (the ``Numeric(18, 3)`` columns)."""
    return StrictDecimal(3, **kwargs)


def Price(**kwargs: Any) -> StrictDecimal:
    """A unit price or a percentage: 4 decimals (:data:`erpkit.db.Precise`)."""
    return StrictDecimal(4, **kwargs)


def Amount(**kwargs: Any) -> StrictDecimal:
    """Money: 2 decimals (:data:`erpkit.db.Money`)."""
    return StrictDecimal(2, **kwargs)


#: The days a request may name. Python's dates end at 9999-12-31, so a period ending there
#: cannot be turned into "the start of the next day" (an OverflowError, a 500); no order,
#: ledger entry or report of a business running today falls outside these years.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


class Day(fields.Date):
    """A calendar day in a request, from :data:`FIRST_DAY` to :data:`LAST_DAY`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(
            min=FIRST_DAY, max=LAST_DAY,
            error=f"must be a day from {FIRST_DAY} to {LAST_DAY}"))
        super().__init__(**kwargs)


def check_period(first: date, last: date, max_days: int, *, field: str = "to") -> None:
    """Refuse a period that ends before it starts or is longer than ``max_days`` days (a
    422 naming ``field``): work that grows with the period's length stays bounded."""
    from erpkit.problems import ValidationFailed

    if last < first:
        raise ValidationFailed.single(field, "the period ends before it starts",
                                      code="bad_period")
    days = (last - first).days + 1
    if days > max_days:
        raise ValidationFailed.single(
            field, f"the period is {days} days long; at most {max_days} days per request "
            "(parameter core.max_report_days). Fix: ask for shorter periods", code="too_long")


def report_period(first: date | None, last: date | None, *, default_days: int | None = 30,
                  names: tuple[str, str] = ("from", "to")) -> tuple[date, date]:
    """The period of a report request, bounded: ``last`` defaults to today (UTC) and
    ``first`` to ``default_days`` days up to ``last`` (``None``: the longest period
    allowed); a period longer than ``core.max_report_days`` is refused (422) naming the
    field given (``names``: the first's and the last's). Call it in a request or CLI
    command (it reads the parameter through the app's session)."""
    from erpkit.db import db, utcnow
    from erpkit.parameters import get_value

    longest = int(get_value(db.session, "core.max_report_days"))
    end = last or utcnow().date()
    start = first or end - timedelta(days=(default_days or longest) - 1)
    check_period(start, end, longest, field=names[0] if first and not last else names[1])
    return start, end


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
