"""The purchasing console in a real browser (Debian's chromium via Playwright): the buyer
drafts from the desk, simulates a new policy and reads the stock figures; the warehouse
sees the desk without the buyer's buttons. Screenshots land in
test-artifacts/<backend>/<test name>/."""

from __future__ import annotations

import pytest

from erpkit.testing import PASSWORD

pytestmark = pytest.mark.browser


def log_in(chromium, base: str, login: str):
    context = chromium.new_context(base_url=base, viewport={"width": 1500, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")
    return page


def test_the_buyer_drafts_simulates_and_reads_the_figures(kettles, shop, users, live_url,
                                                          chromium, artifacts):
    first, last, _demand = kettles
    shop.set("purchasing.service_level", "0.99")  # the 12 on hand are then too few
    users.create("pat", "purchasing")
    users.create("wes", "warehouse")
    page = log_in(chromium, live_url, "pat")

    page.goto("/admin/purchasing/desk/")
    suggestions = page.locator('[data-testid="suggestions"]')
    assert "K-1" in suggestions.inner_text() and "ACME" in suggestions.inner_text()
    page.screenshot(path=str(artifacts / "01-desk-buyer.png"), full_page=True)
    page.get_by_role("button", name="Draft purchase orders").click()
    page.wait_for_load_state()
    orders = page.locator('[data-testid="orders"]')
    assert "PO-" in orders.inner_text() and "draft" in orders.inner_text()
    assert page.get_by_role("link", name="PDF").count() == 1
    page.screenshot(path=str(artifacts / "02-desk-drafted.png"), full_page=True)

    page.goto("/admin/purchasing/simulation/")
    page.fill("#first", str(first))
    page.fill("#last", str(last))
    page.fill("#service_level", "0.8")
    page.fill("#review_period_days", "7")
    page.get_by_role("button", name="Simulate").click()
    page.wait_for_load_state()
    summary = page.locator('[data-testid="summary"]').inner_text()
    assert "Average inventory value" in summary and "%" in summary
    rows = page.locator('[data-testid="simulation"] tr[data-row]')
    assert rows.count() == 2
    page.screenshot(path=str(artifacts / "03-simulation.png"), full_page=True)

    page.fill("#service_level", "2")
    page.get_by_role("button", name="Simulate").click()
    page.wait_for_load_state()
    assert "service_level" in page.locator(".alert-danger").first.inner_text()
    page.screenshot(path=str(artifacts / "04-simulation-bad-input.png"), full_page=True)

    page.goto(f"/admin/purchasing/figures/?first={first}&last={last}")
    figures = page.locator('[data-testid="figures"] tr[data-sku="K-1"]')
    assert "4.0000" in figures.inner_text()
    assert page.locator('[data-testid="total"]').inner_text() == "48.00"  # 12 on hand x 4
    page.screenshot(path=str(artifacts / "05-figures.png"), full_page=True)

    keeper = log_in(chromium, live_url, "wes")
    keeper.goto("/admin/purchasing/desk/")
    assert keeper.get_by_role("button", name="Draft purchase orders").count() == 0
    assert keeper.get_by_role("button", name="Approve").count() == 0
    keeper.screenshot(path=str(artifacts / "06-desk-warehouse.png"), full_page=True)
    refused = keeper.goto("/admin/purchasing/suppliers/")
    assert refused is not None and refused.status == 403
    keeper.screenshot(path=str(artifacts / "07-suppliers-refused-to-warehouse.png"),
                      full_page=True)
