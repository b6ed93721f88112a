"""Each lifecycle hook, implemented by a throwaway in-process plugin: called once, with
the right arguments, inside the transition's transaction; and the refusal contract.

A plugin's note (``transition.note``) reaching the timeline proves that what it wrote
with the transition's session was committed with the transition.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from erpkit import Problem, TransitionRefused
from erpkit.db import db
from erpkit_orders import lifecycle
from erpkit_orders.models import Order, TimelineEvent

from .conftest import ApiClient, make_plugin, order_body


@pytest.fixture
def spy_app(make_app, users):
    """``spy_app(erpkit_order_x=function, ...)``: an app with a plugin ``spy`` implementing
    those hooks, and a function giving a client acting as a role on it."""

    def build(**hooks: Any):
        application = make_app(make_plugin("spy", **hooks))
        client = application.test_client()
        return application, lambda role: ApiClient(client, users.headers(role))

    return build


def seen(order: Any, transition: Any) -> dict[str, Any]:
    """What a hook saw, taken while it runs."""
    return {"order": order.id, "status": order.status, "name": transition.name,
            "from": transition.from_status, "to": transition.to_status,
            "actor": transition.actor_name,
            "in_transaction": transition.session.in_transaction(),
            "request_session": transition.session is db.session}


def timeline(application: Any, order_id: int) -> list[tuple[str, str]]:
    with application.app_context():
        return [(e.kind, e.message) for e in db.session.scalars(
            sa.select(TimelineEvent).where(TimelineEvent.order_id == order_id)
            .order_by(TimelineEvent.id))]


def row_and_timeline(application: Any, order_id: int) -> tuple[Any, Any]:
    with application.app_context():
        row = db.session.execute(sa.select(Order.__table__).where(Order.id == order_id)).one()
        events = db.session.execute(sa.select(TimelineEvent.__table__).where(
            TimelineEvent.order_id == order_id).order_by(TimelineEvent.id)).all()
        return row._asdict(), [e._asdict() for e in events]


def _in_transaction(order_id: int, status: str, name: str, actor: str, old: str | None,
                    new: str) -> dict[str, Any]:
    return {"order": order_id, "status": status, "name": name, "from": old, "to": new,
            "actor": actor, "in_transaction": True, "request_session": True}


# --- one test per hook ---------------------------------------------------------------------


def test_hook_erpkit_order_created(spy_app, catalogue):
    calls = []

    def erpkit_order_created(order, transition):
        calls.append(seen(order, transition) | {"number": order.number,
                                                "channel": order.channel,
                                                "lines": len(order.lines)})
        transition.note("spy: welcome")

    application, as_role = spy_app(erpkit_order_created=erpkit_order_created)
    order = as_role("sales").post("/api/orders", json=order_body(catalogue)).json

    assert calls == [_in_transaction(order["id"], "draft", "create", "sales", None, "draft")
                     | {"number": order["number"], "channel": "web", "lines": 1}]
    assert ("note", "spy: welcome") in timeline(application, order["id"])


def test_hook_erpkit_order_submitted(spy_app, catalogue):
    calls = []

    def erpkit_order_submitted(order, transition):
        calls.append(seen(order, transition) | {"submitted_by": order.submitted_by})
        transition.note("spy: submitted")

    application, as_role = spy_app(erpkit_order_submitted=erpkit_order_submitted)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")

    assert calls == [_in_transaction(order["id"], "submitted", "submit", "sales", "draft",
                                     "submitted") | {"submitted_by": "sales"}]
    assert ("note", "spy: submitted") in timeline(application, order["id"])


def test_hook_erpkit_order_approved(spy_app, catalogue):
    calls = []

    def erpkit_order_approved(order, transition):
        calls.append(seen(order, transition))
        transition.note("spy: approved")

    application, as_role = spy_app(erpkit_order_approved=erpkit_order_approved)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")

    assert calls == [_in_transaction(order["id"], "approved", "submit", "sales", "submitted",
                                     "approved")]
    assert ("note", "spy: approved") in timeline(application, order["id"])


def _holding(summary: str = "needs a second look"):
    """An approval_required implementation that holds every order."""

    def erpkit_order_approval_required(order, transition):
        return [SimpleNamespace(summary=summary)]

    return erpkit_order_approval_required


def test_hook_erpkit_order_rejected(spy_app, catalogue):
    calls = []

    def erpkit_order_rejected(order, transition):
        calls.append(seen(order, transition) | {"reason": transition.reason})
        transition.note("spy: rejected")

    application, as_role = spy_app(erpkit_order_approval_required=_holding(),
                                   erpkit_order_rejected=erpkit_order_rejected)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    with application.app_context():
        lifecycle.reject(db.session, order["id"], actor="approver", reason="price too low")

    assert calls == [_in_transaction(order["id"], "rejected", "reject", "approver",
                                     "pending_approval", "rejected")
                     | {"reason": "price too low"}]
    assert ("note", "spy: rejected") in timeline(application, order["id"])
    reopened = sales.post(f"/api/orders/{order['id']}/reopen", json={"reason": "fixing it"})
    assert reopened.json["status"] == "draft"


def test_hook_erpkit_order_confirmed(spy_app, catalogue):
    calls = []

    def erpkit_order_confirmed(order, transition):
        calls.append(seen(order, transition))
        transition.note("spy: reserved")

    application, as_role = spy_app(erpkit_order_confirmed=erpkit_order_confirmed)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")

    assert calls == [_in_transaction(order["id"], "confirmed", "submit", "sales", "approved",
                                     "confirmed")]
    assert ("note", "spy: reserved") in timeline(application, order["id"])


def test_hook_erpkit_order_confirmed_by_hand_when_auto_confirm_is_off(spy_app, catalogue):
    calls = []

    def erpkit_order_confirmed(order, transition):
        calls.append(seen(order, transition))

    application, as_role = spy_app(erpkit_order_confirmed=erpkit_order_confirmed)
    _set(application, "orders.auto_confirm", False)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    assert sales.post(f"/api/orders/{order['id']}/submit").json["status"] == "approved"
    assert calls == []

    confirmed = sales.post(f"/api/orders/{order['id']}/confirm")

    assert confirmed.json["status"] == "confirmed"
    assert calls == [_in_transaction(order["id"], "confirmed", "confirm", "sales", "approved",
                                     "confirmed")]


def test_hook_erpkit_order_shipped(spy_app, catalogue):
    calls = []

    def erpkit_order_shipped(order, shipment, transition):
        calls.append(seen(order, transition) | {
            "tracking": shipment.tracking,
            "lines": [(item.order_line.line_no, str(item.quantity)) for item in shipment.lines]})
        transition.note(f"spy: label for {shipment.tracking}")

    application, as_role = spy_app(erpkit_order_shipped=erpkit_order_shipped)
    sales, warehouse = as_role("sales"), as_role("warehouse")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    line = order["lines"][0]["id"]
    warehouse.post(f"/api/orders/{order['id']}/ship",
                   json={"lines": [{"line_id": line, "quantity": "1"}], "tracking": "T1"})
    warehouse.post(f"/api/orders/{order['id']}/ship", json={"tracking": "T2"})

    assert calls == [
        _in_transaction(order["id"], "partially_shipped", "ship", "warehouse", "confirmed",
                        "partially_shipped") | {"tracking": "T1", "lines": [(1, "1")]},
        _in_transaction(order["id"], "shipped", "ship", "warehouse", "partially_shipped",
                        "shipped") | {"tracking": "T2", "lines": [(1, "3.000")]},
    ]
    assert ("note", "spy: label for T2") in timeline(application, order["id"])


def _delivered(as_role, catalogue) -> dict[str, Any]:
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    as_role("warehouse").post(f"/api/orders/{order['id']}/ship")
    as_role("logistics").post(f"/api/orders/{order['id']}/deliver")
    return order


def test_hook_erpkit_order_delivered(spy_app, catalogue):
    calls = []

    def erpkit_order_delivered(order, transition):
        calls.append(seen(order, transition))
        transition.note("spy: delivered")

    application, as_role = spy_app(erpkit_order_delivered=erpkit_order_delivered)
    order = _delivered(as_role, catalogue)

    assert calls == [_in_transaction(order["id"], "delivered", "deliver", "logistics",
                                     "shipped", "delivered")]
    assert ("note", "spy: delivered") in timeline(application, order["id"])


def test_hook_erpkit_order_cancelled(spy_app, catalogue):
    calls = []

    def erpkit_order_cancelled(order, transition):
        calls.append(seen(order, transition) | {"reason": transition.reason})
        transition.note("spy: released")

    application, as_role = spy_app(erpkit_order_cancelled=erpkit_order_cancelled)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    sales.post(f"/api/orders/{order['id']}/cancel", json={"reason": "customer called"})

    assert calls == [_in_transaction(order["id"], "cancelled", "cancel", "sales", "confirmed",
                                     "cancelled") | {"reason": "customer called"}]
    assert ("note", "spy: released") in timeline(application, order["id"])


def test_hook_erpkit_order_returned(spy_app, catalogue):
    calls = []

    def erpkit_order_returned(order, transition):
        calls.append(seen(order, transition) | {"reason": transition.reason})
        transition.note("spy: restocked")

    application, as_role = spy_app(erpkit_order_returned=erpkit_order_returned)
    order = _delivered(as_role, catalogue)
    as_role("logistics").post(f"/api/orders/{order['id']}/return", json={"reason": "broken"})

    assert calls == [_in_transaction(order["id"], "returned", "return", "logistics",
                                     "delivered", "returned") | {"reason": "broken"}]
    assert ("note", "spy: restocked") in timeline(application, order["id"])


def test_hook_erpkit_order_status_changed(spy_app, catalogue):
    calls = []

    def erpkit_order_confirmed(order, transition):
        calls.append(("confirmed hook", order.status))

    def erpkit_order_status_changed(order, old_status, new_status, transition):
        assert transition.session.in_transaction() and order.status == new_status
        calls.append((old_status, new_status))

    _application, as_role = spy_app(erpkit_order_confirmed=erpkit_order_confirmed,
                                   erpkit_order_status_changed=erpkit_order_status_changed)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    sales.post(f"/api/orders/{order['id']}/cancel")

    # the specific hook first, then status_changed, for every move of the transition
    assert calls == [("draft", "submitted"), ("submitted", "approved"),
                     ("confirmed hook", "confirmed"), ("approved", "confirmed"),
                     ("confirmed", "cancelled")]


def test_hook_erpkit_order_validate(spy_app, catalogue):
    calls = []

    def erpkit_order_validate(order, session, stage):
        calls.append((stage, len(order.lines), session is db.session,
                      session.in_transaction()))
        if order.note == "refuse":
            return [Problem(field="note", message="spy refuses this note", code="spy")]
        return [Problem(field="note", message="just saying", severity="warning")]

    _application, as_role = spy_app(erpkit_order_validate=erpkit_order_validate)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.patch(f"/api/orders/{order['id']}", json={"note": "fine"})
    sales.post(f"/api/orders/{order['id']}/submit")
    assert calls == [("create", 1, True, True), ("update", 1, True, True),
                     ("submit", 1, True, True)]

    # the plugin's problems come together with the module's own
    refused = sales.post("/api/orders", json=order_body(
        catalogue, note="refuse", lines=[{"sku": "BOX-6", "quantity": "7"}]))
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json["errors"]] == [
        ("lines.0.quantity", "quantity_not_pack_multiple"), ("note", "spy")]


def test_hook_erpkit_delivery_promise(spy_app, catalogue):
    calls = []

    def erpkit_delivery_promise(order, session):
        calls.append((order.status, session.in_transaction()))
        return date(2031, 2, 3) if order.channel == "web" else None

    application, as_role = spy_app(erpkit_delivery_promise=erpkit_delivery_promise)
    sales = as_role("sales")
    web = sales.post("/api/orders", json=order_body(catalogue)).json
    phone = sales.post("/api/orders", json=order_body(catalogue, channel="phone")).json

    promised = sales.post(f"/api/orders/{web['id']}/submit").json["promised_date"]
    fallback = sales.post(f"/api/orders/{phone['id']}/submit").json["promised_date"]

    assert calls == [("confirmed", True), ("confirmed", True)]
    assert promised == "2031-02-03"
    assert fallback and fallback != promised  # the orders module's lead-time promise
    assert ("note", "delivery promised for 2031-02-03") in timeline(application, web["id"])


def test_hook_erpkit_delivery_promise_may_answer_with_its_explanation(spy_app, catalogue):
    from erpkit.promises import DeliveryPromise, PromiseStep

    def erpkit_delivery_promise(order, session):
        return DeliveryPromise(date(2031, 2, 3), (
            PromiseStep("goods", date(2031, 1, 27), "W-1: backordered, in on 2031-01-27",
                        public="some items arrive from our supplier by 2031-01-27"),
            PromiseStep("transit", date(2031, 2, 3), "2 working days in transit")))

    application, as_role = spy_app(erpkit_delivery_promise=erpkit_delivery_promise)
    sales = as_role("sales")
    web = sales.post("/api/orders", json=order_body(catalogue)).json
    assert sales.post(f"/api/orders/{web['id']}/submit").json["promised_date"] == "2031-02-03"
    assert ("note", "delivery promised for 2031-02-03 (some items arrive from our "
            "supplier by 2031-01-27)") in timeline(application, web["id"])


def test_hook_erpkit_order_approval_required(spy_app, catalogue):
    calls = []

    def erpkit_order_approval_required(order, transition):
        calls.append(seen(order, transition))
        if order.total > 100:
            return [SimpleNamespace(summary="orders over 100 need a manager")]
        return []

    application, as_role = spy_app(
        erpkit_order_approval_required=erpkit_order_approval_required)
    sales = as_role("sales")
    small = sales.post("/api/orders", json=order_body(catalogue)).json
    big = sales.post("/api/orders", json=order_body(
        catalogue, lines=[{"sku": "W-1", "quantity": "9"}])).json

    assert sales.post(f"/api/orders/{small['id']}/submit").json["status"] == "confirmed"
    held = sales.post(f"/api/orders/{big['id']}/submit").json

    assert held["status"] == "pending_approval"
    assert [c["status"] for c in calls] == ["submitted", "submitted"]
    assert calls[1] == _in_transaction(big["id"], "submitted", "submit", "sales", "draft",
                                       "submitted")
    assert ("status", "waiting for approval: orders over 100 need a manager") in timeline(
        application, big["id"])


def test_hook_erpkit_order_approval_requested(spy_app, catalogue):
    calls, sent = [], []
    request = SimpleNamespace(summary="two approvers")

    def erpkit_order_approval_required(order, transition):
        return [request]

    def erpkit_order_approval_requested(order, request, transition):
        calls.append(seen(order, transition) | {"request": request})
        transition.after_commit(lambda: sent.append(order.number))

    _application, as_role = spy_app(
        erpkit_order_approval_required=erpkit_order_approval_required,
        erpkit_order_approval_requested=erpkit_order_approval_requested)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")

    assert calls == [_in_transaction(order["id"], "pending_approval", "submit", "sales",
                                     "submitted", "pending_approval") | {"request": request}]
    assert sent == [order["number"]]  # the notification went out after the commit


# --- the refusal contract -----------------------------------------------------------------


def _set(application: Any, name: str, value: Any) -> None:
    with application.app_context():
        application.extensions["erpkit"].parameters.set(db.session, name, value, actor="test")
        db.session.commit()


def test_a_refusal_while_submitting_rolls_back_the_whole_submit(spy_app, catalogue):
    sent = []

    def erpkit_order_submitted(order, transition):
        transition.after_commit(lambda: sent.append("mail"))
        transition.note("spy: should vanish")
        raise TransitionRefused("credit limit reached", field="customer_id")

    application, as_role = spy_app(erpkit_order_submitted=erpkit_order_submitted)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    before = row_and_timeline(application, order["id"])

    refused = sales.post(f"/api/orders/{order['id']}/submit")

    assert refused.status_code == 409
    assert refused.json == {"message": "credit limit reached", "code": "refused",
                            "field": "customer_id", "plugin": "spy"}
    assert row_and_timeline(application, order["id"]) == before
    assert sent == []


def test_a_refused_explicit_confirmation_leaves_the_order_unchanged(spy_app, catalogue):
    sent = []

    def erpkit_order_confirmed(order, transition):
        transition.after_commit(lambda: sent.append("reserved"))
        raise TransitionRefused("line 1: not enough stock", field="lines.0.quantity")

    application, as_role = spy_app(erpkit_order_confirmed=erpkit_order_confirmed)
    _set(application, "orders.auto_confirm", False)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    before = row_and_timeline(application, order["id"])

    refused = sales.post(f"/api/orders/{order['id']}/confirm")

    assert refused.status_code == 409
    assert (refused.json["plugin"], refused.json["field"]) == ("spy", "lines.0.quantity")
    assert row_and_timeline(application, order["id"]) == before
    assert before[0]["status"] == "approved"
    assert sent == []


def test_with_auto_confirm_a_refused_confirmation_leaves_the_approval_standing(spy_app,
                                                                             catalogue):
    sent = []

    def erpkit_order_approved(order, transition):
        transition.after_commit(lambda: sent.append("approved mail"))

    def erpkit_order_confirmed(order, transition):
        transition.after_commit(lambda: sent.append("reservation mail"))
        transition.note("spy: reserved", public=True)
        raise TransitionRefused("not enough stock")

    application, as_role = spy_app(erpkit_order_approved=erpkit_order_approved,
                                   erpkit_order_confirmed=erpkit_order_confirmed)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json

    submitted = sales.post(f"/api/orders/{order['id']}/submit")

    assert submitted.status_code == 200
    assert submitted.json["status"] == "approved"
    events = timeline(application, order["id"])
    assert ("note", "confirmation refused (spy): not enough stock") in events
    assert ("note", "spy: reserved") not in events
    assert "confirmed" not in [e["to_status"] for e in submitted.json["timeline"]]
    # the approval's callback runs; the one queued in the refused confirmation does not
    assert sent == ["approved mail"]


def test_an_unexpected_plugin_error_is_a_500_naming_the_plugin_and_changes_nothing(
        spy_app, catalogue):
    def erpkit_order_shipped(order, shipment, transition):
        return {}["carrier"]

    application, as_role = spy_app(erpkit_order_shipped=erpkit_order_shipped)
    sales = as_role("sales")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    before = row_and_timeline(application, order["id"])

    failed = as_role("warehouse").post(f"/api/orders/{order['id']}/ship",
                                       json={"tracking": "T1"})

    assert failed.status_code == 500
    assert failed.json == {"message": "plugin 'spy' failed: KeyError: 'carrier'",
                           "code": "plugin_failed", "plugin": "spy"}
    assert row_and_timeline(application, order["id"]) == before
    with application.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM orders_shipment")).scalar() == 0


def test_hook_erpkit_order_gate(spy_app, catalogue):
    """A plugin holds shipping at its gate: 202, the order stays confirmed with no
    shipment kept, the hold is recorded in its own transaction, and the move happens with
    its quantities when the plugin passes the gate."""
    asked, recorded, holds = [], [], []

    def erpkit_order_gate(order, transition, gate, to_status):
        asked.append((gate, to_status, order.status))
        if gate != "ship":
            return None
        holds.append(lifecycle.GateHold(
            "express orders are checked first",
            record=lambda t, o: recorded.append((o.id, o.status, t.session.in_transaction()))
            or SimpleNamespace(id=7)))
        return holds[-1]

    application, as_role = spy_app(erpkit_order_gate=erpkit_order_gate)
    sales, warehouse = as_role("sales"), as_role("warehouse")
    order = sales.post("/api/orders", json=order_body(catalogue)).json
    sales.post(f"/api/orders/{order['id']}/submit")
    line = order["lines"][0]["id"]

    held = warehouse.post(f"/api/orders/{order['id']}/ship",
                          json={"lines": [{"line_id": line, "quantity": "1"}],
                                "tracking": "T9"})

    assert held.status_code == 202, held.json
    assert held.json["status"] == "confirmed"
    assert held.json["shipments"] == []
    assert held.json["held"] == {
        "code": "held", "gate": "ship", "from_status": "confirmed",
        "to_status": "partially_shipped", "requests": [7],
        "message": "the move to partially_shipped is held for approval: express orders "
                   "are checked first"}
    assert ("confirm", "confirmed", "approved") in asked
    assert recorded == [(order["id"], "confirmed", True)]
    assert any("held for approval" in message for _kind, message in timeline(
        application, order["id"]))

    with application.app_context():
        assert holds[-1].resume == {"quantities": {str(line): "1"}, "tracking": "T9",
                                    "reason": None}
        lifecycle.perform(db.session, order["id"], "approve", lambda t, o: lifecycle.pass_gate_in(
            t, o, "ship", holds[-1].resume), actor="approver")
        shipped = db.session.get(Order, order["id"])
        assert shipped.status == "partially_shipped"
        assert [s.tracking for s in shipped.shipments] == ["T9"]
    assert asked.count(("ship", "partially_shipped", "confirmed")) == 1  # not asked again
