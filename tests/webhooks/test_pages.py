"""Webhook subscriptions and a delivery's attempts are pages (``{"items", "next"}``): one
request reads at most ``limit`` rows however many endpoints or tries there are."""

from __future__ import annotations

import pytest

from erpkit.db import db
from erpkit.testing import every_page
from erpkit.webhook_models import OutboxEvent, WebhookAttempt, WebhookDelivery
from erpkit.webhooks import subscribe

pytestmark = pytest.mark.usefixtures("local_receivers_allowed")


def _subscriptions(app, count):
    with app.app_context():
        made = [subscribe(db.session, app.extensions["erpkit"],
                          url=f"http://127.0.0.1:9/hook-{n}", events=["*"]).id
                for n in range(count)]
        db.session.commit()
        return made


def _delivery_tried(app, times):
    """A delivery of one event, tried ``times`` times (attempt numbers 1, 2...)."""
    [subscription] = _subscriptions(app, 1)
    with app.app_context():
        event = OutboxEvent(name="order.created", payload={}, dispatched=True)
        db.session.add(event)
        db.session.flush()
        delivery = WebhookDelivery(subscription_id=subscription, event_id=event.id,
                                   lane="order:1", status="delivering", attempts=times)
        db.session.add(delivery)
        db.session.flush()
        db.session.add_all(WebhookAttempt(delivery_id=delivery.id, number=n, status_code=500,
                                          latency_ms=n, ok=False) for n in range(1, times + 1))
        db.session.commit()
        return delivery.id


def test_subscriptions_come_a_page_at_a_time_oldest_first_each_once(app, as_role):
    made = _subscriptions(app, 5)

    pages, nexts = every_page(as_role("admin").get, "/api/webhooks/subscriptions", limit=2)

    assert [[s["id"] for s in page] for page in pages] == [made[:2], made[2:4], made[4:]]
    assert nexts == [made[1], made[3], None]


def test_a_delivery_s_attempts_come_a_page_at_a_time_in_the_order_tried(app, as_role):
    delivery = _delivery_tried(app, 3)

    pages, _ = every_page(as_role("admin").get, f"/api/webhooks/deliveries/{delivery}/attempts",
                          limit=2)

    assert [[a["number"] for a in page] for page in pages] == [[1, 2], [3]]


def test_the_attempts_of_a_delivery_that_does_not_exist_are_a_404(as_role):
    assert as_role("admin").get("/api/webhooks/deliveries/99/attempts").status_code == 404


@pytest.mark.parametrize("path", ["/api/webhooks/subscriptions",
                                  "/api/webhooks/deliveries/{delivery}/attempts"])
@pytest.mark.parametrize("query,field", [({"limit": 501}, "limit"), ({"after": "x"}, "after"),
                                         ({"after": 2**31}, "after")])
def test_a_page_too_large_or_a_bad_cursor_is_a_422_naming_it(app, as_role, path, query, field):
    delivery = _delivery_tried(app, 1)

    refused = as_role("admin").get(path.format(delivery=delivery), query_string=query)

    assert refused.status_code == 422, refused.get_json()
    assert [e["field"] for e in refused.get_json()["errors"]] == [field]
