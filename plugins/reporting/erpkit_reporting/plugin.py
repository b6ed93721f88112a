"""The reporting plugin: what it declares to the core and how it follows the orders.

The rollups change in the transition's own transaction (``transition.session``), through
``erpkit_order_status_changed``, which fires for every move after the specific hook: a
transition that rolls back leaves the figures as they were, and a committed one is in the
reports at once. Orders imported as history fire no lifecycle hook: each batch the
importer writes comes through ``erpkit_orders_history_imported``, in its transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from marshmallow import fields, validate
from sqlalchemy.orm import Session

from erpkit import Parameter, PluginMeta, Problem, Transition, hookimpl
from erpkit.auth import Permission
from erpkit.db import utcnow
from erpkit_reporting import contributions, models, rollup

PLUGIN = PluginMeta(
    name="reporting",
    requires=("orders",),
    core=">=0.1,<0.2",
    migrations="erpkit_reporting:migrations",
    hookspecs="erpkit_reporting.hookspecs",
    description="Sales, customers, fulfilment, cycle times, quality and forecasts; "
    "dashboard and exports, from rollups kept in the orders' transactions.",
)
VIEW = "reporting.view"
SCHEDULE = "reporting.schedule"


@hookimpl
def erpkit_models() -> tuple[type, ...]:
    return models.MODELS


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    share = fields.Decimal(places=2, validate=validate.Range(min=Decimal("0.01"),
                                                             max=Decimal(1)))
    return [
        Parameter(name="reporting.abc_a", type=share, default=Decimal("0.80"),
                  description="products-abc: products are class A until the cumulative "
                  "revenue share before them reaches this."),
        Parameter(name="reporting.abc_b", type=fields.Decimal(
            places=2, validate=validate.Range(min=Decimal("0.01"), max=Decimal(1))),
            default=Decimal("0.95"),
            description="products-abc: then class B until this share; class C after."),
        Parameter(name="reporting.schedule_sweep_seconds",
                  type=fields.Integer(validate=validate.Range(min=60)), default=900,
                  description="How often the workers look for scheduled reports whose "
                  "period has ended (the periodic job reporting.schedule_sweep), in seconds."),
        Parameter(name="reporting.max_periods", type=fields.Integer(
            validate=validate.Range(min=1, max=100_000)), default=2000,
            description="The most periods (days, weeks, months...) one report may cover: "
            "a report's work grows with them; longer ones are refused (ask by a longer "
            "period or for a shorter range)."),
    ]


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [Permission(VIEW, "Read reports and the dashboard; export them",
                       ("admin", "analyst")),
            Permission(SCHEDULE, "Schedule reports to be mailed to users and roles",
                       ("admin",))]


@hookimpl
def erpkit_jobs() -> list[Any]:
    from erpkit_reporting.schedules import jobs

    return jobs()


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit_reporting.admin import assets_blueprint
    from erpkit_reporting.api import reports_blueprint

    return [reports_blueprint(), assets_blueprint()]


@hookimpl
def erpkit_admin_views() -> list[Any]:
    from erpkit_reporting.admin import admin_views

    return admin_views()


@hookimpl
def erpkit_console_home(user: Any) -> str | None:
    """Analysts and admins (whoever may read reports) land on the dashboard."""
    return "reporting_dashboard.index" if user.can(VIEW) else None


@hookimpl
def erpkit_cli_commands() -> list[Any]:
    from erpkit_reporting.cli import report

    return [report]


@hookimpl
def erpkit_reporting_reports() -> list[Any]:
    from erpkit_reporting import operations, sales

    return [*sales.reports(), *operations.reports()]


# --- following the orders ------------------------------------------------------------


@hookimpl
def erpkit_order_created(order: Any, transition: Transition | None) -> None:
    if order is None or transition is None:  # a dry call of the hook has nothing to count
        return
    rollup.order_created(transition.session, order)


@hookimpl
def erpkit_order_status_changed(order: Any, old_status: str, new_status: str,
                                transition: Transition) -> None:
    rollup.status_changed(transition.session, order, old_status, new_status)


@hookimpl
def erpkit_order_validate(order: Any, session: Session, stage: str) -> list[Problem]:
    """Not a check: an ``update`` of a submitted order is an edit after submission
    (order-quality). A refused update rolls back, and the count with it."""
    if stage == "update" and order is not None and order.status != "draft":
        rollup.order_edited(session, order)
    return []


@hookimpl
def erpkit_orders_history_imported(session: Session, order_ids: list[int]) -> None:
    from erpkit_reporting.rebuild import add_orders

    add_orders(session, order_ids)


@hookimpl
def erpkit_order_intake_refused(channel: str, problems: Iterable[Problem], actor: Any,
                                session: Session) -> None:
    """Record each problem of the refused attempt, and count the attempt once."""
    attempt = uuid.uuid4().hex
    now = utcnow()
    actor_name = getattr(actor, "login", None) or (str(actor) if actor else None)
    for problem in problems:
        session.add(models.IntakeRefusal(
            at=now, channel=channel[:32], field=(problem.field or "")[:120],
            code=(problem.code or "")[:40], message=(problem.message or "")[:500],
            attempt=attempt, actor=actor_name))
    changes = contributions.new_changes()
    contributions.add_quality(changes, now.date(), channel[:80], "intake_refused")
    rollup.apply(session, changes)
