"""Work queues with the orders module alone: each department's orders, due by the limits
that are the orders module's own parameters (``orders.sla.*``), no approvals needed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erpkit.db import db, utcnow
from erpkit.testing import every_page
from erpkit_orders.models import Order, TimelineEvent

from .conftest import order_body


def _left(api) -> list[tuple[str, str, int | None]]:
    """The user's queue: step, order number and hours left (rounded; None: no limit)."""
    response = api.get("/api/work")
    assert response.status_code == 200, response.json
    return [(i["step"], i["reference"], None if i["time_left_seconds"] is None
             else round(i["time_left_seconds"] / 3600)) for i in response.json["items"]]


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


def _waited_since(app, order_ids, when) -> None:
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.id.in_(order_ids))
                           .values(status_changed_at=when))
        db.session.commit()


def test_the_queue_comes_a_page_at_a_time_longest_waiting_first_each_item_once(
        app, sales, catalogue):
    drafts = [sales.post("/api/orders", json=order_body(catalogue)).json for _ in range(5)]
    now = utcnow()
    # Waiting order is not creation order; two of them entered the queue at once.
    for order, hours in zip(drafts, (1, 5, 3, 3, 2), strict=True):
        _waited_since(app, [order["id"]], now - timedelta(hours=hours))  # 3 h: the same time
    hours_of = dict(zip((o["number"] for o in drafts), (1, 5, 3, 3, 2), strict=True))
    by_wait = sorted(drafts, key=lambda o: (-hours_of[o["number"]], o["number"]))

    pages, nexts = every_page(sales.get, "/api/work", limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [i["reference"] for page in pages for i in page] == [o["number"] for o in by_wait]
    assert nexts[-1] is None and all(isinstance(n, str) for n in nexts[:-1])


def test_every_department_s_items_are_paged_together(app, as_role, sales, catalogue):
    admin = as_role("admin")
    draft = sales.post("/api/orders", json=order_body(catalogue)).json
    confirmed = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{confirmed['id']}/submit")
    _waited_since(app, [confirmed["id"]], utcnow() - timedelta(days=2))

    pages, _ = every_page(admin.get, "/api/work", limit=1)

    assert [(i["step"], i["reference"]) for page in pages for i in page] == [
        ("confirmed_to_shipped", confirmed["number"]), ("draft", draft["number"])]


@pytest.mark.parametrize("query,field", [
    ({"limit": 501}, "limit"), ({"limit": 0}, "limit"), ({"after": "not-a-cursor"}, "after"),
    ({"after": "WyIyMDI2LTAxLTAxIiwiYSIsImIiLCJjIl0"}, "after"),  # a time without a zone
    ({"after": "WzEsMiwzLDRd"}, "after"),  # [1, 2, 3, 4]
])
def test_a_page_too_large_or_a_bad_cursor_is_a_422_naming_it(sales, query, field):
    refused = sales.get("/api/work", query_string=query)

    assert refused.status_code == 422, refused.json
    assert [e["field"] for e in refused.json["errors"]] == [field]
