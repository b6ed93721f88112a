"""foreign key indexes: shipment items and capacity bookings by order line

Revision ID: logistics_0004
Revises: logistics_0003
Create Date: 2026-12-01 20:10:00.000000

A draft's lines are replaced on every edit: each deleted line scanned the shipment
items and capacity bookings (tests/core/test_foreign_key_indexes.py).
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'logistics_0004'
down_revision: str | None = 'logistics_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('logistics_shipment_item', schema=None) as batch_op:
        batch_op.create_index('ix_logistics_shipment_item_order_line_id', ['order_line_id'], unique=False)
    with op.batch_alter_table('logistics_capacity_booking', schema=None) as batch_op:
        batch_op.create_index('ix_logistics_capacity_booking_order_line_id', ['order_line_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('logistics_capacity_booking', schema=None) as batch_op:
        batch_op.drop_index('ix_logistics_capacity_booking_order_line_id')
    with op.batch_alter_table('logistics_shipment_item', schema=None) as batch_op:
        batch_op.drop_index('ix_logistics_shipment_item_order_line_id')
