"""The web application factory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, jsonify
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

import erpkit
from erpkit.api import Blueprint as GuardedBlueprint
from erpkit.api import plugin_schema_names
from erpkit.db import (
    DEFAULT_DATABASE_URL,
    check_database_driver,
    configure_engine,
    db,
    engine_options,
)
from erpkit.errors import register_error_handlers
from erpkit.input_guard import init_input_guard
from erpkit.login_throttle import init_login_throttle, lockouts_blueprint
from erpkit.plugins import Registry, enabled_from_config, load_plugins, setup_items
from erpkit.query_limits import init_query_limits, statement_timeout_ms, with_statement_timeout
from erpkit.schemas import BoundedIntConverter, decimal_strings_in_openapi
from erpkit.settings_api import settings_blueprint
from erpkit.web_auth import init_web_auth
from erpkit.web_security import init_web_security
from erpkit.work_api import work_blueprint


def database_url(config: Mapping[str, Any] | None = None) -> str:
    """The database URL: config ``DATABASE_URL``, else ``ERPKIT_DATABASE_URL``, else the
    SQLite file ``erpkit.db`` in the working directory."""
    url = sa.make_url(
        (config or {}).get("DATABASE_URL")
        or os.environ.get("ERPKIT_DATABASE_URL")
        or DEFAULT_DATABASE_URL
    )
    # A relative SQLite path means the working directory (Flask-SQLAlchemy-Lite would
    # otherwise move it into the instance folder, away from what Alembic migrates).
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=os.path.abspath(url.database))
    return url.render_as_string(hide_password=False)


class SecretKeyMissing(RuntimeError):
    pass


def _secret_key(config: Mapping[str, Any]) -> str:
    key = config.get("SECRET_KEY") or os.environ.get("ERPKIT_SECRET_KEY")
    if key:
        return str(key)
    if config.get("TESTING") or config.get("DEMO") or config.get("CLI"):
        return secrets.token_hex(32)
    raise SecretKeyMissing(
        "ERPKIT_SECRET_KEY is not set. Fix: export ERPKIT_SECRET_KEY=<a long random string> "
        "(the same for every worker); only the demo and the tests make one up."
    )


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the erpkit app: load plugins, connect the database, register blueprints,
    the admin console and JSON error handling.

    ``config`` keys: ``DATABASE_URL``, ``SECRET_KEY``, ``PLUGINS`` (names to enable; all
    installed by default), ``EXTRA_PLUGINS`` (plugin objects registered in-process),
    ``TESTING``, ``DEMO``, ``SMTP_HOST``/``SMTP_PORT``/``MAIL_FROM``, and the deployment
    settings of :mod:`erpkit.web_security` (``SECURE_COOKIES``, ``PROXY_FIX``,
    ``MAX_REQUEST_BYTES``), each defaulting to its ``ERPKIT_...`` environment variable.
    """
    config = dict(config or {})
    app = Flask("erpkit")
    app.url_map.converters["int"] = BoundedIntConverter
    url = database_url(config)
    check_database_driver(url)  # DatabaseDriverMissing names the package to install
    app.config.update(
        DATABASE_URL=url,
        SECRET_KEY=_secret_key(config),
        STATEMENT_TIMEOUT_MS=statement_timeout_ms(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        API_TITLE="erpkit",
        API_VERSION=erpkit.__version__,
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        SMTP_HOST=os.environ.get("ERPKIT_SMTP_HOST"),
        SMTP_PORT=int(os.environ.get("ERPKIT_SMTP_PORT", "25")),
        MAIL_FROM=os.environ.get("ERPKIT_MAIL_FROM", "erpkit@localhost"),
    )
    app.config.update({k: v for k, v in config.items() if k not in ("SECRET_KEY",)})
    app.json.sort_keys = False  # type: ignore[attr-defined]
    init_web_security(app, config)  # cookies, proxies, request size, security headers
    app.config.setdefault("SQLALCHEMY_ENGINES", {"default": with_statement_timeout(
        engine_options(url), app.config["STATEMENT_TIMEOUT_MS"])})

    registry = load_plugins(enabled_from_config(config), extra=config.get("EXTRA_PLUGINS", ()))
    app.extensions["erpkit"] = registry

    db.init_app(app)
    _drop_async_session_teardown(app)
    with app.app_context():
        configure_engine(db.engine)
        # Every session of this app carries its registry: business code handed db.session
        # finds the plugins through erpkit.plugins.registry_of, with no app context.
        db.sessionmaker.configure(info=registry.session_info())
        init_query_limits(app, db.engine)

    api = Api(app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(
        schema_name_resolver=plugin_schema_names(
            {p.package: p.name for p in registry.plugins.values() if p.package}))})
    api.ma_plugin.converter.add_attribute_function(decimal_strings_in_openapi)
    app.extensions["erpkit.api"] = api
    app.register_blueprint(_core_blueprint())
    api.register_blueprint(settings_blueprint())
    api.register_blueprint(work_blueprint())
    init_login_throttle(app, app.config)
    api.register_blueprint(lockouts_blueprint())
    for plugin_name, blueprint in setup_items(registry, "erpkit_blueprints"):
        if isinstance(blueprint, ApiBlueprint):
            if not isinstance(blueprint, GuardedBlueprint):
                app.logger.warning(
                    "plugin %s: blueprint %s is a plain flask_smorest.Blueprint, so a route "
                    "without its own permission check is open to anyone. Fix: make it an "
                    "erpkit.api.Blueprint(..., permission=...).", plugin_name, blueprint.name)
            api.register_blueprint(blueprint)
        else:
            app.register_blueprint(blueprint)
        app.logger.debug("plugin %s: blueprint %s", plugin_name, blueprint.name)
    from erpkit.api_versions import serve_versioned

    serve_versioned(app, api, registry)
    register_error_handlers(app)
    init_input_guard(app)
    init_web_auth(app)  # login/logout pages and CSRF on every form

    from erpkit.admin import init_admin

    init_admin(app, registry)
    return app


