"""The benchmark workload: a seeded catalogue and a stream of orders pushed through the
real service functions, one transaction per transition, as the API does it.

Plugins are optional: the seed and the order's path adapt to what is installed
(inventory: a warehouse and stock receipts; approvals: a rule holding large orders and an
approver who approves them). Everything goes through the plugins' own service
functions, never through their tables.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from _common import current_rss_mib, has_plugin, progress

SEED = 20261107
LINES_PER_ORDER = 3
HELD_SHARE = 0.2  # about this share of orders is held for approval (when approvals is on)


@dataclass(frozen=True)
class Catalogue:
    """Ids and prices of what the seed created."""

    product_ids: list[int]
    prices: dict[int, Decimal]
    customer_ids: list[int]
    sales_id: int
    approver_id: int
    admin_id: int
    warehouse_id: int | None = None
    approval_threshold: Decimal | None = None


@dataclass(frozen=True)
class OrderSpec:
    customer_id: int
    lines: tuple[tuple[int, int], ...]  # (product id, quantity)

    def data(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "channel": "api",
            "lines": [{"product_id": p, "quantity": Decimal(q)} for p, q in self.lines],
        }

    def total(self, prices: dict[int, Decimal]) -> Decimal:
        return sum((prices[p] * q for p, q in self.lines), Decimal(0))


def order_specs(
    catalogue: Catalogue, count: int, seed: int = SEED, max_quantity: int = 10
) -> Iterator[OrderSpec]:
    """``count`` orders of three distinct random products each, the same for a given seed."""
    rng = random.Random(seed)
    for _ in range(count):
        products = rng.sample(catalogue.product_ids, LINES_PER_ORDER)
        yield OrderSpec(
            customer_id=rng.choice(catalogue.customer_ids),
            lines=tuple((p, rng.randint(1, max_quantity)) for p in products),
        )


# --- the seed ---------------------------------------------------------------------------


def seed_catalogue(
    app: Any,
    *,
    products: int = 200,
    customers: int = 500,
    stock_per_product: int | None = 10_000_000,
    hold_large_orders: bool = True,
    max_quantity: int = 10,
    seed: int = SEED,
) -> Catalogue:
    """Users, products, customers; stock and an approval rule when those plugins are on.

    ``stock_per_product=None`` leaves stock to the caller. ``max_quantity`` is the
    largest line quantity the orders will have (the approval threshold depends on it).
    """
    from erpkit.auth import create_user, ensure_builtin_roles
    from erpkit.db import db
    from erpkit_orders.models import Customer, Product

    rng = random.Random(seed)
    with app.app_context():
        session = db.session
        registry = app.extensions["erpkit"]
        ensure_builtin_roles(session, list(registry.permissions.values()))
        sales = create_user(session, "bench-sales", "bench-pass", ["sales"])
        approver = create_user(session, "bench-approver", "bench-pass", ["approver"])
        admin = create_user(session, "bench-admin", "bench-pass", ["admin"])
        rows = [
            Product(
                sku=f"BENCH-{i:05d}",
                name=f"Bench product {i}",
                unit_price=Decimal(rng.randint(100, 25_000)) / 100,
                category=f"cat-{i % 12}",
            )
            for i in range(products)
        ]
        session.add_all(rows)
        people = [
            Customer(name=f"Bench customer {i}", email=f"c{i}@bench.example", country="DE")
            for i in range(customers)
        ]
        session.add_all(people)
        session.commit()
        catalogue = Catalogue(
            product_ids=[p.id for p in rows],
            prices={p.id: p.unit_price for p in rows},
            customer_ids=[c.id for c in people],
            sales_id=sales.id,
            approver_id=approver.id,
            admin_id=admin.id,
        )
    if has_plugin(app, "inventory") and stock_per_product is not None:
        catalogue = receive_stock(app, catalogue, stock_per_product)
    if has_plugin(app, "approvals") and hold_large_orders:
        catalogue = add_approval_rule(app, catalogue, max_quantity)
    return catalogue


def receive_stock(app: Any, catalogue: Catalogue, quantity: int) -> Catalogue:
    """A warehouse and one receipt of ``quantity`` per product (inventory's services)."""
    import inventory_adapter

    warehouse_id = inventory_adapter.receive(app, catalogue, quantity)
    return _replace(catalogue, warehouse_id=warehouse_id)


def add_approval_rule(app: Any, catalogue: Catalogue, max_quantity: int = 10) -> Catalogue:
    """A rule that holds orders above the total that about HELD_SHARE of orders exceed."""
    import approvals_adapter

    sample = order_specs(catalogue, 2000, seed=SEED + 99, max_quantity=max_quantity)
    totals = sorted(s.total(catalogue.prices) for s in sample)
    threshold = totals[int(len(totals) * (1 - HELD_SHARE))].quantize(Decimal("0.01"))
    approvals_adapter.add_rule(app, catalogue, threshold)
    return _replace(catalogue, approval_threshold=threshold)


def _replace(catalogue: Catalogue, **changes: Any) -> Catalogue:
    from dataclasses import replace

    return replace(catalogue, **changes)


# --- one order through the pipeline -----------------------------------------------------


@dataclass
class StageTimes:
    """Seconds spent per stage, summed over orders, and how orders ended."""

    create: float = 0.0
    submit: float = 0.0
    approve: float = 0.0
    orders: int = 0
    held: int = 0
    refused: int = 0
    failed: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    rss_mib: list[float | None] = field(default_factory=list)  # sampled every tenth of N
    # CPU time of this process (with SQLite, the database's work too): on a shared
    # machine it varies less than wall-clock time.
    cpu_seconds: float = 0.0

    def as_dict(self, digits: int = 3) -> dict[str, Any]:
        total = self.create + self.submit + self.approve
        per_order = 1000 * total / self.orders if self.orders else 0.0
        return {
            "seconds": {
                "create": round(self.create, digits),
                "submit_rules_confirm_reserve": round(self.submit, digits),
                "approve_confirm_reserve": round(self.approve, digits),
                "total": round(total, digits),
            },
            "ms_per_order": {
                "create": round(1000 * self.create / max(self.orders, 1), 3),
                "submit_rules_confirm_reserve": round(1000 * self.submit / max(self.orders, 1), 3),
                "approve_confirm_reserve": round(1000 * self.approve / max(self.held, 1), 3),
                "all_stages": round(per_order, 3),
            },
            "process_cpu_seconds": round(self.cpu_seconds, digits),
            "orders": self.orders,
            "held_for_approval": self.held,
            "confirmation_refused": self.refused,
            "failed": self.failed,
            "final_status": dict(sorted(self.statuses.items())),
            "errors": self.errors,
            "rss_mib_every_tenth": self.rss_mib,
        }


class Observer:
    """Told when each transition starts and ends (the floor's write recorder listens)."""

    def start(self, name: str) -> None:
        pass

    def end(self, committed: bool) -> None:
        pass


_ACTORS: dict[int, Any] = {}


def _user(session: Any, user_id: int) -> Any:
    """The acting user in ``session``, without a query.

    Finding the user of a request (token, roles) is the web layer's cost, measured by
    at_scale.py; the pipeline measures the service functions.
    """
    from erpkit.models import User

    detached = _ACTORS.get(user_id)
    if detached is None:
        detached = session.get(User, user_id)
        detached.roles  # noqa: B018  (loaded now, so the detached copy has them)
        session.expunge(detached)
        _ACTORS[user_id] = detached
    return session.merge(detached, load=False)


def _id_of(order: Any) -> int:
    # The commit expired the order; its identity needs no query (``order.id`` would
    # reload the whole order, which the pipeline does not need).
    return int(sa.inspect(order).identity[0])


def status_of(session: Any, order_id: int) -> str:
    """The order's status after a step that did not hand the order back (a query)."""
    from erpkit_orders.models import Order

    return str(session.scalar(sa.select(Order.status).where(Order.id == order_id)))


def _step(app: Any, observer: Observer | None, name: str, call: Callable[[Any], Any]) -> Any:
    """One transition in an app context of its own, as one request would run it."""
    from erpkit.db import db

    if observer is not None:
        observer.start(name)
    committed = False
    try:
        with app.app_context():
            result = call(db.session)
        committed = True
        return result
    finally:
        if observer is not None:
            observer.end(committed)


def run_order(
    app: Any,
    catalogue: Catalogue,
    spec: OrderSpec,
    times: StageTimes,
    *,
    observer: Observer | None = None,
) -> str:
    """Create, submit (rules, approve, confirm, reserve) and, when held, approve one order.

    Returns the order's final status.
    """
    from erpkit_orders import lifecycle
    from erpkit_orders.intake import create_order

    clock = time.perf_counter

    def create(session: Any) -> int:
        actor = _user(session, catalogue.sales_id)
        order = create_order(session, spec.data(), actor=actor).order
        return _id_of(order)

    started = clock()
    order_id = _step(app, observer, "create", create)
    times.create += clock() - started

    def submit(session: Any) -> str:
        actor = _user(session, catalogue.sales_id)
        # The door hands back the order as it committed it, loaded (as the API answers
        # with it): its status needs no query.
        return str(lifecycle.submit(session, order_id, actor=actor).status)

    started = clock()
    status = _step(app, observer, "submit", submit)
    times.submit += clock() - started

    if status == "pending_approval":
        import approvals_adapter

        def approve(session: Any) -> str:
            return approvals_adapter.approve(
                session, order_id, _user(session, catalogue.approver_id)
            )

        times.held += 1
        started = clock()
        status = _step(app, observer, "approve", approve)
        times.approve += clock() - started
    if status == "approved":  # approved, but confirmation was refused (stock ran out)
        times.refused += 1
    times.orders += 1
    times.statuses[status] = times.statuses.get(status, 0) + 1
    return status


def run_pipeline(
    app: Any,
    catalogue: Catalogue,
    count: int,
    *,
    seed: int = SEED,
    observer: Observer | None = None,
    report_every: int = 1000,
    interlude: Callable[[], None] | None = None,
    interlude_every: int = 250,
) -> tuple[StageTimes, float]:
    """Push ``count`` orders through; return the stage times and the wall-clock seconds.

    ``interlude`` runs every ``interlude_every`` orders and at the end (the floor's
    replay, so both see the same load on a shared machine); its time is not counted.
    """
    clock, cpu = time.perf_counter, time.process_time
    times = StageTimes()
    started, cpu_started = clock(), cpu()
    paused = cpu_paused = 0.0
    for index, spec in enumerate(order_specs(catalogue, count, seed), start=1):
        run_order(app, catalogue, spec, times, observer=observer)
        if interlude is not None and (index % interlude_every == 0 or index == count):
            pause, cpu_pause = clock(), cpu()
            interlude()
            paused += clock() - pause
            cpu_paused += cpu() - cpu_pause
        if index % max(count // 10, 1) == 0:
            times.rss_mib.append(current_rss_mib())
        if index % report_every == 0:
            elapsed = clock() - started - paused
            progress(f"  {index}/{count} orders, {index / elapsed:.0f} orders/s")
    times.cpu_seconds = cpu() - cpu_started - cpu_paused
    return times, clock() - started - paused


def status_counts(app: Any) -> dict[str, int]:
    from erpkit.db import db
    from erpkit_orders.models import Order

    with app.app_context():
        rows = db.session.execute(sa.select(Order.status, sa.func.count()).group_by(Order.status))
        return {status: count for status, count in rows}
