"""customer spans: distinct and repeat customers of any range without a row per customer

Revision ID: reporting_0004
Revises: reporting_0003
Create Date: 2026-12-01 19:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'reporting_0004'
down_revision: str | None = 'reporting_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: ``erpkit_reporting.contributions.SALE_STATUSES`` when this revision was written.
SALE_STATUSES = ("closed", "confirmed", "delivered", "partially_shipped", "returned",
                 "shipped")


def upgrade() -> None:
    op.create_table('reporting_customer_span',
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('apart', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('count', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('grain', 'apart', 'first_day', 'last_day',
                            name=op.f('pk_reporting_customer_span'))
    )
    op.create_index('ix_reporting_customer_span_last', 'reporting_customer_span',
                    ['grain', 'last_day'], unique=False)
    # Filled from the orders (what the rebuild does), so an upgraded database needs no
    # rebuild: each sale's next and next but one sale of the same customer, counted by
    # the pair of days.
    postgresql = op.get_bind().dialect.name == "postgresql"
    day = "CAST(timezone('UTC', ordered_at) AS DATE)" if postgresql else "date(ordered_at)"
    statuses = ", ".join(f"'{status}'" for status in SALE_STATUSES)
    window = "OVER (PARTITION BY customer_id ORDER BY ordered_at, id)"
    for apart in (1, 2):
        op.execute(
            "INSERT INTO reporting_customer_span (grain, apart, first_day, last_day, count) "
            f"SELECT 'd', {apart}, first_day, last_day, count(*) FROM (SELECT {day} AS "
            f"first_day, lead({day}, {apart}) {window} AS last_day FROM orders_order "
            f"WHERE status IN ({statuses})) AS sales "
            "WHERE last_day IS NOT NULL GROUP BY first_day, last_day")

    def month(column: str) -> str:
        return (f"CAST(date_trunc('month', {column}) AS DATE)" if postgresql
                else f"substr(CAST({column} AS TEXT), 1, 7) || '-01'")

    op.execute(
        "INSERT INTO reporting_customer_span (grain, apart, first_day, last_day, count) "
        "SELECT 'm', apart, first_month, last_month, sum(count) FROM (SELECT apart, "
        f"{month('first_day')} AS first_month, {month('last_day')} AS last_month, count "
        "FROM reporting_customer_span WHERE grain = 'd') AS daily "
        "GROUP BY apart, first_month, last_month")


def downgrade() -> None:
    op.drop_index('ix_reporting_customer_span_last', table_name='reporting_customer_span')
    op.drop_table('reporting_customer_span')
