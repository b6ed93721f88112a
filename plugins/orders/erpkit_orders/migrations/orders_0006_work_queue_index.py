"""work queue index: orders of a status by when they entered it

Revision ID: orders_0006
Revises: orders_0005
Create Date: 2026-12-02 09:30:00.000000

The work queues list the orders of a status oldest ``status_changed_at`` first, a page
at a time (``GET /api/work``): the (status, status_changed_at, number) index gives them
in that order, each page starting after the last order of the page before.
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'orders_0006'
down_revision: str | None = 'orders_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orders_order', schema=None) as batch_op:
        batch_op.create_index('ix_orders_order_status_waiting', ['status', 'status_changed_at', 'number'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders_order', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_order_status_waiting')
