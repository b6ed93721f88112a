"""Work queues: each role sees what waits on it, oldest first, with the time left before
the step's limit, from the moment an order is created. Through the real app, in the
console ("My work") and at ``GET /api/work``."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit import PluginMeta, WorkItem, hookimpl
from erpkit.app import create_app
from erpkit.db import db, utcnow

pytest.importorskip("erpkit_orders")
pytest.importorskip("erpkit_approvals")

from erpkit_orders.catalogue import create_customer, create_product
from erpkit_orders.models import Order

RULE = {
    "name": "Large orders",
    "priority": 10,
    "match": "all",
    "conditions": [{"fact": "orders.total", "operator": ">", "value": "1000"}],
    "steps": [{"name": "Manager approval", "role": "approver", "required": 1,
               "time_limit": "4h", "breach_action": "remind"}],
}


@pytest.fixture
def shop(app):
    """A desk at 400.00 for Ada Ltd, with stock when the inventory module is installed
    (so orders can be confirmed)."""
    with app.app_context():
        desk = create_product(db.session, {"sku": "DESK-1", "name": "Standing desk",
                                           "unit_price": Decimal("400.00")})
        customer = create_customer(db.session, {"name": "Ada Ltd", "country": "GB"})
        if "inventory" in app.extensions["erpkit"].plugins:
            from erpkit_inventory import stock
            from erpkit_inventory.models import Warehouse

            warehouse = Warehouse(code="MAIN", name="Main warehouse")
            db.session.add(warehouse)
            db.session.flush()
            stock.receive(db.session, desk, warehouse, 100, actor="setup")
        db.session.commit()
        return customer.id


class Api:
    """The app's test client acting as one user, with their bearer token."""

    def __init__(self, client, users, login):
        self.client, self.headers = client, users.headers(login)

    def get(self, path):
        return self.client.get(path, headers=self.headers)

    def post(self, path, json=None):
        return self.client.post(path, json=json or {}, headers=self.headers)

    def put(self, path, json=None):
        return self.client.put(path, json=json, headers=self.headers)

    def work(self):
        response = self.get("/api/work")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]


@pytest.fixture
def api(client, users):
    """``api("sales")``: a client acting as a user with that built-in role."""
    return lambda role: Api(client, users, role)


def new_order(api, customer, desks=1, *, submit=False):
    created = api("sales").post("/api/orders", json={
        "customer_id": customer, "channel": "phone",
        "lines": [{"sku": "DESK-1", "quantity": str(desks)}]})
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    if submit:
        submitted = api("sales").post(f"/api/orders/{order['id']}/submit")
        assert submitted.status_code == 200, submitted.get_json()
        order = submitted.get_json()
    return order


def waiting_since(app, number, when):
    """Pretend the order entered its status at ``when``."""
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.number == number)
                           .values(status_changed_at=when))
        db.session.commit()


def about(seconds, expected):
    return abs(seconds - expected.total_seconds()) < 60


def test_a_new_order_is_in_the_sales_queue_at_once_as_a_draft(api, shop, console):
    order = new_order(api, shop)

    [item] = api("sales").work()
    assert (item["kind"], item["reference"], item["step"]) == ("order", order["number"], "draft")
    assert (item["due_at"], item["time_left"], item["overdue"]) == (None, "no limit", False)
    assert item["url"] == f"/admin/orders/{order['id']}/"
    page = console("sam", "sales").get("/admin/work/").get_data(as_text=True)
    assert f'data-reference="{order["number"]}" data-kind="order" data-step="draft"' in page


def test_a_confirmed_order_waits_on_the_warehouse_with_the_time_left_to_ship_it(api, shop):
    api("admin").put("/api/settings/orders.auto_confirm", json={"value": False})
    order = new_order(api, shop, submit=True)
    [approved] = api("sales").work()
    assert (approved["reference"], approved["step"]) == (order["number"],
                                                         "submitted_to_confirmed")
    assert about(approved["time_left_seconds"], timedelta(hours=4))

    confirmed = api("sales").post(f"/api/orders/{order['id']}/confirm")
    assert confirmed.get_json()["status"] == "confirmed", confirmed.get_json()

    [item] = api("warehouse").work()
    assert (item["reference"], item["step"]) == (order["number"], "confirmed_to_shipped")
    assert about(item["time_left_seconds"], timedelta(hours=48))
    assert item["time_left"].endswith(" left")
    api("admin").put("/api/settings/orders.sla.confirmed_to_shipped", json={"value": "6h"})
    assert about(api("warehouse").work()[0]["time_left_seconds"], timedelta(hours=6))


