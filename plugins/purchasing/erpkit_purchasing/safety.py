"""Safety stock and the reorder point, from demand variability and lead-time spread.

With ``d`` the mean daily demand and ``sigma_d`` its sample standard deviation over the
last ``inventory.demand_window_days`` days (days without demand count as 0), ``L`` the
lead time in days and ``sigma_L`` its spread (see :mod:`erpkit_purchasing.leadtimes`),
and ``z`` the standard normal quantile of the service level ``purchasing.service_level``:

    safety stock   SS  = z * sqrt(L * sigma_d**2 + d**2 * sigma_L**2)
    reorder point  ROP = d * L + SS

With a quoted lead time (``sigma_L = 0``) this is ``z * sigma_d * sqrt(L)``; the second
term adds what a late delivery costs at the mean demand. Both assume demand on different
days, and demand and lead time, are independent.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit.parameters import get_value
from erpkit_inventory.demand import start_of
from erpkit_inventory.models import LedgerEntry
from erpkit_inventory.stock import quantity


def service_factor(service_level: Decimal) -> Decimal:
    """``z`` for a service level (0.95 -> 1.645), to six places."""
    return Decimal(str(round(NormalDist().inv_cdf(float(service_level)), 6)))


def daily_demand(session: Session, product_id: int, warehouse_ids: Sequence[int] | None,
                 last: date, days: int) -> list[Decimal]:
    """Units demanded on each of the ``days`` days ending on ``last`` (oldest first), in
    these warehouses (all when ``None``), by ``inventory.demand_basis``."""
    amount: Any
    if get_value(session, "inventory.demand_basis") == "reserved":
        kind, amount = "reservation", LedgerEntry.reserved_change
    else:
        kind, amount = "shipment", -LedgerEntry.on_hand_change
    first = last - timedelta(days=days - 1)
    query = (sa.select(LedgerEntry.at, amount)
             .where(LedgerEntry.product_id == product_id, LedgerEntry.kind == kind,
                    LedgerEntry.at >= start_of(first),
                    LedgerEntry.at < start_of(last + timedelta(days=1))))
    if warehouse_ids is not None:
        query = query.where(LedgerEntry.warehouse_id.in_(list(warehouse_ids)))
    series = [Decimal(0)] * days
    for at, value in session.execute(query):
        index = (at.astimezone(UTC).date() - first).days if at.tzinfo else (at.date() - first).days
        series[index] += quantity(value)
    return series


@dataclass(frozen=True)
class DemandFigures:
    mean: Decimal
    spread: Decimal
    days: int


def demand_figures(series: Sequence[Decimal]) -> DemandFigures:
    """Mean and sample standard deviation of a daily series."""
    mean = statistics.mean(series) if series else Decimal(0)
    spread = statistics.stdev(series) if len(series) > 1 else Decimal(0)
    return DemandFigures(Decimal(mean), Decimal(spread), len(series))


def safety_stock(z: Decimal, demand: Decimal, demand_spread: Decimal, lead: Decimal,
                 lead_spread: Decimal) -> Decimal:
    """``z * sqrt(L * sigma_d**2 + d**2 * sigma_L**2)`` (see the module's docstring)."""
    variance = lead * demand_spread ** 2 + demand ** 2 * lead_spread ** 2
    return z * variance.sqrt() if variance > 0 else Decimal(0)


def reorder_point(z: Decimal, demand: Decimal, demand_spread: Decimal, lead: Decimal,
                  lead_spread: Decimal) -> Decimal:
    """``d * L + SS``."""
    return demand * lead + safety_stock(z, demand, demand_spread, lead, lead_spread)
