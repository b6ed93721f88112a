"""The order lifecycle: statuses, allowed moves, and one function per transition.

Every change of an order's state or content goes through one door, :func:`perform`:
one call, one transaction. It locks the order, builds the :class:`~erpkit.Transition`,
runs the move (which checks it is allowed from the current status, changes the status,
writes the timeline and fires the core's lifecycle hooks), writes the plugins' notes,
commits, retries a deadlock or serialization failure, and then runs the after-commit
callbacks. A move that is not allowed, or that a plugin refuses, raises
:class:`erpkit.TransitionRefused` and leaves the order exactly as it was (the
transaction rolls back). The public functions below (:func:`submit`, :func:`ship`, ...)
are each one call of the door.

    draft -> submitted -> pending_approval -> approved -> confirmed -> partially_shipped
          -> shipped -> delivered -> closed
    pending_approval -> rejected -> draft (reopen)
    delivered -> returned -> closed
    cancelled: from the statuses listed in the parameter orders.cancellable_statuses

Gates: a move into a status of :data:`GATES` (confirm, ship, deliver, cancel, return,
reopen) first asks the hook ``erpkit_order_gate`` whether it must wait. When a plugin
answers with a :class:`GateHold`, the move is *held*: the attempt rolls back, the order
stays where it was, the plugin records what it waits on (an approval request) in a
transaction of its own, and the door returns the order with ``order.held`` saying so. The
plugin later makes the move with :func:`pass_gate_in` once the gate's last step passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from erpkit import TransitionRefused
from erpkit.db import utcnow
from erpkit.plugins import Registry, registry_of
from erpkit.promises import DeliveryPromise, promised_date_of
from erpkit.transitions import NotFound, Transition, TransitionFailed, run_atomic
from erpkit_orders.models import Customer, Order, Shipment, ShipmentLine
from erpkit_orders.pricing import material_fingerprint
from erpkit_orders.timeline import collected, record_event, write_collected

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


#: Every move the lifecycle allows, besides cancellation (see CANCELLABLE_DEFAULT).
ALLOWED: Mapping[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED}),
    Status.SUBMITTED: frozenset({Status.PENDING_APPROVAL, Status.APPROVED}),
    Status.PENDING_APPROVAL: frozenset({Status.APPROVED, Status.REJECTED, Status.PENDING_APPROVAL}),
    Status.APPROVED: frozenset({Status.CONFIRMED, Status.PENDING_APPROVAL}),
    Status.REJECTED: frozenset({Status.DRAFT}),
    Status.CONFIRMED: frozenset({Status.PARTIALLY_SHIPPED, Status.SHIPPED}),
    Status.PARTIALLY_SHIPPED: frozenset({Status.PARTIALLY_SHIPPED, Status.SHIPPED}),
    Status.SHIPPED: frozenset({Status.DELIVERED}),
    Status.DELIVERED: frozenset({Status.CLOSED, Status.RETURNED}),
    Status.RETURNED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
    Status.CANCELLED: frozenset(),
}
CANCELLABLE_DEFAULT = ["draft", "submitted", "pending_approval", "approved", "rejected",
                       "confirmed"]

#: The hook fired when an order enters a status (status_changed fires for all).
ENTRY_HOOKS: Mapping[Status, str] = {
    Status.SUBMITTED: "erpkit_order_submitted",
    Status.APPROVED: "erpkit_order_approved",
    Status.REJECTED: "erpkit_order_rejected",
    Status.CONFIRMED: "erpkit_order_confirmed",
    Status.DELIVERED: "erpkit_order_delivered",
    Status.CANCELLED: "erpkit_order_cancelled",
    Status.RETURNED: "erpkit_order_returned",
}

#: The status as staff read it in the console (short; the code stays in data-status).
LABELS: Mapping[Status, str] = {
    Status.DRAFT: "Draft",
    Status.SUBMITTED: "Submitted",
    Status.PENDING_APPROVAL: "Waiting for approval",
    Status.APPROVED: "Approved",
    Status.REJECTED: "Rejected",
    Status.CONFIRMED: "Confirmed",
    Status.PARTIALLY_SHIPPED: "Partly shipped",
    Status.SHIPPED: "Shipped",
    Status.DELIVERED: "Delivered",
    Status.CLOSED: "Closed",
    Status.CANCELLED: "Cancelled",
    Status.RETURNED: "Returned",
}


def label(status: str) -> str:
    """The console's name of ``status`` (the code itself when it is not a known one)."""
    try:
        return LABELS[Status(status)]
    except ValueError:
        return status


