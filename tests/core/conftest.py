"""Fixtures of the core's tests; the helpers they use are in ``helpers.py``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from erpkit.db import create_engine
from erpkit.migrate import upgrade
from erpkit.plugins import load_plugins

from .helpers import Cli, Distributions, write_sample_plugins


@pytest.fixture
def distributions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Distributions]:
    """A folder of 'installed' distributions for this test only.

    Every module imported from it is forgotten afterwards, so tests never share plugins.
    """
    root = tmp_path / "site-packages"
    dists = Distributions(root)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delenv("ERPKIT_PLUGINS", raising=False)
    before = set(sys.modules)
    yield dists
    for name in set(sys.modules) - before:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(root)):
            del sys.modules[name]


@pytest.fixture(scope="session")
def sample_plugins_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sample-plugins")
    write_sample_plugins(root)
    return root


@pytest.fixture
def sample_plugins(sample_plugins_root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install the sample plugins ``widgets`` and ``gadgets`` (requires widgets) for this
    test. They are imported once per run: their tables join the shared metadata like a
    real plugin's, and tests without them installed never see them enabled."""
    monkeypatch.syspath_prepend(str(sample_plugins_root))
    monkeypatch.delenv("ERPKIT_PLUGINS", raising=False)
    # Both at once: a gadgets table alone would name a widgets table the metadata lacks.
    import erpkit_test_gadgets  # noqa: F401
    import erpkit_test_widgets  # noqa: F401

    return sample_plugins_root


@pytest.fixture
def cli_for(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Cli]:
    """``cli_for(url)("db", "status")`` runs ``erpkit db status`` on the database ``url``."""
    return lambda url: Cli(monkeypatch, url)


@pytest.fixture
def fresh_database(new_database: Any) -> str:
    """An empty database of the run's backend, for this test only."""
    return new_database("fresh")


@pytest.fixture
def migrated_database(new_database: Any) -> str:
    """A database of its own with the core and every installed plugin at head."""
    url = new_database("migrated")
    upgrade(load_plugins(), url)
    return url


@pytest.fixture
def engine(database_url: str, app: Flask) -> Iterator[sa.Engine]:
    """An engine of its own on the run's database (tables emptied by the app's fixtures)."""
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine: sa.Engine) -> Iterator[Session]:
    """A plain session outside any app context."""
    with Session(engine) as session:
        yield session
