"""Orders in the work queues: what waits on sales, the warehouse and logistics.

An order waits on whoever may make its next move, so each queue is gated by the
permission of that move (the built-in roles: sales submits, reopens and confirms, the
warehouse ships, logistics and the warehouse record deliveries). A user sees only what
they can act on. Orders pending approval wait on approvers; the approvals module lists
those.

Orders imported as history wait on no one: they happened in an earlier system.

Each queue is one query on the ``(status, id)`` index with a limit: the oldest orders of
that status, never a scan of every order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.work import WorkItem, console_url
from erpkit_orders.departments import STEPS
from erpkit_orders.models import Customer, Order


@dataclass(frozen=True)
class Queue:
    """Orders in ``status`` wait on users holding ``permission``, to do ``title``;
    ``step`` names the department step whose time limit applies (``None``: no limit)."""

    status: str
    permission: str
    title: str
    step: str | None = None


QUEUES = (
    Queue("draft", "orders.submit", "Complete and submit the draft"),
    Queue("rejected", "orders.create", "Rejected: correct it and put it back to draft"),
    Queue("approved", "orders.confirm", "Approved: confirm it", "submitted_to_confirmed"),
    Queue("confirmed", "orders.ship", "Pick and ship", "confirmed_to_shipped"),
    Queue("partially_shipped", "orders.ship", "Ship the rest", "confirmed_to_shipped"),
    Queue("shipped", "orders.deliver", "Record the delivery", "shipped_to_delivered"),
)


def orders_waiting_on(session: Session, user: Any, limit: int) -> list[WorkItem]:
    """The orders that wait on ``user``, at most ``limit`` per queue."""
    items: list[WorkItem] = []
    for queue in QUEUES:
        if user.can(queue.permission):
            items += queue_items(session, queue, limit)
    return items


def queue_items(session: Session, queue: Queue, limit: int) -> list[WorkItem]:
    """The oldest ``limit`` orders of one queue, with the time limit of their step."""
    rows = session.execute(
        sa.select(Order.id, Order.number, Order.status_changed_at, Customer.name)
        .join(Customer, Order.customer_id == Customer.id)
        .where(Order.status == queue.status, Order.imported_as_history.is_(False))
        .order_by(Order.id)
        .limit(limit)).all()
    started = _step_started(session, queue, {row.id: row.status_changed_at for row in rows})
    limit_of_step = STEPS[queue.step].time_limit(session) if queue.step else None
    return [
        WorkItem(
            kind="order",
            title=f"{queue.title} ({customer})",
            reference=number,
            url=console_url("orders_orders.detail", order_id=order_id),
            step=queue.step or queue.status,
            waiting_since=changed_at,
            due_at=started[order_id] + limit_of_step if limit_of_step is not None else None,
        )
        for order_id, number, changed_at, customer in rows
    ]


def _step_started(session: Session, queue: Queue,
                  entered: dict[int, datetime]) -> dict[int, datetime]:
    """When each order's department step started: entering the queue's status, unless
    the step started earlier (approved orders: at submission; partly shipped ones: at
    confirmation), which the timeline tells."""
    if queue.step is None or STEPS[queue.step].starts_at == queue.status:
        return entered
    return {**entered, **STEPS[queue.step].started_at(session, entered)}
