"""The rollups agree with the orders (and the check says when not); the hooks; one
interface for the CLI, the API and the exports; who may read reports."""

from __future__ import annotations

import csv
import io
import json
import threading
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from erpkit.db import configure_engine, db
from erpkit.testing import make_plugin
from erpkit_orders import lifecycle
from erpkit_orders.models import Customer, Order, TimelineEvent
from erpkit_reporting.catalogue import Column, Filter, Report, Result
from erpkit_reporting.export import safe_cell, write_csv
from erpkit_reporting.models import CustomerSpan, DailyProductSales, DailySales, StepDuration
from erpkit_reporting.rebuild import check, rebuild

from .conftest import migrate_again_from

FAR = {"from": "2000-01-01", "to": "2100-01-01"}


def test_the_hooks_keep_the_rollups_equal_to_a_recomputation(app, company):
    with app.app_context():
        assert check(db.session) == []
        before = {tuple(r) for r in db.session.execute(sa.select(DailySales.__table__))}
        rebuild(db.session)
        db.session.commit()
        after = {tuple(r) for r in db.session.execute(sa.select(DailySales.__table__))}
        # the rebuild is set-based SQL plus the events in Python; the check recomputes
        # every order in Python: they agree on every rollup, row by row
        assert check(db.session) == []
    # a rebuild of the live orders changes nothing but rows left at zero by cancellations
    assert {r for r in after} <= before


def _threads_reading_the_timeline(engine: Any) -> Any:
    """Record the thread of every statement of the rebuild's pass over the timeline (the
    one that selects each event's kind and status), on ``engine`` (or every engine:
    ``sa.Engine``)."""
    names: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "SELECT orders_timeline_event.order_id, orders_timeline_event.kind" in statement:
            names.append(threading.current_thread().name)

    sa.event.listen(engine, "before_cursor_execute", seen)
    return names, lambda: sa.event.remove(engine, "before_cursor_execute", seen)


def test_the_timeline_is_read_beside_the_sql_or_after_it_on_one_connection(
        app, company, database_url):
    """The pass over the timeline runs in a thread of its own beside the rebuild's SQL;
    on an engine of one connection (a static pool, an in-memory SQLite database) it runs
    after the SQL, in the rebuild's session. The rollups are the same either way."""
    step_rows = sa.select(StepDuration.__table__).order_by(*StepDuration.__table__.primary_key)
    with app.app_context():
        names, stop = _threads_reading_the_timeline(db.engine)
        rebuild(db.session)
        db.session.commit()
        stop()
        assert names and all(name.startswith("rebuild-timeline") for name in names)
        beside = db.session.execute(step_rows).all()
    engine = sa.create_engine(database_url, poolclass=StaticPool)
    configure_engine(engine)
    try:
        names, stop = _threads_reading_the_timeline(engine)
        with Session(engine) as session:
            result = rebuild(session)
            session.commit()
            stop()
            assert names and set(names) == {threading.current_thread().name}
            assert session.execute(step_rows).all() == beside and beside
            assert check(session) == []
        assert result.seconds["events"] >= 0
    finally:
        engine.dispose()


def test_erpkit_report_rebuild_reads_the_timeline_beside_the_sql(app, company, cli):
    names, stop = _threads_reading_the_timeline(sa.Engine)
    try:
        rebuilt = cli("report", "rebuild")
    finally:
        stop()
    assert rebuilt.exit_code == 0, rebuilt.output
    assert names and all(name.startswith("rebuild-timeline") for name in names)


def test_orders_written_in_the_rebuilds_own_transaction_count_in_its_timeline_pass(
        app, company):
    """A loader that writes orders and rebuilds before it commits: another connection
    would not see them, so the pass reads the timeline in the session's transaction."""
    day = datetime(2031, 5, 4, 9, tzinfo=UTC)  # no order of the company is that day
    with app.app_context():
        session = db.session
        customer = session.scalars(sa.select(Customer).order_by(Customer.id).limit(1)).one()
        order = Order(number="UNCOMMITTED-1", channel="web", customer_id=customer.id,
                      currency="EUR", status="submitted", ordered_at=day, created_at=day,
                      imported_as_history=True)
        session.add(order)
        session.flush()
        session.add_all([TimelineEvent(order_id=order.id, at=at, kind="status",
                                       to_status=status, message="")
                         for status, at in (("draft", day),
                                            ("submitted", day + timedelta(hours=5)))])
        session.flush()
        names, stop = _threads_reading_the_timeline(db.engine)
        try:
            rebuild(session)
        finally:
            stop()
        assert names == [threading.current_thread().name]
        steps = session.execute(sa.select(StepDuration.step, StepDuration.count,
                                          StepDuration.seconds)
                                .where(StepDuration.day == day.date())).all()
        assert steps == [("created", 1, 5 * 3600)]
        assert check(session) == []
        session.rollback()


