"""What a delivery promise says: a date, and why, step by step.

The hook ``erpkit_delivery_promise`` may answer with a plain :class:`datetime.date` or
with a :class:`DeliveryPromise`, which carries its explanation. Whoever stores the
promise keeps only :attr:`DeliveryPromise.promised_date` on the order; the explanation
is for people (the order page, the customer's status page, ``GET /api/orders/<id>/promise``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class PromiseStep:
    """One line of a promise's explanation: what happens by ``day`` and why.

    ``kind`` names the step (``goods``, ``handling``, ``cutoff``, ``transit``,
    ``requested``), ``line`` the order line's SKU when the step is about one line.
    ``text`` is for staff; ``public``, when set, says it in the customer's words
    (no SKUs, suppliers or work centres): the timeline note the customer reads uses it.
    """

    kind: str
    day: date
    text: str
    line: str | None = None
    public: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "day": self.day.isoformat(), "text": self.text,
                "line": self.line, "public": self.public}


@dataclass(frozen=True)
class DeliveryPromise:
    """A promised delivery date with its explanation, in the order the steps happen."""

    promised_date: date
    steps: tuple[PromiseStep, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One sentence for the customer's timeline: the date and, in the customer's
        words, what decided it (the latest goods step, when it says so publicly)."""
        goods = [step for step in self.steps if step.kind == "goods"]
        deciding = max(goods, key=lambda step: step.day) if goods else None
        because = f" ({deciding.public})" if deciding and deciding.public else ""
        return f"delivery promised for {self.promised_date.isoformat()}{because}"

    def as_dict(self) -> dict[str, Any]:
        return {"promised_date": self.promised_date.isoformat(),
                "steps": [step.as_dict() for step in self.steps]}


def promised_date_of(answer: date | DeliveryPromise | None) -> date | None:
    """The date of a hook answer, whichever form it took."""
    return answer.promised_date if isinstance(answer, DeliveryPromise) else answer
