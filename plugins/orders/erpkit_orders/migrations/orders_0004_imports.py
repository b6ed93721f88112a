"""orders: product supplier and reorder level, customers switched off (active), and the imports table (progress and
report of each import, resumable).

Revision ID: orders_0004
Revises: orders_0003
Create Date: 2026-12-02 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import erpkit.db

revision: str = 'orders_0004'
down_revision: str | None = 'orders_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch rebuild on SQLite would lose the lower(email) index.
    op.add_column('orders_customer', sa.Column('active', sa.Boolean(), nullable=False,
                                               server_default=sa.true()))
    with op.batch_alter_table('orders_product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplier', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('reorder_level', sa.Numeric(precision=18, scale=3),
                                      nullable=True))
    op.create_table(
        'orders_import',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('rows_done', sa.Integer(), nullable=False),
        sa.Column('rows_refused', sa.Integer(), nullable=False),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=120), nullable=True),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('created_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_orders_import')),
    )


def downgrade() -> None:
    op.drop_table('orders_import')
    with op.batch_alter_table('orders_product', schema=None) as batch_op:
        batch_op.drop_column('reorder_level')
        batch_op.drop_column('supplier')
    # SQLite rebuilds the table to drop a column, losing the expression index: keep it.
    op.drop_index('ix_orders_customer_email_lower', table_name='orders_customer')
    with op.batch_alter_table('orders_customer', schema=None) as batch_op:
        batch_op.drop_column('active')
    op.create_index('ix_orders_customer_email_lower', 'orders_customer',
                    [sa.text('lower(email)')], unique=False)
