"""Two real ``erpkit worker`` processes sweep the department steps: an order that runs
over its step is escalated exactly once, on Redis storage (a queue of this run's own)
and on the SQLite storage alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from erpkit.db import db, utcnow
from erpkit.jobs import enqueue
from erpkit.service_models import JobRun, Notification, StepBreach
from erpkit_orders.models import Order, TimelineEvent

from .conftest import order_body


def _redis_answers() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379/0").ping())
    except Exception:
        return False


def _count(app, model, *where) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)))


def _wait(condition, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.1)
    return condition()


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["redis", "sqlite"])
def test_two_workers_escalate_a_late_order_exactly_once(
        storage, app, database_url, users, as_role, catalogue, tmp_path):
    if storage == "redis" and not _redis_answers():
        pytest.fail("Redis does not answer at 127.0.0.1:6379")
    users.create("root", "admin")
    users.create("ada", "admin")
    users.create("wes", "warehouse")
    order = as_role("sales").post("/api/orders", json=order_body(catalogue)).get_json()
    as_role("sales").post(f"/api/orders/{order['id']}/submit")
    with app.app_context():
        assert db.session.get(Order, order["id"]).status == "confirmed"
        # confirmed three days ago: 48h is the limit of confirmed -> shipped
        db.session.execute(sa.update(TimelineEvent).where(TimelineEvent.order_id == order["id"])
                           .values(at=utcnow() - timedelta(days=3)))
        app.extensions["erpkit"].parameters.set(db.session, "core.step_sweep_seconds", "1",
                                                actor="test")
        db.session.commit()

    queue = f"erpkit-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    jobs_url = ("redis://127.0.0.1:6379/0" if storage == "redis"
                else f"sqlite:///{tmp_path / 'jobs.db'}")
    env = {**os.environ, "ERPKIT_DATABASE_URL": database_url, "ERPKIT_PLUGINS": "orders",
           "ERPKIT_JOBS_URL": jobs_url, "ERPKIT_JOBS_NAME": queue}
    logs = [open(tmp_path / f"worker-{n}.log", "w") for n in (1, 2)]  # noqa: SIM115
    workers = [subprocess.Popen([sys.executable, "-m", "erpkit.cli", "worker", "--threads", "2"],
                                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
               for log in logs]
    try:
        # Besides the periodic sweeps, ask for sweeps by hand, a few at a time, until both
        # workers have swept: they race for the same breach.
        app.config.update(JOBS_URL=jobs_url, JOBS_NAME=queue)
        app.extensions.pop("erpkit.jobs", None)  # this app's jobs now go to the workers' queue
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(_sweepers(app)) < 2:
            with app.app_context():
                for _ in range(4):
                    enqueue(db.session, "core.step_sweep")
                db.session.commit()
            time.sleep(0.3)

        assert len(_sweepers(app)) == 2, (_sweepers(app), _logs(tmp_path))
        assert _count(app, StepBreach) >= 1, _logs(tmp_path)
        time.sleep(2.5)  # more periodic sweeps by both workers: nothing more happens
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

    assert _count(app, StepBreach) == 1
    admins = _count(app, Notification, Notification.kind == "escalation")
    assert admins == 2  # root and ada, once each
    assert _count(app, Notification, Notification.kind == "alert") == 1  # wes, the warehouse
    assert _count(app, TimelineEvent, TimelineEvent.order_id == order["id"],
                  TimelineEvent.message.like("%escalated to role admin%")) == 1
    with app.app_context():
        failed = db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)
                                   .where(JobRun.status == "failed"))
        assert failed == 0, _logs(tmp_path)


def _sweepers(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(JobRun.worker).where(
            JobRun.name == "core.step_sweep", JobRun.status == "done")))


def _logs(folder: Path) -> str:
    return "\n".join(path.read_text()[-3000:] for path in sorted(folder.glob("worker-*.log")))
