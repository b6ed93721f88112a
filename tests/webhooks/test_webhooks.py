"""Webhooks: events written with their transition, delivered signed to a real receiver,
tried again with the same webhook-id, dead-lettered, replayed, never to loopback unless
allowed."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields
from standardwebhooks import Webhook, WebhookVerificationError

from erpkit import TransitionRefused
from erpkit.db import db, read_only, utcnow
from erpkit.events import EventType
from erpkit.outbox import emit
from erpkit.testing import make_plugin
from erpkit.webhook_models import OutboxEvent, WebhookAttempt, WebhookDelivery
from erpkit.webhooks import new_secret, subscribe

from .conftest import order_body, set_parameters, wait_until

pytestmark = pytest.mark.usefixtures("local_receivers_allowed")

#: What creating and submitting an order writes (with orders alone it is confirmed).
SUBMIT_EVENTS = ["order.created", "order.submitted", "order.status_changed", "order.approved",
                 "order.status_changed", "order.confirmed", "order.status_changed"]


def _subscribe(admin, url, events=("*",)):
    answer = admin.post("/api/webhooks/subscriptions", json={"url": url, "events": list(events)})
    assert answer.status_code == 201, answer.json
    return answer.json


def admin_subscription(app, url, events=("*",)) -> None:
    with app.app_context():
        subscribe(db.session, app.extensions["erpkit"], url=url, events=list(events))
        db.session.commit()


def _events(app) -> list[OutboxEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id)).all()
        db.session.expunge_all()
        return list(rows)


def _fresh(query):
    """The first row of ``query`` as the database has it now, read in a transaction of
    its own that ends at once. On SQLite a transaction outside a request takes the write
    lock; one left open between polls starved the worker (``database is locked``)."""
    db.session.rollback()
    read_only(db.session)
    row = db.session.scalars(query).first()
    if row is not None:
        db.session.expunge(row)  # keeps its loaded values once the transaction ends
    db.session.rollback()
    return row


def test_a_receiver_gets_each_event_once_with_a_valid_signature(
        app, as_role, catalogue, receiver, worker):
    subscription = _subscribe(as_role("admin"), receiver.url)
    order = as_role("sales").post("/api/orders", json=order_body(catalogue)).json
    as_role("sales").post(f"/api/orders/{order['id']}/submit")

    got = receiver.wait_for(len(SUBMIT_EVENTS))
    assert [r.event["type"] for r in got] == SUBMIT_EVENTS  # in order, each once
    signer = Webhook(subscription["secret"])
    for request in got:
        assert signer.verify(request.body, request.headers)["data"]["order_id"] == order["id"]
    assert [r.headers["webhook-id"] for r in got] == [e.webhook_id for e in _events(app)]
    assert got[-1].event["data"]["status"] == "confirmed"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(got[0].body, got[0].headers)  # another secret fails


def test_a_receiver_failing_three_times_gets_the_event_again_with_the_same_webhook_id(
        app, as_role, catalogue, receiver, worker):
    receiver.statuses = [500, 503, 500]
    _subscribe(as_role("admin"), receiver.url, ["order.created"])
    as_role("sales").post("/api/orders", json=order_body(catalogue))

    got = receiver.wait_for(4)
    assert len({r.headers["webhook-id"] for r in got}) == 1 and len(got) == 4
    with app.app_context():
        delivery = wait_until(lambda: _fresh(sa.select(WebhookDelivery).where(
            WebhookDelivery.status == "delivered")))
        assert delivery is not None and delivery.attempts == 4
        attempts = db.session.scalars(sa.select(WebhookAttempt).order_by(
            WebhookAttempt.number)).all()
        assert [(a.number, a.status_code, a.ok) for a in attempts] == [
            (1, 500, False), (2, 503, False), (3, 500, False), (4, 200, True)]
        assert attempts[0].response_excerpt == "receiver is down"
        assert all(a.latency_ms >= 0 for a in attempts)


def test_a_delivery_that_keeps_failing_is_dead_lettered_after_its_schedule(
        app, as_role, catalogue, receiver, worker):
    receiver.then = 500
    set_parameters(app, retry_schedule=[0, 0])
    _subscribe(as_role("admin"), receiver.url, ["order.created"])
    as_role("sales").post("/api/orders", json=order_body(catalogue))

    with app.app_context():
        dead = wait_until(lambda: _fresh(sa.select(WebhookDelivery).where(
            WebhookDelivery.status == "dead")))
        assert dead is not None and dead.attempts == 3
        assert dead.last_status_code == 500
    assert len(receiver.requests) == 3


def test_a_refused_transition_emits_nothing(make_app, as_role, catalogue, receiver):
    def refuse(order, transition):
        raise TransitionRefused("the warehouse is closed", code="closed")

    strict = make_app(make_plugin("closedshop", requires=("orders",),
                                  erpkit_order_confirmed=refuse))
    client = strict.test_client()
    from erpkit.testing import Users

    people = Users(strict)
    people.create("sam", "sales")
    headers = people.headers("sam")
    order = client.post("/api/orders", json=order_body(catalogue), headers=headers).json
    before = [e.name for e in _events(strict)]
    assert before == ["order.created"]
    answer = client.post(f"/api/orders/{order['id']}/confirm", headers=headers)
    assert answer.status_code == 409
    assert [e.name for e in _events(strict)] == before


def test_replay_sends_an_event_again_with_its_webhook_id(app, as_role, catalogue, receiver,
                                                          worker):
    _subscribe(as_role("admin"), receiver.url, ["order.created"])
    started = utcnow() - timedelta(seconds=1)
    as_role("sales").post("/api/orders", json=order_body(catalogue))
    first = receiver.wait_for(1)
    assert len(first) == 1

    answer = as_role("admin").post("/api/webhooks/replay", json={"since": started.isoformat()})
    assert answer.status_code == 202 and answer.json == {"deliveries": 1}
    again = receiver.wait_for(2)
    assert len(again) == 2 and again[1].headers["webhook-id"] == first[0].headers["webhook-id"]
    assert again[1].body == first[0].body


def test_during_a_rotation_both_the_new_and_the_old_secret_verify(
        app, as_role, catalogue, receiver, worker):
    admin = as_role("admin")
    old = _subscribe(admin, receiver.url, ["order.created"])
    new = admin.post(f"/api/webhooks/subscriptions/{old['id']}/rotate-secret",
                     json={"overlap_hours": 1}).json
    assert new["secret"] != old["secret"] and new["previous_secret_until"]
    as_role("sales").post("/api/orders", json=order_body(catalogue))
    request = receiver.wait_for(1)[0]
    Webhook(new["secret"]).verify(request.body, request.headers)
    Webhook(old["secret"]).verify(request.body, request.headers)
    assert len(request.headers["webhook-signature"].split(" ")) == 2


def test_a_url_resolving_to_loopback_is_refused_unless_allowed(app, as_role, receiver):
    admin = as_role("admin")
    set_parameters(app, allowed_networks=[])
    for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
        answer = admin.post("/api/webhooks/subscriptions", json={"url": url, "events": ["*"]})
        assert answer.status_code == 422, answer.json
        assert answer.json["errors"][0]["field"] == "url"
        assert "loopback" in answer.json["errors"][0]["message"]
    set_parameters(app, allow_http=False, allowed_networks=["127.0.0.0/8"])
    answer = admin.post("/api/webhooks/subscriptions",
                        json={"url": receiver.url, "events": ["*"]})
    assert answer.status_code == 422 and "only https" in answer.json["errors"][0]["message"]
    for private in ("https://10.1.2.3/x", "https://169.254.169.254/latest/meta-data"):
        answer = admin.post("/api/webhooks/subscriptions", json={"url": private, "events": ["*"]})
        assert answer.status_code == 422, private


def test_a_subscription_naming_an_unknown_event_is_refused(as_role, receiver):
    answer = as_role("admin").post("/api/webhooks/subscriptions",
                                   json={"url": receiver.url, "events": ["order.teleported"]})
    assert answer.status_code == 422
    assert answer.json["errors"][0]["field"] == "events"
    assert "order.teleported" in answer.json["errors"][0]["message"]


class PointsSchema(Schema):
    customer_id = fields.Integer(required=True)
    points = fields.Integer(required=True)


POINTS = EventType("loyalty.points_granted", PointsSchema, description="Points granted.")


def test_hook_erpkit_events(make_app, receiver):
    loyalty = make_plugin("loyalty", erpkit_events=lambda: [POINTS])
    other = make_app(loyalty)
    from erpkit.jobs import embedded_worker, jobs_of
    from erpkit.testing import Users

    people = Users(other)
    people.create("root", "admin")
    headers = people.headers("root")
    client = other.test_client()
    catalogue = client.get("/api/webhooks/events", headers=headers).json
    assert {"name": "loyalty.points_granted", "version": 1, "description": "Points granted.",
            "schema": "Points"} in catalogue
    assert client.post("/api/webhooks/subscriptions", headers=headers, json={
        "url": receiver.url, "events": ["loyalty.points_granted"]}).status_code == 201

    jobs_of(other).huey.flush()
    with embedded_worker(other, workers=1), other.app_context():
        emit(db.session, POINTS, {"customer_id": 7, "points": 40})
        db.session.commit()
        got = receiver.wait_for(1)
    assert got[0].event == {"type": "loyalty.points_granted", "version": 1,
                            "timestamp": got[0].event["timestamp"],
                            "data": {"customer_id": 7, "points": 40}}
    with other.app_context(), pytest.raises(ValueError, match="prefix event names"):
        from erpkit.events import catalogue as read_catalogue

        make_plugin("dup", erpkit_events=lambda: [POINTS])
        read_catalogue(make_app(loyalty, make_plugin("dup2", erpkit_events=lambda: [
            EventType("dup2.x", PointsSchema), EventType("dup2.x", PointsSchema)]))
                       .extensions["erpkit"])


def test_a_replay_of_an_id_no_column_can_hold_is_refused_naming_the_field(as_role):
    answer = as_role("admin").post("/api/webhooks/replay", json={"event_ids": [2**63]})

    assert answer.status_code == 422, answer.get_json()
    assert "event_ids" in str(answer.get_json()["errors"])


def _confirmed(n: int, order_id: int) -> dict:
    return {"order_id": order_id, "number": f"SO-{n}", "status": "confirmed",
            "transition": "confirm"}


@pytest.fixture
def no_sweep(app, receiver):
    """A worker whose periodic sweep is an hour away: only wake-ups send anything."""
    from erpkit.jobs import embedded_worker, jobs_of

    set_parameters(app, sweep_seconds=3600)
    admin_subscription(app, receiver.url)
    jobs_of(app).huey.flush()
    with embedded_worker(app, workers=4):
        yield


def test_an_event_of_a_lane_whose_batch_is_being_sent_is_sent_without_the_sweep(
        app, receiver, no_sweep):
    from erpkit.events import ORDER_EVENTS

    receiver.delay = 0.05  # the first batch takes a second to send
    event = ORDER_EVENTS["erpkit_order_confirmed"]
    with app.app_context():
        for n in range(20):
            emit(db.session, event, _confirmed(n, 1), order_id=1)
        db.session.commit()
        receiver.wait_for(2)  # the batch of 20 is claimed and being sent
        emit(db.session, event, _confirmed(20, 1), order_id=1)
        db.session.commit()  # its wake-up finds the lane held by the batch's job
    got = receiver.wait_for(21, timeout=15)
    assert [r.event["data"]["number"] for r in got] == [f"SO-{n}" for n in range(21)]


def test_wake_ups_merged_into_one_still_send_every_event_without_the_sweep(
        app, receiver, no_sweep):
    from erpkit.events import ORDER_EVENTS

    event = ORDER_EVENTS["erpkit_order_confirmed"]
    written = 60
    with app.app_context():
        for n in range(written):  # a commit every 10 ms: most wake-ups are merged
            emit(db.session, event, _confirmed(n, n % 6 + 1), order_id=n % 6 + 1)
            db.session.commit()
            time.sleep(0.01)
    got = receiver.wait_for(written, timeout=15)
    assert len(got) == written
    sent = [r.event["data"]["number"] for r in got]
    for lane in range(6):  # each order's events in order
        mine = [f"SO-{n}" for n in range(written) if n % 6 == lane]
        assert [s for s in sent if s in set(mine)] == mine
