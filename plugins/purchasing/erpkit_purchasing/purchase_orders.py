"""Purchase orders: drafts from the suggestions, edits, approval, sending, closing.

draft -> approved -> sent -> partially_received -> received -> closed; a draft or an
approved order can be cancelled, and a sent one closed early (what is left is no longer
expected). A refused move raises and leaves the order as it was; every function flushes
and leaves the commit to the caller.

Approval: the approvals module holds sales orders only (its requests point at
``orders_order``), so purchasing approves its own documents with the same idea: the facts
``purchasing.total`` and ``purchasing.supplier`` (:func:`purchase_order_facts`) against
``purchasing.approval_threshold``: above it only a user with ``purchasing.approve`` may
approve.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden, NotFound

from erpkit import ValidationFailed
from erpkit.db import utcnow
from erpkit.notifications import Attachment, mail_configured, queue_mail
from erpkit.parameters import get_value
from erpkit_inventory.stock import product_by_sku, quantity, show, warehouse_by_code
from erpkit_purchasing import documents
from erpkit_purchasing.leadtimes import lead_time
from erpkit_purchasing.models import PurchaseOrder, PurchaseOrderLine, SupplierProduct
from erpkit_purchasing.planning import PurchaseSuggestion, purchase_suggestions
from erpkit_purchasing.suppliers import supplier_by_code

APPROVE = "purchasing.approve"


def order_by_id(session: Session, order_id: int, *, lock: bool = False) -> PurchaseOrder:
    query = sa.select(PurchaseOrder).where(PurchaseOrder.id == order_id)
    if lock:
        query = query.with_for_update(of=PurchaseOrder).execution_options(
            populate_existing=True)
    found = session.scalars(query).unique().one_or_none()
    if found is None:
        raise NotFound(f"no purchase order {order_id}")
    return found


def _refuse_unless(order: PurchaseOrder, *statuses: str, doing: str) -> None:
    if order.status not in statuses:
        raise ValidationFailed.single(
            "status", f"purchase order {order.number} is {order.status}: cannot {doing} "
            f"(only when {' or '.join(statuses)})", code="wrong_status")


def new_order(session: Session, supplier_id: int, warehouse_id: int, *,
              actor: str | None, note: str = "") -> PurchaseOrder:
    order = PurchaseOrder(number=f"new-{uuid.uuid4().hex[:12]}", supplier_id=supplier_id,
                          warehouse_id=warehouse_id, created_by=actor, note=note)
    session.add(order)
    session.flush()
    order.number = f"PO-{order.id:06d}"
    return order


def drafts_from_suggestions(session: Session, suggestions: list[PurchaseSuggestion] | None = None,
                            *, actor: str | None) -> list[PurchaseOrder]:
    """One draft per supplier and receiving warehouse, a line per suggestion."""
    suggestions = purchase_suggestions(session) if suggestions is None else suggestions
    groups: dict[tuple[int, int], list[PurchaseSuggestion]] = defaultdict(list)
    for suggestion in suggestions:
        groups[(suggestion.supplier_id, suggestion.warehouse_id)].append(suggestion)
    made = []
    for (supplier_id, warehouse_id), items in sorted(groups.items()):
        order = new_order(session, supplier_id, warehouse_id, actor=actor,
                          note="from the replenishment suggestions")
        for item in items:
            order.lines.append(PurchaseOrderLine(product_id=item.product_id,
                                                 quantity=item.quantity,
                                                 unit_price=item.unit_price))
        made.append(order)
    session.flush()
    return made


def create_order(session: Session, *, supplier: str, warehouse: str,
                 lines: list[dict[str, Any]], actor: str | None) -> PurchaseOrder:
    """A draft by hand: ``lines`` of ``{"sku", "quantity", "unit_price"?}``."""
    found = supplier_by_code(session, supplier)
    order = new_order(session, found.id, warehouse_by_code(session, warehouse).id, actor=actor)
    for index, line in enumerate(lines):
        add_line(session, order, line, field=f"lines.{index}")
    session.flush()
    return order


def add_line(session: Session, order: PurchaseOrder, line: dict[str, Any], *,
             field: str = "sku") -> PurchaseOrderLine:
    _refuse_unless(order, "draft", doing="add a line")
    product = product_by_sku(session, line["sku"], field=f"{field}.sku")
    amount = quantity(line["quantity"])
    if amount <= 0:
        raise ValidationFailed.single(f"{field}.quantity", "must be positive",
                                      code="not_positive")
    price = line.get("unit_price")
    if price is None:
        offer = session.scalar(sa.select(SupplierProduct).where(
            SupplierProduct.supplier_id == order.supplier_id,
            SupplierProduct.product_id == product.id))
        if offer is None:
            raise ValidationFailed.single(
                f"{field}.unit_price", f"{order.supplier.code} has no price for "
                f"{product.sku}: give one", code="required")
        price = offer.price
    made = PurchaseOrderLine(product_id=product.id, quantity=amount, unit_price=Decimal(price))
    order.lines.append(made)
    session.flush()
    return made


def change_line(session: Session, order: PurchaseOrder, line_id: int,
                changes: dict[str, Any]) -> PurchaseOrder:
    """Change a draft's line (``quantity``, ``unit_price``); quantity 0 removes it."""
    _refuse_unless(order, "draft", doing="change a line")
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise NotFound(f"purchase order {order.number} has no line {line_id}")
    if "quantity" in changes:
        amount = quantity(changes["quantity"])
        if amount < 0:
            raise ValidationFailed.single("quantity", "may not be negative", code="negative")
        if amount == 0:
            order.lines.remove(line)
        else:
            line.quantity = amount
    if changes.get("unit_price") is not None:
        line.unit_price = Decimal(changes["unit_price"])
    session.flush()
    return order


