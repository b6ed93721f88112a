"""Receiving goods against a purchase order line, never more than was ordered.

The purchase order is locked first (one order of locks: the order, then the stock
levels), and the line's ``received`` only changes through one conditional UPDATE that
adds the quantity only while the sum stays within ``quantity``; its ``RETURNING`` tells
whether it happened. That is what keeps concurrent receipts honest on SQLite (which
ignores ``FOR UPDATE``) and on PostgreSQL alike. The goods go into the ledger through
inventory's :func:`~erpkit_inventory.stock.receive`, as a ``receipt`` row whose
reference names the line (``po-line-<id>``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from erpkit import ValidationFailed
from erpkit.db import utcnow
from erpkit_inventory.stock import TOLERANCE, quantity, receive, show
from erpkit_purchasing.leadtimes import days_between
from erpkit_purchasing.models import PurchaseOrder, PurchaseOrderLine, Receipt
from erpkit_purchasing.purchase_orders import order_by_id

LINES = cast(sa.Table, PurchaseOrderLine.__table__)


def line_reference(line_id: int) -> str:
    """The ledger reference of receipts against one purchase order line."""
    return f"po-line-{line_id}"


def receive_line(session: Session, order_id: int, line_id: int, amount: Decimal, *,
                 actor: str | None, at: datetime | None = None) -> Receipt:
    """Book ``amount`` of one line as received now (or ``at``). Flushes, no commit."""
    amount = quantity(amount)
    if amount <= 0:
        raise ValidationFailed.single("quantity", "must be positive", code="not_positive")
    order = order_by_id(session, order_id, lock=True)
    if order.status not in ("sent", "partially_received"):
        raise ValidationFailed.single(
            "status", f"purchase order {order.number} is {order.status}: only a sent order "
            "receives goods", code="wrong_status")
    line = session.get(PurchaseOrderLine, line_id)
    if line is None or line.order_id != order.id:
        raise NotFound(f"purchase order {order.number} has no line {line_id}")
    done = session.execute(
        sa.update(LINES)
        .where(LINES.c.id == line_id, LINES.c.received + amount <= LINES.c.quantity + TOLERANCE)
        .values(received=sa.func.round(LINES.c.received + amount, 3))
        .returning(LINES.c.received)).one_or_none()
    if done is None:
        current = session.execute(sa.select(LINES.c.quantity, LINES.c.received)
                                  .where(LINES.c.id == line_id)).one()
        left = quantity(current.quantity) - quantity(current.received)
        raise ValidationFailed.single(
            "quantity", f"line {line_id} of {order.number}: {show(left)} "
            f"outstanding, cannot receive {show(amount)}", code="more_than_ordered")
    session.expire(line, ["received"])
    at = at or utcnow()
    entry = receive(session, line.product, order.warehouse, amount, actor=actor,
                    reason=f"purchase order {order.number}, line {line_id}",
                    reference=line_reference(line_id))
    entry.at = at
    session.flush()
    receipt = Receipt(line_id=line_id, supplier_id=order.supplier_id, product_id=line.product_id,
                      quantity=amount, received_at=at, actor=actor, ledger_entry_id=entry.id,
                      amount=(amount * Decimal(line.unit_price)).quantize(Decimal("0.01")),
                      lead_time_days=days_between(order.sent_at, at) if order.sent_at else None)
    session.add(receipt)
    _settle_status(session, order)
    session.flush()
    return receipt


def _settle_status(session: Session, order: PurchaseOrder) -> None:
    # The order is locked, so every other receipt of it has committed or waits.
    left = session.scalar(sa.select(sa.func.count()).select_from(LINES).where(
        LINES.c.order_id == order.id, LINES.c.received < LINES.c.quantity - TOLERANCE))
    order.status = "partially_received" if left else "received"


def receipts_of(session: Session, order: PurchaseOrder, *, limit: int | None = None,
                after: int | None = None) -> list[Receipt]:
    """The order's receipts by id (oldest first): at most ``limit``, those after the id
    ``after``. Read through the order's lines and each line's receipts (indexes on
    ``order_id`` and ``line_id``): the work is that of one order's receipts."""
    query = (sa.select(Receipt).join(PurchaseOrderLine, PurchaseOrderLine.id == Receipt.line_id)
             .where(PurchaseOrderLine.order_id == order.id).order_by(Receipt.id).limit(limit))
    if after is not None:
        query = query.where(Receipt.id > after)
    return list(session.scalars(query))
