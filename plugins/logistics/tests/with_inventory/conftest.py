"""Logistics with inventory: the promise asks inventory about stock, backorders and the
components of made-to-order products."""

from __future__ import annotations

from erpkit.testing import plugin_fixtures

ENABLED = {"orders", "inventory", "logistics"}

database_url, app, make_app = plugin_fixtures(ENABLED, "logistics_inventory")
