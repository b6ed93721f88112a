"""The warehouse's work on a shipment: create it from a confirmed order, pick, pack,
hand over; then delivered, an exception, or returned.

Each function is one change (:func:`erpkit_logistics.order_moves.change_shipment`):
hand-over ships the order's lines through ``erpkit_orders.lifecycle.ship`` in the same
transaction; the last delivery delivers the order. A change that does not fit the
shipment's status is refused with :class:`erpkit.TransitionRefused` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import TransitionRefused
from erpkit.plugins import Registry
from erpkit.transitions import run_atomic
from erpkit_logistics import rates
from erpkit_logistics.models import LogisticsShipment, Package, ShipmentItem
from erpkit_logistics.order_moves import change_shipment
from erpkit_logistics.tracking import WITH_CARRIER, derive, record_console_event
from erpkit_orders import lifecycle
from erpkit_orders.models import Order

SHIPPABLE = (lifecycle.Status.CONFIRMED, lifecycle.Status.PARTIALLY_SHIPPED)
DEFAULT_WAREHOUSE = "logistics.default_warehouse"


def _login(actor: Any) -> str | None:
    return getattr(actor, "login", None) or (str(actor) if actor else None)


def allocated(session: Session, order_id: int) -> dict[int, Decimal]:
    """Per order line, what shipments not yet handed over already hold."""
    rows = session.execute(
        sa.select(ShipmentItem.order_line_id, ShipmentItem.quantity)
        .join(LogisticsShipment, LogisticsShipment.id == ShipmentItem.shipment_id)
        .where(LogisticsShipment.order_id == order_id,
               LogisticsShipment.orders_shipment_id.is_(None),
               LogisticsShipment.status.in_(("picking", "packed"))))
    held: dict[int, Decimal] = {}
    for line_id, quantity in rows:
        held[line_id] = held.get(line_id, Decimal(0)) + Decimal(quantity)
    return held


def default_warehouse(session: Session, order: Order, registry: Registry) -> str:
    """The warehouse inventory reserved the order's stock in, when inventory is enabled;
    else the parameter ``logistics.default_warehouse``."""
    if "inventory" in registry.plugins:
        from erpkit_inventory.models import Reservation, Warehouse

        code = session.scalar(
            sa.select(Warehouse.code).join(Reservation, Reservation.warehouse_id == Warehouse.id)
            .where(Reservation.order_id == order.id, Reservation.quantity > 0)
            .order_by(Reservation.quantity.desc()).limit(1))
        if code:
            return str(code)
    return str(registry.parameters.get(session, DEFAULT_WAREHOUSE))


def create_shipment(session: Session, registry: Registry, order_id: int, *,
                    quantities: Mapping[int, Decimal] | None = None,
                    warehouse: str | None = None, latitude: Decimal | None = None,
                    longitude: Decimal | None = None, actor: Any = None) -> LogisticsShipment:
    """A new shipment (status ``picking``) of ``quantities`` (order line id -> quantity;
    everything not yet shipped nor held by another shipment when ``None``)."""

    def attempt() -> LogisticsShipment:
        order = lifecycle.lock(session, order_id)
        if order.status not in SHIPPABLE:
            raise TransitionRefused(
                f"order {order.number} is {order.status}: only confirmed or partially "
                "shipped orders get shipments", field="order_id", code="not_shippable")
        held = allocated(session, order.id)
        free = {line.id: line.open_quantity - held.get(line.id, Decimal(0))
                for line in order.lines}
        wanted = dict(quantities) if quantities else {k: v for k, v in free.items() if v > 0}
        if not wanted:
            raise TransitionRefused(f"order {order.number}: every line is shipped or held "
                                    "by another shipment", field="lines", code="empty")
        service = rates.service_for(session, order,
                                    str(registry.parameters.get(session, rates.DEFAULT_SERVICE)))
        zone = rates.zone_for(session, rates.destination(order))
        shipment = LogisticsShipment(order_id=order.id, created_by=_login(actor),
                                     holder=_login(actor),
                            warehouse=warehouse or default_warehouse(session, order, registry),
                            service_id=service.id if service else None,
                            zone_id=zone.id if zone else None,
                            latitude=latitude, longitude=longitude)
        lines = {line.id: line for line in order.lines}
        for line_id, quantity in sorted(wanted.items()):
            quantity = Decimal(quantity)
            if line_id not in lines:
                raise TransitionRefused(f"order {order.number} has no line {line_id}",
                                        field=f"lines.{line_id}", code="unknown_line")
            if quantity <= 0 or quantity > free[line_id]:
                raise TransitionRefused(
                    f"line {lines[line_id].line_no}: cannot put {quantity} in a shipment, "
                    f"{free[line_id]} is left to ship", field=f"lines.{line_id}.quantity",
                    code="invalid")
            shipment.items.append(ShipmentItem(order_line_id=line_id, quantity=quantity))
        session.add(shipment)
        session.flush()
        record_console_event(session, shipment, "picking", actor=_login(actor),
                             message="shipment created")
        session.flush()
        derive(session, shipment)
        return shipment

    return run_atomic(session, attempt)


def _require(shipment: LogisticsShipment, allowed: Sequence[str], doing: str) -> None:
    if shipment.status not in allowed:
        raise TransitionRefused(
            f"shipment {shipment} is {shipment.status}: cannot {doing} (only when "
            f"{' or '.join(allowed)})", field="status", code="not_allowed")


def pick(session: Session, shipment_id: int, *, actor: Any = None) -> LogisticsShipment:
    """The picker has collected the items: the pack step starts."""

    def change(session: Session, shipment: LogisticsShipment) -> None:
        _require(shipment, ("picking",), "confirm the picking")
        if shipment.picked_at is None:
            from erpkit.db import utcnow

            shipment.picked_at = utcnow()
        shipment.holder = _login(actor) or shipment.holder

    return change_shipment(session, shipment_id, change, actor=actor)


def pack(session: Session, shipment_id: int, packages: Sequence[Mapping[str, Any]], *,
         actor: Any = None) -> LogisticsShipment:
    """Put the items into ``packages`` (weight, dimensions, tracking number each)."""
    if not packages:
        raise TransitionRefused("a shipment needs at least one package", field="packages",
                                code="empty")

    def change(session: Session, shipment: LogisticsShipment) -> None:
        _require(shipment, ("picking", "packed"), "pack")
        for data in packages:
            shipment.packages.append(Package(
                weight_kg=Decimal(data["weight_kg"]), tracking=data.get("tracking") or None,
                length_cm=data.get("length_cm"), width_cm=data.get("width_cm"),
                height_cm=data.get("height_cm")))
        shipment.holder = _login(actor) or shipment.holder
        record_console_event(session, shipment, "packed", actor=_login(actor),
                             message=f"{len(shipment.packages)} package(s), "
                                     f"{shipment.weight_kg} kg")

    return change_shipment(session, shipment_id, change, actor=actor)


def hand_over(session: Session, shipment_id: int, *, actor: Any = None) -> LogisticsShipment:
    """The carrier takes the packages: the order's lines ship, in the same transaction."""

    def change(session: Session, shipment: LogisticsShipment) -> None:
        _require(shipment, ("packed",), "hand over")
        record_console_event(session, shipment, "handed_to_carrier", actor=_login(actor),
                             message="handed to the carrier")

    return change_shipment(session, shipment_id, change, actor=actor, move="ship")


