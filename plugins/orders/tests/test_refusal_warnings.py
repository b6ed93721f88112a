"""A refusal is never silent: a confirmation refused inside submit (auto-confirm) leaves
the order approved and the response says so, in ``warnings``, as the timeline does."""

from __future__ import annotations

from erpkit import TransitionRefused

from .conftest import ApiClient, make_plugin, order_body


def _refusing_app(make_app, users):
    def erpkit_order_confirmed(order, transition):
        raise TransitionRefused("not enough stock: W-1 is 4 short", field="lines.0.quantity",
                                code="short")

    application = make_app(make_plugin("stockist",
                                       erpkit_order_confirmed=erpkit_order_confirmed))
    return ApiClient(application.test_client(), users.headers("sales"))


def test_a_confirmation_refused_inside_submit_is_a_warning_of_the_response(
        make_app, users, catalogue):
    sales = _refusing_app(make_app, users)
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    submitted = sales.post(f"/api/orders/{order['id']}/submit")

    assert submitted.status_code == 200
    assert submitted.json["status"] == "approved"
    assert submitted.json["warnings"] == [{
        "code": "confirmation_refused", "plugin": "stockist", "refusal_code": "short",
        "field": "lines.0.quantity",
        "message": "the order is approved, but confirmation was refused (stockist): "
                   "not enough stock: W-1 is 4 short"}]
    assert "confirmation refused (stockist): not enough stock: W-1 is 4 short" in [
        event["message"] for event in submitted.json["timeline"]]


def test_a_move_with_nothing_to_report_has_no_warnings(sales, catalogue):
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    assert order["warnings"] == []

    submitted = sales.post(f"/api/orders/{order['id']}/submit").json

    assert (submitted["status"], submitted["warnings"]) == ("confirmed", [])
    assert sales.get(f"/api/orders/{order['id']}").json["warnings"] == []


def test_the_warning_is_of_the_call_that_met_it_not_of_later_reads(make_app, users, catalogue):
    sales = _refusing_app(make_app, users)
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")

    assert sales.get(f"/api/orders/{order['id']}").json["warnings"] == []
