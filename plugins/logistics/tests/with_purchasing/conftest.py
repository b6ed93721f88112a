"""Logistics with inventory and purchasing: a backordered line's goods come with the
purchase order that covers them (inventory's hook erpkit_inventory_expected_receipts)."""

from __future__ import annotations

import pytest

pytest.importorskip("erpkit_purchasing")

from erpkit.testing import plugin_fixtures

ENABLED = {"orders", "inventory", "purchasing", "logistics"}

database_url, app, make_app = plugin_fixtures(ENABLED, "logistics_purchasing")