def mark_delivered(session: Session, shipment_id: int, *, actor: Any = None,
                   place: str | None = None, source: str = "console") -> LogisticsShipment:
    """Delivered (the driver or a person says so); the last one delivers the order."""

    def change(session: Session, shipment: LogisticsShipment) -> None:
        _require(shipment, tuple(sorted(WITH_CARRIER - {"delivered", "returned"})),
                 "mark delivered")
        record_console_event(session, shipment, "delivered", actor=_login(actor),
                             place=place, message="delivered", source=source)

    return change_shipment(session, shipment_id, change, actor=actor)


def report_exception(session: Session, shipment_id: int, reason: str, *,
                     actor: Any = None) -> LogisticsShipment:
    """Something went wrong on the way (damaged, address not found): say what."""
    if not reason.strip():
        raise TransitionRefused("say what went wrong", field="reason", code="required")

    def change(session: Session, shipment: LogisticsShipment) -> None:
        _require(shipment, tuple(sorted(WITH_CARRIER - {"returned"})), "report an exception")
        record_console_event(session, shipment, "exception", actor=_login(actor),
                             message=reason.strip())

    return change_shipment(session, shipment_id, change, actor=actor)


def mark_returned(session: Session, shipment_id: int, *, actor: Any = None,
                  reason: str = "returned") -> LogisticsShipment:
    """The goods came back; after delivery, the order is returned with them."""

    def change(session: Session, shipment: LogisticsShipment) -> None:
        _require(shipment, tuple(sorted(WITH_CARRIER - {"returned"})), "mark returned")
        record_console_event(session, shipment, "returned", actor=_login(actor),
                             message=reason)

    return change_shipment(session, shipment_id, change, actor=actor)


def shipments_of(session: Session, order_id: int) -> list[LogisticsShipment]:
    return list(session.scalars(sa.select(LogisticsShipment)
                                .where(LogisticsShipment.order_id == order_id)
                                .order_by(LogisticsShipment.id)))
