"""Approval steps in the work queues: what waits on an approver, as in their inbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from erpkit.work import WorkItem, WorkKey, console_url
from erpkit_approvals import decisions


def approvals_waiting_on(session: Session, user: Any, limit: int,
                         after: WorkKey | None = None) -> list[WorkItem]:
    """The open approval steps ``user`` may decide now (at most ``limit``, the oldest,
    after ``after``), each due when its own time limit runs out."""
    if after is None:
        found = decisions.inbox(session, user, limit)
    else:
        # The queue pages by (time, reference, ...): the steps started at the cursor's
        # very moment (a handful) and the ``limit`` oldest after it; the core keeps those
        # whose whole key sorts after the cursor.
        found = (decisions.inbox(session, user, started_at=after.waiting_since)
                 + decisions.inbox(session, user, limit, started_after=after.waiting_since))
    inbox = console_url("approvals_inbox.index")
    return [
        WorkItem(
            kind="approval_step",
            title=f"Approve or reject: {request.summary}",
            reference=request.reference,
            url=inbox,
            step=step.name,
            waiting_since=step.started_at or request.opened_at,
            due_at=step.due_at,
        )
        for request, step in found
    ]