def test_an_order_held_by_an_approval_rule_waits_on_the_approver(api, shop, console):
    approver = api("approver")  # a rule needs someone who may approve
    assert api("admin").post("/api/approvals/rules", json=RULE).status_code == 201
    order = new_order(api, shop, desks=3, submit=True)
    assert order["status"] == "pending_approval"

    [item] = approver.work()
    assert (item["kind"], item["reference"], item["step"]) == (
        "approval_step", order["number"], "Manager approval")
    assert about(item["time_left_seconds"], timedelta(hours=4))
    assert item["url"] == "/admin/approval-inbox/"
    assert api("sales").work() == []  # it waits on approvers, not on sales
    page = console("abe", "approver").get("/admin/work/").get_data(as_text=True)
    assert f'data-reference="{order["number"]}" data-kind="approval_step"' in page


def test_sales_does_not_see_what_waits_on_the_warehouse(api, shop, console):
    shipping = new_order(api, shop, submit=True)
    assert shipping["status"] == "confirmed"
    draft = new_order(api, shop)

    assert [i["reference"] for i in api("sales").work()] == [draft["number"]]
    assert [i["reference"] for i in api("warehouse").work()] == [shipping["number"]]
    page = console("sam", "sales").get("/admin/work/").get_data(as_text=True)
    assert shipping["number"] not in page and draft["number"] in page


def test_the_queue_is_oldest_first(app, api, shop):
    numbers = [new_order(api, shop)["number"] for _ in range(3)]
    now = utcnow()
    for number, hours_ago in zip(numbers, (1, 3, 2), strict=True):
        waiting_since(app, number, now - timedelta(hours=hours_ago))

    assert [i["reference"] for i in api("sales").work()] == [numbers[1], numbers[2], numbers[0]]


def test_an_overdue_item_shows_as_overdue(app, api, shop, console):
    order = new_order(api, shop, submit=True)
    waiting_since(app, order["number"], utcnow() - timedelta(hours=49))  # limit: 48h

    [item] = api("warehouse").work()
    assert item["overdue"] and item["time_left_seconds"] < 0
    assert item["time_left"].startswith("overdue by 1h")
    page = console("wes", "warehouse").get("/admin/work/").get_data(as_text=True)
    row = page.split(f'data-reference="{order["number"]}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="table-danger"' in row and "overdue by 1h" in row


def test_my_work_is_open_to_every_console_user_and_to_nobody_else(client, console, users):
    assert client.get("/api/work").status_code == 401
    assert client.get("/admin/work/").status_code == 302  # to the login page
    page = console("ana", "analyst").get("/admin/work/")
    assert page.status_code == 200
    assert "Nothing waits on you." in page.get_data(as_text=True)
    assert 'href="/admin/work/"' in client.get("/admin/").get_data(as_text=True)


def test_a_work_item_keeps_times_in_utc_and_refuses_naive_ones():
    local = datetime(2026, 1, 1, 14, tzinfo=timezone(timedelta(hours=2)))
    item = WorkItem("order", "Ship", "SO-1", None, "confirmed_to_shipped", local,
                    local + timedelta(hours=2))
    assert item.waiting_since.tzinfo is UTC
    assert item.time_left_at(item.due_at + timedelta(minutes=90)) == timedelta(minutes=-90)
    with pytest.raises(ValueError, match="timezone-aware"):
        WorkItem("order", "Ship", "SO-1", None, "x", datetime(2026, 1, 1))


def test_hook_erpkit_work_queue(database_url, app, users, api, shop):
    """A plugin's items join the queue, merged with the others oldest first; it names
    only the arguments it uses."""
    now = utcnow()

    def erpkit_work_queue(user, limit):
        if not user.can("orders.deliver"):
            return []
        return [WorkItem("return", "Inspect the returned goods", "RMA-7", None,
                         "inspection", now - timedelta(days=10), now - timedelta(days=9))]

    returns = types.ModuleType("inprocess_returns")
    returns.PLUGIN = PluginMeta(name="returns", requires=("orders",))
    returns.erpkit_work_queue = hookimpl(erpkit_work_queue)
    order = new_order(api, shop, submit=True)
    other = create_app({"DATABASE_URL": database_url, "TESTING": True,
                        "SECRET_KEY": "test-secret", "EXTRA_PLUGINS": [returns]})
    try:
        client = other.test_client()
        found = client.get("/api/work", headers=users.headers("warehouse")).get_json()["items"]
        nothing = client.get("/api/work", headers=users.headers("sales")).get_json()["items"]
    finally:
        with other.app_context():
            db.engine.dispose()

    assert [(i["kind"], i["reference"]) for i in found] == [
        ("return", "RMA-7"), ("order", order["number"])]
    assert found[0]["time_left"] == "overdue by 9d" and found[0]["overdue"]
    assert [i["kind"] for i in nothing] == []
