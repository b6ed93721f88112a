"""What one order adds to the rollups: the single definition both the lifecycle hooks
and the rebuild use, so the two can never disagree.

Definitions (also in docs/modules/reporting.md):

* **A sale** is an order that reached ``confirmed`` (the business committed to deliver)
  and was not cancelled: statuses confirmed, partially_shipped, shipped, delivered, closed,
  returned. It is booked on the UTC day of ``Order.ordered_at``. A confirmed order that is
  cancelled later is taken out again: cancelled orders are excluded.
* **Revenue** is the orders' ``total``: the sum of the lines rounded to cents half-up, net
  of discount, without shipping charges. **Gross sales** is ``subtotal``, **discount**
  ``discount_total``, **shipping** ``shipping_charge``.
* **A return** subtracts the order's revenue, gross, discount and units on the day of the
  return (not on the day it was ordered); the order still counts as ordered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from erpkit_reporting.histogram import bucket_of
from erpkit_reporting.periods import period_start

SALE_STATUSES = frozenset({"confirmed", "partially_shipped", "shipped", "delivered", "closed",
                           "returned"})
#: Quality events counted on the day they happen.
QUALITY_STATUSES = ("rejected", "cancelled", "returned")
#: The quality kind of an order changed after it was submitted (counted once per order,
#: on the day of its first such change).
EDITED = "edited_after_submission"

#: Steps of an order's life: (name, statuses that start it, statuses that end it).
STEPS: Sequence[tuple[str, frozenset[str], frozenset[str]]] = (
    ("created", frozenset({"draft"}), frozenset({"submitted"})),
    ("submitted", frozenset({"submitted", "pending_approval"}), frozenset({"approved"})),
    ("approved", frozenset({"approved"}), frozenset({"confirmed"})),
    ("confirmed", frozenset({"confirmed"}), frozenset({"partially_shipped", "shipped"})),
    ("shipped", frozenset({"partially_shipped", "shipped"}), frozenset({"delivered"})),
    ("delivered", frozenset({"delivered"}), frozenset({"closed", "returned"})),
)
STEP_NAMES = tuple(name for name, _, _ in STEPS)

#: A rollup change: table name -> key tuple -> column -> signed integer increment.
Changes = dict[str, dict[tuple, dict[str, int]]]


@dataclass
class LineFacts:
    product_id: int
    category: str
    units_milli: int
    revenue_cents: int


@dataclass
class OrderFacts:
    """The plain values of an order the rollups need (from the ORM or from raw rows)."""

    id: int
    ordered_at: datetime
    channel: str
    country: str
    region: str
    customer_id: int
    total_cents: int
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    lines: list[LineFacts] = field(default_factory=list)
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    requested_date: date | None = None
    promised_date: date | None = None

    @property
    def day(self) -> date:
        return self.ordered_at.date()

    @property
    def place(self) -> tuple[str, str, str]:
        return (self.channel, self.country, self.region)

    @property
    def units_milli(self) -> int:
        return sum(line.units_milli for line in self.lines)


def new_changes() -> Changes:
    return defaultdict(lambda: defaultdict(lambda: defaultdict(int)))


#: Columns merged by keeping the smaller or larger value instead of adding.
EXTREMES = {"ship_seconds_min": min, "ship_seconds_max": max}


def _add(changes: Changes, table: str, key: tuple, **values: int) -> None:
    row = changes[table][key]
    for column, value in values.items():
        merge = EXTREMES.get(column)
        if merge is None:
            row[column] += value
        else:
            row[column] = merge(row[column], value) if column in row else value


def add_to(changes: Changes, table: str, key: tuple, **values: int) -> None:
    """Add ``values`` to the row ``key`` of ``table`` (for rollups defined elsewhere)."""
    _add(changes, table, key, **values)


def merge(into: Changes, more: Changes) -> None:
    """Add the changes ``more`` to ``into`` (a transaction's changes, written once)."""
    for table, rows in more.items():
        for key, values in rows.items():
            _add(into, table, key, **values)


def add_sale(changes: Changes, order: OrderFacts, sign: int = 1) -> None:
    """The order as a sale on its order day (``sign=-1`` takes it out again)."""
    s = sign
    _add(changes, "reporting_daily_sales", (order.day, *order.place), orders=s,
         lines=s * len(order.lines), units_milli=s * order.units_milli,
         revenue_cents=s * order.total_cents, gross_cents=s * order.subtotal_cents,
         discount_cents=s * order.discount_cents, shipping_cents=s * order.shipping_cents)
    by_product: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for line in order.lines:
        for bucket in (by_product[(line.product_id, line.category)], by_category[line.category]):
            bucket[0] += 1
            bucket[1] += line.units_milli
            bucket[2] += line.revenue_cents
    month = order.day.replace(day=1)
    for (product_id, category), (lines, milli, cents) in by_product.items():
        for table, key in (("reporting_daily_product_sales",
                            (order.day, *order.place, product_id, category)),
                           ("reporting_monthly_product_sales", (month, product_id, category))):
            _add(changes, table, key, orders=s, lines=s * lines, units_milli=s * milli,
                 revenue_cents=s * cents)
    for category, (lines, milli, cents) in by_category.items():
        _add(changes, "reporting_daily_category_sales", (order.day, *order.place, category),
             orders=s, lines=s * lines, units_milli=s * milli, revenue_cents=s * cents)
    _add(changes, "reporting_customer_daily", (order.day, order.customer_id, *order.place),
         orders=s, revenue_cents=s * order.total_cents)
    _add_customer_periods(changes, order.day, order.customer_id, orders=s,
                          revenue_cents=s * order.total_cents)


#: The grains of ``reporting_customer_period`` and the periods they stand for.
CUSTOMER_GRAINS = (("m", "month"), ("q", "quarter"), ("y", "year"))
#: The grain of every sale ever, and the day its one period is keyed by.
ALL_TIME, ALL_TIME_KEY = "a", date(1900, 1, 1)


def _add_customer_periods(changes: Changes, day: date, customer_id: int, **values: int) -> None:
    """What a customer's daily row gains, added to their month, quarter, year and all time
    too."""
    for grain, by in CUSTOMER_GRAINS:
        _add(changes, "reporting_customer_period", (grain, period_start(day, by), customer_id),
             **values)
    _add(changes, "reporting_customer_period", (ALL_TIME, ALL_TIME_KEY, customer_id), **values)


def add_return(changes: Changes, order: OrderFacts, day: date) -> None:
    """The order came back on ``day``: its money and units leave that day's figures."""
    _add(changes, "reporting_daily_sales", (day, *order.place), returned_orders=1,
         returned_cents=order.total_cents, revenue_cents=-order.total_cents,
         gross_cents=-order.subtotal_cents, discount_cents=-order.discount_cents,
         units_milli=-order.units_milli)
    by_product: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in order.lines:
        for bucket in (by_product[(line.product_id, line.category)], by_category[line.category]):
            bucket[0] += line.units_milli
            bucket[1] += line.revenue_cents
    for (product_id, category), (milli, cents) in by_product.items():
        for table, key in (("reporting_daily_product_sales",
                            (day, *order.place, product_id, category)),
                           ("reporting_monthly_product_sales",
                            (day.replace(day=1), product_id, category))):
            _add(changes, table, key, units_milli=-milli, revenue_cents=-cents)
    for category, (milli, cents) in by_category.items():
        _add(changes, "reporting_daily_category_sales", (day, *order.place, category),
             units_milli=-milli, revenue_cents=-cents)
    _add(changes, "reporting_customer_daily", (day, order.customer_id, *order.place),
         revenue_cents=-order.total_cents)
    _add_customer_periods(changes, day, order.customer_id, revenue_cents=-order.total_cents)


def ship_seconds(order: OrderFacts) -> int | None:
    if order.shipped_at is None:
        return None
    return max(0, int((order.shipped_at - order.ordered_at).total_seconds()))


def add_shipped(changes: Changes, order: OrderFacts) -> None:
    """The order's first shipment, on the order's day (fulfilment of that day's orders)."""
    seconds = ship_seconds(order)
    if seconds is None or order.shipped_at is None:
        return
    late = int(order.requested_date is not None
               and order.shipped_at.date() > order.requested_date)
    _add(changes, "reporting_daily_sales", (order.day, *order.place), shipped_orders=1,
         ship_seconds=seconds, ship_seconds_min=seconds, ship_seconds_max=seconds,
         shipped_late=late)


def due_date(order: OrderFacts) -> date | None:
    """What the delivery is measured against: the promised date, else the requested one."""
    return order.promised_date or order.requested_date


def add_delivered(changes: Changes, order: OrderFacts) -> None:
    if order.delivered_at is None:
        return
    due = due_date(order)
    _add(changes, "reporting_daily_sales", (order.day, *order.place), delivered_orders=1,
         delivered_with_due=int(due is not None),
         delivered_on_time=int(due is not None and order.delivered_at.date() <= due))


def add_quality(changes: Changes, day: date, channel: str, kind: str, count: int = 1) -> None:
    _add(changes, "reporting_daily_quality", (day, channel, kind), count=count)


def submitted_index(statuses: Sequence[str | None]) -> int | None:
    """The position of the order's first status event out of ``draft`` (its submission);
    None if there is none."""
    return next((i for i, status in enumerate(statuses) if status and status != "draft"), None)


def first_edit_after_submission(events: Iterable[tuple[str | None, datetime]],
                                 edits: Iterable[datetime]) -> datetime | None:
    """When the order was first changed after its submission: the first edit at or after
    its first status event out of ``draft``; None if never (or no status events)."""
    sequence = list(events)
    index = submitted_index([status for status, _ in sequence])
    if index is None:
        return None
    submitted = sequence[index][1]
    return min((at for at in edits if at >= submitted), default=None)


@lru_cache(maxsize=4096)
def step_plan(statuses: tuple[str | None, ...]) -> tuple[tuple[str, int, int], ...]:
    """The steps a sequence of status events completes: (step, index of the event that
    started it, index of the event that ended it). A step ends at the first event entering
    one of its end statuses; it started at the first event of the last unbroken run of its
    start statuses before that.

    It depends on the statuses alone, and orders follow few paths: the rebuild looks the
    plan up once per path, not once per order (cached)."""
    found = []
    for name, starts, ends in STEPS:
        end_index = next((i for i, status in enumerate(statuses) if status in ends), None)
        if end_index is None:
            continue
        start_index = None
        for i in range(end_index - 1, -1, -1):
            if statuses[i] in starts:
                start_index = i
            elif start_index is not None:
                break
        if start_index is not None:
            found.append((name, start_index, end_index))
    return tuple(found)


def step_durations(events: Iterable[tuple[str | None, datetime]]
                   ) -> list[tuple[str, int, datetime, int]]:
    """The steps an order's status events complete (:func:`step_plan`): (step, index of
    the event that ended it, when, whole seconds spent, at least 0)."""
    sequence = list(events)
    plan = step_plan(tuple(status for status, _ in sequence))
    return [(name, end, sequence[end][1], seconds_spent(sequence[start][1], sequence[end][1]))
            for name, start, end in plan]


def seconds_spent(started: datetime, ended: datetime) -> int:
    """The whole seconds of a step, truncated, and 0 for a step that ended before it
    started (clocks of different systems)."""
    return max(0, int((ended - started).total_seconds()))


def add_step(changes: Changes, channel: str, step: str, ended_at: datetime, seconds: int) -> None:
    _add(changes, "reporting_step_duration", (ended_at.date(), step, channel,
                                              bucket_of(seconds)), count=1, seconds=seconds)
