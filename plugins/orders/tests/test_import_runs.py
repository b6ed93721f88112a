"""Import runs: a file kept with its progress, imported in batches, resumed after a stop."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from erpkit.db import db
from erpkit_orders import catalogue_import, importer
from erpkit_orders.catalogue import create_customer, create_product
from erpkit_orders.csv_reading import CsvOptions
from erpkit_orders.import_runs import ImportInterrupted, run_import, start_run
from erpkit_orders.models import Customer, ImportRun, Order, OrderLine


def _orders_file(count: int, *, split: str | None = None) -> bytes:
    """``count`` one-line delivered orders; ``split`` gets a second line at the end."""
    rows = ["order_number,customer_code,order_date,shipped_date,status,sku,quantity,"
            "unit_price"]
    for n in range(count):
        rows.append(f"H-{n:05d},C1,2024-03-{1 + n % 28:02d},2024-03-{1 + n % 28:02d},shipped,"
                    f"W-1,{1 + n % 5},10.00")
    if split:
        day = 1 + int(split.split("-")[1]) % 28  # the same dates as its first line
        rows.append(f"{split},C1,2024-03-{day:02d},2024-03-{day:02d},shipped,W-1,7,10.00")
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def shop(app):
    with app.app_context():
        create_product(db.session, {"sku": "W-1", "name": "Widget", "unit_price": Decimal(1)})
        create_customer(db.session, {"code": "C1", "name": "Ada"})


def _whole_orders(app) -> dict[str, int]:
    """Each order's number of lines; every order has its lines and its total."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Order.external_ref, Order.total, sa.func.count(OrderLine.id),
                      sa.func.sum(OrderLine.line_total))
            .join(OrderLine, OrderLine.order_id == Order.id).group_by(Order.id)).all()
        orders = db.session.scalar(sa.select(sa.func.count(Order.id)))
    assert len(rows) == orders  # no order without lines
    assert all(total == Decimal(str(lines_total)) for _ref, total, _n, lines_total in rows)
    return {ref: lines for ref, _total, lines, _sum in rows}


def test_a_stopped_import_leaves_whole_orders_and_resumes_where_it_stopped(
        app, shop, monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 40)
    with app.app_context():
        run = start_run(db.session, "orders", _orders_file(150, split="H-00003"),
                        CsvOptions(), filename="old.csv", actor="night-batch")
        with pytest.raises(ImportInterrupted):
            run_import(db.session, run.id, stop_after_batches=2)
        db.session.rollback()
        stopped = db.session.get(ImportRun, run.id)
        assert (stopped.status, stopped.report["created"]) == ("running", 80)

    halfway = _whole_orders(app)
    assert len(halfway) == 80 and "H-00003" not in halfway  # its last line is at the end

    with app.app_context():
        done = run_import(db.session, run.id)
        assert (done.status, done.report["created"], done.report["refused"]) == ("done", 150, 0)
        assert done.rows_done == 151
    finished = _whole_orders(app)
    assert len(finished) == 150 and finished["H-00003"] == 2
    assert all(lines == 1 for ref, lines in finished.items() if ref != "H-00003")


def test_a_finished_run_run_again_does_nothing(app, shop):
    with app.app_context():
        run = start_run(db.session, "orders", _orders_file(5), CsvOptions())
        run_import(db.session, run.id)
        again = run_import(db.session, run.id)
        assert again.report["created"] == 5
    assert len(_whole_orders(app)) == 5


def test_a_stopped_customer_import_resumes_without_counting_twice(app, monkeypatch):
    monkeypatch.setattr(catalogue_import, "BATCH", 10)
    content = ("code,name\n" + "".join(f"K{n},Customer {n}\n" for n in range(35))
               + "K5,Twice\n").encode()
    with app.app_context():
        run = start_run(db.session, "customers", content, CsvOptions())
        with pytest.raises(ImportInterrupted):
            run_import(db.session, run.id, stop_after_batches=2)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Customer.id))) == 20
        done = run_import(db.session, run.id)
        assert (done.report["created"], done.report["refused"]) == (35, 1)
        assert done.report["errors"][0]["row"] == 37
        assert db.session.scalar(sa.select(sa.func.count(Customer.id))) == 35


def test_an_unreadable_file_fails_the_run_with_the_reason(app, shop):
    with app.app_context():
        run = start_run(db.session, "orders", b"order_number,sku\nA,W-1\n", CsvOptions())
        failed = run_import(db.session, run.id)
        assert failed.status == "failed"
        assert "missing columns" in failed.report["problems"][0]["message"]


@pytest.mark.slow
def test_a_process_killed_mid_file_leaves_whole_orders_and_the_run_resumes(
        app, shop, database_url, tmp_path):
    with app.app_context():
        run = start_run(db.session, "orders", _orders_file(20_000), CsvOptions())
        run_id = run.id
    env = {**os.environ, "ERPKIT_DATABASE_URL": database_url, "ERPKIT_PLUGINS": "orders"}
    erpkit = str(Path(sys.executable).parent / "erpkit")
    worker = subprocess.Popen([erpkit, "imports", "resume",
                               str(run_id)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with app.app_context():
                done = db.session.scalar(sa.select(ImportRun.rows_done).where(
                    ImportRun.id == run_id))
                db.session.rollback()
            if done:
                break
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    halfway = _whole_orders(app)
    assert 0 < len(halfway) < 20_000, "the worker finished before it was killed"

    with app.app_context():
        finished = run_import(db.session, run_id)
        assert (finished.status, finished.report["created"]) == ("done", 20_000)
    assert len(_whole_orders(app)) == 20_000


@pytest.mark.slow
def test_a_worker_killed_mid_file_leaves_whole_orders_and_the_import_resumes_over_http(
        app, shop, database_url, users, client):
    """The whole path: upload (202), a real `erpkit worker` process killed mid-file, the
    import resumed through the API and finished by another worker."""
    from erpkit.jobs import embedded_worker, jobs_of, jobs_url, queue_name

    from .conftest import ApiClient, wait_for_import

    api = ApiClient(client, users.headers("sales"))
    service = jobs_of(app)
    service.huey.flush()
    answer = api.post("/api/orders/import", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(_orders_file(20_000)), "big.csv")})
    assert answer.status_code == 202, answer.json
    import_id = answer.json["id"]
    env = {**os.environ, "ERPKIT_DATABASE_URL": database_url, "ERPKIT_PLUGINS": "orders",
           "ERPKIT_JOBS_URL": jobs_url(app.config, app.instance_path),
           "ERPKIT_JOBS_NAME": queue_name(app.config), "ERPKIT_SECRET_KEY": "test-secret"}
    erpkit = str(Path(sys.executable).parent / "erpkit")
    worker = subprocess.Popen([erpkit, "worker", "--threads", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if api.get(f"/api/imports/{import_id}").json["rows_done"]:
                break
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    stopped = api.get(f"/api/imports/{import_id}").json
    halfway = _whole_orders(app)
    assert stopped["status"] == "running" and stopped["job"]["status"] == "running"
    assert 0 < len(halfway) < 20_000, "the worker finished before it was killed"
    assert stopped["report"]["created"] == len(halfway)

    with embedded_worker(app):
        resumed = api.post(f"/api/imports/{import_id}/resume")
        finished = wait_for_import(api, resumed, timeout=120)

    assert (finished["status"], finished["report"]["created"]) == ("done", 20_000)
    assert finished["rows_done"] == 20_000 and finished["job"]["status"] == "done"
    assert len(_whole_orders(app)) == 20_000
