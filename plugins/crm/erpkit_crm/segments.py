"""RFM scores, named segments and historical customer lifetime value.

**What counts.** A customer's *counted orders* are its orders that were delivered
(status ``delivered`` or ``closed``) and never returned. Over them, as of a fixed date
``as_of``:

* recency ``R_days`` = ``as_of`` - the UTC date of the last counted order (``ordered_at``);
* frequency ``F`` = the number of counted orders;
* monetary ``M`` = the sum of their ``total`` (goods net of discounts, shipping excluded):
  the customer's *lifetime revenue*.

**Scores (quintiles 1 to 5).** Among the ``n`` customers with at least one counted order,
a customer's score on one measure is ``1 + floor(5 * w / n)``, where ``w`` is the number of
customers whose value is strictly *worse* (an earlier last order for R, fewer orders for F,
less revenue for M). Equal values get equal scores; the best fifth score 5. ``rfm_score``
is ``100 * R + 10 * F + M`` (``545``).

**Segments.** The first row of the segment table (by ``position``) whose three score
ranges all hold names the segment. Admins edit the table (``crm_segment_rule``,
``PUT /api/crm/segments``); while it is empty, :data:`DEFAULT_SEGMENTS` applies.

**Historical CLV** = lifetime revenue x ``crm.clv_margin_percent`` / 100: what the
customer has been worth so far, at the company's gross margin.

**When.** Fully by :func:`recompute` (``erpkit crm segments recompute``, the periodic job);
incrementally by :func:`rescore_customer` when one of the customer's orders is delivered or
returned: that customer is scored against the others' stored figures, which change at the
next full recompute.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.parameters import get_value
from erpkit_crm.credit import from_cents
from erpkit_crm.models import CustomerScore, ReturnedOrder, SegmentRule, rfm_score
from erpkit_orders.models import Order

COUNTED_STATUSES = ("delivered", "closed")
SCORES = cast(sa.Table, CustomerScore.__table__)


@dataclass(frozen=True)
class Segment:
    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]

    def holds(self, r: int, f: int, m: int) -> bool:
        return (self.r[0] <= r <= self.r[1] and self.f[0] <= f <= self.f[1]
                and self.m[0] <= m <= self.m[1])


#: The documented default table: tried top to bottom, the first match names the segment.
#: It covers every (R, F) pair, whatever M.
DEFAULT_SEGMENTS: tuple[Segment, ...] = (
    Segment("champions", (4, 5), (4, 5), (4, 5)),
    Segment("loyal", (3, 5), (3, 5), (1, 5)),
    Segment("new", (4, 5), (1, 1), (1, 5)),
    Segment("potential", (3, 5), (1, 3), (1, 5)),
    Segment("at_risk", (1, 2), (3, 5), (1, 5)),
    Segment("hibernating", (2, 2), (1, 2), (1, 5)),
    Segment("lost", (1, 1), (1, 2), (1, 5)),
)


def segment_table(session: Session) -> list[Segment]:
    """The admins' table, or the default one while theirs is empty."""
    rows = session.scalars(sa.select(SegmentRule).order_by(SegmentRule.position,
                                                           SegmentRule.id)).all()
    if not rows:
        return list(DEFAULT_SEGMENTS)
    return [Segment(r.name, (r.r_min, r.r_max), (r.f_min, r.f_max), (r.m_min, r.m_max))
            for r in rows]


def name_segment(table: Sequence[Segment], r: int, f: int, m: int) -> str | None:
    return next((s.name for s in table if s.holds(r, f, m)), None)


def quintile(worse: int, n: int) -> int:
    """``1 + floor(5 * worse / n)``: 1 to 5."""
    return 1 + (5 * worse) // n


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):  # SQLite returns min()/max() of a timestamp as text
        return datetime.fromisoformat(value).date()
    return cast(date, value)


def _counted_figures(customer_id: int | None = None) -> Any:
    """Per customer: counted orders, revenue in cents, first and last ``ordered_at``."""
    cents = sa.func.sum(sa.cast(sa.func.round(Order.total * 100), sa.BigInteger))
    query = (sa.select(Order.customer_id, sa.func.count().label("orders"),
                       cents.label("cents"), sa.func.min(Order.ordered_at).label("first"),
                       sa.func.max(Order.ordered_at).label("last"))
             .where(Order.status.in_(COUNTED_STATUSES))
             .where(~sa.exists().where(ReturnedOrder.order_id == Order.id))
             .group_by(Order.customer_id))
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    return query


@dataclass(frozen=True)
class Figures:
    customer_id: int
    orders: int
    cents: int
    first: date
    last: date


def _figures(rows: Iterable[Any]) -> list[Figures]:
    return [Figures(r.customer_id, int(r.orders), int(r.cents or 0), _day(r.first), _day(r.last))
            for r in rows]


