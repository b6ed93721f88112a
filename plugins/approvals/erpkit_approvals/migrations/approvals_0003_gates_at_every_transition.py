"""gates at every transition: a request names the move it holds

Revision ID: approvals_0003
Revises: approvals_0002
Create Date: 2026-12-01 09:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'approvals_0003'
down_revision: str | None = 'approvals_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approvals_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gate', sa.String(length=16), server_default='submit',
                                      nullable=False))
        batch_op.add_column(sa.Column('from_status', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('to_status', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('resume', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('approvals_request', schema=None) as batch_op:
        batch_op.drop_column('resume')
        batch_op.drop_column('to_status')
        batch_op.drop_column('from_status')
        batch_op.drop_column('gate')
