"""Export of one customer's personal data, and erasure that keeps the figures whole."""

from __future__ import annotations

import sqlalchemy as sa

from erpkit.models import AuditEntry
from erpkit_crm import history, segments
from erpkit_orders import lifecycle
from erpkit_orders.models import Customer, Order


def delivered(shop, customer, lines):
    order = shop.order(customer, lines)
    lifecycle.ship(shop.session, order.id, actor="warehouse")
    lifecycle.deliver(shop.session, order.id, actor="warehouse")
    shop.session.commit()
    return order


def revenue_report(session):
    """What a revenue report reads: orders' totals per customer and status."""
    rows = session.execute(sa.select(Order.customer_id, Order.status, sa.func.count(),
                                     sa.func.sum(Order.total)).group_by(
        Order.customer_id, Order.status).order_by(Order.customer_id, Order.status)).all()
    session.commit()
    return [tuple(r) for r in rows]


def test_export_gives_the_persons_data_and_is_audited(shop, as_role):
    ada = shop.customer("Ada Lovelace", phone="+44 1")
    admin, sales = as_role("admin"), as_role("sales")
    admin.post(f"/api/crm/customers/{ada.id}/contacts", json={"name": "Byron", "role": "PA"})
    admin.post(f"/api/crm/customers/{ada.id}/notes", json={"text": "likes navy"})
    shop.order(ada, {"TIE": 1})

    assert sales.get(f"/api/crm/customers/{ada.id}/personal-data").status_code == 403
    answer = admin.get(f"/api/crm/customers/{ada.id}/personal-data")

    assert answer.status_code == 200
    data = answer.get_json()
    assert data["customer"]["name"] == "Ada Lovelace"
    assert data["customer"]["phone"] == "+44 1"
    assert data["contacts"] == [{"name": "Byron", "role": "PA", "email": None, "phone": None}]
    assert [n["text"] for n in data["notes"]] == ["likes navy"]
    assert [o["total"] for o in data["orders"]] == ["25.00"]
    actions = shop.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.entity == "crm_personal_data")).all()
    assert actions == ["export"]


def test_erasure_anonymises_the_person_and_leaves_revenue_figures_unchanged(shop, as_role):
    ada, bob = shop.customer("Ada Lovelace"), shop.customer("Bob Ltd")
    delivered(shop, ada, {"SUIT": 1, "TIE": 2})
    delivered(shop, ada, {"SHIRT": 1})
    delivered(shop, bob, {"TIE": 1})
    shop.order(ada, {"TIE": 1}, submit=False)
    segments.recompute(shop.session)
    shop.session.commit()
    admin = as_role("admin")
    admin.post(f"/api/crm/customers/{ada.id}/interactions",
               json={"kind": "call", "summary": "asked about her measurements"})
    before = revenue_report(shop.session)
    summary_before = history.summary(shop.session, ada.id)
    score_before = segments.order_facts(shop.session, ada.id)
    shop.session.commit()

    assert as_role("sales").post(f"/api/crm/customers/{ada.id}/erase").status_code == 403
    assert admin.post(f"/api/crm/customers/{ada.id}/erase").status_code == 204

    shop.session.expire_all()
    assert revenue_report(shop.session) == before
    assert history.summary(shop.session, ada.id) == summary_before
    assert segments.order_facts(shop.session, ada.id) == score_before
    customer = shop.session.get(Customer, ada.id)
    assert (customer.name, customer.email) == (f"erased-{ada.id}", None)
    profile = admin.get(f"/api/crm/customers/{ada.id}/profile").get_json()
    assert profile["erased_at"] is not None
    assert [i["summary"] for i in profile["interactions"]] == ["(erased)"]
    assert shop.session.get(Customer, bob.id).name == "Bob Ltd"
    assert shop.session.scalar(sa.select(AuditEntry.action).where(
        AuditEntry.entity == "crm_personal_data")) == "erase"
    shop.session.commit()
