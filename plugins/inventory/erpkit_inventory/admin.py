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
