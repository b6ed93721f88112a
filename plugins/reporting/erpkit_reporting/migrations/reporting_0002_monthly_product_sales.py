"""monthly product sales: the product rollup without the place dimensions

Revision ID: reporting_0002
Revises: reporting_0001
Create Date: 2026-12-01 09:55:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'reporting_0002'
down_revision: str | None = 'reporting_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reporting_monthly_product_sales',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('orders', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('lines', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('units_milli', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('revenue_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('month', 'product_id', 'category',
                            name=op.f('pk_reporting_monthly_product_sales'))
    )
    # Filled from the daily product rollup (integer sums: exact), so an upgraded database
    # needs no rebuild.
    op.execute(
        "INSERT INTO reporting_monthly_product_sales "
        "(month, product_id, category, orders, lines, units_milli, revenue_cents) "
        "SELECT month, product_id, category, sum(orders), sum(lines), sum(units_milli), "
        "sum(revenue_cents) FROM (SELECT " + _month_of_day() + " AS month, product_id, "
        "category, orders, lines, units_milli, revenue_cents "
        "FROM reporting_daily_product_sales) AS daily "
        "GROUP BY month, product_id, category")


def _month_of_day() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "CAST(date_trunc('month', day) AS DATE)"
    return "substr(CAST(day AS TEXT), 1, 7) || '-01'"


def downgrade() -> None:
    op.drop_table('reporting_monthly_product_sales')
