"""A runaway query is stopped by the database at the time limit and the client gets a
503 saying so, in JSON under /api and as a page elsewhere; the worker lives on."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Blueprint

from erpkit.db import db
from erpkit.testing import BACKEND_IS_POSTGRESQL, make_plugin

#: A query that runs for minutes on either backend.
RUNAWAY = ("SELECT pg_sleep(60)" if BACKEND_IS_POSTGRESQL else
           "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
           "WHERE i < 10000000000) SELECT count(*) FROM n")


def _slow_blueprints() -> list[Blueprint]:
    blueprint = Blueprint("slow", __name__)

    @blueprint.get("/api/slow")
    @blueprint.get("/slow-page")
    def slow() -> str:
        db.session.execute(sa.text(RUNAWAY))
        return "finished"

    @blueprint.get("/api/quick")
    def quick() -> str:
        return str(db.session.scalar(sa.text("SELECT 1")))

    return [blueprint]


def _app(make_app, **config):
    return make_app(make_plugin("slowpoke", erpkit_blueprints=_slow_blueprints),
                    STATEMENT_TIMEOUT_MS=300, **config)


def test_a_runaway_query_is_stopped_with_a_503_in_json(make_app):
    client = _app(make_app).test_client()
    start = time.monotonic()
    response = client.get("/api/slow")

    assert time.monotonic() - start < 5
    assert response.status_code == 503
    assert response.get_json()["code"] == "query_timeout"
    # the connection and the worker are fine afterwards
    assert client.get("/api/quick").get_data(as_text=True) == "1"


def test_a_runaway_query_behind_a_page_gets_a_503_page(make_app):
    response = _app(make_app).test_client().get("/slow-page")

    assert response.status_code == 503
    assert "took too long" in response.get_data(as_text=True)


def test_the_limit_is_a_setting_and_zero_turns_it_off(make_app, monkeypatch):
    monkeypatch.setenv("ERPKIT_STATEMENT_TIMEOUT_MS", "1234")
    assert make_app().config["STATEMENT_TIMEOUT_MS"] == 1234
    assert make_app(STATEMENT_TIMEOUT_MS=0).config["STATEMENT_TIMEOUT_MS"] == 0
