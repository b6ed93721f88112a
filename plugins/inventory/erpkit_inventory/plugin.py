"""The inventory plugin: what it declares to the core and how it takes part in hooks.

Every lifecycle hook here works in the transition's transaction (``transition.session``):
a refusal or failure rolls the order's move back together with every stock change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from marshmallow import fields, validate
from sqlalchemy.orm import Session

from erpkit import FactDefinition, Parameter, PluginMeta, Problem, Transition, hookimpl
from erpkit.auth import Permission
from erpkit_inventory import availability, models, reservations
from erpkit_inventory.promise import backorder_promise

PLUGIN = PluginMeta(
    name="inventory",
    requires=("orders",),
    core=">=0.1,<0.2",
    migrations="erpkit_inventory:migrations",
    hookspecs="erpkit_inventory.hookspecs",
    description="Warehouses, a stock ledger, reservations that never oversell, replenishment.",
)


# --- set-up ----------------------------------------------------------------------------


@hookimpl
def erpkit_models() -> tuple[type, ...]:
    return models.MODELS


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name="inventory.preferred_warehouse",
            type=fields.String(validate=validate.Length(max=32)),
            default="",
            description="Code of the warehouse reserved from first; then the open warehouse "
            "with the most available. Empty: most available first.",
        ),
        Parameter(
            name="inventory.shortage_policy",
            type=fields.String(validate=validate.OneOf(["refuse", "backorder"])),
            default="refuse",
            description="When stock cannot cover an order on confirmation: refuse the "
            "confirmation, or reserve what there is and backorder the rest.",
        ),
        Parameter(
            name="inventory.availability_check",
            type=fields.String(validate=validate.OneOf(["off", "warn", "refuse"])),
            default="warn",
            description="When an order line asks for more than is available while it is "
            "created, changed or submitted: say nothing, warn, or refuse.",
        ),
        Parameter(
            name="inventory.demand_window_days",
            type=fields.Integer(validate=validate.Range(min=1, max=365)),
            default=28,
            description="Days of history in the moving average of daily demand that "
            "replenishment plans with.",
        ),
        Parameter(
            name="inventory.demand_basis",
            type=fields.String(validate=validate.OneOf(["shipped", "reserved"])),
            default="shipped",
            description="What counts as demand for replenishment: shipped or reserved "
            "quantities.",
        ),
        Parameter(
            name="inventory.seasonality",
            type=fields.String(validate=validate.OneOf(["off", "last_year"])),
            default="off",
            description="last_year: scale the moving average by how demand in the coming "
            "lead time compared with the averaging window, a year ago.",
        ),
        Parameter(
            name="inventory.replenish_horizon_days",
            type=fields.Integer(validate=validate.Range(min=0, max=365)),
            default=14,
            description="Suggest reorders that fall due within this many days.",
        ),
    ]


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [
        Permission("inventory.view", "See stock levels, availability, the stock ledger, "
                   "alerts, replenishment suggestions and figures",
                   ("admin", "sales", "warehouse", "logistics", "analyst")),
        Permission("inventory.adjust", "Book receipts, adjustments and transfers; manage "
                   "warehouses and replenishment rules", ("admin", "warehouse")),
    ]


@hookimpl
def erpkit_fact_definitions() -> list[FactDefinition]:
    return [
        FactDefinition("inventory.has_shortage", "boolean",
                       "Some line asks for more than the open warehouses have available."),
        FactDefinition("inventory.shortage_quantity", "decimal",
                       "How many units the order asks for beyond what is available, all "
                       "products together."),
    ]


@hookimpl
def erpkit_order_facts(order: Any, session: Session) -> Mapping[str, Any]:
    return availability.order_facts(session, order)


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit_inventory.api import inventory_blueprint

    return [inventory_blueprint()]


@hookimpl
def erpkit_admin_views() -> list[Any]:
    from erpkit_inventory.admin import admin_views

    return admin_views()


@hookimpl
def erpkit_console_home_panels(user: Any, session: Session) -> list[Any]:
    from erpkit_inventory.admin import home_panels

    return home_panels(user, session)


@hookimpl
def erpkit_cli_commands() -> list[Any]:
    from erpkit_inventory.cli import inventory

    return [inventory]


@hookimpl
def erpkit_demo_data(session: Session, users: Mapping[str, Any]) -> None:
    from erpkit_inventory.demo import load_demo

    load_demo(session, users)


# --- validation and lifecycle -----------------------------------------------------------


@hookimpl
def erpkit_order_validate(order: Any, session: Session, stage: str) -> list[Problem]:
    return availability.order_problems(session, order, stage)


@hookimpl
def erpkit_order_confirmed(order: Any, transition: Transition) -> None:
    reservations.reserve_order(transition.session, order, actor=transition.actor_name,
                               note=transition.note, confirming=True)


@hookimpl
def erpkit_delivery_promise(order: Any, session: Session) -> date | None:
    """Later than usual when a line waits for the supplier (see ``promise.py``)."""
    return backorder_promise(session, order)


@hookimpl
def erpkit_order_cancelled(order: Any, transition: Transition) -> None:
    reason = f"order {order.number} cancelled" + (
        f": {transition.reason}" if transition.reason and transition.reason != "cancelled"
        else "")
    reservations.release_order(transition.session, order, actor=transition.actor_name,
                               reason=reason)


@hookimpl
def erpkit_order_shipped(order: Any, shipment: Any, transition: Transition) -> None:
    reservations.ship_order(transition.session, order, shipment, actor=transition.actor_name)


@hookimpl
def erpkit_order_returned(order: Any, transition: Transition) -> None:
    reason = f"order {order.number} returned" + (
        f": {transition.reason}" if transition.reason and transition.reason != "returned"
        else "")
    reservations.restock_order(transition.session, order, actor=transition.actor_name,
                               reason=reason)
