"""Recompute the rollups from the orders, and check them against such a recomputation.

Orders imported as history fire no lifecycle hook; the importer's hook
``erpkit_orders_history_imported`` hands each batch to :func:`add_orders`. Orders written by
a bulk loader of one's own: call :func:`rebuild` (``erpkit report rebuild``) afterwards.

The recomputation reads what the orders say of themselves: their status, totals and lines,
and their status events on the timeline. An order without status events (imported as
history) is taken at its word: a returned or cancelled one is dated by
``status_changed_at``, its steps are unknown.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from erpkit.db import Base, read_only
from erpkit_reporting import contributions as c
from erpkit_reporting import customer_periods
from erpkit_reporting.histogram import bucket_of
from erpkit_reporting.models import ROLLUPS, CustomerFirstSale, IntakeRefusal
from erpkit_reporting.money import to_cents, to_milli
from erpkit_reporting.periods import period_start
from erpkit_reporting.rollup import apply
from erpkit_reporting.spans import add_new_sales, add_spans, insert_spans

CHUNK = 20_000


def _chunks(session: Session, order_ids: Iterable[int] | None) -> Iterator[list[int]]:
    from erpkit_orders.models import Order

    if order_ids is not None:
        ids = sorted(set(order_ids))
        for start in range(0, len(ids), CHUNK):
            yield ids[start:start + CHUNK]
        return
    last = 0
    while True:
        ids = list(session.scalars(sa.select(Order.id).where(Order.id > last)
                                   .order_by(Order.id).limit(CHUNK)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def _range(column: Any, ids: list[int]) -> Any:
    # A chunk of consecutive ids reads as one range scan; a sparse list as IN.
    if ids[-1] - ids[0] + 1 == len(ids):
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


Facts = tuple[c.OrderFacts, str, Any, list[tuple[str, Any]], list[Any]]


def orders_facts(session: Session, ids: list[int], *, with_lines: bool = True
                 ) -> Iterator[Facts]:
    """(facts, status, status_changed_at, status events, edit times) of the orders
    ``ids`` (without their lines unless ``with_lines``)."""
    from erpkit_orders.models import Customer, Order, OrderLine, Product, TimelineEvent

    lines: dict[int, list[c.LineFacts]] = {}
    for order_id, group in () if not with_lines else groupby(session.execute(
            sa.select(OrderLine.order_id, OrderLine.product_id, Product.category,
                      OrderLine.quantity, OrderLine.line_total)
            .join(Product, Product.id == OrderLine.product_id)
            .where(_range(OrderLine.order_id, ids)).order_by(OrderLine.order_id, OrderLine.id)),
            key=lambda row: row[0]):
        lines[order_id] = [c.LineFacts(product_id, category or "", to_milli(quantity),
                                       to_cents(total))
                           for _, product_id, category, quantity, total in group]
    events: dict[int, list[tuple[str, Any]]] = {}
    for order_id, event_rows in groupby(session.execute(
            sa.select(TimelineEvent.order_id, TimelineEvent.to_status, TimelineEvent.at)
            .where(_range(TimelineEvent.order_id, ids), TimelineEvent.kind == "status",
                   TimelineEvent.to_status.is_not(None))
            .order_by(TimelineEvent.order_id, TimelineEvent.id)), key=lambda row: row[0]):
        events[order_id] = [(status or "", at) for _, status, at in event_rows]
    edits: dict[int, list[Any]] = {}
    for order_id, edit_rows in groupby(session.execute(
            sa.select(TimelineEvent.order_id, TimelineEvent.at)
            .where(_range(TimelineEvent.order_id, ids), TimelineEvent.kind == "edit")
            .order_by(TimelineEvent.order_id, TimelineEvent.id)), key=lambda row: row[0]):
        edits[order_id] = [at for _, at in edit_rows]
    rows = session.execute(
        sa.select(Order.id, Order.ordered_at, Order.channel, Order.ship_to_country,
                  Customer.country, Order.ship_to_region, Customer.region, Order.customer_id,
                  Order.total, Order.subtotal, Order.discount_total, Order.shipping_charge,
                  Order.shipped_at, Order.delivered_at, Order.requested_date,
                  Order.promised_date, Order.status, Order.status_changed_at)
        .join(Customer, Customer.id == Order.customer_id)
        .where(_range(Order.id, ids)).order_by(Order.id))
    for (order_id, ordered_at, channel, ship_country, country, ship_region, region, customer_id,
         total, subtotal, discount, shipping, shipped_at, delivered_at, requested, promised,
         status, changed_at) in rows:
        facts = c.OrderFacts(
            id=order_id, ordered_at=ordered_at, channel=channel or "",
            country=ship_country or country or "", region=ship_region or region or "",
            customer_id=customer_id, total_cents=to_cents(total),
            subtotal_cents=to_cents(subtotal), discount_cents=to_cents(discount),
            shipping_cents=to_cents(shipping), lines=lines.get(order_id, []),
            shipped_at=shipped_at, delivered_at=delivered_at, requested_date=requested,
            promised_date=promised)
        yield facts, status, changed_at, events.get(order_id, []), edits.get(order_id, [])


def contribute(changes: c.Changes, facts: c.OrderFacts, status: str, changed_at: Any,
               events: list[tuple[str, Any]], edits: Iterable[Any] = ()) -> None:
    """Everything one order adds to the rollups, from what it says of itself now."""
    c.add_quality(changes, facts.day, facts.channel, "created")
    if status in c.SALE_STATUSES:
        c.add_sale(changes, facts)
    contribute_events(changes, facts, status, changed_at, events, edits)


def returned_on(status: str, changed_at: Any, events: list[tuple[str, Any]]) -> Any:
    """When a sale came back: its first ``returned`` event, else (no events) the last
    status change of an order that is returned; None if it did not."""
    if status not in c.SALE_STATUSES:
        return None
    returned_at = next((at for entered, at in events if entered == "returned"), None)
    if returned_at is None and status == "returned":
        returned_at = changed_at
    return returned_at


def contribute_events(changes: c.Changes, facts: c.OrderFacts, status: str, changed_at: Any,
                      events: list[tuple[str, Any]], edits: Iterable[Any] = (), *,
                      returns: bool = True) -> None:
    """What the order's events add: its return, shipment and delivery, the quality events
    (edits after submission, rejection, cancellation, return) and its step durations.
    Without ``returns`` the return is left to the caller (who reads the lines for it)."""
    edited = c.first_edit_after_submission(events, edits)
    if edited is not None:
        c.add_quality(changes, edited.date(), facts.channel, c.EDITED)
    entered = [entered for entered, _ in events]
    returned_at = returned_on(status, changed_at, events)
    if status in c.SALE_STATUSES:
        if returned_at is not None and returns:
            c.add_return(changes, facts, returned_at.date())
        c.add_shipped(changes, facts)
        c.add_delivered(changes, facts)
    for kind in c.QUALITY_STATUSES:
        for entered_status, at in events:
            if entered_status == kind:
                c.add_quality(changes, at.date(), facts.channel, kind)
        if kind == status and kind not in entered:
            c.add_quality(changes, changed_at.date(), facts.channel, kind)
    for step, _index, ended_at, seconds in c.step_durations(events):
        c.add_step(changes, facts.channel, step, ended_at, seconds)


def _refusals(session: Session, changes: c.Changes) -> None:
    for at, channel in session.execute(
            sa.select(sa.func.min(IntakeRefusal.at), sa.func.min(IntakeRefusal.channel))
            .group_by(IntakeRefusal.attempt)):
        c.add_quality(changes, at.date(), channel, "intake_refused")


def first_sales(session: Session) -> None:
    """Recompute every customer's first day with a sale (one statement)."""
    from erpkit_reporting.models import CustomerDaily

    session.execute(sa.delete(CustomerFirstSale))
    session.execute(sa.insert(CustomerFirstSale).from_select(
        ["customer_id", "day"],
        sa.select(CustomerDaily.customer_id, sa.func.min(CustomerDaily.day))
        .where(CustomerDaily.orders > 0).group_by(CustomerDaily.customer_id)))


