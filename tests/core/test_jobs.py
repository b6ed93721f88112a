"""Background jobs: declared by a plugin, asked for in a transaction, run by a real huey
worker only after the commit, tried again with backoff, visible in ``erpkit jobs``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erpkit.cli import main
from erpkit.db import db, utcnow
from erpkit.jobs import Job, PeriodicTask, embedded_worker, enqueue, jobs_of
from erpkit.service_models import JobRun
from erpkit.testing import make_plugin


def wait_for(condition: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()


class Probe:
    """What the jobs of the test plugin saw."""

    def __init__(self) -> None:
        self.greeted: list[str] = []
        self.attempts: list[float] = []
        self.ticks: list[float] = []


def jobs_plugin(probe: Probe) -> Any:
    def greet(context, name):
        probe.greeted.append(name)

    def always_fails(context):
        probe.attempts.append(time.monotonic())
        raise ConnectionError(f"the far side is down (attempt {len(probe.attempts)})")

    def tick(context):
        probe.ticks.append(time.monotonic())

    return make_plugin("jobsprobe", erpkit_jobs=lambda: [
        Job("jobsprobe.greet", greet),
        Job("jobsprobe.fail", always_fails, retries=2, retry_delay=1.0),
        PeriodicTask("jobsprobe.tick", tick, every=timedelta(seconds=1)),
    ])


def _run_of(app, run_id: int) -> JobRun:
    with app.app_context():
        run = db.session.get(JobRun, run_id)
        assert run is not None
        db.session.expunge(run)
        return run


def test_hook_erpkit_jobs(make_app):
    app = make_app(jobs_plugin(Probe()))

    service = jobs_of(app)

    assert {"jobsprobe.greet", "jobsprobe.fail", "core.send_mail"} <= set(service.jobs)
    assert {"jobsprobe.tick", "core.step_sweep"} <= set(service.periodic)
    assert service.jobs["jobsprobe.fail"].retries == 2


def test_a_job_runs_only_after_its_transaction_commits(make_app):
    probe = Probe()
    app = make_app(jobs_plugin(probe))
    jobs_of(app).huey.flush()
    with embedded_worker(app):
        with app.app_context():
            enqueue(db.session, "jobsprobe.greet", name="rolled back")
            db.session.rollback()
            run = enqueue(db.session, "jobsprobe.greet", name="committed")
            time.sleep(0.5)
            assert probe.greeted == []  # asked for, not committed yet: nothing runs
            db.session.commit()
            run_id = run.id

        assert wait_for(lambda: probe.greeted) == ["committed"]
        assert wait_for(lambda: _run_of(app, run_id).status == "done")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun).where(
            JobRun.name == "jobsprobe.greet")) == 1


def test_a_failing_job_is_retried_with_backoff_and_its_last_error_is_shown(make_app):
    probe = Probe()
    app = make_app(jobs_plugin(probe))
    jobs_of(app).huey.flush()
    with embedded_worker(app):
        with app.app_context():
            run_id = enqueue(db.session, "jobsprobe.fail").id
            db.session.commit()
        assert wait_for(lambda: _run_of(app, run_id).status == "failed", timeout=30)

    first, second, third = probe.attempts
    assert second - first >= 0.9  # retry_delay 1 s ...
    assert third - second >= 1.9  # ... doubled for the next attempt
    run = _run_of(app, run_id)
    assert (run.attempts, run.max_attempts) == (3, 3)

    shown = CliRunner().invoke(main, ["jobs", "show", str(run_id)], obj={"app": app})
    assert shown.exit_code == 0, shown.output
    assert "status:          failed" in shown.output
    assert "attempts:        3" in shown.output
    assert "ConnectionError: the far side is down (attempt 3)" in shown.output
    listed = CliRunner().invoke(main, ["jobs", "list", "--status", "failed"], obj={"app": app})
    assert f"{run_id}" in listed.output and "jobsprobe.fail" in listed.output

    with embedded_worker(app):
        again = CliRunner().invoke(main, ["jobs", "retry", str(run_id)], obj={"app": app})
        assert again.exit_code == 0, again.output
        assert wait_for(lambda: len(probe.attempts) == 6 and _run_of(app, run_id).status
                        == "failed", timeout=30)
    assert _run_of(app, run_id).attempts == 6  # the history stays on the record


def test_retrying_a_run_that_waits_already_is_refused(make_app):
    app = make_app(jobs_plugin(Probe()))
    with app.app_context():
        run_id = enqueue(db.session, "jobsprobe.greet", name="x").id
        db.session.commit()
    refused = CliRunner().invoke(main, ["jobs", "retry", str(run_id)], obj={"app": app})
    unknown = CliRunner().invoke(main, ["jobs", "show", "999999"], obj={"app": app})

    assert refused.exit_code == 1 and "is queued already" in refused.output
    assert unknown.exit_code == 1 and "no job run 999999" in unknown.output


def test_asking_for_an_undeclared_job_names_the_fix(make_app):
    app = make_app(jobs_plugin(Probe()))
    with app.app_context(), pytest.raises(KeyError, match="declare it with the hook"):
        enqueue(db.session, "jobsprobe.nope")


def test_a_periodic_task_runs_once_per_period_with_two_workers(make_app):
    probe = Probe()
    app = make_app(jobs_plugin(probe))
    jobs_of(app).huey.flush()
    with embedded_worker(app, workers=2), embedded_worker(app, workers=2):
        time.sleep(4.5)
    # Two consumers, each with its own scheduler, offer the task every second; each
    # one-second slot is claimed once.
    with app.app_context():
        slots = list(db.session.scalars(sa.select(JobRun.dedupe_key).where(
            JobRun.name == "jobsprobe.tick")))
    assert 3 <= len(probe.ticks) <= 6
    assert len(slots) == len(set(slots)) == len(probe.ticks)


def test_a_run_whose_worker_stopped_is_tried_again_and_a_lost_message_handed_out_again(
        make_app):
    probe = Probe()
    app = make_app(jobs_plugin(probe))
    jobs_of(app).huey.flush()
    long_ago = utcnow() - timedelta(hours=2)
    with app.app_context():
        # What a worker killed in the middle of a run leaves: ``running``, for ever.
        killed = JobRun(name="jobsprobe.greet", args={"name": "killed"}, status="running",
                        attempts=1, max_attempts=4, worker="gone:1", enqueued_at=long_ago,
                        started_at=long_ago)
        spent = JobRun(name="jobsprobe.greet", args={"name": "spent"}, status="running",
                       attempts=1, max_attempts=1, worker="gone:1", enqueued_at=long_ago,
                       started_at=long_ago)
        recent = JobRun(name="jobsprobe.greet", args={"name": "recent"}, status="running",
                        attempts=1, max_attempts=4, worker="busy:2", enqueued_at=utcnow(),
                        started_at=utcnow())
        # ... and a message that no worker ever took (the queue lost it).
        lost = JobRun(name="jobsprobe.greet", args={"name": "lost message"}, status="queued",
                      max_attempts=4, enqueued_at=long_ago)
        db.session.add_all([killed, spent, recent, lost])
        db.session.commit()
        ids = killed.id, spent.id, recent.id, lost.id

    with embedded_worker(app):
        with app.app_context():
            enqueue(db.session, "core.jobs_reclaim")
            db.session.commit()
        assert wait_for(lambda: sorted(probe.greeted) == ["killed", "lost message"])
        assert wait_for(lambda: _run_of(app, ids[0]).status == "done")

    killed, spent, recent, lost = (_run_of(app, run_id) for run_id in ids)
    assert killed.attempts == 2 and lost.status == "done"
    assert spent.status == "failed" and "its worker stopped" in (spent.last_error or "")
    assert "on worker gone:1" in (spent.last_error or "")
    assert recent.status == "running"  # still within its time: left alone
