"""A gate in a real browser (Debian's chromium via Playwright): the flow diagram shows the
express check before shipping, and the warehouse lead approves the held shipment from the
inbox, which ships it. Screenshots land in test-artifacts/approvals-gates/."""

from __future__ import annotations

import pytest

from erpkit.testing import artifact_folder

from .conftest import PASSWORD, gate_rule, order_status, place_order, request_of

pytestmark = pytest.mark.browser


@pytest.fixture
def live(live_url):
    return live_url


@pytest.fixture
def browser(chromium):
    """erpkit.testing's one chromium for the run."""
    return chromium


@pytest.fixture
def shots(request):
    folder = artifact_folder(request.config.rootpath, "approvals-gates", request.node.name)
    count = [0]

    def shot(page, name):
        count[0] += 1
        page.screenshot(path=str(folder / f"{count[0]:02d}-{name}.png"), full_page=True)

    return shot


def log_in(browser, base, login):
    context = browser.new_context(base_url=base, viewport={"width": 1700, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")
    return page


def test_the_express_check_before_shipping_in_the_browser(staff, catalogue, live, browser,
                                                          shots):
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Express check", "ship", "warehouse_lead",
        {"fact": "orders.channel", "operator": "=", "value": "express"}))
    express = place_order(staff["sam"], catalogue, 3, channel="express")
    assert staff["root"].post(f"/api/orders/{express['id']}/ship").status_code == 202

    admin = log_in(browser, live, "root")
    admin.goto("/admin/approval-flow/")
    gate = admin.locator('[data-testid="flow"] g.gate[data-gate="ship"]')
    assert gate.is_visible()
    assert "Express check: role warehouse_lead" in (gate.text_content() or "")
    assert admin.locator('[data-testid="flow"] g.status').count() == 12
    box = admin.locator('[data-testid="flow"] svg').bounding_box()
    assert box is not None and box["width"] > 1000
    shots(admin, "flow-with-the-ship-gate")

    lead = log_in(browser, live, "liz")
    lead.goto("/admin/approval-inbox/")
    row = lead.locator('[data-testid="inbox"] tr', has_text=express["number"])
    assert row.is_visible()
    shots(lead, "inbox-of-the-warehouse-lead")
    row.get_by_role("button", name="Approve").click()
    lead.wait_for_load_state()
    shots(lead, "approved")

    assert order_status(staff["root"], express["id"]) == "shipped"
    assert request_of(staff["root"], express["id"], status=None)["status"] == "approved"
