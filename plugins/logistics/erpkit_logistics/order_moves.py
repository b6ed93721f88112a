"""One transaction per change: a shipment's change and the order move it causes commit
together, through the orders module's own lifecycle functions.

A change to a shipment (a console action, a carrier event) is a function of the session
and the shipment. :func:`change_shipment` runs it under the order's lock; when the
shipments then call for an order move (all delivered: ``deliver``; one returned after
delivery: ``return_order``; a carrier has goods not yet handed over: ``ship``), the
transaction is rolled back and the change is run again *inside* the orders module's
transition, by this plugin's lifecycle hooks (``erpkit_order_shipped``,
``erpkit_order_delivered``, ``erpkit_order_returned``), so the order's status, its
timeline, the other plugins' hooks (inventory's stock) and the shipment's change commit
or roll back as one. Data flows one way: caller -> orders' door -> hooks -> commit.

Whether an order must move is decided from facts that only grow (a shipment's earliest
delivery, its earliest return, whether it was handed over), so the same events in any
order lead to the same order status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit.transitions import run_atomic
from erpkit_logistics.models import LogisticsShipment
from erpkit_logistics.tracking import derive
from erpkit_orders import lifecycle
from erpkit_orders.models import Order
from erpkit_orders.models import Shipment as OrderShipment

#: A change to one shipment: ``change(session, shipment)``; it must work through the
#: session and keep no state between calls (a conflict runs it again).
Change = Callable[[Session, LogisticsShipment], Any]

_PENDING = "erpkit_logistics.pending_change"


@dataclass
class _Pending:
    order_id: int
    shipment_id: int
    change: Change
    move: str


class _MoveNeeded(Exception):
    def __init__(self, move: str) -> None:
        self.move = move


def _nothing(_session: Session, _shipment: LogisticsShipment) -> None:
    return None


def load_shipment(session: Session, shipment_id: int) -> LogisticsShipment:
    """The shipment, fresh from the database; refused (404-like) when there is none."""
    found = session.scalars(sa.select(LogisticsShipment).where(LogisticsShipment.id == shipment_id)
                            .execution_options(populate_existing=True)).one_or_none()
    if found is None:
        raise TransitionRefused(f"shipment {shipment_id} does not exist", field="shipment",
                                code="not_found")
    return found


def needed_move(session: Session, order: Order, shipment: LogisticsShipment) -> str | None:
    """The order move the shipments call for now, or ``None``."""
    if not shipment.handed_over and shipment.status not in ("picking", "packed"):
        return "ship"  # the carrier reports goods we never recorded handing over
    if order.status == lifecycle.Status.SHIPPED:
        handed = session.scalars(sa.select(LogisticsShipment).where(
            LogisticsShipment.order_id == order.id,
            LogisticsShipment.orders_shipment_id.is_not(None))).all()
        if handed and all(s.delivered_at is not None for s in handed):
            return "deliver"
    if order.status == lifecycle.Status.DELIVERED:
        returned = session.scalar(sa.select(sa.func.count()).select_from(LogisticsShipment).where(
            LogisticsShipment.order_id == order.id, LogisticsShipment.returned_at.is_not(None)))
        if returned:
            return "return"
    return None


def change_shipment(session: Session, shipment_id: int, change: Change, *,
                    actor: Any = None, move: str | None = None) -> LogisticsShipment:
    """Apply ``change`` to the shipment and move its order as the shipments then require,
    each order move in one transaction with the change that caused it.

    ``move="ship"`` forces a hand-over (the goods leave with this change).
    """
    order_id = session.scalar(sa.select(LogisticsShipment.order_id)
                              .where(LogisticsShipment.id == shipment_id))
    if order_id is None:
        raise TransitionRefused(f"shipment {shipment_id} does not exist", field="shipment",
                                code="not_found")
    for _ in range(4):  # ship, deliver, return: at most three moves follow one change
        pending = move or _apply_alone(session, order_id, shipment_id, change)
        if pending is None:
            break
        try:
            _apply_with_move(session, _Pending(order_id, shipment_id, change, pending), actor)
        except TransitionRefused:
            if move is not None:
                raise  # the caller asked for this move: tell them why not
            # The order cannot follow (someone shipped it outside logistics): the event
            # still counts for the shipment, and the order waits for a person.
            _apply_alone(session, order_id, shipment_id, change, follow=False)
            break
        change, move = _nothing, None
    session.expire_all()
    return load_shipment(session, shipment_id)


def _apply_alone(session: Session, order_id: int, shipment_id: int,
                 change: Change, *, follow: bool = True) -> str | None:
    """Apply the change in a transaction of its own, unless it calls for an order move
    (and ``follow``): then roll it back and say which move."""

    def attempt() -> None:
        order = lifecycle.lock(session, order_id)
        shipment = load_shipment(session, shipment_id)
        change(session, shipment)
        session.flush()
        derive(session, shipment)
        found = needed_move(session, order, shipment) if follow else None
        if found is not None:
            raise _MoveNeeded(found)

    try:
        run_atomic(session, attempt)
    except _MoveNeeded as needed:
        return needed.move
    return None


def _apply_with_move(session: Session, pending: _Pending, actor: Any) -> None:
    session.info[_PENDING] = pending
    try:
        if pending.move == "ship":
            lines = _ship_quantities(session, pending.shipment_id)
            lifecycle.ship(session, pending.order_id, actor=actor, quantities=lines,
                           tracking=_tracking(session, pending.shipment_id))
        elif pending.move == "deliver":
            lifecycle.deliver(session, pending.order_id, actor=actor)
        else:
            lifecycle.return_order(session, pending.order_id, actor=actor,
                                   reason="returned to sender")
    finally:
        session.info.pop(_PENDING, None)


def _ship_quantities(session: Session, shipment_id: int) -> dict[int, Any]:
    shipment = load_shipment(session, shipment_id)
    if not shipment.items:
        raise TransitionRefused(f"shipment {shipment_id} has no items to hand over",
                                field="items", code="empty")
    return {item.order_line_id: item.quantity for item in shipment.items}


def _tracking(session: Session, shipment_id: int) -> str | None:
    numbers = [p.tracking for p in load_shipment(session, shipment_id).packages if p.tracking]
    return ", ".join(numbers)[:120] or None


def apply_pending(session: Session, order: Order, move: str,
                  orders_shipment: OrderShipment | None = None) -> None:
    """Inside an order's transition (a lifecycle hook): apply the change that caused it.

    Does nothing for a move this plugin did not start (someone shipping through the
    orders API).
    """
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is None or pending.order_id != order.id or pending.move != move:
        return
    shipment = load_shipment(session, pending.shipment_id)
    pending.change(session, shipment)
    if orders_shipment is not None:
        session.flush()  # the orders shipment's id
        shipment.orders_shipment_id = orders_shipment.id
    session.flush()
    derive(session, shipment)
