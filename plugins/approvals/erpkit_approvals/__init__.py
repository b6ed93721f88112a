"""erpkit approvals module: rules as data, approval requests, time limits, escalation."""

__version__ = "0.1.0"
