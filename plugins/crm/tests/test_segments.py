"""RFM scores and segments of a generated customer base equal an independent computation
over the same rows; incremental scoring on delivery and return; the command line."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from erpkit_crm import segments
from erpkit_crm.models import CustomerScore, ReturnedOrder
from erpkit_orders import lifecycle
from erpkit_orders.models import Customer, Order

AS_OF = date(2026, 6, 30)
STATUSES = ["delivered"] * 6 + ["closed"] * 2 + ["confirmed", "cancelled", "returned", "draft"]


def generate_base(session, customers: int = 120, seed: int = 14) -> None:
    """Customers with 0-9 orders of random totals, dates and statuses, written as an
    import of history would; a few delivered-then-returned (and closed) orders."""
    rng = random.Random(seed)
    people = [Customer(name=f"Customer {i}") for i in range(customers)]
    session.add_all(people)
    session.flush()
    number = 0
    for person in people:
        for _ in range(rng.choice([0, 1, 1, 2, 3, 4, 6, 9])):
            number += 1
            total = Decimal(rng.randrange(500, 90_000)) / 100
            at = datetime(2024, 1, 1, 9, tzinfo=UTC) + timedelta(days=rng.randrange(0, 900),
                                                                 hours=rng.randrange(0, 12))
            order = Order(number=f"H-{number}", channel="import", currency="EUR",
                          customer_id=person.id, status=rng.choice(STATUSES), total=total,
                          subtotal=total, ordered_at=at, imported_as_history=True)
            session.add(order)
            if order.status == "closed" and rng.random() < 0.3:
                session.flush()
                session.add(ReturnedOrder(order_id=order.id))
    session.commit()


def independent_scores(rows, returned, table):
    """Plain Python over (customer, status, total, ordered_at): the documented formula."""
    figures: dict[int, list] = {}
    for customer_id, order_id, status, total, at in rows:
        if status not in ("delivered", "closed") or order_id in returned:
            continue
        entry = figures.setdefault(customer_id, [0, Decimal(0), date.min])
        entry[0] += 1
        entry[1] += Decimal(str(total)).quantize(Decimal("0.01"))
        entry[2] = max(entry[2], at.date())
    n = len(figures)

    def score(value, values):
        worse = sum(1 for v in values if v < value)
        return 1 + (5 * worse) // n

    lasts = [f[2] for f in figures.values()]
    counts = [f[0] for f in figures.values()]
    money = [f[1] for f in figures.values()]
    result = {}
    for customer_id, (count, revenue, last) in figures.items():
        r, f, m = score(last, lasts), score(count, counts), score(revenue, money)
        name = next((s.name for s in table if s.r[0] <= r <= s.r[1] and s.f[0] <= f <= s.f[1]
                     and s.m[0] <= m <= s.m[1]), None)
        result[customer_id] = ((AS_OF - last).days, r, f, m, name, count, revenue)
    return result


def stored_scores(session):
    return {s.customer_id: (s.recency_days, s.r_score, s.f_score, s.m_score, s.segment,
                            s.order_count, Decimal(s.revenue_cents) / 100)
            for s in session.scalars(sa.select(CustomerScore))}


def test_rfm_scores_and_segments_equal_an_independent_computation(shop):
    session = shop.session
    generate_base(session)
    rows = session.execute(sa.select(Order.customer_id, Order.id, Order.status, Order.total,
                                     Order.ordered_at)).all()
    returned = set(session.scalars(sa.select(ReturnedOrder.order_id)))

    result = segments.recompute(session, AS_OF)
    session.commit()

    expected = independent_scores(rows, returned, segments.DEFAULT_SEGMENTS)
    assert result.customers == len(expected) > 50
    assert stored_scores(session) == expected
    assert {v[4] for v in expected.values()} >= {"champions", "lost", "loyal"}
    assert all(v[4] is not None for v in expected.values())  # the default table covers all


def test_an_edited_segment_table_applies_at_the_next_recompute(shop, as_role):
    generate_base(shop.session, customers=40)
    admin = as_role("admin")
    table = {"rows": [{"name": "best", "r_min": 5, "m_min": 4}, {"name": "rest"}]}
    assert admin.put("/api/crm/segments", json=table).status_code == 200
    answer = admin.post("/api/crm/segments/recompute", json={"as_of": AS_OF.isoformat()})
    assert answer.status_code == 200, answer.get_json()

    scores = shop.session.scalars(sa.select(CustomerScore)).all()
    assert {s.segment for s in scores} == {"best", "rest"}
    assert all((s.segment == "best") == (s.r_score == 5 and s.m_score >= 4) for s in scores)
    bad = admin.put("/api/crm/segments", json={"rows": [{"name": "x", "r_min": 0}]})
    assert bad.status_code == 422


def test_a_segment_named_twice_is_refused_naming_the_row_and_the_table_stays(shop, as_role):
    admin = as_role("admin")
    table = {"rows": [{"name": "best", "r_min": 5}, {"name": "rest"}]}
    assert admin.put("/api/crm/segments", json=table).status_code == 200

    twice = admin.put("/api/crm/segments", json={"rows": [{"name": "a"}, {"name": "a"}]})

    assert twice.status_code == 422, twice.get_json()
    errors = twice.get_json()["errors"]
    assert any(e.get("field") == "rows.1.name" and "named twice" in e["message"]
               for e in errors), errors
    rows = admin.get("/api/crm/segments").get_json()["items"]
    assert [row["name"] for row in rows] == ["best", "rest"]


def test_a_delivered_order_scores_its_customer_and_a_return_takes_it_back(shop):
    ada, bob = shop.customer("Ada Ltd"), shop.customer("Bob Ltd")
    for customer, lines in ((bob, {"TIE": 1}), (ada, {"SUIT": 1})):
        order = shop.order(customer, lines)
        lifecycle.ship(shop.session, order.id, actor="warehouse")
        lifecycle.deliver(shop.session, order.id, actor="warehouse")
        shop.session.commit()
    score = shop.session.get(CustomerScore, ada.id)
    assert (score.order_count, score.revenue_cents, score.m_score) == (1, 40000, 3)
    # scored against Bob's stored figures: more revenue (worse = 1 of n = 2)
    assert segments.order_facts(shop.session, ada.id)["crm.lifetime_revenue"] == Decimal(
        "400.00")
    delivered = shop.session.scalar(sa.select(Order.id).where(Order.customer_id == ada.id))
    lifecycle.return_order(shop.session, delivered, actor="warehouse")
    lifecycle.close(shop.session, delivered, actor="warehouse")
    shop.session.commit()
    assert shop.session.get(CustomerScore, ada.id) is None
    assert segments.order_facts(shop.session, ada.id)["crm.order_count"] == 0


def test_erpkit_crm_segments_recompute(shop, cli):
    generate_base(shop.session, customers=30)
    result = cli("crm", "segments", "recompute", "--as-of", AS_OF.isoformat(), "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["as_of"] == AS_OF.isoformat() and figures["customers"] > 10
    shop.session.expire_all()
    assert shop.session.scalar(sa.select(sa.func.count()).select_from(CustomerScore)) \
        == figures["customers"]
    assert cli("crm", "segments", "recompute", "--as-of", "yesterday").exit_code != 0


def test_the_workers_recompute_segments_periodically(app, shop):
    import time

    from erpkit.db import db
    from erpkit.jobs import embedded_worker, jobs_of

    generate_base(shop.session, customers=30)
    shop.set("crm.segments_recompute_seconds", "1")
    jobs_of(app).huey.flush()
    scored = 0
    with embedded_worker(app, workers=1):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not scored:
            time.sleep(0.5)
            with app.app_context():
                scored = db.session.scalar(sa.select(sa.func.count())
                                           .select_from(CustomerScore)) or 0
                db.session.commit()
    assert scored > 10
