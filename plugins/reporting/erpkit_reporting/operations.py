"""Operations reports: fulfilment, order cycle times, order quality, demand forecast.

* **fulfilment**, of the sales ordered in the range: shipped and unshipped orders, days from
  order to first shipment (average, min, max), the late share (first shipment after the
  requested date, of shipped orders with one) and the on-time delivery rate (delivered on
  or before the promised date, else the requested one, of delivered orders with a date).
* **order-cycle-times**: median and 90th percentile hours in each step (created, submitted,
  approved, confirmed, shipped, delivered), from the timeline's status events, by the day
  the step ended; read from a log histogram, within 1% of the exact values.
* **order-quality**: per period, orders created and intake refusals (attempts refused at
  creation: recorded through the hook ``erpkit_order_intake_refused``), orders edited
  after submission (an ``update`` of an order no longer a draft, counted once per order on
  the day of its first such edit: the timeline's ``edit`` events), rejections,
  cancellations and returns, each as a rate of the orders created; refusals by field.
* **demand-forecast**: units per product (or category) and period; the next periods by
  seasonal naive (the same period a season ago) and simple exponential smoothing, each with
  its mean absolute error on the last ``holdout`` periods, predicted from before them. The
  history starts with the whole period that contains ``from``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting import forecast as fc
from erpkit_reporting import queries as q
from erpkit_reporting.catalogue import Column, Option, Params, Report, Result
from erpkit_reporting.contributions import STEP_NAMES
from erpkit_reporting.histogram import percentile
from erpkit_reporting.models import (
    DailyCategorySales,
    DailyProductSales,
    DailyQuality,
    DailySales,
    IntakeRefusal,
    StepDuration,
)
from erpkit_reporting.money import ratio, units
from erpkit_reporting.periods import next_period, periods_between

DAY = Decimal(86400)
FULFILMENT_SUMS = ("orders", "shipped_orders", "ship_seconds", "shipped_late",
                   "delivered_orders", "delivered_with_due", "delivered_on_time")


def _pairs(result: Any) -> dict[Any, Any]:
    """Two-column rows as a dict (a Result has keys(), so dict() would misread it)."""
    return {key: value for key, value in result}


def _days(seconds: int | None, count: int = 1) -> Decimal | None:
    if seconds is None or not count:
        return None
    return (Decimal(seconds) / count / DAY).quantize(Decimal("0.01"))


def _fulfilment_row(v: dict[str, int]) -> dict[str, Any]:
    return {"orders": v["orders"], "shipped": v["shipped_orders"],
            "unshipped": v["orders"] - v["shipped_orders"],
            "average_days_to_ship": _days(v["ship_seconds"], v["shipped_orders"]),
            "late_share": ratio(v["shipped_late"], v["shipped_orders"]),
            "delivered": v["delivered_orders"],
            "on_time_rate": ratio(v["delivered_on_time"], v["delivered_with_due"])}


def fulfilment(session: Session, params: Params) -> Result:
    """Shipped and unshipped sales, days to ship, late share, on-time delivery rate."""
    periods = q.by_period(q.sums(session, DailySales, params, FULFILMENT_SUMS), params.by,
                          FULFILMENT_SUMS)
    rows = [{"period": q.period_label(start, params.by), **_fulfilment_row(v)}
            for start, v in periods.items()]
    total = {c: sum(v[c] for v in periods.values()) for c in FULFILMENT_SUMS}
    totals = {**_fulfilment_row(total),
              "min_days_to_ship": _days(q.extreme(session, DailySales, params,
                                                  "ship_seconds_min", "min")),
              "max_days_to_ship": _days(q.extreme(session, DailySales, params,
                                                  "ship_seconds_max", "max"))}
    columns = [Column("period", "Period", "text"), Column("orders", "Orders"),
               Column("shipped", "Shipped"), Column("unshipped", "Unshipped"),
               Column("average_days_to_ship", "Average days to ship", "days"),
               Column("late_share", "Shipped late", "share"), Column("delivered", "Delivered"),
               Column("on_time_rate", "On-time delivery", "share")]
    return Result(rows, totals, columns)


def _hours(seconds: float | None) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / 3600).quantize(Decimal("0.01"))


def order_cycle_times(session: Session, params: Params) -> Result:
    """Median and 90th percentile hours in each step, by channel (``by`` is ignored)."""
    histograms: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    seconds: dict[tuple[str, str], int] = defaultdict(int)
    for row in q.sums(session, StepDuration, params, ("count", "seconds"),
                      group=["step", "channel", "bucket"]):
        for key in ((row["step"], row["channel"]), (row["step"], "")):
            histograms[key][row["bucket"]] += int(row["count"])
            seconds[key] += int(row["seconds"])
    rows = []
    order = {name: index for index, name in enumerate(STEP_NAMES)}
    for (step, channel), counts in sorted(histograms.items(),
                                          key=lambda item: (order[item[0][0]], item[0][1])):
        n = sum(counts.values())
        rows.append({"step": step, "channel": channel or "all", "orders": n,
                     "average_hours": _hours(seconds[(step, channel)] / n if n else None),
                     "median_hours": _hours(percentile(counts, 0.5)),
                     "p90_hours": _hours(percentile(counts, 0.9))})
    columns = [Column("step", "Step", "text"), Column("channel", "Channel", "text"),
               Column("orders", "Orders"), Column("average_hours", "Average hours", "hours"),
               Column("median_hours", "Median hours", "hours"),
               Column("p90_hours", "90th percentile hours", "hours")]
    return Result(rows, {"steps": len({r["step"] for r in rows})}, columns)


QUALITY_KINDS = ("intake_refused", "edited_after_submission", "rejected", "cancelled",
                 "returned")


def order_quality(session: Session, params: Params) -> Result:
    """Created orders, intake refusals, orders edited after submission, rejections,
    cancellations and returns per period, each as a rate of the orders created."""
    kinds = ("created", *QUALITY_KINDS)
    per_period: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(kinds, 0))
    for row in q.sums(session, DailyQuality, params, ("count",), group=["day", "kind"]):
        if row["kind"] in kinds:
            per_period[q.period_label(_start(row["day"], params.by), params.by)][row["kind"]] += \
                int(row["count"])
    rows = []
    for period, v in sorted(per_period.items()):
        rows.append({"period": period, **v,
                     **{f"{k}_rate": ratio(v[k], v["created"]) for k in QUALITY_KINDS}})
    total = {k: sum(v[k] for v in per_period.values()) for k in kinds}
    refusals = session.execute(
        sa.select(IntakeRefusal.field, sa.func.count(sa.distinct(IntakeRefusal.attempt)))
        .where(IntakeRefusal.at >= _midnight(params.date_from),
               IntakeRefusal.at < _midnight(params.date_to, 1),
               *([IntakeRefusal.channel.in_(params.filters["channel"])]
                 if "channel" in params.filters else []))
        .group_by(IntakeRefusal.field).order_by(IntakeRefusal.field))
    totals = {**total, **{f"{k}_rate": ratio(total[k], total["created"]) for k in QUALITY_KINDS},
              "refused_by_field": {field: int(n) for field, n in refusals}}
    columns = [Column("period", "Period", "text"), Column("created", "Created"),
               *[c for k in QUALITY_KINDS for c in (
                   Column(k, k.replace("_", " ").capitalize()),
                   Column(f"{k}_rate", "Rate", "share"))]]
    return Result(rows, totals, columns)


def _start(day: Any, by: str) -> Any:
    from erpkit_reporting.periods import period_start

    return period_start(day, by)


def _midnight(day: Any, plus_days: int = 0) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=plus_days)


SEASONS = {"day": 7, "week": 52, "month": 12, "quarter": 4, "year": 1}


def _unit_series(session: Session, params: Params, starts: list[Any]) -> dict[Any, list[int]]:
    """Thousandths of units per item (product id or category) and period of ``starts``."""
    group = params.options["group"]
    position = {start: index for index, start in enumerate(starts)}
    rows: list[Any]
    if group == "product" and params.by in ("month", "quarter", "year"):
        # months add up into quarters and years: the monthly rollup answers
        # month first, in the primary key's order, and not grouped: about one row a
        # product and month, added up below (a product that changed category has two)
        rows = q.product_sum_rows(session, params, ("units_milli",),
                                  group=["month", "product_id"], summed=False)
        # each of the few distinct months (dates, or SQLite's text) read once
        position = {month: position[_start(q.as_date(month), params.by)]
                    for month in {month for month, _, _ in rows}}
    else:
        model, key = (DailyProductSales, "product_id") if group == "product" \
            else (DailyCategorySales, "category")
        rows = q.sum_rows(session, model, params, ("units_milli",), group=["day", key])
        position = {day: position[_start(day, params.by)] for day in {day for day, _, _ in rows}}
    series: dict[Any, list[int]] = {}
    empty = [0] * len(starts)
    for start, item, milli in rows:
        counts = series.get(item)
        if counts is None:
            counts = series[item] = empty.copy()
        counts[position[start]] += int(milli)
    return series


def demand_forecast(session: Session, params: Params) -> Result:
    """Units per product (``group=product``) or category and period, forecast ahead."""
    from erpkit_orders.models import Product

    # a partial first period would read as a drop in demand: the history starts with the
    # whole period containing ``from`` (and whole months read the monthly rollup)
    params = replace(params, date_from=_start(params.date_from, params.by))
    group = params.options["group"]
    horizon, holdout, alpha = params.options["horizon"], params.options["holdout"], \
        params.options["alpha"]
    starts = periods_between(params.date_from, params.date_to, params.by)
    series = _unit_series(session, params, starts)
    future = []
    current = next_period(starts[-1], params.by) if starts else params.date_to
    for _ in range(horizon):
        future.append(q.period_label(current, params.by))
        current = next_period(current, params.by)
    names = {}
    if group == "product" and series:
        # the ids' span, one range read: an IN of 2,000 ids cost more to render than to run
        names = _pairs(q.rows_of(session, sa.select(Product.id, Product.sku)
                                 .where(Product.id.between(min(series), max(series)))))
    season = SEASONS[params.by]
    train = max(len(starts) - holdout, 0)
    rows: list[dict[str, Any]] = []
    for item in sorted(series, key=lambda k: str(names.get(k, k))):
        history = series[item]
        test = history[train:]
        levels = fc.smoothed_levels(history, alpha, train)
        naive_test = fc.seasonal_naive(history[:train], season, len(test))
        name = str(names.get(item, item))
        naive_mae = fc.mean_absolute_error(test, naive_test)
        ses_mae = fc.mean_absolute_error(test, [fc.to_milli(levels.train)] * len(test))
        # without history both methods forecast 0 (no places), as the formulas do
        naive = [units(n) for n in fc.seasonal_naive(history, season, horizon)] if history \
            else [Decimal(0)] * horizon
        ses = levels.whole if levels.whole is not None else Decimal(0)
        rows.extend({"item": name, "naive_mae": naive_mae, "ses_mae": ses_mae,
                     "period": period, "seasonal_naive": n, "exponential_smoothing": ses}
                    for period, n in zip(future, naive, strict=True))
    columns = [Column("item", group.capitalize(), "text"), Column("period", "Period", "text"),
               Column("seasonal_naive", "Seasonal naive", "units"),
               Column("exponential_smoothing", "Exponential smoothing", "units"),
               Column("naive_mae", "Naive MAE (held back)", "units"),
               Column("ses_mae", "Smoothing MAE (held back)", "units")]
    return Result(rows, {"items": len(series), "history_periods": len(starts),
                         "holdout": holdout, "alpha": alpha}, columns)


def _group(text: str) -> str:
    if text not in ("product", "category"):
        raise ValueError("use product or category")
    return text


def _positive(limit: int) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if not 0 <= value <= limit:
            raise ValueError(f"give a whole number from 0 to {limit}")
        return value
    return parse


def _alpha(text: str) -> Decimal:
    value = Decimal(text)
    if not 0 < value <= 1:
        raise ValueError("give a smoothing factor above 0 and at most 1")
    return value


def reports() -> list[Report]:
    return [
        Report("fulfilment", "Fulfilment", fulfilment.__doc__ or "", fulfilment),
        Report("order-cycle-times", "Order cycle times", order_cycle_times.__doc__ or "",
               order_cycle_times, filters=("channel",), uses_period=False),
        Report("order-quality", "Order quality", order_quality.__doc__ or "", order_quality,
               filters=("channel",)),
        Report("demand-forecast", "Demand forecast", demand_forecast.__doc__ or "",
               demand_forecast, filters=("channel", "country", "region", "category"),
               options=(Option("group", "product or category", _group, "product"),
                        Option("horizon", "Periods to forecast", _positive(36), 3),
                        Option("holdout", "Periods held back to measure the error",
                               _positive(36), 3),
                        Option("alpha", "Smoothing factor of exponential smoothing", _alpha,
                               Decimal("0.3")))),
    ]
