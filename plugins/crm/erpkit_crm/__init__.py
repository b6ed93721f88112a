"""erpkit's CRM module: customer profiles and preferences, order history and suggestions,
credit control that cannot be bypassed, RFM segments, and personal-data export and erasure."""

__version__ = "0.1.0"
