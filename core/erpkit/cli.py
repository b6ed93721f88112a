"""The ``erpkit`` command line: init, db, plugins, settings, users, serve, demo.

Plugins add their own commands (hook ``erpkit_cli_commands``); every command runs inside
an app context, so ``db.session`` is the command's session.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app

from erpkit import __version__
from erpkit.db import db
from erpkit.facts import uses_of_missing_facts, uses_of_plugin_facts
from erpkit.plugins import (
    PluginError,
    Registry,
    current_registry,
    enabled_from_config,
    load_plugins,
    setup_items,
)
from erpkit.problems import ValidationFailed
from erpkit.serving import settle_after_startup


def _build_app(demo: bool = False) -> Flask:
    from erpkit.app import create_app
    from erpkit.db import DatabaseDriverMissing

    try:
        return create_app({"CLI": True, "DEMO": demo})
    except (PluginError, DatabaseDriverMissing) as exc:
        click.secho(f"erpkit cannot start: {exc}", fg="red", err=True)
        sys.exit(2)


def _app(ctx: click.Context) -> Flask:
    root = ctx.find_root()
    root.ensure_object(dict)
    if "app" not in root.obj:
        root.obj["app"] = _build_app(demo=root.obj.get("demo", False))
    return root.obj["app"]


class ErpkitCLI(click.Group):
    """A click group that runs every command in an app context and adds plugin commands."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        root = ctx.find_root()
        root.ensure_object(dict)
        if "plugin_commands" not in root.obj:
            # Listing commands (`erpkit --help`, a mistyped name) needs the plugins, not
            # the app: building the app connects to the database and starts the job
            # service. The command that then runs builds the app (invoke).
            if "app" in root.obj:
                registry = root.obj["app"].extensions["erpkit"]
            else:
                try:
                    registry = load_plugins(enabled_from_config())
                except PluginError as exc:
                    click.secho(f"erpkit cannot start: {exc}", fg="red", err=True)
                    sys.exit(2)
            commands = setup_items(registry, "erpkit_cli_commands")
            root.obj["plugin_commands"] = {cmd.name: cmd for _, cmd in commands}
        return root.obj["plugin_commands"]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._plugin_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._plugin_commands(ctx).get(name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # The group has no options that take values, so the first word is the command.
        ctx.meta["erpkit.command"] = next((a for a in args if not a.startswith("-")), None)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        command = ctx.meta.get("erpkit.command")
        if command == "demo":
            ctx.ensure_object(dict)["demo"] = True
        if command is None:  # `erpkit` alone: help
            return super().invoke(ctx)
        app = _app(ctx)
        with app.app_context():
            return super().invoke(ctx)


def refuse_bad_input(func: Callable[..., Any]) -> Callable[..., Any]:
    """Print input problems as ``field: reason`` lines and exit 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            db.session.rollback()
            for problem in exc.problems:
                where = f"line {problem.line}: " if problem.line else ""
                message = f"refused: {where}{problem.field}: {problem.message}"
                click.secho(message, fg="red", err=True)
            sys.exit(1)

    return wrapper


@click.group(cls=ErpkitCLI)
@click.version_option(__version__, prog_name="erpkit")
def main() -> None:
    """erpkit: plugin-based order management.

    The database is ERPKIT_DATABASE_URL (default: the SQLite file erpkit.db here);
    ERPKIT_PLUGINS narrows the enabled plugins (default: every installed one).
    """


def _registry() -> Registry:
    return current_registry()


def _url() -> str:
    return str(current_app.config["DATABASE_URL"])


# --- init and db ---------------------------------------------------------------------


def ensure_database_exists(url: str) -> bool:
    """Create the PostgreSQL database named in ``url`` when it is missing (SQLite creates
    its file itself). Returns whether it was created."""
    parsed = sa.make_url(url)
    if not parsed.get_backend_name().startswith("postgresql"):
        return False
    server = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": parsed.database})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
                return True
    finally:
        server.dispose()
    return False


def migrate_and_seed() -> None:
    """Bring every branch to head, create the built-in roles and give roles the default
    grants of plugins enabled since the last time (never again one an admin removed)."""
    from erpkit.auth import ensure_builtin_roles
    from erpkit.migrate import upgrade

    upgrade(_registry(), _url())
    ensure_builtin_roles(db.session, list(_registry().permissions.values()))
    db.session.commit()


def report_tables_without_migration() -> bool:
    """Print, for each enabled plugin, the tables of its models no migration created;
    returns whether there were any."""
    from erpkit.migrate import tables_without_migration

    with db.engine.connect() as connection:
        missing = tables_without_migration(_registry(), connection, _url())
    for plugin, tables in missing.items():
        click.secho(f"plugin {plugin!r} has models whose tables no migration creates: "
                    f"{', '.join(tables)}. Fix: write its migration "
                    f"(erpkit db revision {plugin} -m \"...\") and run erpkit db upgrade",
                    fg="red", err=True)
    return bool(missing)


@main.command()
def init() -> None:
    """Create the database and migrate the core and every enabled plugin to head."""
    if ensure_database_exists(_url()):
        click.echo(f"created database {sa.make_url(_url()).database}")
    migrate_and_seed()
    click.echo(f"database ready: {sa.make_url(_url()).render_as_string(hide_password=True)}")
    if report_tables_without_migration():
        sys.exit(1)


@main.group("db")
def db_group() -> None:
    """Migrations: upgrade, downgrade a plugin, status, revision, check."""


@db_group.command("upgrade")
@click.option("--target", default="heads", show_default=True,
              help="A revision, BRANCH@head, or heads for everything.")
def db_upgrade(target: str) -> None:
    """Bring the core and every enabled plugin to head (with ``heads``, also give roles the
    default grants of plugins enabled since ``erpkit init``)."""
    from erpkit.migrate import upgrade

    if target == "heads":
        migrate_and_seed()
    else:
        upgrade(_registry(), _url(), target)
    click.echo("upgraded")


@db_group.command("downgrade")
@click.argument("plugin")
@click.option("--yes", is_flag=True,
              help="Do not ask: drop the tables and delete the plugin's stored settings.")
@click.option("--keep-settings", is_flag=True,
              help="Keep the plugin's stored parameter values (they apply if it comes back).")
def db_downgrade(plugin: str, yes: bool, keep_settings: bool) -> None:
    """Uninstall PLUGIN's tables: downgrade its branch to base (all its data is lost);
    then offer to delete its stored parameter values."""
    from erpkit.migrate import (
        MigrationRefused,
        dependents,
        downgrade_plugin,
        plugin_tables,
        stored_settings,
    )

    blocking = dependents(_registry(), plugin)
    if blocking:
        click.secho(f"refused: plugin {plugin!r} is required by {', '.join(blocking)}; "
                    f"downgrade {' and '.join(blocking)} first", fg="red", err=True)
        sys.exit(1)
    with db.engine.connect() as connection:
        tables = plugin_tables(_registry(), connection, plugin)
    click.echo(f"downgrading {plugin!r} drops these tables and every row in them:")
    for table in tables or ["(none present)"]:
        click.echo(f"  {table}")
    _warn_of_rules_on_facts_of(plugin)
    if not yes and not click.confirm("Proceed?", default=False):
        click.echo("nothing changed")
        sys.exit(1)
    settings = stored_settings(db.session, plugin)
    db.session.rollback()  # no transaction may hold a lock while the migration runs
    try:
        downgrade_plugin(_registry(), _url(), plugin)
    except MigrationRefused as exc:
        click.secho(f"refused: {exc}", fg="red", err=True)
        sys.exit(1)
    click.echo(f"{plugin} downgraded to base; uninstall its distribution now if you want it gone")
    if settings:
        _offer_to_delete_settings(plugin, settings, yes=yes, keep=keep_settings)


def _offer_to_delete_settings(plugin: str, settings: dict[str, Any], *, yes: bool,
                              keep: bool) -> None:
    from erpkit.migrate import delete_stored_settings

    click.echo(f"{plugin!r} has these stored settings:")
    for name, value in settings.items():
        click.echo(f"  {name} = {json.dumps(value)}")
    if keep or not (yes or click.confirm("Delete them too?", default=False)):
        click.echo(f"kept {len(settings)} stored settings; they apply again if "
                   f"{plugin!r} is enabled again")
        return
    deleted = delete_stored_settings(db.session, plugin, actor=os.environ.get("USER", "cli"))
    db.session.commit()
    click.echo(f"deleted {len(deleted)} stored settings")


@db_group.command("status")
@click.option("--json", "as_json", is_flag=True)
def db_status(as_json: bool) -> None:
    """Each branch's current and head revision."""
    from erpkit.migrate import status

    with db.engine.connect() as connection:
        states = status(_registry(), connection, _url())
    if as_json:
        click.echo(json.dumps([s.__dict__ | {"up_to_date": s.up_to_date} for s in states]))
        return
    click.echo(f"{'branch':<14}{'current':<22}{'head':<22}state")
    for s in states:
        state = "up to date" if s.up_to_date else "pending"
        click.echo(f"{s.branch:<14}{s.current or '-':<22}{s.head or '-':<22}{state}")


@db_group.command("revision")
@click.argument("plugin")
@click.option("-m", "--message", required=True)
@click.option("--empty", is_flag=True, help="Write an empty revision (no autogenerate).")
def db_revision(plugin: str, message: str, empty: bool) -> None:
    """Write a new revision for PLUGIN (or core) from its models only."""
    from erpkit.migrate import MigrationRefused, revision

    try:
        script = revision(_registry(), _url(), plugin, message, autogenerate=not empty)
    except MigrationRefused as exc:
        click.secho(f"refused: {exc}", fg="red", err=True)
        sys.exit(1)
    for item in script if isinstance(script, list) else [script]:
        click.echo(f"wrote {item.path}")


@db_group.command("check")
def db_check() -> None:
    """Fail when the models and the migrations differ (no autogenerate diff allowed)."""
    from alembic import command
    from alembic.util.exc import AutogenerateDiffsDetected

    from erpkit.migrate import alembic_config, branches_behind

    with db.engine.connect() as connection:
        behind = branches_behind(_registry(), connection, _url())
    if behind:
        where = ", ".join(f"{b.branch} (at {b.current or 'base'}, head {b.head})" for b in behind)
        click.secho(f"not at head: {where}. Fix: erpkit db upgrade, then check again",
                    fg="red", err=True)
        sys.exit(1)
    try:
        command.check(alembic_config(_registry(), _url()))
    except AutogenerateDiffsDetected as exc:
        click.secho(str(exc), fg="red", err=True)
        sys.exit(1)
    click.echo("models match migrations")


# --- plugins ---------------------------------------------------------------------------


@main.group("plugins")
def plugins_group() -> None:
    """Installed plugins."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def plugins_list(as_json: bool) -> None:
    """Name, version, requirements, enabled, migration state of every installed plugin."""
    from erpkit.migrate import status, tables_without_migration

    registry = _registry()
    try:
        with db.engine.connect() as connection:
            states = {s.branch: s for s in status(registry, connection, _url())}
            unmigrated = tables_without_migration(registry, connection, _url())
    except sa.exc.SQLAlchemyError:
        states, unmigrated = {}, {}
    rows: list[dict[str, Any]] = []
    for name, plugin in sorted(registry.installed.items()):
        state = states.get(name)
        missing = unmigrated.get(name, [])
        migration = ("no migration for " + ", ".join(missing) if missing
                     else "no tables" if plugin.obj is not None and not plugin.meta.migrations
                     else "unknown" if state is None
                     else "up to date" if state.up_to_date
                     else "not installed" if state.current is None else "pending")
        rows.append({"name": name, "version": plugin.version,
                     "requires": list(plugin.meta.requires), "enabled": plugin.enabled,
                     "migrations": migration, "tables_without_migration": missing,
                     "distribution": plugin.distribution})
    if as_json:
        click.echo(json.dumps(rows))
    else:
        click.echo(f"{'name':<14}{'version':<10}{'requires':<22}{'enabled':<9}migrations")
        for row in rows:
            click.echo(f"{row['name']:<14}{row['version']:<10}"
                       f"{','.join(row['requires']) or '-':<22}"
                       f"{'yes' if row['enabled'] else 'no':<9}{row['migrations']}")
    for warning in uses_of_missing_facts(registry, db.session):  # on stderr: JSON stays JSON
        click.secho(f"warning: {warning}", fg="yellow", err=True)


def _warn_of_rules_on_facts_of(plugin: str) -> None:
    uses = uses_of_plugin_facts(_registry(), db.session, plugin)
    db.session.rollback()  # end the read: the downgrade's own connection must not wait on it
    if uses:
        click.echo(f"these test facts of {plugin!r}; once it is disabled or uninstalled they "
                   "hold every order they test for a person (fail closed):")
        for use in uses:
            click.echo(f"  {use}")


# --- settings --------------------------------------------------------------------------


@main.group("settings")
def settings_group() -> None:
    """Parameters declared by the core and the plugins."""


@settings_group.command("list")
def settings_list() -> None:
    """Every parameter with its type, value and description."""
    store = _registry().parameters
    for name, parameter in sorted(store.declared.items()):
        value = parameter.describe(store.get(db.session, name))
        marker = "" if store.is_default(db.session, name) else " (set)"
        click.echo(f"{name} [{parameter.type_name}] = {value}{marker}\n    {parameter.description}")


@settings_group.command("get")
@click.argument("name")
@refuse_bad_input
def settings_get(name: str) -> None:
    """Print NAME's current value."""
    store = _registry().parameters
    click.echo(store.parameter(name).describe(store.get(db.session, name)))


@settings_group.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--actor", default=lambda: os.environ.get("USER", "cli"), show_default="$USER")
@refuse_bad_input
def settings_set(name: str, value: str, actor: str) -> None:
    """Set NAME to VALUE (parsed and validated by the parameter's type)."""
    store = _registry().parameters
    typed = store.set(db.session, name, value, actor=actor)
    db.session.commit()
    click.echo(f"{name} = {store.parameter(name).describe(typed)}")


@settings_group.command("reset")
@click.argument("name")
@refuse_bad_input
def settings_reset(name: str) -> None:
    """Forget NAME's value so its default applies."""
    store = _registry().parameters
    store.reset(db.session, name, actor=os.environ.get("USER", "cli"))
    db.session.commit()
    click.echo(f"{name} = {store.parameter(name).describe(store.get(db.session, name))} (default)")


# --- users -----------------------------------------------------------------------------


@main.group("users")
def users_group() -> None:
    """People and integrations."""


@users_group.command("create")
@click.argument("login")
@click.option("--role", "roles", multiple=True, default=["admin"], show_default=True)
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts); "
              "without it the password is asked for. Never on the command line, where "
              "the process list shows it.")
