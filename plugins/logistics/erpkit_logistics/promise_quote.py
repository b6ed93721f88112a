"""A promise quoted for lines not saved yet: the order form, as it is typed.

The promise is worked out by :func:`erpkit_logistics.promising.work_out`, the same
function as at entry and confirmation, on a stand-in of the order (:class:`Draft`) that
no session ever holds, so a quote writes nothing and books nothing. The draft being
edited, when named, gives its ship-to address, carrier and requested date; the request
may name another service or date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.problems import Problem, ValidationFailed
from erpkit_logistics import rates
from erpkit_logistics.promising import Worked, work_out
from erpkit_orders.models import Customer, Order, Product


@dataclass(frozen=True)
class DraftLine:
    """One line as typed; ``id`` is its place in the request (1, 2, ...)."""

    id: int
    product_id: int
    product: Product
    quantity: Decimal


@dataclass
class Draft:
    """What :func:`work_out` reads of an order, for an order that is not saved."""

    customer: Customer
    lines: list[DraftLine]
    carrier: str | None = None
    requested_date: date | None = None
    ship_to_country: str | None = None
    ship_to_region: str | None = None
    ship_to_postal_code: str | None = None
    id: int | None = None
    total: Decimal = field(default=Decimal(0))


def _draft_order(session: Session, order_id: int | None) -> Order | None:
    if order_id is None:
        return None
    order = session.get(Order, order_id)
    if order is None:
        raise ValidationFailed.single("order_id", f"no order {order_id}", code="not_found")
    return order


def draft_from(session: Session, body: dict[str, Any]) -> Draft:
    """The stand-in order of a quote request (:class:`~erpkit_logistics.schemas.
    QuoteRequestSchema`); a 422 names the customer, product or service not found."""
    customer = session.get(Customer, body["customer_id"])
    problems = [] if customer is not None else [
        Problem(field="customer_id", message=f"no customer {body['customer_id']}",
                code="not_found")]
    wanted = {line["product_id"] for line in body["lines"]}
    products = {p.id: p for p in session.scalars(sa.select(Product)
                                                 .where(Product.id.in_(wanted)))}
    problems += [Problem(field=f"lines.{n}.product_id",
                         message=f"no product {line['product_id']}", code="not_found")
                 for n, line in enumerate(body["lines"]) if line["product_id"] not in products]
    service = body.get("service")
    if service and rates.service_named(session, service) is None:
        problems.append(Problem(field="service", code="unknown_service",
                                message=f"no active carrier service {service!r}; name "
                                "one as CARRIER or CARRIER/service"))
    if problems or customer is None:
        raise ValidationFailed(problems)
    order = _draft_order(session, body.get("order_id"))
    return Draft(
        customer=customer,
        lines=[DraftLine(n, line["product_id"], products[line["product_id"]],
                         Decimal(line["quantity"]))
               for n, line in enumerate(body["lines"], start=1)],
        carrier=service or (order.carrier if order is not None else None),
        requested_date=body.get("requested_date") or (
            order.requested_date if order is not None else None),
        ship_to_country=order.ship_to_country if order is not None else None,
        ship_to_region=order.ship_to_region if order is not None else None,
        ship_to_postal_code=order.ship_to_postal_code if order is not None else None,
    )


def quote(session: Session, body: dict[str, Any], *, now: datetime) -> Worked:
    """The promise the lines of ``body`` would get at ``now``; nothing is written."""
    return work_out(session, draft_from(session, body), now=now)


def as_answer(worked: Worked) -> dict[str, Any]:
    """The quote as ``POST /api/promise/quote`` answers it."""
    return {"promised_date": worked.promise.promised_date,
            "hand_over_by": worked.hand_over_by,
            "steps": [step.as_dict() for step in worked.promise.steps]}
