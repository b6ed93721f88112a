"""The webhook pages in a real browser (Debian's chromium via Playwright): an admin replays
every event since a time for one endpoint, and rotates a secret with an overlap.
Screenshots land in test-artifacts/<backend>/webhooks-console/."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erpkit.db import db, utcnow
from erpkit.testing import PASSWORD, artifact_folder
from erpkit.webhook_models import WebhookDelivery, WebhookSubscription

from .conftest import order_body

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("local_receivers_allowed")]


@pytest.fixture
def shots(request):
    folder = artifact_folder(request.config.rootpath, "webhooks-console", request.node.name)
    count = [0]

    def shot(page, name):
        count[0] += 1
        path = folder / f"{count[0]:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


def log_in(browser, base, login):
    context = browser.new_context(base_url=base, viewport={"width": 1400, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")
    return page


def test_an_admin_replays_since_a_time_and_rotates_a_secret_in_the_browser(
        app, users, as_role, catalogue, receiver, live_url, chromium, shots):
    admin = as_role("admin")
    made = admin.post("/api/webhooks/subscriptions",
                      json={"url": receiver.url, "events": ["order.created"]}).json
    since = utcnow().replace(second=0, microsecond=0)
    as_role("sales").post("/api/orders", json=order_body(catalogue))
    users.create("root", "admin")
    page = log_in(chromium, live_url, "root")

    page.goto("/admin/webhook-deliveries/")
    page.get_by_test_id("replay-since-link").click()
    page.get_by_label("Since (UTC)").fill(since.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("Endpoint").select_option(str(made["id"]))
    shots(page, "replay-since-form")
    page.get_by_role("button", name="Replay").click()
    page.get_by_text("1 delivery queued again").wait_for()
    shots(page, "replayed")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)
                                 .where(WebhookDelivery.replay_of.is_not(None))) == 1

    page.goto("/admin/webhooks/")
    page.locator(f'a[href*="/admin/webhooks/rotate/?id={made["id"]}"]').click()
    page.get_by_label("Overlap (hours)").fill("6")
    shots(page, "rotate-form")
    page.get_by_role("button", name="Rotate").click()
    page.get_by_test_id("new-secret").wait_for()
    shots(page, "rotated")
    shown = page.get_by_test_id("new-secret").locator("code").inner_text()
    with app.app_context():
        rotated = db.session.get(WebhookSubscription, made["id"])
        assert rotated.secret == shown and rotated.previous_secret == made["secret"]
