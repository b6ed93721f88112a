"""core + orders + reporting alone, installed from wheels: a sale through the API is in
the sales report at once, and the dashboard is served with its vendored Chart.js."""

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


def test_core_orders_and_reporting_alone_from_wheels_report_sales_and_show_the_dashboard(
        reporting_venv):
    venv = reporting_venv
    must(venv.erpkit("init"))
    assert enabled_plugins(venv) == ["orders", "reporting"]
    create_admin(venv, "report-admin")
    api = api_client(venv, "report-admin")

    with venv.serve() as base:
        def post(path: str, body: dict[str, object], expect: int = 201) -> dict:
            answer = api.post(f"{base}{path}", json=body, timeout=30)
            assert answer.status_code == expect, f"{path}: {answer.text}"
            return answer.json()

        post("/api/products", {"sku": "MUG", "name": "Mug", "unit_price": "7.35"})
        ada = post("/api/customers", {"name": "Ada Ltd", "country": "FR"})
        order = post("/api/orders", {"customer_id": ada["id"], "lines": [
            {"sku": "MUG", "quantity": "3", "discount_percent": "10"}]})
        assert post(f"/api/orders/{order['id']}/submit", {}, 200)["status"] == "confirmed"

        answer = api.get(f"{base}/api/reports/sales", params={"by": "year"}, timeout=30)
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["report"] == "sales"
        assert report["totals"]["revenue"] == order["total"] == "19.85"  # 22.05 - 10 %
        assert report["totals"]["orders"] == 1

        console = console_login(base, "report-admin", ADMIN_PASSWORD)
        dashboard = assert_page(console, f"{base}/admin/reporting/dashboard/")
        assert "vendor/chart.umd.min.js" in dashboard
        assert ">19.85<" in dashboard
        chart = console.get(f"{base}/reporting/static/vendor/chart.umd.min.js", timeout=30)
        assert chart.status_code == 200 and "Chart" in chart.text[:2000]
        assert_page(console, f"{base}/admin/reporting/reports/")
