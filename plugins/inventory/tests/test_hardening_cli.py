"""``erpkit inventory figures`` is bounded like ``GET /api/inventory/figures``: a period
longer than ``core.max_report_days`` is refused at once, naming the option."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("period,option", [
    (("--from", "0001-01-01", "--to", "9999-12-30"), "--from"),
    (("--from", "2020-01-01", "--to", "2023-01-01"), "--to"),
    (("--from", "2020-01-01",), "--from"),
])
def test_a_figures_period_the_parameter_does_not_allow_is_refused_naming_the_option(
        cli, shop, period, option):
    shop.receive("W-1", "MAIN", 5)

    printed = cli("inventory", "figures", *period)

    assert printed.exit_code == 1, printed.output
    assert f"refused: {option}: " in printed.output


def test_a_period_ending_before_it_starts_is_refused(cli, shop):
    printed = cli("inventory", "figures", "--from", "2024-02-01", "--to", "2024-01-01")

    assert printed.exit_code == 1
    assert "refused: --to: the period ends before it starts" in printed.output


def test_the_longest_period_the_parameter_allows_is_answered(cli, shop):
    shop.receive("W-1", "MAIN", 5)
    shop.set("core.max_report_days", 40)

    printed = cli("inventory", "figures", "--from", "2024-01-01", "--to", "2024-02-09")

    assert printed.exit_code == 0, printed.output
    assert printed.output.splitlines()[0] == "2024-01-01 to 2024-02-09"
