"""orders listed by creation time use one index, newest first

Revision ID: orders_0005
Revises: orders_0004
Create Date: 2026-12-01 15:40:00

A listing filtered by ``created_from`` / ``created_to`` is ordered by
``(created_at, id)``, newest first; an index on both columns serves the filter and the
order together on PostgreSQL (SQLite's index on ``created_at`` carries the rowid
already, but one index definition keeps the two databases alike).
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'orders_0005'
down_revision: str | None = 'orders_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders_order', schema=None) as batch_op:
        batch_op.create_index('ix_orders_order_created', ['created_at', 'id'], unique=False)
        batch_op.drop_index('ix_orders_order_created_at')


def downgrade() -> None:
    with op.batch_alter_table('orders_order', schema=None) as batch_op:
        batch_op.create_index('ix_orders_order_created_at', ['created_at'], unique=False)
        batch_op.drop_index('ix_orders_order_created')
