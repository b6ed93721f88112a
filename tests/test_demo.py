"""The demo with every module installed: the modules' demo records meet each other."""

from collections import Counter

import sqlalchemy as sa

from erpkit.demo import load_demo
from erpkit_approvals.models import ApprovalRequest, Rule
from erpkit_inventory.ledger import check_drift
from erpkit_inventory.models import Reservation
from erpkit_orders.models import Order


def test_the_demo_orders_meet_the_demo_rules_and_the_demo_stock(session):
    logins = load_demo("demo")

    assert set(logins) == {"admin", "sales", "approver", "warehouse", "logistics",
                           "purchasing", "analyst"}
    statuses = Counter(session.scalars(sa.select(Order.status)))
    assert statuses["pending_approval"] > 0, statuses  # held by the demo rules
    assert statuses["confirmed"] > 0, statuses
    waiting = session.scalar(sa.select(sa.func.count()).select_from(ApprovalRequest)
                             .where(ApprovalRequest.status == "open"))
    assert waiting == statuses["pending_approval"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Reservation)) > 0
    assert check_drift(session) == []


def test_loading_the_demo_again_adds_no_rule_and_no_order(session):
    load_demo("demo")
    rules = session.scalar(sa.select(sa.func.count()).select_from(Rule))
    orders = session.scalar(sa.select(sa.func.count()).select_from(Order))
    session.commit()

    load_demo("demo")

    assert session.scalar(sa.select(sa.func.count()).select_from(Rule)) == rules
    assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == orders
