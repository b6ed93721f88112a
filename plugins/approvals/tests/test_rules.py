"""Rules as data: saved through the API (and the console), validated, versioned, audited,
and followed by the next order with no restart."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.models import AuditEntry

from .conftest import csrf_token_in, log_in, order_status, place_order, request_of, rule_body


def test_an_order_no_rule_holds_is_confirmed_at_once(people, catalogue):
    order = place_order(people.sales, catalogue, 50)

    assert order["status"] == "confirmed"
    found = people.ann.get(f"/api/approvals/requests?order_id={order['id']}").get_json()
    assert found["items"] == []


def test_a_held_order_records_the_rule_version_the_facts_and_why(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(threshold="10000"))

    order = place_order(people.sales, catalogue, 124)

    assert order["status"] == "pending_approval"
    request = request_of(people.ann, order["id"])
    [match] = request["matches"]
    assert (match["rule_name"], match["version"]) == ("Large orders", 1)
    assert match["facts"] == {"orders.total": "12400.00"}
    assert match["why"] == "total 12,400.00 > 10,000.00"
    assert request["summary"] == "Large orders (v1): total 12,400.00 > 10,000.00"
    timeline = people.sales.get(f"/api/orders/{order['id']}").get_json()["timeline"]
    assert any("total 12,400.00 > 10,000.00" in event["message"] for event in timeline)


def test_an_admin_raises_a_threshold_and_the_next_order_follows_it_with_no_restart(
        people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body(threshold="1000")).get_json()
    assert place_order(people.sales, catalogue, 15)["status"] == "pending_approval"

    raised = people.admin.put(f"/api/approvals/rules/{rule['id']}",
                              json=rule_body(threshold="2000"))

    assert raised.status_code == 200, raised.get_json()
    assert raised.get_json()["version"] == 2
    assert place_order(people.sales, catalogue, 15)["status"] == "confirmed"
    assert place_order(people.sales, catalogue, 21)["status"] == "pending_approval"


def test_every_edit_is_a_new_version_and_the_old_ones_stay_readable(people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body()).get_json()
    people.admin.put(f"/api/approvals/rules/{rule['id']}", json=rule_body(threshold="2000"))
    unchanged = people.admin.put(f"/api/approvals/rules/{rule['id']}",
                                 json=rule_body(threshold="2000"))

    assert unchanged.get_json()["version"] == 2  # saving the same definition is no edit
    versions = people.admin.get(f"/api/approvals/rules/{rule['id']}/versions").get_json()["items"]
    assert [(v["version"], v["current"]) for v in versions] == [(1, False), (2, True)]
    assert versions[0]["definition"]["conditions"][0]["value"] == "1000"
    assert versions[0]["created_by"] == "root"


def test_rule_changes_are_audited_with_before_and_after(app, people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body()).get_json()
    people.admin.put(f"/api/approvals/rules/{rule['id']}", json=rule_body(threshold="2000"))
    people.admin.patch(f"/api/approvals/rules/{rule['id']}", json={"active": False})

    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(
            AuditEntry.entity == "approval_rule").order_by(AuditEntry.id)).all()
        assert [(e.action, e.actor) for e in entries] == [
            ("create", "root"), ("update", "root"), ("deactivate", "root")]
        update = entries[1]
        assert update.before["definition"]["conditions"][0]["value"] == "1000"
        assert update.after["definition"]["conditions"][0]["value"] == "2000"
        assert (update.before["version"], update.after["version"]) == (1, 2)
        assert entries[2].after["active"] is False


def _condition(fact, operator, value):
    return rule_body(conditions=[{"fact": fact, "operator": operator, "value": value}])


@pytest.mark.parametrize(("body", "field", "reason"), [
    (_condition("orders.total", ">", "__import__('os')"), "conditions.0.value",
     "Not a valid number"),
    (_condition("orders.line_count", ">=", "__import__('os').system('id')"),
     "conditions.0.value", "not a whole number"),
    (_condition("orders.customer_is_new", "is", "__import__('os')"), "conditions.0.value",
     "not true or false"),
    (_condition("orders.channel", "=", "__import__('os')"), "conditions.0.value",
     "not a value this fact can take"),
    (_condition("orders.categories", "any_of", ["tools", "exec('x')"]), "conditions.0.value",
     "not a value this fact can take"),
    (_condition("orders.totl", ">", "10"), "conditions.0.fact", "unknown fact 'orders.totl'"),
    (_condition("orders.total", "contains", "10"), "conditions.0.operator",
     "does not fit decimal fact"),
    (_condition("orders.channel", ">", "web"), "conditions.0.operator",
     "does not fit string fact"),
    (rule_body(steps=[]), "steps", "at least one approval step"),
    (rule_body(steps=[{"role": "approver", "required": 4}]), "steps.0.required",
     "needs 4 distinct approvals but only 3 people may approve"),
    (rule_body(steps=[{"users": ["ann", "bob"], "required": 3}]), "steps.0.required",
     "only 2 people may approve"),
    (rule_body(steps=[{"role": "wizards"}]), "steps.0.role", "unknown role 'wizards'"),
    (rule_body(steps=[{"users": ["nobody"]}]), "steps.0.users", "unknown or inactive users"),
    (rule_body(steps=[{"required": 1}]), "steps.0.role", "name a role or users"),
    (rule_body(steps=[{"role": "approver", "breach_action": "escalate"}]),
     "steps.0.escalate_to", "which role to escalate to"),
    (rule_body(steps=[{"role": "approver", "time_limit": "4"}]), "steps.0.time_limit",
     "write it like 4h"),
])
def test_a_rule_that_is_not_data_of_the_right_type_is_refused_at_save(
        people, catalogue, body, field, reason):
    refused = people.admin.post("/api/approvals/rules", json=body)

    assert refused.status_code == 422, refused.get_json()
    problems = {p["field"]: p["message"] for p in refused.get_json()["errors"]}
    assert field in problems, problems
    assert reason in problems[field]
    assert people.admin.get("/api/approvals/rules").get_json()["items"] == []


def test_a_string_value_is_a_literal_compared_as_written(people, catalogue):
    body = rule_body(conditions=[
        {"fact": "orders.channel", "operator": "in", "value": "phone, web"},
        {"fact": "orders.categories", "operator": "contains", "value": "machines"},
        {"fact": "orders.customer_region", "operator": "=", "value": "North"},
        {"fact": "orders.customer_is_new", "operator": "is", "value": True}])

    saved = people.admin.post("/api/approvals/rules", json=body)

    assert saved.status_code == 201, saved.get_json()
    assert saved.get_json()["conditions"][0]["value"] == ["phone", "web"]
    order = place_order(people.sales, catalogue, 1)
    assert request_of(people.ann, order["id"])["matches"][0]["why"] == (
        "channel web in (phone, web) and categories (machines) contains machines and "
        "customer region North = North and customer is new: yes")


def test_rules_need_the_rules_permission(people, catalogue):
    assert people.ann.get("/api/approvals/rules").status_code == 403
    assert people.sales.post("/api/approvals/rules", json=rule_body()).status_code == 403
    assert people.sales.client.get("/api/approvals/rules").status_code == 401


def test_facts_lists_every_declared_fact_with_its_operators(people):
    facts = {f["name"]: f for f in people.admin.get("/api/approvals/facts").get_json()}

    assert facts["orders.total"]["operators"] == [">", ">=", "<", "<=", "=", "!="]
    assert facts["orders.categories"]["type"] == "string_list"
    assert facts["orders.customer_country"]["plugin"] == "orders"


def test_dry_run_counts_the_recent_orders_a_rule_would_have_held(people, catalogue):
    for machines in (5, 30, 11, 40):
        place_order(people.sales, catalogue, machines)
    place_order(people.sales, catalogue, 90, submit=False)  # a draft is not counted

    tried = people.admin.post("/api/approvals/rules/dry-run", json={
        "conditions": [{"fact": "orders.total", "operator": ">=", "value": "1200"}],
        "last": 3})

    assert tried.status_code == 200, tried.get_json()
    result = tried.get_json()
    assert (result["examined"], result["matched"]) == (3, 2)
    assert [e["why"] for e in result["examples"]] == ["total 4,000.00 >= 1,200.00",
                                                      "total 3,000.00 >= 1,200.00"]
    assert people.admin.get("/api/approvals/rules").get_json()["items"] == []  # nothing saved


def test_dry_run_refuses_what_a_save_would_refuse(people, catalogue):
    refused = people.admin.post("/api/approvals/rules/dry-run", json={
        "conditions": [{"fact": "orders.total", "operator": ">", "value": "__import__('os')"}]})

    assert refused.status_code == 422


def test_an_admin_raises_a_threshold_in_the_console_and_the_next_order_follows_it(
        client, people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body(threshold="1000")).get_json()
    assert log_in(client, "root").status_code == 302
    page = client.get(f"/admin/approval-rules/{rule['id']}/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="1000"' in html

    saved = client.post(f"/admin/approval-rules/{rule['id']}/", data={
        "csrf_token": csrf_token_in(html), "action": "save", "name": "Large orders",
        "priority": "10", "match": "all", "active": "on",
        "conditions-0-fact": "orders.total", "conditions-0-operator": ">",
        "conditions-0-value": "2000",
        "steps-0-role": "approver", "steps-0-required": "1", "steps-0-time_limit": "4h",
        "steps-0-breach_action": "remind"})

    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert people.admin.get(f"/api/approvals/rules/{rule['id']}").get_json()["version"] == 2
    assert place_order(people.sales, catalogue, 15)["status"] == "confirmed"
    assert place_order(people.sales, catalogue, 25)["status"] == "pending_approval"


def test_the_console_editor_shows_why_a_rule_is_refused(client, people, catalogue):
    assert log_in(client, "root").status_code == 302
    html = client.get("/admin/approval-rules/new").get_data(as_text=True)

    refused = client.post("/admin/approval-rules/new", data={
        "csrf_token": csrf_token_in(html), "action": "save", "name": "Sneaky",
        "priority": "10", "match": "all",
        "conditions-0-fact": "orders.total", "conditions-0-operator": ">",
        "conditions-0-value": "__import__('os')", "steps-0-role": "approver"})

    assert refused.status_code == 422
    assert "Not a valid number" in refused.get_data(as_text=True)
    assert people.admin.get("/api/approvals/rules").get_json()["items"] == []


def test_the_console_dry_run_saves_nothing(client, people, catalogue):
    order = place_order(people.sales, catalogue, 30)
    assert log_in(client, "root").status_code == 302
    html = client.get("/admin/approval-rules/new").get_data(as_text=True)

    tried = client.post("/admin/approval-rules/new", data={
        "csrf_token": csrf_token_in(html), "action": "dry_run", "last": "10", "name": "Try",
        "conditions-0-fact": "orders.total", "conditions-0-operator": ">",
        "conditions-0-value": "1000"})

    assert tried.status_code == 200
    assert "would have held 1 for approval" in tried.get_data(as_text=True)
    assert people.admin.get("/api/approvals/rules").get_json()["items"] == []
    assert order_status(people.sales, order["id"]) == "confirmed"


def test_the_console_shows_rules_versions_requests_and_what_is_late(client, people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body()).get_json()
    people.admin.put(f"/api/approvals/rules/{rule['id']}", json=rule_body(threshold="900"))
    order = place_order(people.sales, catalogue, 12)
    assert log_in(client, "root").status_code == 302

    pages = {url: client.get(url) for url in (
        "/admin/approval-rules/", f"/admin/approval-rules/{rule['id']}/",
        "/admin/approval-rule-versions/", "/admin/approval-requests/",
        f"/admin/approval-requests/details/?id={request_of(people.ann, order['id'])['id']}",
        "/admin/overdue/")}

    assert {url: r.status_code for url, r in pages.items()} == dict.fromkeys(pages, 200)
    assert "Large orders" in pages["/admin/approval-rules/"].get_data(as_text=True)
    assert "v2" in pages[f"/admin/approval-rules/{rule['id']}/"].get_data(as_text=True)
    assert order["number"] in pages["/admin/approval-requests/"].get_data(as_text=True)
    assert "Nothing is late." in pages["/admin/overdue/"].get_data(as_text=True)


def test_the_console_rule_pages_need_the_rules_permission(client, people):
    assert log_in(client, "ann").status_code == 302

    assert client.get("/admin/approval-rules/").status_code == 403
    assert client.get("/admin/overdue/").status_code == 200


def test_an_edit_that_does_not_mention_the_switch_leaves_it_as_it_was(people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body()).get_json()
    people.admin.patch(f"/api/approvals/rules/{rule['id']}", json={"active": False})

    edited = people.admin.put(f"/api/approvals/rules/{rule['id']}",
                              json=rule_body(threshold="5000"))

    assert (edited.get_json()["active"], edited.get_json()["version"]) == (False, 2)
