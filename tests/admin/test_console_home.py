"""The console's home per role: what waits on me, what of it is late, unread
notifications, low stock for whoever sees stock (hook ``erpkit_console_home_panels``),
above the dashboard for analysts and admins; every page says its language."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erpkit.db import db, utcnow
from erpkit.notifications import notify
from erpkit.plugins import current_registry

pytest.importorskip("erpkit_orders")
pytest.importorskip("erpkit_inventory")

from erpkit_inventory import stock
from erpkit_inventory.models import ReplenishmentRule, Warehouse
from erpkit_orders.catalogue import create_customer, create_product
from erpkit_orders.models import Order

from .helpers import log_in


@pytest.fixture
def shop(app):
    """Desks and lamps in the main warehouse; lamps fell under their reorder point."""
    with app.app_context():
        desk = create_product(db.session, {"sku": "DESK-1", "name": "Standing desk",
                                           "unit_price": Decimal("400.00")})
        lamp = create_product(db.session, {"sku": "LAMP-1", "name": "Desk lamp",
                                           "unit_price": Decimal("30.00")})
        customer = create_customer(db.session, {"name": "Ada Ltd", "country": "GB"})
        main = Warehouse(code="MAIN", name="Main warehouse")
        db.session.add(main)
        db.session.flush()
        db.session.add(ReplenishmentRule(product_id=lamp.id, warehouse_id=main.id,
                                         reorder_point=Decimal(10), order_up_to=Decimal(50)))
        stock.receive(db.session, desk, main, 100, actor="setup")
        stock.receive(db.session, lamp, main, 12, actor="setup")
        stock.adjust(db.session, lamp, main, -9, actor="setup", reason="broken in transit")
        db.session.commit()
        return customer.id


def panel(html, testid):
    """The text of one home panel, tags stripped (``None`` when the page has none)."""
    found = re.search(rf'data-testid="{testid}".*?</section>', html, flags=re.S)
    return None if found is None else re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found[0]))


def new_order(users, client, customer, *, submit=False):
    headers = users.headers("sales")
    created = client.post("/api/orders", headers=headers, json={
        "customer_id": customer, "channel": "phone",
        "lines": [{"sku": "DESK-1", "quantity": "1"}]})
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    if submit:
        assert client.post(f"/api/orders/{order['id']}/submit",
                           headers=headers).status_code == 200
    return order


def test_hook_erpkit_console_home_panels_shows_the_warehouse_its_low_stock(console, shop):
    html = console("wes", "warehouse").get("/admin/").get_data(as_text=True)
    low = panel(html, "home-low-stock")
    assert low is not None, html
    assert "LAMP-1 Desk lamp (MAIN)" in low and "3 left, reorder at 10" in low
    assert "DESK-1" not in low


def test_sales_sees_no_stock_panel_but_its_draft_waiting(app, client, console, users, shop):
    order = new_order(users, client, shop)
    html = console("sam", "sales").get("/admin/").get_data(as_text=True)
    assert panel(html, "home-low-stock") is None
    work = panel(html, "home-work")
    assert order["number"] in work and "Nothing waits on you." not in work
    assert "Nothing you can act on is late." in panel(html, "home-late")


def test_a_late_step_is_on_the_home_of_whoever_can_act_on_it(app, client, console, users,
                                                             shop):
    order = new_order(users, client, shop, submit=True)  # confirmed: the warehouse ships
    with app.app_context():
        db.session.execute(sa.update(Order).where(Order.id == order["id"])
                           .values(status_changed_at=utcnow() - timedelta(hours=49)))
        db.session.commit()
    html = console("wes", "warehouse").get("/admin/").get_data(as_text=True)
    late = panel(html, "home-late")
    assert order["number"] in late and "overdue by 1h" in late
    assert re.search(r'data-testid="home-late".*?panel-count">1<', html, flags=re.S)
    users.create("sue", "sales")
    sales = app.test_client()
    assert log_in(sales, "sue").status_code == 302
    assert order["number"] not in panel(sales.get("/admin/").get_data(as_text=True), "home-late")


def test_unread_notifications_are_on_the_home_until_read(app, console, users):
    client = console("ann", "analyst")
    with app.app_context():
        notify(db.session, "ann", subject="Report ready", message="Your export is ready.")
        db.session.commit()
    html = client.get("/admin/").get_data(as_text=True)
    assert "Report ready" in panel(html, "home-notifications")
    assert client.post("/api/notifications/read-all",
                       headers={"X-CSRFToken": _csrf(html)}).status_code == 200
    assert panel(client.get("/admin/").get_data(as_text=True), "home-notifications") is None


def test_an_analyst_sees_the_panels_above_the_dashboard(console, shop):
    pytest.importorskip("erpkit_reporting")
    client = console("ana", "analyst")
    html = client.get("/admin/").get_data(as_text=True)
    assert html.index('data-testid="home-work"') < html.index('data-testid="key-figures"')
    assert panel(html, "home-low-stock") is None  # analysts do not act on stock
    # the list of pages has no panels
    pages = client.get("/admin/?pages=1").get_data(as_text=True)
    assert 'data-testid="home-panels"' not in pages


def test_every_console_page_says_its_language_and_offers_a_skip_link(app, console):
    client = console("ann", "admin")
    for url in ("/admin/", "/admin/work/", "/admin/users/"):
        html = client.get(url).get_data(as_text=True)
        assert '<html lang="en-GB">' in html, url
        assert 'href="#content">Skip to content</a>' in html and '<main id="content"' in html
    with app.app_context():
        current_registry().parameters.set(db.session, "core.locale", "de_DE",
                                                actor="ann")
        db.session.commit()
    assert '<html lang="de-DE">' in client.get("/admin/work/").get_data(as_text=True)


def _csrf(html):
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html)[1]
