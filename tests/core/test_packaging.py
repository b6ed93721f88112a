"""What an integrator who installs only what they need does: wheels of the core and the
orders plugin, installed in a fresh virtual environment, ``erpkit init`` and
``erpkit plugins list`` there; then the third-party example plugin ``examples/embargo``
installed on top, taking part in order validation.

Slow (builds wheels, makes a virtual environment, installs dependencies from the package
index): one environment serves the whole test session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "instance",
                                 "*.db", "*.db-*")


def run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout, check=False)


def must(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _copy_sources(target: Path) -> dict[str, Path]:
    """The three distributions, copied out of the work tree so building leaves no trace."""
    core = target / "erpkit"
    core.mkdir()
    for name in ("core", "migrations"):
        shutil.copytree(ROOT / name, core / name, ignore=IGNORED)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, core / name)
    orders = shutil.copytree(ROOT / "plugins" / "orders", target / "orders", ignore=IGNORED)
    embargo = shutil.copytree(ROOT / "examples" / "embargo", target / "embargo", ignore=IGNORED)
    return {"erpkit": core, "erpkit-orders": orders, "erpkit-embargo": embargo}


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not (ROOT / "plugins" / "orders" / "setup.cfg").exists():
        pytest.fail("plugins/orders is missing: the wheel test installs the core and orders")
    sources = _copy_sources(tmp_path_factory.mktemp("sources"))
    out = tmp_path_factory.mktemp("wheels")
    built = {}
    for name, source in sources.items():
        must(run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--wheel-dir", out, source))
        [wheel] = out.glob(f"{name.replace('-', '_')}-*.whl")
        built[name] = wheel
    return built


class Venv:
    """A fresh virtual environment with ``erpkit`` commands and its own database."""

    def __init__(self, path: Path, database: Path) -> None:
        self.path = path
        self.bin = path / "bin"
        self.database_url = f"sqlite:///{database}"
        self.cwd = database.parent

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("ERPKIT_", "PYTHON", "VIRTUAL_ENV"))}
        env.update(ERPKIT_DATABASE_URL=self.database_url, **extra)
        return env

    def erpkit(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return run(self.bin / "erpkit", *args, env=self.env(**extra_env), cwd=self.cwd)

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return run(self.bin / "python", "-c", textwrap.dedent(code), env=self.env(),
                   cwd=self.cwd)

    def pip(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return run(self.bin / "python", "-m", "pip", "--disable-pip-version-check", *args,
                   env=self.env(), cwd=self.cwd, timeout=900)


@pytest.fixture(scope="session")
def venv(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """The core and orders wheels, alone, in a fresh virtual environment."""
    root = tmp_path_factory.mktemp("venv")
    base_python = getattr(sys, "_base_executable", sys.executable)
    must(run(base_python, "-m", "venv", root / "env"))
    env = Venv(root / "env", root / "work" / "erpkit.db")
    env.cwd.mkdir()
    must(env.pip("install", "--quiet", wheels["erpkit"], wheels["erpkit-orders"]))
    return env


@pytest.fixture
def embargo(venv: Venv, wheels: dict[str, Path]) -> Iterator[Venv]:
    """The example plugin installed in the environment for one test, uninstalled after."""
    must(venv.pip("install", "--quiet", wheels["erpkit-embargo"]))
    try:
        yield venv
    finally:
        must(venv.pip("uninstall", "--yes", "--quiet", "erpkit-embargo"))


def plugins(venv: Venv, **env: str) -> dict[str, dict[str, object]]:
    listed = json.loads(must(venv.erpkit("plugins", "list", "--json", **env)))
    return {row["name"]: row for row in listed}


def test_the_core_and_orders_wheels_install_alone_and_run(venv):
    located = must(venv.python("import erpkit, erpkit_orders; "
                               "print(erpkit.__file__); print(erpkit_orders.__file__)"))
    assert all("site-packages" in line for line in located.split())  # not the work tree

    initialised = venv.erpkit("init")
    assert initialised.returncode == 0, initialised.stderr
    assert "database ready" in initialised.stdout

    listed = venv.erpkit("plugins", "list")
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:2] == ["orders", "0.1.0"] and line.endswith("up to date")
               for line in listed.stdout.splitlines()), listed.stdout
    assert plugins(venv)["orders"]["migrations"] == "up to date"

    status = json.loads(must(venv.erpkit("db", "status", "--json")))
    assert {s["branch"] for s in status} == {"core", "orders"}
    assert all(s["up_to_date"] for s in status)
    assert "models match migrations" in must(venv.erpkit("db", "check"))


def test_the_example_plugin_takes_part_once_installed(embargo):
    must(embargo.erpkit("init"))
    listed = plugins(embargo)
    assert listed["embargo"]["requires"] == ["orders"]
    assert listed["embargo"]["enabled"] is True
    assert listed["embargo"]["migrations"] == "no tables"

    changed = embargo.erpkit("settings", "set", "embargo.regions", "kp, ir")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "embargo.regions = ['IR', 'KP']"

    refused = embargo.erpkit("settings", "set", "embargo.regions", "KP, XX")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "refused: embargo.regions: not ISO 3166-1 alpha-2 country codes: XX "
        "(use two letters, e.g. KP, IR)")
    assert "Traceback" not in refused.stderr

    outcome = json.loads(must(embargo.python("""
        import json
        from decimal import Decimal

        from erpkit import ValidationFailed
        from erpkit.app import create_app
        from erpkit.db import db
        from erpkit_orders.catalogue import create_customer, create_product
        from erpkit_orders.intake import create_order

        app = create_app({"SECRET_KEY": "packaging-test"})
        outcome = {}
        with app.app_context():
            session = db.session
            create_product(session, {"sku": "CHAIR-1", "name": "Chair",
                                     "unit_price": Decimal("49.00")})
            for country in ("KP", "FR"):
                customer = create_customer(session, {"name": f"Customer {country}",
                                                     "country": country})
                order = {"customer_id": customer.id, "channel": "web",
                         "lines": [{"sku": "CHAIR-1", "quantity": Decimal(1)}]}
                try:
                    outcome[country] = create_order(session, order).order.status
                except ValidationFailed as exc:
                    outcome[country] = [p.as_dict() for p in exc.problems]
        print(json.dumps(outcome))
    """)))
    assert outcome["FR"] == "draft"
    [problem] = outcome["KP"]
    assert problem["field"] == "customer.country"
    assert problem["code"] == "embargoed"
    assert "(KP) are under embargo" in problem["message"]


def test_the_example_plugin_without_orders_stops_the_cli_and_names_orders(embargo):
    result = embargo.erpkit("plugins", "list", ERPKIT_PLUGINS="embargo")
    assert result.returncode == 2
    assert "plugin 'embargo' requires plugin 'orders', which is disabled" in result.stderr
    assert "Fix: add 'orders' to ERPKIT_PLUGINS" in result.stderr
    assert "Traceback" not in result.stderr
