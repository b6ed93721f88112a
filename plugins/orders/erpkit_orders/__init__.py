"""erpkit orders module: catalogue, customers, orders and their lifecycle."""

__version__ = "0.1.0"
