"""erpkit's decimal field writes exactly what marshmallow's own Decimal field writes (its
quicker path for finite Decimals must not change one character of any API answer)."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

import marshmallow.fields as fields
import pytest

from erpkit.schemas import StrictDecimal

EDGES = ["0", "-0", "1", "12.5", "1.23456", "-7.0005", "1E+3", "123456789012.345",
         "0.0049999", "2.675", "-0.005", "0.0005", "999999999999999.9995"]


def _numbers() -> list[Decimal]:
    rng = random.Random(12)
    drawn = [Decimal(rng.randrange(-10**9, 10**9)).scaleb(-rng.randrange(0, 7))
             for _ in range(2000)]
    return [Decimal(text) for text in EDGES] + drawn


@pytest.mark.parametrize("places", [2, 3, 4])
@pytest.mark.parametrize("rounding", [None, ROUND_HALF_UP])
def test_every_decimal_is_written_as_marshmallow_writes_it(places, rounding):
    ours = StrictDecimal(places, rounding=rounding)
    theirs = fields.Decimal(places=places, rounding=rounding, as_string=True)
    for number in _numbers():
        assert ours.serialize("v", {"v": number}) == theirs.serialize("v", {"v": number}), number


def test_what_is_not_a_finite_decimal_takes_marshmallows_own_path():
    ours = StrictDecimal(2)
    assert ours.serialize("v", {"v": None}) is None
    assert ours.serialize("v", {"v": 3}) == "3.00"