@dataclass
class RebuildResult:
    orders: int
    rows: dict[str, int]
    #: Seconds of each part: "sales" and "spans" (set-based SQL), "events" (the pass over
    #: the timeline, beside the SQL), "events_after_sql" (what the rebuild waited for it
    #: after the SQL, and its rows written), "returns", "first_sales".
    seconds: dict[str, float] = field(default_factory=dict)


def steps_and_edits(session: Session, changes: c.Changes) -> int:
    """Add every order's step durations and first edit after submission to ``changes``
    (what ``contribute_events`` adds from the timeline): one pass over the status and edit
    events, oldest first per order, streamed. Returns how many orders were read.

    Millions of events are read, so the pass is lean: Core rows, times as naive UTC
    (:func:`_naive_utc_times`), each path of statuses planned once
    (:func:`~erpkit_reporting.contributions.step_plan`), the sums kept by key and added
    to ``changes`` at the end."""
    from erpkit_orders.models import Order, TimelineEvent

    at, parse = _naive_utc_times(session, TimelineEvent.at)
    statement = (
        sa.select(TimelineEvent.order_id, TimelineEvent.kind, TimelineEvent.to_status, at,
                  Order.channel)
        .join(Order, Order.id == TimelineEvent.order_id)
        .where(sa.or_(sa.and_(TimelineEvent.kind == "status",
                              TimelineEvent.to_status.is_not(None)),
                      TimelineEvent.kind == "edit"))
        .order_by(TimelineEvent.order_id, TimelineEvent.id)
        .execution_options(yield_per=CHUNK))
    rows = session.connection().execute(statement)
    steps: dict[tuple, list[int]] = {}
    edited: dict[tuple, int] = defaultdict(int)
    step_plan, spent = c.step_plan, c.seconds_spent
    count = 0
    for _order_id, group in groupby(rows, key=itemgetter(0)):
        order_rows = list(group)
        channel = order_rows[0][4] or ""
        status_rows = [row for row in order_rows if row[1] == "status"]
        statuses = tuple(row[2] or "" for row in status_rows)
        times = [parse(row[3]) for row in status_rows]
        if len(status_rows) < len(order_rows):  # edits: the first after submission counts
            submitted = c.submitted_index(statuses)
            if submitted is not None:
                first = min((when for when in (parse(row[3]) for row in order_rows
                                               if row[1] == "edit")
                             if when >= times[submitted]), default=None)
                if first is not None:
                    edited[(first.date(), channel)] += 1
        for step, start, end in step_plan(statuses):
            seconds = spent(times[start], times[end])
            key = (times[end].date(), step, channel, bucket_of(seconds))
            sums = steps.get(key)
            if sums is None:
                steps[key] = [1, seconds]
            else:
                sums[0] += 1
                sums[1] += seconds
        count += 1
    for (day, step, channel, bucket), (number, seconds) in steps.items():
        c.add_to(changes, "reporting_step_duration", (day, step, channel, bucket),
                 count=number, seconds=seconds)
    for (day, channel), number in edited.items():
        c.add_quality(changes, day, channel, c.EDITED, number)
    return count


