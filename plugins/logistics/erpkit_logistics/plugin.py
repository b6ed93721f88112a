"""The logistics plugin: what it declares to the core and how it takes part in hooks.

It requires orders and uses inventory when that is enabled (the warehouse a shipment
leaves from), never requiring it. Order moves caused by shipments run through the
orders module's lifecycle functions; the hooks below apply the shipment's side of the
change inside that same transition (see :mod:`erpkit_logistics.order_moves`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from marshmallow import fields, validate
from sqlalchemy.orm import Session

from erpkit import FactDefinition, Parameter, PluginMeta, Problem, Transition, hookimpl
from erpkit.auth import Permission
from erpkit.durations import Duration
from erpkit.plugins import registry_of
from erpkit.promises import DeliveryPromise
from erpkit_logistics import (
    capacity,
    facts,
    models,
    order_moves,
    promise_records,
    promise_review,
    rates,
    setup_cache,
)

PLUGIN = PluginMeta(
    name="logistics",
    requires=("orders",),
    core=">=0.1,<0.2",
    migrations="erpkit_logistics:migrations",
    description="Carriers, shipping costs, shipments and packages, tracking, own-fleet trips.",
)

#: The time limits of logistics' steps: parameter name, default, what it measures.
STEP_LIMITS = (
    ("logistics.limit.pick", timedelta(hours=4), "From a shipment's creation until its "
     "items are picked."),
    ("logistics.limit.pack", timedelta(hours=2), "From picked until packed."),
    ("logistics.limit.hand_over", timedelta(hours=24), "From packed until handed to the "
     "carrier."),
    ("logistics.limit.delivery", timedelta(days=5), "From hand-over until delivered."),
)


def _default_service(session: Session) -> str:
    return str(registry_of(session).parameters.get(session, rates.DEFAULT_SERVICE))


# --- set-up ----------------------------------------------------------------------------


@hookimpl
def erpkit_models() -> tuple[type, ...]:
    # An app is being built: from now on, stock movements and capacity changes ask for
    # the promises they move to be reviewed (once per process).
    promise_review.watch_movements()
    setup_cache.watch_set_up()
    return models.MODELS


@hookimpl
def erpkit_parameters() -> list[Parameter]:
    return [
        Parameter(
            name=rates.DEFAULT_SERVICE,
            type=fields.String(validate=validate.Length(max=80)),
            default="",
            description="The carrier service (CARRIER/service) of orders that name none; "
            "empty: such orders are not priced.",
        ),
        Parameter(
            name="logistics.default_warehouse",
            type=fields.String(validate=validate.Length(min=1, max=32)),
            default="MAIN",
            description="Warehouse code shipments leave from when inventory does not say.",
        ),
        Parameter(
            name="logistics.escalation_role",
            type=fields.String(validate=validate.Length(max=64)),
            default="logistics",
            description="Role told when a shipment step runs over its time limit.",
        ),
        *(Parameter(name=name, type=Duration(), default=default, description=text)
          for name, default, text in STEP_LIMITS),
        Parameter(
            name="logistics.handling_days",
            type=fields.Integer(validate=validate.Range(min=0, max=60)),
            default=0,
            description="Warehouse working days from goods available to parcel ready "
            "(0: the same day).",
        ),
        Parameter(
            name="logistics.default_transit_days",
            type=fields.Integer(validate=validate.Range(min=0, max=120)),
            default=3,
            description="Carrier working days in transit when the service has no transit "
            "time for the destination's zone.",
        ),
        Parameter(
            name=promise_review.EVERY,
            type=fields.Integer(validate=validate.Range(min=60)),
            default=900,
            description="How often the workers review confirmed orders' promises (goods "
            "that missed their last pick-up, lines waiting on backorders), in seconds.",
        ),
        Parameter(
            name="logistics.promise_warning",
            type=Duration(),
            default=timedelta(hours=4),
            description="How long before a promise's last hand-over (its cut-off on the "
            "last possible day) the warehouse is alerted that goods are still not with "
            "the carrier.",
        ),
    ]


@hookimpl
def erpkit_permissions() -> list[Permission]:
    return [
        Permission("logistics.view", "See shipments, picking lists, trips, tracking and "
                   "figures", ("admin", "sales", "warehouse", "logistics", "analyst")),
        Permission("logistics.work", "Create, pick, pack, hand over and deliver shipments; "
                   "plan and run trips", ("admin", "warehouse", "logistics")),
        Permission("logistics.configure", "Edit carriers, services, zones, rates, status "
                   "mappings, vehicles and bins", ("admin", "logistics")),
    ]


@hookimpl
def erpkit_fact_definitions() -> tuple[FactDefinition, ...]:
    return facts.FACTS


@hookimpl
def erpkit_order_facts(order: Any, session: Session) -> Mapping[str, Any]:
    return facts.order_facts(session, order, _default_service(session))


@hookimpl
def erpkit_steps() -> list[Any]:
    """Pick, pack, hand-over and delivery, each with its time limit."""
    from erpkit_logistics.promise_alerts import promise_step
    from erpkit_logistics.time_limits import step_declarations

    return [*step_declarations(), promise_step()]


@hookimpl
def erpkit_jobs() -> list[Any]:
    """Promise reviews: asked for by stock movements and capacity changes, and periodic."""
    return promise_review.jobs()


@hookimpl
def erpkit_blueprints() -> list[Any]:
    from erpkit_logistics.api import logistics_blueprint
    from erpkit_logistics.promise_api import promise_blueprint
    from erpkit_logistics.public_page import templates_blueprint, tracking_blueprint

    return [logistics_blueprint(), promise_blueprint(), tracking_blueprint(),
            templates_blueprint()]


@hookimpl
def erpkit_admin_views() -> list[Any]:
    from erpkit_logistics.admin import admin_views

    return admin_views()


@hookimpl
def erpkit_cli_commands() -> list[Any]:
    from erpkit_logistics.cli import logistics

    return [logistics]


# --- validation and lifecycle -----------------------------------------------------------


@hookimpl
def erpkit_order_validate(order: Any, session: Session, stage: str) -> list[Problem]:
    """Price the order's shipping as it is entered or changed (``Order.shipping_charge``)."""
    if stage not in ("create", "update"):
        return []
    return rates.price_order(session, order, _default_service(session), stage)


@hookimpl
def erpkit_order_created(order: Any, transition: Transition) -> None:
    """The promise at entry: worked out (nothing booked) and kept with its explanation."""
    if not isinstance(transition, Transition):  # a hook called outside a transition
        return
    promise_records.record_at_entry(transition.session, order)


@hookimpl(tryfirst=True)
def erpkit_delivery_promise(order: Any, session: Session) -> DeliveryPromise:
    """The promise at confirmation: goods, handling, cut-off and transit on business
    calendars, made-to-order capacity booked (``promising.py``). It answers first, and
    asks inventory itself about stock and backorders."""
    return promise_records.promise_at_confirmation(session, order)


@hookimpl
def erpkit_order_cancelled(order: Any, transition: Transition) -> None:
    capacity.release_order(transition.session, order.id)


@hookimpl
def erpkit_order_shipped(order: Any, shipment: Any, transition: Transition) -> None:
    order_moves.apply_pending(transition.session, order, "ship", shipment)


@hookimpl
def erpkit_order_delivered(order: Any, transition: Transition) -> None:
    order_moves.apply_pending(transition.session, order, "deliver")


@hookimpl
def erpkit_order_returned(order: Any, transition: Transition) -> None:
    order_moves.apply_pending(transition.session, order, "return")
