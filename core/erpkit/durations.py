"""Durations as people write them: ``4h``, ``90m``, ``2d``, ``1d12h``.

Time limits are parameters (the orders' department steps) and rule data (approval
steps), so they are typed by a marshmallow field (:class:`Duration`) that parses this
text, refuses anything else, and stores the same compact text back. A bare number is
refused rather than guessed: is ``4`` hours or minutes? (marshmallow's own ``TimeDelta``
would read it as seconds and write floats.)
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from marshmallow import ValidationError, fields

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_SHAPE = re.compile(r"^(?:\d+[dhms])+$")
_PART = re.compile(r"(\d+)([dhms])")
MINIMUM = timedelta(minutes=1)
MAXIMUM = timedelta(days=365)


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` -> ``timedelta(minutes=90)``; :class:`ValueError` for anything else."""
    compact = re.sub(r"\s+", "", text.strip().lower())
    if not _SHAPE.match(compact):
        raise ValueError(f"{text!r} is not a duration; write it like 4h, 90m, 2d or 1d12h")
    seconds = sum(int(amount) * _UNITS[unit] for amount, unit in _PART.findall(compact))
    duration = timedelta(seconds=seconds)
    if not MINIMUM <= duration <= MAXIMUM:
        raise ValueError(f"{text!r} is out of range: between 1m and 365d")
    return duration


def format_duration(duration: timedelta) -> str:
    """The compact text of ``duration``: ``timedelta(minutes=90)`` -> ``"1h30m"``.

    Negative durations get a leading minus sign (``"-2h"``: two hours late).
    """
    total = int(duration.total_seconds())
    sign, total = ("-", -total) if total < 0 else ("", total)
    parts = []
    for unit, size in _UNITS.items():
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + ("".join(parts) or "0s")


class Duration(fields.Field):
    """A marshmallow field for :class:`~datetime.timedelta` written as ``4h``, ``90m``..."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "example": "4h",
                    "description": "A duration such as 4h, 90m, 2d or 1d12h."}
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else format_duration(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> timedelta:
        if isinstance(value, timedelta):
            if not MINIMUM <= value <= MAXIMUM:
                raise ValidationError("out of range: between 1m and 365d")
            return value
        if not isinstance(value, str):
            raise ValidationError("write the duration as text with a unit, like 4h or 90m")
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