def _row(session: Session, fig: Figures, as_of: date, r: int, f: int, m: int,
         table: Sequence[Segment], margin: Decimal) -> dict[str, Any]:
    return {"customer_id": fig.customer_id, "as_of": as_of, "order_count": fig.orders,
            "revenue_cents": fig.cents, "first_order_on": fig.first, "last_order_on": fig.last,
            "recency_days": (as_of - fig.last).days, "r_score": r, "f_score": f, "m_score": m,
            "segment": name_segment(table, r, f, m),
            "clv": (from_cents(fig.cents) * margin / 100).quantize(Decimal("0.01"))}


@dataclass(frozen=True)
class RecomputeResult:
    customers: int
    as_of: date
    seconds: float


def recompute(session: Session, as_of: date | None = None) -> RecomputeResult:
    """Score every customer with a counted order as of ``as_of`` (default: today, UTC),
    replacing every stored score. One aggregate query, ranking in Python, one bulk insert.
    The caller commits."""
    started = time.perf_counter()
    as_of = as_of or utcnow().date()
    figures = _figures(session.execute(_counted_figures()))
    n = len(figures)
    lasts = sorted(f.last for f in figures)
    counts = sorted(f.orders for f in figures)
    revenues = sorted(f.cents for f in figures)
    table = segment_table(session)
    margin = Decimal(get_value(session, "crm.clv_margin_percent"))
    rows = [_row(session, fig, as_of, quintile(bisect_left(lasts, fig.last), n),
                 quintile(bisect_left(counts, fig.orders), n),
                 quintile(bisect_left(revenues, fig.cents), n), table, margin)
            for fig in figures]
    session.execute(sa.delete(SCORES))
    for start in range(0, len(rows), 20_000):
        session.execute(sa.insert(SCORES), rows[start:start + 20_000])
    return RecomputeResult(n, as_of, time.perf_counter() - started)


def recompute_job(context: Any) -> None:
    """The periodic job ``crm.segments_recompute``: a full recompute as of today, in the
    job's own transaction (the job service commits it with the run)."""
    recompute(context.session)


def rescore_customer(session: Session, customer_id: int, as_of: date | None = None) -> None:
    """Score one customer again against the stored figures of the others (the hooks of a
    delivered or returned order call this); no counted order left removes its score."""
    as_of = as_of or utcnow().date()
    found = _figures(session.execute(_counted_figures(customer_id)))
    session.execute(sa.delete(SCORES).where(SCORES.c.customer_id == customer_id))
    if not found:
        return
    fig = found[0]
    n = 1 + int(session.scalar(sa.select(sa.func.count()).select_from(SCORES)) or 0)

    def worse(condition: Any) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(SCORES)
                                  .where(condition)) or 0)

    r = quintile(worse(SCORES.c.last_order_on < fig.last), n)
    f = quintile(worse(SCORES.c.order_count < fig.orders), n)
    m = quintile(worse(SCORES.c.revenue_cents < fig.cents), n)
    margin = Decimal(get_value(session, "crm.clv_margin_percent"))
    session.execute(sa.insert(SCORES),
                    [_row(session, fig, as_of, r, f, m, segment_table(session), margin)])


def score_of(session: Session, customer_id: int) -> CustomerScore | None:
    # Scores are written by crm's own job, never pending beside an order: reading one
    # need not flush the order being submitted (which would cost it an UPDATE more).
    with session.no_autoflush:
        return session.get(CustomerScore, customer_id)


#: Built once, on the table: the facts of every submission read these columns (a Core
#: row costs a third of loading the mapped object).
_SCORE_FACTS = sa.select(SCORES.c.segment, SCORES.c.r_score, SCORES.c.f_score,
                         SCORES.c.m_score, SCORES.c.revenue_cents,
                         SCORES.c.order_count).where(
    SCORES.c.customer_id == sa.bindparam("customer_id"))


def order_facts(session: Session, customer_id: int) -> dict[str, Any]:
    """``crm.segment``, ``crm.rfm_score``, ``crm.lifetime_revenue``, ``crm.order_count``
    from the stored scores (a customer without a counted order: no segment, zeros)."""
    with session.no_autoflush:  # as score_of: nothing pending beside an order changes it
        score = session.execute(_SCORE_FACTS, {"customer_id": customer_id}).first()
    if score is None:
        return {"crm.segment": None, "crm.rfm_score": None,
                "crm.lifetime_revenue": Decimal("0.00"), "crm.order_count": 0}
    return {"crm.segment": score.segment,
            "crm.rfm_score": rfm_score(score.r_score, score.f_score, score.m_score),
            "crm.lifetime_revenue": from_cents(score.revenue_cents),
            "crm.order_count": score.order_count}
