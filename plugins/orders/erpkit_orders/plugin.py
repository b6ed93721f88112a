"""The orders plugin: what it declares to the core and how it takes part in hooks."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from typing import Any

from marshmallow import ValidationError, fields, validate
from sqlalchemy.orm import Session

from erpkit import Parameter, PluginMeta, hookimpl
from erpkit.auth import Permission
from erpkit_orders import departments, lifecycle, models
from erpkit_orders.facts import erpkit_fact_definitions, erpkit_order_facts  # noqa: F401  (hook implementations)

PLUGIN = PluginMeta(
    name="orders",
    requires=(),
    core=">=0.1,<0.2",
    migrations="erpkit_orders:migrations",
    hookspecs="erpkit_orders.hookspecs",
    description="Catalogue, customers, orders, their lifecycle and timeline.",
)


def _check_number_pattern(pattern: str) -> None:
    try:
        pattern.format(year=2026, month=1, seq=1)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(
            f"use only {{year}}, {{month}} and {{seq}} placeholders ({exc})") from None
    if "{seq" not in pattern:
        raise ValidationError("the pattern must contain {seq} so numbers are unique")


@hookimpl
def erpkit_models() -> tuple[type, ...]:
    return models.MODELS


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    statuses = [str(s) for s in lifecycle.Status]
    return [
        Parameter(
            name="orders.number_pattern",
            type=fields.String(validate=_check_number_pattern),
            default="SO-{year}-{seq:06d}",
            description="Pattern of order numbers; {year}, {month} and {seq} (the sequence "
            "restarts each year when the pattern contains {year}).",
        ),
        Parameter(
            name="orders.channels",
            type=fields.List(fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]*$")),
                             validate=validate.Length(min=1)),
            default=["web", "store", "phone", "email", "api", "import"],
            description="Channels orders may arrive through; plugins and admins add more.",
        ),
        Parameter(
            name="orders.cancellable_statuses",
            type=fields.List(fields.String(validate=validate.OneOf(statuses))),
            default=lifecycle.CANCELLABLE_DEFAULT,
            description="Statuses from which an order may still be cancelled.",
        ),
        Parameter(
            name="orders.auto_confirm",
            type=fields.Boolean(),
            default=True,
            description="Confirm an order as soon as it is approved (otherwise someone "
            "confirms it by hand).",
        ),
        Parameter(
            name="orders.default_lead_days",
            type=fields.Integer(validate=validate.Range(min=0, max=365)),
            default=3,
            description="Days from confirmation to the promised delivery date when no "
            "plugin promises one.",
        ),
        Parameter(
            name="orders.max_lines_per_order",
            type=fields.Integer(validate=validate.Range(min=1, max=10_000)),
            default=500,
            description="The most lines one order may have; larger orders are refused.",
        ),
        Parameter(
            name="orders.max_note_length",
            type=fields.Integer(validate=validate.Range(min=0, max=100_000)),
            default=4000,
            description="The longest note (in characters) an order may carry.",
        ),
        *(step.declaration() for step in departments.DEPARTMENT_STEPS),
        Parameter(
            name="orders.sla.escalation_role",
            type=fields.String(validate=validate.Length(min=1, max=60)),
            default="admin",
            description="The role alerted when an order runs over a department time limit "
                        "(orders.sla.*); with the approvals module it may then also decide "
                        "the order's open approval step.",
        ),
    ]


@hookimpl
def erpkit_steps() -> list[Any]:
    """The department steps and their time limits, swept by the core."""
    from erpkit_orders.time_limits import step_declarations

    return step_declarations()


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [
        Permission("orders.view", "See orders, customers and products",
                   ("admin", "sales", "approver", "warehouse", "logistics", "analyst")),
        Permission("orders.create", "Create and change orders", ("admin", "sales")),
        Permission("orders.submit", "Submit orders", ("admin", "sales")),
        Permission("orders.cancel", "Cancel orders", ("admin", "sales")),
        Permission("orders.confirm", "Confirm approved orders by hand", ("admin", "sales")),
        Permission("orders.ship", "Record shipments", ("admin", "warehouse")),
        Permission("orders.deliver", "Record deliveries and returns",
                   ("admin", "logistics", "warehouse")),
        Permission("orders.catalogue", "Edit products and customers", ("admin", "sales")),
        Permission("orders.import", "Import orders from files", ("admin", "sales")),
    ]


@hookimpl(trylast=True)
def erpkit_delivery_promise(order: Any, session: Session) -> date:
    """The fallback promise when no other plugin answers: lead days from today."""
    return lifecycle.default_promise(session, order)


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit_orders.admin_views import assets_blueprint
    from erpkit_orders.api import blueprints

    return [*blueprints(), assets_blueprint()]


@hookimpl
def erpkit_cli_commands() -> list[Any]:
    from erpkit_orders.cli import customers_group, imports_group, orders_group, products_group

    return [orders_group, products_group, customers_group, imports_group]


@hookimpl(wrapper=True)
def erpkit_demo_data(session: Session, users: Any) -> Generator[None, None, None]:
    """The catalogue first; the orders once the plugins that require orders (stock,
    approval rules) have loaded their demo records, so the orders meet them."""
    from erpkit_orders.demo import load_catalogue, load_orders, make_one_order_late

    fresh = load_catalogue(session)
    yield
    if fresh:
        load_orders(session, users)
        make_one_order_late(session)


@hookimpl
def erpkit_admin_views() -> list[Any]:
    from erpkit_orders.admin_views import admin_views

    return admin_views()


@hookimpl
def erpkit_jobs() -> list[Any]:
    from erpkit.jobs import Job
    from erpkit_orders.import_runs import IMPORT_JOB, import_job

    return [Job(name=IMPORT_JOB, run=import_job, retries=3, retry_delay=5.0,
                description="Import a file of products, customers or orders (resumes "
                            "from its last batch when tried again).")]


@hookimpl
def erpkit_work_queue(user: Any, session: Session, limit: int, after: Any) -> list[Any]:
    """Orders waiting on the user's departments: drafts to submit, orders to ship..."""
    from erpkit_orders.work import orders_waiting_on

    return orders_waiting_on(session, user, limit, after)
