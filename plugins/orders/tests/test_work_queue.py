"""Work queues with the orders module alone: each department's orders, due by the limits
that are the orders module's own parameters (``orders.sla.*``), no approvals needed."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from erpkit.db import db, utcnow
from erpkit_orders.models import Order, TimelineEvent

from .conftest import order_body


def _left(api) -> list[tuple[str, str, int | None]]:
    """The user's queue: step, order number and hours left (rounded; None: no limit)."""
    response = api.get("/api/work")
    assert response.status_code == 200, response.json
    return [(i["step"], i["reference"], None if i["time_left_seconds"] is None
             else round(i["time_left_seconds"] / 3600)) for i in response.json]


def _confirmed_hours_ago(app, order_id: int, hours: int) -> None:
    """Move the order's confirmation (status change and timeline) back in time."""
    when = utcnow() - timedelta(hours=hours)
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.id == order_id)
                           .values(status_changed_at=when))
        db.session.execute(sa.update(TimelineEvent).where(
            TimelineEvent.order_id == order_id, TimelineEvent.to_status == "confirmed")
            .values(at=when))
        db.session.commit()


def test_each_department_sees_its_orders_with_the_time_left_on_its_step(
        app, as_role, sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue, lines=[
        {"sku": "W-1", "quantity": "4"}, {"sku": "BOX-6", "quantity": "12"}])).json
    number, path = order["number"], f"/api/orders/{order['id']}"
    warehouse, logistics = as_role("warehouse"), as_role("logistics")
    assert _left(sales) == [("draft", number, None)]  # a draft has no time limit
    assert _left(warehouse) == []

    assert sales.post(f"{path}/submit").json["status"] == "confirmed"
    assert _left(warehouse) == [("confirmed_to_shipped", number, 48)]
    assert _left(sales) == []

    # A partial shipment leaves the order with the warehouse, on the same clock.
    _confirmed_hours_ago(app, order["id"], 10)
    bottles = order["lines"][1]["id"]
    warehouse.post(f"{path}/ship", json={"lines": [{"line_id": bottles, "quantity": "6"}]})
    assert _left(warehouse) == [("confirmed_to_shipped", number, 38)]

    warehouse.post(f"{path}/ship")
    assert _left(logistics) == [("shipped_to_delivered", number, 120)]
    logistics.post(f"{path}/deliver")
    assert _left(logistics) == [] and _left(warehouse) == []
