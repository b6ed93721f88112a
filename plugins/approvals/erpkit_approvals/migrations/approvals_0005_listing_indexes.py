"""indexes of the listings' keyset pages

The rules' listing reads in ``(priority, id)`` order and the inbox reads active steps in
``(started_at, id)`` order, a page at a time: each order gets an index, so a page costs
the same however many rules or steps there are.

Revision ID: approvals_0005
Revises: approvals_0004
Create Date: 2026-12-08 10:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'approvals_0005'
down_revision: str | None = 'approvals_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approvals_rule', schema=None) as batch_op:
        batch_op.create_index('ix_approvals_rule_priority', ['priority', 'id'], unique=False)
    with op.batch_alter_table('approvals_step', schema=None) as batch_op:
        batch_op.create_index('ix_approvals_step_status_started',
                              ['status', 'started_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('approvals_step', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_step_status_started')
    with op.batch_alter_table('approvals_rule', schema=None) as batch_op:
        batch_op.drop_index('ix_approvals_rule_priority')
