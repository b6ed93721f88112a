"""How many SQL statements one order's pipeline runs, with inventory and approvals on.

A count, not a time: it does not depend on the machine, and a change that makes the
pipeline ask the database more (a query per line, a flush per query, a lookup that was
read once and is read again) fails here. The ceilings are the counts
bench/profile_pipeline.py measured when they were set, plus a small margin; lower them
when the pipeline gets leaner. bench/README.md says which change bought what.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from .helpers import count_a_held_order, count_an_unheld_order, make_shop

#: Statements of each step (BEGIN included), at most: what SQLite ran when these were set
#: (PostgreSQL runs one fewer, no BEGIN statement) plus a margin of one. Before the work
#: of issue 12 they were 12, 39, 21 and 46; then 11, 22, 17 and 36 (the webhooks outbox,
#: the gates at every transition). Issue 12's third pass measured 10, 14, 17 and 25: the
#: outbox's events in one INSERT at commit, the confirmation without a savepoint, no
#: reservation or backorder read for an order being confirmed, the levels reserved in
#: one UPDATE, the decision not reading the locked order again. The set-up cache measured
#: 10, 13, 17 and 24 (parameters and approval rules kept by the process: one statement of
#: generations instead).
CEILINGS = {"create": 11, "submit_and_confirm": 14, "submit_held": 18, "approve_and_confirm": 25}


@pytest.fixture
def shop(app: Flask) -> dict[str, Any]:
    return make_shop(app)


def test_an_order_that_no_rule_holds_is_created_submitted_and_confirmed_in_few_statements(
        app, shop):
    create, submit = count_an_unheld_order(app, shop)

    assert len(create.statements) <= CEILINGS["create"], create.statements
    assert len(submit.statements) <= CEILINGS["submit_and_confirm"], submit.statements


def test_an_order_held_for_approval_is_approved_and_confirmed_in_few_statements(app, shop):
    submit, decide = count_a_held_order(app, shop)

    assert len(submit.statements) <= CEILINGS["submit_held"], submit.statements
    assert len(decide.statements) <= CEILINGS["approve_and_confirm"], decide.statements