def _naive_utc_times(session: Session, column: Any) -> tuple[Any, Any]:
    """``column`` to select and the function that makes it a naive datetime in UTC, for a
    pass that only subtracts, compares and takes dates of times of one column. On SQLite
    the stored text is parsed by ``datetime.fromisoformat`` (C) rather than by
    SQLAlchemy's type (a regular expression a value); PostgreSQL gives the UTC time
    itself, whatever the session's time zone."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.timezone("UTC", column), lambda value: value

    def parse(text: str) -> datetime:
        value = datetime.fromisoformat(text)
        # erpkit writes UTC without an offset; a row written with one is converted
        return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)

    return sa.cast(column, sa.String), parse


def _without_time_limit(session: Session) -> None:
    """Lift the app's per-statement time limit (``STATEMENT_TIMEOUT_MS``, set on every
    PostgreSQL connection for the web requests) for this transaction: one statement of a
    rebuild or check reads every order, far longer than a request may take."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL statement_timeout = 0"))


#: Memory the rebuild's sorts and groupings may use (SQLite's page cache, in KiB; and
#: PostgreSQL's ``work_mem``): the rollups of a million orders are grouped from millions
#: of lines, which spill to temporary files at the defaults (2 MB, 4 MB).
REBUILD_MEMORY_KIB = 512 * 1024


