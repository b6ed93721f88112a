"""foreign key indexes: API tokens by user, webhook deliveries by event and by subscription

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-12-01 20:10:00.000000

A token or subscription revoked, a user removed, dispatched events pruned: each delete
looked for its referring rows without an index (tests/core/test_foreign_key_indexes.py).
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'core_0008'
down_revision: str | None = 'core_0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.create_index('ix_core_api_token_user_id', ['user_id'], unique=False)
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_core_webhook_delivery_event_id', ['event_id'], unique=False)
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_core_webhook_delivery_subscription_id', ['subscription_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_core_webhook_delivery_subscription_id')
    with op.batch_alter_table('core_webhook_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_core_webhook_delivery_event_id')
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.drop_index('ix_core_api_token_user_id')