#: What the customer reads on the status page for each status.
PUBLIC_LABELS: Mapping[Status, str] = {
    Status.DRAFT: "Order received as draft",
    Status.SUBMITTED: "Order submitted",
    Status.PENDING_APPROVAL: "Order is being reviewed",
    Status.APPROVED: "Order approved",
    Status.REJECTED: "Order could not be accepted",
    Status.CONFIRMED: "Order confirmed",
    Status.PARTIALLY_SHIPPED: "Part of the order has shipped",
    Status.SHIPPED: "Order shipped",
    Status.DELIVERED: "Order delivered",
    Status.CLOSED: "Order closed",
    Status.CANCELLED: "Order cancelled",
    Status.RETURNED: "Order returned",
}


#: The gate a move into a status passes: the names admins give the transition a rule guards.
GATES: Mapping[Status, str] = {
    Status.CONFIRMED: "confirm",
    Status.PARTIALLY_SHIPPED: "ship",
    Status.SHIPPED: "ship",
    Status.DELIVERED: "deliver",
    Status.CANCELLED: "cancel",
    Status.RETURNED: "return",
    Status.DRAFT: "reopen",  # only a rejected order moves (back) to draft
}


@dataclass
class GateHold:
    """A plugin's answer to ``erpkit_order_gate``: the move must wait.

    ``summary`` says why, for the timeline and the caller. ``record(transition, order)``
    writes what the order now waits on (say, an approval request) and returns it; the
    door calls it in a transaction of its own after the held attempt rolled back, so it
    must build from plain values, not from objects of the attempt. ``resume`` is filled
    in by the door: the details :func:`pass_gate_in` needs to make the move later.
    """

    summary: str
    record: Callable[[Transition, Order], Any]
    resume: dict[str, Any] = field(default_factory=dict)
    recorded: Any = None


#: ``session.info`` key: set while the door's first attempt runs (see ``_RunGuarded``).
_OPTIMISTIC = "erpkit_orders.confirm_without_savepoint"


class _RunGuarded(Exception):
    """The door's first attempt confirmed without a savepoint and the confirmation was
    refused or held: the door rolls it back and runs the transition again with the
    confirmation in a savepoint (the approval then stands without it)."""


class Held(Exception):
    """A gate holds the move (raised by :func:`move`, turned into an outcome by the door)."""

    def __init__(self, gate: str, from_status: str, to_status: str,
                 holds: list[GateHold]) -> None:
        super().__init__(f"the move to {to_status} waits at the gate {gate!r}")
        self.gate, self.from_status, self.to_status, self.holds = (gate, from_status,
                                                                    to_status, holds)

    def as_dict(self) -> dict[str, Any]:
        """What the caller is told: which gate, which move, and what it waits on."""
        return {"code": "held", "gate": self.gate, "from_status": self.from_status,
                "to_status": self.to_status,
                "message": f"the move to {self.to_status} is held for approval: "
                           + "; ".join(hold.summary for hold in self.holds),
                "requests": [getattr(hold.recorded, "id", None) for hold in self.holds]}


def cancellable_statuses(session: Session, registry: Registry | None = None) -> set[str]:
    registry = registry or registry_of(session)
    return set(registry.parameters.get(session, "orders.cancellable_statuses"))


def allowed_moves(session: Session, order: Order, registry: Registry | None = None) -> set[str]:
    """The statuses ``order`` may move to now (for buttons and the API)."""
    return moves_from(session, order.status, registry)


def moves_from(session: Session, status: str, registry: Registry | None = None) -> set[str]:
    """The statuses an order in ``status`` may move to now."""
    moves = {str(s) for s in ALLOWED[Status(status)]}
    if status in cancellable_statuses(session, registry):
        moves.add(Status.CANCELLED)
    return moves


