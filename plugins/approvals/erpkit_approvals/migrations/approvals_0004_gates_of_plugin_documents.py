"""gates of plugins' own documents

A request may hold a plugin's document (a purchase order) instead of a sales order:
``document``, ``document_id`` and ``document_number``; gate names are longer
(``purchasing.approve``).

Revision ID: approvals_0004
Revises: approvals_0003
Create Date: 2026-12-01 12:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'approvals_0004'
down_revision: str | None = 'approvals_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approvals_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('document', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('document_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('document_number', sa.String(length=60), nullable=True))
        batch_op.alter_column('order_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('gate', existing_type=sa.String(length=16),
                              type_=sa.String(length=48), existing_nullable=False,
                              existing_server_default='submit')
        batch_op.create_index('ix_approvals_request_document',
                              ['document', 'document_id', 'status'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM approvals_request WHERE order_id IS NULL")
    with op.batch_alter_table('approvals_request', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_request_document')
        batch_op.alter_column('gate', existing_type=sa.String(length=48),
                              type_=sa.String(length=16), existing_nullable=False,
                              existing_server_default='submit')
        batch_op.alter_column('order_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('document_number')
        batch_op.drop_column('document_id')
        batch_op.drop_column('document')
