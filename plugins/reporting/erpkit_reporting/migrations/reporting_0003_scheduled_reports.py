"""scheduled reports: schedules and the log of their sendings

Revision ID: reporting_0003
Revises: reporting_0002
Create Date: 2026-12-01 12:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import erpkit.db

revision: str = 'reporting_0003'
down_revision: str | None = 'reporting_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reporting_schedule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report', sa.String(length=80), nullable=False),
    sa.Column('frequency', sa.String(length=16), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('formats', sa.JSON(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_schedule'))
    )
    op.create_table('reporting_sending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('manual', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('asked_at', erpkit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', erpkit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('addresses', sa.JSON(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('job_run_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['schedule_id'], ['reporting_schedule.id'],
                            name=op.f('fk_reporting_sending_schedule_id_reporting_schedule'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_sending')),
    sa.UniqueConstraint('schedule_id', 'period_from', 'manual',
                        name=op.f('uq_reporting_sending_schedule_id_period_from_manual'))
    )
    with op.batch_alter_table('reporting_sending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporting_sending_schedule_id'), ['schedule_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reporting_sending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporting_sending_schedule_id'))
    op.drop_table('reporting_sending')
    op.drop_table('reporting_schedule')
