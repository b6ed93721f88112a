"""foreign key indexes: receipts by ledger entry

Revision ID: purchasing_0002
Revises: purchasing_0001
Create Date: 2026-12-01 20:10:00.000000

Receipts found by their ledger entry without scanning every receipt
(tests/core/test_foreign_key_indexes.py).
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'purchasing_0002'
down_revision: str | None = 'purchasing_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('purchasing_receipt', schema=None) as batch_op:
        batch_op.create_index('ix_purchasing_receipt_ledger_entry_id', ['ledger_entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('purchasing_receipt', schema=None) as batch_op:
        batch_op.drop_index('ix_purchasing_receipt_ledger_entry_id')
