"""breaches and notifications move to the core

The sweep's claims (now core_step_breach) start afresh; the notifications are copied.

Revision ID: approvals_0002
Revises: approvals_0001
Create Date: 2026-12-01 08:41:34.633888
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import erpkit.db


revision: str = 'approvals_0002'
down_revision: str | None = 'approvals_0001'
branch_labels: str | Sequence[str] | None = None
# The core's tables take over: the notifications are copied into core_notification.
depends_on: str | Sequence[str] | None = 'core_0003'


def upgrade() -> None:
    bind = op.get_bind()
    references = ("json_build_object('order_id', order_id, 'request_id', request_id)"
                  if bind.dialect.name == "postgresql"
                  else "json_object('order_id', order_id, 'request_id', request_id)")
    op.execute(
        "INSERT INTO core_notification (user_id, kind, subject, message, data, created_at, "
        f"read_at) SELECT user_id, kind, '', message, {references}, created_at, read_at "
        "FROM approvals_notification ORDER BY id")
    with op.batch_alter_table('approvals_breach', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approvals_breach_order_id'))

    op.drop_table('approvals_breach')
    with op.batch_alter_table('approvals_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approvals_notification_user_read'))

    op.drop_table('approvals_notification')


def downgrade() -> None:
    # The tables come back empty: the core keeps the notifications and claims.
    op.create_table('approvals_notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('created_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', erpkit.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders_order.id'], name=op.f('fk_approvals_notification_order_id_orders_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['approvals_request.id'], name=op.f('fk_approvals_notification_request_id_approvals_request'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_approvals_notification_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals_notification'))
    )
    with op.batch_alter_table('approvals_notification', schema=None) as batch_op:
        batch_op.create_index('ix_approvals_notification_user_read', ['user_id', 'read_at'], unique=False)

    op.create_table('approvals_breach',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('overdue_seconds', sa.Integer(), nullable=False),
    sa.Column('at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders_order.id'], name=op.f('fk_approvals_breach_order_id_orders_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approvals_breach')),
    sa.UniqueConstraint('subject_kind', 'subject_id', 'step', 'level', name=op.f('uq_approvals_breach_subject_kind_subject_id_step_level'))
    )
    with op.batch_alter_table('approvals_breach', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approvals_breach_order_id'), ['order_id'], unique=False)
