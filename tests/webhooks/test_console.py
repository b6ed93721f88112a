"""The console's webhook pages: an admin registers an endpoint (its secret shown once) and
sees deliveries and attempts; a URL to loopback is refused when not allowed."""

from __future__ import annotations

import re

import sqlalchemy as sa

from erpkit.db import db
from erpkit.testing import PASSWORD
from erpkit.webhook_models import WebhookSubscription

from .conftest import set_parameters


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
