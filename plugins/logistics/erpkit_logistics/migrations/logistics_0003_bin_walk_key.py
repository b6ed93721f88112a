"""bin walk key: picking lists sorted and paged by the database

Revision ID: logistics_0003
Revises: logistics_0002
Create Date: 2026-12-02 09:20:00.000000

Each bin keeps its place in the warehouse walk as text the database sorts
(``erpkit_logistics.picking.walk_key``), so ``GET /api/logistics/picking-list`` is a
keyset page in walking order rather than every line sorted in Python. Existing bins get
their key here.
"""
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'logistics_0003'
down_revision: str | None = 'logistics_0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _walk_key(bin_code: str) -> str:
    # erpkit_logistics.picking.walk_key as of this revision, kept here so the migration
    # means the same whatever the module becomes
    pieces = []
    for part in re.split(r"(\d+)", bin_code.upper()):
        if part.isdigit():
            number = str(int(part))
            pieces.append(f"0{len(number):02d}{number}")
        elif part:
            pieces.append("1" + part.encode().hex())
    return "".join(pieces)


def upgrade() -> None:
    with op.batch_alter_table('logistics_bin', schema=None) as batch_op:
        batch_op.add_column(sa.Column('walk_key', sa.String(length=300), nullable=True))
    bins = sa.table('logistics_bin', sa.column('id', sa.Integer), sa.column('bin', sa.String),
                    sa.column('walk_key', sa.String))
    connection = op.get_bind()
    for bin_id, bin_code in connection.execute(sa.select(bins.c.id, bins.c.bin)).all():
        connection.execute(sa.update(bins).where(bins.c.id == bin_id)
                           .values(walk_key=_walk_key(bin_code)))
    with op.batch_alter_table('logistics_bin', schema=None) as batch_op:
        batch_op.alter_column('walk_key', existing_type=sa.String(length=300), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('logistics_bin', schema=None) as batch_op:
        batch_op.drop_column('walk_key')