@click.option("--email")
@refuse_bad_input
def users_create(login: str, roles: tuple[str, ...], password_stdin: bool,
                 email: str | None) -> None:
    """Create a user (the first admin: `erpkit users create admin`)."""
    from erpkit.auth import create_user, ensure_builtin_roles

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise ValidationFailed.single("password", "the password is empty", code="required")
    ensure_builtin_roles(db.session, list(_registry().permissions.values()))
    create_user(db.session, login, password, list(roles), email=email)
    db.session.commit()
    click.echo(f"created {login} with roles {', '.join(roles)}")


@users_group.command("token")
@click.argument("login")
@click.option("--name", default="cli", show_default=True)
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None,
              help="The token stops working after this many days (default: never).")
def users_token(login: str, name: str, expires_days: int | None) -> None:
    """Issue an API token for LOGIN (printed once)."""
    from datetime import timedelta

    from erpkit.auth import issue_token
    from erpkit.db import utcnow
    from erpkit.models import User

    user = db.session.scalar(sa.select(User).where(User.login == login))
    if user is None:
        click.secho(f"refused: login: no user {login!r}", fg="red", err=True)
        sys.exit(1)
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    token = issue_token(db.session, user, name, expires_at=expires_at)
    db.session.commit()
    click.echo(token)