@contextmanager
def _memory_for_grouping(session: Session) -> Iterator[None]:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"SET LOCAL work_mem = '{REBUILD_MEMORY_KIB}kB'"))
        yield
        return
    previous = session.scalar(sa.text("PRAGMA cache_size"))
    session.execute(sa.text(f"PRAGMA cache_size = -{REBUILD_MEMORY_KIB}"))
    try:
        yield
    finally:  # the connection goes back to the pool: give the memory back
        session.execute(sa.text(f"PRAGMA cache_size = {int(previous)}"))


def _serial(seconds: dict[str, float]) -> float:
    """The seconds of the parts run one after the other (the timeline pass ran beside)."""
    return sum(spent for part, spent in seconds.items() if part != "events")


@contextmanager
def timeline_pass_beside(session: Session, *, beside: bool = True
                         ) -> Iterator[Future[tuple[c.Changes, float]]]:
    """Run :func:`steps_and_edits` in a thread on a connection of its own while the block
    runs the set-based SQL in ``session``: the future's result is the changes and the
    seconds the pass took.

    The pass is Python (one core) and the SQL waits on the database engine (SQLite
    releases the GIL while it runs a statement; PostgreSQL works in its own process), so
    the two overlap on a machine with two cores: at a million orders the pass took 25 to
    30 s beside 70 s of SQL (bench/README.md, "Issue 17, rebuild in under 2 minutes").
    It reads only orders and timeline events, which the rebuild does not write: on SQLite
    the rebuild's transaction holds the write lock, so the pass's snapshot (WAL) is the
    state the rebuild started from; on PostgreSQL it sees what is committed, as each of
    the rebuild's own statements does. The pass runs in ``session``, after the block,
    where another connection would not see the same orders: when not ``beside`` (the
    session's transaction was open before the rebuild, and may hold orders written and
    not committed), or where the engine has one connection (an in-memory SQLite
    database, a static pool)."""
    engine = session.get_bind().engine
    if not beside or isinstance(engine.pool, StaticPool) or (
            engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")):
        later: Future[tuple[c.Changes, float]] = Future()
        yield later
        later.set_result(_timeline_pass(session))
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-timeline") as pool:
        yield pool.submit(_timeline_pass_on_own_connection, engine)


def _timeline_pass_on_own_connection(engine: Any) -> tuple[c.Changes, float]:
    with Session(bind=engine) as own:
        read_only(own)
        try:
            return _timeline_pass(own)
        finally:
            own.rollback()


def _timeline_pass(session: Session) -> tuple[c.Changes, float]:
    started = time.perf_counter()
    _without_time_limit(session)
    changes = c.new_changes()
    steps_and_edits(session, changes)
    return changes, time.perf_counter() - started


def rebuild(session: Session) -> RebuildResult:
    """Empty the rollups and recompute them from every order, in the session's
    transaction; the caller commits.

    Set-based where the rows are many: the sales of every order and line (daily, by
    product, by month, by category, by customer, with the shipments and deliveries), the
    customer spans, the orders created and the rejections, cancellations and returns are
    one ``INSERT ... SELECT ... GROUP BY`` each (:mod:`erpkit_reporting.rebuild_sql`,
    integer cents rounded in SQL the way :func:`~erpkit_reporting.money.to_cents` does).
    The step durations and first edits after submission come from one streamed pass over
    the timeline (:func:`steps_and_edits`), by the rule the lifecycle hooks use, run in a
    thread beside that SQL (:func:`timeline_pass_beside`); the returns from the returned
    orders' lines alone. After the commit, :func:`tidy_after_rebuild` refreshes the
    statistics (``erpkit report rebuild`` calls it). ``erpkit report check`` compares all of
    it with the recomputation in Python."""
    # what this transaction wrote before the rebuild (orders of a loader, not yet
    # committed) only its own connection sees: then the timeline is read there too
    beside = not session.in_transaction()
    _without_time_limit(session)
    with _memory_for_grouping(session):
        return _rebuild(session, timeline_beside=beside)


def _rebuild(session: Session, *, timeline_beside: bool) -> RebuildResult:
    from erpkit_reporting.queries import period_sql
    from erpkit_reporting.rebuild_sql import (
        day_of,
        insert_customer_periods,
        insert_sales,
        returned_orders,
    )

    for model in ROLLUPS:
        session.execute(sa.delete(model))
    changes = c.new_changes()
    _refusals(session, changes)
    apply(session, changes, first_sales=False)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with timeline_pass_beside(session, beside=timeline_beside) as timeline:
        insert_sales(session)
        insert_customer_periods(session)  # before the returns: they add to both
        seconds["sales"] = time.perf_counter() - started
        insert_spans(session, lambda column: day_of(session, column),
                     lambda column: period_sql(session, column, "month"))
        seconds["spans"] = time.perf_counter() - started - sum(seconds.values())
        sql_done = time.perf_counter()
    changes, seconds["events"] = timeline.result()
    apply(session, changes, first_sales=False)
    seconds["events_after_sql"] = time.perf_counter() - sql_done
    returned = returned_orders(session)
    for ids in _chunks(session, returned):
        changes = c.new_changes()
        for facts, *_ in orders_facts(session, ids):
            c.add_return(changes, facts, returned[facts.id].date())
        apply(session, changes, first_sales=False)
    seconds["returns"] = time.perf_counter() - started - _serial(seconds)
    first_sales(session)
    customer_periods.refresh_first_revenue(session)
    seconds["first_sales"] = time.perf_counter() - started - _serial(seconds)
    from erpkit_orders.models import Order

    count = session.scalar(sa.select(sa.func.count(Order.id))) or 0
    rows = {model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model))
            or 0 for model in ROLLUPS}
    return RebuildResult(orders=count, rows=rows,
                         seconds={k: round(v, 1) for k, v in seconds.items()})


