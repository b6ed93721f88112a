"""Approval and department time limits through the core's sweep: the overdue list, and
each breach acted on exactly once, even when two sweeps run at the same moment."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from erpkit import steps
from erpkit.cli import main
from erpkit.db import db, utcnow
from erpkit.plugins import current_registry
from erpkit.service_models import Notification, StepBreach
from erpkit.testing import sweeps_at_once
from erpkit_approvals.models import Step
from erpkit_orders.models import TimelineEvent

from .conftest import order_status, place_order, request_of, rule_body


def _held_order(people, catalogue, **step):
    step = {"role": "approver", "required": 1, "time_limit": "1h", **step}
    people.admin.post("/api/approvals/rules", json=rule_body(steps=[step]))
    return place_order(people.sales, catalogue, 12)


def _later(app, hours: float):
    """Run the sweep as if ``hours`` had passed."""
    with app.app_context():
        return steps.sweep(db.session, current_registry(), utcnow() + timedelta(hours=hours))


def _overdue(hours: float):
    return steps.overdue(db.session, current_registry(), utcnow() + timedelta(hours=hours))


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_nothing_is_late_before_the_time_limit(app, people, catalogue):
    _held_order(people, catalogue, breach_action="escalate", escalate_to="admin")

    report = _later(app, 0.5)

    assert report.handled == []
    assert people.ann.get("/api/approvals/overdue").get_json()["items"] == []


def test_the_overdue_list_says_what_is_late_by_how_much_and_who_holds_it(
        app, people, catalogue):
    order = _held_order(people, catalogue, breach_action="escalate", escalate_to="admin")
    with app.app_context():
        db.session.execute(sa.update(Step).values(due_at=utcnow() - timedelta(minutes=90)))
        db.session.commit()

    [late] = people.sales.get("/api/approvals/overdue").get_json()["items"]

    assert (late["kind"], late["order_id"], late["step"]) == (
        "approval_step", order["id"], "Large orders")
    assert late["overdue_by"].startswith("1h30m")
    assert late["held_by"] == ["role approver"]
    assert late["action"] == "escalate"


def test_an_overdue_approval_escalates_exactly_once_even_when_two_sweeps_run_at_once(
        app, people, as_user, catalogue, monkeypatch):
    as_user("boss", "admin")
    order = _held_order(people, catalogue, breach_action="escalate", escalate_to="admin")
    # Both sweeps list the breach, then meet before either handles (locks the order and
    # claims the breach).
    reports = sweeps_at_once(app, utcnow() + timedelta(hours=2), monkeypatch)

    assert sorted((len(r.handled), len(r.taken_by_another)) for r in reports) == [(0, 1), (1, 0)]
    assert _count(app, StepBreach) == 1
    escalations = _count(app, Notification, Notification.kind == "escalation")
    assert escalations == 2  # root and boss, the two admins, once each
    assert _count(app, TimelineEvent, TimelineEvent.message.like("%escalated to role admin%")) == 1
    request = request_of(people.ann, order["id"])
    assert request["steps"][0]["escalated_to"] == "admin"

    again = _later(app, 3)  # and again and again: nothing more happens
    assert (again.handled, again.taken_by_another) == ([], [])
    assert _count(app, StepBreach) == 1
    assert people.admin.post(f"/api/approvals/requests/{request['id']}/approve").status_code \
        == 200  # the admin role may now decide the step
    assert order_status(people.sales, order["id"]) == "confirmed"


def test_a_reminder_reaches_the_approvers_who_have_not_decided(app, people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(steps=[
        {"role": "approver", "required": 2, "time_limit": "1h", "breach_action": "remind"}]))
    order = place_order(people.sales, catalogue, 12)
    people.ann.post(f"/api/approvals/requests/{request_of(people.ann, order['id'])['id']}"
                    "/approve")

    [handled] = _later(app, 2).handled

    assert handled.action == "remind"
    reminded = {n["kind"] for n in people.bob.get("/api/notifications/").get_json()["items"]}
    assert "reminder" in reminded
    anns = people.ann.get("/api/notifications/").get_json()["items"]
    assert "reminder" not in {n["kind"] for n in anns}


def test_a_step_whose_rule_says_approve_is_approved_when_late(app, people, catalogue):
    order = _held_order(people, catalogue, breach_action="approve")

    _later(app, 2)

    assert order_status(people.sales, order["id"]) == "confirmed"
    [decision] = request_of(people.ann, order["id"], status="approved")["steps"][0]["decisions"]
    assert decision["automatic"] is True and decision["login"] is None


def test_a_step_whose_rule_says_reject_rejects_the_order_when_late(app, people, catalogue):
    order = _held_order(people, catalogue, breach_action="reject")

    _later(app, 2)

    order = people.sales.get(f"/api/orders/{order['id']}").get_json()
    assert order["status"] == "rejected"
    assert "nobody decided 'Large orders' in time" in order["timeline"][-1]["message"]
    sales_notes = people.sales.get("/api/notifications/").get_json()["items"]
    assert any(n["kind"] == "rejected" for n in sales_notes)


def test_a_department_step_that_runs_late_alerts_its_holders_and_escalates(
        app, people, as_user, catalogue):
    as_user("wes", "warehouse")
    order = place_order(people.sales, catalogue, 2)  # no rule: confirmed at once
    assert order["status"] == "confirmed"

    report = _later(app, 49)  # confirmed_to_shipped: 48h

    [late] = report.handled
    assert (late.kind, late.step, late.subject_id) == ("order", "confirmed_to_shipped",
                                                       order["id"])
    wes_notes = as_user("wes").get("/api/notifications/").get_json()["items"]
    assert [n["kind"] for n in wes_notes] == ["alert"]
    assert [n["kind"] for n in people.admin.get("/api/notifications/").get_json()["items"]] == [
        "escalation"]
    assert _later(app, 50).handled == []


def test_department_time_limits_are_parameters(app, people, catalogue):
    place_order(people.sales, catalogue, 2)
    people.admin.put("/api/settings/orders.sla.confirmed_to_shipped", json={"value": "2h"})

    assert [late.step for late in _later(app, 3).handled] == ["confirmed_to_shipped"]


def test_an_order_resubmitted_after_a_rejection_can_run_late_again(app, people, catalogue):
    order = _held_order(people, catalogue)
    with app.app_context():
        first = [late.round for late in _overdue(5) if late.kind == "order"]
    request = request_of(people.ann, order["id"])
    people.ann.post(f"/api/approvals/requests/{request['id']}/reject", json={"comment": "no"})
    people.sales.post(f"/api/orders/{order['id']}/reopen", json={})
    people.sales.post(f"/api/orders/{order['id']}/submit")

    with app.app_context():
        second = [late.round for late in _overdue(5) if late.kind == "order"]
    assert (first, second) == ([1], [2])
    with app.app_context():
        [late] = [late for late in _overdue(5) if late.kind == "order"]
    # While an approval holds the order, its approvers hold the department step.
    assert (late.step, late.held_by) == ("submitted_to_confirmed", ("approvers",))


def test_erpkit_sla_sweep_runs_from_the_command_line(app, people, catalogue):
    _held_order(people, catalogue, breach_action="escalate", escalate_to="admin")
    with app.app_context():
        db.session.execute(sa.update(Step).values(due_at=utcnow() - timedelta(minutes=5)))
        db.session.commit()

    listed = CliRunner().invoke(main, ["sla", "overdue"], obj={"app": app})
    swept = CliRunner().invoke(main, ["sla", "sweep"], obj={"app": app})
    again = CliRunner().invoke(main, ["sla", "sweep", "--json"], obj={"app": app})

    assert listed.exit_code == 0 and "Large orders" in listed.output, listed.output
    assert swept.exit_code == 0, swept.output
    assert "Large orders 5m" in swept.output and "-> escalate" in swept.output
    assert again.exit_code == 0 and '"handled": []' in again.output


def test_a_step_decided_after_the_listing_is_left_alone(app, people, catalogue, monkeypatch):
    order = _held_order(people, catalogue, breach_action="reject")
    request = request_of(people.ann, order["id"])
    claim = steps.claim

    def approve_first(session, late, now):
        # An approver acts between the sweep's listing and its claim.
        people.ann.post(f"/api/approvals/requests/{request['id']}/approve")
        return claim(session, late, now)

    monkeypatch.setattr(steps, "claim", approve_first)
    report = _later(app, 2)

    assert [late.kind for late in report.no_longer_late] == ["approval_step"]
    assert order_status(people.sales, order["id"]) == "confirmed"
    assert _count(app, StepBreach) == 0


def test_an_order_late_while_an_approval_holds_it_alerts_its_approvers(app, people, catalogue):
    order = _held_order(people, catalogue, time_limit="1d")  # the approval step: 1 day

    [late] = _later(app, 5).handled  # submitted_to_confirmed: 4h

    assert (late.step, late.subject_id) == ("submitted_to_confirmed", order["id"])
    for approver in (people.ann, people.bob, people.cid):
        assert [n["kind"] for n in approver.get("/api/notifications/").get_json()["items"]] == [
            "alert", "approval_requested"]  # newest first
    assert [n["kind"] for n in people.admin.get("/api/notifications/").get_json()["items"]] == [
        "escalation"]
    # the escalation role may now decide the step
    assert request_of(people.ann, order["id"])["steps"][0]["escalated_to"] == "admin"
