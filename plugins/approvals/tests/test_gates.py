"""Gates at every transition, end to end through the API: a rule guarding confirm, ship or
return holds the move (202, the order stays where it was, an open request names the move);
the last approval makes it through the door; a rejection refuses it. (The express example,
on the logistics service, is in test_example_gates.)"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from erpkit.db import db
from erpkit.models import User

from .conftest import gate_rule, order_status, place_order, request_of, rule_body, total_over


def delivered(staff, catalogue, machines: int) -> dict[str, Any]:
    order = place_order(staff["sam"], catalogue, machines)
    assert order["status"] == "confirmed", order
    root = staff["root"]
    assert root.post(f"/api/orders/{order['id']}/ship").status_code == 200
    assert root.post(f"/api/orders/{order['id']}/deliver").status_code == 200
    return order


def test_returns_over_500_need_a_manager(staff, catalogue):
    made = staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Large returns", "return", "manager", total_over("500")))
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["gate"] == "return"
    small, large = delivered(staff, catalogue, 4), delivered(staff, catalogue, 6)

    assert staff["root"].post(f"/api/orders/{small['id']}/return",
                              json={"reason": "damaged"}).status_code == 200
    held = staff["root"].post(f"/api/orders/{large['id']}/return", json={"reason": "damaged"})

    assert held.status_code == 202, held.get_json()
    assert held.get_json()["status"] == "delivered"
    assert held.get_json()["held"]["gate"] == "return"
    assert order_status(staff["root"], small["id"]) == "returned"
    request = request_of(staff["max"], large["id"])
    assert (request["gate"], request["to_status"]) == ("return", "returned")
    assert request["summary"] == "before return: Large returns (v1): total 600.00 > 500.00"
    again = staff["root"].post(f"/api/orders/{large['id']}/return", json={"reason": "again"})
    assert again.status_code == 409 and again.get_json()["code"] == "held"
    # the one who asked for the move does not approve it
    own = staff["root"].post(f"/api/approvals/requests/{request['id']}/approve", json={})
    assert own.status_code == 403, own.get_json()

    approved = staff["max"].post(f"/api/approvals/requests/{request['id']}/approve", json={})

    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    order = staff["root"].get(f"/api/orders/{large['id']}").get_json()
    assert order["status"] == "returned"
    assert any(e["to_status"] == "returned" and e["message"] == "damaged"
               for e in order["timeline"])


def test_orders_to_a_new_customer_over_2000_get_a_credit_check_by_finance(staff, catalogue):
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Credit check", "confirm", "finance", total_over("2000"),
        {"fact": "orders.customer_is_new", "operator": "is", "value": True}))

    first = place_order(staff["sam"], catalogue, 25)

    assert first["status"] == "approved"  # approved, and its confirmation waits
    assert [w["code"] for w in first["warnings"]] == ["held"]
    request = request_of(staff["fay"], first["id"])
    assert (request["gate"], request["to_status"]) == ("confirm", "confirmed")
    inbox = staff["fay"].get("/api/approvals/inbox").get_json()["items"]
    assert [item["request_id"] for item in inbox] == [request["id"]]
    assert staff["max"].post(f"/api/approvals/requests/{request['id']}/approve",
                             json={}).status_code == 403  # not finance
    # no longer a new customer: the next large order is confirmed at once
    assert place_order(staff["sam"], catalogue, 25)["status"] == "confirmed"

    staff["fay"].post(f"/api/approvals/requests/{request['id']}/approve",
                      json={"comment": "limit ok"})

    assert order_status(staff["sam"], first["id"]) == "confirmed"


def test_a_rejected_gate_refuses_the_move_and_the_order_stays(staff, catalogue):
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Express check", "ship", "warehouse_lead",
        {"fact": "orders.channel", "operator": "=", "value": "express"}))
    express = place_order(staff["sam"], catalogue, 3, channel="express")
    staff["root"].post(f"/api/orders/{express['id']}/ship")
    request = request_of(staff["liz"], express["id"])

    refused = staff["liz"].post(f"/api/approvals/requests/{request['id']}/reject",
                                json={"comment": "dented box"})

    assert refused.status_code == 200, refused.get_json()
    assert refused.get_json()["status"] == "rejected"
    order = staff["root"].get(f"/api/orders/{express['id']}").get_json()
    assert (order["status"], order["shipments"]) == ("confirmed", [])
    assert any("dented box" in e["message"] for e in order["timeline"])
    # asked again after the refusal, it waits again
    assert staff["root"].post(f"/api/orders/{express['id']}/ship").status_code == 202


def test_cancelling_an_order_whose_shipment_waits_closes_its_request(staff, catalogue):
    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Express check", "ship", "warehouse_lead",
        {"fact": "orders.channel", "operator": "=", "value": "express"}))
    express = place_order(staff["sam"], catalogue, 3, channel="express")
    staff["root"].post(f"/api/orders/{express['id']}/ship")
    request = request_of(staff["liz"], express["id"])

    assert staff["root"].post(f"/api/orders/{express['id']}/cancel",
                              json={"reason": "customer called"}).status_code == 200

    assert request_of(staff["liz"], express["id"], status=None)["status"] == "cancelled"
    assert staff["liz"].get("/api/approvals/inbox").get_json()["items"] == []
    late = staff["liz"].post(f"/api/approvals/requests/{request['id']}/approve", json={})
    assert late.status_code == 409


def test_a_rule_changed_while_orders_wait_leaves_them_under_their_version(staff, catalogue):
    rule = staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Large returns", "return", "manager", total_over("500"))).get_json()
    waiting = delivered(staff, catalogue, 6)
    staff["root"].post(f"/api/orders/{waiting['id']}/return", json={"reason": "wrong size"})

    changed = staff["root"].put(f"/api/approvals/rules/{rule['id']}", json=gate_rule(
        "Large returns", "return", "finance", total_over("500")))

    assert changed.get_json()["version"] == 2
    request = request_of(staff["max"], waiting["id"])
    assert [(m["version"], s["role"]) for m in request["matches"]
            for s in request["steps"]] == [(1, "manager")]
    assert staff["fay"].get("/api/approvals/inbox").get_json()["items"] == []
    staff["max"].post(f"/api/approvals/requests/{request['id']}/approve", json={})
    assert order_status(staff["root"], waiting["id"]) == "returned"
    # the next return follows version 2: finance
    following = delivered(staff, catalogue, 7)
    staff["root"].post(f"/api/orders/{following['id']}/return", json={"reason": "late"})
    assert request_of(staff["fay"], following["id"])["steps"][0]["role"] == "finance"


def test_a_gate_no_active_user_can_pass_is_refused_with_its_reason(app, staff, as_user):
    as_user("quinn", "approver", "quality")
    with app.app_context():  # quinn leaves: nobody active holds the role quality
        db.session.execute(sa.update(User).where(User.login == "quinn").values(active=False))
        db.session.commit()

    by_role = staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Quality", "ship", "quality", total_over("1")))
    by_name = staff["root"].post("/api/approvals/rules", json=rule_body(
        "Quality", gate="ship", steps=[{"users": ["quinn"], "required": 1}]))

    assert by_role.status_code == 422
    assert ("needs 1 distinct approvals but only 0 people may approve (nobody)"
            in str(by_role.get_json()))
    assert by_name.status_code == 422
    assert "unknown or inactive users: quinn" in str(by_name.get_json())


def test_a_gate_name_that_is_no_transition_is_refused(staff):
    refused = staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Odd", "teleport", "manager", total_over("1")))

    assert refused.status_code == 422
    assert [p["field"] for p in refused.get_json()["errors"]] == ["gate"]


def test_the_flow_diagram_is_svg_with_the_gates_of_active_rules(staff):
    import xml.etree.ElementTree as ET

    staff["root"].post("/api/approvals/rules", json=gate_rule(
        "Large returns", "return", "manager", total_over("500")))

    drawn = staff["root"].get("/api/approvals/flow.svg")

    assert drawn.status_code == 200
    assert drawn.mimetype == "image/svg+xml"
    svg = ET.fromstring(drawn.get_data(as_text=True))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    statuses = {g.get("data-status") for g in svg.iterfind(".//svg:g[@class='status']", ns)}
    assert {"draft", "confirmed", "shipped", "returned", "cancelled"} <= statuses
    gated = {line.get("data-move") for line in svg.iterfind(".//svg:line[@data-gate]", ns)}
    assert gated == {"delivered-returned"}
    [gate] = svg.findall(".//svg:g[@class='gate']", ns)
    assert [t.text for t in gate.iterfind("svg:text", ns)] == [
        "gate: before return", "Large returns: role manager"]
    assert staff["sam"].get("/api/approvals/flow.svg").status_code == 403


def test_a_dry_run_of_a_gate_says_where_the_orders_would_have_been_held(staff, catalogue):
    for machines in (4, 6, 9):
        place_order(staff["sam"], catalogue, machines)

    tried = staff["root"].post("/api/approvals/rules/dry-run", json={
        "gate": "return", "conditions": [total_over("500")], "last": 10})

    assert tried.status_code == 200, tried.get_json()
    result = tried.get_json()
    assert (result["examined"], result["matched"]) == (3, 2)
    assert [(e["held"], e["why"]) for e in result["examples"]] == [
        ("before return", "total 900.00 > 500.00"), ("before return", "total 600.00 > 500.00")]
