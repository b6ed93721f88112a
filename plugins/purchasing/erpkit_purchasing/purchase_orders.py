"""Purchase orders: drafts from the suggestions, edits, approval, sending, closing.

draft -> approved -> sent -> partially_received -> received -> closed; a draft or an
approved order can be cancelled, and a sent one closed early (what is left is no longer
expected). A refused move raises and leaves the order as it was; every function flushes
and leaves the commit to the caller.

Approval goes through the same approval rules as sales orders: purchasing declares the
gate ``purchasing.approve`` (:func:`approval_gate`, hook ``erpkit_gated_transitions``)
with the facts ``purchasing.total`` and ``purchasing.supplier``, and :func:`approve` asks
it first. When a rule of that gate matches, the draft waits (the approvals module opens
a request; the API answers 202) and the last approval marks it approved
(:func:`mark_approved`) in the decision's transaction. When none matches, or the
approvals module is not enabled, it is approved at once. Editing or cancelling a draft
that waits withdraws its request: the approval asked was for other figures.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from erpkit import ValidationFailed
from erpkit.db import utcnow
from erpkit.document_gates import DocumentHold, GatedTransition, ask_gate, withdraw_gate
from erpkit.notifications import Attachment, mail_configured, queue_mail
from erpkit.plugins import registry_of
from erpkit_inventory.stock import product_by_sku, quantity, show, warehouse_by_code
from erpkit_purchasing import documents
from erpkit_purchasing.leadtimes import lead_time
from erpkit_purchasing.models import PurchaseOrder, PurchaseOrderLine, SupplierProduct
from erpkit_purchasing.planning import PurchaseSuggestion, purchase_suggestions
from erpkit_purchasing.suppliers import supplier_by_code

APPROVE = "purchasing.approve"
#: The gate approval rules name to guard a purchase order's approval.
APPROVAL_GATE = "purchasing.approve"
APPROVAL_FACTS = ("purchasing.total", "purchasing.supplier")


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
    _withdraw_approval(session, order, "a line was added")
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
    _withdraw_approval(session, order, f"line {line_id} was changed")
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


def approve(session: Session, order: PurchaseOrder, *, actor: Any) -> DocumentHold | None:
    """Approve a draft, unless an approval rule of the gate ``purchasing.approve`` holds
    it: then it stays a draft, waiting for the rule's approvers, and the hold is
    returned (a draft already waiting is refused with ``TransitionRefused``)."""
    _refuse_unless(order, "draft", doing="approve")
    if not order.lines:
        raise ValidationFailed.single("lines", "a purchase order needs a line",
                                      code="no_lines")
    hold = ask_gate(session, registry_of(session), APPROVAL_GATE, order, actor=actor)
    if hold is None:
        mark_approved(session, order, getattr(actor, "login", None) or actor)
    return hold


def mark_approved(session: Session, order: PurchaseOrder, by: str | None) -> None:
    """The approval passed (at once, or by the last approver of its rules)."""
    order.status, order.approved_by, order.approved_at = "approved", by, utcnow()
    session.flush()


def _withdraw_approval(session: Session, order: PurchaseOrder, reason: str) -> None:
    withdraw_gate(session, registry_of(session), APPROVAL_GATE, order, reason=reason)


def _lock_for_decision(session: Session, order_id: int) -> PurchaseOrder | None:
    try:
        return order_by_id(session, order_id, lock=True)
    except NotFound:
        return None


def _recent(session: Session, last: int) -> list[PurchaseOrder]:
    return list(session.scalars(
        sa.select(PurchaseOrder).where(PurchaseOrder.status != "cancelled")
        .order_by(PurchaseOrder.id.desc()).limit(last)).unique())


def approval_gate() -> GatedTransition:
    """The purchase order's approval as a gate approval rules may guard."""
    return GatedTransition(
        name=APPROVAL_GATE, document="purchase_order", waits_in="draft",
        description="A purchase order's approval (draft to approved).",
        facts=APPROVAL_FACTS,
        compute_facts=lambda _session, order: purchase_order_facts(order),
        lock=_lock_for_decision, passed=mark_approved, decide_permission=APPROVE,
        recent=_recent)


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
    if order.status == "draft":
        _withdraw_approval(session, order, "cancelled")
    order.status, order.closed_at = "cancelled", utcnow()
    session.flush()
    return order
