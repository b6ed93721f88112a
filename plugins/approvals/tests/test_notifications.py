"""Approvals' notifications through the core's: each user's list in the app, and e-mail
sent by a job (a real worker, a real SMTP server) only after the commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erpkit import steps
from erpkit.db import db, utcnow
from erpkit.plugins import current_registry
from erpkit.service_models import Notification

from .conftest import place_order, request_of, rule_body, set_email


def test_approvers_are_told_an_order_waits_for_them(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(steps=[{"users": ["ann", "bob"]}]))
    order = place_order(people.sales, catalogue, 12)

    [note] = people.ann.get("/api/notifications/").get_json()["items"]

    assert note["kind"] == "approval_requested" and note["data"]["order_id"] == order["id"]
    assert "waits for your approval" in note["message"]
    assert note["read"] is False
    assert people.cid.get("/api/notifications/").get_json()["items"] == []


def test_a_user_marks_notifications_read_and_sees_only_their_own(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(steps=[{"users": ["ann", "bob"]}]))
    place_order(people.sales, catalogue, 12)
    place_order(people.sales, catalogue, 13)
    first, second = people.ann.get("/api/notifications/").get_json()["items"]

    read = people.ann.post(f"/api/notifications/{first['id']}/read")
    someone_elses = people.cid.post(f"/api/notifications/{second['id']}/read")

    assert read.status_code == 200 and read.get_json()["read"] is True
    assert someone_elses.status_code == 404
    unread = people.ann.get("/api/notifications/?unread=true").get_json()["items"]
    assert [n["id"] for n in unread] == [second["id"]]
    assert people.ann.post("/api/notifications/read-all").get_json() == {"marked": 1}
    assert people.ann.get("/api/notifications/?unread=true").get_json()["items"] == []
    assert len(people.bob.get("/api/notifications/?unread=true").get_json()["items"]) == 2
    assert people.ann.client.get("/api/notifications/").status_code == 401


def test_the_submitter_hears_the_decision(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(people.sales, catalogue, 12)
    request = request_of(people.ann, order["id"])

    people.ann.post(f"/api/approvals/requests/{request['id']}/approve")

    [note] = people.sales.get("/api/notifications/").get_json()["items"]
    assert (note["kind"], note["message"]) == ("approved", f"Order {order['number']} was approved")


def test_an_escalation_is_mailed_after_the_sweep_commits(app, people, catalogue, smtp, worker):
    set_email(app, "root", "root@example.com")
    set_email(app, "ann", "ann@example.com")
    people.admin.post("/api/approvals/rules", json=rule_body(steps=[
        {"role": "approver", "time_limit": "1h", "breach_action": "escalate",
         "escalate_to": "admin"}]))
    order = place_order(people.sales, catalogue, 12)
    [(to, asked)] = smtp.wait_for(1)
    assert to == ["ann@example.com"] and order["number"] in asked

    with app.app_context():
        steps.sweep(db.session, current_registry(), utcnow() + timedelta(hours=2))

    messages = smtp.wait_for(2)
    assert len(messages) == 2
    to, escalated = messages[1]
    assert to == ["root@example.com"]
    assert "Subject: [erpkit] Escalated to you" in escalated
    assert order["number"] in escalated


def test_nothing_is_mailed_for_a_change_that_rolls_back(app, people, catalogue, smtp, worker):
    set_email(app, "ann", "ann@example.com")
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(people.sales, catalogue, 12, submit=False)

    with app.app_context():
        from erpkit_orders import lifecycle
        from erpkit_orders.models import Order

        def refuse(**_kw):
            raise RuntimeError("the mail server must not hear of this")

        original = lifecycle.request_approval_or_approve

        def submit_then_fail(transition, locked, **kw):
            original(transition, locked, **kw)
            refuse()

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(lifecycle, "request_approval_or_approve", submit_then_fail)
            with pytest.raises(RuntimeError):
                lifecycle.submit(db.session, db.session.get(Order, order["id"]), actor="sam")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0

    assert smtp.wait_for(1, timeout=0.5) == []


def test_an_unknown_request_answers_the_one_not_found_shape(people):
    missing = people.ann.get("/api/approvals/requests/424242")
    assert (missing.status_code, missing.get_json()) == (404, {
        "message": "no approval request 424242", "code": "not_found", "field": "request"})
