"""Finding job runs that nobody will finish, and handing them out again.

huey deletes a message when a worker takes it, so a worker killed in the middle of a
run (``kill -9``, a lost machine) leaves its run ``running`` in ``core_job_run`` for
ever, and a message lost before any worker took it (a Redis flush, a power cut under
SQLite's ``synchronous=NORMAL``) leaves its run ``queued``. The periodic task
``core.jobs_reclaim`` finds both:

- a run ``running`` for longer than its job's ``lost_after`` is taken as lost: tried
  again if its attempts allow (``retrying``, with the reason as its last error), else
  ``failed``, where ``erpkit jobs retry`` finds it;
- a run ``queued`` or ``retrying`` whose time came more than :data:`MESSAGE_LOST_AFTER`
  ago is handed to huey again. Handing a run over twice is safe: a worker starts a run
  only by moving it from waiting to running in one conditional UPDATE.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from erpkit.db import utcnow
from erpkit.jobs import JobContext, PeriodicTask, jobs_of
from erpkit.service_models import JobRun
from erpkit.transitions import after_commit

#: A waiting run whose message no worker took in this long is handed over again.
MESSAGE_LOST_AFTER = timedelta(minutes=5)
RECLAIM = "core.jobs_reclaim"


def reclaim_job(context: JobContext) -> None:
    from flask import current_app

    session = context.session
    service = jobs_of(current_app._get_current_object())  # type: ignore[attr-defined]
    now = utcnow()
    to_hand_over: list[int] = []
    running = session.scalars(sa.select(JobRun).where(JobRun.status == "running")
                              .with_for_update(skip_locked=True))
    for run in running:
        if context.run is not None and run.id == context.run.id:
            continue  # this very sweep
        job = service.job(run.name)
        lost_after = job.lost_after if job is not None else timedelta(minutes=30)
        if run.started_at is None or run.started_at > now - lost_after:
            continue
        started = run.started_at.strftime("%Y-%m-%d %H:%M:%S")
        reason = (f"lost: still running after {lost_after} (started {started} UTC on worker "
                  f"{run.worker or 'unknown'}); its worker stopped")
        run.last_error = reason
        if job is not None and run.attempts < run.max_attempts:
            run.status, run.next_attempt_at = "retrying", now
            to_hand_over.append(run.id)
        else:
            run.status, run.finished_at = "failed", now
    waiting = session.scalars(sa.select(JobRun.id).where(
        JobRun.status.in_(("queued", "retrying")),
        sa.func.coalesce(JobRun.next_attempt_at, JobRun.enqueued_at) < now - MESSAGE_LOST_AFTER))
    to_hand_over.extend(waiting)
    def hand_over_all() -> None:
        for run_id in to_hand_over:
            service.hand_over(run_id)

    if to_hand_over:
        after_commit(session, hand_over_all)


TASK = PeriodicTask(RECLAIM, reclaim_job, every=timedelta(minutes=1),
                    description="Try again the job runs whose worker stopped, and hand out "
                                "again those whose message was lost.")
