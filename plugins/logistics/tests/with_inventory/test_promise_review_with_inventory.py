"""Promises of backordered lines revised when their goods move: stock received early
(the ledger row asks for a review, run by the worker after the commit), and a supplier
late (the periodic review). The set-up as in test_promise_with_inventory.py: Bavaria's
calendars, PX/standard 2 working days to DE, cut-off 16:00; W-1's supplier takes 8 days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from erpkit.jobs import enqueue
from erpkit.service_models import JobRun
from erpkit_inventory.models import Backorder
from erpkit_logistics import promise_review

from ..conftest import mail_body, promised, public_notes, revisions, wait_for_jobs
from .conftest import receive, supplier_lead


def backordered_order(shop: Any, clock: Any) -> Any:
    widget = shop.product("W-1", "1.0")
    supplier_lead(shop, widget, 8)
    clock("2026-12-04T10:00")
    order = shop.order({"W-1": 2})
    # Backordered on Friday 4 Dec: + 8 days = Sat 12, Mon 14 in the warehouse; transit
    # Tue 15, Wed 16.
    assert shop.refresh(order).promised_date == date(2026, 12, 16)
    # The backorder was written on the machine's clock; the story's Friday it is.
    shop.session.execute(sa.update(Backorder).values(
        created_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC)))
    shop.session.commit()
    return order


def test_goods_received_early_bring_the_date_forward_and_the_customer_is_told(
        shop, clock, smtp, worker):
    order = backordered_order(shop, clock)
    # Monday 7 at 09:00 the supplier delivers 5: the receipt asks for a review of the
    # orders waiting for W-1. From stock Mon 7; transit Tue 8, Wed 9.
    clock("2026-12-07T09:00")
    receive(shop, "W-1", 5)
    [(run_id, args)] = shop.session.execute(sa.select(JobRun.id, JobRun.args).where(
        JobRun.name == promise_review.REVIEW_JOB)).all()
    shop.session.rollback()
    assert args == {"cause": "supply", "product_ids": [shop.products["W-1"].id]}
    wait_for_jobs(shop, promise_review.REVIEW_JOB, ids=(run_id,))
    # (The worker's own periodic review may have got there first: the same outcome.)
    why = "the goods we were waiting for arrived early"
    assert revisions(shop, order.id) == [(date(2026, 12, 9), why)]
    assert promised(shop, order.id) == date(2026, 12, 9)
    assert public_notes(shop, order.id) == [
        f"delivery date moved from 2026-12-16 to 2026-12-09: {why}"]
    [(to, mail)] = smtp.wait_for(1)
    assert to == ["ada@example.com"]
    assert "moved from 2026-12-16 to 2026-12-09" in mail_body(mail)


def test_a_late_supplier_moves_the_date_once_and_the_periodic_review_is_quiet_meanwhile(
        shop, clock, smtp, worker):
    order = backordered_order(shop, clock)
    # Wednesday 9: the lead time has not run out (Mon 14 still holds): nothing changes.
    clock("2026-12-09T09:00")
    quiet = enqueue(shop.session, promise_review.PERIODIC).id
    shop.session.commit()
    wait_for_jobs(shop, promise_review.PERIODIC, ids=(quiet,))
    assert revisions(shop, order.id) == []
    # Monday 14, nothing came: the lead time counts again from today, Mon 14 + 8 = Tue 22;
    # transit Wed 23, Thu 24.
    clock("2026-12-14T09:00")
    late = enqueue(shop.session, promise_review.PERIODIC).id
    shop.session.commit()
    wait_for_jobs(shop, promise_review.PERIODIC, ids=(late,))
    assert revisions(shop, order.id) == [(date(2026, 12, 24), "our supplier is late")]
    [(_to, mail)] = smtp.wait_for(1)
    assert "moved from 2026-12-16 to 2026-12-24: our supplier is late" in mail_body(mail)
