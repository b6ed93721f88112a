"""The reports and filters the enabled plugins offer, read from the plugin manager."""

from __future__ import annotations

from typing import Any

from erpkit_reporting.catalogue import BUILTIN_FILTERS, Filter, Report, collect


def reports_of(registry: Any) -> dict[str, Report]:
    """Every report of every enabled plugin (hook ``erpkit_reporting_reports``), by name."""
    from erpkit_reporting.sections import reports as module_reports

    enabled = {name for name, plugin in registry.plugins.items()
               if getattr(plugin, "enabled", True)}
    found = collect([module_reports(enabled), *registry.pm.hook.erpkit_reporting_reports()])
    return dict(sorted(found.items()))


def filters_of(registry: Any) -> dict[str, Filter]:
    """The built-in filters plus those plugins provide (hook ``erpkit_reporting_filters``)."""
    found = dict(BUILTIN_FILTERS)
    for group in registry.pm.hook.erpkit_reporting_filters():
        for item in group or ():
            found[item.name] = item
    return found


def abc_defaults(registry: Any, session: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """products-abc: the thresholds from the parameters unless given."""
    out = dict(raw)
    for option, parameter in (("a", "reporting.abc_a"), ("b", "reporting.abc_b")):
        if not out.get(option):
            out[option] = str(registry.parameters.get(session, parameter))
    return out
