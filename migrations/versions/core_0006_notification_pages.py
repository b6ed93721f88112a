"""notification pages: each user's notifications by id

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-02 09:00:00.000000

``GET /api/notifications`` reads a user's notifications newest first, a page at a time:
the (user_id, id) index walks them without sorting every notification the user has.
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'core_0006'
down_revision: str | None = 'core_0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('core_notification', schema=None) as batch_op:
        batch_op.create_index('ix_core_notification_user_id', ['user_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_notification', schema=None) as batch_op:
        batch_op.drop_index('ix_core_notification_user_id')
