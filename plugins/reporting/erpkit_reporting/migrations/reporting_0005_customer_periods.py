"""customer periods: each customer's sales by month, quarter, year and all time,
and their revenue in the periods of their first sale

Revision ID: reporting_0005
Revises: reporting_0004
Create Date: 2026-12-01 23:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'reporting_0005'
down_revision: str | None = 'reporting_0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _period(grain: str, postgresql: bool) -> str:
    """The first day of ``day``'s month, quarter or year, in SQL."""
    if postgresql:
        return f"CAST(date_trunc('{grain}', day) AS DATE)"
    text = "CAST(day AS TEXT)"
    if grain == "month":
        return f"substr({text}, 1, 7) || '-01'"
    if grain == "year":
        return f"substr({text}, 1, 4) || '-01-01'"
    return (f"printf('%s-%02d-01', substr({text}, 1, 4), "
            f"(CAST(substr({text}, 6, 2) AS INTEGER) - 1) / 3 * 3 + 1)")


def upgrade() -> None:
    op.create_table('reporting_customer_period',
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('orders', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('revenue_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('grain', 'period', 'customer_id',
                            name=op.f('pk_reporting_customer_period')),
    sqlite_with_rowid=False,
    )
    # Filled from the customers' daily rows (what the rebuild does), so an upgraded
    # database needs no rebuild.
    postgresql = op.get_bind().dialect.name == "postgresql"
    for grain, name in (("m", "month"), ("q", "quarter"), ("y", "year")):
        period = _period(name, postgresql)
        op.execute(
            "INSERT INTO reporting_customer_period (grain, period, customer_id, orders, "
            f"revenue_cents) SELECT '{grain}', {period}, customer_id, sum(orders), "
            f"sum(revenue_cents) FROM reporting_customer_daily GROUP BY {period}, customer_id")
    # and all time, keyed by a day before any sale (contributions.ALL_TIME_KEY)
    op.execute(
        "INSERT INTO reporting_customer_period (grain, period, customer_id, orders, "
        "revenue_cents) SELECT 'a', '1900-01-01', customer_id, sum(orders), sum(revenue_cents) "
        "FROM reporting_customer_daily GROUP BY customer_id")


    # each customer's revenue in the month, quarter and year of their first sale
    with op.batch_alter_table('reporting_customer_first_sale') as batch:
        for name in ("month", "quarter", "year"):
            batch.add_column(sa.Column(f'{name}_cents', sa.BigInteger(), server_default='0',
                                       nullable=False))
    for grain, name in (("m", "month"), ("q", "quarter"), ("y", "year")):
        period = _period(name, postgresql).replace("day", "f.day")
        op.execute(
            f"UPDATE reporting_customer_first_sale AS f SET {name}_cents = coalesce(("
            "SELECT revenue_cents FROM reporting_customer_period AS p WHERE "
            f"p.grain = '{grain}' AND p.period = {period} AND p.customer_id = f.customer_id"
            "), 0)")


def downgrade() -> None:
    with op.batch_alter_table('reporting_customer_first_sale') as batch:
        for name in ("month", "quarter", "year"):
            batch.drop_column(f'{name}_cents')
    op.drop_table('reporting_customer_period')
