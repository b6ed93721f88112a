"""A database URL whose driver is not installed stops erpkit with the package to install,
never a traceback: from the command line, from the app factory, from gunicorn's entry."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest

from erpkit.app import create_app
from erpkit.db import DatabaseDriverMissing

# pg8000 is a PostgreSQL driver erpkit never installs: its URL names a missing driver.
PG8000_URL = "postgresql+pg8000://erpkit@127.0.0.1:5432/erpkit"


@pytest.fixture(autouse=True)
def _pg8000_is_not_installed() -> None:
    assert importlib.util.find_spec("pg8000") is None, "these tests need pg8000 uninstalled"


def test_create_app_refuses_a_url_whose_driver_is_missing_and_names_the_package():
    with pytest.raises(DatabaseDriverMissing) as refused:
        create_app({"DATABASE_URL": PG8000_URL, "TESTING": True})
    assert str(refused.value) == (
        "PostgreSQL needs the pg8000 driver, which is not installed. Fix: pip install pg8000")


def test_every_erpkit_command_prints_the_fix_for_a_missing_driver(cli_for):
    for command in (["init"], ["db", "status"], ["plugins", "list"]):
        result = cli_for(PG8000_URL)(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "PostgreSQL needs the pg8000 driver" in result.output
        assert "Fix: pip install pg8000" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_an_unknown_url_scheme_is_refused_with_the_urls_erpkit_takes():
    with pytest.raises(DatabaseDriverMissing, match=r"scheme 'nosuchdb' is unknown\. Fix: use"):
        create_app({"DATABASE_URL": "nosuchdb://somewhere/erpkit", "TESTING": True})


def _without_psycopg(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python where ``import psycopg`` fails, as without the extra."""
    blocked = "import sys; sys.modules['psycopg'] = None\n" + textwrap.dedent(code)
    env = {**os.environ, "ERPKIT_DATABASE_URL": "postgresql+psycopg://erpkit@127.0.0.1/erpkit"}
    return subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_without_psycopg_the_cli_says_to_install_the_postgresql_extra():
    result = _without_psycopg("from erpkit.cli import main; main(['db', 'status'])")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        'erpkit cannot start: PostgreSQL needs the psycopg driver, which is not installed. '
        'Fix: pip install "erpkit[postgresql]"')


def test_without_psycopg_the_wsgi_entry_exits_with_the_fix_not_a_traceback():
    result = _without_psycopg("import erpkit.wsgi")
    assert result.returncode == 1
    assert 'Fix: pip install "erpkit[postgresql]"' in result.stderr
    assert "Traceback" not in result.stderr
