"""The issue's three example gates with the logistics module enabled, end to end through
the API: "returns over 500 need a manager"; "orders to a new customer over 2,000 get a
credit check by finance before confirmation"; "express orders are quality-checked by the
warehouse lead before shipping", where express is the order's carrier service (the fact
``logistics.service``), not its channel.

In the browser (Debian's chromium via Playwright): an admin writes "returns over 500 need
a manager" in the rule editor and adds picking and packing within confirmed on the "Steps
in a status" screen (a role nobody active holds is refused with the reason); the flow
diagram shows the three gates and the steps; the manager, finance and the warehouse lead
each decide from their inbox; the warehouse marks the steps done from its queue.
Screenshots land in test-artifacts/<backend>/approvals-example-gates/.

An order names its service in ``carrier`` (the API's field, the column imported orders
fill), set here on the draft before it is submitted.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from erpkit import registry_of
from erpkit.db import db
from erpkit.testing import artifact_folder, browser_page, plugin_fixtures
from erpkit_approvals.models import ApprovalRequest
from erpkit_logistics.models import Carrier, CarrierService, ShippingRate
from erpkit_orders.catalogue import create_customer

from .conftest import gate_rule, order_status, place_order, request_of, total_over

database_url, app, make_app = plugin_fixtures({"orders", "approvals", "logistics"},
                                              "approvals_logistics")

EXPRESS = {"fact": "logistics.service", "operator": "=", "value": "PX/express"}
NEW_CUSTOMER = {"fact": "orders.customer_is_new", "operator": "is", "value": True}


@pytest.fixture
def services(app) -> None:
    """Parcel Express's standard (the default) and express services, shipping free."""
    with app.app_context():
        carrier = Carrier(code="PX", name="Parcel Express")
        db.session.add(carrier)
        db.session.flush()
        for code in ("standard", "express"):
            service = CarrierService(carrier_id=carrier.id, code=code, name=code.title())
            db.session.add(service)
            db.session.flush()
            db.session.add(ShippingRate(service_id=service.id, zone_id=None, basis="value",
                                        up_to=None, price=Decimal("0.00")))
        registry_of(db.session).parameters.set(db.session, "logistics.default_service",
                                               "PX/standard", actor="tests")
        db.session.commit()