def tidy_after_rebuild(engine: sa.Engine) -> None:
    """After a rebuild is committed: refresh the planner's statistics of the rollups, and
    on PostgreSQL vacuum them too (``VACUUM (ANALYZE)``, which cannot run inside a
    transaction). Millions of rows were rewritten: with the old statistics PostgreSQL
    planned a year of customer rows as 67 (parallel bitmap scans), and every first read
    of a new row wrote its visibility hint; a two-year forecast took 208 ms right after a
    rebuild against 159 ms once its pages were settled (bench/README.md, "Issue 17,
    rebuild in under 2 minutes")."""
    tables = [model.__tablename__ for model in ROLLUPS]
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(tables)}")
        return
    with engine.begin() as connection:
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {table}")


def add_orders(session: Session, order_ids: Iterable[int]) -> int:
    """Add orders new to the rollups (a batch of history just written) in the session's
    transaction: their facts read in a few statements, one ``executemany`` of upserts per
    rollup table, their customers' first sales recomputed. Returns how many were added.
    Orders already counted must not be added again (the rollups would count them twice)."""
    count = 0
    for ids in _chunks(session, order_ids):
        changes = c.new_changes()
        customers = set()
        for row in orders_facts(session, ids):
            contribute(changes, *row)
            customers.add(row[0].customer_id)
            count += 1
        add_new_sales(session, changes, customers, set(ids))
        apply(session, changes)
    return count


