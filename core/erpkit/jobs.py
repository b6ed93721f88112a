"""Background jobs and periodic tasks, run by huey; our own table is the record of truth.

Plugins declare :class:`Job`\\ s and :class:`PeriodicTask`\\ s through the hook
``erpkit_jobs``. Code asks for a job with :func:`enqueue` inside its transaction: a row
of ``core_job_run`` is written with the transaction, and huey receives the row's id only
once the transaction has committed (``after_commit``), so a job never runs for a change
that rolled back and never runs before the data it needs is visible.

huey (https://huey.readthedocs.io) executes and schedules: ``SqliteHuey`` by default (a
file beside the database, no server needed), ``RedisHuey`` for production, where any
number of ``erpkit worker`` processes on any number of machines share the queue
(``ERPKIT_JOBS_URL=redis://host:6379/0``). huey deletes a message when a worker takes it,
so the state of a job (attempts, last error) is kept in our table, and a job must be safe
to run twice: the runner only starts a run that is still queued, and commits the job's
own writes together with "done".

A failed run is tried again after ``retry_delay`` seconds, doubled at each attempt
(``retries`` times); ``erpkit jobs show ID`` shows its attempts and last error and
``erpkit jobs retry ID`` asks for it again. A run whose worker stopped while running it
is tried again by the periodic task ``core.jobs_reclaim`` (see :mod:`erpkit.job_reclaim`).

A periodic task runs every ``every`` (or every so many seconds as its parameter says).
Each worker's huey scheduler offers it; the first worker to claim the time slot (a
unique ``dedupe_key``) runs it, so several workers run it once per slot.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha1
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from huey import RedisHuey
from huey.api import Huey
from huey.consumer import Consumer, Scheduler
from huey.exceptions import RetryTask
from huey.storage import SqliteStorage
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.plugins import setup_items
from erpkit.service_models import JobRun
from erpkit.transitions import after_commit

if TYPE_CHECKING:
    from flask import Flask

    from erpkit.plugins import Registry

log = logging.getLogger(__name__)

#: The huey task of a recorded run: it carries a job run's id (the row says the rest).
RUN_TASK = "erpkit.run_job"
#: The huey task of a wake-up: a job's name and arguments, no run row (see ``wake``).
WAKE_TASK = "erpkit.wake_job"
#: A worker's name in ``core_job_run.worker``: host and process.
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    """A kind of background job a plugin offers: ``run(context, **args)``.

    ``name`` is prefixed with the plugin name (``core.send_mail``). ``args`` must be
    JSON. The run happens in a transaction of its own (``context.session``) that commits
    with the run marked done; raise to fail the attempt.
    """

    name: str
    run: Callable[..., Any]
    retries: int = 3
    retry_delay: float = 10.0  # seconds before the first retry; doubled at each attempt
    description: str = ""
    #: A run still ``running`` after this long is taken as lost (its worker stopped) and
    #: tried again by ``core.jobs_reclaim``: set it above the job's longest honest run.
    lost_after: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class PeriodicTask:
    """A job run on a schedule: ``run(context)`` every ``every`` (or every
    ``every_parameter`` seconds, an integer parameter, when set)."""

    name: str
    run: Callable[..., Any]
    every: timedelta = timedelta(minutes=1)
    every_parameter: str | None = None
    description: str = ""
    lost_after: timedelta = timedelta(minutes=30)


@dataclass
class JobContext:
    """What a running job receives: a session of its own, the registry, the run
    (``None`` for a wake-up, which has no run row)."""

    session: Session
    registry: Registry
    run: JobRun | None
    config: Mapping[str, Any] = field(default_factory=dict)


# --- where the queue lives -------------------------------------------------------------


def jobs_url(config: Mapping[str, Any], instance_path: str | None = None) -> str:
    """The storage of the queue: ``JOBS_URL``, else ``ERPKIT_JOBS_URL``, else a SQLite
    file beside a SQLite database (``erpkit.jobs.db``) or in the instance folder."""
    url = config.get("JOBS_URL") or os.environ.get("ERPKIT_JOBS_URL")
    if url:
        return str(url)
    database = sa.make_url(str(config["DATABASE_URL"]))
    if database.get_backend_name() == "sqlite" and database.database not in (None, "", ":memory:"):
        path = Path(str(database.database))
        return f"sqlite:///{path.with_name(path.stem + '.jobs.db')}"
    folder = Path(instance_path or os.getcwd())
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"jobs-{database.database or 'erpkit'}.db"
    return f"sqlite:///{file}"


def queue_name(config: Mapping[str, Any]) -> str:
    """The huey name (the queue's key prefix): ``JOBS_NAME``, ``ERPKIT_JOBS_NAME``, else
    one derived from the database, so two databases never share a queue."""
    name = config.get("JOBS_NAME") or os.environ.get("ERPKIT_JOBS_NAME")
    if name:
        return str(name)
    return "erpkit-" + sha1(str(config["DATABASE_URL"]).encode()).hexdigest()[:12]


def make_huey(url: str, name: str) -> Huey:
    """A huey instance on the storage ``url`` names (``sqlite:///path``, ``redis://...``)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        return Huey(name, storage_class=_QueueFile, filename=url.removeprefix("sqlite:///"),
                    results=False)
    raise ValueError(f"ERPKIT_JOBS_URL {url!r} names no job storage erpkit knows. Fix: use "
                     "sqlite:///PATH (one machine) or redis://HOST:6379/0 (several).")


class _QueueFile(SqliteStorage):
    """huey's SQLite storage, synced like our database (WAL, ``synchronous=NORMAL``).

    huey leaves SQLite's FULL default (an fsync per message, about 5 ms here, on every
    transition that asks for a job); a power cut with NORMAL may lose the last messages,
    never corrupt the file, and a lost message leaves its run ``queued`` in our table,
    where ``erpkit jobs retry`` finds it.
    """

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


# --- the service of one app -------------------------------------------------------------


class JobService:
    """The jobs of one app: its declarations, its huey instance, the runner."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.registry: Registry = app.extensions["erpkit"]
        self.jobs: dict[str, Job] = {}
        self.periodic: dict[str, PeriodicTask] = {}
        for owner, item in setup_items(self.registry, "erpkit_jobs"):
            target: dict[str, Any] = self.periodic if isinstance(item, PeriodicTask) else self.jobs
            if item.name in self.jobs or item.name in self.periodic:
                raise ValueError(f"job {item.name!r} is declared twice (again by {owner!r}). "
                                 "Fix: prefix job names with the plugin name.")
            target[item.name] = item
        self.url = jobs_url(app.config, app.instance_path)
        self.name = queue_name(app.config)
        self.huey = make_huey(self.url, self.name)
        self._task = self.huey.task(name=RUN_TASK)(self._execute)
        self._wake_task = self.huey.task(name=WAKE_TASK)(self._execute_wake)
        for task in self.periodic.values():
            self.huey.periodic_task(_always, name=f"erpkit.periodic.{task.name}")(
                _bind(self._run_periodic, task.name))

    # -- asking ----------------------------------------------------------------------

    def job(self, name: str) -> Job | None:
        """The job ``name``; a periodic task, asked for on demand, runs once, untried again."""
        if name in self.jobs:
            return self.jobs[name]
        task = self.periodic.get(name)
        if task is None:
            return None
        return Job(name=name, run=lambda context, **_args: task.run(context), retries=0,
                   lost_after=task.lost_after)

    def enqueue(self, session: Session, name: str, args: Mapping[str, Any]) -> JobRun:
        job = self.job(name)
        if job is None:
            declared = ", ".join(sorted({*self.jobs, *self.periodic})) or "none"
            raise KeyError(f"no job {name!r} is declared. Fix: declare it with the hook "
                           f"erpkit_jobs; declared: {declared}")
        run = JobRun(name=name, args=dict(args), status="queued",
                     max_attempts=job.retries + 1, enqueued_at=utcnow())
        session.add(run)
        session.flush()
        run_id = run.id
        after_commit(session, lambda: self.hand_over(run_id))
        return run

    def hand_over(self, run_id: int, delay: float | None = None) -> None:
        """Give a committed run to huey (now, or after ``delay`` seconds)."""
        if delay:
            self._task.schedule((run_id,), delay=delay)
        else:
            self._task(run_id)

    def wake(self, name: str, delay: float | None = None, **args: Any) -> None:
        """Run job ``name`` soon (or after ``delay`` seconds) with no ``core_job_run`` row.

        For jobs whose own tables are the record of truth (the webhook outbox and its
        deliveries): a wake-up costs no write, and one that is lost (a worker killed, a
        queue flushed) changes nothing that a periodic sweep of those tables does not
        find again. The job must be idempotent; a failure is logged, not tried again.
        """
        if self.job(name) is None:
            raise KeyError(f"no job {name!r} is declared. Fix: declare it with the hook "
                           "erpkit_jobs")
        if delay:
            self._wake_task.schedule((name, dict(args)), delay=delay)
        else:
            self._wake_task(name, dict(args))

    # -- running ---------------------------------------------------------------------

    def _execute_wake(self, name: str, args: Mapping[str, Any]) -> None:
        job = self.job(name)
        if job is None:
            log.warning("woken for job %r, which is not declared", name)
            return
        with job_scope(self) as (session, registry):
            context = JobContext(session=session, registry=registry, run=None,
                                 config=self.app.config)
            try:
                job.run(context, **args)
                session.commit()
            except Exception:
                session.rollback()
                log.exception("woken job %s failed", name)

    def _execute(self, run_id: int) -> None:
        with job_scope(self) as (session, registry):
            started = session.execute(
                sa.update(JobRun).where(JobRun.id == run_id,
                                        JobRun.status.in_(("queued", "retrying")))
                .values(status="running", attempts=JobRun.attempts + 1, started_at=utcnow(),
                        worker=WORKER_NAME))
            session.commit()
            if getattr(started, "rowcount", 0) != 1:
                log.info("job run %s is not waiting (done, running elsewhere or gone)", run_id)
                return
            run = session.get(JobRun, run_id)
            assert run is not None
            job = self.job(run.name)
            if job is None:
                self._finish(session, run_id, "failed", f"no job {run.name!r} is declared")
                return
            args = dict(run.args or {})
            error = self._attempt(session, registry, run, lambda c: job.run(c, **args))
            if error is None:
                return
            run = session.get(JobRun, run_id)
            assert run is not None
            if run.attempts < run.max_attempts:
                # The n-th attempt of this budget (a retry by hand starts a new one).
                nth = run.attempts - (run.max_attempts - (job.retries + 1))
                delay = job.retry_delay * 2 ** max(nth - 1, 0)
                self._finish(session, run_id, "retrying", error,
                             next_attempt_at=utcnow() + timedelta(seconds=delay))
                raise RetryTask(f"job run {run_id} failed, trying again", delay=delay)
            self._finish(session, run_id, "failed", error)

    def _attempt(self, session: Session, registry: Registry, run: JobRun,
                 body: Callable[[JobContext], Any]) -> str | None:
        """Run ``body`` in one transaction that also marks the run done; the error text
        when it fails (nothing of its writes is kept then)."""
        context = JobContext(session=session, registry=registry, run=run, config=self.app.config)
        run_id = run.id
        try:
            body(context)
            session.execute(sa.update(JobRun).where(JobRun.id == run_id).values(
                status="done", finished_at=utcnow(), last_error=None, next_attempt_at=None))
            session.commit()
        except Exception as exc:
            session.rollback()
            log.warning("job run %s (%s) failed: %s", run_id, run.name, exc)
            return "".join(traceback.format_exception_only(exc)).strip()[:4000]
        return None

    @staticmethod
    def _finish(session: Session, run_id: int, status: str, error: str,
                next_attempt_at: datetime | None = None) -> None:
        finished = None if status == "retrying" else utcnow()
        session.execute(sa.update(JobRun).where(JobRun.id == run_id).values(
            status=status, last_error=error, finished_at=finished,
            next_attempt_at=next_attempt_at))
        session.commit()

    def _run_periodic(self, name: str) -> None:
        task = self.periodic[name]
        with job_scope(self) as (session, registry):
            every = self.interval(session, task)
            now = utcnow()
            slot = int(now.timestamp() // max(every.total_seconds(), 1))
            run = JobRun(name=name, args={}, status="running", attempts=1, max_attempts=1,
                         dedupe_key=f"{name}@{slot}", worker=WORKER_NAME, enqueued_at=now,
                         started_at=now)
            session.add(run)
            try:
                session.commit()
            except sa.exc.IntegrityError:
                session.rollback()  # another worker runs this slot
                return
            error = self._attempt(session, registry, run, task.run)
            if error is not None:
                self._finish(session, run.id, "failed", error)

    def interval(self, session: Session, task: PeriodicTask) -> timedelta:
        if task.every_parameter:
            seconds = self.registry.parameters.get(session, task.every_parameter)
            return timedelta(seconds=int(seconds))
        return task.every

    # -- workers -----------------------------------------------------------------------

    def consumer(self, workers: int = 1) -> Consumer:
        """A huey consumer of this queue: ``workers`` threads and the periodic schedule,
        checked as often as the most frequent periodic task needs (1 s to 60 s)."""
        tick = 60
        if self.periodic:
            with job_scope(self) as (session, _registry):
                shortest = min(self.interval(session, t) for t in self.periodic.values())
            tick = max(1, min(60, int(shortest.total_seconds())))
        scheduler = type("ErpkitScheduler", (Scheduler,), {"periodic_task_seconds": tick})
        consumer_class = type("ErpkitConsumer", (Consumer,), {"scheduler_class": scheduler})
        return consumer_class(self.huey, workers=workers, worker_type="thread", periodic=True,
                              max_delay=1.0, check_worker_health=True)


def _always(_timestamp: datetime) -> bool:
    # The scheduler offers every periodic task at each tick; the slot claim decides.
    return True


def _bind(function: Callable[[str], None], name: str) -> Callable[[], None]:
    def run() -> None:
        function(name)

    run.__name__ = f"periodic_{name.replace('.', '_')}"
    return run


@contextmanager
def job_scope(service: JobService) -> Iterator[tuple[Session, Registry]]:
    """A session and the registry for one job, outside any request.

    The one place that knows how a worker gets a session: today an app context of the
    worker's app (its ``db.session``, closed at the end).
    """
    from erpkit.db import db

    with service.app.app_context():
        yield db.session, service.registry


# --- the functions plugins call -------------------------------------------------------

_SERVICES_KEY = "erpkit.jobs"
_lock = threading.Lock()


def jobs_of(app: Flask) -> JobService:
    """The job service of ``app`` (made on first use)."""
    with _lock:
        service = app.extensions.get(_SERVICES_KEY)
        if service is None:
            service = app.extensions[_SERVICES_KEY] = JobService(app)
        return service


def _current_service() -> JobService:
    from flask import current_app

    return jobs_of(current_app._get_current_object())  # type: ignore[attr-defined]


def enqueue(session: Session, name: str, /, **args: Any) -> JobRun:
    """Ask for the job ``name`` with ``args`` (JSON), as part of ``session``'s transaction.

    The run is recorded in the transaction and handed to a worker once it commits;
    nothing runs if it rolls back. Returns the :class:`~erpkit.service_models.JobRun`.
    """
    return _current_service().enqueue(session, name, args)


def retry(session: Session, run_id: int) -> JobRun:
    """Ask again for a run that failed (or was lost while running): a fresh attempt
    budget, handed to a worker after commit."""
    run = session.get(JobRun, run_id)
    if run is None:
        raise LookupError(f"no job run {run_id}")
    if run.status in ("queued", "retrying"):
        raise ValueError(f"job run {run_id} is {run.status} already")
    service = _current_service()
    job = service.job(run.name)
    # The attempts so far stay on the record; the run gets a fresh budget on top.
    run.max_attempts = run.attempts + (job.retries + 1 if job else 1)
    run.status, run.next_attempt_at, run.finished_at = "queued", None, None
    after_commit(session, lambda: service.hand_over(run_id))
    return run


@contextmanager
def embedded_worker(app: Flask, workers: int = 1) -> Iterator[Consumer]:
    """Run a worker inside this process (threads) while the block runs: the demo's, and
    the tests'. Signals stay with the host (the demo's server): ours are not installed."""
    consumer = start_embedded_worker(app, workers)
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)


def start_embedded_worker(app: Flask, workers: int = 1) -> Consumer:
    """Start a worker in this process's threads and return its consumer (``stop()`` it)."""
    consumer = jobs_of(app).consumer(workers)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM,
                                                      signal.SIGHUP)}
    try:
        consumer.start()
    except ValueError:
        # signal handlers can only be set from the main thread; the threads run anyway
        if threading.current_thread() is threading.main_thread():
            raise
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    return consumer
