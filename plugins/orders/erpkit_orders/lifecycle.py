"""The order lifecycle: statuses, allowed moves, and one function per transition.

Each public function here is one transition: one call, one transaction. It locks the
order, checks the move is allowed from the current status, changes the status, writes
the timeline, fires the core's lifecycle hooks and commits. A move that is not allowed,
or that a plugin refuses, raises :class:`erpkit.TransitionRefused` and leaves the order
exactly as it was (the transaction rolls back).

    draft -> submitted -> pending_approval -> approved -> confirmed -> partially_shipped
          -> shipped -> delivered -> closed
    pending_approval -> rejected -> draft (reopen)
    delivered -> returned -> closed
    cancelled: from the statuses listed in the parameter orders.cancellable_statuses
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from erpkit import TransitionRefused
from erpkit.db import utcnow
from erpkit.plugins import Registry, current_registry
from erpkit.transitions import Transition, run_atomic
from erpkit_orders.models import Customer, Order, Shipment, ShipmentLine
from erpkit_orders.pricing import material_fingerprint
from erpkit_orders.timeline import record_event

T = TypeVar("T")


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    CONFIRMED = "confirmed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    RETURNED = "returned"


S = Status
#: Every move the lifecycle allows, besides cancellation (see CANCELLABLE_DEFAULT).
ALLOWED: Mapping[Status, frozenset[Status]] = {
    S.DRAFT: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.PENDING_APPROVAL, S.APPROVED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.PENDING_APPROVAL}),
    S.APPROVED: frozenset({S.CONFIRMED, S.PENDING_APPROVAL}),
    S.REJECTED: frozenset({S.DRAFT}),
    S.CONFIRMED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED}),
    S.PARTIALLY_SHIPPED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.CLOSED, S.RETURNED}),
    S.RETURNED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}
CANCELLABLE_DEFAULT = ["draft", "submitted", "pending_approval", "approved", "rejected",
                       "confirmed"]

#: The hook fired when an order enters a status (status_changed fires for all).
ENTRY_HOOKS: Mapping[Status, str] = {
    S.SUBMITTED: "erpkit_order_submitted",
    S.APPROVED: "erpkit_order_approved",
    S.REJECTED: "erpkit_order_rejected",
    S.CONFIRMED: "erpkit_order_confirmed",
    S.DELIVERED: "erpkit_order_delivered",
    S.CANCELLED: "erpkit_order_cancelled",
    S.RETURNED: "erpkit_order_returned",
}

#: What the customer reads on the status page for each status.
PUBLIC_LABELS: Mapping[Status, str] = {
    S.DRAFT: "Order received as draft",
    S.SUBMITTED: "Order submitted",
    S.PENDING_APPROVAL: "Order is being reviewed",
    S.APPROVED: "Order approved",
    S.REJECTED: "Order could not be accepted",
    S.CONFIRMED: "Order confirmed",
    S.PARTIALLY_SHIPPED: "Part of the order has shipped",
    S.SHIPPED: "Order shipped",
    S.DELIVERED: "Order delivered",
    S.CLOSED: "Order closed",
    S.CANCELLED: "Order cancelled",
    S.RETURNED: "Order returned",
}


def _registry() -> Registry:
    return current_registry()


def cancellable_statuses(session: Session) -> set[str]:
    return set(_registry().parameters.get(session, "orders.cancellable_statuses"))


def allowed_moves(session: Session, order: Order) -> set[str]:
    """The statuses ``order`` may move to now (for buttons and the API)."""
    moves = {str(s) for s in ALLOWED[Status(order.status)]}
    if order.status in cancellable_statuses(session):
        moves.add(S.CANCELLED)
    return moves


def lock(session: Session, order: Order | int) -> Order:
    """Load the order for this transaction, locked (PostgreSQL) and fresh from the database.

    On SQLite ``BEGIN IMMEDIATE`` already holds the write lock for the transaction.
    """
    order_id = order if isinstance(order, int) else order.id
    # One query: the order row locked alone (not the customer joined to it) and read
    # fresh; the customer's addresses, which no transition reads, are left unloaded.
    locked = session.scalars(
        sa.select(Order)
        .where(Order.id == order_id)
        .options(joinedload(Order.customer).lazyload(Customer.addresses))
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if locked is None:
        raise TransitionRefused(f"order {order_id} does not exist", field="order", code="not_found")
    return locked


def _run(
    session: Session,
    order: Order | int,
    name: str,
    actor: Any,
    reason: str | None,
    body: Callable[[Transition, Order], T],
    data: dict[str, Any] | None = None,
) -> T:
    """Run one transition in one transaction; on any exception nothing is kept.

    A deadlock or serialization failure runs the whole transition again
    (:func:`erpkit.transitions.run_atomic`), so it never reaches the user.
    """

    def attempt() -> T:
        locked = lock(session, order)
        transition = Transition(
            session=session, name=name, from_status=locked.status, to_status=None,
            actor=actor, reason=reason, data=dict(data or {}),
        )
        return body(transition, locked)

    return run_atomic(session, attempt)


def move(transition: Transition, order: Order, to: Status, *, message: str | None = None,
         **hook_arguments: Any) -> None:
    """Change ``order``'s status within ``transition``: check, write, record, fire hooks.

    The timeline says ``message``, else the transition's reason, else the status label.
    """
    session = transition.session
    current = Status(order.status)
    if to == S.CANCELLED:
        if current not in cancellable_statuses(session):
            raise TransitionRefused(
                f"order {order.number} cannot be cancelled while {current}; cancellable "
                f"statuses: {', '.join(sorted(cancellable_statuses(session)))}",
                field="status", code="not_allowed",
            )
    elif to not in ALLOWED[current]:
        allowed = ", ".join(sorted(allowed_moves(session, order))) or "none"
        raise TransitionRefused(
            f"order {order.number} cannot go from {current} to {to} (allowed now: {allowed})",
            field="status", code="not_allowed",
        )
    old = order.status
    order.status = str(to)
    order.status_changed_at = now = utcnow()
    if to in (S.PARTIALLY_SHIPPED, S.SHIPPED) and order.shipped_at is None:
        order.shipped_at = now
    elif to == S.DELIVERED:
        order.delivered_at = now
    transition.from_status, transition.to_status = old, str(to)
    record_event(session, order, kind="status", from_status=old, to_status=str(to),
                 actor=transition.actor_name,
                 message=message or transition.reason or PUBLIC_LABELS[to], public=True)
    registry = _registry()
    hook = ENTRY_HOOKS.get(to)
    if to in (S.PARTIALLY_SHIPPED, S.SHIPPED):
        hook = "erpkit_order_shipped"
    if hook:
        registry.call(hook, order=order, transition=transition, **hook_arguments)
    registry.call("erpkit_order_status_changed", order=order, old_status=old,
                  new_status=str(to), transition=transition)
    flush_notes(transition, order)


def flush_notes(transition: Transition, order: Order) -> None:
    """Write the notes plugins added with ``transition.note`` to the timeline."""
    while transition.notes:
        message, public = transition.notes.pop(0)
        record_event(transition.session, order, kind="note", actor=transition.actor_name,
                     message=message, public=public, source="plugin")


# --- the transitions -----------------------------------------------------------------


def submit(session: Session, order: Order | int, *, actor: Any = None) -> Order:
    """Submit a draft: validate, ask the plugins whether approval is needed, then wait
    for approval or approve (and, with orders.auto_confirm, confirm) at once."""

    def body(transition: Transition, locked: Order) -> Order:
        from erpkit_orders.intake import validate_or_refuse

        validate_or_refuse(session, locked, stage="submit")
        locked.submitted_by = transition.actor_name
        move(transition, locked, S.SUBMITTED)
        request_approval_or_approve(transition, locked)
        return locked

    return _run(session, order, "submit", actor, None, body)


def request_approval_or_approve(transition: Transition, order: Order, *,
                                why: str = "waiting for approval") -> None:
    """Ask every plugin whether ``order`` must wait; approve at once when none says so.

    An order that is already approved (changed after approval) and that no rule holds
    any more stays approved, with the new version recorded as the approved one.
    """
    registry = _registry()
    requests = [r for found in registry.call(
        "erpkit_order_approval_required", order=order, transition=transition) or ()
        for r in (found or ())]
    if requests:
        summary = "; ".join(str(getattr(r, "summary", r)) for r in requests)
        order.approved_fingerprint = None
        move(transition, order, S.PENDING_APPROVAL, message=f"{why}: {summary}")
        for request in requests:
            registry.call("erpkit_order_approval_requested", order=order, request=request,
                          transition=transition)
        flush_notes(transition, order)
    elif order.status == S.APPROVED:
        order.approved_fingerprint = material_fingerprint(order)
        record_event(transition.session, order, kind="note", actor=transition.actor_name,
                     message=f"{why}: no approval rule applies to the new version, "
                             "so it stays approved")
    else:
        _approve_and_maybe_confirm(transition, order, reason="no approval rule applies")


def _approve_and_maybe_confirm(transition: Transition, order: Order, reason: str) -> None:
    move(transition, order, S.APPROVED, message=transition.reason or reason)
    order.approved_fingerprint = material_fingerprint(order)
    if not _registry().parameters.get(transition.session, "orders.auto_confirm"):
        return
    # The approval stands even when confirmation is refused (say, stock ran out since):
    # confirmation runs in a savepoint and the refusal is written to the timeline.
    session = transition.session
    notes_before = len(transition.notes)
    try:
        with session.begin_nested():
            _confirm(transition, order)
    except TransitionRefused as exc:
        del transition.notes[notes_before:]
        who = f" ({exc.plugin})" if exc.plugin else ""
        record_event(session, order, kind="note", actor=transition.actor_name,
                     message=f"confirmation refused{who}: {exc.message}", public=False)
        transition.data["confirmation_refused"] = exc.as_dict()


def _confirm(transition: Transition, order: Order) -> None:
    move(transition, order, S.CONFIRMED, message=PUBLIC_LABELS[S.CONFIRMED])
    promised = _registry().call("erpkit_delivery_promise", order=order,
                                session=transition.session)
    if promised is not None:
        order.promised_date = promised
        record_event(transition.session, order, kind="note", actor=transition.actor_name,
                     message=f"delivery promised for {promised.isoformat()}", public=True)


def approve(session: Session, order: Order | int, *, actor: Any = None,
            reason: str | None = None) -> Order:
    """Approve a pending order (the approvals plugin calls this when all steps agree)."""

    def body(transition: Transition, locked: Order) -> Order:
        _approve_and_maybe_confirm(transition, locked, reason="approved")
        return locked

    return _run(session, order, "approve", actor, reason, body)


def approve_in(transition: Transition, order: Order, reason: str) -> None:
    """Approve within an already running transition (for plugins deciding in a hook)."""
    _approve_and_maybe_confirm(transition, order, reason=reason)


def reject(session: Session, order: Order | int, *, actor: Any = None, reason: str) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, S.REJECTED)
        return locked

    return _run(session, order, "reject", actor, reason, body)


def reject_in(transition: Transition, order: Order) -> None:
    move(transition, order, S.REJECTED)


def reopen(session: Session, order: Order | int, *, actor: Any = None,
           reason: str | None = None) -> Order:
    """Put a rejected order back to draft so it can be corrected and submitted again."""

    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, S.DRAFT)
        return locked

    return _run(session, order, "reopen", actor, reason, body)


def confirm(session: Session, order: Order | int, *, actor: Any = None) -> Order:
    """Confirm an approved order (when orders.auto_confirm is off, or after a refusal)."""

    def body(transition: Transition, locked: Order) -> Order:
        _confirm(transition, locked)
        return locked

    return _run(session, order, "confirm", actor, None, body)


def ship(
    session: Session,
    order: Order | int,
    *,
    actor: Any = None,
    quantities: Mapping[int, Decimal] | None = None,
    tracking: str | None = None,
) -> Order:
    """Record goods leaving: ``quantities`` maps line id to quantity (all open if None)."""

    def body(transition: Transition, locked: Order) -> Order:
        shipment = _build_shipment(locked, quantities, tracking)
        session.add(shipment)
        for item in shipment.lines:
            item.order_line.shipped_quantity += item.quantity
        complete = all(line.open_quantity == 0 for line in locked.lines)
        move(transition, locked, S.SHIPPED if complete else S.PARTIALLY_SHIPPED,
             shipment=shipment)
        return locked

    return _run(session, order, "ship", actor, None, body)


def _build_shipment(order: Order, quantities: Mapping[int, Decimal] | None,
                    tracking: str | None) -> Shipment:
    lines_by_id = {line.id: line for line in order.lines}
    wanted = quantities or {line.id: line.open_quantity for line in order.lines}
    shipment = Shipment(order_id=order.id, tracking=tracking)
    for line_id, quantity in wanted.items():
        line = lines_by_id.get(line_id)
        if line is None:
            raise TransitionRefused(f"order {order.number} has no line {line_id}",
                                    field=f"lines.{line_id}", code="unknown_line")
        quantity = Decimal(quantity)
        if quantity <= 0 or quantity > line.open_quantity:
            raise TransitionRefused(
                f"line {line.line_no}: cannot ship {quantity}, open quantity is "
                f"{line.open_quantity}", field=f"lines.{line_id}.quantity", code="invalid")
        if quantity:
            shipment.lines.append(ShipmentLine(order_line=line, order_line_id=line.id,
                                               quantity=quantity))
    if not shipment.lines:
        raise TransitionRefused("nothing to ship", field="lines", code="empty")
    return shipment


def deliver(session: Session, order: Order | int, *, actor: Any = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, S.DELIVERED)
        return locked

    return _run(session, order, "deliver", actor, None, body)


def close(session: Session, order: Order | int, *, actor: Any = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, S.CLOSED)
        return locked

    return _run(session, order, "close", actor, None, body)


def cancel(session: Session, order: Order | int, *, actor: Any = None,
           reason: str | None = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, S.CANCELLED)
        return locked

    return _run(session, order, "cancel", actor, reason or "cancelled", body)


def return_order(session: Session, order: Order | int, *, actor: Any = None,
                 reason: str | None = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, S.RETURNED)
        return locked

    return _run(session, order, "return", actor, reason or "returned", body)


def default_promise(session: Session, order: Order) -> date:
    """Today plus orders.default_lead_days, or the requested date if later."""
    lead = int(_registry().parameters.get(session, "orders.default_lead_days"))
    promised = utcnow().date() + timedelta(days=lead)
    if order.requested_date and order.requested_date > promised:
        return order.requested_date
    return promised
