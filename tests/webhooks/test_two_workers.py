"""Two real ``erpkit worker`` processes on Redis storage (a queue of this run's own)
deliver every event exactly once, each order's events in order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.webhook_models import OutboxEvent, WebhookDelivery

from .conftest import order_body, wait_until


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0").ping())
    except Exception:
        return False


#: Orders placed, each one lane of 7 events.
ORDERS = 40


@pytest.mark.slow
@pytest.mark.usefixtures("local_receivers_allowed")
def test_two_workers_deliver_every_event_exactly_once_in_order(
        app, database_url, as_role, catalogue, receiver, tmp_path):
    if not _redis_answers():
        pytest.fail("Redis does not answer at 127.0.0.1:6379")
    as_role("admin").post("/api/webhooks/subscriptions", json={"url": receiver.url,
                                                               "events": ["*"]})
    queue = f"erpkit-test-webhooks-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    jobs_url = "redis://127.0.0.1:6379/0"
    env = {**os.environ, "ERPKIT_DATABASE_URL": database_url, "ERPKIT_PLUGINS": "orders",
           "ERPKIT_JOBS_URL": jobs_url, "ERPKIT_JOBS_NAME": queue}
    logs = [open(tmp_path / f"worker-{n}.log", "w") for n in (1, 2)]  # noqa: SIM115
    workers = [subprocess.Popen([sys.executable, "-m", "erpkit.cli", "worker", "--threads", "2"],
                                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
               for log in logs]
    ready = wait_until(lambda: all("periodic:" in (tmp_path / f"worker-{n}.log").read_text()
                                   for n in (1, 2)), timeout=30)
    assert ready, "the workers did not start"
    # A receiver that takes its time, and lanes enough (orders) for more wake-up messages
    # than one worker's two threads can hold at once: the other worker must take some
    # (with 20 orders a loaded machine once let one worker take all of them).
    receiver.delay = 0.02
    app.config.update(JOBS_URL=jobs_url, JOBS_NAME=queue)
    app.extensions.pop("erpkit.jobs", None)  # this app's wake-ups now go to the workers
    try:
        sales = as_role("sales")
        for _ in range(ORDERS):
            order = sales.post("/api/orders", json=order_body(catalogue)).json
            sales.post(f"/api/orders/{order['id']}/submit")
        with app.app_context():
            events = db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id)).all()
            expected = [(e.webhook_id, e.order_id) for e in events]
        assert len(expected) == ORDERS * 7
        receiver.wait_for(len(expected), timeout=60)

        def all_finished() -> bool:
            with app.app_context():
                return not db.session.scalar(sa.select(sa.func.count()).select_from(
                    WebhookDelivery).where(WebhookDelivery.status != "delivered"))

        assert wait_until(all_finished, timeout=30)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            worker.wait(30)
        for log in logs:
            log.close()
        app.config.pop("JOBS_URL", None)
        app.config.pop("JOBS_NAME", None)
        app.extensions.pop("erpkit.jobs", None)

    logs_text = "\n".join((tmp_path / f"worker-{n}.log").read_text()[-3000:] for n in (1, 2))
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert Counter(ids) == Counter(i for i, _ in expected), logs_text  # each exactly once
    position = {webhook_id: n for n, webhook_id in enumerate(ids)}
    for order_id in {o for _, o in expected}:
        mine = [i for i, o in expected if o == order_id]
        assert sorted(mine, key=position.__getitem__) == mine  # an order's events in order
    with app.app_context():
        senders = set(db.session.scalars(sa.select(WebhookDelivery.claimed_by).distinct()))
    assert len(senders) == 2, (senders, logs_text)  # both workers took part
