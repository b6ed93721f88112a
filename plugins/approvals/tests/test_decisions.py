"""Approving and rejecting through the API: roles, N of M, the submitter, versions,
switched-off rules, orders sent back, the inbox."""

from __future__ import annotations

import threading

from .conftest import Api, order_status, place_order, request_of, rule_body


def _approve(api, request_id, comment=""):
    return api.post(f"/api/approvals/requests/{request_id}/approve", json={"comment": comment})


def _reject(api, request_id, comment):
    return api.post(f"/api/approvals/requests/{request_id}/reject", json={"comment": comment})


def test_the_last_approval_approves_and_confirms_the_order_in_one_go(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(people.sales, catalogue, 12)
    request = request_of(people.ann, order["id"])

    approved = _approve(people.ann, request["id"], "fine by me")

    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    assert approved.get_json()["order_status"] == "confirmed"
    timeline = people.sales.get(f"/api/orders/{order['id']}").get_json()["timeline"]
    statuses = [e["to_status"] for e in timeline if e["kind"] == "status"]
    assert statuses[-3:] == ["pending_approval", "approved", "confirmed"]
    assert any("ann approved 'Large orders' (1 of 1): fine by me" in e["message"]
               for e in timeline)


def test_a_2_of_3_step_needs_two_different_approvers(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(
        steps=[{"role": "approver", "required": 2}]))
    order = place_order(people.sales, catalogue, 12)
    request = request_of(people.ann, order["id"])

    assert _approve(people.ann, request["id"]).status_code == 200
    twice = _approve(people.ann, request["id"])

    assert twice.status_code == 409
    assert twice.get_json()["code"] == "already_decided"
    assert order_status(people.sales, order["id"]) == "pending_approval"
    assert request_of(people.ann, order["id"])["steps"][0]["approvals"] == 1
    assert people.ann.get("/api/approvals/inbox").get_json()["items"] == []  # decided: not theirs
    assert len(people.bob.get("/api/approvals/inbox").get_json()["items"]) == 1

    assert _approve(people.bob, request["id"]).status_code == 200
    assert order_status(people.sales, order["id"]) == "confirmed"


def test_the_submitter_cannot_approve_their_own_order(people, as_user, catalogue):
    sally = as_user("sally", "sales", "approver")
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(sally, catalogue, 12)
    request = request_of(sally, order["id"])

    refused = _approve(sally, request["id"])

    assert refused.status_code == 403
    assert refused.get_json()["code"] == "own_order"
    assert sally.get("/api/approvals/inbox").get_json()["items"] == []
    assert order_status(sally, order["id"]) == "pending_approval"


def test_a_parameter_lets_submitters_approve_their_own_orders(people, as_user, catalogue):
    sally = as_user("sally", "sales", "approver")
    people.admin.put("/api/settings/approvals.allow_self_approval", json={"value": True})
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(sally, catalogue, 12)

    assert _approve(sally, request_of(sally, order["id"])["id"]).status_code == 200
    assert order_status(sally, order["id"]) == "confirmed"


def test_only_the_people_a_step_names_may_decide_it(people, as_user, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(
        steps=[{"users": ["cid"], "required": 1}]))
    order = place_order(people.sales, catalogue, 12)
    request = request_of(people.ann, order["id"])

    refused = _approve(people.ann, request["id"])
    not_an_approver = _approve(people.sales, request["id"])

    assert refused.status_code == 403 and refused.get_json()["code"] == "not_your_step"
    assert not_an_approver.status_code == 403  # no approvals.decide permission at all
    assert _approve(people.cid, request["id"]).status_code == 200


def test_steps_are_asked_one_after_another(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(steps=[
        {"name": "Team lead", "users": ["ann"]}, {"name": "Finance", "users": ["bob"]}]))
    order = place_order(people.sales, catalogue, 12)
    request = request_of(people.ann, order["id"])
    assert people.bob.get("/api/approvals/inbox").get_json()["items"] == []

    assert _approve(people.bob, request["id"]).status_code == 403  # not bob's turn yet
    _approve(people.ann, request["id"])

    [item] = people.bob.get("/api/approvals/inbox").get_json()["items"]
    assert item["step"] == "Finance"
    steps = request_of(people.bob, order["id"])["steps"]
    assert [s["status"] for s in steps] == ["approved", "active"]
    assert steps[1]["started_at"] >= steps[0]["started_at"]  # its clock starts now
    _approve(people.bob, request["id"])
    assert order_status(people.sales, order["id"]) == "confirmed"


def test_the_steps_of_every_matching_rule_are_asked_in_priority_order(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(
        name="Machines", priority=20, steps=[{"users": ["bob"]}],
        conditions=[{"fact": "orders.categories", "operator": "contains", "value": "machines"}]))
    people.admin.post("/api/approvals/rules", json=rule_body(
        name="Large orders", priority=10, steps=[{"users": ["ann"]}]))

    order = place_order(people.sales, catalogue, 12)

    request = request_of(people.ann, order["id"])
    assert [m["rule_name"] for m in request["matches"]] == ["Large orders", "Machines"]
    assert [s["name"] for s in request["steps"]] == ["Large orders", "Machines"]


def test_a_rejection_needs_a_comment_and_rejects_the_order(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(
        steps=[{"role": "approver", "required": 2}]))
    order = place_order(people.sales, catalogue, 12)
    request = request_of(people.ann, order["id"])

    no_comment = _reject(people.ann, request["id"], "")
    rejected = _reject(people.ann, request["id"], "price too low")

    assert no_comment.status_code == 422
    assert rejected.status_code == 200, rejected.get_json()
    assert rejected.get_json()["status"] == "rejected"
    order = people.sales.get(f"/api/orders/{order['id']}").get_json()
    assert order["status"] == "rejected"
    assert order["timeline"][-1]["message"] == "price too low"
    assert _approve(people.bob, request["id"]).status_code == 409  # nothing left to decide


def test_an_order_started_under_version_1_finishes_under_version_1(people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body()).get_json()
    first = place_order(people.sales, catalogue, 12)

    people.admin.put(f"/api/approvals/rules/{rule['id']}", json=rule_body(
        steps=[{"role": "approver", "required": 2}, {"users": ["cid"]}]))
    second = place_order(people.sales, catalogue, 12)

    assert request_of(people.ann, first["id"])["steps"][0]["rule_version"] == 1
    _approve(people.ann, request_of(people.ann, first["id"])["id"])
    assert order_status(people.sales, first["id"]) == "confirmed"  # one approval, as in v1

    request = request_of(people.ann, second["id"])
    assert [(s["rule_version"], s["required"]) for s in request["steps"]] == [(2, 2), (2, 1)]
    _approve(people.ann, request["id"])
    assert order_status(people.sales, second["id"]) == "pending_approval"


def test_switching_a_rule_off_does_not_strand_the_orders_waiting_on_it(people, catalogue):
    rule = people.admin.post("/api/approvals/rules", json=rule_body()).get_json()
    waiting = place_order(people.sales, catalogue, 12)

    off = people.admin.patch(f"/api/approvals/rules/{rule['id']}", json={"active": False})

    assert off.status_code == 200 and off.get_json()["active"] is False
    assert off.get_json()["version"] == 1  # switching is no new version
    assert place_order(people.sales, catalogue, 12)["status"] == "confirmed"
    [item] = people.ann.get("/api/approvals/inbox").get_json()["items"]
    assert item["order_id"] == waiting["id"]
    assert _approve(people.ann, item["request_id"]).status_code == 200
    assert order_status(people.sales, waiting["id"]) == "confirmed"


def test_an_order_changed_while_waiting_is_asked_again_under_a_new_request(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(people.sales, catalogue, 12)
    before = request_of(people.ann, order["id"])

    changed = people.sales.patch(f"/api/orders/{order['id']}", json={
        "lines": [{"sku": "M-1", "quantity": "20"}]})

    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["status"] == "pending_approval"
    old = request_of(people.ann, order["id"], status="superseded")
    assert old["id"] == before["id"]
    assert [s["status"] for s in old["steps"]] == ["closed"]
    new = request_of(people.ann, order["id"])
    assert new["matches"][0]["why"] == "total 2,000.00 > 1,000.00"
    assert _approve(people.ann, before["id"]).status_code == 409
    assert len(people.ann.get("/api/approvals/inbox").get_json()["items"]) == 1


def test_an_order_changed_below_every_threshold_is_approved_with_nothing_left_open(
        people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(people.sales, catalogue, 12)

    changed = people.sales.patch(f"/api/orders/{order['id']}", json={
        "lines": [{"sku": "M-1", "quantity": "2"}]})

    assert changed.get_json()["status"] == "confirmed"
    assert people.ann.get(f"/api/approvals/requests?order_id={order['id']}&status=open"
                          ).get_json()["items"] == []


def test_cancelling_a_waiting_order_closes_its_request(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body())
    order = place_order(people.sales, catalogue, 12)

    people.sales.post(f"/api/orders/{order['id']}/cancel", json={"reason": "customer left"})

    assert request_of(people.ann, order["id"], status=None)["status"] == "cancelled"
    assert people.ann.get("/api/approvals/inbox").get_json()["items"] == []


def test_the_inbox_lists_the_oldest_first_with_the_time_left(people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body())
    first = place_order(people.sales, catalogue, 12)
    second = place_order(people.sales, catalogue, 13)

    inbox = people.ann.get("/api/approvals/inbox").get_json()["items"]

    assert [item["order_id"] for item in inbox] == [first["id"], second["id"]]
    assert inbox[0]["order_total"] == "1200.00"
    assert 3 * 3600 < inbox[0]["time_left_seconds"] <= 4 * 3600
    assert inbox[0]["time_left"].startswith("3h59m")
    assert people.sales.get("/api/approvals/inbox").status_code == 403


def test_approvers_deciding_at_the_same_moment_approve_the_order_once(app, people, catalogue):
    people.admin.post("/api/approvals/rules", json=rule_body(
        steps=[{"role": "approver", "required": 2}]))
    order = place_order(people.sales, catalogue, 12)
    request = request_of(people.ann, order["id"])
    start = threading.Barrier(3, timeout=10)
    answers: dict[str, int] = {}

    def decide(api):
        client = app.test_client()  # one client per thread, like three browsers
        start.wait()
        answers[api.login] = client.post(
            f"/api/approvals/requests/{request['id']}/approve", headers=api.headers,
            json={}).status_code

    threads = [threading.Thread(target=decide, args=(api,))
               for api in (people.ann, people.bob, people.cid)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(answers.values()) == [200, 200, 409]
    timeline = people.sales.get(f"/api/orders/{order['id']}").get_json()["timeline"]
    assert [e["to_status"] for e in timeline if e["kind"] == "status"].count("approved") == 1
    [step] = request_of(people.ann, order["id"], status="approved")["steps"]
    assert step["approvals"] == 2


def test_a_confirmation_refused_after_the_last_approval_is_a_warning_of_the_decision(
        make_app, users, catalogue):
    from erpkit import TransitionRefused

    from .conftest import make_plugin

    def erpkit_order_confirmed(order, transition):
        raise TransitionRefused("the warehouse is closed today")

    app = make_app(make_plugin("warehouse", erpkit_order_confirmed=erpkit_order_confirmed))
    client = app.test_client()
    users.create("root", "admin")
    users.create("sam", "sales")
    users.create("ann", "approver")
    admin, sales, ann = (Api(client, login, users.headers(login))
                         for login in ("root", "sam", "ann"))
    assert admin.post("/api/approvals/rules", json=rule_body()).status_code == 201
    order = place_order(sales, catalogue, 12)
    assert (order["status"], order["warnings"]) == ("pending_approval", [])
    request = request_of(ann, order["id"])

    decided = ann.post(f"/api/approvals/requests/{request['id']}/approve",
                       json={"comment": "fine"})

    assert decided.status_code == 200, decided.get_json()
    body = decided.get_json()
    assert (body["status"], body["order_status"]) == ("approved", "approved")
    assert body["warnings"] == [{
        "code": "confirmation_refused", "plugin": "warehouse", "refusal_code": "refused",
        "message": "the order is approved, but confirmation was refused (warehouse): "
                   "the warehouse is closed today"}]
    timeline = sales.get(f"/api/orders/{order['id']}").get_json()["timeline"]
    assert "confirmation refused (warehouse): the warehouse is closed today" in [
        event["message"] for event in timeline]
    assert ann.get(f"/api/approvals/requests/{request['id']}").get_json()["warnings"] == []
