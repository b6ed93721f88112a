"""Scheduled reports: any report mailed daily, weekly or monthly as XLSX (and CSV).

* **The period is filled in**: a daily schedule mails the day before, a weekly one the
  last complete ISO week (Monday to Sunday), a monthly one the last complete month; the
  schedule's own parameters (filters, options, ``by``) are added.
* **Who**: logins and ``role:NAME`` (every active member with an e-mail address, resolved
  when the mail is sent, by the core's :func:`erpkit.notifications.resolve`).
* **When**: the core's job service runs the periodic task ``reporting.schedule_sweep``
  (every ``reporting.schedule_sweep_seconds``, 15 minutes by default). For each active
  schedule whose last complete period has no sending yet, it records a
  :class:`~erpkit_reporting.models.ReportSending` and asks for the job
  ``reporting.send_scheduled`` in the same transaction (unique per schedule and period: a
  period is mailed once, however many workers sweep). The job runs the report through
  the path of the API and the CLI, attaches the files, sends, and marks the sending
  ``sent`` in its transaction; a failure is retried with backoff by the job service and
  its error is on the job run the sending points to.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import Problem, ValidationFailed
from erpkit.db import utcnow
from erpkit.jobs import Job, JobContext, PeriodicTask, enqueue
from erpkit_reporting.export import XLSX_MIMETYPE, render, xlsx_bytes
from erpkit_reporting.models import ReportSchedule, ReportSending

FREQUENCIES = ("daily", "weekly", "monthly")
ATTACHMENT_FORMATS = ("xlsx", "csv")
SEND_JOB = "reporting.send_scheduled"
SWEEP = "reporting.schedule_sweep"


def last_complete_period(frequency: str, today: date) -> tuple[date, date]:
    """The last whole day, ISO week or month before ``today``."""
    if frequency == "daily":
        day = today - timedelta(days=1)
        return day, day
    if frequency == "weekly":
        this_monday = today - timedelta(days=today.weekday())
        return this_monday - timedelta(days=7), this_monday - timedelta(days=1)
    if frequency == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(f"unknown frequency {frequency!r}")


# --- schedules: checked input -------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleInput:
    report: str
    frequency: str
    params: dict[str, str]
    formats: list[str]
    recipients: list[str]
    active: bool = True


def check_schedule(registry: Any, session: Session, data: Mapping[str, Any]) -> ScheduleInput:
    """Check what an admin asked for: a known report whose parameters it accepts, a
    frequency, attachment formats and at least one recipient that names someone."""
    from erpkit.notifications import resolve
    from erpkit_reporting.service import find, run_report

    problems: list[Problem] = []
    report = str(data.get("report") or "")
    frequency = str(data.get("frequency") or "")
    if frequency not in FREQUENCIES:
        problems.append(Problem("frequency", f"{frequency!r} is not a frequency; use "
                                f"{', '.join(FREQUENCIES)}", code="invalid"))
    formats = [str(f) for f in data.get("formats") or ["xlsx"]]
    if not formats or any(f not in ATTACHMENT_FORMATS for f in formats):
        problems.append(Problem("formats", f"formats are {', '.join(ATTACHMENT_FORMATS)}; "
                                f"got {formats!r}", code="invalid"))
    recipients = [str(r).strip() for r in data.get("recipients") or [] if str(r).strip()]
    if not recipients:
        problems.append(Problem("recipients", "name at least one login or role:NAME",
                                code="required"))
    elif not resolve(session, recipients):
        problems.append(Problem("recipients", f"{', '.join(recipients)} names no active "
                                "user", code="invalid"))
    params = {str(k): str(v) for k, v in (data.get("params") or {}).items()
              if v not in (None, "")}
    for taken in ("from", "to"):
        if taken in params:
            problems.append(Problem(f"params.{taken}", "the schedule fills in the range",
                                    code="invalid"))
    try:
        find(registry, report)
    except ValidationFailed as exc:
        problems.extend(exc.problems)
    else:
        if not problems:
            try:  # the report accepts these parameters (run once on an empty range)
                today = utcnow().date()
                run_report(registry, session, report, {**params, "from": today.isoformat(),
                                                       "to": today.isoformat()})
            except ValidationFailed as exc:
                problems.extend(Problem(f"params.{p.field}", p.message, code=p.code)
                                for p in exc.problems)
    if problems:
        raise ValidationFailed(problems)
    return ScheduleInput(report, frequency, params, formats, recipients,
                         bool(data.get("active", True)))


def save_schedule(session: Session, checked: ScheduleInput, *, actor: str | None,
                  schedule: ReportSchedule | None = None) -> ReportSchedule:
    """Create (or change) a schedule in the caller's transaction."""
    if schedule is None:
        schedule = ReportSchedule(created_by=actor)
        session.add(schedule)
    schedule.report, schedule.frequency = checked.report, checked.frequency
    schedule.params, schedule.formats = dict(checked.params), list(checked.formats)
    schedule.recipients, schedule.active = list(checked.recipients), checked.active
    session.flush()
    return schedule


