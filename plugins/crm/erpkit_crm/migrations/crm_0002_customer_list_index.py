"""customer list index: scores by revenue

Revision ID: crm_0002
Revises: crm_0001
Create Date: 2026-12-02 09:10:00.000000

``GET /api/crm/customers`` walks the scored customers best revenue first, a page at a
time: the (revenue_cents, customer_id) index gives them in that order without sorting
every score.
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'crm_0002'
down_revision: str | None = 'crm_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('crm_customer_score', schema=None) as batch_op:
        batch_op.create_index('ix_crm_customer_score_revenue', ['revenue_cents', 'customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('crm_customer_score', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_customer_score_revenue')
