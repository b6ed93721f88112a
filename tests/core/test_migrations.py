"""Migrations: one labelled Alembic branch per distribution.

Every branch (the core's and every installed plugin's) upgrades, downgrades and upgrades
again; the models match the migrations; ``erpkit db downgrade`` refuses while a dependent
plugin is installed, says which tables it drops and leaves no stale version row; a new
revision for one plugin never picks up another plugin's tables. The sample plugins
``widgets`` and ``gadgets`` (requires widgets) make the dependent cases testable whatever
else is installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from erpkit.db import create_engine
from erpkit.migrate import (
    MigrationRefused,
    alembic_config,
    downgrade_plugin,
    is_up_to_date,
    status,
    upgrade,
    version_locations,
)
from erpkit.plugins import PluginError, load_plugins

from .helpers import Distributions, table_names, version_rows


def states(url: str, enabled: set[str] | None = None) -> dict[str, tuple[str | None, str | None]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {s.branch: (s.current, s.head)
                    for s in status(load_plugins(enabled), connection, url)}
    finally:
        engine.dispose()


def up_to_date(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return is_up_to_date(load_plugins(), connection, url)
    finally:
        engine.dispose()


def tables_of(branch: str, url: str) -> set[str]:
    return {t for t in table_names(url) if t.startswith(f"{branch}_")}


def revisions_of(branch: str) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(load_plugins(), "sqlite://"))
    return {r.revision for r in script.walk_revisions() if branch in r.branch_labels}


def _installed_branches() -> list[str]:
    try:
        return list(version_locations(load_plugins()))
    except PluginError:  # reported by the tests that load plugins
        return ["core"]


def _dependents_closure(plugin: str) -> list[str]:
    """``plugin`` and every plugin that needs it, dependents first."""
    registry = load_plugins()
    needed = {plugin}
    for name in registry.plugins:  # dependency order: requirements come first
        if set(registry.plugins[name].meta.requires) & needed:
            needed.add(name)
    return [name for name in reversed(registry.plugins) if name in needed]


# --- every installed branch -------------------------------------------------------------


def test_upgrade_brings_every_branch_to_head(database_url, cli_for):
    found = states(database_url)
    assert set(found) == set(_installed_branches())
    assert all(current == head for current, head in found.values()), found

    result = cli_for(database_url)("db", "status")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["branch", "current", "head", "state"]
    for branch, (current, head) in found.items():
        assert any(line.split()[:3] == [branch, current or "-", head or "-"]
                   and line.endswith("up to date") for line in lines), (branch, result.output)


def test_models_match_migrations_on_a_freshly_migrated_database(database_url, cli_for):
    command.check(alembic_config(load_plugins(), database_url))
    result = cli_for(database_url)("db", "check")
    assert result.exit_code == 0, result.output
    assert "models match migrations" in result.output


def test_the_core_branch_downgrades_to_base_and_upgrades_again(migrated_database):
    registry = load_plugins()
    command.downgrade(alembic_config(registry, migrated_database), "core@base")
    assert table_names(migrated_database) <= {"alembic_version"}
    assert version_rows(migrated_database) == set()

    upgrade(registry, migrated_database)
    assert up_to_date(migrated_database)
    command.check(alembic_config(registry, migrated_database))


@pytest.mark.parametrize("plugin", [b for b in _installed_branches() if b != "core"])
def test_a_plugin_branch_downgrades_and_upgrades_again(plugin, migrated_database, cli_for):
    cli = cli_for(migrated_database)
    everything = set(load_plugins().plugins)
    before = table_names(migrated_database)
    assert tables_of(plugin, migrated_database)
    removed: list[str] = []
    registry = load_plugins()
    for name in _dependents_closure(plugin):  # dependents first, as the CLI insists
        if not registry.plugins[name].meta.migrations:  # no tables (embargo): just disable it
            removed.append(name)
            continue
        enabled = ",".join(sorted(everything - set(removed)))
        result = cli("db", "downgrade", name, "--yes", plugins=enabled)
        assert result.exit_code == 0, result.output
        for table in tables_of(name, migrated_database):
            assert f"  {table}\n" in result.output  # it said what it would drop
        removed.append(name)

    for name in removed:
        assert tables_of(name, migrated_database) == set()
        assert version_rows(migrated_database).isdisjoint(revisions_of(name))  # no stale row
    kept = {t for t in before if not any(t.startswith(f"{n}_") for n in removed)}
    assert kept <= table_names(migrated_database)  # the other branches are untouched

    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert table_names(migrated_database) == before
    assert up_to_date(migrated_database)
    assert cli("db", "check").exit_code == 0


# --- downgrading a plugin, with the sample plugins --------------------------------------


@pytest.fixture(scope="module")
def shared_samples_db(sample_plugins_root, new_database):
    """A database with the core, every installed plugin, widgets and gadgets at head, for
    the tests that leave it as it was."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(sample_plugins_root))
        patch.delenv("ERPKIT_PLUGINS", raising=False)
        url = new_database("samples")
        upgrade(load_plugins(), url)
    return url


