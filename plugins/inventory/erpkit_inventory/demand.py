"""Demand history read from the ledger: the input of replenishment and of the figures.

Days are UTC calendar days. Demand is either what was shipped (the default) or what was
reserved, chosen by the parameter ``inventory.demand_basis``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_inventory.models import LedgerEntry
from erpkit_inventory.stock import quantity

SelectT = TypeVar("SelectT", bound=sa.Select)  # type: ignore[type-arg]


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _scope(query: SelectT, product_id: int, warehouse_id: int | None) -> SelectT:
    """``query`` limited to one product, and to one warehouse unless ``warehouse_id`` is
    ``None``."""
    query = query.where(LedgerEntry.product_id == product_id)
    if warehouse_id is not None:
        query = query.where(LedgerEntry.warehouse_id == warehouse_id)
    return query


def demand_between(session: Session, product_id: int, warehouse_id: int | None,
                   first: date, last: date, basis: str = "shipped") -> Decimal:
    """Units demanded from ``first`` to ``last`` (both included), in one warehouse or all.

    ``shipped`` counts shipments (returns do not reduce it);
    ``reserved`` counts reservations made.
    """
    if basis == "reserved":
        amount: Any = LedgerEntry.reserved_change
        kind = "reservation"
    else:
        amount, kind = -LedgerEntry.on_hand_change, "shipment"
    query = _scope(sa.select(sa.func.coalesce(sa.func.sum(amount), 0)), product_id, warehouse_id)
    total = session.scalar(query.where(
        LedgerEntry.kind == kind,
        LedgerEntry.at >= start_of(first),
        LedgerEntry.at < start_of(last + timedelta(days=1))))
    return quantity(total or 0)


def returned_between(session: Session, product_id: int, warehouse_id: int | None,
                     first: date, last: date) -> Decimal:
    query = _scope(sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.on_hand_change), 0)),
                   product_id, warehouse_id)
    total = session.scalar(query.where(
        LedgerEntry.kind == "return",
        LedgerEntry.at >= start_of(first),
        LedgerEntry.at < start_of(last + timedelta(days=1))))
    return quantity(total or 0)


def on_hand_at_end_of_days(session: Session, product_id: int, warehouse_id: int | None,
                           first: date, last: date) -> list[Decimal]:
    """On hand at the end of each day from ``first`` to ``last``, replayed from the ledger."""
    opening_query = _scope(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.on_hand_change), 0)),
        product_id, warehouse_id).where(LedgerEntry.at < start_of(first))
    balance = quantity(session.scalar(opening_query) or 0)
    moves = session.execute(_scope(
        sa.select(LedgerEntry.at, LedgerEntry.on_hand_change), product_id, warehouse_id)
        .where(LedgerEntry.at >= start_of(first),
               LedgerEntry.at < start_of(last + timedelta(days=1)),
               LedgerEntry.on_hand_change != 0)
        .order_by(LedgerEntry.at, LedgerEntry.id))
    by_day: dict[date, Decimal] = {}
    for at, change in moves:
        day = at.astimezone(UTC).date()
        by_day[day] = by_day.get(day, Decimal(0)) + quantity(change)
    balances = []
    day = first
    while day <= last:
        balance += by_day.get(day, Decimal(0))
        balances.append(balance)
        day += timedelta(days=1)
    return balances