def expected(session: Session) -> c.Changes:
    """The rollups as a recomputation from the orders gives them, in memory."""
    changes = c.new_changes()
    _refusals(session, changes)
    sales: dict[int, list[Any]] = defaultdict(list)
    for ids in _chunks(session, None):
        for row in orders_facts(session, ids):
            contribute(changes, *row)
            facts, status = row[0], row[1]
            if status in c.SALE_STATUSES:
                sales[facts.customer_id].append(facts.day)
    for days in sales.values():
        add_spans(changes, sorted(days))
    return changes


@dataclass(frozen=True)
class Drift:
    table: str
    key: tuple
    column: str
    stored: Any
    recomputed: Any

    def __str__(self) -> str:
        key = ", ".join(str(part) for part in self.key)
        return (f"{self.table} ({key}) {self.column}: stored {self.stored}, "
                f"recomputed {self.recomputed}")


def _stored(session: Session, table: sa.Table) -> dict[tuple, dict[str, Any]]:
    keys = [column.name for column in table.primary_key.columns]
    values = [column.name for column in table.columns if column.name not in keys]
    return {tuple(row[:len(keys)]): dict(zip(values, row[len(keys):], strict=True))
            for row in session.execute(sa.select(*[table.c[k] for k in keys],
                                                 *[table.c[v] for v in values]))}


def check(session: Session) -> list[Drift]:
    """Compare every rollup row with a recomputation from the orders; the differences.

    Rows of zeros (an order confirmed, then cancelled) count as absent."""
    _without_time_limit(session)
    recomputed = expected(session)
    drifts: list[Drift] = []
    for model in ROLLUPS:
        if model is CustomerFirstSale:
            continue
        table = Base.metadata.tables[model.__tablename__]
        stored = _stored(session, table)
        wanted = recomputed.get(table.name, {})
        value_columns = [col.name for col in table.columns if not col.primary_key]
        for key in set(stored) | set(wanted):
            have, want = stored.get(key, {}), wanted.get(key, {})
            for column in value_columns:
                default = None if column in c.EXTREMES else 0
                a, b = have.get(column, default), want.get(column, default)
                if (a or default) != (b or default):
                    drifts.append(Drift(table.name, key, column, a, b))
    drifts.extend(_first_sale_drift(session, recomputed))
    return drifts


def _first_sale_drift(session: Session, recomputed: c.Changes) -> list[Drift]:
    firsts: dict[int, Any] = {}
    for (day, customer_id, *_), values in recomputed.get("reporting_customer_daily", {}).items():
        if values.get("orders", 0) > 0 and (customer_id not in firsts or day < firsts[customer_id]):
            firsts[customer_id] = day
    periods = recomputed.get("reporting_customer_period", {})
    wanted = {customer_id: (day, *[
        periods.get((grain, period_start(day, by), customer_id), {}).get("revenue_cents", 0)
        for grain, by in c.CUSTOMER_GRAINS]) for customer_id, day in firsts.items()}
    stored = {row[0]: tuple(row[1:]) for row in session.execute(
        sa.select(CustomerFirstSale.customer_id, CustomerFirstSale.day,
                  *[getattr(CustomerFirstSale, f"{by}_cents") for _, by in c.CUSTOMER_GRAINS]))}
    columns = ("day", *[f"{by}_cents" for _, by in c.CUSTOMER_GRAINS])
    drifts = []
    for customer_id in set(stored) | set(wanted):
        have = stored.get(customer_id) or (None,) * len(columns)
        want = wanted.get(customer_id) or (None,) * len(columns)
        drifts += [Drift("reporting_customer_first_sale", (customer_id,), column, a, b)
                   for column, a, b in zip(columns, have, want, strict=True) if a != b]
    return drifts
