"""The purchasing plugin: suppliers, purchase orders from replenishment, receipts into
the ledger, lead times that learn, a central warehouse supplying branches.

It requires orders and inventory; core + orders + inventory work without it. It tells
inventory what is expected to arrive through inventory's own hook
``erpkit_inventory_expected_receipts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import fields, validate
from sqlalchemy.orm import Session

from erpkit import FactDefinition, Parameter, PluginMeta, hookimpl
from erpkit.auth import Permission
from erpkit_purchasing import expected, models

PLUGIN = PluginMeta(
    name="purchasing",
    requires=("orders", "inventory"),
    core=">=0.1,<0.2",
    migrations="erpkit_purchasing:migrations",
    description="Suppliers, purchase orders, receipts, lead times that learn, branch supply.",
)


@hookimpl
def erpkit_models() -> tuple[type, ...]:
    return models.MODELS


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name="purchasing.service_level",
            type=fields.Decimal(places=4, validate=validate.Range(
                min=Decimal("0.5"), max=Decimal("0.9999"))),
            default=Decimal("0.95"),
            description="The chance of not running out during a lead time that safety stock "
            "is sized for (z = the normal quantile of it).",
        ),
        Parameter(
            name="purchasing.lead_time_samples",
            type=fields.Integer(validate=validate.Range(min=2, max=1000)),
            default=3,
            description="Measured receipts of a supplier and product needed before planning "
            "uses the measured lead time (mean and spread) instead of the quoted one.",
        ),
        Parameter(
            name="purchasing.receiving_warehouse",
            type=fields.String(validate=validate.Length(max=32)),
            default="",
            description="Where purchases for an all-warehouses rule arrive; empty: the first "
            "open warehouse no other warehouse supplies.",
        ),
        Parameter(
            name="purchasing.branch_cover_days",
            type=fields.Integer(validate=validate.Range(min=0, max=365)),
            default=7,
            description="Days of demand the branch plan keeps in each branch (beyond the "
            "transfer days) and in the network (beyond the supplier's lead time).",
        ),
    ]


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [
        Permission("purchasing.view", "See suppliers, purchase orders, suggestions, "
                   "transfers, spend, figures and policy simulations",
                   ("admin", "purchasing", "warehouse", "approver", "analyst")),
        Permission("purchasing.order", "Manage suppliers; draft, edit, send and close "
                   "purchase orders; plan transfers", ("admin", "purchasing")),
        Permission("purchasing.approve", "Decide the approval steps of purchase orders "
                   "that approval rules hold (gate purchasing.approve)", ("admin", "approver")),
        Permission("purchasing.receive", "Receive goods against purchase orders; dispatch "
                   "and receive transfers", ("admin", "warehouse")),
    ]


@hookimpl
def erpkit_fact_definitions() -> list[FactDefinition]:
    """The facts approval rules of the gate ``purchasing.approve`` test."""
    return [
        FactDefinition("purchasing.total", "decimal", "A purchase order's total."),
        FactDefinition("purchasing.supplier", "string",
                       "The code of the supplier a purchase order goes to."),
    ]


@hookimpl
def erpkit_gated_transitions() -> list[Any]:
    """A purchase order's approval: held by approval rules like a sales order's moves."""
    from erpkit_purchasing.purchase_orders import approval_gate

    return [approval_gate()]


@hookimpl
def erpkit_inventory_expected_receipts(product_ids: list[int], session: Session
                                       ) -> Mapping[int, Any]:
    return expected.expected_receipts(session, product_ids)


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit_purchasing.admin import templates_blueprint
    from erpkit_purchasing.api import purchasing_blueprint

    return [purchasing_blueprint(), templates_blueprint()]


@hookimpl
def erpkit_admin_views() -> list[Any]:
    from erpkit_purchasing.admin import admin_views

    return admin_views()


@hookimpl
def erpkit_cli_commands() -> list[Any]:
    from erpkit_purchasing.cli import purchasing

    return [purchasing]



