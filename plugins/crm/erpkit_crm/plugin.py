"""The crm plugin: what it declares to the core and how it takes part in an order's life.

Lifecycle hooks work in the transition's transaction (``transition.session``): a refused
confirmation rolls back together with the exposure it would have added.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from marshmallow import fields, validate
from sqlalchemy.orm import Session

from erpkit import FactDefinition, Parameter, PluginMeta, Transition, hookimpl
from erpkit.auth import Permission
from erpkit.schemas import Amount, Price
from erpkit_crm import credit, models, segments
from erpkit_crm.preferences import attribute_field

PLUGIN = PluginMeta(
    name="crm",
    requires=("orders",),
    core=">=0.1,<0.2",
    migrations="erpkit_crm:migrations",
    description="Customer profiles and preferences, history and suggestions, credit "
                "control, RFM segments, personal-data export and erasure.",
)


# --- set-up ----------------------------------------------------------------------------


@hookimpl
def erpkit_models() -> tuple[type, ...]:
    return models.MODELS


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name="crm.preference_attributes",
            type=attribute_field(),
            default=[],
            description="The customer preferences people record, each {name, type, label, "
            "choices, keys}; type one of string, choice, list, decimal, decimals, boolean.",
        ),
        Parameter(
            name="crm.default_credit_limit",
            type=Amount(allow_none=True, validate=validate.Range(min=0)),
            default=None,
            description="Credit limit of customers without one of their own or of their "
            "group. Empty: no limit.",
        ),
        Parameter(
            name="crm.over_limit_action",
            type=fields.String(validate=validate.OneOf(["refuse", "hold"])),
            default="refuse",
            description="An order that would take its customer over the credit limit: "
            "refuse its confirmation, or hold it at submission until someone with "
            "crm.credit_override releases it.",
        ),
        Parameter(
            name="crm.clv_margin_percent",
            type=Price(validate=validate.Range(min=0, max=100)),
            default=Decimal(100),
            description="Gross margin used for the historical customer lifetime value: "
            "lifetime revenue x margin / 100.",
        ),
        Parameter(
            name="crm.segments_recompute_seconds",
            type=fields.Integer(validate=validate.Range(min=1)),
            default=86_400,
            description="How often the workers recompute every customer's RFM scores and "
            "segment (the periodic job crm.segments_recompute), in seconds.",
        ),
        Parameter(
            name="crm.suggestion_horizon_days",
            type=fields.Integer(validate=validate.Range(min=0, max=365)),
            default=7,
            description="Suggest a regularly bought product when it falls due within this "
            "many days.",
        ),
    ]


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [
        Permission("crm.view", "See customer profiles, history, credit and segments",
                   ("admin", "sales", "analyst", "approver")),
        Permission("crm.manage", "Edit profiles, preferences, contacts, notes and the "
                   "interaction log; repeat a customer's last order", ("admin", "sales")),
        Permission("crm.configure", "Edit customer groups, credit limits and the segment "
                   "table; recompute segments", ("admin",)),
        Permission("crm.set_balance", "Set a customer's open balance (accounting)",
                   ("admin",)),
        Permission(credit.OVERRIDE_PERMISSION, "Confirm an order beyond its customer's "
                   "credit limit (audited)", ("admin",)),
        Permission("crm.export_personal_data", "Export a customer's personal data",
                   ("admin",)),
        Permission("crm.erase", "Erase (anonymise) a customer's personal data", ("admin",)),
    ]


@hookimpl
def erpkit_fact_definitions() -> list[FactDefinition]:
    return [
        FactDefinition("crm.credit_limit", "decimal",
                       "The customer's credit limit (own, else group's, else the default); "
                       "empty when there is none."),
        FactDefinition("crm.credit_exposure", "decimal",
                       "Open orders plus open balance of the customer, before this order."),
        FactDefinition("crm.credit_available", "decimal",
                       "Credit limit minus exposure, before this order."),
        FactDefinition("crm.over_credit_limit", "boolean",
                       "This order would take the customer's exposure over the limit."),
        FactDefinition("crm.segment", "string",
                       "The customer's RFM segment (champions, loyal, new, potential, "
                       "at_risk, hibernating, lost)."),
        FactDefinition("crm.rfm_score", "integer",
                       "100 x recency + 10 x frequency + monetary score (each 1-5)."),
        FactDefinition("crm.lifetime_revenue", "decimal",
                       "Total of the customer's delivered orders, returns excluded."),
        FactDefinition("crm.order_count", "integer",
                       "How many of the customer's orders were delivered (not returned)."),
    ]


@hookimpl
def erpkit_order_facts(order: Any, session: Session) -> Mapping[str, Any]:
    return {**credit.order_facts(session, order),
            **segments.order_facts(session, order.customer_id)}


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit_crm.admin import templates_blueprint
    from erpkit_crm.api import crm_blueprint

    return [crm_blueprint(), templates_blueprint()]


@hookimpl
def erpkit_admin_views() -> list[Any]:
    from erpkit_crm.admin import admin_views

    return admin_views()


@hookimpl
def erpkit_jobs() -> list[Any]:
    from erpkit.jobs import PeriodicTask

    return [PeriodicTask(name="crm.segments_recompute", run=segments.recompute_job,
                         every_parameter="crm.segments_recompute_seconds",
                         description="Recompute every customer's RFM scores and segment.")]


@hookimpl
def erpkit_cli_commands() -> list[Any]:
    from erpkit_crm.cli import crm

    return [crm]


# --- credit in the lifecycle --------------------------------------------------------------


@dataclass(frozen=True)
class CreditHoldRequest:
    """What crm returns when ``crm.over_limit_action`` is ``hold``: the order waits."""

    summary: str


@hookimpl
def erpkit_order_submitted(order: Any, transition: Transition) -> None:
    credit.record_submission(transition.session, order)


@hookimpl
def erpkit_order_approval_required(order: Any, transition: Transition) -> list[Any]:
    session = transition.session
    from erpkit.parameters import get_value

    if get_value(session, "crm.over_limit_action") != "hold":
        return []
    facts = credit.order_facts(session, order)
    if not facts["crm.over_credit_limit"]:
        return []
    return [CreditHoldRequest(
        f"credit hold: exposure {facts['crm.credit_exposure']} + this order would exceed "
        f"the limit {facts['crm.credit_limit']}; someone with crm.credit_override can "
        "release it")]


@hookimpl
def erpkit_order_approval_requested(order: Any, request: Any, transition: Transition) -> None:
    if isinstance(request, CreditHoldRequest):
        return  # crm's own hold is released only by an override, never counts as granted
    credit.record_approval_request(transition.session, order, request)


@hookimpl
def erpkit_order_confirmed(order: Any, transition: Transition) -> None:
    credit.hold_credit(transition.session, order, actor=transition.actor,
                       note=transition.note)


@hookimpl
def erpkit_order_delivered(order: Any, transition: Transition) -> None:
    credit.release_credit(transition.session, order)
    segments.rescore_customer(transition.session, order.customer_id)


@hookimpl
def erpkit_order_cancelled(order: Any, transition: Transition) -> None:
    credit.release_credit(transition.session, order)


@hookimpl
def erpkit_order_returned(order: Any, transition: Transition) -> None:
    session = transition.session
    credit.release_credit(session, order)
    if session.get(models.ReturnedOrder, order.id) is None:
        session.add(models.ReturnedOrder(order_id=order.id))
        session.flush()
    segments.rescore_customer(session, order.customer_id)


@hookimpl
def erpkit_order_status_changed(order: Any, old_status: str, new_status: str,
                                transition: Transition) -> None:
    if new_status == "closed":  # closing follows delivery: normally nothing is held then
        credit.release_credit(transition.session, order)


@hookimpl
def erpkit_orders_customer_panel(customer: Any, session: Session) -> Any:
    """Preferences, credit available and suggestions, on the new-order form."""
    from erpkit_crm.admin import order_form_panel

    return order_form_panel(customer, session)
