"""Promises kept true: worked out again when something moves them, the customer told.

What makes logistics look at a confirmed order's promise again (docs/modules/logistics.md):

* **Stock arrives or moves** (inventory's ledger: a receipt, an adjustment, a transfer)
  for a product that open backorders wait for: those orders, by the job
  ``logistics.review_promises``, asked for in the transaction of the movement and run
  after its commit. Inventory offers no hook on receipts, so logistics listens to the
  ledger rows being written (:func:`watch_movements`); nothing is read when inventory is
  not enabled.
* **A work centre's daily capacity changes**: the orders holding capacity there from
  today, newest first, so that earlier orders keep their days; the bookings made again
  are kept even when a date stays.
* **The periodic task** ``logistics.promise_review`` (every
  ``logistics.promise_review_seconds``): orders whose goods did not reach the carrier by
  their promise's ``hand_over_by`` (the cut-off of the last possible day: the promise
  cannot hold any more), and orders with open backorders (an expected receipt moved, or
  the supplier's lead time ran out with nothing received: purchasing changes dates
  without any stock movement).

Each order is reviewed in a transition of its own (:func:`promise_records.revise`);
a review that does not move the date leaves everything as it was, so the periodic task
may look as often as it likes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from erpkit.db import utcnow
from erpkit.jobs import Job, JobContext, PeriodicTask, enqueue
from erpkit.plugins import Registry, registry_of
from erpkit_logistics import promise_records, supply
from erpkit_logistics.models import CapacityBooking, OrderPromise, WorkCentre
from erpkit_orders.models import Order

Q = TypeVar("Q", bound=sa.Select[*tuple[Any, ...]])

REVIEW_JOB = "logistics.review_promises"
PERIODIC = "logistics.promise_review"
EVERY = "logistics.promise_review_seconds"
#: Orders whose promise can still change: confirmed, goods not all handed over.
REVIEWED = ("confirmed", "partially_shipped")
#: Why a review was asked for: the reason told to the customer, by direction.
CAUSES = {
    # Stock received or moved, or the supplier's dates (whoever notices first words it
    # the same: the receipt's own review, or the periodic one).
    "supply": ("the goods we were waiting for arrived early", "our supplier is late"),
    "capacity": ("our production schedule changed", "our production schedule changed"),
}
#: session.info keys: what this transaction changed that moves promises.
_MOVED_PRODUCTS = "logistics.moved_products"
_CHANGED_CENTRES = "logistics.changed_centres"


def reason_for(cause: str) -> Any:
    """The reason of a review for ``cause``, worded by whether the date moved earlier."""
    earlier, later = CAUSES[cause]

    def word(before: date | None, after: date) -> str:
        return earlier if before is not None and after < before else later

    return word


def missed_hand_over(hand_over_by: datetime) -> str:
    return (f"your parcel did not reach the carrier by {hand_over_by:%Y-%m-%d %H:%M} UTC, "
            "the last pick-up that kept the date")


def review(session: Session, order_ids: Iterable[int], cause: str, *,
           now: datetime | None = None, keep_bookings: bool = False) -> list[int]:
    """Review each order's promise; the ids of those whose date moved."""
    moved = []
    for order_id in order_ids:
        revised = promise_records.revise(session, order_id, reason_for(cause), actor="logistics",
                                         now=now, only_if_moved=True,
                                         keep_bookings=keep_bookings)
        if revised is not None:
            moved.append(order_id)
    return moved


def _open(query: Q) -> Q:
    """``query`` narrowed to orders still waiting for their goods to leave."""
    return query.join(Order, Order.id == query.selected_columns[0]).where(
        Order.status.in_(REVIEWED), Order.imported_as_history.is_(False))


def waiting_for(session: Session, product_ids: Iterable[int]) -> list[int]:
    """Open orders with a backorder of one of these products."""
    from erpkit_inventory.models import Backorder

    query = sa.select(Backorder.order_id).where(Backorder.quantity > 0)
    ids = sorted(set(product_ids))
    query = query.where(Backorder.product_id.in_(ids))
    return sorted(set(session.scalars(_open(query))))


def holding_capacity(session: Session, centre_ids: Iterable[int], today: date) -> list[int]:
    """Open orders holding capacity at these work centres from ``today``, newest first."""
    query = sa.select(CapacityBooking.order_id).where(
        CapacityBooking.work_centre_id.in_(sorted(set(centre_ids))),
        CapacityBooking.day >= today)
    return sorted(set(session.scalars(_open(query))), reverse=True)


