"""Credit control with orders and crm alone: the limit's fallbacks, the facts, refusals
that leave the order as it was, release, re-checks, the open balance and overrides."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit import TransitionRefused
from erpkit.models import AuditEntry
from erpkit_crm import credit
from erpkit_crm.models import CustomerGroup, Profile
from erpkit_orders import lifecycle
from erpkit_orders.intake import update_order
from erpkit_orders.models import Order


def exposure(shop, customer) -> Decimal:
    found = credit.credit_of(shop.session, customer.id).exposure
    shop.session.commit()
    return found


def test_the_limit_is_the_customers_else_the_groups_else_the_default(shop):
    ada = shop.customer()
    session = shop.session
    assert credit.resolve_limit(session, ada.id) == (None, "none")
    shop.set("crm.default_credit_limit", "1000")
    assert credit.resolve_limit(session, ada.id) == (Decimal("1000.00"), "default")
    group = CustomerGroup(code="wholesale", name="Wholesale", credit_limit=Decimal("5000"))
    session.add(group)
    session.flush()
    session.add(Profile(customer_id=ada.id, group_id=group.id, preferences={}))
    session.commit()
    assert credit.resolve_limit(session, ada.id) == (Decimal("5000.00"), "group")
    credit.set_credit_limit(session, ada.id, Decimal("750"), actor="finance")
    session.commit()
    assert credit.resolve_limit(session, ada.id) == (Decimal("750.00"), "customer")


def test_a_confirmation_over_the_limit_is_refused_and_leaves_the_order_as_it_was(shop):
    ada = shop.customer()
    shop.set("orders.auto_confirm", "false")
    shop.set("crm.default_credit_limit", "500")
    first = shop.order(ada, {"SUIT": 1})          # 400
    second = shop.order(ada, {"SHIRT": 3})        # 120
    lifecycle.confirm(shop.session, first.id, actor="sales")
    shop.session.commit()
    assert exposure(shop, ada) == Decimal("400.00")
    version = shop.session.get(Order, second.id).version
    shop.session.commit()

    with pytest.raises(TransitionRefused) as refused:
        lifecycle.confirm(shop.session, second.id, actor="sales")

    assert refused.value.code == "credit_limit_exceeded"
    assert refused.value.plugin == "crm"
    assert "credit limit 500.00 (default) of Ada Ltd exceeded by 20.00" in refused.value.message
    assert shop.status(second) == "approved"
    assert shop.session.get(Order, second.id).version == version
    assert exposure(shop, ada) == Decimal("400.00")


def test_exposure_is_released_on_cancel_and_delivery_and_counts_the_open_balance(
        shop, as_role):
    ada = shop.customer()
    shop.set("orders.auto_confirm", "false")
    shop.set("crm.default_credit_limit", "500")
    suit, shirts = shop.order(ada, {"SUIT": 1}), shop.order(ada, {"SHIRT": 2})
    for order in (suit, shirts):
        lifecycle.confirm(shop.session, order.id, actor="sales")
        shop.session.commit()
    assert exposure(shop, ada) == Decimal("480.00")
    lifecycle.cancel(shop.session, shirts.id, actor="sales")
    shop.session.commit()
    assert exposure(shop, ada) == Decimal("400.00")
    lifecycle.ship(shop.session, suit.id, actor="warehouse")
    shop.session.commit()
    assert exposure(shop, ada) == Decimal("400.00")  # shipped, not delivered: still open
    lifecycle.deliver(shop.session, suit.id, actor="warehouse")
    shop.session.commit()
    assert exposure(shop, ada) == Decimal("0.00")

    answer = as_role("admin").put(f"/api/crm/customers/{ada.id}/open-balance",
                                  json={"open_balance": "450.00"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["exposure"] == "450.00"
    assert answer.get_json()["available"] == "50.00"
    assert as_role("sales").put(f"/api/crm/customers/{ada.id}/open-balance",
                                json={"open_balance": "1.00"}).status_code == 403
    bad = as_role("admin").put(f"/api/crm/customers/{ada.id}/open-balance",
                               json={"open_balance": "-5"})
    assert bad.status_code == 422
    with pytest.raises(TransitionRefused):
        lifecycle.confirm(shop.session, shop.order(ada, {"SHIRT": 2}).id, actor="sales")


def test_the_facts_say_limit_exposure_available_and_whether_the_order_goes_over(shop):
    ada = shop.customer()
    shop.set("crm.default_credit_limit", "500")
    shop.set("orders.auto_confirm", "false")
    lifecycle.confirm(shop.session, shop.order(ada, {"SUIT": 1}).id, actor="sales")
    shop.session.commit()
    small, large = (shop.order(ada, lines, submit=False)
                    for lines in ({"SHIRT": 2}, {"SHIRT": 3}))

    facts_small = credit.order_facts(shop.session, small)
    facts_large = credit.order_facts(shop.session, large)

    assert facts_small == {"crm.credit_limit": Decimal("500.00"),
                           "crm.credit_exposure": Decimal("400.00"),
                           "crm.credit_available": Decimal("100.00"),
                           "crm.over_credit_limit": False}
    assert facts_large["crm.over_credit_limit"] is True


def test_an_approved_order_edited_after_approval_is_checked_again(shop):
    ada = shop.customer()
    shop.set("orders.auto_confirm", "false")
    shop.set("crm.default_credit_limit", "500")
    order = shop.order(ada, {"SHIRT": 2})
    assert shop.status(order) == "approved"
    update_order(shop.session, order.id, {"lines": [{"sku": "SUIT", "quantity": 2}]},
                 actor="sales")
    shop.session.commit()
    assert shop.status(order) == "approved"  # no approval rule: it stays approved

    with pytest.raises(TransitionRefused, match=r"exceeded by 300\.00"):
        lifecycle.confirm(shop.session, order.id, actor="sales")


def test_a_reopened_order_is_checked_again(shop):
    """Held for credit, rejected, reopened and submitted again: it is held again, and
    nothing from its first round lets it through."""
    ada = shop.customer()
    shop.set("crm.default_credit_limit", "300")
    shop.set("crm.over_limit_action", "hold")
    order = shop.order(ada, {"SUIT": 1})
    assert shop.status(order) == "pending_approval"
    lifecycle.reject(shop.session, order.id, actor="finance", reason="pay first")
    shop.session.commit()
    lifecycle.reopen(shop.session, order.id, actor="sales")
    shop.session.commit()
    lifecycle.submit(shop.session, order.id, actor="sales")
    shop.session.commit()
    assert shop.status(order) == "pending_approval"

    # approving by hand is not an override: the confirmation still refuses
    lifecycle.approve(shop.session, order.id, actor="someone")
    shop.session.commit()
    assert shop.status(order) == "approved"
    notes = [e.message for e in shop.session.get(Order, order.id).timeline]
    assert any("confirmation refused (crm): credit limit 300.00" in n for n in notes), notes
    shop.session.commit()


def test_an_override_needs_the_permission_and_is_audited(shop, as_role):
    ada = shop.customer()
    shop.set("crm.default_credit_limit", "300")
    shop.set("crm.over_limit_action", "hold")
    order = shop.order(ada, {"SUIT": 1})
    assert shop.status(order) == "pending_approval"

    sales, admin = as_role("sales"), as_role("admin")
    path = f"/api/crm/orders/{order.id}/credit-override"
    assert sales.post(path, json={"reason": "trusted"}).status_code == 403
    assert admin.post(path, json={}).status_code == 422
    answer = admin.post(path, json={"reason": "paid in advance"})

    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "confirmed"
    assert exposure(shop, ada) == Decimal("400.00")
    [entry] = shop.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.entity == "crm_credit_override")).all()
    assert (entry.actor, entry.entity_id, entry.action) == ("admin", order.number, "override")
    assert entry.after["reason"] == "paid in advance"
    assert entry.before == {"limit": "300.00", "exposure": "0.00"}
