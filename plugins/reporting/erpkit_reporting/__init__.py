"""erpkit's reporting module: figures of the business from rollups kept in step with the orders."""

__version__ = "0.1.0"