def purchase_order_facts(order: PurchaseOrder) -> dict[str, Any]:
    """The facts purchasing's approval reads."""
    return {"purchasing.total": order.total, "purchasing.supplier": order.supplier.code}


def needs_approver(session: Session, order: PurchaseOrder) -> bool:
    threshold = Decimal(str(get_value(session, "purchasing.approval_threshold")))
    return purchase_order_facts(order)["purchasing.total"] > threshold


def approve(session: Session, order: PurchaseOrder, *, actor: Any) -> PurchaseOrder:
    """Approve a draft. Above ``purchasing.approval_threshold`` the ``actor`` (a user)
    needs the permission ``purchasing.approve``."""
    _refuse_unless(order, "draft", doing="approve")
    if not order.lines:
        raise ValidationFailed.single("lines", "a purchase order needs a line",
                                      code="no_lines")
    if needs_approver(session, order) and not actor.can(APPROVE):
        raise Forbidden(f"purchase order {order.number} totals {order.total}, above the "
                        f"approval threshold: it needs a user with {APPROVE}")
    order.status, order.approved_by, order.approved_at = "approved", actor.login, utcnow()
    session.flush()
    return order


def _mail_body(order: PurchaseOrder) -> str:
    lines = [f"Purchase order {order.number} from erpkit, deliver to "
             f"{order.warehouse.name} ({order.warehouse.code}).", ""]
    for line in order.lines:
        lines.append(f"{line.product.sku}  {line.product.name}  {show(line.quantity)} x "
                     f"{Decimal(line.unit_price):.2f}  expected {line.expected_on}")
    lines += ["", f"Total {order.total}"]
    return "\n".join(lines)


def send(session: Session, order: PurchaseOrder, *, actor: str | None) -> bool:
    """Send an approved order: each line expects delivery the lead time (measured or
    quoted) after today; the supplier gets it by e-mail, the order attached as a PDF,
    through the core's mail job when SMTP is configured and the supplier has an
    address. Returns whether mail was queued."""
    _refuse_unless(order, "approved", doing="send")
    now = utcnow()
    offers = {offer.product_id: offer for offer in session.scalars(
        sa.select(SupplierProduct).where(SupplierProduct.supplier_id == order.supplier_id))}
    for line in order.lines:
        offer = offers.get(line.product_id)
        days = lead_time(session, offer).mean if offer is not None else Decimal(7)
        line.expected_on = (now + timedelta(days=float(days))).date()
    order.status, order.sent_at = "sent", now
    session.flush()
    if not order.supplier.email or not mail_configured():
        return False
    document = Attachment(documents.filename(order), documents.purchase_order_pdf(order),
                          documents.PDF_TYPE)
    return queue_mail(session, [order.supplier.email], subject=f"Purchase order {order.number}",
                      body=_mail_body(order), attachments=[document])


def close(session: Session, order: PurchaseOrder, *, actor: str | None) -> PurchaseOrder:
    """Close a sent or received order: what is still outstanding is no longer expected."""
    _refuse_unless(order, "sent", "partially_received", "received", doing="close")
    order.status, order.closed_at = "closed", utcnow()
    session.flush()
    return order


def cancel(session: Session, order: PurchaseOrder, *, actor: str | None) -> PurchaseOrder:
    _refuse_unless(order, "draft", "approved", doing="cancel")
    order.status, order.closed_at = "cancelled", utcnow()
    session.flush()
    return order
