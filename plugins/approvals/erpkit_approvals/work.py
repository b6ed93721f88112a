"""Approval steps in the work queues: what waits on an approver, as in their inbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from erpkit.work import WorkItem, console_url
from erpkit_approvals import decisions


def approvals_waiting_on(session: Session, user: Any, limit: int) -> list[WorkItem]:
    """The open approval steps ``user`` may decide now (at most ``limit``, the oldest),
    each due when its own time limit runs out."""
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
        for request, step in decisions.inbox(session, user, limit)
    ]
