"""An installation of core + orders + inventory only, from wheels, runs the whole order
lifecycle: inventory needs no crm, logistics, reporting or approvals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from erpkit.testing import BACKEND_IS_POSTGRESQL

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = {".": ["setup.cfg", "pyproject.toml", "README.md", "core", "migrations"],
                 "plugins/orders": None, "plugins/inventory": None}

LIFECYCLE = textwrap.dedent('''
    import importlib.util
    from decimal import Decimal

    import sqlalchemy as sa

    from erpkit.app import create_app
    from erpkit.db import db
    from erpkit_inventory import stock
    from erpkit_inventory.ledger import check_drift
    from erpkit_inventory.models import StockLevel, Warehouse
    from erpkit_orders import lifecycle
    from erpkit_orders.intake import create_order
    from erpkit_orders.models import Customer, Product

    app = create_app({"TESTING": True})
    assert sorted(app.extensions["erpkit"].plugins) == ["inventory", "orders"]
    for other in ("erpkit_crm", "erpkit_logistics", "erpkit_reporting", "erpkit_approvals"):
        assert importlib.util.find_spec(other) is None, other
    with app.app_context():
        session = db.session
        widget = Product(sku="W-1", name="Widget", unit_price=Decimal("2.50"))
        ada = Customer(name="Ada Ltd", email="ada@example.com")
        main = Warehouse(code="MAIN", name="Main warehouse")
        session.add_all([widget, ada, main])
        session.commit()
        stock.receive(session, widget, main, 10, actor="script")
        session.commit()

        order = create_order(session, {"customer_id": ada.id, "lines": [
            {"sku": "W-1", "quantity": Decimal(4)}]}).order
        lifecycle.submit(session, order, actor="script")
        assert order.status == "confirmed", order.status
        level = session.scalar(sa.select(StockLevel))
        assert (level.on_hand, level.reserved) == (10, 4), (level.on_hand, level.reserved)

        lifecycle.ship(session, order, actor="script")
        lifecycle.deliver(session, order, actor="script")
        level = session.scalar(sa.select(StockLevel).execution_options(populate_existing=True))
        assert (order.status, level.on_hand, level.reserved) == ("delivered", 6, 0)
        assert check_drift(session) == []
    print("lifecycle ok")
''')


def _copy_sources(target: Path) -> dict[str, Path]:
    """The three distributions' sources, away from the working tree (builds write there)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    folders = {}
    for dist, parts in DISTRIBUTIONS.items():
        source, copy = ROOT / dist, target / dist
        if parts is None:
            shutil.copytree(source, copy, ignore=ignore)
        else:
            copy.mkdir(parents=True, exist_ok=True)
            for part in parts:
                if (source / part).is_dir():
                    shutil.copytree(source / part, copy / part, ignore=ignore)
                else:
                    shutil.copy2(source / part, copy / part)
        folders[dist] = copy
    return folders


def _run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=600, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_core_orders_and_inventory_alone_installed_from_wheels_run_the_lifecycle(
        tmp_path, new_database):
    folders = _copy_sources(tmp_path / "src")
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels,
         *folders.values())
    built = sorted(p.name.split("-")[0] for p in wheels.glob("*.whl"))
    assert built == ["erpkit", "erpkit_inventory", "erpkit_orders"]

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python, erpkit = venv / "bin" / "python", venv / "bin" / "erpkit"
    extras = ["psycopg[binary]>=3.3,<4"] if BACKEND_IS_POSTGRESQL else []
    _run(python, "-m", "pip", "install", "--quiet", *sorted(wheels.glob("*.whl")), *extras)

    workdir = tmp_path / "site"
    workdir.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ERPKIT_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["ERPKIT_DATABASE_URL"] = new_database("install")
    _run(erpkit, "init", cwd=workdir, env=env)
    listed = _run(erpkit, "plugins", "list", cwd=workdir, env=env).stdout
    assert [line.split()[0] for line in listed.splitlines()[1:]] == ["inventory", "orders"]
    assert "up to date" in listed
    checked = _run(erpkit, "inventory", "check", cwd=workdir, env=env)
    assert "match" in checked.stdout

    script = workdir / "lifecycle.py"
    script.write_text(LIFECYCLE)
    ran = _run(python, script, cwd=workdir, env=env)
    assert ran.stdout.strip().endswith("lifecycle ok")
