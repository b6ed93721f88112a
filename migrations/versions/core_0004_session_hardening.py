"""session hardening

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-01 09:00:00.000000

A session version on each user (a logout or a password change raises it, ending every
session made before) and an optional expiry on API tokens.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import erpkit.db


revision: str = 'core_0004'
down_revision: str | None = 'core_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', erpkit.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.drop_column('session_version')
