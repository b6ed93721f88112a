"""Issue 6's scenario in a real browser: an admin lowers the approval threshold, a sales
user's order above it waits, an approver approves it from the inbox, and the order shows
confirmed with its timeline. Each person uses a browser of their own."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from erpkit.db import db
from erpkit.plugins import current_registry

pytestmark = pytest.mark.browser


def given_a_shop_with_a_large_order_rule(app, users):
    """People, a product in stock, a customer, and the rule: orders over 5000 wait for an
    approver. Committed and closed before the browser starts (SQLite's write lock)."""
    from erpkit_approvals import rules
    from erpkit_inventory import stock
    from erpkit_inventory.models import Warehouse
    from erpkit_orders.models import Customer, Product

    users.create("ann", "admin")
    users.create("sam", "sales")
    users.create("abe", "approver")
    with app.app_context():
        session = db.session
        product = Product(sku="DESK-1", name="Standing desk", unit_price=Decimal("400.00"))
        warehouse = Warehouse(code="MAIN", name="Main warehouse")
        session.add_all(
            [product, warehouse, Customer(name="Ada Ltd", email="ada@example.com", country="GB")]
        )
        session.flush()
        stock.receive(session, product, warehouse, 50, actor="ann", reason="opening stock")
        current_registry().parameters.set(session, "orders.auto_confirm", "true", actor="ann")
        rules.create_rule(
            session,
            rules.load_definition(
                {
                    "name": "Large orders",
                    "priority": 10,
                    "match": "all",
                    "conditions": [{"fact": "orders.total", "operator": ">", "value": "5000"}],
                    "steps": [{"name": "Manager approval", "role": "approver", "required": 1}],
                }
            ),
            actor="ann",
        )
        session.commit()


def test_an_order_above_the_lowered_threshold_waits_and_is_approved_from_the_inbox(
    app, users, pages
):
    given_a_shop_with_a_large_order_rule(app, users)

    # The admin lowers the threshold from 5000 to 1000 in the rule editor.
    admin = pages.new()
    pages.log_in(admin, "ann")
    admin.goto("/admin/approval-rules/")
    rule = admin.locator('tr[data-rule="Large orders"]')
    expect(rule).to_contain_text("orders.total > 5000")
    rule.get_by_role("link", name="Edit").click()
    # The editor must have finished loading before typing: on a loaded CI machine a fill
    # made while the page was still loading was lost and the form saved 5000 again.
    admin.wait_for_url("**/admin/approval-rules/*/")
    admin.wait_for_load_state()
    value = admin.locator('input[name="conditions-0-value"]')
    expect(value).to_have_value("5000")
    value.fill("1000")
    expect(value).to_have_value("1000")
    pages.shot(admin, "admin-lowers-threshold")
    admin.get_by_role("button", name="Save").click()
    expect(admin.get_by_text("Saved rule 'Large orders' (version 2).")).to_be_visible()
    expect(rule).to_contain_text("orders.total > 1000")
    expect(rule).to_contain_text("v2")
    pages.shot(admin, "admin-threshold-saved")

    # The audit log shows the change with before and after.
    admin.goto("/admin/audit/?search=approval_rule")
    change = admin.locator("tr", has_text="approval_rule").filter(has_text="update").first
    expect(change).to_contain_text("value: 5000")
    expect(change).to_contain_text("value: 1000")
    expect(change).to_contain_text("ann")
    pages.shot(admin, "audit-shows-threshold-change")

    # A sales user may not edit rules.
    sales = pages.new()
    pages.log_in(sales, "sam")
    response = sales.goto("/admin/approval-rules/")
    assert response.status == 403
    expect(sales.get_by_test_id("forbidden")).to_contain_text("approvals.rules")
    pages.shot(sales, "sales-refused-rules")

    # The sales user creates an order of 2000 (over the new threshold, under the old).
    sales.goto("/admin/orders/new")
    sales.get_by_label("Customer").select_option(label="Ada Ltd")
    sales.locator("tr[data-line]").first.locator(".select2-choice").click()
    sales.locator(".select2-drop-active input.select2-input:visible").fill("DESK")
    sales.locator(".select2-drop-active .select2-result-label:visible",
                  has_text="DESK-1").click()
    sales.get_by_label("Quantity of line 1", exact=True).fill("5")
    pages.shot(sales, "sales-new-order")
    sales.get_by_role("button", name="Create draft").click()
    expect(sales.get_by_test_id("order-status")).to_have_attribute("data-status", "draft")
    expect(sales.get_by_test_id("order-total")).to_contain_text("€2,000.00")
    number = sales.get_by_test_id("order-number").inner_text()

    sales.get_by_role("button", name="Submit").click()
    status = sales.get_by_test_id("order-status")
    expect(status).to_have_attribute("data-status", "pending_approval")
    expect(sales.get_by_test_id("timeline")).to_contain_text("Large orders")
    expect(sales.get_by_role("button", name="Submit")).to_have_count(0)
    pages.shot(sales, "sales-order-waits")

    # The approver finds it in the inbox and approves it with a comment.
    approver = pages.new()
    pages.log_in(approver, "abe")
    approver.goto("/admin/approval-inbox/")
    waiting = approver.locator(f'tr[data-order="{number}"]')
    expect(waiting).to_contain_text("2,000.00")
    expect(waiting).to_contain_text("sam")
    expect(waiting).to_contain_text("Manager approval")
    waiting.get_by_label(f"Comment on {number}").fill("fine for this customer")
    pages.shot(approver, "approver-inbox")
    waiting.get_by_role("button", name="Approve").click()
    expect(
        approver.get_by_text(f"You approved order {number}; it is now confirmed.")
    ).to_be_visible()
    expect(approver.locator(f'tr[data-order="{number}"]')).to_have_count(0)
    pages.shot(approver, "approver-approved")

    # The sales user sees the order confirmed, with every step on its timeline.
    sales.reload()
    expect(sales.get_by_test_id("order-status")).to_have_attribute("data-status", "confirmed")
    timeline = sales.get_by_test_id("timeline")
    for step in ("Draft", "Submitted", "Waiting for approval", "Approved", "Confirmed"):
        expect(timeline.locator("tr.timeline-status", has_text=f"→ {step}")).to_have_count(1)
    expect(timeline).to_contain_text(
        "abe approved 'Manager approval' (1 of 1): fine for this customer"
    )
    pages.shot(sales, "sales-order-confirmed")
