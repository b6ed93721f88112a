"""`erpkit demo`, as the README's first command runs it: migrate, load, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_the_demo_serves_health_with_every_migration_applied(new_database, tmp_path):
    port = _free_port()
    env = {**os.environ, "ERPKIT_DATABASE_URL": new_database("demo")}
    env.pop("ERPKIT_PLUGINS", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "erpkit.cli", "demo", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        status, body = 0, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert server.poll() is None, server.stdout.read() if server.stdout else ""

        assert status == 200, body
        assert body["status"] == "ok" and body["database"] == "ok"
        assert {"core", "orders", "approvals", "inventory"} <= set(body["migrations"])
        assert all(branch["up_to_date"] for branch in body["migrations"].values()), body
        # a second request while the demo serves: nothing holds the database
        assert _get(f"http://127.0.0.1:{port}/health")[0] == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "admin@demo" in output and f"http://127.0.0.1:{port}/" in output


@pytest.mark.slow
def test_the_demo_alone_escalates_its_overdue_order_without_cron(new_database, tmp_path):
    import sqlalchemy as sa

    url = new_database("demo_sweep")
    env = {**os.environ, "ERPKIT_DATABASE_URL": url}
    env.pop("ERPKIT_PLUGINS", None)
    env.pop("ERPKIT_JOBS_URL", None)
    for command in (["init"], ["settings", "set", "core.step_sweep_seconds", "2"]):
        done = subprocess.run([sys.executable, "-m", "erpkit.cli", *command], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "erpkit.cli", "demo", "--port", str(_free_port())],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    engine = sa.create_engine(url)
    try:
        deadline = time.monotonic() + 120
        escalated = None
        while time.monotonic() < deadline and server.poll() is None and escalated is None:
            time.sleep(0.5)
            try:
                with engine.connect() as connection:
                    escalated = connection.execute(sa.text(
                        "SELECT reference, action FROM core_step_breach "
                        "WHERE declaration = 'orders.confirmed_to_shipped'")).first()
            except sa.exc.OperationalError:
                continue  # not migrated yet
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        assert escalated is not None, "no overdue demo order was escalated"
        with engine.connect() as connection:
            [note] = connection.execute(sa.text(
                "SELECT e.message FROM orders_timeline_event e JOIN orders_order o "
                "ON o.id = e.order_id WHERE o.number = :n AND e.actor = 'sla sweep'"),
                {"n": escalated.reference}).scalars().all()
        assert escalated.action == "escalate" and "escalated to role admin" in note
    finally:
        engine.dispose()
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "a worker runs in this process" in output
