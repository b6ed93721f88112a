"""erpkit inventory module: warehouses, stock, a ledger of every move, reservations."""

__version__ = "0.1.0"
