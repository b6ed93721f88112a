"""erpkit's Alembic environment (shipped in the core distribution as erpkit.migrations)."""
