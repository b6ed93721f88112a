"""An order's API answer: what :class:`~erpkit_orders.schemas.OrderSchema` dumps, read
and built directly.

After a move commits, the answer used to be the ORM order dumped by marshmallow: the
expired order, its customer, lines, products, shipments and timeline loaded again as ORM
objects one lazy load at a time, then about 28 nested dumps of some 330 fields. That was
a sixth of an order's request path (bench/over_http.py, profiled in-process). Here four
Core reads on the tables' columns (the order with its customer's name, the lines with
their products, the shipments, the timeline) and plain formatting give the same JSON.
The schema stays the documented shape: a test holds :func:`order_answer` to its dump, for
orders in every status, so the two cannot drift apart.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_orders.models import Customer, Order, OrderLine, Product, Shipment, TimelineEvent

#: The order's own fields of the answer, in the schema's order (the summary's, then the
#: full order's); ``customer``, ``allowed_moves`` and the nested lists are added apart.
ORDER_FIELDS = (
    "id", "number", "status", "channel", "currency", "subtotal", "discount_total", "total",
    "requested_date", "promised_date", "external_ref", "created_by", "created_at",
    "status_changed_at", "ordered_at", "shipped_at", "delivered_at", "shipping_charge",
    "imported_as_history", "note", "carrier", "salesperson", "ship_to_name",
    "ship_to_address", "ship_to_city", "ship_to_postal_code", "ship_to_region",
    "ship_to_country", "submitted_by", "updated_at", "version", "public_token")
LINE_FIELDS = ("id", "line_no", "product_id", "quantity", "unit_price", "discount_percent",
               "line_total", "shipped_quantity")
SHIPMENT_FIELDS = ("id", "shipped_at", "tracking")
EVENT_FIELDS = ("id", "at", "kind", "from_status", "to_status", "actor", "message", "public",
                "source")


def json_value(value: Any) -> Any:
    """A column's value as the schema's fields dump it: ``Decimal`` as a fixed-point
    string (``fields.Decimal(as_string=True)``), dates and times in ISO 8601."""
    if isinstance(value, Decimal):
        return format(Decimal(str(value)), "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(row: Mapping[Any, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: json_value(row[name]) for name in names}


@functools.cache
def _statements() -> tuple[Any, Any, Any, Any]:
    # Built once on the tables' columns, with the order's id bound: Core rows, no ORM
    # objects (building the statement or the objects on every answer cost more than the
    # reads themselves).
    orders, customers = Order.__table__, Customer.__table__
    lines, products = OrderLine.__table__, Product.__table__
    shipments, events = Shipment.__table__, TimelineEvent.__table__
    order_id: Any = sa.bindparam("order_id")
    order = (sa.select(*(orders.c[name] for name in ORDER_FIELDS), orders.c.customer_id,
                       customers.c.name.label("customer_name"))
             .join(customers, customers.c.id == orders.c.customer_id)
             .where(orders.c.id == order_id))
    order_lines = (sa.select(*(lines.c[name] for name in LINE_FIELDS), products.c.sku,
                             products.c.name)
                   .join(products, products.c.id == lines.c.product_id)
                   .where(lines.c.order_id == order_id).order_by(lines.c.line_no))
    order_shipments = (sa.select(*(shipments.c[name] for name in SHIPMENT_FIELDS))
                       .where(shipments.c.order_id == order_id).order_by(shipments.c.id))
    timeline = (sa.select(*(events.c[name] for name in EVENT_FIELDS))
                .where(events.c.order_id == order_id).order_by(events.c.id))
    return order, order_lines, order_shipments, timeline


def order_answer(session: Session, order: Order) -> dict[str, Any]:
    """The answer for ``order`` as it is in the database now, with the warnings and the
    held move the last call in this session left on it. ``order`` may be expired (after
    a commit): only its identity is used, so nothing of it is loaded again."""
    from erpkit_orders.lifecycle import moves_from

    identity = sa.inspect(order).identity
    order_id = identity[0] if identity else order.id
    order_statement, lines_statement, shipments_statement, timeline_statement = _statements()
    bound = {"order_id": order_id}
    with session.no_autoflush:
        row = session.execute(order_statement, bound).mappings().one()
        lines = session.execute(lines_statement, bound).mappings().all()
        shipments = session.execute(shipments_statement, bound).mappings().all()
        timeline = session.execute(timeline_statement, bound).mappings().all()
        allowed = sorted(moves_from(session, row["status"]))
    answer = _row(row, ORDER_FIELDS)
    answer["customer"] = {"id": row["customer_id"], "name": row["customer_name"]}
    answer["allowed_moves"] = allowed
    answer["lines"] = [{**_row(line, LINE_FIELDS), "sku": line["sku"], "name": line["name"]}
                       for line in lines]
    answer["shipments"] = [_row(shipment, SHIPMENT_FIELDS) for shipment in shipments]
    answer["timeline"] = [_row(event, EVENT_FIELDS) for event in timeline]
    answer["warnings"] = [_warning(warning) for warning in order.warnings]
    answer["held"] = None if order.held is None else _held(order.held)
    return answer


_WARNING_FIELDS = ("code", "message", "plugin", "refusal_code", "field")
_HELD_FIELDS = ("code", "gate", "from_status", "to_status", "message", "requests")


def _warning(warning: Mapping[str, Any]) -> dict[str, Any]:
    # MoveWarningSchema and HeldMoveSchema dump only the keys present
    return {name: warning[name] for name in _WARNING_FIELDS if name in warning}


def _held(held: Mapping[str, Any]) -> dict[str, Any]:
    return {name: (list(held[name]) if name == "requests" else held[name])
            for name in _HELD_FIELDS if name in held}
