"""Every foreign key whose parent rows are deleted in daily work has an index leading with
its columns, in every installed module's tables.

Deleting a parent row makes the database look for the rows that refer to it; without such
an index that is a scan of the whole child table per parent row (PostgreSQL indexes the
referenced key, never the referring one). A draft order's lines are replaced on every edit,
dispatched outbox events are pruned, tokens, subscriptions and users are removed: each of
those deletes would scan a table that grows with the business.
"""

from __future__ import annotations

import sqlalchemy as sa

from erpkit.db import Base
from erpkit.plugins import load_plugins

#: Tables whose rows are deleted (or would be, cascading) in daily work.
DELETED_IN_DAILY_WORK = frozenset({
    "orders_order", "orders_order_line", "orders_shipment", "core_outbox_event",
    "core_webhook_subscription", "core_user", "inventory_reservation", "inventory_ledger",
    "logistics_shipment", "approvals_request", "purchasing_order",
})


def leading_columns(table: sa.Table) -> set[tuple[str, ...]]:
    """The column tuples some index, primary key or unique constraint of ``table`` starts
    with (every prefix of each)."""
    keys = [tuple(column.name for column in index.columns) for index in table.indexes]
    keys += [tuple(column.name for column in constraint.columns)
             for constraint in table.constraints
             if isinstance(constraint, sa.PrimaryKeyConstraint | sa.UniqueConstraint)]
    return {key[:length] for key in keys for length in range(1, len(key) + 1)}


def unindexed_foreign_keys() -> list[str]:
    load_plugins()  # every installed module's models
    missing = []
    for table in Base.metadata.sorted_tables:
        covered = leading_columns(table)
        for key in table.foreign_key_constraints:
            columns = tuple(column.name for column in key.columns)
            if key.referred_table.name in DELETED_IN_DAILY_WORK and columns not in covered:
                missing.append(f"{table.name}.{','.join(columns)} -> {key.referred_table.name}")
    return missing


def test_every_foreign_key_to_a_table_deleted_from_in_daily_work_is_indexed():
    assert unindexed_foreign_keys() == []


def test_the_check_sees_a_missing_index():
    child = sa.Table("tests_unindexed_child", Base.metadata,
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("line_id", sa.ForeignKey("orders_order_line.id")))
    try:
        assert unindexed_foreign_keys() == [
            "tests_unindexed_child.line_id -> orders_order_line"]
    finally:
        Base.metadata.remove(child)
