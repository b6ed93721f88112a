"""Alembic environment for the core and every plugin branch.

Run through ``erpkit db ...``, which builds the Alembic config in code: the version
locations come from the installed plugins. ``config.attributes["only"]`` limits
autogenerate to one branch's tables, so a revision for one plugin never picks up another
plugin's tables.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from erpkit.db import Base, create_engine, table_owner

config = context.config
registry = config.attributes.get("registry")
if registry is None:  # run by bare `alembic`: discover plugins ourselves
    from erpkit.plugins import enabled_from_config, load_plugins

    registry = load_plugins(enabled_from_config())
only: str | None = config.attributes.get("only")
enabled = {"core", *registry.plugins}
target_metadata = Base.metadata


def _owner_of(name: str) -> str:
    table = target_metadata.tables.get(name)
    return table_owner(table) if table is not None else name.split("_", 1)[0]


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Reflected side: only this branch's tables (and never Alembic's own)."""
    if type_ == "table" and name is not None:
        owner = _owner_of(name)
        return owner == only if only else owner in enabled
    return True


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Metadata side: tables of disabled plugins, or of other branches, are not ours."""
    if type_ == "table" and name is not None:
        owner = _owner_of(name)
        return owner == only if only else owner in enabled
    return True


def run_migrations(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        run_migrations(conn)
    engine.dispose()
