"""gates at every transition, steps within a status

A request names the move it holds; an order's steps within a status (picked, packed).

Revision ID: approvals_0003
Revises: approvals_0002
Create Date: 2026-12-01 09:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import erpkit.db


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
    op.create_table(
        'approvals_order_step',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('rule_version_id', sa.Integer(), nullable=False),
        sa.Column('rule_version', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('role', sa.String(length=60), nullable=False),
        sa.Column('time_limit_seconds', sa.Integer(), nullable=False),
        sa.Column('breach_action', sa.String(length=16), nullable=False),
        sa.Column('escalate_to', sa.String(length=60), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('started_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('due_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('done_at', erpkit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('done_by', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['order_id'], ['orders_order.id'],
                                name=op.f('fk_approvals_order_step_order_id_orders_order'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['rule_id'], ['approvals_rule.id'],
                                name=op.f('fk_approvals_order_step_rule_id_approvals_rule')),
        sa.ForeignKeyConstraint(
            ['rule_version_id'], ['approvals_rule_version.id'],
            name=op.f('fk_approvals_order_step_rule_version_id_approvals_rule_version')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals_order_step')),
    )
    op.create_index('ix_approvals_order_step_order_state', 'approvals_order_step',
                    ['order_id', 'state'], unique=False)
    op.create_index('ix_approvals_order_step_state_due', 'approvals_order_step',
                    ['state', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_approvals_order_step_state_due', table_name='approvals_order_step')
    op.drop_index('ix_approvals_order_step_order_state', table_name='approvals_order_step')
    op.drop_table('approvals_order_step')
    with op.batch_alter_table('approvals_request', schema=None) as batch_op:
        batch_op.drop_column('resume')
        batch_op.drop_column('to_status')
        batch_op.drop_column('from_status')
        batch_op.drop_column('gate')
