"""Writing a company's past orders straight to the tables, a batch at a time.

Orders imported as history are what already happened elsewhere: they are not moved
through the lifecycle, so they fire no lifecycle hook (no validation by plugins, no stock
reservation or shipment, no approval, no notification) and enter no work queue; the
importer announces each written batch with ``erpkit_orders_history_imported``. This
is the one place where orders are written without the lifecycle's door, on purpose:
each batch is a handful of Core ``INSERT ... executemany`` statements in one
transaction (orders, lines, shipments, timeline), which is what makes 70,000 orders
import in seconds rather than in half an hour.

What a historical order keeps: its lines' prices exactly as given, its order date
(``ordered_at``, which its number's year follows), its ship and delivery dates (its
shipment and timeline events carry them), ship-to, carrier, shipping charge and
salesperson, and ``imported_as_history = true``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.models import Sequence
from erpkit_orders.models import Order, OrderLine, Shipment, ShipmentLine, TimelineEvent
from erpkit_orders.pricing import CENT, HUNDRED, to_cents

#: Statuses a historical order may have, and whether it left the warehouse.
HISTORY_STATUSES = ("confirmed", "shipped", "delivered", "closed", "cancelled")
HEADER_FIELDS = ("channel", "currency", "requested_date", "note", "carrier", "salesperson",
                 "ship_to_name", "ship_to_address", "ship_to_city", "ship_to_postal_code",
                 "ship_to_region", "ship_to_country")


@dataclass
class HistoricalOrder:
    """One past order, checked and resolved (customer and product ids), ready to write."""

    key: str  # the idempotency key, import:<old number>
    external_ref: str
    customer_id: int
    status: str
    ordered_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    shipping_charge: Decimal
    header: dict[str, Any]
    #: (product_id, quantity, unit_price, discount_percent)
    lines: list[tuple[int, Decimal, Decimal, Decimal]] = field(default_factory=list)


def _table(model: Any) -> sa.Table:
    table: sa.Table = model.metadata.tables[model.__tablename__]
    return table


def take_numbers(session: Session, name: str, count: int) -> range:
    """Take ``count`` consecutive numbers of sequence ``name`` in the caller's transaction
    (the same counters :func:`erpkit.models.next_in_sequence` hands out one by one)."""
    for _attempt in range(2):
        taken = session.execute(
            sa.update(Sequence).where(Sequence.name == name)
            .values(next_value=Sequence.next_value + count)
            .returning(Sequence.next_value)).scalar_one_or_none()
        if taken is not None:
            return range(int(taken) - count, int(taken))
        try:
            with session.begin_nested():
                session.execute(sa.insert(Sequence).values(name=name, next_value=1))
        except sa.exc.IntegrityError:
            continue
    raise RuntimeError(f"sequence {name!r} could not be advanced")


def _numbers(session: Session, pattern: str, orders: list[HistoricalOrder]) -> list[str]:
    """Each order's number, in the sequence of its order date's year."""
    by_sequence: dict[str, list[int]] = {}
    per_year = "{year" in pattern
    for index, order in enumerate(orders):
        name = f"orders.number.{order.ordered_at.year}" if per_year else "orders.number"
        by_sequence.setdefault(name, []).append(index)
    numbers = [""] * len(orders)
    for name in sorted(by_sequence):  # a fixed order: two imports never deadlock
        indexes = by_sequence[name]
        for index, seq in zip(indexes, take_numbers(session, name, len(indexes)),
                              strict=True):
            at = orders[index].ordered_at
            numbers[index] = pattern.format(year=at.year, month=at.month, seq=seq)
    return numbers


def _totals(lines: Iterable[tuple[int, Decimal, Decimal, Decimal]]) -> tuple[
        list[Decimal], Decimal, Decimal]:
    """Line totals, subtotal and total by the rule of :mod:`erpkit_orders.pricing`."""
    line_totals: list[Decimal] = []
    gross = Decimal(0)
    for _product, quantity, price, discount in lines:
        amount = quantity * price
        gross += amount
        line_totals.append(to_cents(amount * (HUNDRED - discount) / HUNDRED))
    return line_totals, to_cents(gross), sum(line_totals, Decimal("0.00"))


def _events(order: HistoricalOrder, actor: str | None) -> list[dict[str, Any]]:
    """The timeline of a past order, dated when each step happened."""
    told = "imported as history"

    def event(at: datetime, before: str | None, after: str, message: str) -> dict[str, Any]:
        return {"at": at, "kind": "status", "from_status": before, "to_status": after,
                "actor": actor, "message": message, "public": True, "source": "orders.import"}

    confirmed = order.status != "cancelled"
    events = [event(order.ordered_at, None, "confirmed" if confirmed else "cancelled",
                    f"ordered ({told}: {order.external_ref})")]
    last, status = order.ordered_at, "confirmed"
    if order.shipped_at is not None:
        events.append(event(order.shipped_at, status, "shipped", f"shipped ({told})"))
        last, status = order.shipped_at, "shipped"
    if order.delivered_at is not None:
        events.append(event(order.delivered_at, status, "delivered", f"delivered ({told})"))
        last, status = order.delivered_at, "delivered"
    if order.status == "closed":
        events.append(event(last, status, "closed", f"closed ({told})"))
    return events


def write_history(session: Session, orders: list[HistoricalOrder], *, pattern: str,
                  actor: str | None) -> list[tuple[int, str]]:
    """Insert ``orders`` with their lines, shipment and timeline, in the caller's
    transaction; returns each order's (id, number). Nothing is committed here."""
    if not orders:
        return []
    now = utcnow()
    numbers = _numbers(session, pattern, orders)
    rows: list[dict[str, Any]] = []
    all_totals: list[list[Decimal]] = []
    for order, number in zip(orders, numbers, strict=True):
        line_totals, subtotal, total = _totals(order.lines)
        all_totals.append(line_totals)
        events = _events(order, actor)
        rows.append({
            **{name: order.header.get(name) for name in HEADER_FIELDS},
            "number": number, "customer_id": order.customer_id, "status": order.status,
            "subtotal": subtotal, "discount_total": subtotal - total, "total": total,
            "promised_date": None, "external_ref": order.external_ref,
            "idempotency_key": order.key, "public_token": secrets.token_urlsafe(16),
            "created_by": actor, "submitted_by": None, "created_at": now, "updated_at": now,
            "status_changed_at": events[-1]["at"], "ordered_at": order.ordered_at,
            "shipped_at": order.shipped_at, "delivered_at": order.delivered_at,
            "shipping_charge": order.shipping_charge.quantize(CENT),
            "imported_as_history": True, "approved_fingerprint": None, "version": 1,
        })
    # Core statements on the tables (not the ORM's bulk path), and no RETURNING: with it
    # SQLAlchemy sends one huge multi-VALUES statement that psycopg parses in Python each
    # time (half the time of a PostgreSQL import); plain executemany is pipelined. The
    # ids are read back by the unique keys just written.
    connection = session.connection()
    connection.execute(sa.insert(_table(Order)), rows)
    id_of_key = {key: id_ for key, id_ in connection.execute(
        sa.select(Order.idempotency_key, Order.id)
        .where(Order.idempotency_key.in_([order.key for order in orders])))}
    order_ids = [id_of_key[order.key] for order in orders]
    line_rows: list[dict[str, Any]] = []
    for order_id, order, line_totals in zip(order_ids, orders, all_totals, strict=True):
        shipped = order.shipped_at is not None
        for line_no, ((product_id, quantity, price, discount), line_total) in enumerate(
                zip(order.lines, line_totals, strict=True), start=1):
            line_rows.append({"order_id": order_id, "line_no": line_no,
                              "product_id": product_id, "quantity": quantity,
                              "unit_price": price, "discount_percent": discount,
                              "line_total": line_total,
                              "shipped_quantity": quantity if shipped else Decimal(0)})
    connection.execute(sa.insert(_table(OrderLine)), line_rows)
    line_id = {(order_id, line_no): id_ for id_, order_id, line_no in connection.execute(
        sa.select(OrderLine.id, OrderLine.order_id, OrderLine.line_no)
        .where(OrderLine.order_id.in_(order_ids)))}
    line_ids = [line_id[row["order_id"], row["line_no"]] for row in line_rows]
    _write_shipments(connection, orders, order_ids, line_rows, line_ids)
    connection.execute(sa.insert(_table(TimelineEvent)), [
        {"order_id": order_id, **event}
        for order_id, order in zip(order_ids, orders, strict=True)
        for event in _events(order, actor)])
    return list(zip(order_ids, numbers, strict=True))


def _write_shipments(connection: sa.Connection, orders: list[HistoricalOrder], order_ids: list[int],
                     line_rows: list[dict[str, Any]], line_ids: list[int]) -> None:
    """One shipment of every line per shipped order, at its ship date (recorded as
    history: no stock moves)."""
    shipped = [(order_id, order) for order_id, order in zip(order_ids, orders, strict=True)
               if order.shipped_at is not None]
    if not shipped:
        return
    connection.execute(sa.insert(_table(Shipment)), [
        {"order_id": order_id, "shipped_at": order.shipped_at, "tracking": None}
        for order_id, order in shipped])
    # The orders are new: each has this one shipment.
    shipment_of = {order_id: id_ for order_id, id_ in connection.execute(
        sa.select(Shipment.order_id, Shipment.id)
        .where(Shipment.order_id.in_([order_id for order_id, _o in shipped])))}
    connection.execute(sa.insert(_table(ShipmentLine)), [
        {"shipment_id": shipment_of[line["order_id"]], "order_line_id": line_id,
         "quantity": line["quantity"]}
        for line, line_id in zip(line_rows, line_ids, strict=True)
        if line["order_id"] in shipment_of])
