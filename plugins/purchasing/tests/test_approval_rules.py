"""A purchase order's approval through the same approval rules as sales orders, end to end
through the API: the gate ``purchasing.approve`` with the facts ``purchasing.total`` and
``purchasing.supplier``; one transaction per decision, a person counts once, the one who
asked never approves, exactly-once escalation, the audit log, and a fact no enabled
plugin declares holding the draft for a person."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit import steps
from erpkit.db import db, utcnow
from erpkit.document_gates import DocumentHold, ask_gate, gated_transitions, withdraw_gate
from erpkit.models import AuditEntry
from erpkit.plugins import current_registry
from erpkit.service_models import Notification, StepBreach
from erpkit.testing import (
    ApiClient,
    artifact_folder,
    browser_page,
    make_plugin,
    plugin_fixtures,
    sweeps_at_once,
)
from erpkit_approvals.models import ApprovalRequest, Rule, RuleVersion
from erpkit_inventory.models import Warehouse
from erpkit_orders.models import Product
from erpkit_purchasing import purchase_orders

from .conftest import ENABLED

database_url, app, make_app = plugin_fixtures(ENABLED | {"approvals"}, "purchasing_approvals")


@pytest.fixture
def staff(client, users) -> dict[str, ApiClient]:
    """root (admin); wes and val (buyers, val also approves); ann, bob (approvers);
    max (a manager, the escalation role)."""
    roles = {"root": ("admin",), "wes": ("purchasing",), "val": ("purchasing", "approver"),
             "ann": ("approver",), "bob": ("approver",), "max": ("manager",)}
    from erpkit.models import Role

    with client.application.app_context():
        db.session.add(Role(name="manager", description="manager",
                            permissions=["approvals.decide", "purchasing.approve",
                                         "orders.view", "purchasing.view"]))
        db.session.commit()
    for login, held in roles.items():
        users.create(login, *held)
    return {login: ApiClient(client, users.headers(login)) for login in roles}


@pytest.fixture
def suppliers(app, staff) -> None:
    """ACME and BOLT offer the kettle K-1 at 10.00 into MAIN."""
    with app.app_context():
        db.session.add_all([Warehouse(code="MAIN", name="Main"),
                            Product(sku="K-1", name="Kettle", unit_price=Decimal("20.00"))])
        db.session.commit()
    for code in ("ACME", "BOLT"):
        assert staff["wes"].post("/api/purchasing/suppliers", json={
            "code": code, "name": code.title(), "contacts": []}).status_code == 201
        assert staff["wes"].put(f"/api/purchasing/suppliers/{code}/products", json={
            "sku": "K-1", "price": "10.00", "lead_time_days": 3}).status_code == 200


def draft(api: ApiClient, kettles: int, supplier: str = "ACME") -> dict[str, Any]:
    made = api.post("/api/purchasing/orders", json={
        "supplier": supplier, "warehouse": "MAIN",
        "lines": [{"sku": "K-1", "quantity": str(kettles)}]})
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def po_rule(name: str = "Large purchases", *conditions: dict[str, Any],
            **step: Any) -> dict[str, Any]:
    return {"name": name, "gate": "purchasing.approve",
            "conditions": list(conditions) or [total_over("1000")],
            "steps": [{"role": "approver", "required": 1, "time_limit": "4h", **step}]}


def total_over(amount: str) -> dict[str, Any]:
    return {"fact": "purchasing.total", "operator": ">", "value": amount}


def request_of(api: ApiClient, order_id: int, status: str | None = "open") -> dict[str, Any]:
    query = f"?document=purchase_order&document_id={order_id}"
    found = api.get(f"/api/approvals/requests{query}" + (f"&status={status}" if status
                                                           else "")).get_json()["items"]
    assert len(found) == 1, found
    return found[0]


def po(api: ApiClient, order_id: int) -> dict[str, Any]:
    return api.get(f"/api/purchasing/orders/{order_id}").get_json()


def test_a_purchase_order_over_1000_waits_for_an_approver_and_the_last_approval_approves_it(
        app, staff, suppliers):
    made = staff["root"].post("/api/approvals/rules", json=po_rule())
    assert made.status_code == 201, made.get_json()
    small, big = draft(staff["val"], 25), draft(staff["val"], 120)  # 250.00, 1200.00

    assert staff["val"].post(f"/api/purchasing/orders/{small['id']}/approve"
                             ).status_code == 200
    held = staff["val"].post(f"/api/purchasing/orders/{big['id']}/approve")

    assert held.status_code == 202, held.get_json()
    assert held.get_json()["status"] == "draft"
    assert held.get_json()["held"]["gate"] == "purchasing.approve"
    assert po(staff["wes"], small["id"])["status"] == "approved"
    request = request_of(staff["ann"], big["id"])
    assert (request["reference"], request["gate"], request["order_id"]) == (
        big["number"], "purchasing.approve", None)
    assert request["summary"] == ("before purchasing.approve: Large purchases (v1): "
                                  "total 1,200.00 > 1,000.00")
    again = staff["val"].post(f"/api/purchasing/orders/{big['id']}/approve")
    assert again.status_code == 409 and again.get_json()["code"] == "held"
    assert staff["val"].post(f"/api/purchasing/orders/{big['id']}/send").status_code == 422
    # the approver who asked for it does not approve it; a buyer may not decide at all
    own = staff["val"].post(f"/api/approvals/requests/{request['id']}/approve", json={})
    assert own.status_code == 403 and own.get_json()["code"] == "own_order"
    assert staff["wes"].post(f"/api/approvals/requests/{request['id']}/approve",
                             json={}).status_code == 403
    inbox = staff["ann"].get("/api/approvals/inbox").get_json()["items"]
    assert [(i["reference"], i["gate"]) for i in inbox] == [(big["number"],
                                                             "purchasing.approve")]
    assert any(i["kind"] == "approval_step" and i["reference"] == big["number"]
               for i in staff["ann"].get("/api/work").get_json()["items"])

    approved = staff["ann"].post(f"/api/approvals/requests/{request['id']}/approve",
                                 json={"comment": "budgeted"})

    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    order = po(staff["wes"], big["id"])
    assert (order["status"], order["approved_by"]) == ("approved", "ann")
    assert staff["ann"].get("/api/approvals/inbox").get_json()["items"] == []
    with app.app_context():
        trail = db.session.execute(sa.select(AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.entity == "purchase_order", AuditEntry.entity_id == str(big["id"]))
            .order_by(AuditEntry.id)).all()
    assert [tuple(row) for row in trail] == [("approval_requested", "val"),
                                             ("approval_given", "ann"), ("approved", "ann")]
    assert staff["val"].post(f"/api/purchasing/orders/{big['id']}/send").status_code == 200
    flow = staff["root"].get("/api/approvals/flow.svg").get_data(as_text=True)
    assert ("purchase order in draft, gate purchasing.approve (A purchase order's approval "
            "(draft to approved).): Large purchases: role approver") in flow.replace(
                "&#x27;", "'")


def test_two_of_two_needs_two_people_and_a_rejection_keeps_the_draft(staff, suppliers):
    staff["root"].post("/api/approvals/rules", json=po_rule(required=2))
    order = draft(staff["wes"], 150)
    assert staff["wes"].post(f"/api/purchasing/orders/{order['id']}/approve"
                             ).status_code == 202
    request = request_of(staff["ann"], order["id"])

    assert staff["ann"].post(f"/api/approvals/requests/{request['id']}/approve",
                             json={}).status_code == 200
    twice = staff["ann"].post(f"/api/approvals/requests/{request['id']}/approve", json={})

    assert twice.status_code == 409 and twice.get_json()["code"] == "already_decided"
    assert po(staff["wes"], order["id"])["status"] == "draft"
    staff["bob"].post(f"/api/approvals/requests/{request['id']}/approve", json={})
    assert po(staff["wes"], order["id"])["status"] == "approved"

    other = draft(staff["wes"], 200)
    staff["wes"].post(f"/api/purchasing/orders/{other['id']}/approve")
    refused = request_of(staff["ann"], other["id"])
    assert staff["ann"].post(f"/api/approvals/requests/{refused['id']}/reject",
                             json={}).status_code == 422  # a rejection says why
    rejected = staff["ann"].post(f"/api/approvals/requests/{refused['id']}/reject",
                                 json={"comment": "too many kettles"})
    assert rejected.get_json()["status"] == "rejected"
    assert po(staff["wes"], other["id"])["status"] == "draft"
    # asked again, it waits again
    assert staff["wes"].post(f"/api/purchasing/orders/{other['id']}/approve"
                             ).status_code == 202


def test_approvers_deciding_at_the_same_moment_approve_the_purchase_order_once(
        app, staff, suppliers):
    staff["root"].post("/api/approvals/rules", json=po_rule())
    order = draft(staff["wes"], 150)
    staff["wes"].post(f"/api/purchasing/orders/{order['id']}/approve")
    request = request_of(staff["ann"], order["id"])
    start = threading.Barrier(2, timeout=10)
    answers: dict[str, int] = {}

    def decide(login: str) -> None:
        client = app.test_client()  # one client per thread, like two browsers
        start.wait()
        answers[login] = client.post(f"/api/approvals/requests/{request['id']}/approve",
                                     headers=staff[login].headers, json={}).status_code

    threads = [threading.Thread(target=decide, args=(login,)) for login in ("ann", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(answers.values()) == [200, 409]
    [step] = request_of(staff["ann"], order["id"], status="approved")["steps"]
    assert step["approvals"] == 1
    assert po(staff["wes"], order["id"])["status"] == "approved"


def test_the_supplier_fact_holds_only_that_suppliers_orders(staff, suppliers):
    staff["root"].post("/api/approvals/rules", json=po_rule(
        "New supplier", {"fact": "purchasing.supplier", "operator": "=", "value": "BOLT"}))

    assert staff["wes"].post(f"/api/purchasing/orders/{draft(staff['wes'], 5)['id']}/approve"
                             ).status_code == 200
    bolt = draft(staff["wes"], 5, supplier="BOLT")
    assert staff["wes"].post(f"/api/purchasing/orders/{bolt['id']}/approve"
                             ).status_code == 202
    assert request_of(staff["ann"], bolt["id"])["matches"][0]["facts"] == {
        "purchasing.supplier": "BOLT"}


def test_a_rule_tests_only_the_facts_of_what_its_gate_holds(staff):
    sales_fact = staff["root"].post("/api/approvals/rules", json=po_rule(
        "Odd", {"fact": "orders.total", "operator": ">", "value": "1"}))
    purchase_fact = staff["root"].post("/api/approvals/rules", json={
        "name": "Odd", "conditions": [total_over("1")], "steps": [{"role": "approver"}]})

    assert sales_fact.status_code == 422
    [problem] = sales_fact.get_json()["errors"]
    assert (problem["field"], problem["code"]) == ("conditions.0.fact", "wrong_document")
    assert "it has: purchasing.total, purchasing.supplier" in problem["message"]
    assert purchase_fact.status_code == 422
    assert purchase_fact.get_json()["errors"][0]["code"] == "wrong_document"
    assert staff["root"].get("/api/approvals/rules").get_json()["items"] == []


def test_editing_or_cancelling_a_waiting_draft_withdraws_its_request(staff, suppliers):
    staff["root"].post("/api/approvals/rules", json=po_rule())
    edited, cancelled = draft(staff["wes"], 150), draft(staff["wes"], 150)
    for order in (edited, cancelled):
        staff["wes"].post(f"/api/purchasing/orders/{order['id']}/approve")
    line = edited["lines"][0]["id"]

    assert staff["wes"].patch(f"/api/purchasing/orders/{edited['id']}/lines/{line}",
                              json={"quantity": "50"}).status_code == 200
    assert staff["wes"].post(f"/api/purchasing/orders/{cancelled['id']}/cancel"
                             ).status_code == 200

    for order in (edited, cancelled):
        assert request_of(staff["ann"], order["id"], status=None)["status"] == "cancelled"
    assert staff["ann"].get("/api/approvals/inbox").get_json()["items"] == []
    # 500.00 now: under every threshold, approved at once
    assert staff["wes"].post(f"/api/purchasing/orders/{edited['id']}/approve"
                             ).status_code == 200


def _sweep_later(app, hours: float) -> Any:
    with app.app_context():
        return steps.sweep(db.session, current_registry(), utcnow() + timedelta(hours=hours))


def test_a_late_purchase_approval_escalates_exactly_once_even_when_two_sweeps_run_at_once(
        app, staff, suppliers, monkeypatch):
    staff["root"].post("/api/approvals/rules", json=po_rule(
        time_limit="1h", breach_action="escalate", escalate_to="manager"))
    order = draft(staff["wes"], 150)
    staff["wes"].post(f"/api/purchasing/orders/{order['id']}/approve")

    reports = sweeps_at_once(app, utcnow() + timedelta(hours=2), monkeypatch)

    assert sorted((len(r.handled), len(r.taken_by_another)) for r in reports) == [(0, 1), (1, 0)]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StepBreach)) == 1
        assert db.session.scalars(sa.select(Notification.data).where(
            Notification.kind == "escalation")).all() != []
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.entity == "purchase_order", AuditEntry.action == "approval_late")) == 1
    assert _sweep_later(app, 3).handled == []
    request = request_of(staff["max"], order["id"])
    assert request["steps"][0]["escalated_to"] == "manager"
    assert staff["max"].post(f"/api/approvals/requests/{request['id']}/approve",
                             json={}).status_code == 200
    assert po(staff["wes"], order["id"])["status"] == "approved"


def test_a_fact_no_enabled_plugin_declares_holds_the_purchase_order_for_a_person(
        app, staff, suppliers):
    with app.app_context():  # a version saved while a (now disabled) plugin declared it
        rule = Rule(name="Rated suppliers", priority=10, current_version=1)
        rule.versions.append(RuleVersion(version=1, created_by="root", definition={
            "name": "Rated suppliers", "priority": 10, "gate": "purchasing.approve",
            "match": "all",
            "conditions": [{"fact": "purchasing.rating", "operator": "<", "value": "3"}],
            "steps": [{"role": "approver", "required": 1, "time_limit": "4h"}]}))
        db.session.add(rule)
        db.session.commit()
    order = draft(staff["wes"], 5)

    held = staff["wes"].post(f"/api/purchasing/orders/{order['id']}/approve")

    assert held.status_code == 202, held.get_json()
    assert "missing fact purchasing.rating" in request_of(staff["ann"], order["id"])["summary"]


def test_a_dry_run_of_the_purchase_gate_says_which_drafts_and_for_how_long(staff, suppliers):
    for kettles in (50, 150, 200):
        draft(staff["wes"], kettles)

    tried = staff["root"].post("/api/approvals/rules/dry-run", json={
        "gate": "purchasing.approve", "conditions": [total_over("1000")],
        "steps": [{"role": "approver", "time_limit": "4h"},
                  {"role": "approver", "time_limit": "2h"}], "last": 10})

    assert tried.status_code == 200, tried.get_json()
    result = tried.get_json()
    assert (result["examined"], result["matched"], result["held_at"]) == (3, 2, {"draft": 2})
    assert [(e["why"], e["held_for"], e["basis"]) for e in result["examples"]] == [
        ("total 2,000.00 > 1,000.00", "6h", "time_limits"),
        ("total 1,500.00 > 1,000.00", "6h", "time_limits")]


# --- the hooks, called directly -------------------------------------------------------


def test_hook_erpkit_gated_transitions(app, make_app):
    with app.app_context():
        gates = gated_transitions(current_registry())
    gate = gates["purchasing.approve"]
    assert (gate.plugin, gate.document, gate.waits_in, gate.facts) == (
        "purchasing", "purchase_order", "draft", ("purchasing.total", "purchasing.supplier"))
    assert gate.decide_permission == "purchasing.approve"

    twin = make_plugin("twin", requires=("orders",),
                       erpkit_gated_transitions=lambda: [replace(gate, plugin="")])
    with make_app(twin).app_context(), pytest.raises(ValueError, match="'twin'"):
        gated_transitions(current_registry())


def test_hook_erpkit_document_gate(app, staff, suppliers, session):
    order = purchase_orders.order_by_id(session, draft(staff["wes"], 150)["id"], lock=True)
    registry = current_registry()

    assert ask_gate(session, registry, "purchasing.approve", order, actor="wes") is None
    session.rollback()
    staff["root"].post("/api/approvals/rules", json=po_rule())
    order = purchase_orders.order_by_id(session, order.id, lock=True)
    hold = ask_gate(session, registry, "purchasing.approve", order, actor="wes")
    session.commit()

    assert isinstance(hold, DocumentHold) and hold.gate == "purchasing.approve"
    request = session.get(ApprovalRequest, hold.request_id)
    assert (request.document, request.document_id, request.submitted_by, request.status) == (
        "purchase_order", order.id, "wes", "open")
    assert hold.as_dict()["requests"] == [request.id]


def test_hook_erpkit_document_gate_withdrawn(app, staff, suppliers, session):
    staff["root"].post("/api/approvals/rules", json=po_rule())
    made = draft(staff["wes"], 150)
    staff["wes"].post(f"/api/purchasing/orders/{made['id']}/approve")
    order = purchase_orders.order_by_id(session, made["id"], lock=True)

    withdraw_gate(session, current_registry(), "purchasing.approve", order, reason="test")
    session.commit()

    assert request_of(staff["ann"], made["id"], status=None)["status"] == "cancelled"


@pytest.mark.browser
def test_an_approver_approves_a_purchase_order_from_the_inbox_in_the_browser(
        app, staff, suppliers, live_url, chromium, request):
    staff["root"].post("/api/approvals/rules", json=po_rule())
    order = draft(staff["wes"], 150)
    assert staff["wes"].post(f"/api/purchasing/orders/{order['id']}/approve"
                             ).status_code == 202
    folder = artifact_folder(request.config.rootpath, "purchasing-approval",
                             request.node.name)
    page = browser_page(chromium, live_url, "ann")

    page.goto("/admin/approval-inbox/")
    row = page.locator('[data-testid="inbox"] tr', has_text=order["number"])
    assert "purchasing.approve" in (row.text_content() or "")
    assert "1,500.00" in (row.text_content() or "")
    page.screenshot(path=str(folder / "01-inbox-with-the-purchase-order.png"), full_page=True)
    row.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    page.screenshot(path=str(folder / "02-approved.png"), full_page=True)

    assert f"purchase order {order['number']}" in (page.locator(".alert").first.text_content()
                                                   or "")
    assert po(staff["wes"], order["id"])["status"] == "approved"
