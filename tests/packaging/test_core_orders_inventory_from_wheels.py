"""An installation of core + orders + inventory only, from wheels, runs the whole order
lifecycle and serves its console: inventory needs no crm, logistics, reporting or
approvals."""

from __future__ import annotations

import textwrap

import pytest

from .wheel_installs import ADMIN_PASSWORD, assert_page, console_login, must

pytestmark = pytest.mark.slow

LIFECYCLE = textwrap.dedent('''
    import importlib.util
    from decimal import Decimal

    import sqlalchemy as sa

    from erpkit.app import create_app
    from erpkit.db import db
    from erpkit_inventory import stock
    from erpkit_inventory.ledger import check_drift
    from erpkit_inventory.models import StockLevel, Warehouse
    from erpkit_orders import lifecycle
    from erpkit_orders.intake import create_order
    from erpkit_orders.models import Customer, Product

    app = create_app({"TESTING": True})
    assert sorted(app.extensions["erpkit"].plugins) == ["inventory", "orders"]
    for other in ("erpkit_crm", "erpkit_logistics", "erpkit_reporting", "erpkit_approvals"):
        assert importlib.util.find_spec(other) is None, other
    with app.app_context():
        session = db.session
        widget = Product(sku="W-1", name="Widget", unit_price=Decimal("2.50"))
        ada = Customer(name="Ada Ltd", email="ada@example.com")
        main = Warehouse(code="MAIN", name="Main warehouse")
        session.add_all([widget, ada, main])
        session.commit()
        stock.receive(session, widget, main, 10, actor="script")
        session.commit()

        order = create_order(session, {"customer_id": ada.id, "lines": [
            {"sku": "W-1", "quantity": Decimal(4)}]}).order
        lifecycle.submit(session, order, actor="script")
        assert order.status == "confirmed", order.status
        level = session.scalar(sa.select(StockLevel))
        assert (level.on_hand, level.reserved) == (10, 4), (level.on_hand, level.reserved)

        lifecycle.ship(session, order, actor="script")
        lifecycle.deliver(session, order, actor="script")
        level = session.scalar(sa.select(StockLevel).execution_options(populate_existing=True))
        assert (order.status, level.on_hand, level.reserved) == ("delivered", 6, 0)
        assert check_drift(session) == []
    print("lifecycle ok")
''')


def test_core_orders_and_inventory_alone_installed_from_wheels_run_the_lifecycle(
        inventory_venv):
    must(inventory_venv.erpkit("init"))
    listed = must(inventory_venv.erpkit("plugins", "list"))
    assert [line.split()[0] for line in listed.splitlines()[1:]] == ["inventory", "orders"]
    assert "up to date" in listed
    assert "match" in must(inventory_venv.erpkit("inventory", "check"))

    script = inventory_venv.cwd / "lifecycle.py"
    script.write_text(LIFECYCLE)
    ran = must(inventory_venv.python(script.read_text()))
    assert ran.strip().endswith("lifecycle ok")


def test_the_console_of_core_orders_and_inventory_answers_with_html(inventory_venv):
    must(inventory_venv.erpkit("init"))
    must(inventory_venv.erpkit("users", "create", "stock-admin", "--password-stdin",
                                    input=ADMIN_PASSWORD + "\n"))
    with inventory_venv.serve() as base:
        console = console_login(base, "stock-admin", ADMIN_PASSWORD)
        assert "Inventory" in assert_page(console, f"{base}/admin/")
        assert_page(console, f"{base}/admin/orders/")
        assert_page(console, f"{base}/admin/inventory/stock/")
        assert_page(console, f"{base}/admin/parameters/inventory.preferred_warehouse/")
