"""A writer that finds SQLite's write lock taken gets it as soon as it is free: it asks
every half millisecond (``erpkit.db._begin_immediate``) instead of sleeping in SQLite's
busy handler, whose growing sleeps (1, 2, 5, 10, 15, 20 ms ...) woke it up to a dozen
milliseconds late, so two gunicorn workers wrote no more orders than one. It still gives
up with "database is locked" after the timeout, and every other statement keeps the
connection's busy timeout."""

from __future__ import annotations

import os
import statistics
import threading
import time

import pytest
import sqlalchemy as sa

from erpkit import db as erpkit_db

# Held this long, a waiter in SQLite's own handler wakes at 53 ms (after sleeps of 1, 2,
# 5, 10, 15 and 20 ms), 13 ms after the lock is free.
HOLD_SECONDS = 0.040


@pytest.fixture
def engine(tmp_path):
    if os.environ.get("ERPKIT_TEST_DB", "sqlite") != "sqlite":
        pytest.skip("SQLite's write lock: the SQLite run covers it")
    engine = erpkit_db.create_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    yield engine
    engine.dispose()


def _late_by(engine: sa.Engine) -> float:
    """Seconds between one writer's commit and the next writer's lock, the second having
    asked while the first held it."""
    holding, released = threading.Event(), {}

    def hold() -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            holding.set()
            time.sleep(HOLD_SECONDS)
        released["at"] = time.perf_counter()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    with engine.begin() as conn:
        locked_at = time.perf_counter()
        conn.exec_driver_sql("INSERT INTO t VALUES (2)")
    holder.join()
    return locked_at - released["at"]


def test_a_waiting_writer_gets_the_lock_within_a_few_milliseconds_of_its_release(engine):
    delays = [_late_by(engine) for _ in range(7)]
    assert statistics.median(delays) < 0.006, [round(d * 1000, 2) for d in delays]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 14


def test_the_connection_keeps_its_busy_timeout_for_everything_but_the_begin(engine):
    with engine.begin() as conn:
        timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
    assert timeout == int(erpkit_db.WRITE_LOCK_TIMEOUT * 1000)


def test_a_writer_gives_up_with_database_is_locked_after_the_timeout(engine, monkeypatch):
    monkeypatch.setattr(erpkit_db, "WRITE_LOCK_TIMEOUT", 0.2)
    holder = engine.connect()
    holder.begin()
    holder.exec_driver_sql("INSERT INTO t VALUES (1)")
    try:
        started = time.perf_counter()
        with pytest.raises(sa.exc.OperationalError, match="database is locked"), \
                engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert 0.2 <= time.perf_counter() - started < 2
    finally:
        holder.rollback()
        holder.close()
    with engine.connect() as conn:  # the refused writer left nothing behind
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
