"""A material change to an approved order that is not yet confirmed asks for approval
again, with the reason on the timeline; other changes leave the approval standing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from erpkit.db import db
from erpkit_orders import lifecycle

from .conftest import ApiClient, make_plugin, order_body

REAPPROVAL = ("lines, quantities, prices or discounts changed after approval was asked; "
              "approval is asked again")


@pytest.fixture
def approvals(make_app, users):
    """An app whose throwaway approvals plugin holds every order over 100, with
    orders.auto_confirm off so approved orders wait to be confirmed by hand."""
    asked = []

    def erpkit_order_approval_required(order, transition):
        asked.append((order.number, str(order.total)))
        return [SimpleNamespace(summary="over 100")] if order.total > 100 else []

    application = make_app(make_plugin(
        "approvals_stub", erpkit_order_approval_required=erpkit_order_approval_required))
    with application.app_context():
        application.extensions["erpkit"].parameters.set(db.session, "orders.auto_confirm",
                                                        False, actor="test")
        db.session.commit()
    sales = ApiClient(application.test_client(), users.headers("sales"))
    return SimpleNamespace(app=application, sales=sales, asked=asked)


def _approved_order(approvals, catalogue):
    """9 widgets (112.50): held for approval, then approved."""
    sales = approvals.sales
    order = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "9"}])).json
    assert sales.post(f"/api/orders/{order['id']}/submit").json["status"] == "pending_approval"
    with approvals.app.app_context():
        lifecycle.approve(db.session, order["id"], actor="approver", reason="ok by me")
    approved = sales.get(f"/api/orders/{order['id']}").json
    assert approved["status"] == "approved"
    return approved


def test_a_material_change_after_approval_asks_for_approval_again(approvals, catalogue):
    order = _approved_order(approvals, catalogue)

    changed = approvals.sales.patch(f"/api/orders/{order['id']}",
                                    json={"lines": [{"sku": "W-1", "quantity": "10"}]})

    assert changed.status_code == 200, changed.json
    assert changed.json["status"] == "pending_approval"
    last = changed.json["timeline"][-1]
    assert (last["kind"], last["from_status"], last["to_status"]) == (
        "status", "approved", "pending_approval")
    assert last["message"] == f"{REAPPROVAL}: over 100"


def test_a_price_or_discount_change_is_material_too(approvals, catalogue):
    order = _approved_order(approvals, catalogue)

    changed = approvals.sales.patch(f"/api/orders/{order['id']}", json={"lines": [
        {"sku": "W-1", "quantity": "9", "discount_percent": "5"}]})

    assert changed.json["status"] == "pending_approval"


def test_a_change_no_rule_holds_keeps_the_order_approved_and_says_so(approvals, catalogue):
    order = _approved_order(approvals, catalogue)

    changed = approvals.sales.patch(f"/api/orders/{order['id']}",
                                    json={"lines": [{"sku": "W-1", "quantity": "8"}]})

    assert changed.json["status"] == "approved"
    assert changed.json["timeline"][-1]["message"] == (
        f"{REAPPROVAL}: no approval rule applies to the new version, so it stays approved")
    assert approvals.sales.post(f"/api/orders/{order['id']}/confirm").json["status"] == \
        "confirmed"


def test_a_change_that_is_not_material_leaves_the_approval_alone(approvals, catalogue):
    order = _approved_order(approvals, catalogue)
    asked_before = len(approvals.asked)

    changed = approvals.sales.patch(f"/api/orders/{order['id']}",
                                    json={"note": "deliver to the back door",
                                          "requested_date": "2031-03-01"})

    assert changed.json["status"] == "approved"
    assert len(approvals.asked) == asked_before
    assert changed.json["timeline"][-1]["kind"] == "edit"


def test_a_material_change_while_waiting_for_approval_asks_again(approvals, catalogue):
    sales = approvals.sales
    order = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "9"}])).json
    sales.post(f"/api/orders/{order['id']}/submit")

    changed = sales.patch(f"/api/orders/{order['id']}",
                          json={"lines": [{"sku": "W-1", "quantity": "20"}]})

    assert changed.json["status"] == "pending_approval"
    assert changed.json["timeline"][-1]["message"] == f"{REAPPROVAL}: over 100"
    assert approvals.asked[-1] == (order["number"], "250.00")
