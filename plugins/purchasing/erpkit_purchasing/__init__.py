"""erpkit purchasing: suppliers, purchase orders, receipts, lead times that learn, branches."""

__version__ = "0.1.0"
