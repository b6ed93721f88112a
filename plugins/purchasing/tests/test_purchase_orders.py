"""From suggestions to drafts, approval, sending, partial and full receipts, closing."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit import ValidationFailed
from erpkit_inventory import replenishment
from erpkit_inventory.availability import availability
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import LedgerEntry
from erpkit_purchasing import planning, purchase_orders, receiving
from erpkit_purchasing.models import PurchaseOrder, Receipt

from .conftest import q


@pytest.fixture
def catalogue(shop):
    """MAIN; A (S1: packs of 12, minimum 50, preferred over S2), B (S1: packs of 10),
    C (S2: packs of 7, minimum 30); rules: reorder at 10, up to 40, so the cycle is 30."""
    main = shop.warehouse("MAIN")
    for sku in ("A", "B", "C"):
        product = shop.product(sku)
        replenishment.set_rule(shop.session, product.id, main.id, reorder_point=q(10),
                               order_up_to=q(40), lead_time_days=7)
    shop.session.commit()
    s1, s2 = shop.supplier("S1", "orders@s1.example"), shop.supplier("S2")
    shop.offer(s1, "A", price=Decimal("2.50"), pack_size=q(12), min_order_quantity=q(50),
               preferred=True)
    shop.offer(s2, "A", price=Decimal("1.00"), pack_size=q(1))
    shop.offer(s1, "B", price=Decimal("4.00"), pack_size=q(10))
    shop.offer(s2, "C", price=Decimal("3.00"), pack_size=q(7), min_order_quantity=q(30))
    return shop


def lines_of(order: PurchaseOrder) -> dict[str, Decimal]:
    return {line.product.sku: q(line.quantity) for line in order.lines}


def test_suggestions_become_drafts_grouped_by_supplier_in_whole_packs_and_minimums(catalogue):
    shop = catalogue
    # No demand: the reorder point is 0 and the target 0 + 30; nothing in stock, so 30
    # of each is needed. A: minimum 50 -> 5 packs of 12 = 60; B: 3 packs of 10 = 30;
    # C: minimum 30 -> 5 packs of 7 = 35.
    drafts = purchase_orders.drafts_from_suggestions(shop.session, actor="buyer")
    shop.session.commit()
    assert {order.supplier.code: lines_of(order) for order in drafts} == {
        "S1": {"A": q(60), "B": q(30)}, "S2": {"C": q(35)}}
    assert {order.status for order in drafts} == {"draft"}
    assert [order.total for order in drafts] == [Decimal("270.00"), Decimal("105.00")]
    # What is on order counts in the position: nothing more is suggested.
    assert planning.purchase_suggestions(shop.session) == []


def sent_order(shop, approver) -> PurchaseOrder:
    order = purchase_orders.drafts_from_suggestions(shop.session, actor="buyer")[0]
    purchase_orders.approve(shop.session, order, actor=approver)
    purchase_orders.send(shop.session, order, actor="buyer")
    shop.session.commit()
    return order


def test_a_partial_receipt_moves_the_ledger_exactly_and_leaves_the_rest_expected(catalogue,
                                                                                 users):
    shop = catalogue
    order = sent_order(shop, users.create("boss", "admin"))
    line = next(line for line in order.lines if line.product.sku == "A")
    before = shop.session.scalar(sa.select(sa.func.max(LedgerEntry.id))) or 0

    receiving.receive_line(shop.session, order.id, line.id, q(25), actor="receiver")
    shop.session.commit()

    rows = shop.session.execute(sa.select(LedgerEntry.kind, LedgerEntry.on_hand_change,
                                          LedgerEntry.reference)
                                .where(LedgerEntry.id > before)).all()
    assert [(kind, q(change), ref) for kind, change, ref in rows] == [
        ("receipt", q(25), f"po-line-{line.id}")]
    assert shop.on_hand("A", "MAIN") == q(25)
    assert shop.session.get(PurchaseOrder, order.id).status == "partially_received"
    (a_stock,) = availability(shop.session, sku="A")
    assert (a_stock.on_hand, a_stock.expected) == (q(25), q(35))
    receipt = shop.session.scalars(sa.select(Receipt)).one()
    assert receipt.amount == Decimal("62.50") and receipt.lead_time_days is not None

    with pytest.raises(ValidationFailed, match="35 outstanding, cannot receive 36"):
        receiving.receive_line(shop.session, order.id, line.id, q(36), actor="receiver")
    shop.session.rollback()
    assert shop.on_hand("A", "MAIN") == q(25)

    receiving.receive_line(shop.session, order.id, line.id, q(35), actor="receiver")
    other = next(line for line in order.lines if line.product.sku == "B")
    receiving.receive_line(shop.session, order.id, other.id, q(30), actor="receiver")
    shop.session.commit()
    assert shop.session.get(PurchaseOrder, order.id, populate_existing=True).status == "received"
    assert availability(shop.session, sku="A")[0].expected == q(0)
    purchase_orders.close(shop.session, order, actor="buyer")
    shop.session.commit()
    assert check_drift(shop.session) == []


def test_closing_early_stops_expecting_what_is_left(catalogue, users):
    shop = catalogue
    order = sent_order(shop, users.create("boss", "admin"))
    line = next(line for line in order.lines if line.product.sku == "A")
    receiving.receive_line(shop.session, order.id, line.id, q(12), actor="receiver")
    shop.session.commit()
    assert availability(shop.session, sku="A")[0].expected == q(48)
    purchase_orders.close(shop.session, order, actor="buyer")
    shop.session.commit()
    assert availability(shop.session, sku="A")[0].expected == q(0)
    with pytest.raises(ValidationFailed, match="only a sent order receives goods"):
        receiving.receive_line(shop.session, order.id, line.id, q(1), actor="receiver")


def test_without_the_approvals_module_nothing_holds_a_purchase_order_approval(
        catalogue, users):
    """The gate purchasing.approve is declared, but no plugin answers it here (approvals
    is not enabled): a draft is approved at once, its facts computed for the rules."""
    shop = catalogue
    buyer = users.create("buyer", "warehouse")
    big, small = purchase_orders.drafts_from_suggestions(shop.session, actor="buyer")
    shop.session.commit()
    assert purchase_orders.purchase_order_facts(big) == {
        "purchasing.total": Decimal("270.00"), "purchasing.supplier": "S1"}
    empty = purchase_orders.new_order(shop.session, big.supplier_id, big.warehouse_id,
                                      actor="buyer")
    with pytest.raises(ValidationFailed, match="needs a line"):
        purchase_orders.approve(shop.session, empty, actor=buyer)
    shop.session.rollback()

    assert purchase_orders.approve(shop.session, big, actor=buyer) is None
    assert purchase_orders.approve(shop.session, small, actor=buyer) is None
    shop.session.commit()

    assert (big.status, big.approved_by, small.status) == ("approved", "buyer", "approved")
    with pytest.raises(ValidationFailed, match="is approved: cannot approve"):
        purchase_orders.approve(shop.session, big, actor=buyer)


def test_only_a_draft_is_edited(catalogue, users):
    shop = catalogue
    boss = users.create("boss", "admin")
    order = purchase_orders.drafts_from_suggestions(shop.session, actor="buyer")[0]
    line = next(line for line in order.lines if line.product.sku == "B")
    purchase_orders.change_line(shop.session, order, line.id, {"quantity": q(50)})
    purchase_orders.add_line(shop.session, order, {"sku": "C", "quantity": q(5),
                                                   "unit_price": Decimal("3.10")})
    shop.session.commit()
    assert lines_of(order) == {"A": q(60), "B": q(50), "C": q(5)}
    purchase_orders.approve(shop.session, order, actor=boss)
    with pytest.raises(ValidationFailed, match="is approved: cannot change a line"):
        purchase_orders.change_line(shop.session, order, line.id, {"quantity": q(1)})
