"""Apps with a chosen set of plugins, for the tests of each module.

A module's tests run it with only what it needs (the orders tests with orders alone, so
inventory never refuses their confirmations), on a database of their own migrated with
just those branches. ``module_fixtures`` makes the three fixtures every module's
conftest needs; ``make_plugin`` makes the throwaway in-process plugins tests register.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from flask import Flask

from erpkit import PluginMeta, hookimpl
from erpkit.app import create_app
from erpkit.db import db
from erpkit.migrate import upgrade
from erpkit.plugins import load_plugins


def app_config(database_url: str, enabled: Iterable[str] | None = None,
               plugins: Iterable[Any] = (), **config: Any) -> dict[str, Any]:
    """Config of a test app: ``enabled`` installed plugins (all when ``None``) plus the
    in-process ``plugins`` (and any in ``config["EXTRA_PLUGINS"]``), enabled too."""
    extra = [*plugins, *config.pop("EXTRA_PLUGINS", [])]
    base: dict[str, Any] = {"DATABASE_URL": database_url, "TESTING": True,
                            "SECRET_KEY": "test-secret", "EXTRA_PLUGINS": extra}
    if enabled is not None:
        base["PLUGINS"] = sorted({*enabled, *(p.PLUGIN.name for p in extra)})
    return {**base, **config}


def _dispose(application: Flask) -> None:
    with application.app_context():
        db.engine.dispose()


def module_fixtures(enabled: set[str] | None, label: str) -> tuple[Any, Any, Any]:
    """The fixtures ``database_url``, ``app`` and ``make_app`` for tests that run with
    the plugins ``enabled`` (every installed plugin when ``None``)."""

    @pytest.fixture(scope="session")
    def database_url(new_database: Callable[[str], str]) -> str:
        """A database of these tests' own, migrated with their plugins' branches."""
        url = new_database(label)
        upgrade(load_plugins(enabled), url)
        return url

    @pytest.fixture(scope="session")
    def app(database_url: str) -> Iterator[Flask]:
        application = create_app(app_config(database_url, enabled))
        yield application
        _dispose(application)

    @pytest.fixture
    def make_app(app: Flask, database_url: str) -> Iterator[Callable[..., Flask]]:
        """``make_app(plugin, ..., **config)``: another app on the same database (or on
        ``DATABASE_URL=...``) with in-process plugins beside the enabled ones."""
        made: list[Flask] = []

        def make(*plugins: Any, **config: Any) -> Flask:
            application = create_app(app_config(database_url, enabled, plugins, **config))
            made.append(application)
            return application

        yield make
        for application in made:
            _dispose(application)

    return database_url, app, make_app


def make_plugin(
    name: str,
    *,
    requires: tuple[str, ...] = (),
    core: str = ">=0.1",
    migrations: str | None = None,
    **hooks: Callable[..., Any],
) -> types.ModuleType:
    """An in-process plugin: a module object with ``PLUGIN`` and the given hook functions.

    ``make_plugin("alpha", erpkit_parameters=lambda: [...])`` is what a plugin package
    with one hook implementation looks like once imported.
    """
    module = types.ModuleType(f"inprocess_{name}")
    module.PLUGIN = PluginMeta(  # type: ignore[attr-defined]
        name=name, requires=requires, core=core, migrations=migrations
    )
    for hook_name, function in hooks.items():
        setattr(module, hook_name, hookimpl(function))
    return module
