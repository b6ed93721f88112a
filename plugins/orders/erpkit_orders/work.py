"""Orders in the work queues: what waits on sales, the warehouse and logistics.

An order waits on whoever may make its next move, so each queue is gated by the
permission of that move (the built-in roles: sales submits, reopens and confirms, the
warehouse ships, logistics and the warehouse record deliveries). A user sees only what
they can act on. Orders pending approval wait on approvers; the approvals module lists
those.

Orders imported as history wait on no one: they happened in an earlier system.

Each queue is one query on the ``(status, status_changed_at, number)`` index with a
limit: the orders that have waited longest in that status (after the page before's last
item, see :class:`erpkit.WorkKey`), never a scan of every order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.work import WorkItem, WorkKey, console_url
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


KIND = "order"


def orders_waiting_on(session: Session, user: Any, limit: int,
                      after: WorkKey | None = None) -> list[WorkItem]:
    """The orders that wait on ``user``, at most ``limit`` per queue, after ``after``."""
    items: list[WorkItem] = []
    for queue in QUEUES:
        if user.can(queue.permission):
            items += queue_items(session, queue, limit, after)
    return items


def _after(queue: Queue, after: WorkKey) -> Any:
    """Orders of ``queue`` whose work item sorts after ``after``: (waiting since, number,
    step, kind), the last two the same for every order of the queue."""
    same_time_same_number = (queue.step or queue.status, KIND) > (after.step, after.kind)
    later_number = (Order.number >= after.reference if same_time_same_number
                    else Order.number > after.reference)
    return sa.and_(Order.status_changed_at >= after.waiting_since,
                   sa.or_(Order.status_changed_at > after.waiting_since, later_number))


def queue_items(session: Session, queue: Queue, limit: int,
                after: WorkKey | None = None) -> list[WorkItem]:
    """The ``limit`` orders that have waited longest in one queue (after ``after``), with
    the time limit of their step."""
    query = (sa.select(Order.id, Order.number, Order.status_changed_at, Customer.name)
             .join(Customer, Order.customer_id == Customer.id)
             .where(Order.status == queue.status, Order.imported_as_history.is_(False))
             .order_by(Order.status_changed_at, Order.number)
             .limit(limit))
    if after is not None:
        query = query.where(_after(queue, after))
    rows = session.execute(query).all()
    started = _step_started(session, queue, {row.id: row.status_changed_at for row in rows})
    limit_of_step = STEPS[queue.step].time_limit(session) if queue.step else None
    return [
        WorkItem(
            kind=KIND,
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
