"""Reports of the other modules, offered when the module is enabled: each reads the
module's own figures through the module's own functions, so a figure has one definition.

* **inventory-turnover** (inventory): per product, units shipped net of returns, average
  and final on hand, turnover and days of cover, from
  :func:`erpkit_inventory.figures.figures` (``erpkit inventory figures``); and
  **stock-out days**: days of the range that ended with nothing on hand, from the same
  ledger replay (:func:`erpkit_inventory.demand.on_hand_at_end_of_days`).
* **customers-rfm** (crm): customers and lifetime revenue per RFM segment, from the scores
  crm keeps (:mod:`erpkit_crm.segments`: recomputed by its periodic job and whenever an
  order is delivered or returned); **customers-lifetime-value**: how the customers'
  historical lifetime value (crm's CLV) is distributed over bands.
* **approvals-cycle** (approvals): per period of the decision, approval requests decided,
  approved and rejected, hours from the request to its decision (average, median, 90th
  percentile), approval steps completed and those completed after their time limit
  (``due_at``), and, over the whole range, the steps still open past their limit.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit_reporting import queries as q
from erpkit_reporting.catalogue import Column, Option, Params, Report, Result
from erpkit_reporting.money import money, ratio
from erpkit_reporting.periods import period_start

HOUR = Decimal(3600)


def _midnight(day: Any, plus_days: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=plus_days)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they are UTC
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hours(seconds: float | int | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / HOUR).quantize(Decimal("0.01"))


# --- inventory ------------------------------------------------------------------------


def inventory_turnover(session: Session, params: Params) -> Result:
    """Per product over the range: units shipped and returned, average and final on
    hand, turnover (net shipped / average on hand), days of cover (final on hand / net
    daily shipments) and stock-out days (days ending with nothing on hand)."""
    from erpkit_inventory.demand import on_hand_at_end_of_days
    from erpkit_inventory.figures import figures
    from erpkit_orders.models import Product

    first, last = params.date_from, min(params.date_to, utcnow().date())
    if last < first:
        last = first
    found = figures(session, first, last, sku=params.options.get("sku"),
                    limit=params.options.get("limit"))
    ids = {sku: product_id for sku, product_id in session.execute(
        sa.select(Product.sku, Product.id).where(Product.sku.in_([f.sku for f in found])))}
    rows: list[dict[str, Any]] = []
    for item in found:
        balances = on_hand_at_end_of_days(session, ids[item.sku], None, first, last)
        rows.append({"sku": item.sku, "name": item.name, "shipped": item.shipped,
                     "returned": item.returned, "average_on_hand": item.average_on_hand,
                     "on_hand_at_end": item.on_hand_at_end, "turnover": item.turnover,
                     "days_of_cover": item.days_of_cover,
                     "stockout_days": sum(1 for balance in balances if balance <= 0)})
    totals = {"products": len(rows),
              "shipped": sum((r["shipped"] for r in rows), Decimal(0)),
              "returned": sum((r["returned"] for r in rows), Decimal(0)),
              "products_stocked_out": sum(1 for r in rows if r["stockout_days"]),
              "stockout_days": sum(r["stockout_days"] for r in rows)}
    columns = [Column("sku", "SKU", "text"), Column("name", "Product", "text"),
               Column("shipped", "Shipped", "units"), Column("returned", "Returned", "units"),
               Column("average_on_hand", "Average on hand", "units"),
               Column("on_hand_at_end", "On hand at end", "units"),
               Column("turnover", "Turnover", "decimal"),
               Column("days_of_cover", "Days of cover", "decimal"),
               Column("stockout_days", "Stock-out days")]
    notes = [f"from {first} to {last} (days after today are not counted)"]
    return Result(rows, totals, columns, notes)


# --- crm ------------------------------------------------------------------------------


def customers_rfm(session: Session, params: Params) -> Result:
    """Customers and their lifetime revenue per RFM segment (crm's scores), with each
    segment's share of the customers and of the revenue and its average lifetime value.
    The scores are as of crm's last recompute (``as_of``); the range is not used."""
    from erpkit_crm.models import CustomerScore
    from erpkit_crm.segments import segment_table

    found = session.execute(
        sa.select(CustomerScore.segment, sa.func.count(),
                  sa.func.sum(CustomerScore.revenue_cents), sa.func.sum(CustomerScore.order_count),
                  sa.func.min(CustomerScore.as_of), sa.func.max(CustomerScore.as_of))
        .group_by(CustomerScore.segment)).all()
    clv = {segment: [Decimal(str(v)) for v in values] for segment, values in _grouped(
        session.execute(sa.select(CustomerScore.segment, CustomerScore.clv))).items()}
    customers = sum(int(n) for _, n, *_ in found)
    cents = sum(int(c or 0) for _, _, c, *_ in found)
    order = {s.name: i for i, s in enumerate(segment_table(session))}
    rows = []
    for segment, n, seg_cents, orders, _first, _last in sorted(
            found, key=lambda r: (order.get(r[0] or "", len(order)), str(r[0]))):
        values = clv.get(segment, [])
        rows.append({"segment": segment or "(none)", "customers": int(n),
                     "customer_share": ratio(int(n), customers), "orders": int(orders or 0),
                     "revenue": money(int(seg_cents or 0)),
                     "revenue_share": ratio(int(seg_cents or 0), cents),
                     "average_lifetime_value": _mean_money(values)})
    as_of = max((r[5] for r in found), default=None)
    columns = [Column("segment", "Segment", "text"), Column("customers", "Customers"),
               Column("customer_share", "Share of customers", "share"),
               Column("orders", "Orders"), Column("revenue", "Revenue", "money"),
               Column("revenue_share", "Share of revenue", "share"),
               Column("average_lifetime_value", "Average lifetime value", "money")]
    return Result(rows, {"customers": customers, "revenue": money(cents),
                         "as_of": as_of.isoformat() if as_of else None}, columns,
                  [f"crm scores as of {as_of}" if as_of else "crm has scored no customer yet"])


def _grouped(rows: Iterable[Any]) -> dict[Any, list[Any]]:
    out: dict[Any, list[Any]] = defaultdict(list)
    for key, value in rows:
        out[key].append(value)
    return out


def _mean_money(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"))


#: Lower bounds of the lifetime value bands (the last band is open).
CLV_BANDS = tuple(Decimal(v) for v in ("0", "100", "250", "500", "1000", "2500", "5000",
                                       "10000", "25000"))


def _band_of(value: Decimal, bands: tuple[Decimal, ...]) -> int:
    index = 0
    for position, bound in enumerate(bands):
        if value >= bound:
            index = position
    return index


def customers_lifetime_value(session: Session, params: Params) -> Result:
    """How crm's historical lifetime value (revenue x ``crm.clv_margin_percent``) is
    distributed: customers and their summed value per band, with the shares, and the
    median and 90th percentile over all scored customers."""
    from erpkit_crm.models import CustomerScore

    values = sorted(Decimal(str(v)) for v in session.scalars(sa.select(CustomerScore.clv)))
    counts = [0] * len(CLV_BANDS)
    sums = [Decimal(0)] * len(CLV_BANDS)
    for value in values:
        band = _band_of(value, CLV_BANDS)
        counts[band] += 1
        sums[band] += value
    total = sum(values, Decimal(0))
    rows = []
    for index, bound in enumerate(CLV_BANDS):
        upper = CLV_BANDS[index + 1] if index + 1 < len(CLV_BANDS) else None
        rows.append({"band": f"{bound} to {upper}" if upper is not None else f"{bound}+",
                     "from": bound, "to": upper, "customers": counts[index],
                     "customer_share": ratio(counts[index], len(values)),
                     "lifetime_value": sums[index].quantize(Decimal("0.01")),
                     "value_share": ratio(sums[index], total)})
    totals = {"customers": len(values), "lifetime_value": total.quantize(Decimal("0.01")),
              "median": _quantile(values, Decimal("0.5")),
              "p90": _quantile(values, Decimal("0.9"))}
    columns = [Column("band", "Lifetime value", "text"), Column("customers", "Customers"),
               Column("customer_share", "Share of customers", "share"),
               Column("lifetime_value", "Lifetime value", "money"),
               Column("value_share", "Share of value", "share")]
    return Result(rows, totals, columns)


def _quantile(values: list[Decimal], p: Decimal) -> Decimal | None:
    """The nearest-rank quantile: the value at rank ceil(p * n) of the sorted values."""
    if not values:
        return None
    rank = max(1, int((p * len(values)).to_integral_value(rounding="ROUND_CEILING")))
    return values[rank - 1]


# --- approvals ------------------------------------------------------------------------


def approvals_cycle(session: Session, params: Params) -> Result:
    """Per period of the decision: requests decided, approved, rejected, hours to the
    decision (average, median, 90th percentile), steps completed and late (completed
    after their time limit); over the range, steps still open past their limit."""
    from erpkit_approvals.models import ApprovalRequest, Step

    start, end = _midnight(params.date_from), _midnight(params.date_to, 1)
    per: dict[Any, dict[str, Any]] = defaultdict(lambda: {
        "decided": 0, "approved": 0, "rejected": 0, "seconds": [], "steps": 0,
        "steps_late": 0})
    requests = session.execute(
        sa.select(ApprovalRequest.status, ApprovalRequest.opened_at, ApprovalRequest.closed_at)
        .where(ApprovalRequest.closed_at >= start, ApprovalRequest.closed_at < end,
               ApprovalRequest.status.in_(("approved", "rejected"))))
    for status, opened, closed in requests:
        assert closed is not None  # the query asks for decided requests
        bucket = per[period_start(_aware(closed).date(), params.by)]
        bucket["decided"] += 1
        bucket[status] += 1
        bucket["seconds"].append(max(0, int((_aware(closed) - _aware(opened))
                                            .total_seconds())))
    steps = session.execute(
        sa.select(Step.completed_at, Step.due_at)
        .where(Step.completed_at >= start, Step.completed_at < end))
    for completed, due in steps:
        assert completed is not None  # the query asks for completed steps
        bucket = per[period_start(_aware(completed).date(), params.by)]
        bucket["steps"] += 1
        bucket["steps_late"] += int(due is not None and _aware(completed) > _aware(due))
    now = utcnow()
    open_late = int(session.scalar(
        sa.select(sa.func.count()).select_from(Step)
        .where(Step.completed_at.is_(None), Step.due_at.is_not(None), Step.due_at < now,
               Step.due_at >= start, Step.due_at < end, Step.status == "active")) or 0)
    rows = [{"period": q.period_label(key, params.by), **_cycle_figures(v)}
            for key, v in sorted(per.items())]
    everything = {"decided": sum(v["decided"] for v in per.values()),
                  "approved": sum(v["approved"] for v in per.values()),
                  "rejected": sum(v["rejected"] for v in per.values()),
                  "seconds": [s for v in per.values() for s in v["seconds"]],
                  "steps": sum(v["steps"] for v in per.values()),
                  "steps_late": sum(v["steps_late"] for v in per.values())}
    totals = {**_cycle_figures(everything), "steps_open_late": open_late}
    columns = [Column("period", "Period", "text"), Column("decided", "Decided"),
               Column("approved", "Approved"), Column("rejected", "Rejected"),
               Column("average_hours", "Average hours to decision", "hours"),
               Column("median_hours", "Median hours", "hours"),
               Column("p90_hours", "90th percentile hours", "hours"),
               Column("steps", "Steps completed"), Column("steps_late", "Steps late"),
               Column("late_rate", "Late rate", "share")]
    return Result(rows, totals, columns)


def _cycle_figures(v: dict[str, Any]) -> dict[str, Any]:
    seconds = sorted(v["seconds"])
    return {"decided": v["decided"], "approved": v["approved"], "rejected": v["rejected"],
            "average_hours": _hours(sum(seconds) / len(seconds)) if seconds else None,
            "median_hours": _hours(statistics.median(seconds)) if seconds else None,
            "p90_hours": _hours(_nearest_rank(seconds, 0.9)) if seconds else None,
            "steps": v["steps"], "steps_late": v["steps_late"],
            "late_rate": ratio(v["steps_late"], v["steps"])}


def _nearest_rank(values: list[int], p: float) -> int:
    rank = max(1, -(-int(p * 1000) * len(values) // 1000))  # ceil(p * n), in integers
    return values[min(rank, len(values)) - 1]


# --- the catalogue ----------------------------------------------------------------------


def _limit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise ValueError("give a number from 1 to 100000")
    return value


def _sku(text: str) -> str:
    if not text.strip() or len(text) > 64:
        raise ValueError("give a SKU")
    return text.strip()


def reports(enabled: set[str]) -> list[Report]:
    """The reports of the enabled modules among inventory, crm and approvals."""
    found = []
    if "inventory" in enabled:
        found.append(Report(
            "inventory-turnover", "Inventory turnover and stock-outs",
            inventory_turnover.__doc__ or "", inventory_turnover, filters=(),
            uses_period=False, plugin="inventory",
            options=(Option("sku", "One product only", _sku),
                     Option("limit", "At most N products, in SKU order", _limit))))
    if "crm" in enabled:
        found += [
            Report("customers-rfm", "Customers by RFM segment", customers_rfm.__doc__ or "",
                   customers_rfm, filters=(), uses_period=False, plugin="crm"),
            Report("customers-lifetime-value", "Customer lifetime value",
                   customers_lifetime_value.__doc__ or "", customers_lifetime_value,
                   filters=(), uses_period=False, plugin="crm"),
        ]
    if "approvals" in enabled:
        found.append(Report("approvals-cycle", "Approval cycle", approvals_cycle.__doc__ or "",
                            approvals_cycle, filters=(), plugin="approvals"))
    return found
