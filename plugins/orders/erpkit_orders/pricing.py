"""Order totals in Decimal, with one documented rounding rule.

Rule: each line's net amount is ``quantity x unit_price x (1 - discount_percent / 100)``
computed exactly, then rounded to the currency's cents half-up (commercial rounding).
The order's subtotal is the sum of the unrounded gross amounts rounded once; its total
is the sum of the rounded line amounts, so the lines printed on an invoice always add up
to its total; the discount total is subtotal minus total.
"""

from __future__ import annotations

import hashlib
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from erpkit_orders.models import Order, OrderLine

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def to_cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def line_gross(line: OrderLine) -> Decimal:
    return line.quantity * line.unit_price


def line_net(line: OrderLine) -> Decimal:
    """The line's amount after its discount, rounded to cents half-up."""
    return to_cents(line_gross(line) * (HUNDRED - line.discount_percent) / HUNDRED)


def recompute_totals(order: Order) -> None:
    """Set every line's total and the order's subtotal, discount and total."""
    gross = Decimal(0)
    total = Decimal(0)
    for line in order.lines:
        line.line_total = line_net(line)
        gross += line_gross(line)
        total += line.line_total
    order.subtotal = to_cents(gross)
    order.total = total
    order.discount_total = order.subtotal - order.total


def order_discount_percent(order: Order) -> Decimal:
    """The whole order's discount as a percentage of its gross amount (2 decimals)."""
    if not order.subtotal:
        return Decimal("0.00")
    return to_cents(order.discount_total * HUNDRED / order.subtotal)


def material_fingerprint(order: Order) -> str:
    """A digest of what an approver approves: products, quantities, prices, discounts.

    A change to any of them after approval sends the order back for approval.
    """
    parts = [
        f"{line.product_id}:{line.quantity.normalize()}:{line.unit_price.normalize()}:"
        f"{line.discount_percent.normalize()}"
        for line in sorted(order.lines, key=lambda item: item.line_no)
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()
