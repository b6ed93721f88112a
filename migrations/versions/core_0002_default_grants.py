"""default grants applied

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-02 10:00:00.000000

Records which plugin default grants each role has been given, so that a plugin enabled
after ``erpkit init`` gets its grants on ``erpkit db upgrade`` and an admin's later removal
sticks. Every permission a role holds today counts as applied: those an admin removed
before this revision cannot be told apart from a plugin enabled since, and the first are
the ones that must never come back unasked.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import erpkit.db


revision: str = 'core_0002'
down_revision: str | None = 'core_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    grants = op.create_table('core_default_grant',
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('permission', sa.String(length=120), nullable=False),
    sa.Column('applied_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['core_role.id'], name=op.f('fk_core_default_grant_role_id_core_role'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'permission', name=op.f('pk_core_default_grant'))
    )
    roles = sa.table('core_role', sa.column('id', sa.Integer()), sa.column('permissions', sa.JSON()))
    now = datetime.now(UTC)
    rows = [{'role_id': role_id, 'permission': permission, 'applied_at': now}
            for role_id, permissions in op.get_bind().execute(sa.select(roles.c.id, roles.c.permissions))
            for permission in sorted(set(permissions or []))]
    if rows:
        op.bulk_insert(grants, rows)


def downgrade() -> None:
    op.drop_table('core_default_grant')
