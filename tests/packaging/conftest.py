"""Fixtures of the packaging tests: the wheels of every distribution, built once, and fresh
virtual environments installed from them, each holding the core, orders and at most one
more module (inventory, crm, logistics or reporting), one of each per test session."""

from __future__ import annotations

import os
from typing import Any

import pytest

from .wheel_installs import DISTRIBUTIONS, Venv, build_wheels

BACKEND_IS_POSTGRESQL = os.environ.get("ERPKIT_TEST_DB", "sqlite") == "postgresql"
#: The extras an integrator installs for the run's backend, and gunicorn to serve.
EXTRAS = "serve,postgresql" if BACKEND_IS_POSTGRESQL else "serve"


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every distribution's wheel, built from a copy of its folder."""
    return build_wheels(list(DISTRIBUTIONS), tmp_path_factory.mktemp("sources"),
                        tmp_path_factory.mktemp("wheels"))


def _venv_with(tmp_path_factory: pytest.TempPathFactory, new_database: Any,
               wheels: dict[str, Any], plugins: list[str], label: str) -> Venv:
    return Venv.create(tmp_path_factory.mktemp(label), new_database(label), wheels, plugins,
                       extras=EXTRAS)


@pytest.fixture(scope="session")
def orders_venv(tmp_path_factory, new_database, wheels) -> Venv:
    """The core and orders wheels, alone, in a fresh virtual environment."""
    return _venv_with(tmp_path_factory, new_database, wheels, ["erpkit-orders"], "orders-venv")


@pytest.fixture(scope="session")
def inventory_venv(tmp_path_factory, new_database, wheels) -> Venv:
    """The core, orders and inventory wheels, alone, in a fresh virtual environment."""
    return _venv_with(tmp_path_factory, new_database, wheels,
                      ["erpkit-orders", "erpkit-inventory"], "inventory-venv")


@pytest.fixture(scope="session")
def crm_venv(tmp_path_factory, new_database, wheels) -> Venv:
    """The core, orders and crm wheels, alone (no inventory, no approvals)."""
    return _venv_with(tmp_path_factory, new_database, wheels,
                      ["erpkit-orders", "erpkit-crm"], "crm-venv")


@pytest.fixture(scope="session")
def logistics_venv(tmp_path_factory, new_database, wheels) -> Venv:
    """The core, orders and logistics wheels, alone, without the ``routing`` extra: no
    OR-Tools in the environment."""
    return _venv_with(tmp_path_factory, new_database, wheels,
                      ["erpkit-orders", "erpkit-logistics"], "logistics-venv")


@pytest.fixture(scope="session")
def reporting_venv(tmp_path_factory, new_database, wheels) -> Venv:
    """The core, orders and reporting wheels, alone."""
    return _venv_with(tmp_path_factory, new_database, wheels,
                      ["erpkit-orders", "erpkit-reporting"], "reporting-venv")
