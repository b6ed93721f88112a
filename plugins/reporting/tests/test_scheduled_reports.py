"""Scheduled reports: an admin schedules a report, the core's job service mails it with
the period filled in, as XLSX and CSV through a real SMTP server, and logs the sending."""

from __future__ import annotations

import csv
import email
import io
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from email import policy
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit.jobs import JobContext
from erpkit.models import User
from erpkit.testing import PASSWORD

from . import oracle


def _last_month(today: date) -> tuple[date, date]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


@pytest.fixture
def analysts(app, users) -> list[str]:
    """Two analysts and a seller, each with an e-mail address."""
    for login, role in (("ana", "analyst"), ("bea", "analyst"), ("sam", "sales")):
        users.create(login, role)
    with app.app_context():
        for user in db.session.scalars(sa.select(User).where(
                User.login.in_(["ana", "bea", "sam"]))):
            user.email = f"{user.login}@example.com"
        db.session.commit()
    return ["ana@example.com", "bea@example.com"]


def _sweep(app) -> None:
    """What the periodic task reporting.schedule_sweep runs, in a transaction of its own."""
    from erpkit_reporting.schedules import sweep

    with app.app_context():
        sweep(JobContext(session=db.session, registry=app.extensions["erpkit"], run=None,
                         config=app.config))
        db.session.commit()


def _attachments(message_text: str) -> dict[str, bytes]:
    message = email.message_from_string(message_text, policy=policy.default)
    return {part.get_filename(): part.get_payload(decode=True)
            for part in message.iter_attachments()}


def test_a_monthly_schedule_mails_last_months_report_as_xlsx_and_csv_to_a_role(
        app, company, as_role, analysts, smtp, worker):
    admin = as_role("admin")
    created = admin.post("/api/reports/schedules", json={
        "report": "sales-by-country", "frequency": "monthly", "formats": ["xlsx", "csv"],
        "recipients": ["role:analyst"]})
    assert created.status_code == 201, created.json
    schedule_id = created.json["id"]

    _sweep(app)
    messages = smtp.wait_for(2, timeout=30)
    assert sorted(to for recipients, _ in messages for to in recipients) == analysts

    first, last = _last_month(date.today())
    with app.app_context():
        orders = oracle.load(db.session)
        db.session.commit()
    expected = oracle.revenue_by(orders, lambda o, _day: o.country or "", first, last)
    ordered = defaultdict(int)
    for o in oracle.sales(orders):
        if first <= o.day <= last:
            ordered[o.country or ""] += 1

    files = _attachments(messages[0][1])
    stem = f"sales-by-country_{first.isoformat()}_{last.isoformat()}"
    assert set(files) == {f"{stem}.xlsx", f"{stem}.csv"}
    sheet = openpyxl.load_workbook(io.BytesIO(files[f"{stem}.xlsx"])).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("Country", "Revenue", "Orders")
    got = {(country or ""): Decimal(str(revenue)).quantize(Decimal("0.01"))
           for country, revenue, *_ in rows}
    assert got == {k: v for k, v in expected.items() if v or ordered.get(k)}
    assert {(country or ""): n for country, _r, n, *_ in rows} == {
        k: ordered.get(k, 0) for k in got}
    assert sum(got.values()) == sum(expected.values())
    table = list(csv.reader(io.StringIO(files[f"{stem}.csv"].decode())))
    assert {row[0]: Decimal(row[1]) for row in table[1:]} == got

    # each sending is logged; the next sweep finds the period sent and mails nothing
    log = admin.get(f"/api/reports/schedules/{schedule_id}").json["sendings"]
    assert [(s["from"], s["to"], s["status"], s["rows"]) for s in log] == [
        (first.isoformat(), last.isoformat(), "sent", len(rows))]
    assert log[0]["addresses"] == analysts
    _sweep(app)
    assert len(smtp.wait_for(3, timeout=2)) == 2


