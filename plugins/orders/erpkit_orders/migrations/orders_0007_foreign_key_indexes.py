"""foreign key indexes: shipment lines by order line

Revision ID: orders_0007
Revises: orders_0006
Create Date: 2026-12-01 20:10:00.000000

A draft's lines are replaced on every edit: each deleted line looked for its shipment
lines without an index (tests/core/test_foreign_key_indexes.py).
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'orders_0007'
down_revision: str | None = 'orders_0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders_shipment_line', schema=None) as batch_op:
        batch_op.create_index('ix_orders_shipment_line_order_line_id', ['order_line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders_shipment_line', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_shipment_line_order_line_id')