# --- serve and demo -------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the app with a threaded development server (use gunicorn in production:
    gunicorn 'erpkit.wsgi:app')."""
    from erpkit.app import SecretKeyMissing, _secret_key

    if not current_app.config.get("DEMO"):
        try:
            _secret_key({})
        except SecretKeyMissing as exc:
            click.secho(str(exc), fg="red", err=True)
            sys.exit(2)
    _serve(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]


def _serve(app: Flask, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    # The command's own session must not hold a transaction while the server runs: on
    # SQLite an open transaction keeps the write lock and every request would wait.
    db.session.close()
    settle_after_startup()

    click.echo(f"serving on http://{host}:{port}/  (admin console: http://{host}:{port}/admin/)")
    run_simple(host, port, app, threaded=True, use_reloader=False)


DEMO_PASSWORD = "demo"


@main.command()
@click.option("--no-serve", is_flag=True, help="Stop after loading the demo data.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(no_serve: bool, host: str, port: int) -> None:
    """Migrate, load demo data through the normal code paths, print logins and serve,
    with a worker in this process (background jobs, the periodic sweep of time limits)."""
    from erpkit.demo import load_demo
    from erpkit.jobs import start_embedded_worker

    if ensure_database_exists(_url()):
        click.echo(f"created database {sa.make_url(_url()).database}")
    migrate_and_seed()
    logins = load_demo(DEMO_PASSWORD)
    click.echo("demo logins (password 'demo'):")
    for role, login in logins.items():
        click.echo(f"  {role:<10} {login}")
    if no_serve:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db.session.close()
    start_embedded_worker(app, workers=1)
    click.echo("a worker runs in this process: background jobs and the periodic sweep")
    _serve(app, host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
