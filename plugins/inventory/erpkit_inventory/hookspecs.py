"""Hooks the inventory module offers to other plugins.

Implement them like the core's hooks (``@erpkit.hookimpl``); they are added to the plugin
manager because :data:`erpkit_inventory.plugin.PLUGIN` names this module in
``hookspecs``. A plugin that implements them should declare ``requires=("inventory",)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erpkit.hookspecs import hookspec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import date
    from decimal import Decimal

    from sqlalchemy.orm import Session

# ---------------------------------------------------------------------------------------
# Stock: what happens to a product's availability.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_inventory_low_stock(
    product: Any, warehouse: Any, available: Decimal, reorder_point: Decimal, session: Session
) -> None:
    """Available stock of ``product`` just fell below a reorder point.

    Fired once per crossing (not on every later change while it stays below), in the
    transaction of the change that caused it: a reservation on confirmation, a shipment,
    an adjustment or a transfer. ``warehouse`` is the :class:`~erpkit_inventory.models.Warehouse`
    of a warehouse rule, or ``None`` for a product rule over all open warehouses;
    ``available`` is the stock left after the change (:class:`~decimal.Decimal`),
    ``reorder_point`` the rule's. The crossing is also listed as an open alert
    (``GET /api/inventory/alerts``) until stock rises to the reorder point again.

    Do not commit. Send mail or call a supplier's system through
    ``erpkit.transitions.after_commit(session, callback)``, so nothing goes out when the
    change rolls back. Raising rolls back the change that caused the crossing.

    Return value ignored. Since inventory 0.1.
    """


# ---------------------------------------------------------------------------------------
# Stock on its way: what other plugins expect to arrive.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_inventory_expected_receipts(
    product_ids: list[int], session: Session
) -> Mapping[int, Iterable[tuple[date, Decimal]]]:
    """Stock expected to arrive for these products: ``{product id: [(date, quantity)]}``.

    Called when availability is read (the ``expected`` figure) and when a backordered
    order line is promised: the line is promised from the first expected receipt that
    covers it (after the backorders before it), instead of the supplier's lead time.
    Give only what is still to arrive (ordered less received), open warehouses only;
    leave out products you know nothing about. The answers of every implementation are
    added together. Read only: do not write or commit.

    Since inventory 0.2 (the purchasing module implements it with its open purchase
    order lines).
    """