def test_the_drift_check_finds_a_hand_made_inconsistency(app, company, cli):
    with app.app_context():
        db.session.execute(sa.update(DailyProductSales).where(
            DailyProductSales.day == date.today()).values(
                revenue_cents=DailyProductSales.revenue_cents + 1))
        db.session.commit()
        drifts = check(db.session)
        assert drifts and {d.table for d in drifts} == {"reporting_daily_product_sales"}
        assert all(d.column == "revenue_cents" and d.stored == d.recomputed + 1 for d in drifts)
    drifted = cli("report", "check")
    assert drifted.exit_code == 1
    assert "drift: reporting_daily_product_sales" in drifted.output
    rebuilt = cli("report", "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    agreed = cli("report", "check")
    assert agreed.exit_code == 0 and "the rollups match the orders" in agreed.output


def test_the_drift_check_finds_a_hand_made_inconsistency_in_the_customer_spans(app, company):
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerSpan)) > 0
        # one span too many (a customer's sales counted as closer together than they are)
        db.session.execute(sa.update(CustomerSpan).where(CustomerSpan.apart == 1).values(
            count=CustomerSpan.count + 1))
        db.session.commit()
        drifts = check(db.session)
        assert drifts and {d.table for d in drifts} == {"reporting_customer_span"}
        assert all(d.key[1] == 1 and d.stored == (d.recomputed or 0) + 1 for d in drifts)
        rebuild(db.session)
        db.session.commit()
        assert check(db.session) == []


def test_cancelling_a_sale_between_two_others_joins_its_neighbours_spans(app, company):
    from erpkit_orders.intake import create_order
    from erpkit_orders.models import Customer

    with app.app_context():
        session = db.session
        customer = Customer(name="Three orders", email="three@example.com", code="C-THREE")
        session.add(customer)
        session.commit()
        made = []
        for _ in range(3):
            order = create_order(session, {"customer_id": customer.id, "channel": "web",
                                           "lines": [{"sku": "P01", "quantity": 1}]}).order
            lifecycle.submit(session, order)
            session.commit()
            made.append(order.id)
        assert check(db.session) == []
        lifecycle.cancel(session, made[1])
        session.commit()
        assert check(db.session) == []


def test_a_refused_transition_leaves_the_rollups_as_they_were(app, make_app, company):
    from erpkit import TransitionRefused

    def refuse(order, transition):
        raise TransitionRefused("no delivery today")

    refusing = make_app(make_plugin("refuser", erpkit_order_delivered=refuse))
    with refusing.app_context():
        session = db.session
        before = session.scalar(sa.select(sa.func.sum(DailySales.delivered_orders)))
        shipped = session.scalar(sa.text("SELECT id FROM orders_order WHERE status='shipped'"))
        try:
            lifecycle.deliver(session, shipped)
        except TransitionRefused:
            session.rollback()
        assert session.scalar(sa.select(sa.func.sum(DailySales.delivered_orders))) == before
        assert check(session) == []


def test_hook_erpkit_order_intake_refused(make_app, users, company):
    calls = []

    def erpkit_order_intake_refused(channel, problems, actor, session):
        calls.append((channel, [p.field for p in problems], getattr(actor, "login", None),
                      session.in_transaction()))

    application = make_app(make_plugin(
        "spy", erpkit_order_intake_refused=erpkit_order_intake_refused))
    client = application.test_client()
    response = client.post("/api/orders", headers=users.headers("sales"),
                           json={"customer_id": company.customer_ids[0], "channel": "phone",
                                 "lines": [{"sku": "P00", "quantity": "-1"}]})
    assert response.status_code == 422
    assert calls == [("phone", [p["field"] for p in response.json["errors"]], "sales", True)]
    accepted = client.post("/api/orders", headers=users.headers("sales"),
                           json={"customer_id": company.customer_ids[0], "channel": "phone",
                                 "lines": [{"sku": "P00", "quantity": "1"}]})
    assert accepted.status_code == 201 and len(calls) == 1


def test_hook_erpkit_reporting_reports_and_filters(make_app, users, company):
    """Another plugin adds a report and a customer filter; both reach the API."""
    def run(session, params):
        ids = sorted(params.customer_ids or ())
        return Result([{"customer_id": i} for i in ids], {"customers": len(ids)},
                      [Column("customer_id", "Customer")])

    vip = set(company.customer_ids[:2])
    plugin = make_plugin(
        "crmlike",
        erpkit_reporting_reports=lambda: [Report("vip-list", "VIP", "The VIPs.", run,
                                                 filters=("customer_group",))],
        erpkit_reporting_filters=lambda: [Filter("customer_group", "crm customer group",
                                                 customers=lambda s, v: vip if v == "vip"
                                                 else set())])
    client = make_app(plugin).test_client()
    headers = users.headers("analyst")
    listing = client.get("/api/reports", headers=headers).json["reports"]
    assert "vip-list" in [r["name"] for r in listing]
    body = client.get("/api/reports/vip-list?customer_group=vip", headers=headers).json
    assert [r["customer_id"] for r in body["rows"]] == sorted(vip)
    by_customer = client.get("/api/reports/sales-by-customer",
                             query_string={**FAR, "customer_group": "vip"}, headers=headers).json
    assert {r["customer_id"] for r in by_customer["rows"]} <= vip