def order_by_service(app, api, catalogue, machines: int, service: str) -> dict[str, Any]:
    """A submitted order of ``machines`` shipped with ``service``."""
    draft = place_order(api, catalogue, machines, submit=False)
    chosen = api.patch(f"/api/orders/{draft['id']}", json={"carrier": service})
    assert chosen.status_code == 200 and chosen.get_json()["carrier"] == service
    submitted = api.post(f"/api/orders/{draft['id']}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    return submitted.get_json()


def delivered(staff, catalogue, machines: int) -> dict[str, Any]:
    order = place_order(staff["sam"], catalogue, machines)
    assert order["status"] == "confirmed", order
    for move in ("ship", "deliver"):
        assert staff["root"].post(f"/api/orders/{order['id']}/{move}").status_code == 200
    return order


def test_express_is_the_logistics_service_and_the_warehouse_lead_checks_it_before_shipping(
        app, staff, catalogue, services):
    made = staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Express check", "ship", "warehouse_lead", EXPRESS))
    assert made.status_code == 201, made.get_json()
    standard = order_by_service(app, staff["sam"], catalogue, 3, "PX/standard")
    express = order_by_service(app, staff["sam"], catalogue, 3, "PX/express")
    assert (standard["channel"], express["channel"]) == ("web", "web")  # not the channel

    assert staff["root"].post(f"/api/orders/{standard['id']}/ship").status_code == 200
    held = staff["root"].post(f"/api/orders/{express['id']}/ship", json={"tracking": "EX-1"})

    assert held.status_code == 202, held.get_json()
    assert held.get_json()["status"] == "confirmed"
    request = request_of(staff["liz"], express["id"])
    assert request["summary"] == "before ship: Express check (v1): service PX/express = PX/express"
    assert request["matches"][0]["facts"] == {"logistics.service": "PX/express"}
    assert staff["max"].post(f"/api/approvals/requests/{request['id']}/approve",
                             json={}).status_code == 403  # a manager is no warehouse lead

    staff["liz"].post(f"/api/approvals/requests/{request['id']}/approve", json={})

    assert order_status(staff["root"], express["id"]) == "shipped"


def test_returns_over_500_need_a_manager_with_logistics(staff, catalogue, services):
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Large returns", "return", "manager", total_over("500")))
    small, large = delivered(staff, catalogue, 4), delivered(staff, catalogue, 6)

    assert staff["root"].post(f"/api/orders/{small['id']}/return",
                              json={"reason": "damaged"}).status_code == 200
    assert staff["root"].post(f"/api/orders/{large['id']}/return",
                              json={"reason": "damaged"}).status_code == 202
    request = request_of(staff["max"], large["id"])
    staff["max"].post(f"/api/approvals/requests/{request['id']}/approve", json={})

    assert order_status(staff["root"], large["id"]) == "returned"


def test_a_new_customer_over_2000_gets_a_credit_check_by_finance_with_logistics(
        staff, catalogue, services):
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Credit check", "confirm", "finance", total_over("2000"), NEW_CUSTOMER))

    first = place_order(staff["sam"], catalogue, 25)

    assert first["status"] == "approved"
    request = request_of(staff["fay"], first["id"])
    assert request["gate"] == "confirm"
    staff["fay"].post(f"/api/approvals/requests/{request['id']}/approve", json={})
    assert order_status(staff["sam"], first["id"]) == "confirmed"


def test_a_dry_run_of_the_express_gate_says_where_and_for_how_long(
        app, staff, catalogue, services):
    shipped = order_by_service(app, staff["sam"], catalogue, 3, "PX/express")
    staff["root"].post(f"/api/orders/{shipped['id']}/ship")
    waiting = order_by_service(app, staff["sam"], catalogue, 3, "PX/express")
    order_by_service(app, staff["sam"], catalogue, 3, "PX/standard")

    tried = staff["root"].post("/api/approvals/rules/dry-run", json={
        "gate": "ship", "conditions": [EXPRESS], "last": 10,
        "steps": [{"role": "warehouse_lead", "time_limit": "2h"},
                  {"role": "manager", "time_limit": "30m"}]})

    assert tried.status_code == 200, tried.get_json()
    result = tried.get_json()
    assert (result["examined"], result["matched"], result["held_at"]) == (
        3, 2, {"confirmed": 1})
    assert result["time_limits"] == "2h30m"
    [still, was_shipped] = result["examples"]
    assert (still["number"], still["waits_in"], still["reached"], still["in_status"]) == (
        waiting["number"], "confirmed", False, None)
    assert (was_shipped["number"], was_shipped["waits_in"], was_shipped["reached"]) == (
        shipped["number"], "confirmed", True)
    assert was_shipped["in_status"] is not None
    assert {(e["held_for"], e["held_for_seconds"], e["basis"])
            for e in result["examples"]} == {("2h30m", 9000, "time_limits")}


def test_a_dry_run_uses_the_measured_wait_of_an_order_that_waited_at_the_gate(
        app, staff, catalogue, services):
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Express check", "ship", "warehouse_lead", EXPRESS))
    express = order_by_service(app, staff["sam"], catalogue, 3, "PX/express")
    staff["root"].post(f"/api/orders/{express['id']}/ship")
    request = request_of(staff["liz"], express["id"])
    staff["liz"].post(f"/api/approvals/requests/{request['id']}/approve", json={})
    with app.app_context():  # it waited 3 hours for the lead
        found = db.session.get(ApprovalRequest, request["id"])
        found.closed_at = found.opened_at + timedelta(hours=3)
        db.session.commit()

    tried = staff["root"].post("/api/approvals/rules/dry-run", json={
        "gate": "ship", "conditions": [EXPRESS], "last": 10})

    [example] = tried.get_json()["examples"]
    assert (example["held_for"], example["basis"], example["waits_in"]) == (
        "3h", "measured", "confirmed")


# --- in the browser ----------------------------------------------------------------


@pytest.fixture
def shots(request):
    folder = artifact_folder(request.config.rootpath, "approvals-example-gates",
                             request.node.name)
    count = [0]

    def shot(page, name):
        count[0] += 1
        page.screenshot(path=str(folder / f"{count[0]:02d}-{name}.png"), full_page=True)

    return shot


def log_in(browser, base, login):
    return browser_page(browser, base, login)


def approve_in_inbox(page, number: str) -> None:
    page.goto("/admin/approval-inbox/")
    page.locator('[data-testid="inbox"] tr', has_text=number).get_by_role(
        "button", name="Approve").click()
    page.wait_for_load_state()


@pytest.mark.browser
def test_the_three_example_gates_and_steps_within_confirmed_in_the_browser(
        app, staff, catalogue, services, as_user, live_url, chromium, shots):
    wes = as_user("wes", "warehouse")
    with app.app_context():
        bea = create_customer(db.session, {"name": "Bea GmbH", "email": "bea@example.com",
                                           "country": "DE", "region": "Bayern"}).id
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Credit check", "confirm", "finance", total_over("2000"), NEW_CUSTOMER))
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Express check", "ship", "warehouse_lead", EXPRESS))

    # 1. "returns over 500 need a manager", written in the console's rule editor
    root = log_in(chromium, live_url, "root")
    root.goto("/admin/approval-rules/new")
    root.locator("#name").fill("Large returns")
    root.locator("#placement").select_option("gate:return")
    root.locator('[name="conditions-0-fact"]').select_option("orders.total")
    root.locator('[name="conditions-0-operator"]').select_option(">")
    root.locator('[name="conditions-0-value"]').fill("500")
    root.locator('[name="steps-0-role"]').select_option("manager")
    shots(root, "rule-editor-large-returns")
    root.get_by_role("button", name="Save").click()
    assert root.locator('[data-rule="Large returns"]').is_visible()
    assert "before return" in (root.locator('[data-rule="Large returns"]').text_content() or "")

    returned = delivered(staff, catalogue, 6)
    assert staff["root"].post(f"/api/orders/{returned['id']}/return",
                              json={"reason": "damaged"}).status_code == 202
    credit = place_order(staff["sam"], catalogue, 25, customer_id=bea)
    assert credit["status"] == "approved"  # its confirmation waits for finance

    # 2. steps within confirmed: a role nobody active holds is refused, with the reason
    root.goto("/admin/approval-status-steps/")
    root.get_by_role("link", name="Add steps to confirmed").click()
    root.locator("#name").fill("Pick and pack")
    root.get_by_label("Step 1 name").fill("picked")
    root.get_by_label("Step 1 role").select_option("quality")
    root.get_by_label("Step 1 time limit").fill("2h")
    root.get_by_role("button", name="Save").click()
    errors = root.locator('[data-testid="rule-errors"]')
    assert "only 0 people may approve (nobody)" in (errors.text_content() or "")
    shots(root, "steps-refused-nobody-holds-quality")
    root.get_by_label("Step 1 role").select_option("warehouse")
    root.get_by_label("Step 2 name").fill("packed")
    root.get_by_label("Step 2 role").select_option("warehouse")
    root.get_by_label("Step 2 time limit").fill("4h")
    root.get_by_label("Step 2 when late").select_option("escalate")
    root.get_by_label("Step 2 escalate to").select_option("manager")
    root.get_by_role("button", name="Save").click()
    shots(root, "steps-saved")
    confirmed = root.locator('[data-testid="status-confirmed"]')
    assert [confirmed.locator("li[data-step]").nth(i).get_attribute("data-step")
            for i in range(2)] == ["picked", "packed"]
    express = order_by_service(app, staff["sam"], catalogue, 3, "PX/express")
    assert express["status"] == "confirmed"
    root.reload()
    assert root.locator(f'[data-testid="in-flight"] tr[data-order="{express["number"]}"]'
                        ).is_visible()
    shots(root, "steps-in-a-status")

    # 3. the flow: three gates, and the steps under confirmed
    root.goto("/admin/approval-flow/")
    flow = root.locator('[data-testid="flow"]')
    for gate, label in (("return", "Large returns: role manager"),
                        ("confirm", "Credit check: role finance"),
                        ("ship", "Express check: role warehouse_lead")):
        assert label in (flow.locator(f'g.gate[data-gate="{gate}"]').text_content() or "")
    assert "picked (role warehouse)" in (flow.text_content() or "")
    box = flow.locator("svg").bounding_box()
    assert box is not None and box["width"] > 1000
    shots(root, "flow-with-three-gates-and-steps")

    # 4. each approver decides from their inbox
    manager = log_in(chromium, live_url, "max")
    approve_in_inbox(manager, returned["number"])
    shots(manager, "manager-approved-the-return")
    assert order_status(staff["root"], returned["id"]) == "returned"
    finance = log_in(chromium, live_url, "fay")
    finance.goto("/admin/approval-inbox/")
    shots(finance, "finance-inbox-credit-check")
    approve_in_inbox(finance, credit["number"])
    assert order_status(staff["root"], credit["id"]) == "confirmed"

    # 5. the warehouse's queue lists the steps; shipping waits until they are done
    warehouse = log_in(chromium, live_url, "wes")
    warehouse.goto("/admin/work/")
    assert warehouse.get_by_text("picked (confirmed)").first.is_visible()
    shots(warehouse, "warehouse-work-queue")
    refused = wes.post(f"/api/orders/{express['id']}/ship")
    assert refused.status_code == 409 and refused.get_json()["code"] == "steps_pending"
    warehouse.goto("/admin/approval-steps-to-do/")
    for step in ("picked", "packed"):
        warehouse.locator(f'tr[data-order="{express["number"]}"][data-step="{step}"]'
                          ).get_by_role("button", name="Done").click()
        warehouse.wait_for_load_state()
    shots(warehouse, "steps-done")
    assert staff["root"].post(f"/api/orders/{express['id']}/ship").status_code == 202

    lead = log_in(chromium, live_url, "liz")
    lead.goto("/admin/approval-inbox/")
    shots(lead, "warehouse-lead-inbox-express-check")
    approve_in_inbox(lead, express["number"])
    assert order_status(staff["root"], express["id"]) == "shipped"
    assert request_of(staff["root"], express["id"], status=None)["status"] == "approved"
