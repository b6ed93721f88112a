"""Hooks the orders module offers to other plugins.

Implement them like the core's hooks (``@erpkit.hookimpl``); they are added to the plugin
manager because :data:`erpkit_orders.plugin.PLUGIN` names this module in ``hookspecs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erpkit.hookspecs import hookspec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# ---------------------------------------------------------------------------------------
# The console's new-order form.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_orders_customer_panel(customer: Any, session: Session) -> Any:
    """Show something about ``customer`` on the new-order form, as soon as it is chosen.

    Called when the person taking the order picks a customer (the form fetches the
    panels again) and when the form is shown again with one chosen, in that request's
    session; do not write. ``customer`` is a :class:`~erpkit_orders.models.Customer`.

    Return value: an HTML fragment (a :class:`markupsafe.Markup`, escaped by you: render a
    template), or ``None`` for nothing. The fragments of every plugin are shown one
    after the other, in plugin order. Since orders 0.1.
    """


# ---------------------------------------------------------------------------------------
# Orders written without the lifecycle: a company's history.
# ---------------------------------------------------------------------------------------


@hookspec
def erpkit_orders_history_imported(session: Session, order_ids: list[int]) -> None:
    """Orders were imported as history: the one moment a plugin hears of them.

    Historical orders do not go through the lifecycle's door, so none of the lifecycle
    hooks fire for them (no validation, stock, approval or notification: they already
    happened). Plugins that keep figures of every order (reporting's rollups) add them
    here. Called once per written batch of an import, in the batch's own transaction just
    before it commits: what you write commits with the orders, and an exception rolls the
    batch back (the importer then retries its orders one at a time). Read the orders by
    ``order_ids`` (new orders, their lines, shipments and timeline are written); write
    with set-based statements, a batch may hold thousands of orders.

    Return value: ignored. Since orders 0.1.
    """
