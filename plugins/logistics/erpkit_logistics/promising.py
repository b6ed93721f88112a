"""The delivery promise: a date that holds, and its explanation step by step.

For each line, when its goods are there (:mod:`erpkit_logistics.supply`: stock, the
supplier's lead time of a backordered line, or production on a work centre's free
capacity, :mod:`erpkit_logistics.capacity`, started once inventory has the components).
Then, on the warehouse's calendar, its handling time (``logistics.handling_days``);
the carrier service's pick-up cut-off (after it, the next working day of both the
warehouse and the carrier); and the service's transit to the destination zone, in the
carrier's working days. A requested date later than all that is kept.

Every day is counted on a business calendar (:mod:`erpkit_logistics.calendars`).
``now`` is handed in, so that a promise can be worked out for any moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import setup_cache as shared
from erpkit.plugins import Registry, registry_of
from erpkit.promises import DeliveryPromise, PromiseStep
from erpkit_logistics import capacity, rates, supply
from erpkit_logistics.calendars import Calendar, calendar_for
from erpkit_logistics.models import MADE_TO_ORDER, BomLine, MadeToOrder

HANDLING_DAYS = "logistics.handling_days"
DEFAULT_TRANSIT_DAYS = "logistics.default_transit_days"
DEFAULT_WAREHOUSE = "logistics.default_warehouse"
#: Combined calendars agree on a working day within this many days, or are misconfigured.
MAX_DAYS_TO_AGREE = 60

#: Which products are made to order: set-up asked by every promise, and most orders have
#: none of them, so the process keeps the set (:mod:`erpkit.setup_cache`) and the rows are
#: read only for an order that has such a product.


def made_to_order_products(session: Session) -> frozenset[int]:
    return shared.cached(session, MADE_TO_ORDER, "products", lambda: frozenset(
        session.scalars(sa.select(MadeToOrder.product_id))))


@dataclass(frozen=True)
class Worked:
    """A promise and the last moment its goods can reach the carrier and still arrive."""

    promise: DeliveryPromise
    hand_over_by: datetime


def _fmt(day: date) -> str:
    return f"{day.strftime('%a')} {day.isoformat()}"


def _days_off(calendar: Calendar, after: date, until: date) -> str:
    """The days not worked strictly between ``after`` and ``until``, named."""
    skipped = []
    day = after + timedelta(days=1)
    while day < until:
        if not calendar.is_working_day(day):
            skipped.append(f"{day.isoformat()} {calendar.why_not_working(day)}")
        day += timedelta(days=1)
    return f" (not worked: {', '.join(skipped)})" if skipped else ""


def _common_working_day(day: date, *calendars: Calendar) -> date:
    """The first day on or after ``day`` every calendar works."""
    for _ in range(MAX_DAYS_TO_AGREE):
        if all(c.is_working_day(day) for c in calendars):
            return day
        day = min(c.working_day_on_or_after(day + timedelta(days=1)) for c in calendars)
    raise ValueError(f"the calendars of {', '.join(c.name for c in calendars)} share no "
                     f"working day within {MAX_DAYS_TO_AGREE} days. Fix: check their "
                     "working days and closed days.")


class _Work:
    """One promise being worked out."""

    def __init__(self, session: Session, registry: Registry, order: Any, now: datetime,
                 stage: str, book: bool) -> None:
        self.session, self.registry, self.order = session, registry, order
        self.now, self.today, self.stage, self.book = now, now.date(), stage, book
        self.steps: list[PromiseStep] = []
        self.inventory = supply.inventory_enabled(registry)
        self.warehouse_code = str(registry.parameters.get(session, DEFAULT_WAREHOUSE))
        self.warehouse = calendar_for(session, "warehouse", self.warehouse_code)

    def step(self, kind: str, day: date, text: str, line: str | None = None,
             public: str | None = None) -> date:
        self.steps.append(PromiseStep(kind=kind, day=day, text=text, line=line,
                                      public=public))
        return day

    # --- goods -----------------------------------------------------------------------

    def goods_ready(self) -> date:
        lines = [line for line in self.order.lines if line.product_id is not None]
        ordered = {line.product_id for line in lines} & made_to_order_products(self.session)
        made = {m.product_id: m for m in self.session.scalars(sa.select(MadeToOrder).where(
            MadeToOrder.product_id.in_(ordered)))} if ordered else {}
        # Capacity held from an earlier promise is given back first; a first
        # confirmation without made-to-order lines can hold none.
        if self.book and (made or self.stage != "confirmation"):
            capacity.release_order(self.session, self.order.id)
        backordered = (supply.backordered_lines(self.session, self.order, self.stage)
                       if self.inventory else set())
        lead = supply.supplier_lead_days(self.session, [
            line.product_id for line in lines if line.id in backordered]) if backordered else {}
        coming = (supply.arrivals(self.session, self.order, backordered, self.today,
                                   self.stage)
                  if backordered else {})
        ready = start = self.warehouse.start_day(self.now)
        for line in lines:
            sku = line.product.sku if line.product is not None else str(line.product_id)
            if line.product_id in made:
                day = self.made(line, sku, made[line.product_id])
            elif line.id in backordered:
                day = self.backordered(sku, coming[line.id], lead[line.product_id], start)
            else:
                day = start
                source = "in stock" if self.inventory else "from stock (no inventory kept)"
                self.step("goods", day, f"{sku}: {source}, available {_fmt(day)}", sku)
            ready = max(ready, day)
        return ready

    def backordered(self, sku: str, arrival: supply.Arrival, days: int, start: date) -> date:
        """The day a backordered line's goods are in the warehouse, and why."""
        if arrival.kind == "stock":
            return self.step("goods", start, f"{sku}: backordered, received since: in "
                             f"stock, available {_fmt(start)}", sku)
        if arrival.kind == "expected":
            day = self.warehouse.working_day_on_or_after(arrival.day)
            return self.step("goods", day, f"{sku}: backordered, expected from the supplier "
                             f"on {arrival.day.isoformat()}: in the warehouse {_fmt(day)}",
                             sku, public="some items arrive from our supplier by "
                             f"{day.isoformat()}")
        due = arrival.day + timedelta(days=days)
        if due < self.today:
            due = self.today + timedelta(days=days)
            why = (f"backordered on {arrival.day.isoformat()}, the supplier is late: lead "
                   f"time {days} days counted again from {self.today.isoformat()}")
        elif arrival.day < self.today:
            why = f"backordered on {arrival.day.isoformat()}, supplier lead time {days} days"
        else:
            why = f"backordered, supplier lead time {days} days"
        day = self.warehouse.working_day_on_or_after(due)
        return self.step("goods", day, f"{sku}: {why}: in the warehouse {_fmt(day)}", sku,
                         public=f"some items arrive from our supplier by {day.isoformat()}")

    def made(self, line: Any, sku: str, made: MadeToOrder) -> date:
        centre = made.work_centre
        calendar = calendar_for(self.session, "work_centre", centre.code)
        start = calendar.start_day(self.now)
        start = max(start, self.components_ready(line, sku, calendar))
        slot = capacity.plan(self.session, centre, calendar, start, Decimal(line.quantity),
                             book=self.book, order_id=self.order.id, order_line_id=line.id)
        done = calendar.add_working_days(slot.last_day, made.lead_days)
        done = self.warehouse.working_day_on_or_after(done)
        booked = "capacity booked" if self.book else "free capacity"
        days = (f"{_fmt(slot.first_day)}" if slot.first_day == slot.last_day
                else f"{_fmt(slot.first_day)} to {_fmt(slot.last_day)}")
        return self.step("goods", done, f"{sku}: made to order at {centre.code} on {days} "
                         f"({booked}), {made.lead_days} working days of production"
                         f"{_days_off(calendar, slot.last_day, done)}: ready {_fmt(done)}",
                         sku, public=f"made for you, ready by {done.isoformat()}")

    def components_ready(self, line: Any, sku: str, calendar: Calendar) -> date:
        """The first day production can start as far as components go."""
        if not self.inventory:
            return self.today
        bom = list(self.session.scalars(sa.select(BomLine)
                                        .where(BomLine.product_id == line.product_id)))
        needs = {b.component_id: Decimal(b.quantity) * Decimal(line.quantity) for b in bom}
        short = supply.short_components(self.session, needs) if needs else {}
        if not short:
            return self.today
        lead = supply.supplier_lead_days(self.session, short)
        worst = max(short, key=lambda product_id: lead[product_id])
        names = {b.component_id: b.component.sku for b in bom}
        start = calendar.working_day_on_or_after(self.today + timedelta(days=lead[worst]))
        missing = f"{short[worst].normalize():f}"
        return self.step("components", start, f"{sku}: component {names[worst]} short by "
                         f"{missing}, supplier lead time {lead[worst]} days: production "
                         f"starts {_fmt(start)}", sku)

    # --- warehouse, carrier ------------------------------------------------------------

    def promise(self) -> Worked:
        ready = self.goods_ready()
        handling = int(self.registry.parameters.get(self.session, HANDLING_DAYS))
        packed = self.warehouse.add_working_days(ready, handling)
        self.step("handling", packed, f"warehouse {self.warehouse_code}: {handling} working "
                  f"day(s) of handling{_days_off(self.warehouse, ready, packed)}: ready to "
                  f"ship {_fmt(packed)}")
        service = rates.service_for(self.session, self.order, str(
            self.registry.parameters.get(self.session, rates.DEFAULT_SERVICE)))
        carrier_code = service.carrier.code if service is not None else "carrier"
        carrier = calendar_for(self.session, "carrier", carrier_code)
        cutoff = (service.pickup_cutoff if service is not None and service.pickup_cutoff
                  else self.warehouse.closes)
        hand_over = packed
        name = service.key if service is not None else "the carrier"
        if packed == self.today and self.now.time() >= cutoff:
            hand_over = _common_working_day(packed + timedelta(days=1), self.warehouse,
                                            carrier)
            text = (f"after {name}'s {cutoff.strftime('%H:%M')} cut-off: handed over the "
                    f"next working day{_days_off(carrier, packed, hand_over)}, {_fmt(hand_over)}")
        else:
            hand_over = _common_working_day(packed, self.warehouse, carrier)
            text = (f"handed to {name} by its {cutoff.strftime('%H:%M')} cut-off "
                    f"{_fmt(hand_over)}")
        self.step("cutoff", hand_over, text)
        transit, transit_text = self.transit(service)
        delivered = carrier.add_working_days(hand_over, transit)
        self.step("transit", delivered, f"{transit_text}: {transit} working day(s) in "
                  f"transit{_days_off(carrier, hand_over, delivered)}: delivered "
                  f"{_fmt(delivered)}")
        requested = self.order.requested_date
        promised = delivered
        if requested is not None and requested > delivered:
            promised = self.step("requested", requested,
                                 f"the customer asked for {_fmt(requested)}")
        last_hand_over = carrier.add_working_days(promised, -transit)
        return Worked(DeliveryPromise(promised, tuple(self.steps)),
                      datetime.combine(last_hand_over, cutoff, tzinfo=UTC))

    def transit(self, service: Any) -> tuple[int, str]:
        fallback = int(self.registry.parameters.get(self.session, DEFAULT_TRANSIT_DAYS))
        if service is None:
            return fallback, "no carrier service named"
        zone = rates.zone_for(self.session, rates.destination(self.order))
        if zone is None:
            return fallback, f"{service.key}: no zone for the destination"
        days = rates.transit_days(self.session, service, zone)
        if days is None:
            return fallback, f"{service.key} to zone {zone.code}: no transit time set"
        return int(days), f"{service.key} to zone {zone.code}"


def work_out(session: Session, order: Any, *, now: datetime, stage: str = "entry",
             book: bool = False, registry: Registry | None = None) -> Worked:
    """The promise for ``order`` at ``now``. ``book`` books made-to-order capacity
    (confirmation, in its transaction); otherwise it is a quote that writes nothing."""
    return _Work(session, registry or registry_of(session), order, now, stage, book).promise()

