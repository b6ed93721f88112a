"""The dashboard's figures: this month so far against the same days of the month before,
revenue by month over the last twelve months, top products and revenue by country.

Each figure comes from the same reports the API serves, so the dashboard and the reports
always agree.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit_reporting.catalogue import default_range
from erpkit_reporting.service import run_report

KEY_FIGURES = (("revenue", "Revenue"), ("orders", "Orders"),
               ("average_order_value", "Average order value"),
               ("repeat_rate", "Repeat rate"), ("on_time_rate", "On-time delivery"))


def _previous_month_range(today: date) -> tuple[date, date]:
    start = today.replace(day=1)
    previous_start = (start - timedelta(days=1)).replace(day=1)
    length = (today - start).days
    previous_end = min(previous_start + timedelta(days=length), start - timedelta(days=1))
    return previous_start, previous_end


def _key_figures(registry: Any, session: Session, first: date, last: date) -> dict[str, Any]:
    span = {"from": first.isoformat(), "to": last.isoformat(), "by": "year"}
    sales = run_report(registry, session, "sales", span)[2].totals
    fulfilment = run_report(registry, session, "fulfilment", span)[2].totals
    return {**sales, "on_time_rate": fulfilment.get("on_time_rate")}


def _open_count(session: Session, table_name: str, condition: str) -> int | None:
    from erpkit.db import Base

    table = Base.metadata.tables.get(table_name)
    if table is None:
        return None
    try:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)
                                  .where(sa.text(condition))) or 0)
    except sa.exc.DBAPIError:  # the plugin's tables are not migrated here
        session.rollback()
        return None


def dashboard_figures(registry: Any, session: Session, today: date) -> dict[str, Any]:
    start = today.replace(day=1)
    now = _key_figures(registry, session, start, today)
    before = _key_figures(registry, session, *_previous_month_range(today))
    keys = [{"name": name, "label": label, "value": now.get(name), "previous": before.get(name)}
            for name, label in KEY_FIGURES]
    enabled = {name for name, p in registry.plugins.items() if getattr(p, "enabled", True)}
    if "approvals" in enabled:
        keys.append({"name": "open_approvals", "label": "Open approvals", "previous": None,
                     "value": _open_count(session, "approvals_request", "status = 'open'")})
    if "inventory" in enabled:
        keys.append({"name": "low_stock", "label": "Low-stock alerts", "previous": None,
                     "value": _open_count(session, "inventory_low_stock_alert",
                                          "resolved_at IS NULL")})
    year_from, year_to = default_range(today)
    span = {"from": year_from.isoformat(), "to": year_to.isoformat()}
    by_month = run_report(registry, session, "sales-by-month", span)[2]
    top = run_report(registry, session, "sales-by-product", {**span, "limit": "10"})[2]
    countries = run_report(registry, session, "sales-by-country", span)[2]
    charts = [
        {"id": "revenue-by-month", "title": "Revenue by month", "type": "bar",
         "label_column": "period", "result": by_month},
        {"id": "top-products", "title": "Top products by revenue", "type": "bar",
         "label_column": "sku", "result": top, "horizontal": True},
        {"id": "revenue-by-country", "title": "Revenue by country", "type": "doughnut",
         "label_column": "country", "result": countries},
    ]
    return {"today": today, "month_start": start, "key_figures": keys, "charts": charts,
            "charts_data": [_chart_data(chart) for chart in charts]}


def _chart_data(chart: dict[str, Any]) -> dict[str, Any]:
    """What the page's script draws: labels and revenue as decimal strings (exact)."""
    rows = chart["result"].rows
    return {"id": chart["id"], "type": chart["type"],
            "horizontal": bool(chart.get("horizontal")),
            "labels": [row.get(chart["label_column"]) or "(none)" for row in rows],
            "values": [str(row["revenue"]) for row in rows]}
