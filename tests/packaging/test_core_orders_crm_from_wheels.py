"""Issue 14: core + orders + crm alone (no inventory, no approvals), installed from wheels,
serves its console and keeps credit control: an order that would take the customer over
the credit limit is refused at confirmation and stays as it was."""

from __future__ import annotations

import pytest

from .wheel_installs import (
    ADMIN_PASSWORD,
    api_client,
    assert_page,
    console_login,
    create_admin,
    enabled_plugins,
    must,
)

pytestmark = pytest.mark.slow


def test_core_orders_and_crm_alone_from_wheels_serve_the_console_and_refuse_over_credit(
        crm_venv):
    must(crm_venv.erpkit("init"))
    assert enabled_plugins(crm_venv) == ["crm", "orders"]
    absent = must(crm_venv.python(
        "import importlib.util as u; print([m for m in ('erpkit_inventory', "
        "'erpkit_approvals') if u.find_spec(m)])"))
    assert absent.strip() == "[]"
    # Confirmation by hand, so the refusal is the confirmation's and not the submission's.
    must(crm_venv.erpkit("settings", "set", "orders.auto_confirm", "false"))
    create_admin(crm_venv, "crm-admin")
    api = api_client(crm_venv, "crm-admin")

    with crm_venv.serve() as base:
        def post(path: str, body: dict[str, object], expect: int = 201) -> dict:
            answer = api.post(f"{base}{path}", json=body, timeout=30)
            assert answer.status_code == expect, f"{path}: {answer.text}"
            return answer.json()

        post("/api/products", {"sku": "SUIT", "name": "Suit", "unit_price": "400.00"})
        ada = post("/api/customers", {"name": "Ada Ltd", "email": "ada@example.com",
                                      "country": "GB"})
        limit = api.put(f"{base}/api/crm/customers/{ada['id']}/credit-limit",
                        json={"credit_limit": "500.00"}, timeout=30)
        assert limit.status_code == 200, limit.text
        assert limit.json()["limit_source"] == "customer"

        first, second = (post("/api/orders", {"customer_id": ada["id"], "lines": [
            {"sku": "SUIT", "quantity": "1"}]}) for _ in range(2))
        for order in (first, second):
            assert post(f"/api/orders/{order['id']}/submit", {}, 200)["status"] == "approved"
        assert post(f"/api/orders/{first['id']}/confirm", {}, 200)["status"] == "confirmed"
        held = api.get(f"{base}/api/crm/customers/{ada['id']}/credit", timeout=30).json()
        assert (held["exposure"], held["available"]) == ("400.00", "100.00")

        before = api.get(f"{base}/api/orders/{second['id']}", timeout=30).json()
        refused = post(f"/api/orders/{second['id']}/confirm", {}, 409)
        assert refused["code"] == "credit_limit_exceeded", refused
        assert "exceeded by 300.00" in refused["message"], refused
        after = api.get(f"{base}/api/orders/{second['id']}", timeout=30).json()
        assert (after["status"], after["version"]) == ("approved", before["version"])
        unchanged = api.get(f"{base}/api/crm/customers/{ada['id']}/credit", timeout=30).json()
        assert unchanged["exposure"] == "400.00"

        console = console_login(base, "crm-admin", ADMIN_PASSWORD)
        assert "Customers" in assert_page(console, f"{base}/admin/")
        assert "Ada Ltd" in assert_page(console, f"{base}/admin/crm/customers/")
        page = assert_page(console, f"{base}/admin/crm/customers/{ada['id']}/")
        assert "Ada Ltd" in page and "500.00" in page
