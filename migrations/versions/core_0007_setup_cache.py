"""set-up cache: a generation per kind of set-up, and the database's epoch

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-12-01 19:05:00.000000

Processes keep set-up (parameters, calendars, weights) while its generation stays the same
(``erpkit.setup_cache``). The epoch row ``*`` names this database: a process never uses
what it kept from another database that had the same URL.
"""
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'core_0007'
down_revision: str | None = 'core_0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        'core_cache_generation',
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('generation', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_core_cache_generation')),
    )
    op.bulk_insert(table, [{'name': '*', 'generation': uuid.uuid4().hex}])


def downgrade() -> None:
    op.drop_table('core_cache_generation')
