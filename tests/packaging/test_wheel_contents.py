"""Every file a distribution needs at run time travels in its wheel: a template, asset or
migration added under a package folder and not declared as package data fails here."""

from __future__ import annotations

import pytest

from .wheel_installs import DISTRIBUTIONS, files_to_ship, wheel_files

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_the_wheel_ships_every_module_template_asset_and_migration_of_the_source(name, wheels):
    wanted = files_to_ship(DISTRIBUTIONS[name])
    shipped = wheel_files(wheels[name])
    assert wanted, f"{name}: no package files found in the source tree"
    assert sorted(wanted - shipped) == []


def test_the_core_wheel_carries_the_console_templates_and_the_migration_template(wheels):
    shipped = wheel_files(wheels["erpkit"])
    assert "erpkit/admin/templates/erpkit/login.html" in shipped
    assert "erpkit/admin/templates/erpkit/console_base.html" in shipped
    assert "erpkit/migrations/script.py.mako" in shipped
    assert "erpkit/migrations/versions/core_0001_core_tables.py" in shipped


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_a_wheel_ships_only_its_own_package(name, wheels):
    dist = DISTRIBUTIONS[name]
    top_levels = {path.split("/", 1)[0] for path in wheel_files(wheels[name])}
    assert top_levels == {inside.split("/", 1)[0] for _, inside in dist.packages}
    assert not any("/tests/" in f"/{path}" for path in wheel_files(wheels[name]))