# --- sweeping and sending --------------------------------------------------------------------


def ask_sending(session: Session, schedule: ReportSchedule, first: date, last: date, *,
                manual: bool = False) -> ReportSending | None:
    """Record a sending of ``schedule`` for ``first`` .. ``last`` and ask for the job, in
    the caller's transaction. None when the period's scheduled sending exists already;
    one asked by hand (``manual``) is always made."""
    sending = ReportSending(schedule_id=schedule.id, period_from=first, period_to=last,
                            status="queued", manual=time.time_ns() // 1000 if manual else 0)
    try:
        with session.begin_nested():
            session.add(sending)
            session.flush()
    except sa.exc.IntegrityError:
        return None
    sending.job_run_id = enqueue(session, SEND_JOB, sending_id=sending.id).id
    return sending


def sweep(context: JobContext) -> None:
    """The periodic task: ask for the mailing of every active schedule's last complete
    period that was not asked for yet."""
    session = context.session
    today = utcnow().date()
    for schedule in session.scalars(sa.select(ReportSchedule).where(
            ReportSchedule.active.is_(True)).order_by(ReportSchedule.id)):
        first, last = last_complete_period(schedule.frequency, today)
        ask_sending(session, schedule, first, last)


def send_job(context: JobContext, sending_id: int) -> None:
    """The job: run the report for the sending's period, attach it, mail it, log it."""
    from erpkit.notifications import Attachment, mail_now, resolve
    from erpkit_reporting.service import run_report

    session = context.session
    sending = session.get(ReportSending, sending_id)
    if sending is None or sending.status == "sent":
        return  # the schedule was deleted, or another attempt sent it
    schedule = session.get(ReportSchedule, sending.schedule_id)
    assert schedule is not None  # the sending is deleted with its schedule
    raw = {**schedule.params, "from": sending.period_from.isoformat(),
           "to": sending.period_to.isoformat()}
    _report, params, result = run_report(context.registry, session, schedule.report, raw)
    stem = f"{schedule.report}_{sending.period_from.isoformat()}_{sending.period_to.isoformat()}"
    attachments = []
    for fmt in schedule.formats:
        if fmt == "xlsx":
            attachments.append(Attachment(f"{stem}.xlsx", xlsx_bytes(schedule.report, params,
                                                                     result), XLSX_MIMETYPE))
        elif fmt == "csv":
            attachments.append(Attachment(f"{stem}.csv", render(
                schedule.report, params, result, "csv").encode("utf-8"), "text/csv"))
    addresses = sorted({p.email for p in resolve(session, schedule.recipients) if p.email})
    span = (sending.period_from.isoformat() if sending.period_from == sending.period_to
            else f"{sending.period_from} to {sending.period_to}")
    subject = f"Report {schedule.report}, {span}"
    body = (f"The {schedule.frequency} report {schedule.report} for {span} is attached "
            f"({', '.join(a.filename for a in attachments)}: {len(result.rows)} rows).")
    if addresses:
        mail_now(context.config, addresses, subject, body, attachments)
    sending.status, sending.sent_at = "sent", utcnow()
    sending.addresses = addresses
    sending.attachments = [a.filename for a in attachments]
    sending.rows = len(result.rows)


def jobs() -> list[Any]:
    return [
        PeriodicTask(name=SWEEP, run=sweep, every_parameter="reporting.schedule_sweep_seconds",
                     description="Ask for the mailing of every scheduled report whose "
                     "period has ended."),
        Job(name=SEND_JOB, run=send_job, retries=5, retry_delay=60.0,
            description="Run a scheduled report for its period and mail it as XLSX/CSV."),
    ]


def sendings(session: Session, schedule_id: int | None = None,
             limit: int = 100) -> list[dict[str, Any]]:
    """The log of sendings, the newest first, with their job run's status and error."""
    from erpkit.service_models import JobRun

    query = (sa.select(ReportSending, JobRun.status, JobRun.last_error, JobRun.attempts)
             .outerjoin(JobRun, JobRun.id == ReportSending.job_run_id)
             .order_by(ReportSending.id.desc()).limit(limit))
    if schedule_id is not None:
        query = query.where(ReportSending.schedule_id == schedule_id)
    return [{"id": s.id, "schedule_id": s.schedule_id, "from": s.period_from.isoformat(),
             "to": s.period_to.isoformat(), "status": s.status,
             "manual": bool(s.manual), "asked_at": s.asked_at.isoformat(),
             "sent_at": s.sent_at.isoformat() if s.sent_at else None,
             "addresses": s.addresses, "attachments": s.attachments, "rows": s.rows,
             "job_status": job_status, "attempts": attempts, "error": error}
            for s, job_status, error, attempts in session.execute(query)]


def describe_schedule(schedule: ReportSchedule) -> dict[str, Any]:
    return {"id": schedule.id, "report": schedule.report, "frequency": schedule.frequency,
            "params": schedule.params, "formats": schedule.formats,
            "recipients": schedule.recipients, "active": schedule.active,
            "created_by": schedule.created_by, "created_at": schedule.created_at.isoformat()}
