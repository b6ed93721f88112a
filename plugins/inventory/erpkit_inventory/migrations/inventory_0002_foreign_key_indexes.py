"""foreign key indexes: ledger entries by order line

Revision ID: inventory_0002
Revises: inventory_0001
Create Date: 2026-12-01 20:10:00.000000

A draft's lines are replaced on every edit: each deleted line scanned the stock
ledger for entries of it (tests/core/test_foreign_key_indexes.py).
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'inventory_0002'
down_revision: str | None = 'inventory_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inventory_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_inventory_ledger_order_line_id', ['order_line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inventory_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_inventory_ledger_order_line_id')