def test_customer_group_is_refused_when_no_plugin_provides_it(as_role, company):
    response = as_role("analyst").get("/api/reports/sales-by-customer?customer_group=vip")
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "customer_group"
    assert "no installed plugin provides" in response.json["errors"][0]["message"]


def test_bad_parameters_are_refused_with_the_field_and_the_reason(as_role, company):
    api = as_role("analyst")
    for query, field in (("from=2026-13-01", "from"), ("by=fortnight", "by"),
                         ("from=2026-02-01&to=2026-01-01", "from"), ("colour=red", "colour")):
        response = api.get(f"/api/reports/sales?{query}")
        assert response.status_code == 422, query
        assert response.json["errors"][0]["field"] == field
    assert api.get("/api/reports/no-such-report").status_code == 404


def test_only_roles_with_reporting_view_read_reports(as_role, company):
    assert as_role("analyst").get("/api/reports").status_code == 200
    assert as_role("admin").get("/api/reports/sales").status_code == 200
    assert as_role("sales").get("/api/reports").status_code == 403
    assert as_role("warehouse").get("/api/reports/sales").status_code == 403


def test_the_cli_runs_a_report_in_every_format(cli, tmp_path, as_role, company):
    api_body = as_role("analyst").get("/api/reports/sales-by-country", query_string=FAR).json
    out = cli("report", "sales-by-country", "--from", FAR["from"], "--to", FAR["to"],
              "--format", "json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["totals"] == api_body["totals"]
    table = cli("report", "sales-by-country", "--from", FAR["from"], "--to", FAR["to"])
    assert api_body["totals"]["revenue"] in table.output
    target = tmp_path / "r.csv"
    cli("report", "sales-by-country", "--from", FAR["from"], "--format", "csv",
        "--output", str(target))
    rows = list(csv.reader(target.open()))
    assert rows[0][:2] == ["Country", "Revenue"]
    assert sum(Decimal(r[1]) for r in rows[1:]) == Decimal(api_body["totals"]["revenue"])
    xlsx = tmp_path / "r.xlsx"
    made = cli("report", "sales-by-country", "--from", FAR["from"], "--format", "xlsx",
               "--output", str(xlsx))
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(xlsx) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()
    bad = cli("report", "sales", "--from", "yesterday")
    assert bad.exit_code == 1 and "from:" in bad.output


def test_csv_cells_that_look_like_formulas_are_neutralised():
    result = Result([{"name": "=HYPERLINK(\"x\")", "n": Decimal("-5.00")},
                     {"name": "+1", "n": Decimal("2.00")}, {"name": "@SUM(A1)", "n": 1},
                     {"name": "-2", "n": 0}, {"name": "plain", "n": None}],
                    {}, [Column("name", "Name", "text"), Column("n", "N", "money")])
    buffer = io.StringIO()
    write_csv(result, buffer)
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"x\")", "'+1", "'@SUM(A1)", "'-2", "plain"]
    assert rows[1][1] == "-5.00"  # numbers stay numbers
    assert safe_cell("ok") == "ok"


def test_the_console_reports_page_and_exports(client, users, company):
    from .test_dashboard import login

    login(client, users, "analyst")
    page = client.get("/admin/reporting/reports/")
    assert page.status_code == 200 and b"sales-by-product" in page.data
    report = client.get("/admin/reporting/reports/sales-by-channel", query_string=FAR)
    assert report.status_code == 200 and b"data-testid=\"report-rows\"" in report.data
    exported = client.get("/admin/reporting/reports/sales-by-channel",
                          query_string={**FAR, "format": "csv"})
    assert exported.mimetype == "text/csv" and exported.data.startswith(b"Channel,Revenue")
    refused = client.get("/admin/reporting/reports/sales?by=fortnight")
    assert refused.status_code == 422 and b"is not a period" in refused.data


def test_the_spans_migration_fills_them_from_the_orders_already_there(app, company,
                                                                     database_url):
    # a database upgraded to reporting_0004 with orders in it needs no rebuild
    tables = migrate_again_from(app, database_url, "reporting_0003")
    assert "reporting_customer_span" not in tables
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerSpan)) > 0
        assert check(db.session) == []
