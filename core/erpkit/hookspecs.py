"""The hook specifications: erpkit's contract with its plugins.

Read this file as a table of contents of an order's life. Every hook is named
``erpkit_<entity>_<event>`` and takes keyword arguments only. An implementation may
accept fewer arguments than its spec lists (pluggy passes only the ones it names), so a
new argument never breaks an existing plugin.

Conventions that hold for every lifecycle hook:

* **Transaction.** Hooks marked *in the transaction* run inside the order's transition,
  before it commits. ``transition.session`` is that transaction's session: write with it.
* **Refusing.** Raise :class:`erpkit.TransitionRefused` with a message for the user.
  The whole transition rolls back (the order stays exactly as it was) and the caller
  receives the message, attributed to your plugin. Any other exception also rolls back;
  the caller then gets a failure naming your plugin.
* **Side effects outside the database** (mail, webhooks, queues) must not happen when the
  transition rolls back: register them with ``transition.after_commit(callable)``.
* **Order of implementations.** A plugin's implementation runs after those of the plugins
  it requires; plugins that do not depend on each other run in name order. Install order
  never matters. ``tryfirst``/``trylast`` still apply.

The reference for each hook, with examples, is ``docs/hooks.md``; a test fails when a hook
here has no section there or no test that calls it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import date, timedelta

    import click
    from flask import Blueprint
    from sqlalchemy.orm import Session

    from erpkit.admin.contrib import AdminView
    from erpkit.admin.home import HomePanel
    from erpkit.auth import Permission
    from erpkit.contracts import ApprovalRequestLike, OrderLike, ShipmentLike
    from erpkit.document_gates import DocumentHold, DocumentLike, GatedTransition
    from erpkit.events import EventType
    from erpkit.facts import FactDefinition
    from erpkit.jobs import Job, PeriodicTask
    from erpkit.models import User
    from erpkit.parameters import Parameter
    from erpkit.problems import Problem
    from erpkit.promises import DeliveryPromise
    from erpkit.steps import StepDeclaration
    from erpkit.transitions import Transition
    from erpkit.work import WorkItem, WorkKey

hookspec = pluggy.HookspecMarker("erpkit")

# ---------------------------------------------------------------------------------------
# Set-up: what a plugin contributes. Called once when the app or CLI is built, outside
# any order's transaction.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_models() -> Iterable[type]:
    """Return the mapped model classes this plugin defines.

    Called at start-up, after every plugin module is imported. The core checks that each
    model's table name starts with ``<plugin name>_`` (so two plugins never share a table)
    and uses the list to attribute tables to migration branches.

    Return value: an iterable of declarative classes on :data:`erpkit.db.Base`.
    """


@hookspec
def erpkit_parameters() -> Iterable[Parameter]:
    """Return the typed parameters (settings) this plugin declares.

    Called at start-up. Each :class:`erpkit.Parameter` has a name (prefix it with your
    plugin name: ``orders.number_pattern``), a marshmallow field giving its type and
    validation, a default and a description. Admins change values with
    ``erpkit settings set`` or the console; read them with
    :func:`erpkit.parameters.get_value`.

    Return value: an iterable of parameters. Two plugins declaring one name is an error.
    """


@hookspec
def erpkit_blueprints() -> Iterable[Blueprint]:
    """Return the Flask blueprints this plugin serves.

    Called by :func:`erpkit.create_app`. Give each blueprint a ``url_prefix`` of its own
    (``/api/orders``). JSON errors are handled by the core: raise
    :class:`erpkit.ValidationFailed` or :class:`erpkit.TransitionRefused` and the client
    gets a 4xx body naming the field and the reason.

    Return value: an iterable of blueprints.
    """


@hookspec
def erpkit_admin_views() -> Iterable[AdminView]:
    """Return the admin console views this plugin contributes.

    Called by :func:`erpkit.create_app` inside an app context. Return
    :class:`erpkit.admin.contrib.AdminView` descriptions, not view instances: the core
    builds each view, prefixes its endpoint with the plugin name (so two plugins never
    collide) and wraps it in the same permission check as the core's own views, so a
    plugin cannot forget access control.

    Return value: an iterable of :class:`AdminView`.
    """


@hookspec(firstresult=True)
def erpkit_console_home(user: Any) -> str | None:
    """Choose the page ``user`` lands on when opening the console (``/admin/``).

    Called on each visit of the console's home, in the request, with the logged-in
    :class:`erpkit.models.User` (it may open the console). Return the endpoint of a
    console page this user may open (``"reporting_dashboard.index"``): the home shows that
    page in its place, at the same address. ``None`` leaves the choice to others; with no
    answer the user sees the list of the pages they may open, which stays at
    ``/admin/?pages=1`` for everyone.

    Return value: stops at the first non-None result (an endpoint name).
    """


@hookspec
def erpkit_console_home_panels(user: User, session: Session) -> Iterable[HomePanel]:
    """Put panels on ``user``'s console home: what this plugin has for their roles.

    Called each time someone opens the console's home (``/admin/``), in the request's
    session; do not write. Return only what ``user`` may see (check
    ``user.can(permission)``), from bounded queries (a panel shows a few lines and a
    count, and links to the page that lists everything). The core draws the panels,
    escaped, after its own (what waits on the user, what is late, unread notifications).

    Return value: an iterable of :class:`erpkit.admin.home.HomePanel`; empty or
    ``None`` when this plugin has nothing for ``user``.
    """


@hookspec
def erpkit_cli_commands() -> Iterable[click.Command]:
    """Return click commands or groups to add to the ``erpkit`` command line.

    Called when the CLI starts. Commands run inside an app context, so
    :data:`erpkit.db.db.session` is a session of their own. A group named like the plugin
    (``erpkit orders import``) keeps the command line tidy.

    Return value: an iterable of :class:`click.Command`.
    """


@hookspec
def erpkit_permissions() -> Iterable[Permission]:
    """Declare the permissions this plugin's views and actions check.

    Called at start-up. Each :class:`erpkit.Permission` has a name (``orders.cancel``), a
    description for the admin's permission matrix, and the built-in roles that get it by
    default (``("admin", "sales")``). Check one with
    :func:`erpkit.auth.permission_required` or ``user.can(name)``.

    Return value: an iterable of permissions.
    """


@hookspec
def erpkit_fact_definitions() -> Iterable[FactDefinition]:
    """Declare the facts about an order that approval rules may test.

    Called at start-up. Each :class:`erpkit.FactDefinition` has a name (prefix it with
    your plugin name: ``inventory.shortage_quantity``), a type (``decimal``, ``integer``,
    ``string``, ``boolean``, ``string_list``) and a description shown to admins in the
    rule editor. A rule can only name facts that an installed plugin declares.

    Return value: an iterable of fact definitions.
    """


@hookspec
def erpkit_order_facts(order: OrderLike, session: Session) -> Mapping[str, Any]:
    """Compute this plugin's facts for ``order``.

    Called when rules are evaluated (on submit, on a dry run), in the caller's session;
    do not write. Return only facts you declared in :func:`erpkit_fact_definitions`;
    values must match the declared type (money as :class:`~decimal.Decimal`).

    Return value: a mapping of fact name to value. The results of all plugins are merged.
    """


@hookspec
def erpkit_fact_uses(session: Session) -> Mapping[str, Iterable[str]]:
    """Say which facts this plugin's data tests (an approval rule's conditions).

    Called by ``erpkit plugins list`` and ``erpkit db downgrade PLUGIN``, to warn about
    data that tests a fact no enabled plugin declares any more (or soon will not); only
    read. A fact may belong to any plugin, declared or not.

    Return value: a mapping of fact name to descriptions of what tests it
    (``"approval rule 'Shortages' (v2, on)"``). The results of all plugins are merged.
    """


@hookspec
def erpkit_demo_data(session: Session, users: Mapping[str, User]) -> None:
    """Load this plugin's demo records for ``erpkit demo``.

    Called once per demo load, in dependency order (a plugin sees the demo records of the
    plugins it requires), after the core made one user per built-in role (``users`` maps
    role name to user). Create records through the same service functions users go
    through, so the demo exercises the real code paths; commit when done.

    A plugin whose demo needs what the plugins that require it bring (orders that need
    the inventory's stock to be confirmed) implements it as a wrapper,
    ``@hookimpl(wrapper=True)``: the code before its ``yield`` runs before those
    plugins, the code after it once they are done.

    Return value ignored.
    """


@hookspec
def erpkit_jobs() -> Iterable[Job | PeriodicTask]:
    """Declare the background jobs and periodic tasks this plugin offers.

    Called when a worker or an app first uses the job service. A :class:`erpkit.jobs.Job`
    has a name (prefix it with your plugin name: ``crm.import_contacts``), a function
    ``run(context, **args)``, how many times a failed run is tried again and the delay
    before the first retry (doubled each time). A :class:`erpkit.jobs.PeriodicTask` runs
    ``run(context)`` every ``every`` (or every ``every_parameter`` seconds). Ask for a job
    with :func:`erpkit.jobs.enqueue` inside your transaction; it runs after the commit.
    A job must be safe to run twice.

    Return value: an iterable of jobs and periodic tasks. Two declaring one name is an
    error.
    """


@hookspec
def erpkit_events() -> Iterable[EventType]:
    """Declare the events this plugin writes to the outbox (and webhooks deliver).

    Called when the event catalogue is read: a subscription naming events, the webhooks
    API's catalogue, the OpenAPI document. An :class:`erpkit.events.EventType` has a name
    (prefix it with your plugin name: ``loyalty.points_granted``), a payload version
    (raise it when a receiver must notice a change) and a marshmallow schema of the
    payload. Write an event with :func:`erpkit.outbox.emit` in your transaction: it is
    delivered only if the transaction commits.

    Return value: an iterable of event types. Two declaring one name is an error. Since
    core 0.1.
    """


@hookspec
def erpkit_steps() -> Iterable[StepDeclaration]:
    """Declare the steps this plugin owns that have a time limit.

    Called by each sweep (the core's periodic job ``core.step_sweep`` and ``erpkit sla
    sweep``) and by the overdue lists. A :class:`erpkit.steps.StepDeclaration` names the
    parameter that holds the limit, a function listing what is late now (one set-based
    query on indexed columns), a function that locks a late subject for its breach's
    transaction, the subject's timeline, and the breach actions the plugin offers beside
    the core's ``remind`` and ``escalate``.

    Return value: an iterable of step declarations. Two declaring one name is an error.
    """


# ---------------------------------------------------------------------------------------
# Validation: before an order is created, changed or submitted.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_order_validate(order: OrderLike, session: Session, stage: str) -> Iterable[Problem]:
    """Check an order and report what is wrong with it.

    Called in the transaction, after the orders module built or changed ``order`` and
    before anything is committed, with ``stage`` one of ``"create"``, ``"update"`` and
    ``"submit"``. Bad input is not an exception: never raise for it, return problems. The
    problems of every plugin are reported together with the orders module's own.

    Return value: an iterable of :class:`erpkit.Problem` (field, message, optional line
    number). A problem with ``severity="warning"`` is reported but does not refuse.
    An empty iterable or ``None`` means "nothing wrong".
    """


@hookspec
def erpkit_order_intake_refused(
    channel: str, problems: Iterable[Problem], actor: Any, session: Session
) -> None:
    """An order was refused at intake: creating it failed validation.

    Called after the refused creation rolled back, in a transaction of its own that the
    orders module commits right after (the order was never written; the refusal is).
    ``channel`` is where the attempt came from, ``problems`` the errors it was refused
    for (each with its ``field``), ``actor`` who tried (or ``None``). Record, count or
    alert here; do not raise: a failure is logged and the caller still gets the refusal.

    Return value ignored. Since core 0.1.
    """


# ---------------------------------------------------------------------------------------
# Lifecycle: an order moving from one status to the next. Every hook here runs in the
# transition's transaction, after the status column was changed and before commit.
# Refuse with erpkit.TransitionRefused; defer outside effects with transition.after_commit.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_order_created(order: OrderLike, transition: Transition) -> None:
    """An order was created (status ``draft``) through any channel.

    ``order.channel`` says where it came from. In the transaction. Return value ignored.
    """


@hookspec
def erpkit_order_submitted(order: OrderLike, transition: Transition) -> None:
    """An order was submitted: its owner asks for it to be processed.

    Fired after validation passed and before approval is decided. In the transaction.
    Return value ignored.
    """


@hookspec
def erpkit_order_approval_required(
    order: OrderLike, transition: Transition
) -> Iterable[ApprovalRequestLike]:
    """Say whether a submitted order must wait for approval.

    Called in the submit transaction, right after :func:`erpkit_order_submitted`. An
    approvals plugin returns the approval requests it opened (any objects with a
    ``summary`` attribute); when every plugin returns nothing, the order is approved at
    once.

    Return value: an iterable of approval requests; empty or ``None`` means no approval
    is needed by this plugin.
    """


@hookspec
def erpkit_order_approval_requested(
    order: OrderLike, request: ApprovalRequestLike, transition: Transition
) -> None:
    """An order now waits for approval (status ``pending_approval``).

    ``request`` is the approval request that holds it. Notify approvers here, through
    ``transition.after_commit``. In the transaction. Return value ignored.
    """


@hookspec
def erpkit_order_gate(order: OrderLike, transition: Transition, gate: str,
                      to_status: str) -> Any:
    """Say whether a move must wait at its gate (held for approval) before it happens.

    Called in the transaction by every move into a gated status, before the status
    changes: ``gate`` is ``confirm``, ``ship``, ``deliver``, ``cancel``, ``return`` or
    ``reopen`` (``erpkit_orders.lifecycle.GATES``), ``to_status`` the status the move leads
    to, ``order`` still in its current status. Return an
    ``erpkit_orders.lifecycle.GateHold`` to hold the move: the attempt rolls back, the
    hold's ``record`` writes what the order waits on in a transaction of its own, and the
    caller gets the order with ``order.held`` (the API answers 202). Make the move later
    with ``erpkit_orders.lifecycle.pass_gate_in``. A move made by ``pass_gate_in`` does
    not ask its gate again. Raise :class:`erpkit.TransitionRefused` to refuse the move.

    Return value: a ``GateHold``, or ``None`` to let the move through.
    """


@hookspec
def erpkit_order_approved(order: OrderLike, transition: Transition) -> None:
    """An order was approved, by its last approver or because no rule applied.

    In the transaction; confirmation follows in the same transaction when nothing
    refuses. Return value ignored.
    """


@hookspec
def erpkit_order_rejected(order: OrderLike, transition: Transition) -> None:
    """An approver rejected the order. ``transition.reason`` holds their comment.

    In the transaction. Return value ignored.
    """


@hookspec
def erpkit_order_confirmed(order: OrderLike, transition: Transition) -> None:
    """The order is confirmed: the business commits to deliver it.

    Inventory reserves stock here and refuses the transition (``TransitionRefused``)
    when a line cannot be covered. In the transaction. Return value ignored.
    """


@hookspec
def erpkit_order_shipped(
    order: OrderLike, shipment: ShipmentLike, transition: Transition
) -> None:
    """Goods left the warehouse for the order: ``shipment`` lists lines and quantities.

    Fired for partial and complete shipments; ``order.status`` tells which. In the
    transaction. Return value ignored.
    """


@hookspec
def erpkit_order_delivered(order: OrderLike, transition: Transition) -> None:
    """The customer received the order. In the transaction. Return value ignored."""


@hookspec
def erpkit_order_cancelled(order: OrderLike, transition: Transition) -> None:
    """The order was cancelled; ``transition.from_status`` says from where.

    Release what you hold for it (stock, carriers). In the transaction. Return value
    ignored.
    """


@hookspec
def erpkit_order_returned(order: OrderLike, transition: Transition) -> None:
    """A delivered order came back. Restock or refund here.

    In the transaction. Return value ignored.
    """


@hookspec
def erpkit_order_status_changed(
    order: OrderLike, old_status: str, new_status: str, transition: Transition
) -> None:
    """Any status change of an order, fired after the specific hook above.

    The one hook to implement for a plugin that follows every move (reporting,
    webhooks). In the transaction. Return value ignored.
    """


# ---------------------------------------------------------------------------------------
# Other documents' gated moves: a plugin's own document (a purchase order) whose move
# approval rules may hold, like a sales order's (erpkit.document_gates).
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_gated_transitions() -> Iterable[GatedTransition]:
    """Declare the moves of this plugin's own documents that approval rules may guard.

    Called whenever rules are saved or evaluated, outside any transaction. A
    :class:`erpkit.document_gates.GatedTransition` names the gate (prefixed with your
    plugin's name: ``purchasing.approve``), the document, the status it waits in, the
    facts rules of the gate may test and how to compute them, how to lock the document,
    and what to do when the last step passes (``passed``) or one rejects (``refused``).
    Ask before the move with :func:`erpkit.document_gates.ask_gate`.

    Return value: an iterable of declarations. Two declaring one name is an error.
    Since core 0.1.
    """


@hookspec(firstresult=True)
def erpkit_document_gate(gate: GatedTransition, document: DocumentLike, session: Session,
                         actor: Any) -> DocumentHold | None:
    """Say whether ``document``'s move ``gate`` must wait for approval.

    Called by :func:`erpkit.document_gates.ask_gate` in the caller's transaction, the
    document locked and still in ``gate.waits_in``; ``actor`` asks for the move. To hold
    it, write what it waits on with ``session`` and return a
    :class:`erpkit.document_gates.DocumentHold`; later, in the transaction of the last
    approval, lock the document with ``gate.lock`` and call ``gate.passed``. Raise
    :class:`erpkit.TransitionRefused` to refuse the move (it already waits, say).

    Return value: the first hold stops the call; ``None`` lets the move through.
    """


@hookspec
def erpkit_document_gate_withdrawn(gate: GatedTransition, document: DocumentLike,
                                   session: Session, reason: str) -> None:
    """``document`` left the status its held move ``gate`` waits in another way
    (cancelled, or edited so the approval asked no longer fits): close what waits on it.

    Called by :func:`erpkit.document_gates.withdraw_gate` in the caller's transaction.
    Return value ignored.
    """


# ---------------------------------------------------------------------------------------
# Time limits and promises.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_step_breached(
    subject: Any, step: str, overdue_by: timedelta, action: str, session: Session
) -> None:
    """A step ran over its time limit (found by the core's sweep: the workers' periodic
    job ``core.step_sweep``, or ``erpkit sla sweep``).

    ``subject`` is the late object, as the declaration of the step (``erpkit_steps``)
    locked it (an order, an approval step), ``step`` the step's name
    (``submitted_to_confirmed``), ``overdue_by`` how late it is and ``action`` what the
    sweep did about it (``remind``, ``escalate``, or an action of the declaring plugin:
    ``approve``, ``reject``). Fired once per breach, however many workers sweep, in the
    sweep's transaction for that subject. Return value ignored.
    """


@hookspec(firstresult=True)
def erpkit_delivery_promise(
    order: OrderLike, session: Session
) -> date | DeliveryPromise | None:
    """Promise a delivery date for ``order``.

    Called when an order is confirmed, in the transaction. The first implementation that
    answers wins (logistics answers from stock, supplier and production lead times, the
    warehouse's handling, the carrier's cut-off and transit on business calendars;
    inventory from supplier lead time; orders last, from its default lead time). Return
    ``None`` to let the next plugin answer.

    Return value: a :class:`datetime.date`, or an :class:`erpkit.promises.DeliveryPromise`
    (the date and its explanation, step by step; the order keeps the date), or ``None``.
    """


# ---------------------------------------------------------------------------------------
# Work queues: what waits on whom. Read when someone opens their queue, outside any
# order's transaction.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_work_queue(user: User, session: Session, limit: int,
                      after: WorkKey | None) -> Iterable[WorkItem]:
    """Say what waits on ``user``: the things they can act on now, with the time left.

    Called when someone opens their work queue (the console's "My work",
    ``GET /api/work``), in that request's session; do not write. Return only what
    ``user`` may act on (check ``user.can(permission)``), the oldest first and at most
    ``limit`` items, from bounded queries on indexed columns. The core merges the
    items of every plugin, oldest ``waiting_since`` first.

    ``after`` is where the page being read starts (a :class:`erpkit.WorkKey`: the
    ``key`` of the last item of the page before), or ``None`` for the first page:
    return only items whose ``key`` sorts after it, so each page reads ``limit`` items
    however long the queue is. An implementation that does not take ``after`` is
    given its oldest items on every page and the core drops those before ``after``:
    its later items are then missing from later pages.

    Return value: an iterable of :class:`erpkit.WorkItem`; empty or ``None`` when
    nothing of this plugin waits on ``user``.
    """
