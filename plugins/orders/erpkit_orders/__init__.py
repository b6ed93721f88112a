"""erpkit orders module: catalogue, customers, orders and their lifecycle.

The objects the hooks hand to plugins are importable from here, and this is the
supported import for a plugin that needs the real classes (to query with them)::

    from erpkit_orders import Customer, Order, OrderLine, Product, Shipment, Status

Hook specs type them with the Protocols of :mod:`erpkit.contracts`, which these classes
satisfy. Everything else in this package is the orders module's own business.
"""

__version__ = "0.1.0"

# The plugin declaration (erpkit_orders.plugin, the entry point) imports this package
# first; models and lifecycle import only the core and their siblings, never this
# package's names, so importing them here makes no cycle.
from erpkit_orders.lifecycle import Status
from erpkit_orders.models import (
    Address,
    Customer,
    Order,
    OrderLine,
    Product,
    Shipment,
    ShipmentLine,
    TimelineEvent,
)

__all__ = [
    "Address",
    "Customer",
    "Order",
    "OrderLine",
    "Product",
    "Shipment",
    "ShipmentLine",
    "Status",
    "TimelineEvent",
    "__version__",
]
