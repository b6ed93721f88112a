"""erpkit logistics: carriers, shipments, packages, tracking events and own-fleet trips."""

__version__ = "0.1.0"
