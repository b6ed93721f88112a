"""The forecast methods on integer thousandths give the textbook Decimal formulas' values,
to the last digit, on random series and at the edges (no history, a history shorter than
a season, no holdout, a holdout as long as the history or longer)."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from erpkit_reporting import forecast as fc


def reference_naive(history: list[Decimal], season: int, steps: int) -> list[Decimal]:
    out, series = [], list(history)
    for _ in range(steps):
        value = series[-season] if len(series) >= season else (series[-1] if series else Decimal(0))
        out.append(value)
        series.append(value)
    return out


def reference_smoothing(history: list[Decimal], alpha: Decimal, steps: int) -> list[Decimal]:
    if not history:
        return [Decimal(0)] * steps
    level = history[0]
    for value in history[1:]:
        level = alpha * value + (1 - alpha) * level
    return [level.quantize(Decimal("0.001"))] * steps


def reference_mae(actual: list[Decimal], forecast: list[Decimal]) -> Decimal | None:
    errors = [abs(a - f) for a, f in zip(actual, forecast, strict=True)]
    if not errors:
        return None
    return (sum(errors, Decimal(0)) / len(errors)).quantize(Decimal("0.001"))


def reference(history_milli: list[int], season: int, alpha: Decimal, holdout: int,
              horizon: int) -> tuple[object, ...]:
    """The forecast of one series, computed the straightforward way on Decimal units."""
    history = [Decimal(m).scaleb(-3) for m in history_milli]
    train, test = (history[:-holdout], history[-holdout:]) if holdout else (history, [])
    return (reference_naive(history, season, horizon),
            reference_smoothing(history, alpha, horizon),
            reference_mae(test, reference_naive(train, season, len(test))),
            reference_mae(test, reference_smoothing(train, alpha, len(test))))


def fast(history: list[int], season: int, alpha: Decimal, holdout: int,
         horizon: int) -> tuple[object, ...]:
    """The same through :mod:`erpkit_reporting.forecast`, as the report calls it."""
    train = max(len(history) - holdout, 0)
    test = history[train:]
    levels = fc.smoothed_levels(history, alpha, train)
    naive = ([Decimal(n).scaleb(-3) for n in fc.seasonal_naive(history, season, horizon)]
             if history else [Decimal(0)] * horizon)
    ses = levels.whole if levels.whole is not None else Decimal(0)
    return (naive, [ses] * horizon,
            fc.mean_absolute_error(test, fc.seasonal_naive(history[:train], season, len(test))),
            fc.mean_absolute_error(test, [fc.to_milli(levels.train)] * len(test)))


def same(left: tuple[object, ...], right: tuple[object, ...]) -> bool:
    """Equal values printed with the same digits (Decimal('1.000') != '1')."""
    return repr(left) == repr(right)


@pytest.mark.parametrize("seed", range(20))
def test_random_series_give_the_reference_values_to_the_digit(seed):
    rng = random.Random(seed)
    for _ in range(200):
        length = rng.choice([0, 1, 2, 3, 5, 11, 12, 13, 24, 25, 36, 60])
        scale = rng.choice([1, 1000, 10**6, 10**9])
        history = [rng.choice([0, rng.randint(0, scale), rng.randint(-scale // 10, scale)])
                   for _ in range(length)]
        alpha = rng.choice([Decimal("0.3"), Decimal("1"), Decimal("0.05"), Decimal("0.123"),
                            Decimal("0.999"), Decimal("0.3333333")])
        season = rng.choice([1, 4, 7, 12, 52])
        holdout, horizon = rng.randint(0, 14), rng.randint(0, 6)
        expected = reference(history, season, alpha, holdout, horizon)
        got = fast(history, season, alpha, holdout, horizon)
        assert same(got, expected), (history, season, alpha, holdout, horizon)


@pytest.mark.parametrize(("history", "holdout"), [
    ([], 0), ([], 3),                       # no history
    ([5000], 0), ([5000], 1), ([5000], 3),  # one period; the holdout takes it all
    ([1000, 2500, 0], 0),                   # shorter than a season, nothing held back
    ([1000, 2500, 0], 2),                   # shorter than a season, training shorter still
    ([7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2], 3),
])
def test_edges_give_the_reference_values(history, holdout):
    for season in (1, 4, 12):
        assert same(fast(history, season, Decimal("0.3"), holdout, 3),
                    reference(history, season, Decimal("0.3"), holdout, 3))


def test_long_smoothing_rounds_as_the_decimal_formula_does():
    """Past 28 digits every step of a long series rounds (the default context): the fast
    path must do the same operations in the same order."""
    history = [123456789 + 7 * i for i in range(60)]
    assert same(fast(history, 12, Decimal("0.3"), 3, 3),
                reference(history, 12, Decimal("0.3"), 3, 3))


def test_a_wrong_training_level_would_be_caught():
    """The comparison can fail: the MAE of a level taken one period late differs."""
    history = [0, 0, 0, 9000, 9000, 9000]
    late = fc.smoothed_levels(history, Decimal("0.3"), 4).train
    right = fc.smoothed_levels(history, Decimal("0.3"), 3).train
    assert late != right
    assert same(fast(history, 12, Decimal("0.3"), 3, 1),
                reference(history, 12, Decimal("0.3"), 3, 1))
