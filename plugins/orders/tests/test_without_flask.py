"""A whole order's life in a plain script: no Flask app, no app context, ever.

Business code is handed its registry (the session carries it), so a worker or a script
runs every transition through ``erpkit.open_session`` alone. The script runs in a fresh
Python process, with ``erpkit.plugins.current_registry`` (the web edges' way in) made to
fail, so any business code that still reads Flask's context breaks the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

#: Run with ``python -c``; argv: database URL, enabled plugins (comma-separated), a tag.
SCRIPT = textwrap.dedent('''
    import json, sys
    from decimal import Decimal

    import flask
    import erpkit.plugins

    def no_app_context(*args, **kwargs):
        raise AssertionError("business code read Flask's app context (current_registry)")

    erpkit.plugins.current_registry = no_app_context

    import erpkit

    url, plugins, tag = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
    session = erpkit.open_session(url, plugins=plugins)
    steps = []

    def step(name, order):
        assert not flask.has_app_context(), f"an app context appeared at {name}"
        steps.append([name, order.status])

    from erpkit_orders import lifecycle
    from erpkit_orders.catalogue import create_customer, create_product
    from erpkit_orders.intake import create_order

    product = create_product(session, {"sku": f"S-{tag}", "name": "Scripted",
                                       "unit_price": Decimal("3.50")})
    customer = create_customer(session, {"name": "Script Ltd",
                                         "email": f"{tag}@example.com", "country": "GB"})
    session.commit()
    if "inventory" in plugins:
        from erpkit_inventory import stock
        from erpkit_inventory.models import Warehouse
        warehouse = Warehouse(code=f"W{tag[:6]}", name="Scripted warehouse")
        session.add(warehouse)
        session.flush()
        stock.receive(session, product, warehouse, 10, actor="script", reason="opening stock")
        session.commit()

    order = create_order(session, {"customer_id": customer.id, "channel": "api",
                                   "lines": [{"sku": product.sku, "quantity": "4"}]},
                         actor="script").order
    step("create", order)
    lifecycle.submit(session, order, actor="script")
    step("submit", order)
    if order.status == "pending_approval":
        lifecycle.approve(session, order, actor="script")
        step("approve", order)
    if order.status == "approved":
        lifecycle.confirm(session, order, actor="script")
        step("confirm", order)
    lifecycle.ship(session, order, actor="script", tracking="TRK-1")
    step("ship", order)
    lifecycle.deliver(session, order, actor="script")
    step("deliver", order)
    lifecycle.close(session, order, actor="script")
    step("close", order)
    timeline = [event.to_status for event in order.timeline if event.kind == "status"]
    reserved = None
    if "inventory" in plugins:
        from erpkit_inventory.models import StockLevel
        level = session.query(StockLevel).filter_by(product_id=product.id).one()
        reserved = [str(level.on_hand), str(level.reserved)]
    print(json.dumps({"steps": steps, "timeline": timeline, "stock": reserved,
                      "app_context": flask.has_app_context()}))
    session.close()
    session.get_bind().dispose()
''')


def run_life_in_a_script(database_url: str, plugins: str) -> dict:
    """Run :data:`SCRIPT` in a new interpreter; its last line of output, parsed."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, database_url, plugins, uuid.uuid4().hex[:10]],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_whole_order_life_runs_in_a_script_without_flask(database_url):
    result = run_life_in_a_script(database_url, "orders")

    assert result["app_context"] is False
    assert result["steps"] == [["create", "draft"], ["submit", "confirmed"],
                               ["ship", "shipped"], ["deliver", "delivered"],
                               ["close", "closed"]]
    assert result["timeline"] == ["draft", "submitted", "approved", "confirmed", "shipped",
                                  "delivered", "closed"]


def test_a_session_without_a_registry_says_how_to_get_one(database_url):
    import pytest
    from sqlalchemy.orm import Session

    from erpkit.db import create_engine
    from erpkit_orders import lifecycle

    engine = create_engine(database_url)
    try:
        with Session(engine) as bare, pytest.raises(RuntimeError) as refused:
            lifecycle.submit(bare, 1)
    finally:
        engine.dispose()
    assert "this session has no erpkit registry" in str(refused.value)
    assert "erpkit.open_session" in str(refused.value)
