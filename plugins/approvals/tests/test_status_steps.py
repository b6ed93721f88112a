"""Steps within a status: admins add named steps an order passes while confirmed
(picked, packed); the warehouse sees them in its work queue; shipping waits until they
are done (409 naming the missing ones); orders already there keep their version's steps."""

from __future__ import annotations

from typing import Any

from .conftest import csrf_token_in, log_in, order_status, place_order, rule_body

PICK_AND_PACK = [{"name": "picked", "role": "warehouse", "time_limit": "2h"},
                 {"name": "packed", "role": "warehouse", "time_limit": "4h",
                  "breach_action": "escalate", "escalate_to": "manager"}]


def within_confirmed(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return rule_body("Pick and pack", within="confirmed", conditions=[], steps=steps)


def steps_of(api, order_id: int) -> list[tuple[str, str]]:
    return [(s["name"], s["state"]) for s in
            api.get(f"/api/approvals/order-steps?order_id={order_id}").get_json()]


def status_steps_in_queue(api) -> list[str]:
    queue = api.get("/api/work").get_json()["items"]
    return [i["step"] for i in queue if i["kind"] == "status_step"]


def test_a_step_added_to_confirmed_is_in_the_warehouse_queue_and_blocks_shipping(
        staff, catalogue, as_user):
    wes = as_user("wes", "warehouse")
    made = staff["root"].post("/api/approvals/rules", json=within_confirmed(PICK_AND_PACK))
    assert made.status_code == 201, made.get_json()
    order = place_order(staff["sam"], catalogue, 2)
    assert order["status"] == "confirmed"

    queue = wes.get("/api/work").get_json()["items"]
    # the queue lists what waits longest first, then by order and step name
    assert [(i["step"], i["reference"]) for i in queue if i["kind"] == "status_step"] == [
        ("packed", order["number"]), ("picked", order["number"])]
    refused = wes.post(f"/api/orders/{order['id']}/ship")
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "steps_pending"
    assert refused.get_json()["message"] == (
        f"order {order['number']} cannot leave confirmed yet: steps not done: picked, packed")

    [picked, packed] = wes.get(f"/api/approvals/order-steps?order_id={order['id']}").get_json()
    assert staff["sam"].post(f"/api/approvals/order-steps/{picked['id']}/done"
                             ).status_code == 403  # sales does not pick
    assert wes.post(f"/api/approvals/order-steps/{picked['id']}/done").status_code == 200
    still = wes.post(f"/api/orders/{order['id']}/ship")
    assert still.status_code == 409 and still.get_json()["message"].endswith("packed")
    wes.post(f"/api/approvals/order-steps/{packed['id']}/done")

    assert wes.post(f"/api/orders/{order['id']}/ship").status_code == 200
    assert order_status(wes, order["id"]) == "shipped"
    assert steps_of(wes, order["id"]) == [("picked", "done"), ("packed", "done")]
    assert status_steps_in_queue(wes) == []


def test_orders_already_confirmed_keep_the_steps_of_their_version(staff, catalogue, as_user):
    wes = as_user("wes", "warehouse")
    rule = staff["root"].post("/api/approvals/rules",
                              json=within_confirmed(PICK_AND_PACK)).get_json()
    before = place_order(staff["sam"], catalogue, 2)

    changed = staff["root"].put(f"/api/approvals/rules/{rule['id']}", json=within_confirmed(
        [*PICK_AND_PACK, {"name": "quality-checked", "role": "warehouse_lead"}]))

    assert changed.get_json()["version"] == 2
    after = place_order(staff["sam"], catalogue, 2)
    assert steps_of(wes, before["id"]) == [("picked", "open"), ("packed", "open")]
    assert steps_of(wes, after["id"]) == [("picked", "open"), ("packed", "open"),
                                          ("quality-checked", "open")]


def test_cancelling_is_not_held_by_steps_and_closes_them(staff, catalogue, as_user):
    wes = as_user("wes", "warehouse")
    staff["root"].post("/api/approvals/rules", json=within_confirmed(PICK_AND_PACK))
    order = place_order(staff["sam"], catalogue, 2)

    assert staff["root"].post(f"/api/orders/{order['id']}/cancel",
                              json={"reason": "customer called"}).status_code == 200

    assert steps_of(wes, order["id"]) == [("picked", "closed"), ("packed", "closed")]
    assert status_steps_in_queue(wes) == []


def test_a_step_no_role_can_do_is_refused_with_its_reason(staff, as_user):
    as_user("wes", "warehouse")
    nobody = staff["root"].post("/api/approvals/rules", json=within_confirmed(
        [{"name": "quality-checked", "role": "quality"}]))  # no active member
    unnamed = staff["root"].post("/api/approvals/rules", json=within_confirmed(
        [{"role": "warehouse"}]))

    assert nobody.status_code == 422
    assert ("needs 1 distinct approvals but only 0 people may approve (nobody)"
            in str(nobody.get_json()))
    assert unnamed.status_code == 422
    assert "name the step (picked, packed...)" in str(unnamed.get_json())


def test_a_late_step_within_a_status_reminds_its_role_once(app, staff, catalogue, as_user):
    from datetime import timedelta

    import sqlalchemy as sa

    from erpkit import steps
    from erpkit.db import db, utcnow
    from erpkit.plugins import current_registry
    from erpkit.service_models import Notification

    as_user("wes", "warehouse")
    staff["root"].post("/api/approvals/rules", json=within_confirmed(PICK_AND_PACK))
    order = place_order(staff["sam"], catalogue, 2)

    with app.app_context():
        later = utcnow() + timedelta(hours=3)  # picked (2h) is late, packed (4h) is not
        first = steps.sweep(db.session, current_registry(), later)
        second = steps.sweep(db.session, current_registry(), later)
        told = list(db.session.scalars(sa.select(Notification.message)
                                       .where(Notification.kind == "reminder")))

    assert [(late.declaration, late.step) for late in first.handled] == [
        ("approvals.status_step", "picked")]
    assert [late.step for late in second.handled] == []
    assert told == [f"Reminder: order {order['number']} waits for 'picked' (confirmed) "
                    "(1h late)"]


def test_an_order_id_no_column_can_hold_is_refused_naming_the_field(as_user):
    answer = as_user("root", "admin").get("/api/approvals/order-steps?order_id=2147483648")

    assert answer.status_code == 422, answer.get_json()
    assert "order_id" in str(answer.get_json()["errors"])


def test_the_console_edits_steps_as_a_new_version_and_orders_in_flight_keep_theirs(
        client, staff, catalogue, as_user):
    wes = as_user("wes", "warehouse")
    assert log_in(client, "root").status_code == 302
    editor = client.get("/admin/approval-status-steps/new?status=confirmed")
    assert 'value="within:confirmed" selected' in editor.get_data(as_text=True)
    form = {"csrf_token": csrf_token_in(editor.get_data(as_text=True)), "action": "save",
            "name": "Pick and pack", "placement": "within:confirmed", "active": "on",
            "steps-0-name": "picked", "steps-0-role": "warehouse", "steps-0-time_limit": "2h",
            "steps-0-breach_action": "remind", "steps-1-breach_action": "remind"}
    assert client.post("/admin/approval-status-steps/new", data=form).status_code == 302
    [rule] = staff["root"].get("/api/approvals/rules").get_json()["items"]
    assert (rule["gate"], [s["name"] for s in rule["steps"]]) == ("within:confirmed",
                                                                  ["picked"])
    before = place_order(staff["sam"], catalogue, 2)

    edited = client.post(f"/admin/approval-status-steps/{rule['id']}/", data={
        **form, "steps-1-name": "packed", "steps-1-role": "warehouse"})

    assert edited.status_code == 302
    assert staff["root"].get(f"/api/approvals/rules/{rule['id']}").get_json()["version"] == 2
    after = place_order(staff["sam"], catalogue, 2)
    assert steps_of(wes, before["id"]) == [("picked", "open")]
    assert steps_of(wes, after["id"]) == [("picked", "open"), ("packed", "open")]
    page = client.get("/admin/approval-status-steps/").get_data(as_text=True)
    flight = page[page.index('data-testid="in-flight"'):]
    assert f'<tr data-order="{before["number"]}">' in flight
    row = flight[flight.index(before["number"]):flight.index("</tr>",
                                                             flight.index(before["number"]))]
    assert "v1" in row and "packed" not in row
    assert "v2" in flight[flight.index(after["number"]):]
