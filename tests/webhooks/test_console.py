"""The console's webhook pages: an admin registers an endpoint (its secret shown once) and
sees deliveries and attempts; a URL to loopback is refused when not allowed; every event
since a time is replayed; a secret is rotated with an overlap both secrets sign in."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import sqlalchemy as sa
from standardwebhooks import Webhook

from erpkit.db import db, utcnow
from erpkit.testing import PASSWORD
from erpkit.webhook_models import WebhookDelivery, WebhookSubscription

from .conftest import order_body, set_parameters


def csrf_token_in(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def log_in(client, login):
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"login": login, "password": PASSWORD,
                                       "csrf_token": token})


def post_form(client, url, data, *, page=None, **kwargs):
    token = csrf_token_in(client.get(page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def test_an_admin_registers_an_endpoint_in_the_console(app, client, users, receiver):
    set_parameters(app, allow_http=True, allowed_networks=["127.0.0.0/8"])
    users.create("root", "admin")
    log_in(client, "root")
    made = post_form(client, "/admin/webhooks/new/", {
        "url": receiver.url, "event_names": "order.created, order.confirmed",
        "description": "shop", "active": "y"}, follow_redirects=True)
    assert "shown once" in made.get_data(as_text=True)
    with app.app_context():
        subscription = db.session.scalars(sa.select(WebhookSubscription)).one()
        assert subscription.events == ["order.created", "order.confirmed"]
        assert subscription.secret.startswith("whsec_")
    for page in ("/admin/webhooks/", "/admin/webhook-deliveries/", "/admin/webhook-attempts/"):
        assert client.get(page).status_code == 200, page

    set_parameters(app, allowed_networks=[])
    refused = post_form(client, "/admin/webhooks/new/", {
        "url": receiver.url, "event_names": "*", "description": "", "active": "y"},
        page="/admin/webhooks/new/", follow_redirects=True)
    assert "loopback" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            WebhookSubscription)) == 1


def _subscribe(admin, url, events=("order.created",)):
    answer = admin.post("/api/webhooks/subscriptions", json={"url": url, "events": list(events)})
    assert answer.status_code == 201, answer.json
    return answer.json


def test_an_admin_replays_every_event_since_a_time_in_the_console(
        app, client, users, as_role, catalogue, receiver, worker, local_receivers_allowed):
    subscription = _subscribe(as_role("admin"), receiver.url)
    _subscribe(as_role("admin"), receiver.url + "?other")  # another endpoint, not chosen
    as_role("sales").post("/api/orders", json=order_body(catalogue))
    assert len(receiver.wait_for(2)) == 2
    time.sleep(1.1)  # the form's times have whole seconds
    since = utcnow().replace(microsecond=0)
    second = as_role("sales").post("/api/orders", json=order_body(catalogue)).json
    first_round = receiver.wait_for(4)
    assert len(first_round) == 4
    users.create("root", "admin")
    log_in(client, "root")
    assert 'data-testid="replay-since-link"' in client.get(
        "/admin/webhook-deliveries/").get_data(as_text=True)

    done = post_form(client, "/admin/webhook-deliveries/replay-since/", {
        "since": since.strftime("%Y-%m-%dT%H:%M:%S"),
        "subscription_id": str(subscription["id"])}, follow_redirects=True)

    assert "1 delivery queued again" in done.get_data(as_text=True)
    again = receiver.wait_for(5)
    assert len(again) == 5
    replayed = again[4]
    assert replayed.event["data"]["order_id"] == second["id"]
    assert replayed.event["type"] == "order.created"
    Webhook(subscription["secret"]).verify(replayed.body, replayed.headers)  # the one chosen
    original = next(r for r in first_round if r.event["data"]["order_id"] == second["id"])
    assert replayed.headers["webhook-id"] == original.headers["webhook-id"]
    with app.app_context():
        replays = db.session.scalars(sa.select(WebhookDelivery).where(
            WebhookDelivery.replay_of.is_not(None))).all()
        assert [(d.subscription_id, d.replay_of) for d in replays] == [
            (subscription["id"], replays[0].event_id)]


def test_a_replay_without_a_time_or_with_a_bad_one_is_refused_naming_the_field(
        app, client, users):
    users.create("root", "admin")
    log_in(client, "root")
    url = "/admin/webhook-deliveries/replay-since/"
    for since, subscription, field in (("", "", "since"), ("yesterday", "", "since"),
                                       ("2026-12-01T08:00", "x", "subscription_id")):
        page = post_form(client, url, {"since": since, "subscription_id": subscription})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and 'data-testid="replay-error"' in text, since
        assert f"{field}:" in text, (since, text[text.find("Nothing replayed"):][:200])
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0


def test_an_admin_rotates_a_secret_with_an_overlap_in_the_console(
        app, client, users, as_role, catalogue, receiver, worker, local_receivers_allowed):
    old = _subscribe(as_role("admin"), receiver.url)
    users.create("root", "admin")
    log_in(client, "root")
    url = f"/admin/webhooks/rotate/?id={old['id']}"
    assert f"/admin/webhooks/rotate/?id={old['id']}" in client.get(
        "/admin/webhooks/").get_data(as_text=True)  # each row links to its rotation

    refused = post_form(client, url, {"overlap_hours": "9999"}).get_data(as_text=True)
    assert 'data-testid="rotate-error"' in refused and "overlap_hours:" in refused
    with app.app_context():
        assert db.session.get(WebhookSubscription, old["id"]).secret == old["secret"]

    page = post_form(client, url, {"overlap_hours": "2"}).get_data(as_text=True)
    new_secret = re.search(r"New secret \(shown once\): <code>(whsec_[^<]+)</code>", page)
    assert new_secret, page
    with app.app_context():
        rotated = db.session.get(WebhookSubscription, old["id"])
        assert rotated.secret == new_secret.group(1) != old["secret"]
        left = rotated.previous_secret_until - utcnow()
        assert timedelta(hours=1, minutes=59) < left <= timedelta(hours=2)
    as_role("sales").post("/api/orders", json=order_body(catalogue))
    request = receiver.wait_for(1)[0]
    Webhook(new_secret.group(1)).verify(request.body, request.headers)
    Webhook(old["secret"]).verify(request.body, request.headers)

    post_form(client, url, {"overlap_hours": "0"})  # no overlap: only the newest signs
    with app.app_context():
        assert db.session.get(WebhookSubscription, old["id"]).previous_secret is None
