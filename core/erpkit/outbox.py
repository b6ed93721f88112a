"""The transactional outbox: an event row written in the transaction of its change.

The core implements the lifecycle hooks (and ``erpkit_step_breached``, and the inventory
module's ``erpkit_inventory_low_stock`` when it is installed) and writes one
:class:`~erpkit.webhook_models.OutboxEvent` for each, with ``transition.session``: the
event commits with the move or rolls back with it (a refused transition, a confirmation
refused inside its savepoint, leave no event). Plugins write their own declared events
with :func:`emit`.

Once the transaction has committed, the job service is woken to dispatch the new events
(``core.webhooks_dispatch``); a worker's periodic sweep finds any whose wake-up was lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from marshmallow import Schema
from sqlalchemy.orm import Session

from erpkit import hookimpl
from erpkit.db import utcnow
from erpkit.events import LOW_STOCK, ORDER_EVENTS, STEP_BREACHED, EventType
from erpkit.transitions import AFTER_COMMIT_KEY, Transition, after_commit, insert_at_commit
from erpkit.webhook_models import OutboxEvent

_OUTBOX = cast(sa.Table, OutboxEvent.__table__)


@cache
def _schema(schema: type[Schema]) -> Schema:
    return schema()


def emit(session: Session, event: EventType, data: Mapping[str, Any], *,
         order_id: int | None = None) -> None:
    """Write ``event`` with payload ``data`` in ``session``'s transaction (never commit).

    ``data`` is dumped through the event's schema; ``order_id`` puts the event in its
    order's lane, delivered in order with the order's other events. The transaction's
    events are inserted together (one statement) when it commits; subscriptions get
    them once it has. Nothing is written or sent when it rolls back, nor for events
    emitted inside a savepoint that rolls back.
    """
    values = {"name": event.name, "version": event.version, "order_id": order_id,
              "payload": _schema(event.schema).dump(data), "occurred_at": utcnow(),
              "dispatched": False}
    # Written at the commit with the transaction's other events, in one statement.
    insert_at_commit(session, _OUTBOX, values)
    # One wake-up per transaction, however many events it writes.
    queued = session.info.get(AFTER_COMMIT_KEY, ())
    if not any(callback is _wake_dispatcher for _savepoint, callback in queued):
        after_commit(session, _wake_dispatcher)


#: Wake-ups closer together than this are merged: under load a process puts at most
#: one message per interval on the queue instead of one per transition (the queue's put
#: was most of the outbox's cost). A merged wake-up is scheduled for the interval's end,
#: after the commit that asked for it, so it always sees that commit's events. 0.5 s:
#: a scheduled wake-up waits for the worker's scheduler tick (1 s) anyway, and at 0.1 s
#: the queue's put was still about a third of the outbox's CPU at 26 transitions/s.
WAKE_EVERY = 0.5
_wake_lock = threading.Lock()


def _wake_dispatcher() -> None:
    from flask import current_app, has_app_context

    from erpkit.jobs import jobs_of

    # Scripts without an app have no job service: a worker's sweep dispatches later.
    if not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = time.monotonic()
    with _wake_lock:  # each app (and so each queue) keeps its own interval
        state = app.extensions.setdefault("erpkit.outbox.wake", {"last": -WAKE_EVERY,
                                                                  "pending": 0.0})
        if state["pending"] > now:
            return  # a wake-up is scheduled after this commit already
        delay = max(state["last"] + WAKE_EVERY - now, 0.0)
        state["last"] = now + delay
        state["pending"] = state["last"] if delay else 0.0
    jobs_of(app).wake("core.webhooks_dispatch", delay=delay or None)


def order_payload(order: Any, transition: Transition, **extra: Any) -> dict[str, Any]:
    """The payload of an order event (see :class:`erpkit.events.OrderEventSchema`)."""
    return {
        "order_id": order.id, "number": order.number, "status": order.status,
        "previous_status": transition.from_status, "transition": transition.name,
        "actor": transition.actor_name, "customer_id": getattr(order, "customer_id", None),
        "channel": getattr(order, "channel", None), "currency": getattr(order, "currency", None),
        "total": getattr(order, "total", None), "order_version": getattr(order, "version", None),
        "reason": transition.reason, **extra,
    }


def _order_event(hook: str, order: Any, transition: Transition, **extra: Any) -> None:
    # A hook called outside a real transition (a plugin's own tests, a dry call) has
    # nothing to write with.
    if not isinstance(transition, Transition) or getattr(order, "id", None) is None:
        return
    emit(transition.session, ORDER_EVENTS[hook], order_payload(order, transition, **extra),
         order_id=order.id)


# --- the core's hook implementations (registered through erpkit.core_plugin) --------------


@hookimpl
def erpkit_order_created(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_created", order, transition, previous_status=None)


@hookimpl
def erpkit_order_submitted(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_submitted", order, transition)


@hookimpl
def erpkit_order_approval_requested(order: Any, request: Any, transition: Transition) -> None:
    _order_event("erpkit_order_approval_requested", order, transition,
                 summary=str(getattr(request, "summary", request)))


@hookimpl
def erpkit_order_approved(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_approved", order, transition)


@hookimpl
def erpkit_order_rejected(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_rejected", order, transition)


@hookimpl
def erpkit_order_confirmed(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_confirmed", order, transition)


@hookimpl
def erpkit_order_shipped(order: Any, shipment: Any, transition: Transition) -> None:
    _order_event("erpkit_order_shipped", order, transition,
                 shipment_id=getattr(shipment, "id", None),
                 tracking=getattr(shipment, "tracking", None))


@hookimpl
def erpkit_order_delivered(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_delivered", order, transition)


@hookimpl
def erpkit_order_cancelled(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_cancelled", order, transition)


@hookimpl
def erpkit_order_returned(order: Any, transition: Transition) -> None:
    _order_event("erpkit_order_returned", order, transition)


@hookimpl
def erpkit_order_status_changed(order: Any, old_status: str, new_status: str,
                                transition: Transition) -> None:
    _order_event("erpkit_order_status_changed", order, transition,
                 previous_status=old_status, status=new_status)


@hookimpl
def erpkit_step_breached(subject: Any, step: str, overdue_by: timedelta, action: str,
                         session: Session) -> None:
    if session is None:
        return
    is_order = type(subject).__name__ == "Order"
    order_id = getattr(subject, "id", None) if is_order else getattr(subject, "order_id", None)
    emit(session, STEP_BREACHED, {
        "step": step, "action": action, "overdue_seconds": int(overdue_by.total_seconds()),
        "subject_type": type(subject).__name__, "subject_id": getattr(subject, "id", None),
        "order_id": order_id,
    }, order_id=order_id)


@hookimpl(optionalhook=True)
def erpkit_inventory_low_stock(product: Any, warehouse: Any, available: Decimal,
                               reorder_point: Decimal, session: Session) -> None:
    if session is None:
        return
    emit(session, LOW_STOCK, {
        "product_id": getattr(product, "id", None), "sku": getattr(product, "sku", None),
        "warehouse_id": getattr(warehouse, "id", None), "available": available,
        "reorder_point": reorder_point,
    })
