"""What an integrator who installs only what they need does: wheels of the core and the
orders plugin, installed in a fresh virtual environment, ``erpkit init``, an admin, the
app served by gunicorn and its console opened over HTTP; then the third-party example
plugin ``examples/embargo`` installed on top, taking part in order validation.

Slow (builds wheels, makes a virtual environment, installs dependencies from the package
index): one environment serves the whole test session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .wheel_installs import ADMIN_PASSWORD, Venv, assert_page, console_login, must

pytestmark = pytest.mark.slow


@pytest.fixture
def embargo(orders_venv: Venv, wheels: dict[str, Any]) -> Iterator[Venv]:
    """The example plugin installed in the environment for one test, uninstalled after."""
    must(orders_venv.pip("install", "--quiet", wheels["erpkit-embargo"]))
    try:
        yield orders_venv
    finally:
        must(orders_venv.pip("uninstall", "--yes", "--quiet", "erpkit-embargo"))


def plugins(venv: Venv, **env: str) -> dict[str, dict[str, object]]:
    listed = json.loads(must(venv.erpkit("plugins", "list", "--json", **env)))
    return {row["name"]: row for row in listed}


def test_the_core_and_orders_wheels_install_alone_and_run(orders_venv):
    located = must(orders_venv.python("import erpkit, erpkit_orders; "
                                      "print(erpkit.__file__); print(erpkit_orders.__file__)"))
    assert all("site-packages" in line for line in located.split())  # not the work tree

    initialised = orders_venv.erpkit("init")
    assert initialised.returncode == 0, initialised.stderr
    assert "database ready" in initialised.stdout

    listed = orders_venv.erpkit("plugins", "list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:2] == ["orders", "0.1.0"] and line.endswith("up to date")
               for line in listed.stdout.splitlines()), listed.stdout
    assert plugins(orders_venv)["orders"]["migrations"] == "up to date"

    status = json.loads(must(orders_venv.erpkit("db", "status", "--json")))
    assert {s["branch"] for s in status} == {"core", "orders"}
    assert all(s["up_to_date"] for s in status)
    assert "models match migrations" in must(orders_venv.erpkit("db", "check"))


def test_the_console_served_from_the_wheels_answers_with_html(orders_venv):
    must(orders_venv.erpkit("init"))
    must(orders_venv.erpkit("users", "create", "wheel-admin", "--password-stdin",
                                    input=ADMIN_PASSWORD + "\n"))
    with orders_venv.serve() as base:
        console = console_login(base, "wheel-admin", ADMIN_PASSWORD)
        assert "Orders" in assert_page(console, f"{base}/admin/")
        assert_page(console, f"{base}/admin/orders/")
        form = assert_page(console, f"{base}/admin/parameters/core.company_name/")
        assert 'name="csrf_token"' in form
        assert console.get(f"{base}/health", timeout=30).json()["status"] == "ok"


def test_a_revision_is_never_written_into_site_packages(orders_venv):
    must(orders_venv.erpkit("init"))
    refused = orders_venv.erpkit("db", "revision", "orders", "-m", "more columns")
    assert refused.returncode == 1
    assert "site-packages" in refused.stderr
    assert "pip install -e" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_example_plugin_takes_part_once_installed(embargo):
    must(embargo.erpkit("init"))
    listed = plugins(embargo)
    assert listed["embargo"]["requires"] == ["orders"]
    assert listed["embargo"]["enabled"] is True
    assert listed["embargo"]["migrations"] == "no tables"

    changed = embargo.erpkit("settings", "set", "embargo.regions", "kp, ir")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "embargo.regions = ['IR', 'KP']"

    refused = embargo.erpkit("settings", "set", "embargo.regions", "KP, XX")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "refused: embargo.regions: not ISO 3166-1 alpha-2 country codes: XX "
        "(use two letters, e.g. KP, IR)")
    assert "Traceback" not in refused.stderr

    outcome = json.loads(must(embargo.python("""
        import json
        from decimal import Decimal

        from erpkit import ValidationFailed
        from erpkit.app import create_app
        from erpkit.db import db
        from erpkit_orders.catalogue import create_customer, create_product
        from erpkit_orders.intake import create_order

        app = create_app({"SECRET_KEY": "packaging-test"})
        outcome = {}
        with app.app_context():
            session = db.session
            create_product(session, {"sku": "CHAIR-1", "name": "Chair",
                                     "unit_price": Decimal("49.00")})
            for country in ("KP", "FR"):
                customer = create_customer(session, {"name": f"Customer {country}",
                                                     "country": country})
                order = {"customer_id": customer.id, "channel": "web",
                         "lines": [{"sku": "CHAIR-1", "quantity": Decimal(1)}]}
                try:
                    outcome[country] = create_order(session, order).order.status
                except ValidationFailed as exc:
                    outcome[country] = [p.as_dict() for p in exc.problems]
        print(json.dumps(outcome))
    """)))
    assert outcome["FR"] == "draft"
    [problem] = outcome["KP"]
    assert problem["field"] == "customer.country"
    assert problem["code"] == "embargoed"
    assert "(KP) are under embargo" in problem["message"]


def test_the_example_plugin_without_orders_stops_the_cli_and_names_orders(embargo):
    result = embargo.erpkit("plugins", "list", ERPKIT_PLUGINS="embargo")
    assert result.returncode == 2
    assert "plugin 'embargo' requires plugin 'orders', which is disabled" in result.stderr
    assert "Fix: add 'orders' to ERPKIT_PLUGINS" in result.stderr
    assert "Traceback" not in result.stderr