@pytest.fixture
def samples_db(sample_plugins, shared_samples_db):
    return shared_samples_db


@pytest.fixture
def own_samples_db(sample_plugins, new_database):
    """Like ``samples_db``, for a test that changes it."""
    url = new_database("samples")
    upgrade(load_plugins(), url)
    return url


def test_sample_plugins_are_migrated_and_match_their_models(samples_db, cli_for):
    assert {"widgets_widget", "gadgets_gadget"} <= table_names(samples_db)
    assert states(samples_db)["gadgets"] == ("gadgets_0001", "gadgets_0001")
    assert cli_for(samples_db)("db", "check").exit_code == 0


def test_downgrade_refuses_while_a_dependent_plugin_is_installed(samples_db, cli_for):
    result = cli_for(samples_db)("db", "downgrade", "widgets", "--yes")
    assert result.exit_code == 1
    assert "refused: plugin 'widgets' is required by gadgets; downgrade gadgets first" in (
        result.output)
    assert "widgets_widget" in table_names(samples_db)
    with pytest.raises(MigrationRefused, match="required by gadgets"):
        downgrade_plugin(load_plugins(), samples_db, "widgets")


def test_downgrade_prints_the_tables_it_drops_and_changes_nothing_unless_confirmed(
    samples_db, cli_for
):
    result = cli_for(samples_db)("db", "downgrade", "gadgets", input="n\n")
    assert result.exit_code == 1
    assert "downgrading 'gadgets' drops these tables and every row in them:" in result.output
    assert "  gadgets_gadget\n" in result.output
    assert "nothing changed" in result.output
    assert "gadgets_gadget" in table_names(samples_db)


def test_downgrade_drops_the_plugin_tables_and_its_version_row(own_samples_db, cli_for):
    cli = cli_for(own_samples_db)
    result = cli("db", "downgrade", "gadgets", input="y\n")
    assert result.exit_code == 0, result.output
    assert "gadgets downgraded to base" in result.output
    assert "gadgets_gadget" not in table_names(own_samples_db)
    assert "widgets_widget" in table_names(own_samples_db)
    assert "gadgets_0001" not in version_rows(own_samples_db)
    assert "widgets_0001" in version_rows(own_samples_db)  # the leaf of its branch again

    status_output = cli("db", "status").output
    assert any(line.split() == ["gadgets", "-", "gadgets_0001", "pending"]
               for line in status_output.splitlines()), status_output

    # then widgets, once gadgets is out of the enabled plugins
    result = cli("db", "downgrade", "widgets", "--yes", plugins=_all_but("gadgets"))
    assert result.exit_code == 0, result.output
    assert version_rows(own_samples_db).isdisjoint({"widgets_0001", "gadgets_0001"})
    assert cli("db", "upgrade").exit_code == 0
    assert {"widgets_widget", "gadgets_gadget"} <= table_names(own_samples_db)
    assert up_to_date(own_samples_db)


def _all_but(*names: str) -> str:
    return ",".join(sorted(set(load_plugins().installed) - set(names)))


