"""Console views: warehouses and replenishment rules to edit; stock levels, the ledger and
low-stock alerts to read. Stock itself never changes here: receipts, adjustments and
transfers go through the API, so every change lands in the ledger.
"""

from __future__ import annotations

from typing import Any

from erpkit.admin.contrib import AdminView, ModelView
from erpkit_inventory.models import (
    LedgerEntry,
    LowStockAlert,
    ReplenishmentRule,
    StockLevel,
    Warehouse,
)
from erpkit_inventory.stock import show

CATEGORY = "Inventory"


def _quantity(_view: Any, _context: Any, model: Any, name: str) -> str:
    return show(getattr(model, name))


class ReadOnlyView(ModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    can_view_details = True
    page_size = 50


class WarehouseView(ModelView):
    """Warehouses are closed, never deleted: their ledger rows keep pointing at them."""

    can_delete = False
    column_list = ("code", "name", "active", "created_at")
    form_columns = ("code", "name", "active")
    column_searchable_list = ("code", "name")
    column_default_sort = "code"


class StockLevelView(ReadOnlyView):
    column_list = ("product", "warehouse", "on_hand", "reserved", "available", "updated_at")
    column_sortable_list = ("on_hand", "reserved", "updated_at")
    column_filters = ("warehouse.code", "product.sku")
    column_formatters = {name: _quantity for name in ("on_hand", "reserved", "available")}


class LedgerView(ReadOnlyView):
    # An append-only table that only grows: no COUNT(*), "next page" links instead.
    simple_list_pager = True
    column_list = ("id", "at", "kind", "product", "warehouse", "on_hand_change",
                   "reserved_change", "actor", "reason", "order_id", "reference")
    column_labels = {"on_hand_change": "On hand ±", "reserved_change": "Reserved ±",
                     "order_id": "Order"}
    column_default_sort = ("id", True)
    column_filters = ("kind", "order_id", "actor", "product.sku", "warehouse.code")
    column_searchable_list = ("reason", "reference")
    column_formatters = {"on_hand_change": _quantity, "reserved_change": _quantity}


class AlertView(ReadOnlyView):
    column_list = ("at", "product", "warehouse", "available", "reorder_point", "resolved_at")
    column_default_sort = ("id", True)
    column_formatters = {"available": _quantity, "reorder_point": _quantity}


class RuleView(ModelView):
    column_list = ("product", "warehouse", "reorder_point", "order_up_to", "lead_time_days")
    form_columns = ("product", "warehouse", "reorder_point", "order_up_to", "lead_time_days")
    column_formatters = {"reorder_point": _quantity, "order_up_to": _quantity}


def admin_views() -> list[AdminView]:
    """The inventory pages of the console (endpoints ``inventory_*``)."""
    return [
        AdminView(WarehouseView, "Warehouses", "warehouses", "inventory.adjust",
                  model=Warehouse, category=CATEGORY, kwargs={"url": "inventory/warehouses"}),
        AdminView(StockLevelView, "Stock levels", "stock", "inventory.view", model=StockLevel,
                  category=CATEGORY, kwargs={"url": "inventory/stock"}),
        AdminView(LedgerView, "Stock ledger", "ledger", "inventory.view", model=LedgerEntry,
                  category=CATEGORY, kwargs={"url": "inventory/ledger"}),
        AdminView(AlertView, "Low-stock alerts", "alerts", "inventory.view",
                  model=LowStockAlert, category=CATEGORY, kwargs={"url": "inventory/alerts"}),
        AdminView(RuleView, "Replenishment rules", "rules", "inventory.adjust",
                  model=ReplenishmentRule, category=CATEGORY,
                  kwargs={"url": "inventory/rules"}),
    ]


#: How many low-stock lines the console's home shows.
HOME_LINES = 6


def home_panels(user: Any, session: Any) -> list[Any]:
    """The console home's "Low stock" panel for whoever acts on stock (``inventory.adjust``:
    the warehouse, admins): the open alerts, the lowest first, with what is left and the
    reorder point."""
    import sqlalchemy as sa

    from erpkit.admin.home import HomeLine, HomePanel
    from erpkit.work import console_url

    if not user.can("inventory.adjust"):
        return []
    open_alerts = sa.select(LowStockAlert).where(LowStockAlert.resolved_at.is_(None))
    count = session.scalar(sa.select(sa.func.count()).select_from(open_alerts.subquery()))
    alerts = session.scalars(open_alerts.order_by(LowStockAlert.available, LowStockAlert.id)
                             .limit(HOME_LINES)).all()
    lines = [
        HomeLine(f"{a.product.sku} {a.product.name}"
                 + (f" ({a.warehouse.code})" if a.warehouse else ""),
                 detail=f"{show(a.available)} left, reorder at {show(a.reorder_point)}",
                 tone="danger" if a.available <= 0 else "warning")
        for a in alerts
    ]
    return [HomePanel("Low stock", lines, count=count,
                      more=console_url("inventory_alerts.index_view"),
                      empty="No product is below its reorder point.",
                      tone="warning" if count else "secondary", order=40,
                      testid="home-low-stock")]
