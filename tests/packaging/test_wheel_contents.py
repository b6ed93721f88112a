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


#: A few files per module that the app cannot run without, named so that a glob which
#: stops matching (or a folder moved out of the package) is caught by name.
LANDMARKS = {
    "erpkit-crm": ["erpkit_crm/py.typed", "erpkit_crm/templates/erpkit_crm/customer.html",
                   "erpkit_crm/templates/erpkit_crm/customers.html",
                   "erpkit_crm/migrations/crm_0001_crm_tables.py"],
    "erpkit-logistics": ["erpkit_logistics/py.typed",
                         "erpkit_logistics/templates/logistics/tracking.html",
                         "erpkit_logistics/templates/logistics/run_sheet.html",
                         "erpkit_logistics/migrations/logistics_0001_logistics_tables.py"],
    # Chart.js is vendored, never fetched: the script and its MIT licence travel together.
    "erpkit-reporting": ["erpkit_reporting/py.typed",
                         "erpkit_reporting/static/vendor/chart.umd.min.js",
                         "erpkit_reporting/static/vendor/LICENSE.md",
                         "erpkit_reporting/templates/reporting/dashboard.html",
                         "erpkit_reporting/migrations/reporting_0001_reporting_tables.py"],
}


@pytest.mark.parametrize("name", sorted(LANDMARKS))
def test_the_module_wheels_carry_their_templates_assets_and_migrations(name, wheels):
    assert sorted(set(LANDMARKS[name]) - wheel_files(wheels[name])) == []
