"""Plugin discovery refuses a set of plugins that cannot work together, and says how to
fix it; the order in which hooks run never depends on the order of installation."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from erpkit.plugins import PluginError, enabled_from_config, load_plugins, setup_items
from erpkit.testing import make_plugin


class OwnBase(DeclarativeBase):
    """Models of throwaway plugins live here, off the shared metadata."""


class Misnamed(OwnBase):
    __tablename__ = "things"  # not prefixed "alpha_"

    id: Mapped[int] = mapped_column(primary_key=True)


def refusal(enabled: set[str] | None, *plugins: Any) -> str:
    with pytest.raises(PluginError) as refused:
        load_plugins(enabled, extra=list(plugins))
    return str(refused.value)


# --- refusals -------------------------------------------------------------------------


def test_a_required_plugin_that_is_not_installed_is_named_with_the_fix():
    message = refusal({"alpha"}, make_plugin("alpha", requires=("ghost",)))
    assert "'alpha' requires plugin 'ghost', which is not installed" in message
    assert "Fix: pip install erpkit-ghost" in message


def test_a_required_plugin_that_is_disabled_is_named_with_the_fix():
    message = refusal({"alpha"}, make_plugin("alpha", requires=("beta",)), make_plugin("beta"))
    assert "'alpha' requires plugin 'beta', which is disabled" in message
    assert "Fix: add 'beta' to ERPKIT_PLUGINS" in message


def test_a_dependency_cycle_is_refused_and_its_members_named():
    message = refusal(
        {"alpha", "beta", "gamma"},
        make_plugin("alpha", requires=("beta",)),
        make_plugin("beta", requires=("gamma",)),
        make_plugin("gamma", requires=("alpha",)),
    )
    assert "cycle" in message
    assert all(name in message for name in ("alpha", "beta", "gamma"))
    assert "Fix: remove one of these requirements" in message


def test_two_in_process_plugins_sharing_a_name_are_refused():
    message = refusal({"alpha"}, make_plugin("alpha"), make_plugin("alpha"))
    assert "two plugins share the name 'alpha'" in message
    assert "Fix: rename one of them" in message


def test_two_installed_distributions_providing_one_plugin_are_refused(distributions):
    for dist in ("erpkit-widgets-a", "erpkit-widgets-b"):
        module = dist.replace("-", "_")
        distributions.add(dist, {"twin": module}, {
            f"{module}.py": "from erpkit import PluginMeta\nPLUGIN = PluginMeta(name='twin')\n"
        })
    message = refusal({"twin"})
    assert "two installed distributions provide the plugin 'twin'" in message
    assert "erpkit-widgets-a" in message and "erpkit-widgets-b" in message
    assert "Fix: pip uninstall one of them" in message


def test_a_plugin_that_fails_to_import_is_named_with_its_error_and_the_fix(distributions):
    distributions.add("erpkit-broken", {"broken": "erpkit_broken"}, {
        "erpkit_broken.py": "import erpkit_no_such_dependency\n",
    })
    message = refusal(None)
    assert "plugin 'broken' (distribution erpkit-broken) failed to import" in message
    assert "No module named 'erpkit_no_such_dependency'" in message
    assert "Fix: reinstall erpkit-broken" in message


def test_a_plugin_that_fails_to_import_does_not_matter_when_it_is_disabled(distributions):
    distributions.add("erpkit-broken", {"broken": "erpkit_broken"}, {
        "erpkit_broken.py": "raise RuntimeError('boom')\n",
    })
    registry = load_plugins({"alpha"}, extra=[make_plugin("alpha")])
    assert list(registry.plugins) == ["alpha"]
    assert registry.installed["broken"].enabled is False


def test_an_entry_point_without_a_plugin_declaration_is_refused(distributions):
    distributions.add("erpkit-bare", {"bare": "erpkit_bare"}, {"erpkit_bare.py": "X = 1\n"})
    message = refusal({"bare"})
    assert "plugin 'bare' has no PLUGIN = erpkit.PluginMeta(...)" in message


def test_an_entry_point_name_that_differs_from_the_declared_name_is_refused(distributions):
    distributions.add("erpkit-odd", {"odd": "erpkit_odd"}, {
        "erpkit_odd.py": "from erpkit import PluginMeta\nPLUGIN = PluginMeta(name='even')\n",
    })
    message = refusal({"odd"})
    assert "'odd' declares the name 'even'" in message
    assert "Fix: make the entry point name" in message


def test_an_implementation_whose_name_matches_no_spec_is_refused():
    typo = make_plugin("alpha", erpkit_order_confirmd=lambda order, transition: None)
    message = refusal({"alpha"}, typo)
    assert "unknown hook 'erpkit_order_confirmd'" in message
    assert "Fix: rename the function to a hook in erpkit.hookspecs" in message


def test_an_implementation_with_an_argument_the_spec_lacks_is_refused():
    extra_arg = make_plugin("alpha", erpkit_order_created=lambda order, transition, colour: None)
    message = refusal({"alpha"}, extra_arg)
    assert "'alpha' has an invalid hook implementation" in message
    assert "colour" in message
    assert "Fix: match the arguments of the spec" in message


def test_a_plugin_for_another_core_version_is_refused():
    message = refusal({"alpha"}, make_plugin("alpha", core=">=99"))
    assert "'alpha' 0 supports erpkit core >=99, but core 0.1.0 is installed" in message
    assert "Fix: install a version of alpha made for core 0.1.0" in message


def test_a_table_without_the_plugin_prefix_is_refused():
    message = refusal({"alpha"}, make_plugin("alpha", erpkit_models=lambda: [Misnamed]))
    assert "plugin 'alpha' defines table 'things'" in message
    assert "Fix: prefix its tables with 'alpha_'" in message


def test_a_plugin_named_in_erpkit_plugins_but_not_installed_is_refused(monkeypatch):
    monkeypatch.setenv("ERPKIT_PLUGINS", "alpha, ghost")
    message = refusal(enabled_from_config(), make_plugin("alpha"))
    assert "ERPKIT_PLUGINS names plugins that are not installed: ghost" in message
    assert "Fix: pip install them or remove them from ERPKIT_PLUGINS" in message


# --- the app and the CLI refuse to start ------------------------------------------------


def test_the_app_refuses_to_start_when_a_plugin_requires_a_missing_one(make_app):
    with pytest.raises(PluginError, match="requires plugin 'ghost', which is not installed"):
        make_app(EXTRA_PLUGINS=[make_plugin("alpha", requires=("ghost",))])


def test_the_cli_refuses_to_start_and_names_a_disabled_dependency(sample_plugins, cli_for,
                                                                  database_url):
    result = cli_for(database_url)("plugins", "list", plugins="gadgets")
    assert result.exit_code == 2
    assert "erpkit cannot start" in result.output
    assert "'gadgets' requires plugin 'widgets', which is disabled" in result.output
    assert "Traceback" not in result.output


def _installed_plugins_with_requirements() -> list[tuple[str, str]]:
    try:
        registry = load_plugins(enabled_from_config())
    except PluginError:  # reported by the tests that load plugins
        return []
    return [(p.name, p.meta.requires[0]) for p in registry.plugins.values() if p.meta.requires]


@pytest.mark.parametrize(("plugin", "required"), _installed_plugins_with_requirements())
def test_an_installed_plugin_without_its_dependency_stops_the_app_and_the_cli(
    plugin, required, cli_for, database_url, make_app
):
    others = {name for name, _ in _installed_plugins_with_requirements()} - {plugin}
    enabled = ",".join(sorted(({plugin} | others) - {required}))
    result = cli_for(database_url)("plugins", "list", plugins=enabled)
    assert result.exit_code == 2
    assert f"requires plugin '{required}', which is disabled" in result.output
    with pytest.raises(PluginError, match=f"requires plugin '{required}'"):
        make_app(PLUGINS=enabled)


# --- order of hooks ---------------------------------------------------------------------


def _recording_plugins(calls: list[str]) -> list[Any]:
    def recorder(name: str) -> Any:
        return lambda order, transition: calls.append(name)

    return [
        make_plugin("zeta", erpkit_order_created=recorder("zeta")),
        make_plugin("alpha", requires=("zeta",), erpkit_order_created=recorder("alpha")),
        make_plugin("beta", erpkit_order_created=recorder("beta")),
        make_plugin("omega", requires=("alpha",), erpkit_order_created=recorder("omega")),
    ]


def test_hooks_run_in_dependency_order_then_name_order_whatever_the_registration_order():
    seen = set()
    for permutation in itertools.permutations(range(4)):
        calls: list[str] = []
        plugins = _recording_plugins(calls)
        registry = load_plugins({"zeta", "alpha", "beta", "omega"},
                                extra=[plugins[i] for i in permutation])
        registry.hook.erpkit_order_created(order=object(), transition=object())
        assert list(registry.plugins) == ["beta", "zeta", "alpha", "omega"]
        seen.add(tuple(calls))
    assert seen == {("beta", "zeta", "alpha", "omega")}


def test_installed_plugins_load_in_name_order_whatever_the_install_order(distributions):
    distributions.add("erpkit-test-log", {}, {"erpkit_test_log.py": "CALLS = []\n"})
    # Written (installed) in reverse name order: discovery still orders them by name.
    for name in ("charlie", "bravo", "alpha"):
        distributions.add(f"erpkit-{name}", {name: f"erpkit_{name}"}, {f"erpkit_{name}.py": f"""
            from erpkit import PluginMeta, hookimpl
            from erpkit_test_log import CALLS

            PLUGIN = PluginMeta(name={name!r})

            @hookimpl
            def erpkit_order_created(order):
                CALLS.append({name!r})
        """})
    registry = load_plugins({"alpha", "bravo", "charlie"})
    registry.hook.erpkit_order_created(order=object(), transition=object())
    from erpkit_test_log import CALLS

    assert list(registry.plugins) == ["alpha", "bravo", "charlie"]
    assert CALLS == ["alpha", "bravo", "charlie"]


def test_set_up_hooks_are_collected_in_the_same_order_as_lifecycle_hooks(app: Flask):
    registry = app.extensions["erpkit"]
    owners = [owner for owner, _ in setup_items(registry, "erpkit_parameters")]
    expected = ["core", *(name for name in registry.plugins if name in owners)]
    assert list(dict.fromkeys(owners)) == expected


def test_an_implementation_may_accept_fewer_arguments_than_its_spec():
    calls = []
    registry = load_plugins({"alpha"}, extra=[
        make_plugin("alpha", erpkit_order_created=lambda order: calls.append(order))])
    registry.hook.erpkit_order_created(order="o-1", transition=object())
    assert calls == ["o-1"]


def test_enabled_plugins_come_from_config_before_the_environment(monkeypatch):
    monkeypatch.setenv("ERPKIT_PLUGINS", "orders, approvals")
    assert enabled_from_config() == {"orders", "approvals"}
    assert enabled_from_config({"PLUGINS": ["inventory"]}) == {"inventory"}
    monkeypatch.delenv("ERPKIT_PLUGINS")
    assert enabled_from_config() is None


def test_a_dependency_runs_before_its_dependent_in_the_app(make_app):
    calls: list[str] = []
    app = make_app(**{
        "EXTRA_PLUGINS": [
            make_plugin("yankee", requires=("xray",),
                        erpkit_order_created=lambda order: calls.append("yankee")),
            make_plugin("xray", erpkit_order_created=lambda order: calls.append("xray")),
        ],
    })
    app.extensions["erpkit"].hook.erpkit_order_created(order=None, transition=None)
    assert calls == ["xray", "yankee"]


def test_help_lists_every_plugins_commands_without_building_the_app(monkeypatch):
    """`erpkit --help` needs the plugins, not a database or the job service."""
    from click.testing import CliRunner

    from erpkit.cli import main

    # Nothing listens on port 1: building the app against it would be refused or hang.
    monkeypatch.setenv("ERPKIT_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("ERPKIT_PLUGINS", "orders")
    state: dict = {}
    result = CliRunner().invoke(main, ["--help"], obj=state)
    assert result.exit_code == 0, result.output
    assert "orders " in result.output and "products " in result.output
    assert "app" not in state