def test_a_disabled_plugin_with_applied_revisions_does_not_break_the_others(samples_db,
                                                                             cli_for):
    cli = cli_for(samples_db)
    enabled = _all_but("gadgets")
    result = cli("db", "status", plugins=enabled)
    assert result.exit_code == 0, result.output
    assert cli("db", "check", plugins=enabled).exit_code == 0
    assert cli("db", "upgrade", plugins=enabled).exit_code == 0
    assert "gadgets_0001" in version_rows(samples_db)  # left alone while disabled
    listed = cli("plugins", "list", plugins=enabled)
    assert listed.exit_code == 0, listed.output
    assert any(line.startswith("gadgets ") and " no " in line and line.endswith("up to date")
               for line in listed.output.splitlines()), listed.output


def test_downgrade_refuses_the_core_and_unknown_plugins(samples_db, cli_for):
    cli = cli_for(samples_db)
    core = cli("db", "downgrade", "core", "--yes")
    assert core.exit_code == 1
    assert "the core cannot be uninstalled" in core.output
    unknown = cli("db", "downgrade", "nothing", "--yes")
    assert unknown.exit_code == 1
    assert "no installed plugin named 'nothing' has migrations" in unknown.output


# --- generating revisions ---------------------------------------------------------------

SPROCKETS = '''
    import sqlalchemy as sa
    from sqlalchemy.orm import Mapped, mapped_column

    from erpkit import PluginMeta, hookimpl
    from erpkit.db import Base

    PLUGIN = PluginMeta(name="{name}", migrations="erpkit_test_{name}:migrations")


    class {cls}(Base):
        __tablename__ = "{name}_{table}"

        id: Mapped[int] = mapped_column(primary_key=True)
        label: Mapped[str] = mapped_column(sa.String(40))


    @hookimpl
    def erpkit_models():
        return [{cls}]
'''


@pytest.fixture(scope="session")
def new_plugins_root(tmp_path_factory) -> Path:
    """Two plugins with models but no revisions yet, as a plugin author starts out."""
    root = tmp_path_factory.mktemp("new-plugins")
    dists = Distributions(root)
    for name, cls, table in (("sprockets", "Sprocket", "sprocket"), ("cogs", "Cog", "cog")):
        dists.add(f"erpkit-test-{name}", {name: f"erpkit_test_{name}"}, {
            f"erpkit_test_{name}/__init__.py": SPROCKETS.format(name=name, cls=cls, table=table),
            f"erpkit_test_{name}/migrations/README": "revisions of this plugin\n",
        })
    return root


def test_a_revision_for_one_plugin_contains_only_its_own_tables(
    sample_plugins, new_plugins_root, monkeypatch, new_database, cli_for
):
    monkeypatch.syspath_prepend(str(new_plugins_root))
    url = new_database("revisions")
    cli = cli_for(url)
    assert cli("db", "upgrade").exit_code == 0  # branches without revisions are skipped
    engine = create_engine(url)
    with engine.begin() as connection:  # a table left behind by a plugin uninstalled long ago
        connection.execute(sa.text("CREATE TABLE retired_thing (id INTEGER PRIMARY KEY)"))
    engine.dispose()

    written = {}
    for plugin in ("sprockets", "cogs"):
        result = cli("db", "revision", plugin, "-m", f"{plugin} tables")
        assert result.exit_code == 0, result.output
        path = Path(result.output.split("wrote ", 1)[1].strip())
        assert path.parent == new_plugins_root / f"erpkit_test_{plugin}" / "migrations"
        written[plugin] = path.read_text()
        # Alembic generates only against a database at every head: apply it first.
        assert cli("db", "upgrade").exit_code == 0

    assert "op.create_table('sprockets_sprocket'" in written["sprockets"]
    assert "op.create_table('cogs_cog'" in written["cogs"]
    for plugin, script in written.items():
        for other in ("cogs_cog", "sprockets_sprocket", "widgets_widget", "gadgets_gadget",
                      "core_user", "orders_order", "retired_thing"):
            if not other.startswith(plugin):
                assert other not in script, (plugin, other)
        assert f"branch_labels: str | Sequence[str] | None = ('{plugin}',)" in script
        assert "depends_on: str | Sequence[str] | None = 'core_0008'" in script

    assert {"sprockets_sprocket", "cogs_cog"} <= table_names(url)
    check = cli("db", "check")
    assert check.exit_code == 0, check.output  # and the retired table is none of its business
    downgrade = cli("db", "downgrade", "cogs", "--yes")
    assert downgrade.exit_code == 0, downgrade.output
    assert "cogs_cog" not in table_names(url)
