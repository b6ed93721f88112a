"""webhooks: the outbox, subscriptions, deliveries and attempts; idempotency keys

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-01 09:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import erpkit.db


revision: str = 'core_0005'
down_revision: str | None = 'core_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('core_idempotency_key',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_core_idempotency_key'))
    )
    op.create_table('core_outbox_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('occurred_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dispatched', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_outbox_event'))
    )
    with op.batch_alter_table('core_outbox_event', schema=None) as batch_op:
        batch_op.create_index('ix_core_outbox_event_dispatched_id', ['dispatched', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_outbox_event_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('core_webhook_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('previous_secret', sa.String(length=200), nullable=True),
    sa.Column('previous_secret_until', erpkit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_webhook_subscription'))
    )
    op.create_table('core_webhook_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('lane', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', erpkit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=120), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', erpkit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('replay_of', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['core_outbox_event.id'], name=op.f('fk_core_webhook_delivery_event_id_core_outbox_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subscription_id'], ['core_webhook_subscription.id'], name=op.f('fk_core_webhook_delivery_subscription_id_core_webhook_subscription'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_webhook_delivery'))
    )
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_core_webhook_delivery_lane_status', ['lane', 'status', 'id'], unique=False)
        batch_op.create_index('ix_core_webhook_delivery_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('core_webhook_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('response_excerpt', sa.String(length=500), nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['core_webhook_delivery.id'], name=op.f('fk_core_webhook_attempt_delivery_id_core_webhook_delivery'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_webhook_attempt'))
    )
    with op.batch_alter_table('core_webhook_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_webhook_attempt_delivery_id'), ['delivery_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_webhook_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_webhook_attempt_delivery_id'))
    op.drop_table('core_webhook_attempt')
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_core_webhook_delivery_status_next')
        batch_op.drop_index('ix_core_webhook_delivery_lane_status')
    op.drop_table('core_webhook_delivery')
    op.drop_table('core_webhook_subscription')
    with op.batch_alter_table('core_outbox_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_outbox_event_occurred_at'))
        batch_op.drop_index('ix_core_outbox_event_dispatched_id')
    op.drop_table('core_outbox_event')
    op.drop_table('core_idempotency_key')
