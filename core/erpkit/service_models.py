"""The tables of the core's shared services: job runs, notifications, step breaches.

Each is the record of truth of its service. huey only carries a job run's id to a
worker and deletes its message when a worker takes it, so what was asked, how often it
was tried and why it failed lives here; a breach row is the claim that makes a late step
handled exactly once, whatever the number of workers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from erpkit.db import Base, utcnow


class JobRun(Base):
    """One job asked for: its arguments, its state, its attempts and its last error."""

    __tablename__ = "core_job_run"
    __table_args__ = (sa.Index("ix_core_job_run_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    args: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # queued | running | retrying | done | failed
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=1)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # A periodic task's run claims its time slot with this key, so several workers
    # (each with its own scheduler) run it once per slot.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return f"job {self.id} ({self.name})"


class Notification(Base):
    """A message for one user, in the app (and by e-mail when they have an address)."""

    __tablename__ = "core_notification"
    __table_args__ = (sa.Index("ix_core_notification_user_read", "user_id", "read_at"),
                      # the user's list, newest first, a page at a time
                      sa.Index("ix_core_notification_user_id", "user_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("core_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40), default="info")
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    message: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str | None] = mapped_column(sa.String(500))
    # References for clients (order_id, request_id...): the core gives them no meaning.
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class StepBreach(Base):
    """A step that ran over its time limit, claimed by the sweep that handles it.

    The unique constraint is the claim: when two sweeps (two workers) reach the same
    breach, the second insert fails and that sweep leaves it alone. ``round`` counts the
    times the subject entered the step: an order resubmitted after a rejection can run
    late again.
    """

    __tablename__ = "core_step_breach"
    __table_args__ = (sa.UniqueConstraint("declaration", "subject_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration: Mapped[str] = mapped_column(sa.String(120))
    subject_id: Mapped[int]
    round: Mapped[int] = mapped_column(default=1)
    step: Mapped[str] = mapped_column(sa.String(200))
    reference: Mapped[str] = mapped_column(sa.String(120), default="")
    action: Mapped[str] = mapped_column(sa.String(24))
    overdue_seconds: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)


MODELS = (JobRun, Notification, StepBreach)
