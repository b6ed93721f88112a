"""Promises revised by themselves when something moves them: recorded with why, the
customer told on the status page's timeline and by e-mail (a real SMTP server, a real
worker). Calendars as in test_promise.py: Monday to Friday in Bavaria; PX/standard,
cut-off 16:00, 2 working days to DE; handling 0 days.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from erpkit.jobs import enqueue
from erpkit_logistics import promise_review
from erpkit_logistics.models import CapacityDay

from .conftest import made_to_order, mail_body, promised, public_notes, revisions, wait_for_jobs


def test_goods_that_missed_their_last_pick_up_get_a_new_date_and_the_customer_is_told(
        bavaria, clock, smtp, worker, client):
    clock("2026-12-04T10:00")
    order = bavaria.order({"W-1": 1})
    status_page = f"/status/{order.number}?token={order.public_token}"
    # Friday: handed over by the 16:00 cut-off, transit Mon 7, Tue 8.
    assert bavaria.refresh(order).promised_date == date(2026, 12, 8)
    shipped = bavaria.order({"W-1": 1})
    bavaria.handed_over(shipped, "PX-1")
    # Monday 7, 09:00: nothing left on Friday. From Monday: transit Tue 8, Wed 9.
    clock("2026-12-07T09:00")
    run = enqueue(bavaria.session, promise_review.PERIODIC).id
    bavaria.session.commit()
    wait_for_jobs(bavaria, promise_review.PERIODIC, ids=(run,))
    why = ("your parcel did not reach the carrier by 2026-12-04 16:00 UTC, the last "
           "pick-up that kept the date")
    assert revisions(bavaria, order.id) == [(date(2026, 12, 9), why)]
    assert promised(bavaria, order.id) == date(2026, 12, 9)
    assert public_notes(bavaria, order.id) == [
        f"delivery date moved from 2026-12-08 to 2026-12-09: {why}"]
    [(to, mail)] = smtp.wait_for(1)
    assert to == ["ada@example.com"]
    assert f"Subject: [erpkit] Order {order.number}: new delivery date" in mail
    assert "moved from 2026-12-08 to 2026-12-09" in mail_body(mail)
    # The customer's status page says so, and shows the new steps.
    page = client.get(status_page, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"delivery date moved from 2026-12-08 to 2026-12-09: {why}" in page
    assert "Handed to the carrier: 7 Dec 2026" in page and "Delivered: 9 Dec 2026" in page
    # The order handed over on Friday is not touched.
    assert revisions(bavaria, shipped.id) == []
    # Looked at again the same morning, the new promise holds: nothing new is recorded.
    again = enqueue(bavaria.session, promise_review.PERIODIC).id
    bavaria.session.commit()
    wait_for_jobs(bavaria, promise_review.PERIODIC, ids=(again,))
    assert len(revisions(bavaria, order.id)) == 1
    assert len(smtp.messages) == 1


def test_a_capacity_cut_moves_the_newest_order_and_keeps_the_earlier_ones(
        bavaria, clock, smtp, worker):
    centre = made_to_order(bavaria)
    clock("2026-12-04T10:00")
    first = bavaria.order({"CHAIR": 3})
    second = bavaria.order({"CHAIR": 2})
    # Both made on Friday (5 of 5): 3 working days, ready Wed 9; transit Thu 10, Fri 11.
    assert {bavaria.refresh(o).promised_date for o in (first, second)} == {date(2026, 12, 11)}
    # The workshop can make only 3 a day from now on (an admin edits the work centre).
    centre = bavaria.refresh(centre)
    centre.daily_capacity = Decimal(3)
    bavaria.session.commit()
    wait_for_jobs(bavaria, promise_review.REVIEW_JOB)
    # The newest order gives way: its 2 chairs on Monday 7, ready Thu 10; transit Fri 11,
    # Mon 14. The first keeps Friday's 3 and its date.
    assert promised(bavaria, first.id) == date(2026, 12, 11)
    assert promised(bavaria, second.id) == date(2026, 12, 14)
    assert revisions(bavaria, first.id) == []
    assert revisions(bavaria, second.id) == [(date(2026, 12, 14),
                                              "our production schedule changed")]
    booked = {day: Decimal(n) for day, n in bavaria.session.execute(
        sa.select(CapacityDay.day, CapacityDay.booked).where(CapacityDay.booked > 0))}
    bavaria.session.rollback()
    assert booked == {date(2026, 12, 4): Decimal(3), date(2026, 12, 7): Decimal(2)}
    [(to, mail)] = smtp.wait_for(1)
    assert to == ["ada@example.com"] and second.number in mail_body(mail)