def test_a_daily_schedule_with_parameters_fills_in_yesterday(app, company, as_role, analysts,
                                                            smtp, worker):
    admin = as_role("admin")
    # Switched off, so that only the sending asked by hand is mailed: the worker's first
    # sweep (at its first tick, which a loaded machine may delay past this point) would
    # mail the schedule's own sending of yesterday too.
    created = admin.post("/api/reports/schedules", json={
        "report": "sales", "frequency": "daily", "params": {"by": "day", "channel": "web"},
        "formats": ["xlsx"], "recipients": ["ana"], "active": False})
    assert created.status_code == 201, created.json
    sent = admin.post(f"/api/reports/schedules/{created.json['id']}/send")
    assert sent.status_code == 202
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert sent.json["from"] == sent.json["to"] == yesterday
    [(to, message)] = smtp.wait_for(1, timeout=30)
    assert to == ["ana@example.com"]
    assert f"Report sales, {yesterday}" in email.message_from_string(
        message, policy=policy.default)["Subject"]
    [name] = _attachments(message)
    assert name == f"sales_{yesterday}_{yesterday}.xlsx"


@pytest.mark.parametrize(("body", "field"), [
    ({"report": "nope", "frequency": "daily", "recipients": ["ana"]}, "report"),
    ({"report": "sales", "frequency": "hourly", "recipients": ["ana"]}, "frequency"),
    ({"report": "sales", "frequency": "daily", "recipients": []}, "recipients"),
    ({"report": "sales", "frequency": "daily", "recipients": ["nobody"]}, "recipients"),
    ({"report": "sales", "frequency": "daily", "recipients": ["ana"], "formats": ["pdf"]},
     "formats"),
    ({"report": "sales", "frequency": "daily", "recipients": ["ana"],
      "params": {"colour": "red"}}, "params.colour"),
    ({"report": "sales", "frequency": "daily", "recipients": ["ana"],
      "params": {"from": "2026-01-01"}}, "params.from"),
])
def test_a_bad_schedule_is_refused_naming_the_field(app, as_role, analysts, body, field):
    response = as_role("admin").post("/api/reports/schedules", json=body)
    assert response.status_code == 422, response.json
    assert field in str(response.json)
    assert as_role("admin").get("/api/reports/schedules").json["schedules"] == []


def test_only_admins_schedule_reports(as_role, analysts):
    body: dict[str, Any] = {"report": "sales", "frequency": "daily", "recipients": ["ana"]}
    assert as_role("analyst").post("/api/reports/schedules", json=body).status_code == 403
    assert as_role("analyst").get("/api/reports/schedules").status_code == 403


@pytest.mark.browser
def test_an_admin_schedules_a_report_in_the_console_and_sees_it_sent(
        app, chromium, live_url, users, analysts, company, smtp, worker, artifacts):
    users.create("boss", "admin")
    context = chromium.new_context(base_url=live_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Login").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/**")
    page.goto("/admin/reporting/schedules/")
    form = page.locator("[data-testid=new-schedule]")
    form.get_by_label("Report").select_option("sales-by-channel")
    form.get_by_label("Frequency").select_option("weekly")
    form.get_by_label("Recipients").fill("bea")
    form.get_by_role("button", name="Schedule").click()
    row = page.locator("[data-testid=schedules] tbody tr").first
    assert "sales-by-channel" in row.inner_text() and "weekly" in row.inner_text()
    row.get_by_role("button", name="Send now").click()
    [(to, _message)] = smtp.wait_for(1, timeout=30)
    assert to == ["bea@example.com"]
    page.goto("/admin/reporting/schedules/")
    log = page.locator("[data-testid=sendings] tbody tr").first.inner_text()
    assert "sent" in log and "bea@example.com" in log and ".xlsx" in log
    page.screenshot(path=str(artifacts / "01-schedules.png"), full_page=True)
    context.close()
