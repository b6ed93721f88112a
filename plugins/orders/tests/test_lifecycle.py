"""The order lifecycle through the service layer: each move one transaction."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit import TransitionRefused, ValidationFailed
from erpkit_orders import lifecycle
from erpkit_orders.intake import create_order
from erpkit_orders.models import Customer, Order, Product, TimelineEvent


@pytest.fixture
def catalogue(session):
    widget = Product(sku="W-1", name="Widget", unit_price=Decimal("12.50"), pack_size=Decimal(1))
    customer = Customer(name="Ada Ltd", email="ada@example.com", country="GB")
    session.add_all([widget, customer])
    session.commit()
    return widget, customer


def test_an_order_walks_from_draft_to_closed_with_a_timeline_entry_per_step(session, catalogue):
    _widget, customer = catalogue
    order = create_order(session, {"customer_id": customer.id, "channel": "web",
                                   "lines": [{"sku": "W-1", "quantity": Decimal(4)}]}).order
    assert order.status == "draft" and order.total == Decimal("50.00")

    lifecycle.submit(session, order, actor="sales")
    assert order.status == "confirmed"
    assert order.promised_date is not None
    assert abs(order.ordered_at - order.created_at).total_seconds() < 5
    assert order.shipped_at is None
    lifecycle.ship(session, order, actor="warehouse")
    shipped_at = order.shipped_at
    assert shipped_at is not None and order.delivered_at is None
    lifecycle.deliver(session, order)
    assert order.delivered_at >= shipped_at and order.shipped_at == shipped_at
    lifecycle.close(session, order)

    steps = session.scalars(sa.select(TimelineEvent.to_status).where(
        TimelineEvent.order_id == order.id, TimelineEvent.kind == "status")
        .order_by(TimelineEvent.id)).all()
    assert steps == ["draft", "submitted", "approved", "confirmed", "shipped", "delivered",
                     "closed"]


def test_an_illegal_move_is_refused_and_changes_nothing(session, catalogue):
    _, customer = catalogue
    order = create_order(session, {"customer_id": customer.id,
                                   "lines": [{"sku": "W-1", "quantity": Decimal(1)}]}).order
    before = session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent))
    with pytest.raises(TransitionRefused, match="cannot go from draft to delivered"):
        lifecycle.deliver(session, order)
    session.expire_all()
    assert session.get(Order, order.id).status == "draft"
    assert session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)) == before


def test_unknown_product_is_refused_with_the_line_named(session, catalogue):
    _, customer = catalogue
    with pytest.raises(ValidationFailed) as refused:
        create_order(session, {"customer_id": customer.id,
                               "lines": [{"sku": "W-1", "quantity": Decimal(1)},
                                         {"sku": "NOPE", "quantity": Decimal(1)}]})
    [problem] = refused.value.problems
    assert (problem.field, problem.line, problem.code) == ("lines.1.sku", 2, "unknown_product")
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
