"""Migrations: one Alembic environment, one labelled branch per distribution.

The core's revisions live in ``migrations/versions`` (the branch ``core``); each plugin
ships its own in the folder its :class:`PluginMeta` names, as the branch labelled with
the plugin's name, whose first revision ``depends_on`` the revisions it needs. The
version locations are computed from the installed plugins, so no ini file lists them.
"""

from __future__ import annotations

import functools
import os
import site
import sysconfig
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory

from erpkit import setup_cache
from erpkit.db import Base, table_owner
from erpkit.models import ParameterValue, audit
from erpkit.plugins import CORE, Registry


def migrations_root() -> Path:
    return Path(str(resources.files("erpkit.migrations")))


def version_locations(registry: Registry) -> dict[str, Path]:
    """Branch label -> folder of its revisions, for the core and every installed plugin.

    Disabled plugins count too: their revisions may be applied in the database.
    """
    locations = {CORE: migrations_root() / "versions"}
    for plugin in registry.installed.values():
        path = plugin.migrations_path()
        if path is not None:
            locations[plugin.name] = path
    return locations


def alembic_config(registry: Registry, url: str, *, only: str | None = None) -> Config:
    """An Alembic config for this installation, built in code (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_root()))
    config.set_main_option("path_separator", "newline")
    config.set_main_option(
        "version_locations",
        "\n".join(str(p).replace("%", "%%") for p in version_locations(registry).values()),
    )
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["registry"] = registry
    config.attributes["only"] = only
    return config


@dataclass(frozen=True)
class BranchState:
    branch: str
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _branch_revisions(script: ScriptDirectory, branch: str) -> list[Script]:
    """The revisions of one branch, newest first (branches are linear)."""
    head: Script | None
    try:
        head = script.get_revision(f"{branch}@head")
    except Exception:  # no revision carries this label yet
        return []
    chain: list[Script] = []
    while head is not None and branch in head.branch_labels:
        chain.append(head)
        down = head.down_revision
        head = script.get_revision(down) if isinstance(down, str) else None
    return chain


def applied_revisions(script: ScriptDirectory, connection: sa.Connection) -> set[str]:
    """Every revision applied in the database, including those only reached by depends_on."""
    heads = MigrationContext.configure(connection).get_current_heads()
    return {rev.revision for rev in script.iterate_revisions(heads, "base")} if heads else set()


@functools.lru_cache(maxsize=16)
def _script_directory(locations: tuple[tuple[str, int], ...]) -> ScriptDirectory:
    """The revisions in these folders, read once per process while no folder changes
    (each folder's modification time is part of the key): reading them compiles every
    revision file, too slow for the console's plugins page on each request."""
    config = Config()
    config.set_main_option("script_location", str(migrations_root()))
    config.set_main_option("path_separator", "newline")
    config.set_main_option(
        "version_locations", "\n".join(path.replace("%", "%%") for path, _ in locations))
    return ScriptDirectory.from_config(config)


def status(registry: Registry, connection: sa.Connection, url: str) -> list[BranchState]:
    """Each branch's current and head revision."""
    folders = [str(path) for path in version_locations(registry).values()]
    script = _script_directory(tuple(
        (folder, os.stat(folder).st_mtime_ns if os.path.isdir(folder) else 0)
        for folder in folders))
    applied = applied_revisions(script, connection)
    states = []
    for branch in version_locations(registry):
        chain = _branch_revisions(script, branch)
        current = next((r.revision for r in chain if r.revision in applied), None)
        states.append(BranchState(branch, current, chain[0].revision if chain else None))
    return states


def enabled_branches(registry: Registry) -> list[str]:
    return [CORE, *(p.name for p in registry.plugins.values() if p.migrations_path())]


def is_up_to_date(registry: Registry, connection: sa.Connection, url: str) -> bool:
    """Whether the core and every enabled plugin are at their head revision."""
    wanted = set(enabled_branches(registry))
    return all(s.up_to_date for s in status(registry, connection, url) if s.branch in wanted)


def branches_behind(registry: Registry, connection: sa.Connection, url: str) -> list[BranchState]:
    """The core's and enabled plugins' branches that are not at their head revision."""
    wanted = set(enabled_branches(registry))
    return [s for s in status(registry, connection, url) if s.branch in wanted and not s.up_to_date]


def tables_without_migration(registry: Registry, connection: sa.Connection,
                             url: str) -> dict[str, list[str]]:
    """Plugin (or core) -> tables its models define that the database lacks although its
    branch is at head: no migration creates them. Branches still pending are left out
    (``erpkit db upgrade`` may create their tables)."""
    behind = {s.branch for s in branches_behind(registry, connection, url)}
    present = set(sa.inspect(connection).get_table_names())
    enabled = {CORE, *registry.plugins}
    owners = {name: table_owner(table) for name, table in Base.metadata.tables.items()}
    owners.update(registry.table_owners)
    missing: dict[str, list[str]] = {}
    for table, owner in sorted(owners.items()):
        if owner in enabled and owner not in behind and table not in present:
            missing.setdefault(owner, []).append(table)
    return missing


def upgrade(registry: Registry, url: str, target: str = "heads") -> None:
    """Bring the core and every enabled plugin to head (or ``target``)."""
    if target == "heads":
        config = alembic_config(registry, url)
        script = ScriptDirectory.from_config(config)
        for branch in enabled_branches(registry):
            if _branch_revisions(script, branch):  # a plugin may have no revision yet
                command.upgrade(config, f"{branch}@head")
    else:
        command.upgrade(alembic_config(registry, url), target)
    _new_epoch(url)


def _new_epoch(url: str) -> None:
    """A migration may change set-up rows behind the ORM's back: after one, no process
    uses what it kept before (:mod:`erpkit.setup_cache`)."""
    from erpkit.db import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if sa.inspect(connection).has_table("core_cache_generation"):
                setup_cache.new_epoch(connection)
    finally:
        engine.dispose()


class MigrationRefused(RuntimeError):
    pass


def dependents(registry: Registry, plugin: str) -> list[str]:
    """Installed, enabled plugins that require ``plugin``."""
    return sorted(p.name for p in registry.plugins.values() if plugin in p.meta.requires)


def plugin_tables(registry: Registry, connection: sa.Connection, plugin: str) -> list[str]:
    """Tables of ``plugin`` present in the database (by name prefix)."""
    existing = sa.inspect(connection).get_table_names()
    return sorted(t for t in existing if t.startswith(f"{plugin}_"))


def downgrade_plugin(registry: Registry, url: str, plugin: str) -> None:
    """Remove a plugin's tables by downgrading its branch to base."""
    if plugin == CORE:
        raise MigrationRefused("the core cannot be uninstalled; drop the database instead")
    if plugin not in version_locations(registry):
        raise MigrationRefused(
            f"no installed plugin named {plugin!r} has migrations "
            f"(installed: {', '.join(sorted(registry.installed)) or 'none'})"
        )
    blocking = dependents(registry, plugin)
    if blocking:
        raise MigrationRefused(
            f"plugin {plugin!r} is required by {', '.join(blocking)}: downgrade "
            f"{' and '.join(blocking)} first"
        )
    command.downgrade(alembic_config(registry, url), f"{plugin}@base")


def installed_copy(path: Path) -> bool:
    """Whether ``path`` lies in an installed (non-editable) copy: site-packages of this
    Python, where a new file is lost at the next ``pip install`` and belongs to no
    source tree."""
    roots = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    roots.update(site.getsitepackages())
    resolved = path.resolve()
    return any(resolved.is_relative_to(Path(root).resolve()) for root in roots)


def stored_settings(session: sa.orm.Session, plugin: str) -> dict[str, Any]:
    """The parameter values stored for ``plugin`` (names ``plugin.*``), by name.

    Its tables go with a downgrade; these rows live in the core's table and stay unless
    deleted, to apply again if the plugin comes back.
    """
    rows = session.execute(sa.select(ParameterValue.name, ParameterValue.value)
                           .where(ParameterValue.name.startswith(f"{plugin}.", autoescape=True))
                           .order_by(ParameterValue.name))
    return {name: value for name, value in rows}


def delete_stored_settings(session: sa.orm.Session, plugin: str, *,
                           actor: str | None) -> list[str]:
    """Delete ``plugin``'s stored parameter values, each audited; the caller commits."""
    deleted = stored_settings(session, plugin)
    for name, value in deleted.items():
        session.execute(sa.delete(ParameterValue).where(ParameterValue.name == name))
        audit(session, actor=actor, entity="parameter", entity_id=name, action="delete",
              before=value, after=None)
    return list(deleted)


def revision(
    registry: Registry, url: str, plugin: str, message: str, *, autogenerate: bool = True
) -> Any:
    """Write a new revision for one branch; autogenerate sees only that branch's tables."""
    locations = version_locations(registry)
    if plugin not in locations:
        raise MigrationRefused(f"{plugin!r} is not the core or an installed plugin with migrations")
    if installed_copy(locations[plugin]):
        distribution = (registry.installed[plugin].distribution if plugin != CORE
                        else "erpkit") or plugin
        raise MigrationRefused(
            f"{plugin}'s migrations are in site-packages ({locations[plugin]}), an installed "
            f"copy: a revision written there is lost at the next install. Fix: pip install "
            f"-e <the source folder of {distribution}> and run this command again"
        )
    config = alembic_config(registry, url, only=plugin)
    script = ScriptDirectory.from_config(config)
    if _branch_revisions(script, plugin):
        return command.revision(config, message, autogenerate=autogenerate, head=f"{plugin}@head")
    requires = registry.installed[plugin].meta.requires if plugin != CORE else ()
    depends_on = [script.get_revision(f"{b}@head").revision for b in (CORE, *requires)
                  if _branch_revisions(script, b)] if plugin != CORE else None
    return command.revision(
        config,
        message,
        autogenerate=autogenerate,
        head="base",
        branch_label=plugin,
        version_path=str(locations[plugin]),
        depends_on=depends_on or None,  # type: ignore[arg-type]  # alembic takes a list
        rev_id=f"{plugin}_0001",
    )
