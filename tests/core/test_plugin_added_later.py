"""A plugin enabled after ``erpkit init`` is whole: its roles' default grants arrive with
``erpkit db upgrade`` (and a grant an admin removed stays removed), models without a
migration are reported, ``db check`` names a branch behind its head, ``db revision``
never writes into site-packages, and ``db downgrade`` deals with the stored settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from erpkit.app import create_app
from erpkit.db import Base, create_engine, db
from erpkit.migrate import MigrationRefused, alembic_config, revision
from erpkit.models import AuditEntry, ParameterValue, Role
from erpkit.plugins import load_plugins
from erpkit.testing import make_plugin

WITH_INVENTORY = "orders,inventory"


def role_permissions(url: str, role: str) -> list[str]:
    engine = create_engine(url)
    try:
        with sa.orm.Session(engine) as session:
            return list(session.scalars(sa.select(Role).where(Role.name == role)).one()
                        .permissions)
    finally:
        engine.dispose()


def remove_grant(url: str, role: str, permission: str) -> None:
    """What an admin does in the role matrix: take one permission away from a role."""
    engine = create_engine(url)
    try:
        with sa.orm.Session(engine) as session:
            found = session.scalars(sa.select(Role).where(Role.name == role)).one()
            found.permissions = [p for p in found.permissions if p != permission]
            session.commit()
    finally:
        engine.dispose()


# --- default grants ---------------------------------------------------------------------


def test_a_plugin_enabled_after_init_gets_its_default_grants_on_db_upgrade(fresh_database,
                                                                          cli_for):
    cli = cli_for(fresh_database)
    assert cli("init", plugins="orders").exit_code == 0
    assert "inventory.adjust" not in role_permissions(fresh_database, "warehouse")

    upgraded = cli("db", "upgrade", plugins=WITH_INVENTORY)
    assert upgraded.exit_code == 0, upgraded.output
    warehouse = role_permissions(fresh_database, "warehouse")
    assert {"inventory.view", "inventory.adjust"} <= set(warehouse)
    assert "inventory.view" in role_permissions(fresh_database, "sales")
    assert "inventory.adjust" not in role_permissions(fresh_database, "sales")


def test_a_default_grant_an_admin_removed_is_not_given_back_by_db_upgrade(fresh_database,
                                                                         cli_for):
    cli = cli_for(fresh_database)
    assert cli("init", plugins=WITH_INVENTORY).exit_code == 0
    assert "inventory.adjust" in role_permissions(fresh_database, "warehouse")
    remove_grant(fresh_database, "warehouse", "inventory.adjust")

    for _ in range(2):
        assert cli("db", "upgrade", plugins=WITH_INVENTORY).exit_code == 0
        assert cli("init", plugins=WITH_INVENTORY).exit_code == 0
    warehouse = role_permissions(fresh_database, "warehouse")
    assert "inventory.adjust" not in warehouse
    assert "inventory.view" in warehouse


def test_roles_of_an_older_database_keep_what_an_admin_removed_after_the_upgrade(
        fresh_database, cli_for):
    cli = cli_for(fresh_database)
    assert cli("db", "upgrade", "--target", "core_0001", plugins="orders").exit_code == 0
    engine = create_engine(fresh_database)
    with engine.begin() as connection:  # a role as the first release's init made it
        connection.execute(sa.insert(Role.__table__).values(
            name="sales", description="", permissions=["orders.view", "orders.create"]))
    engine.dispose()

    assert cli("db", "upgrade", plugins="orders").exit_code == 0  # core_0002 records them
    remove_grant(fresh_database, "sales", "orders.create")
    assert cli("db", "upgrade", plugins="orders").exit_code == 0
    assert "orders.create" not in role_permissions(fresh_database, "sales")


# --- models without a migration ---------------------------------------------------------

LOOSE = '''
    import sqlalchemy as sa
    from sqlalchemy.orm import Mapped, mapped_column

    from erpkit import PluginMeta, hookimpl
    from erpkit.db import Base

    PLUGIN = PluginMeta(name="loose")


    class LooseThing(Base):
        __tablename__ = "loose_thing"

        id: Mapped[int] = mapped_column(primary_key=True)
        label: Mapped[str] = mapped_column(sa.String(40))


    @hookimpl
    def erpkit_models():
        return [LooseThing]
'''


# Each test imports the plugin afresh: its class replaces the last one in the registry.
pytestmark = pytest.mark.filterwarnings(
    "ignore:This declarative base already contains a class:sqlalchemy.exc.SAWarning")


@pytest.fixture
def loose_plugin(distributions) -> Iterator[str]:
    """A plugin with a model and no migration at all, installed for one test."""
    distributions.add("erpkit-test-loose", {"loose": "erpkit_test_loose"},
                      {"erpkit_test_loose/__init__.py": LOOSE})
    yield "orders,loose"
    table = Base.metadata.tables.get("loose_thing")
    if table is not None:  # the next tests' metadata must not carry it
        Base.metadata.remove(table)


def test_plugins_list_reports_models_whose_tables_no_migration_creates(
        fresh_database, cli_for, loose_plugin):
    cli = cli_for(fresh_database)
    initialised = cli("init", plugins=loose_plugin)
    assert initialised.exit_code == 1
    assert ("plugin 'loose' has models whose tables no migration creates: loose_thing. "
            "Fix: write its migration") in initialised.output
    assert "database ready" in initialised.output

    listed = cli("plugins", "list", plugins=loose_plugin)
    [line] = [row for row in listed.output.splitlines() if row.startswith("loose")]
    assert line.endswith("no migration for loose_thing")
    as_json = cli("plugins", "list", "--json", plugins=loose_plugin)
    assert '"tables_without_migration": ["loose_thing"]' in as_json.output
    assert '"tables_without_migration": []' in as_json.output  # orders is whole


def test_health_is_503_while_a_plugin_has_tables_no_migration_created(
        fresh_database, cli_for, loose_plugin):
    cli_for(fresh_database)("init", plugins=loose_plugin)
    app = create_app({"DATABASE_URL": fresh_database, "TESTING": True,
                      "PLUGINS": loose_plugin.split(",")})
    try:
        response = app.test_client().get("/health")
    finally:
        with app.app_context():
            db.engine.dispose()
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "tables_without_migration"
    assert body["tables_without_migration"] == {"loose": ["loose_thing"]}


# --- db check, db revision --------------------------------------------------------------


def test_db_check_on_a_branch_behind_its_head_says_so_in_one_line(fresh_database, cli_for):
    cli = cli_for(fresh_database)
    assert cli("db", "upgrade", "--target", "core@head", plugins="orders").exit_code == 0
    checked = cli("db", "check", plugins="orders")
    script = ScriptDirectory.from_config(alembic_config(load_plugins({"orders"}), fresh_database))
    head = script.get_revision("orders@head").revision
    assert checked.exit_code == 1
    assert checked.output.splitlines() == [
        f"not at head: orders (at base, head {head}). Fix: erpkit db upgrade, "
        "then check again"]


def test_db_revision_refuses_to_write_into_site_packages(migrated_database):
    # alembic itself lies in site-packages: a plugin whose revisions are there is one
    # installed from a wheel.
    shipped = make_plugin("shipped", migrations="alembic:templates/generic")
    registry = load_plugins(extra=[shipped])
    with pytest.raises(MigrationRefused) as refused:
        revision(registry, migrated_database, "shipped", "more columns")
    message = str(refused.value)
    assert "shipped's migrations are in site-packages" in message
    assert "Fix: pip install -e" in message


# --- db downgrade and the plugin's stored settings --------------------------------------


def stored(url: str, prefix: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(ParameterValue.name, ParameterValue.value)
                                      .where(ParameterValue.name.startswith(prefix)))
            return {name: value for name, value in rows}
    finally:
        engine.dispose()


def test_db_downgrade_lists_the_stored_settings_and_keeps_them_when_told_no(
        fresh_database, cli_for):
    cli = cli_for(fresh_database)
    assert cli("init", plugins=WITH_INVENTORY).exit_code == 0
    assert cli("settings", "set", "inventory.preferred_warehouse", "MAIN",
               plugins=WITH_INVENTORY).exit_code == 0

    result = cli("db", "downgrade", "inventory", input="y\nn\n", plugins=WITH_INVENTORY)
    assert result.exit_code == 0, result.output
    assert "'inventory' has these stored settings:" in result.output
    assert '  inventory.preferred_warehouse = "MAIN"' in result.output
    assert "Delete them too? [y/N]" in result.output
    assert "kept 1 stored settings" in result.output
    assert stored(fresh_database, "inventory.") == {"inventory.preferred_warehouse": "MAIN"}


def test_db_downgrade_with_yes_deletes_the_stored_settings_and_audits_it(fresh_database,
                                                                        cli_for):
    cli = cli_for(fresh_database)
    assert cli("init", plugins=WITH_INVENTORY).exit_code == 0
    cli("settings", "set", "inventory.preferred_warehouse", "MAIN", plugins=WITH_INVENTORY)
    cli("settings", "set", "orders.default_lead_days", "5", plugins=WITH_INVENTORY)

    result = cli("db", "downgrade", "inventory", "--yes", plugins=WITH_INVENTORY)
    assert result.exit_code == 0, result.output
    assert "deleted 1 stored settings" in result.output
    assert stored(fresh_database, "inventory.") == {}
    assert stored(fresh_database, "orders.") == {"orders.default_lead_days": 5}
    engine = create_engine(fresh_database)
    with engine.connect() as connection:
        actions = connection.execute(sa.select(AuditEntry.entity_id, AuditEntry.action)
                                     .where(AuditEntry.action == "delete")).all()
    engine.dispose()
    assert [tuple(a) for a in actions] == [("inventory.preferred_warehouse", "delete")]


def test_db_downgrade_keep_settings_keeps_them_without_asking(fresh_database, cli_for):
    cli = cli_for(fresh_database)
    assert cli("init", plugins=WITH_INVENTORY).exit_code == 0
    cli("settings", "set", "inventory.preferred_warehouse", "MAIN", plugins=WITH_INVENTORY)
    result = cli("db", "downgrade", "inventory", "--yes", "--keep-settings",
                 plugins=WITH_INVENTORY)
    assert result.exit_code == 0, result.output
    assert "kept 1 stored settings" in result.output
    assert stored(fresh_database, "inventory.") == {"inventory.preferred_warehouse": "MAIN"}