# One query: the order row locked alone (not the customer or lines joined to it) and read
# fresh; the customer's addresses, which no transition reads, are left unloaded. The lines
# (and their products) come in the same query: every transition reads them. Built once,
# with the order's id bound: building it and its cache key on every call cost more than
# running it.
_LOCK_ORDER = (
    sa.select(Order)
    .where(Order.id == sa.bindparam("order_id"))
    .options(joinedload(Order.customer).lazyload(Customer.addresses),
             joinedload(Order.lines))
    .with_for_update(of=Order)
    .execution_options(populate_existing=True)
)


def lock(session: Session, order: Order | int) -> Order:
    """Load the order for this transaction, locked (PostgreSQL) and fresh from the database.

    On SQLite ``BEGIN IMMEDIATE`` already holds the write lock for the transaction.
    """
    order_id = order if isinstance(order, int) else order.id
    locked = session.scalars(_LOCK_ORDER, {"order_id": order_id}).unique().one_or_none()
    if locked is None:
        raise NotFound(f"no order {order_id}", field="order")
    return locked


def perform(
    session: Session,
    order: Order | int | None,
    name: str,
    body: Callable[[Transition, Order], T],
    *,
    actor: Any = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> T:
    """The one door of every change to an order: run ``body`` as one transition.

    In order: open the transaction; lock ``order`` (an id or an Order; ``None`` creates
    one: ``body`` gets a new, unsaved draft to fill and add to the session); build the
    :class:`~erpkit.Transition` (``name``, ``actor``, ``reason``, ``data``, the
    ``registry``: by default the one ``session`` carries); run ``body(transition,
    order)``, which moves the order with :func:`move` (checks, status, timeline, hooks);
    write the notes plugins added; commit. Any exception rolls everything back and
    propagates; a deadlock or serialization failure runs the whole attempt again
    (:func:`erpkit.transitions.run_atomic`). After the commit, the callbacks registered
    with :meth:`~erpkit.Transition.after_commit` run, and ``order.warnings`` holds the
    transition's warnings (say, a confirmation a plugin refused). Returns what ``body``
    returns.
    """
    registry = registry or registry_of(session)

    def attempt(optimistic: bool) -> T:
        locked: list[Order] = []
        kept: list[Callable[[], None]] = []

        def run() -> T:
            session.info[_OPTIMISTIC] = optimistic
            try:
                locked.clear()
                result = _pass(session, registry, order, name, body, actor, reason, data,
                               locked=locked)
            finally:
                session.info.pop(_OPTIMISTIC, None)
            session.flush()  # the commit would: now the order's row is what commits
            kept[:] = [restore for obj in locked
                       for restore in _committed_order(obj, new=order is None)]
            return result

        result = run_atomic(session, run)
        for restore in kept:
            restore()
        return result

    try:
        try:
            return attempt(optimistic=True)
        except (_RunGuarded, TransitionFailed) as exc:
            if not isinstance(exc, _RunGuarded) and not isinstance(exc.error, _RunGuarded):
                raise
            # The confirmation was refused or held: everything rolled back, and the
            # transition runs again with it in a savepoint, which keeps the approval.
            return attempt(optimistic=False)
    except Held as exc:
        held = exc
        # The attempt rolled back (nothing of the move stays); what the order now waits
        # on is recorded in a transaction of its own, and the caller gets the order with
        # ``order.held``: an outcome, not an error.
        assert order is not None  # a new order has no gate to pass
        return run_atomic(session, lambda: _record_hold(  # type: ignore[return-value]
            session, registry, order, name, held, actor, reason, data))


def _record_hold(session: Session, registry: Registry, order: Order | int, name: str,
                 held: Held, actor: Any, reason: str | None,
                 data: Mapping[str, Any] | None) -> Order:
    """One pass through the door that records what the held move waits on."""

    def body(transition: Transition, locked: Order) -> Order:
        transition.to_status = held.to_status
        hold_within(transition, locked, held)
        return locked

    locked = _pass(session, registry, order, name, body, actor, reason, data)
    locked.held = held.as_dict()
    return locked


def hold_within(transition: Transition, order: Order, held: Held) -> None:
    """Record ``held``'s holds in ``transition`` and tell the order's timeline."""
    for hold in held.holds:
        hold.recorded = hold.record(transition, order)
    record_event(transition.session, order, kind="note", actor=transition.actor_name,
                 message=f"{held.as_dict()['message']} (gate {held.gate})", public=False)
    flush_notes(transition, order)
    order.held = held.as_dict()


def perform_within(
    session: Session,
    order: Order | int,
    name: str,
    body: Callable[[Transition, Order], T],
    *,
    actor: Any = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> T:
    """The same door as :func:`perform`, inside a transaction the caller already runs.

    For work that must change an order and something else in one transaction the caller
    owns: the core's step sweep claims a breach and, in the same transaction, lets an
    approval step decide itself. Locking, the Transition, hooks, timeline and warnings
    are those of :func:`perform`; committing, rolling back and retrying are the caller's.
    A move a gate holds raises :class:`Held` here: the caller decides what to roll back
    and records the hold with :func:`hold_within`.
    """
    return _pass(session, registry or registry_of(session), order, name, body, actor,
                 reason, data)


def _committed_columns(obj: Any, new: bool = False) -> Callable[[], None]:
    """What puts ``obj``'s column values back after the commit expired them.

    Called after the transition's last flush: the values the object holds are the row
    it commits (the version counter and ``updated_at`` included). ``new``: the row was
    inserted by this transaction, so a column it never set (and that has no server
    default) is NULL.
    """
    state = sa.inspect(obj)
    values = {}
    for prop in state.mapper.column_attrs:
        key = prop.key
        if key in state.dict and key not in state.expired_attributes:
            values[key] = state.dict[key]
        elif new and key not in state.dict and all(
                column.server_default is None and column.default is None
                and not column.primary_key for column in prop.columns):
            values[key] = None

    def restore() -> None:
        if state.session is not None and not state.deleted:
            for key, value in values.items():
                if key in state.expired_attributes:
                    set_committed_value(obj, key, value)

    return restore


def _committed_order(order: Order, new: bool) -> list[Callable[[], None]]:
    """What puts back, after the commit, the order the door hands its caller: its
    columns as the transition committed them (the caller reads its status, the API
    answers with it, without a query).

    Only the order's own row, which this transaction locked and wrote: rows it only
    read (the customer, the products) expire as usual and are read fresh when used, so
    a session that lives on (a worker, a script) never keeps an old price. Its lines,
    shipments and timeline load on use (a new order has no shipment).
    """
    restores = [_committed_columns(order, new)]
    if new:
        restores.append(partial(set_committed_value, order, "shipments", []))
    return restores


def _pass(session: Session, registry: Registry, order: Order | int | None, name: str,
          body: Callable[[Transition, Order], T], actor: Any, reason: str | None,
          data: Mapping[str, Any] | None, *, locked: list[Any] | None = None) -> T:
    """One pass through the door: lock (or make), build the Transition, run, write notes.

    ``locked``, when given, receives the order the pass worked on.
    """
    target = (Order(number="", status=str(Status.DRAFT)) if order is None
              else lock(session, order))
    if locked is not None:
        locked.append(target)
    transition = Transition(
        session=session, registry=registry, name=name,
        from_status=None if order is None else target.status,
        to_status=str(Status.DRAFT) if order is None else None,
        actor=actor, reason=reason, data=dict(data or {}),
    )
    with collected(session):  # the timeline is written in one statement at the end
        result = body(transition, target)
        flush_notes(transition, target)
        write_collected(session)
    target.warnings = transition.warnings
    target.held = None
    return result


def move(transition: Transition, order: Order, to: Status, *, message: str | None = None,
         **hook_arguments: Any) -> None:
    """Change ``order``'s status within ``transition``: check, write, record, fire hooks.

    The timeline says ``message``, else the transition's reason, else the status label.
    """
    session, registry = transition.session, transition.registry
    current = Status(order.status)
    if to == Status.CANCELLED:
        cancellable = cancellable_statuses(session, registry)
        if current not in cancellable:
            raise TransitionRefused(
                f"order {order.number} cannot be cancelled while {current}; cancellable "
                f"statuses: {', '.join(sorted(cancellable))}",
                field="status", code="not_allowed",
            )
    elif to not in ALLOWED[current]:
        allowed = ", ".join(sorted(allowed_moves(session, order, registry))) or "none"
        raise TransitionRefused(
            f"order {order.number} cannot go from {current} to {to} (allowed now: {allowed})",
            field="status", code="not_allowed",
        )
    ask_gate(transition, order, to)
    old = order.status
    order.status = str(to)
    order.status_changed_at = now = utcnow()
    if to in (Status.PARTIALLY_SHIPPED, Status.SHIPPED) and order.shipped_at is None:
        order.shipped_at = now
    elif to == Status.DELIVERED:
        order.delivered_at = now
    transition.from_status, transition.to_status = old, str(to)
    record_event(session, order, kind="status", from_status=old, to_status=str(to),
                 actor=transition.actor_name,
                 message=message or transition.reason or PUBLIC_LABELS[to], public=True)
    hook = ENTRY_HOOKS.get(to)
    if to in (Status.PARTIALLY_SHIPPED, Status.SHIPPED):
        hook = "erpkit_order_shipped"
    if hook:
        registry.call(hook, order=order, transition=transition, **hook_arguments)
    registry.call("erpkit_order_status_changed", order=order, old_status=old,
                  new_status=str(to), transition=transition)
    flush_notes(transition, order)


def ask_gate(transition: Transition, order: Order, to: Status) -> None:
    """Raise :class:`Held` when a plugin holds the move into ``to`` at its gate.

    A gate this transition already passed (the move being made because the gate's last
    step approved it, :func:`pass_gate_in`) is not asked again.
    """
    gate = GATES.get(to)
    if gate is None or gate in transition.data.get("gates_passed", ()):
        return
    holds = [hold for hold in transition.registry.call(
        "erpkit_order_gate", order=order, transition=transition, gate=gate,
        to_status=str(to)) or () if hold is not None]
    if holds:
        resume = {"reason": transition.reason, **transition.data.get("resume", {})}
        for hold in holds:
            hold.resume = resume
        raise Held(gate, order.status, str(to), holds)


def pass_gate_in(transition: Transition, order: Order, gate: str,
                 resume: Mapping[str, Any]) -> None:
    """Make the move a gate held, within ``transition``, now that the gate passed.

    ``resume`` is what the held move recorded (:attr:`GateHold.resume`): a shipment's
    quantities and tracking, a cancellation's reason. The gate is not asked again; other
    checks (is the move still allowed? does a plugin refuse it?) are.
    """
    transition.data.setdefault("gates_passed", []).append(gate)
    if transition.reason is None:
        transition.reason = resume.get("reason")
    if gate == "confirm":
        _confirm(transition, order)
    elif gate == "ship":
        quantities = resume.get("quantities")
        _ship_in(transition, order, {int(k): Decimal(v) for k, v in quantities.items()}
                 if quantities else None, resume.get("tracking"))
    else:
        target = next(status for status, name in GATES.items() if name == gate)
        move(transition, order, target)


def flush_notes(transition: Transition, order: Order) -> None:
    """Write the notes plugins added with ``transition.note`` to the timeline."""
    while transition.notes:
        message, public = transition.notes.pop(0)
        record_event(transition.session, order, kind="note", actor=transition.actor_name,
                     message=message, public=public, source="plugin")


# --- the transitions -----------------------------------------------------------------


def submit(session: Session, order: Order | int, *, actor: Any = None,
           registry: Registry | None = None) -> Order:
    """Submit a draft: validate, ask the plugins whether approval is needed, then wait
    for approval or approve (and, with orders.auto_confirm, confirm) at once."""

    def body(transition: Transition, locked: Order) -> Order:
        from erpkit_orders.intake import validate_or_refuse

        validate_or_refuse(session, locked, stage="submit", registry=transition.registry)
        locked.submitted_by = transition.actor_name
        move(transition, locked, Status.SUBMITTED)
        request_approval_or_approve(transition, locked)
        return locked

    return perform(session, order, "submit", body, actor=actor, registry=registry)


def request_approval_or_approve(transition: Transition, order: Order, *,
                                why: str = "waiting for approval") -> None:
    """Ask every plugin whether ``order`` must wait; approve at once when none says so.

    An order that is already approved (changed after approval) and that no rule holds
    any more stays approved, with the new version recorded as the approved one.
    """
    registry = transition.registry
    requests = [r for found in registry.call(
        "erpkit_order_approval_required", order=order, transition=transition) or ()
        for r in (found or ())]
    if requests:
        summary = "; ".join(str(getattr(r, "summary", r)) for r in requests)
        order.approved_fingerprint = None
        move(transition, order, Status.PENDING_APPROVAL, message=f"{why}: {summary}")
        for request in requests:
            registry.call("erpkit_order_approval_requested", order=order, request=request,
                          transition=transition)
        flush_notes(transition, order)
    elif order.status == Status.APPROVED:
        order.approved_fingerprint = material_fingerprint(order)
        record_event(transition.session, order, kind="note", actor=transition.actor_name,
                     message=f"{why}: no approval rule applies to the new version, "
                             "so it stays approved")
    else:
        _approve_and_maybe_confirm(transition, order, reason="no approval rule applies")


def _approve_and_maybe_confirm(transition: Transition, order: Order, reason: str) -> None:
    move(transition, order, Status.APPROVED, message=transition.reason or reason)
    order.approved_fingerprint = material_fingerprint(order)
    session = transition.session
    if not transition.registry.parameters.get(session, "orders.auto_confirm"):
        return
    # The approval stands even when confirmation is refused (say, stock ran out since):
    # confirmation runs in a savepoint, and the refusal is written to the timeline and
    # handed back as a warning (the API returns it with the order).
    if session.info.get(_OPTIMISTIC):
        # Inside perform, the confirmation first runs without a savepoint (SAVEPOINT,
        # RELEASE and the flush before each cost three statements, and a confirmation is
        # rarely refused): a refusal or a hold rolls the whole transition back, and the
        # door runs it again with the confirmation in the savepoint below.
        try:
            _confirm(transition, order)
        except (Held, TransitionRefused) as exc:
            raise _RunGuarded from exc
        return
    notes_before = len(transition.notes)
    try:
        with session.begin_nested():
            _confirm(transition, order)
    except Held as held:  # a gate before confirmation: the order stays approved and waits
        del transition.notes[notes_before:]
        hold_within(transition, order, held)
        transition.warnings.append(held.as_dict())
    except TransitionRefused as exc:
        del transition.notes[notes_before:]
        who = f" ({exc.plugin})" if exc.plugin else ""
        record_event(session, order, kind="note", actor=transition.actor_name,
                     message=f"confirmation refused{who}: {exc.message}", public=False)
        refusal = exc.as_dict()
        transition.data["confirmation_refused"] = refusal
        transition.warnings.append({**refusal, "code": "confirmation_refused",
                                    "refusal_code": exc.code, "plugin": exc.plugin,
                                    "message": f"the order is approved, but confirmation was "
                                               f"refused{who}: {exc.message}"})


def _confirm(transition: Transition, order: Order) -> None:
    move(transition, order, Status.CONFIRMED, message=PUBLIC_LABELS[Status.CONFIRMED])
    answer = transition.registry.call("erpkit_delivery_promise", order=order,
                              session=transition.session)
    promised = promised_date_of(answer)
    if promised is not None:
        order.promised_date = promised
        # A promise with its explanation says on the timeline what decided the date.
        message = (answer.summary() if isinstance(answer, DeliveryPromise)
                   else f"delivery promised for {promised.isoformat()}")
        record_event(transition.session, order, kind="note", actor=transition.actor_name,
                     message=message, public=True)


def approve(session: Session, order: Order | int, *, actor: Any = None,
            reason: str | None = None, registry: Registry | None = None) -> Order:
    """Approve a pending order (the approvals plugin calls this when all steps agree)."""

    def body(transition: Transition, locked: Order) -> Order:
        _approve_and_maybe_confirm(transition, locked, reason="approved")
        return locked

    return perform(session, order, "approve", body, actor=actor, reason=reason,
                   registry=registry)


def approve_in(transition: Transition, order: Order, reason: str) -> None:
    """Approve within an already running transition (for plugins deciding in a hook)."""
    _approve_and_maybe_confirm(transition, order, reason=reason)


def reject(session: Session, order: Order | int, *, actor: Any = None, reason: str,
           registry: Registry | None = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, Status.REJECTED)
        return locked

    return perform(session, order, "reject", body, actor=actor, reason=reason,
                   registry=registry)


def reject_in(transition: Transition, order: Order) -> None:
    move(transition, order, Status.REJECTED)


def reopen(session: Session, order: Order | int, *, actor: Any = None,
           reason: str | None = None, registry: Registry | None = None) -> Order:
    """Put a rejected order back to draft so it can be corrected and submitted again."""

    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, Status.DRAFT)
        return locked

    return perform(session, order, "reopen", body, actor=actor, reason=reason,
                   registry=registry)


def confirm(session: Session, order: Order | int, *, actor: Any = None,
            registry: Registry | None = None) -> Order:
    """Confirm an approved order (when orders.auto_confirm is off, or after a refusal)."""

    def body(transition: Transition, locked: Order) -> Order:
        _confirm(transition, locked)
        return locked

    return perform(session, order, "confirm", body, actor=actor, registry=registry)


def ship(
    session: Session,
    order: Order | int,
    *,
    actor: Any = None,
    quantities: Mapping[int, Decimal] | None = None,
    tracking: str | None = None,
    registry: Registry | None = None,
) -> Order:
    """Record goods leaving: ``quantities`` maps line id to quantity (all open if None)."""

    def body(transition: Transition, locked: Order) -> Order:
        _ship_in(transition, locked, quantities, tracking)
        return locked

    return perform(session, order, "ship", body, actor=actor, registry=registry)


def _ship_in(transition: Transition, order: Order, quantities: Mapping[int, Decimal] | None,
             tracking: str | None) -> None:
    # What a held shipment needs to be made later, when its gate passes.
    transition.data["resume"] = {
        "quantities": {str(k): str(v) for k, v in quantities.items()} if quantities else None,
        "tracking": tracking}
    shipment = _build_shipment(order, quantities, tracking)
    transition.session.add(shipment)
    for item in shipment.lines:
        item.order_line.shipped_quantity += item.quantity
    complete = all(line.open_quantity == 0 for line in order.lines)
    move(transition, order, Status.SHIPPED if complete else Status.PARTIALLY_SHIPPED,
         shipment=shipment)


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
                f"line {line.line_no}: cannot ship {quantity.normalize():f}, open quantity "
                f"is {line.open_quantity.normalize():f}", field=f"lines.{line_id}.quantity",
                code="invalid")
        if quantity:
            shipment.lines.append(ShipmentLine(order_line=line, order_line_id=line.id,
                                               quantity=quantity))
    if not shipment.lines:
        raise TransitionRefused("nothing to ship", field="lines", code="empty")
    return shipment


