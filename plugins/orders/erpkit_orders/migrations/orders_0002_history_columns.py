"""orders: the columns a company's history needs (order date, ship-to, carrier, freight,
salesperson, customer codes), and the indexes imports and lists look up by.

Revision ID: orders_0002
Revises: orders_0001
Create Date: 2026-12-01 08:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import erpkit.db

revision: str = 'orders_0002'
down_revision: str | None = 'orders_0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_COLUMNS: list[tuple[str, sa.types.TypeEngine]] = [
    ('shipped_at', erpkit.db.UTCDateTime(timezone=True)),
    ('delivered_at', erpkit.db.UTCDateTime(timezone=True)),
    ('carrier', sa.String(length=80)),
    ('salesperson', sa.String(length=120)),
    ('ship_to_name', sa.String(length=200)),
    ('ship_to_address', sa.String(length=300)),
    ('ship_to_city', sa.String(length=100)),
    ('ship_to_postal_code', sa.String(length=20)),
    ('ship_to_region', sa.String(length=80)),
    ('ship_to_country', sa.String(length=2)),
]


def upgrade() -> None:
    with op.batch_alter_table('orders_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('city', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('postal_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_orders_customer_code'), ['code'])
    op.create_index('ix_orders_customer_email_lower', 'orders_customer',
                    [sa.text('lower(email)')], unique=False)

    with op.batch_alter_table('orders_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ordered_at', erpkit.db.UTCDateTime(timezone=True),
                                      nullable=True))
        for name, type_ in ORDER_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column('shipping_charge', sa.Numeric(precision=18, scale=2),
                                      nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('imported_as_history', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Orders made before this revision were ordered when they were entered.
    op.execute('UPDATE orders_order SET ordered_at = created_at')
    with op.batch_alter_table('orders_order', schema=None) as batch_op:
        batch_op.alter_column('ordered_at', existing_type=erpkit.db.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.create_index('ix_orders_order_ordered_at', ['ordered_at'], unique=False)
        batch_op.create_index('ix_orders_order_external_ref', ['external_ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('orders_order', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_order_external_ref')
        batch_op.drop_index('ix_orders_order_ordered_at')
        batch_op.drop_column('imported_as_history')
        batch_op.drop_column('shipping_charge')
        for name, _ in reversed(ORDER_COLUMNS):
            batch_op.drop_column(name)
        batch_op.drop_column('ordered_at')
    op.drop_index('ix_orders_customer_email_lower', table_name='orders_customer')
    with op.batch_alter_table('orders_customer', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_customer_code'), type_='unique')
        batch_op.drop_column('address')
        batch_op.drop_column('postal_code')
        batch_op.drop_column('city')
        batch_op.drop_column('code')
