"""Stock for orders: reserve on confirmation, release on cancellation, consume on
shipment, restock on return. Each runs in the order's transition (its transaction).

Which warehouse a line is reserved from (the documented rule):

1. the warehouse whose code is the parameter ``inventory.preferred_warehouse``, if it is
   set and open, for as much as it has available;
2. then the other open warehouses, the one with the most available first (ties: the
   oldest warehouse first).

A line may be split over several warehouses. When the open warehouses together cannot
cover a product, the parameter ``inventory.shortage_policy`` decides: ``refuse`` refuses
the confirmation, naming each short product (``W-1: 3 short (7 available, 10 ordered)``);
``backorder`` reserves what there is and records the rest as a backorder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit.parameters import get_value
from erpkit.transaction_cache import transaction_cache
from erpkit_inventory.models import Backorder, Reservation, Warehouse
from erpkit_inventory.stock import (
    ZERO,
    Level,
    apply_change,
    lock_levels,
    quantity,
    reserve_on_levels,
    show,
)
from erpkit_orders.models import Order, OrderLine


def _preferred_warehouse_id(session: Session) -> int | None:
    code = str(get_value(session, "inventory.preferred_warehouse") or "").strip()
    if not code:
        return None
    return session.scalar(sa.select(Warehouse.id).where(Warehouse.code == code,
                                                        Warehouse.active.is_(True)))


def choose_levels(levels: Iterable[Level], preferred: int | None,
                  taken: Mapping[int, Decimal] | None = None) -> list[Level]:
    """The levels to draw from, in the order of the documented rule (``taken``: what
    earlier lines of the order already take from each level, by level id)."""
    taken = taken or {}
    return sorted(levels, key=lambda lv: (lv.warehouse_id != preferred,
                                          -(lv.available - taken.get(lv.id, ZERO)),
                                          lv.warehouse_id))


@dataclass(frozen=True)
class Shortfall:
    """A product the open warehouses cannot cover for an order."""

    sku: str
    available: Decimal
    ordered: Decimal

    @property
    def short(self) -> Decimal:
        return self.ordered - self.available

    def __str__(self) -> str:
        return (f"{self.sku}: {show(self.short)} short ({show(self.available)} available, "
                f"{show(self.ordered)} ordered)")


def open_lines(order: Order) -> list[OrderLine]:
    """The lines with something left to ship, by product then line number."""
    return sorted((line for line in order.lines if line.quantity - line.shipped_quantity > 0),
                  key=lambda line: (line.product_id, line.line_no))


def _usable(levels: Sequence[Level]) -> dict[int, list[Level]]:
    """The levels in open warehouses, by product (lock_levels read which are open)."""
    by_product: dict[int, list[Level]] = defaultdict(list)
    for level in levels:
        if level.warehouse_active:
            by_product[level.product_id].append(level)
    return by_product


def _total(levels: Iterable[Level]) -> Decimal:
    return sum((level.available for level in levels), ZERO)


def _held(session: Session, order_line_id: int) -> dict[int, Reservation]:
    rows = session.scalars(sa.select(Reservation).where(
        Reservation.order_line_id == order_line_id))
    return {r.warehouse_id: r for r in rows}


#: Built once: the reservations of an order's lines (read on every confirmation).
_HELD_BY_LINES = sa.select(Reservation).where(
    Reservation.order_line_id.in_(sa.bindparam("line_ids", expanding=True)))


def _held_by_line(session: Session, line_ids: Sequence[int]) -> dict[int, dict[int, Reservation]]:
    """The reservations of these lines, by line id then warehouse id: one query."""
    held: dict[int, dict[int, Reservation]] = {line_id: {} for line_id in line_ids}
    if line_ids:
        for r in session.scalars(_HELD_BY_LINES, {"line_ids": list(line_ids)}):
            held[r.order_line_id][r.warehouse_id] = r
    return held


def _reservation(session: Session, held: dict[int, Reservation], line: OrderLine,
                 warehouse_id: int) -> Reservation:
    reservation = held.get(warehouse_id)
    if reservation is None:
        reservation = Reservation(order_id=line.order_id, order_line_id=line.id,
                                  product_id=line.product_id, warehouse_id=warehouse_id,
                                  quantity=ZERO, shipped=ZERO, released=ZERO, returned=ZERO)
        session.add(reservation)
        held[warehouse_id] = reservation
    return reservation


#: The transaction cache, by order id, of whether the confirmation that reserved the
#: order in this transaction backordered a line (read by the delivery promise).
BACKORDERED_AT_CONFIRMATION = "erpkit_inventory.backordered_at_confirmation"


def reserve_order(session: Session, order: Order, *, actor: str | None,
                  note: Callable[[str], Any] | None = None,
                  confirming: bool = False) -> list[Shortfall]:
    """Reserve every open line of ``order``; return the shortfalls that were backordered.

    Refuses with :class:`TransitionRefused` (nothing reserved) when a product is short
    and the policy is ``refuse``. ``note(message)`` receives a line for the timeline.
    ``confirming=True`` says the order is being confirmed: it then holds no reservation
    and no backorder yet (an order is confirmed once: nothing leads back to approved, and
    a confirmed order cannot be edited), so they are not read. Were the rule ever broken,
    the unique line-and-warehouse keys would refuse a second row, never count twice.
    """
    # Nothing this reads depends on the order's pending changes (its status, its
    # timeline): reading without flushing first saves a flush per query. Levels change
    # by Core statements; the reservations and backorders it reads belong to other lines.
    with session.no_autoflush:
        shortfalls = _reserve(session, order, actor, note, confirming)
    if confirming:
        transaction_cache(session, BACKORDERED_AT_CONFIRMATION)[order.id] = bool(shortfalls)
    return shortfalls


def _reserve(session: Session, order: Order, actor: str | None,
             note: Callable[[str], Any] | None, confirming: bool) -> list[Shortfall]:
    lines = open_lines(order)
    levels = lock_levels(session, (line.product_id for line in lines))
    usable = _usable(levels)
    wanted: dict[int, Decimal] = defaultdict(Decimal)
    for line in lines:
        wanted[line.product_id] += quantity(line.quantity - line.shipped_quantity)
    skus = {line.product_id: line.product.sku for line in lines}
    shortfalls = [Shortfall(skus[pid], _total(usable[pid]), amount)
                  for pid, amount in sorted(wanted.items()) if _total(usable[pid]) < amount]
    policy = get_value(session, "inventory.shortage_policy")
    if shortfalls and policy == "refuse":
        raise TransitionRefused("not enough stock: " + "; ".join(map(str, shortfalls)),
                                field="lines", code="insufficient_stock")

    preferred = _preferred_warehouse_id(session)
    held_by_line = ({line.id: {} for line in lines} if confirming
                    else _held_by_line(session, [line.id for line in lines]))
    # What each line takes from which level is worked out first (from the levels as
    # locked); then every level changes in one statement.
    planned: dict[int, Decimal] = defaultdict(Decimal)  # level id -> taken so far
    takes: list[tuple[Level, Decimal]] = []
    take_lines: list[OrderLine] = []
    for line in lines:
        needed = quantity(line.quantity - line.shipped_quantity)
        for level in choose_levels(usable[line.product_id], preferred, planned):
            take = min(needed, level.available - planned[level.id])
            if take <= 0:
                continue
            planned[level.id] += take
            takes.append((level, take))
            take_lines.append(line)
            needed -= take
            if needed == 0:
                break
        if needed > 0:
            _backorder(session, line, needed, new=confirming)
    if takes:
        reserve_on_levels(session, takes, actor=actor,
                          reason=f"reserved for order {order.number}", order_id=order.id,
                          order_line_ids=[line.id for line in take_lines])
    for (level, take), line in zip(takes, take_lines, strict=True):
        _reservation(session, held_by_line[line.id], line, level.warehouse_id).quantity += take
    for shortfall in shortfalls:
        if note is not None:
            note(f"backordered {shortfall}")
    return shortfalls


def _backorder(session: Session, line: OrderLine, amount: Decimal, *, new: bool) -> None:
    existing = None if new else session.scalar(
        sa.select(Backorder).where(Backorder.order_line_id == line.id))
    if existing is None:
        session.add(Backorder(order_id=line.order_id, order_line_id=line.id,
                              product_id=line.product_id, quantity=amount))
    else:
        existing.quantity = amount


def order_reservations(session: Session, order: Order) -> list[Reservation]:
    return list(session.scalars(
        sa.select(Reservation).where(Reservation.order_id == order.id)
        .order_by(Reservation.product_id, Reservation.warehouse_id, Reservation.id)))


def _levels_by_pair(levels: Iterable[Level]) -> dict[tuple[int, int], Level]:
    return {(lv.product_id, lv.warehouse_id): lv for lv in levels}


def release_order(session: Session, order: Order, *, actor: str | None,
                  reason: str) -> Decimal:
    """Give back everything ``order`` still holds and drop its backorders; return the
    quantity released."""
    reservations = [r for r in order_reservations(session, order) if r.quantity > 0]
    levels = _levels_by_pair(lock_levels(session, (r.product_id for r in reservations)))
    released = ZERO
    for reservation in reservations:
        amount = quantity(reservation.quantity)
        apply_change(session, levels[(reservation.product_id, reservation.warehouse_id)],
                     "release", reserved=-amount, actor=actor, reason=reason,
                     order_id=order.id, order_line_id=reservation.order_line_id)
        reservation.quantity -= amount
        reservation.released += amount
        released += amount
    session.execute(sa.update(Backorder).where(Backorder.order_id == order.id)
                    .values(quantity=ZERO))
    return released


def ship_order(session: Session, order: Order, shipment: Any, *, actor: str | None) -> None:
    """Take exactly the shipped quantities out of stock.

    Each shipped quantity comes from the line's reservations first; a part that was never
    reserved (a backorder, say) comes from available stock by the warehouse rule, and
    the shipment is refused when there is not enough.
    """
    items = [(item.order_line, quantity(item.quantity)) for item in shipment.lines]
    items.sort(key=lambda pair: (pair[0].product_id, pair[0].line_no))
    levels = lock_levels(session, (line.product_id for line, _ in items))
    by_pair = _levels_by_pair(levels)
    usable = _usable(levels)
    preferred = _preferred_warehouse_id(session)
    session.flush()  # the shipment's id, for the ledger's reference
    reference = f"shipment-{shipment.id}"
    reason = f"shipped for order {order.number}"
    for line, amount in items:
        held = _held(session, line.id)
        remaining = amount
        for warehouse_id in sorted(held):
            reservation = held[warehouse_id]
            take = min(remaining, quantity(reservation.quantity))
            if take <= 0:
                continue
            apply_change(session, by_pair[(line.product_id, warehouse_id)], "shipment",
                         on_hand=-take, reserved=-take, actor=actor, reason=reason,
                         order_id=order.id, order_line_id=line.id, reference=reference)
            reservation.quantity -= take
            reservation.shipped += take
            remaining -= take
        for level in choose_levels(usable[line.product_id], preferred):
            take = min(remaining, level.available)
            if take <= 0:
                continue
            apply_change(session, level, "shipment", on_hand=-take, actor=actor,
                         reason=f"{reason} (not reserved)", order_id=order.id,
                         order_line_id=line.id, reference=reference)
            _reservation(session, held, line, level.warehouse_id).shipped += take
            remaining -= take
        if remaining > 0:
            available = _total(usable[line.product_id])
            raise TransitionRefused(
                f"cannot ship {line.product.sku}: {show(remaining)} short "
                f"({show(available)} available beyond what is reserved)",
                field="lines", code="insufficient_stock")
        _reduce_backorder(session, line, amount)


def _reduce_backorder(session: Session, line: OrderLine, shipped: Decimal) -> None:
    backorder = session.scalar(sa.select(Backorder).where(Backorder.order_line_id == line.id))
    if backorder is None or backorder.quantity <= 0:
        return
    open_after = quantity(line.quantity - line.shipped_quantity)
    held = sum((r.quantity for r in _held(session, line.id).values()), ZERO)
    backorder.quantity = max(ZERO, open_after - held)


def restock_order(session: Session, order: Order, *, actor: str | None, reason: str) -> Decimal:
    """Put what was shipped for ``order`` back on hand, in the warehouses it left from;
    return the quantity restocked."""
    reservations = [r for r in order_reservations(session, order) if r.shipped > r.returned]
    levels = _levels_by_pair(lock_levels(session, (r.product_id for r in reservations)))
    restocked = ZERO
    for reservation in reservations:
        amount = quantity(reservation.shipped - reservation.returned)
        apply_change(session, levels[(reservation.product_id, reservation.warehouse_id)],
                     "return", on_hand=amount, actor=actor, reason=reason, order_id=order.id,
                     order_line_id=reservation.order_line_id)
        reservation.returned += amount
        restocked += amount
    return restocked