def deliver(session: Session, order: Order | int, *, actor: Any = None,
            registry: Registry | None = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, Status.DELIVERED)
        return locked

    return perform(session, order, "deliver", body, actor=actor, registry=registry)


def close(session: Session, order: Order | int, *, actor: Any = None,
          registry: Registry | None = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, Status.CLOSED)
        return locked

    return perform(session, order, "close", body, actor=actor, registry=registry)


def cancel(session: Session, order: Order | int, *, actor: Any = None,
           reason: str | None = None, registry: Registry | None = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, Status.CANCELLED)
        return locked

    return perform(session, order, "cancel", body, actor=actor, reason=reason or "cancelled",
                   registry=registry)


def return_order(session: Session, order: Order | int, *, actor: Any = None,
                 reason: str | None = None, registry: Registry | None = None) -> Order:
    def body(transition: Transition, locked: Order) -> Order:
        move(transition, locked, Status.RETURNED)
        return locked

    return perform(session, order, "return", body, actor=actor, reason=reason or "returned",
                   registry=registry)


def default_promise(session: Session, order: Order, registry: Registry | None = None) -> date:
    """Today plus orders.default_lead_days, or the requested date if later."""
    registry = registry or registry_of(session)
    lead = int(registry.parameters.get(session, "orders.default_lead_days"))
    promised = utcnow().date() + timedelta(days=lead)
    if order.requested_date and order.requested_date > promised:
        return order.requested_date
    return promised
