"""Orders and inventory in a plain script: stock is reserved on confirm and issued on
ship with no Flask app context (the script is the orders module's, run here with
inventory enabled)."""

from __future__ import annotations

import importlib.util
from decimal import Decimal
from pathlib import Path

_ORDERS_TEST = Path(__file__).parents[2] / "orders" / "tests" / "test_without_flask.py"


def _orders_script() -> object:
    spec = importlib.util.spec_from_file_location("orders_without_flask", _ORDERS_TEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_whole_order_life_with_stock_runs_in_a_script_without_flask(database_url):
    result = _orders_script().run_life_in_a_script(  # type: ignore[attr-defined]
        database_url, "orders,inventory")

    assert result["app_context"] is False
    assert [name for name, _status in result["steps"]] == [
        "create", "submit", "ship", "deliver", "close"]
    assert result["timeline"] == ["draft", "submitted", "approved", "confirmed", "shipped",
                                  "delivered", "closed"]
    # 10 received, 4 reserved on confirm, then issued on ship: 6 left, none reserved
    assert [Decimal(x) for x in result["stock"]] == [Decimal(6), Decimal(0)]