def _drop_async_session_teardown(app: Flask) -> None:
    """Remove Flask-SQLAlchemy-Lite's teardown for async sessions: erpkit has none.

    The extension registers it on every app, and because it is a coroutine Flask runs it
    through asgiref, which starts a thread and an event loop each time an app context
    ends: about 0.7 ms on every request and every transition the benchmarks run
    (bench/README.md; also pallets-eco/flask-sqlalchemy-lite#11 under gevent).
    """
    from flask_sqlalchemy_lite._extension import _close_async_sessions

    if not app.config.get("SQLALCHEMY_ASYNC_ENGINES"):
        funcs = app.teardown_appcontext_funcs
        funcs[:] = [f for f in funcs if f is not _close_async_sessions]


def _core_blueprint() -> Blueprint:
    blueprint = Blueprint("core", __name__)

    @blueprint.get("/health")
    def health() -> Any:
        from flask import current_app

        from erpkit.migrate import status, tables_without_migration

        registry: Registry = current_app.extensions["erpkit"]
        url = current_app.config["DATABASE_URL"]
        try:
            with db.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
                branches = status(registry, connection, url)
                unmigrated = tables_without_migration(registry, connection, url)
        except sa.exc.SQLAlchemyError as exc:
            return jsonify({"status": "error", "database": "unreachable",
                            "detail": str(exc.__cause__ or exc).splitlines()[0]}), 503
        wanted = {"core", *registry.plugins}
        pending = [b.branch for b in branches if b.branch in wanted and not b.up_to_date]
        body = {
            "status": ("migrations_pending" if pending
                       else "tables_without_migration" if unmigrated else "ok"),
            "database": "ok",
            "migrations": {
                b.branch: {"current": b.current, "head": b.head, "up_to_date": b.up_to_date}
                for b in branches
            },
            "plugins": {name: p.version for name, p in registry.plugins.items()},
            # A plugin whose models have tables no migration created fails at its first
            # query: say so here rather than in a 500 later.
            "tables_without_migration": unmigrated,
        }
        return jsonify(body), 200 if body["status"] == "ok" else 503

    return blueprint