def review_job(context: JobContext, cause: str, product_ids: list[int] | None = None,
               centre_ids: list[int] | None = None) -> None:
    """The job ``logistics.review_promises``: the orders a movement or a capacity
    change concerns."""
    session = context.session
    if centre_ids:
        review(session, holding_capacity(session, centre_ids, utcnow().date()), cause,
               keep_bookings=True)
    if product_ids:
        review(session, waiting_for(session, product_ids), cause)


def periodic_review(context: JobContext) -> None:
    """The periodic task ``logistics.promise_review``: orders waiting on backorders
    (their supplier's dates), then orders whose goods missed their last pick-up."""
    session, now = context.session, utcnow()
    waiting: list[int] = []
    if supply.inventory_enabled(context.registry):
        from erpkit_inventory.models import Backorder

        waiting = sorted(set(session.scalars(_open(
            sa.select(Backorder.order_id).where(Backorder.quantity > 0)))))
        review(session, waiting, "supply", now=now)
    late = session.execute(_open(
        sa.select(OrderPromise.order_id, OrderPromise.hand_over_by)
        .where(OrderPromise.current.is_(True), OrderPromise.hand_over_by < now,
               OrderPromise.order_id.not_in(waiting or [0]))
        ).where(Order.status == "confirmed")).all()
    for order_id, hand_over_by in late:
        if hand_over_by is not None:
            promise_records.revise(session, order_id, missed_hand_over(hand_over_by),
                                   actor="logistics", now=now, only_if_moved=True)


def jobs() -> list[Any]:
    return [
        Job(name=REVIEW_JOB, run=review_job, retries=3, retry_delay=10.0,
            description="Work out again the promises a stock movement or a work centre's "
                        "capacity change concerns; tell the customers whose date moved."),
        PeriodicTask(name=PERIODIC, run=periodic_review, every_parameter=EVERY,
                     description="Revise promises whose goods missed their last pick-up, "
                                 "and those waiting on backorders."),
    ]


# --- what a transaction changed -------------------------------------------------------


def _logistics_on(session: Session) -> Registry | None:
    try:
        registry = registry_of(session)
    except Exception:  # a session of no app (a migration, a script): nothing to review
        return None
    return registry if "logistics" in registry.plugins else None


def _stock_moved(_mapper: Any, _connection: Any, entry: Any) -> None:
    """A ledger row: stock that became available, or that people moved (an order's own
    reservations and shipments take stock away and cannot bring a backorder sooner)."""
    change = (entry.on_hand_change or 0) - (entry.reserved_change or 0)
    session = sa.orm.object_session(entry)
    if session is not None and (change > 0 or (change != 0 and entry.order_id is None)):
        session.info.setdefault(_MOVED_PRODUCTS, set()).add(entry.product_id)


def _capacity_changed(_mapper: Any, _connection: Any, centre: WorkCentre) -> None:
    session = sa.orm.object_session(centre)
    if session is not None and sa.inspect(centre).attrs.daily_capacity.history.has_changes():
        session.info.setdefault(_CHANGED_CENTRES, set()).add(centre.id)


#: The classes whose rows, written, may ask for a review (WorkCentre; inventory's ledger).
_TRIGGERS: list[type] = [WorkCentre]


def _ask_for_reviews(session: Session) -> None:
    # before_commit comes before the commit's flush: when a row that may ask for a review
    # is still pending, flush now so that its mapper event has noted it (the commit's own
    # flush then has nothing left to do). Other commits are not touched.
    triggers = tuple(_TRIGGERS)
    if any(isinstance(obj, triggers) for obj in (*session.new, *session.dirty)):
        session.flush()
    products = session.info.pop(_MOVED_PRODUCTS, None)
    centres = session.info.pop(_CHANGED_CENTRES, None)
    if not (products or centres) or _logistics_on(session) is None:
        return
    if centres:
        enqueue(session, REVIEW_JOB, cause="capacity", centre_ids=sorted(centres))
    if products and waiting_for(session, products):
        enqueue(session, REVIEW_JOB, cause="supply", product_ids=sorted(products))


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_MOVED_PRODUCTS, None)
    session.info.pop(_CHANGED_CENTRES, None)


def watch_movements() -> None:
    """Listen to inventory's ledger and to work centres (once per process): what a
    transaction changed is reviewed after it commits."""
    if event.contains(Session, "before_commit", _ask_for_reviews):
        return
    event.listen(WorkCentre, "after_update", _capacity_changed)
    try:
        from erpkit_inventory.models import LedgerEntry
    except ImportError:  # inventory not installed
        pass
    else:
        event.listen(LedgerEntry, "after_insert", _stock_moved)
        _TRIGGERS.append(LedgerEntry)
    event.listen(Session, "before_commit", _ask_for_reviews)
    event.listen(Session, "after_rollback", _forget)
    event.listen(Session, "after_commit", _forget)
