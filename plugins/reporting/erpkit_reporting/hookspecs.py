"""Hooks the reporting module offers to other plugins.

Implement them like the core's hooks (``@erpkit.hookimpl``); a plugin that does should
declare ``requires=("reporting",)`` (or check that reporting is enabled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from erpkit.hookspecs import hookspec

if TYPE_CHECKING:
    from collections.abc import Iterable

    from erpkit_reporting.catalogue import Filter, Report

# ---------------------------------------------------------------------------------------
# Reports: what other modules add to the catalogue.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_reporting_reports() -> Iterable[Report]:
    """Return the reports this plugin adds (inventory's turnover, crm's RFM segments).

    Called when the app or CLI is built. Each is a :class:`erpkit_reporting.catalogue.Report`
    whose ``run(session, params)`` reads (never writes) and returns a
    :class:`~erpkit_reporting.catalogue.Result`; money as :class:`~decimal.Decimal`. It is
    listed by ``GET /api/reports``, run by ``erpkit report NAME`` and the console, and can
    be scheduled. A report named like a built-in one replaces it.

    Return value: an iterable of reports. Since reporting 0.1.
    """


@hookspec
def erpkit_reporting_filters() -> Iterable[Filter]:
    """Return filters on customers this plugin provides (crm: ``customer_group``).

    Each :class:`erpkit_reporting.catalogue.Filter` has a ``customers(session, value)``
    function giving the ids of the customers the value selects. Reports that list the
    filter's name in ``filters`` accept it (``sales-by-customer``,
    ``customers-new-returning``); without a plugin providing it the parameter is refused
    with a message saying so.

    Return value: an iterable of filters. Since reporting 0.1.
    """
