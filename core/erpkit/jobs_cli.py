"""``erpkit worker`` (run jobs and the periodic schedule) and ``erpkit jobs list|show|retry``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import sqlalchemy as sa
from flask import current_app

from erpkit.db import db
from erpkit.jobs import jobs_of, retry
from erpkit.service_models import JobRun
from erpkit.serving import settle_after_startup


def _service() -> Any:
    return jobs_of(current_app._get_current_object())  # type: ignore[attr-defined]


@click.command("worker")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at once by this worker.")
def worker_command(threads: int) -> None:
    """Run background jobs and the periodic schedule until stopped (Ctrl-C, SIGTERM).

    Start as many workers as you like, on as many machines as share ERPKIT_JOBS_URL
    (redis://...): each job runs once, each periodic task once per period.
    """
    service = _service()
    db.session.close()  # the command's session must not hold a transaction meanwhile
    consumer = service.consumer(threads)
    settle_after_startup()
    click.echo(f"worker on {service.url.split('@')[-1]} (queue {service.name}), {threads} "
               f"thread(s); jobs: {', '.join(sorted(service.jobs)) or 'none'}; periodic: "
               f"{', '.join(sorted(service.periodic)) or 'none'}", err=True)
    consumer.run()


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs: their state, attempts and last error."""


def _row(run: JobRun) -> dict[str, Any]:
    return {"id": run.id, "name": run.name, "status": run.status, "attempts": run.attempts,
            "max_attempts": run.max_attempts, "args": run.args, "last_error": run.last_error,
            "worker": run.worker,
            "enqueued_at": run.enqueued_at.isoformat() if run.enqueued_at else None,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "next_attempt_at": run.next_attempt_at.isoformat() if run.next_attempt_at else None}


@jobs_group.command("list")
@click.option("--status", type=click.Choice(["queued", "running", "retrying", "done", "failed"]))
@click.option("--name", help="Only runs of this job.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True)
def jobs_list(status: str | None, name: str | None, limit: int, as_json: bool) -> None:
    """The latest job runs, newest first."""
    query = sa.select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if status:
        query = query.where(JobRun.status == status)
    if name:
        query = query.where(JobRun.name == name)
    runs = list(db.session.scalars(query))
    if as_json:
        click.echo(json.dumps([_row(run) for run in runs]))
        return
    click.echo(f"{'id':>8}  {'name':<28}{'status':<10}{'attempts':<10}last error")
    for run in runs:
        error = (run.last_error or "").splitlines()[-1:] or [""]
        click.echo(f"{run.id:>8}  {run.name:<28}{run.status:<10}"
                   f"{run.attempts}/{run.max_attempts:<8}{error[0][:60]}")


def _get(run_id: int) -> JobRun:
    run = db.session.get(JobRun, run_id)
    if run is None:
        click.secho(f"refused: id: no job run {run_id}", fg="red", err=True)
        sys.exit(1)
    return run


@jobs_group.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def jobs_show(run_id: int, as_json: bool) -> None:
    """One job run: arguments, state, attempts, worker, times and last error."""
    row = _row(_get(run_id))
    if as_json:
        click.echo(json.dumps(row))
        return
    for key, value in row.items():
        if key != "last_error":
            click.echo(f"{key + ':':<17}{json.dumps(value) if key == 'args' else value}")
    click.echo(f"{'last_error:':<17}{row['last_error'] or '-'}")


@jobs_group.command("retry")
@click.argument("run_id", type=int)
def jobs_retry(run_id: int) -> None:
    """Ask again for a run that failed (or was lost with its worker)."""
    _get(run_id)
    try:
        run = retry(db.session, run_id)
    except ValueError as exc:
        click.secho(f"refused: id: {exc}", fg="red", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"job run {run.id} ({run.name}) queued again")
