"""Money and quantities as exact integers in the rollups, Decimal at the edges.

The orders module rounds each line to cents half-up and an order's ``total`` is the sum of
its rounded lines (:mod:`erpkit_orders.pricing`). The rollups add those same cents as
integers, so a report's total equals the sum of the orders' totals to the cent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

CENT = Decimal("0.01")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):  # SQLite hands Numeric back as REAL: its shortest repr
        return Decimal(repr(value))
    return Decimal(value if value is not None else 0)


def to_cents(value: Any) -> int:
    """An amount of money (Decimal, or the float SQLite returns) as integer cents."""
    return int((_decimal(value) * 100).to_integral_value())


def to_milli(value: Any) -> int:
    """A quantity (three decimals) as integer thousandths."""
    return int((_decimal(value) * 1000).to_integral_value())


def money(cents: int | None) -> Decimal:
    """Integer cents as a Decimal with two places."""
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def units(milli: int | None) -> Decimal:
    """Integer thousandths as a Decimal with three places (moving the point: no division,
    the forecasts turn tens of thousands of them)."""
    return Decimal(int(milli or 0)).scaleb(-3)


def ratio(part: int | Decimal, whole: int | Decimal, places: str = "0.0001") -> Decimal | None:
    """``part / whole`` as a Decimal (a share, a rate), or None when ``whole`` is zero."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal(places))
