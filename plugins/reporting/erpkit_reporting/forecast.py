"""The demand forecast's two methods, on series of integer thousandths of a unit.

The report turns thousands of series (one a product), so the series stay the rollups'
integers: only the smoothing needs Decimal, and each method's error on the held-back
periods is added up in integers. The values are the same, to the last digit, as the
textbook Decimal formulas (``tests/test_forecast.py`` compares them on random series).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from operator import sub
from typing import NamedTuple

MILLI = Decimal("0.001")


def seasonal_naive(history: Sequence[int], season: int, steps: int) -> list[int]:
    """Each future period repeats the same period one season earlier (or the last value
    when the history is shorter than a season; 0 without history)."""
    out = []
    series = list(history)
    for _ in range(steps):
        value = series[-season] if len(series) >= season else (series[-1] if series else 0)
        out.append(value)
        series.append(value)
    return out


class Levels(NamedTuple):
    """The smoothed level (three places) after the training part and after the whole
    history; None when that part is empty."""

    train: Decimal | None
    whole: Decimal | None


def smoothed_levels(history: Sequence[int], alpha: Decimal, train: int) -> Levels:
    """Simple exponential smoothing, level = alpha * actual + (1 - alpha) * level, started
    at the first value, over ``history`` once: its first ``train`` values give the training
    level on the way."""
    if not history:
        return Levels(None, None)
    # alpha times a thousandth: ``alpha_milli * Decimal(m)`` is ``alpha * (m / 1000)`` with
    # the same digits and exponent, so every rounding is the one of the formula above
    alpha_milli, keep = alpha.scaleb(-3), 1 - alpha
    level = Decimal(history[0]).scaleb(-3)
    at_train = level if train == 1 else None
    for position in range(1, len(history)):
        level = alpha_milli * Decimal(history[position]) + keep * level
        if position + 1 == train:
            at_train = level
    return Levels(at_train.quantize(MILLI) if at_train is not None else None,
                  level.quantize(MILLI))


def to_milli(level: Decimal | None) -> int:
    """A forecast of three places (None: no history, forecast 0) in thousandths."""
    return int(level.scaleb(3)) if level is not None else 0


def mean_absolute_error(actual: Sequence[int], forecast: Sequence[int]) -> Decimal | None:
    """The mean of |actual - forecast| in units, three places; None without periods."""
    if not actual:
        return None
    if len(actual) != len(forecast):
        raise ValueError("a forecast for every actual period")
    total = sum(map(abs, map(sub, actual, forecast)))
    return (Decimal(total).scaleb(-3) / len(actual)).quantize(MILLI)
