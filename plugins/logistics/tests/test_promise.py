"""The delivery promise with orders and logistics alone (no inventory): lead times and
business calendars. Every expected date is worked out by hand in the test's comment.

Calendars: the warehouse MAIN and the carrier PX work Monday to Friday in Bavaria
(country DE, subdivision BY), the warehouse until 17:00 UTC; PX/standard's pick-up
cut-off is 16:00 UTC and it takes 2 working days to the zone DE (the customer is in
Berlin). Handling: 0 days (parcels leave the day the goods are there).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from erpkit_logistics import promise_records
from erpkit_logistics.models import (
    BusinessCalendar,
    CapacityBooking,
    CapacityDay,
    ClosedDay,
    OrderPromise,
)
from erpkit_logistics.promising import work_out
from erpkit_orders import lifecycle
from erpkit_orders.models import TimelineEvent

from .conftest import at, made_to_order


def promise_of(world: Any, order: Any, now: str) -> Any:
    return work_out(world.session, order, now=at(now)).promise


def texts(promise: Any) -> list[str]:
    return [step.text for step in promise.steps]


def test_a_weekend_is_not_counted_in_transit(bavaria):
    order = bavaria.order({"W-1": 1}, confirm=False)
    # Friday 4 Dec 10:00: handed over Friday before the cut-off; transit Mon 7, Tue 8.
    promise = promise_of(bavaria, order, "2026-12-04T10:00")
    assert promise.promised_date == date(2026, 12, 8)
    assert [step.kind for step in promise.steps] == ["goods", "handling", "cutoff", "transit"]
    assert texts(promise) == [
        "W-1: from stock (no inventory kept), available Fri 2026-12-04",
        "warehouse MAIN: 0 working day(s) of handling: ready to ship Fri 2026-12-04",
        "handed to PX/standard by its 16:00 cut-off Fri 2026-12-04",
        "PX/standard to zone DE: 2 working day(s) in transit (not worked: 2026-12-05 "
        "Saturday, 2026-12-06 Sunday): delivered Tue 2026-12-08",
    ]


def test_after_the_cut_off_the_parcel_leaves_the_next_working_day(bavaria):
    order = bavaria.order({"W-1": 1}, confirm=False)
    # Friday 16:30: after the 16:00 cut-off, so Monday 7; transit Tue 8, Wed 9.
    promise = promise_of(bavaria, order, "2026-12-04T16:30")
    assert promise.promised_date == date(2026, 12, 9)
    assert texts(promise)[2] == ("after PX/standard's 16:00 cut-off: handed over the next "
                                 "working day (not worked: 2026-12-05 Saturday, 2026-12-06 "
                                 "Sunday), Mon 2026-12-07")
    # After the warehouse closed (17:00) the goods are only there on Monday.
    late = promise_of(bavaria, order, "2026-12-04T18:00")
    assert late.promised_date == date(2026, 12, 9)
    assert texts(late)[0] == "W-1: from stock (no inventory kept), available Mon 2026-12-07"


def test_public_holidays_of_the_subdivision_are_days_off(bavaria):
    order = bavaria.order({"W-1": 1}, confirm=False)
    # Wed 23 Dec: handed over that day; transit Thu 24, then 25 (Christmas Day) and 26
    # (Second Day of Christmas) and Sunday 27 are off: Mon 28.
    christmas = promise_of(bavaria, order, "2026-12-23T09:00")
    assert christmas.promised_date == date(2026, 12, 28)
    assert "2026-12-25 Christmas Day" in texts(christmas)[3]
    # Tue 5 Jan 2027: Epiphany (Wed 6) is a holiday in Bavaria: Thu 7, Fri 8.
    assert promise_of(bavaria, order, "2027-01-05T09:00").promised_date == date(2027, 1, 8)
    # In Berlin's calendar (no Epiphany) the same parcel arrives Thu 7.
    bavaria.session.execute(sa.update(BusinessCalendar).where(
        BusinessCalendar.scope == "carrier").values(subdivision="BE"))
    bavaria.session.commit()
    assert promise_of(bavaria, order, "2027-01-05T09:00").promised_date == date(2027, 1, 7)


def test_a_day_admins_closed_is_skipped_and_named(bavaria):
    calendar = bavaria.session.scalars(sa.select(BusinessCalendar).where(
        BusinessCalendar.scope == "warehouse")).one()
    bavaria.session.add(ClosedDay(calendar_id=calendar.id, day=date(2026, 12, 7),
                                  reason="stocktaking"))
    bavaria.session.commit()
    order = bavaria.order({"W-1": 1}, confirm=False)
    # Friday after the cut-off; Monday 7 the warehouse is closed: Tue 8; transit Wed 9, Thu 10.
    promise = promise_of(bavaria, order, "2026-12-04T16:30")
    assert promise.promised_date == date(2026, 12, 10)
    assert [s.day for s in promise.steps if s.kind == "cutoff"] == [date(2026, 12, 8)]


def test_handling_days_and_a_later_requested_date(bavaria):
    bavaria.set("logistics.handling_days", 2)
    order = bavaria.order({"W-1": 1}, confirm=False)
    # Thursday 3 Dec: 2 days of handling, Fri 4 and Mon 7; transit Tue 8, Wed 9.
    assert promise_of(bavaria, order, "2026-12-03T09:00").promised_date == date(2026, 12, 9)
    order.requested_date = date(2026, 12, 18)
    promise = promise_of(bavaria, order, "2026-12-03T09:00")
    assert promise.promised_date == date(2026, 12, 18)
    assert promise.steps[-1].kind == "requested"


def test_without_calendars_monday_to_friday_and_the_default_transit(world):
    world.product("W-1", "1.0")
    world.set("logistics.default_service", "PX/express")  # no transit time to any zone
    order = world.order({"W-1": 1}, confirm=False)
    # Friday 4 Dec (a Friday); no cut-off on express: the warehouse's 17:00 counts;
    # 3 days by default: Mon 7, Tue 8, Wed 9.
    promise = promise_of(world, order, "2026-12-04T12:00")
    assert promise.promised_date == date(2026, 12, 9)
    assert "no transit time set" in texts(promise)[3]


def test_a_made_to_order_line_waits_for_production_and_its_capacity(bavaria, monkeypatch):
    centre = made_to_order(bavaria)
    monkeypatch.setattr(promise_records, "utcnow", lambda: at("2026-12-04T10:00"))
    first = bavaria.order({"CHAIR": 2, "W-1": 1})
    # Fri 4 Dec: made on Fri (2 of 5 booked), 3 working days: Mon 7, Tue 8, Wed 9 ready;
    # handed over Wed 9, transit Thu 10, Fri 11.
    assert bavaria.refresh(first).promised_date == date(2026, 12, 11)
    kept = bavaria.session.scalars(sa.select(OrderPromise).where(
        OrderPromise.order_id == first.id, OrderPromise.current.is_(True))).one()
    assert kept.stage == "confirmation"
    assert kept.steps[0]["text"] == (
        "CHAIR: made to order at WC-1 on Fri 2026-12-04 (capacity booked), 3 working days "
        "of production (not worked: 2026-12-05 Saturday, 2026-12-06 Sunday): ready Wed "
        "2026-12-09")
    # The second order's 4 chairs: 3 left on Friday, 1 on Monday 7; ready Thu 10;
    # transit Fri 11, Mon 14.
    second = bavaria.order({"CHAIR": 4})
    assert bavaria.refresh(second).promised_date == date(2026, 12, 14)
    days = dict(bavaria.session.execute(sa.select(CapacityDay.day, CapacityDay.booked)
                                        .where(CapacityDay.work_centre_id == centre.id)).all())
    assert {day: Decimal(booked) for day, booked in days.items()} == {
        date(2026, 12, 4): Decimal(5), date(2026, 12, 7): Decimal(1)}
    timeline = bavaria.session.scalars(sa.select(TimelineEvent.message).where(
        TimelineEvent.order_id == second.id, TimelineEvent.public.is_(True))).all()
    # The customer reads it in their words: no product codes, no work centre.
    assert "delivery promised for 2026-12-14 (made for you, ready by 2026-12-10)" in timeline
    # Cancelling gives the capacity back.
    lifecycle.cancel(bavaria.session, second.id, reason="customer changed their mind")
    bavaria.session.expire_all()
    assert bavaria.session.scalar(sa.select(sa.func.count()).select_from(CapacityBooking)
                                  .where(CapacityBooking.order_id == second.id)) == 0
    assert Decimal(bavaria.session.scalar(sa.select(CapacityDay.booked).where(
        CapacityDay.day == date(2026, 12, 4)))) == Decimal(2)


def test_a_revised_promise_is_recorded_with_why_and_told_to_the_customer(bavaria,
                                                                         monkeypatch):
    monkeypatch.setattr(promise_records, "utcnow", lambda: at("2026-12-04T10:00"))
    order = bavaria.order({"W-1": 1})
    assert bavaria.refresh(order).promised_date == date(2026, 12, 8)
    # The parcel missed Friday's pick-up; worked out again on Monday 7 after the cut-off:
    # handed over Tue 8, transit Wed 9, Thu 10.
    monkeypatch.setattr(promise_records, "utcnow", lambda: at("2026-12-07T16:30"))
    promise_records.revise(bavaria.session, order.id, "the parcel missed Friday's pick-up",
                           actor="planner")
    assert bavaria.refresh(order).promised_date == date(2026, 12, 10)
    public = bavaria.session.scalars(sa.select(TimelineEvent.message).where(
        TimelineEvent.order_id == order.id, TimelineEvent.public.is_(True))).all()
    assert ("delivery date moved from 2026-12-08 to 2026-12-10: the parcel missed "
            "Friday's pick-up") in public
    stages = bavaria.session.scalars(sa.select(OrderPromise.stage).where(
        OrderPromise.order_id == order.id).order_by(OrderPromise.id)).all()
    assert stages == ["entry", "confirmation", "revised"]


def test_the_promise_over_http(bavaria, as_role):
    order = bavaria.order({"W-1": 1}, confirm=False)
    sales, logistics = as_role("sales"), as_role("logistics")
    bavaria.session.commit()  # SQLite: the test's open transaction would hold the lock
    draft = sales.get(f"/api/orders/{order.id}/promise")
    assert draft.status_code == 200, draft.get_json()
    body = draft.get_json()
    assert body["current"]["stage"] == "entry"
    assert body["quote"]["steps"][-1]["kind"] in ("transit", "requested")
    lifecycle.submit(bavaria.session, order.id)
    bavaria.session.commit()
    confirmed = sales.get(f"/api/orders/{order.id}/promise").get_json()
    assert confirmed["quote"] is None
    assert confirmed["current"]["stage"] == "confirmation"
    assert confirmed["promised_date"] == confirmed["current"]["promised_date"]
    assert sales.get("/api/orders/999999/promise").status_code == 404
    refused = sales.post(f"/api/orders/{order.id}/promise/revise", json={"reason": "x"})
    assert refused.status_code == 403  # sales may not revise: logistics.work
    empty = logistics.post(f"/api/orders/{order.id}/promise/revise", json={"reason": ""})
    assert empty.status_code == 422
    assert empty.get_json()["errors"][0]["field"] == "reason"
    revised = logistics.post(f"/api/orders/{order.id}/promise/revise",
                          json={"reason": "carrier strike"})
    assert revised.status_code == 200
    assert revised.get_json()["current"]["stage"] == "revised"


def test_the_order_page_and_the_customers_status_page_show_the_promise(bavaria, client,
                                                                        users, monkeypatch):
    monkeypatch.setattr(promise_records, "utcnow", lambda: at("2026-12-04T10:00"))
    headers = users.headers("sales")
    order = bavaria.order({"W-1": 1})
    bavaria.session.commit()
    page = client.get(f"/admin/orders/{order.id}/", headers=headers)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="delivery-promise"' in html
    assert "PX/standard to zone DE: 2 working day(s) in transit" in html
    status = client.get(f"/status/{order.number}", query_string={"token": order.public_token},
                        headers={"Accept": "text/html"})
    text = status.get_data(as_text=True)
    assert status.status_code == 200
    assert "Your delivery date" in text
    assert "Handed to the carrier: 4 Dec 2026" in text and "Delivered: 8 Dec 2026" in text
    assert "zone DE" not in text  # the staff's explanation stays in the console
